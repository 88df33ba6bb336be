package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// result is what one in-process run of the CLI printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the CLI in-process with args.
func run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, args...)
	if r.code != exitOK {
		t.Fatalf("metatrack %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	for name, args := range map[string][]string{
		"NoCommand":        {},
		"UnknownCommand":   {"shwo"},
		"UnknownFlag":      {"show", "--nope"},
		"ExtraArgument":    {"show", "--db", db, "extra"},
		"BadOutput":        {"show", "--db", db, "-o", "xml"},
		"BadFlagValue":     {"demo", "--db", db, "--rounds", "many"},
		"ZeroRounds":       {"demo", "--db", db, "--rounds", "0"},
		"UnsupportedURL":   {"show", "--db", "mysql://host/db"},
		"NegativeRunsArg":  {"show", "--db", db, "--runs", "-1"},
		"GetNoRef":         {"get", "--db", db},
		"GetTwoRefs":       {"get", "--db", db, "a/b", "c/d"},
		"HistoryNoRef":     {"history", "--db", db},
		"AtNoTime":         {"at", "--db", db},
		"AtEnvWithRefs":    {"at", "now", "model/m", "--env", "prod", "--db", db},
		"LineageTwoDirs":   {"lineage", "model/m", "--up", "--down", "--db", db},
		"LineageFormat":    {"lineage", "model/m", "--up", "--format", "png", "--db", db},
		"LineageJSONDot":   {"lineage", "model/m", "--up", "--format", "dot", "-o", "json", "--db", db},
		"LineageSVGStdout": {"lineage", "model/m", "--up", "--svg", "-", "--format", "dot", "--db", db},
		"LineageDepth":     {"lineage", "model/m", "--up", "--depth", "-1", "--db", db},
		"LineageFormatSVG": {"lineage", "model/m", "--format", "svg", "--db", db},
		"HistoryKind":      {"history", "model/m", "--kind", "bogus", "--db", db},
		"ArtifactsKind":    {"artifacts", "ls", "model/m", "--kind", "model", "--db", db},
		"RunsState":        {"runs", "--state", "dead", "--db", db},
		"LsLimit":          {"ls", "--limit", "0", "--db", db},
		"ArtifactsNoSub":   {"artifacts", "--db", db},
		"ArtifactsGetJSON": {"artifacts", "get", "model/m", "x", "-o", "json", "--db", db},
		"ArtifactsGetArgs": {"artifacts", "get", "model/m", "--db", db},
		"RunsLimit":        {"runs", "--limit", "-2", "--db", db},
		"BackupNoFile":     {"backup", "--db", db},
		"ExportJSON":       {"export", "-o", "json", "--db", db},
		"ImportNoFile":     {"import", "--db", db},
		"MergeNoFile":      {"merge", "--db", db},
		"GCDryVacuum":      {"gc", "--dry-run", "--vacuum", "--db", db},
		"GCStagedAge":      {"gc", "--staged-age", "0s", "--db", db},
		"CompletionShell":  {"completion", "tcsh"},
	} {
		t.Run(name, func(t *testing.T) {
			r := run(t, args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d\nstderr:\n%s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("stderr lacks the usage hint:\n%s", r.stderr)
			}
		})
	}
	if r := run(t, "shwo"); !strings.Contains(r.stderr, `did you mean show`) {
		t.Errorf("no suggestion:\n%s", r.stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error created the database")
	}
}

func TestHelp(t *testing.T) {
	r := mustRun(t, "--help")
	for _, want := range []string{"Exit status:", "2  usage error", "demo", "show", envURL, "Examples:", "completion"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("root help lacks %q:\n%s", want, r.stdout)
		}
	}
	// Every command's help has an example that runs it.
	var cmds [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string{}, path...), sub.Name())
			cmds = append(cmds, p)
			walk(sub, p)
		}
	}
	walk(newRootCmd(&app{}, ""), nil)
	if len(cmds) < 15 {
		t.Fatalf("found only %d commands: %v", len(cmds), cmds)
	}
	for _, cmd := range cmds {
		r := mustRun(t, append(cmd, "--help")...)
		name := strings.Join(cmd, " ")
		if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "metatrack "+name) {
			t.Errorf("%s help has no example:\n%s", name, r.stdout)
		}
	}
	// -o is the format; commands that write files say so.
	for _, cmd := range [][]string{{"artifacts", "get"}, {"export"}} {
		if r := mustRun(t, append(cmd, "--help")...); !strings.Contains(r.stdout, "--out") || !strings.Contains(r.stdout, "not -o") {
			t.Errorf("%s help does not explain --out:\n%s", strings.Join(cmd, " "), r.stdout)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestMissingDatabase runs every command that reads a database on one that
// does not exist: each fails (exit 1) with a message naming it, and creates
// nothing.
func TestMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{
		{"show"}, {"stats"}, {"ls"}, {"search", "type = 'model'"}, {"get", "model/m"}, {"history", "model/m"},
		{"at", "now"}, {"lineage", "model/m", "--up"}, {"impact", "dataset_version/d@1"},
		{"artifacts", "ls", "model/m"}, {"artifacts", "get", "model/m", "x"}, {"runs"},
		{"backup", filepath.Join(dir, "b.db")}, {"export"}, {"merge", filepath.Join(dir, "other.db")},
		{"verify"}, {"gc"}, {"gc", "--dry-run"},
	} {
		r := run(t, append(args, "--db", db)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "does not exist") || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the commands created %v", entries)
	}
}

// TestNotADatabaseMessage: the message names the file and says what is
// wrong, without the names of the packages the error came through.
func TestNotADatabaseMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.db")
	if err := os.WriteFile(path, []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "ls", "--db", path)
	want := "metatrack: " + path + ": not a metatrack database"
	if r.code != exitFailure || !strings.HasPrefix(r.stderr, want) || strings.Contains(r.stderr, " db: ") {
		t.Errorf("exit %d, stderr %q, want it to begin with %q", r.code, r.stderr, want)
	}
}
