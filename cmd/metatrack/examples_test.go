package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// exampleSkip are the commands whose examples this test does not run: they
// make or serve databases of their own, or read files the demo does not
// make.
var exampleSkip = map[string]bool{
	"demo": true, "serve": true, "token": true, "completion": true, "upgrade": true,
	"import": true, "merge": true, "export": true, "backup": true,
}

// exampleSetup runs before a command's examples, to give them what they
// work on.
var exampleSetup = map[string][][]string{
	"metatrack restore":  {{"rm", "model_version/titanic_model@2"}},
	"metatrack alias rm": {{"alias", "set", "model_version/titanic_model@3", "staging"}},
	"metatrack undeploy": {{"deploy", "model_version/titanic_model@3", "--env", "staging"}},
}

// TestHelpExamplesRun runs every example of every command's --help (up to
// a pipe or redirection) against a database made by 'metatrack demo', a
// fresh copy of it for each command, and fails on one that does not run.
func TestHelpExamplesRun(t *testing.T) {
	dir := t.TempDir()
	demoDB := filepath.Join(dir, "demo.db")
	mustRun(t, "demo", "-q", "--db", demoDB, "--workdir", filepath.Join(dir, "work"))
	orig, err := os.ReadFile(demoDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // examples that write files write them here
	if err := os.Mkdir("models", 0o755); err != nil {
		t.Fatal(err)
	}
	var walk func(c *cobra.Command)
	ran := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			top := strings.Fields(sub.CommandPath())[1]
			if sub.Hidden || sub.Name() == "help" || exampleSkip[top] {
				continue
			}
			walk(sub)
			if sub.Example == "" {
				continue
			}
			db := filepath.Join(dir, strings.ReplaceAll(sub.CommandPath(), " ", "_")+".db")
			if err := os.WriteFile(db, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range exampleSetup[sub.CommandPath()] {
				mustRun(t, append(args, "--db", db)...)
			}
			for _, line := range strings.Split(sub.Example, "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "metatrack ") {
					continue
				}
				for _, args := range shellCommands(t, line) {
					if len(args) == 0 || args[0] != "metatrack" {
						t.Fatalf("example %q runs something else than metatrack", line)
					}
					if r := run(t, withDB(args[1:], db)...); r.code != exitOK {
						t.Errorf("example of %s does not run on the demo database: %s\nexit %d\n%s%s", sub.CommandPath(), line, r.code, r.stdout, r.stderr)
					}
					ran++
				}
			}
		}
	}
	walk(newRootCmd(&app{}, ""))
	if ran < 30 {
		t.Errorf("ran only %d examples", ran)
	}
}

// withDB replaces the value of --db in args with db, or adds --db db.
func withDB(args []string, db string) []string {
	for i, a := range args {
		if a == "--db" && i+1 < len(args) {
			args[i+1] = db
			return args
		}
	}
	return append(args, "--db", db)
}

// shellCommands splits an example line into the words of its commands
// as a shell would, for the quoting the examples use ('...' and "..."
// without escapes): commands are joined by &&, and a pipe, a redirection
// or a comment ends what is run.
func shellCommands(t *testing.T, s string) [][]string {
	var cmds [][]string
	var cur []string
	var b strings.Builder
	in, quote := false, byte(0)
	flush := func() {
		if in {
			cur = append(cur, b.String())
			b.Reset()
			in = false
		}
	}
loop:
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ':
			flush()
		case c == '&' && strings.HasPrefix(s[i:], "&&"):
			flush()
			cmds, cur = append(cmds, cur), nil
			i++
		case c == '|' || c == '>' || c == '#':
			break loop
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unclosed quote in example %q", s)
	}
	flush()
	return append(cmds, cur)
}
