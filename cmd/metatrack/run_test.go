package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		"NoCommand":       {},
		"UnknownCommand":  {"shwo"},
		"UnknownFlag":     {"show", "--nope"},
		"ExtraArgument":   {"show", "--db", db, "extra"},
		"BadOutput":       {"show", "--db", db, "-o", "xml"},
		"BadFlagValue":    {"demo", "--db", db, "--rounds", "many"},
		"ZeroRounds":      {"demo", "--db", db, "--rounds", "0"},
		"UnsupportedURL":  {"show", "--db", "postgres://host/db"},
		"NegativeRunsArg": {"show", "--db", db, "--runs", "-1"},
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
	for _, want := range []string{"Exit status:", "2  usage error", "demo", "show", envURL, "Examples:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("root help lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, cmd := range []string{"demo", "show"} {
		r := mustRun(t, cmd, "--help")
		if !strings.Contains(r.stdout, "Examples:\n  metatrack "+cmd) && !strings.Contains(r.stdout, "metatrack "+cmd+" --db") {
			t.Errorf("%s help has no example:\n%s", cmd, r.stdout)
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
