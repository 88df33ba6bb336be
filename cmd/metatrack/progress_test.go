package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// progressCases are commands that show progress, with what their progress
// line says.
func progressCases(dir, db string) []struct {
	args []string
	want string
} {
	return []struct {
		args []string
		want string
	}{
		{[]string{"artifacts", "get", "model_version/titanic_model@2", "model.json", "--out", filepath.Join(dir, "m.json")}, "model.json"},
		{[]string{"export", "--out", filepath.Join(dir, "e.jsonl")}, "exporting"},
		{[]string{"import", filepath.Join(dir, "e.jsonl"), "--db", filepath.Join(dir, "copy.db")}, "importing"},
		{[]string{"verify"}, "verifying"},
		{[]string{"gc", "--dry-run"}, "collecting garbage"},
		{[]string{"backup", filepath.Join(dir, "b.db")}, "backing up"},
		{[]string{"ls", "--all", "--limit", "3"}, "searching"},
	}
}

// TestProgressOnTerminal runs commands with stderr on a pseudo-terminal:
// each draws its progress bar there, and stdout has only the result.
func TestProgressOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 120})
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&screen, ptmx) // until tty is closed
		close(done)
	}()

	dir := t.TempDir()
	db := buildFixture(t, dir)
	cases := progressCases(dir, db)
	for _, tc := range cases {
		var stdout bytes.Buffer
		args := append(append([]string{}, tc.args...), "--db", db)
		if tc.args[0] == "import" {
			args = tc.args // it names its own --db
		}
		code := Run(context.Background(), args, strings.NewReader(""), &stdout, tty)
		if code != exitOK {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		if strings.Contains(stdout.String(), "\r") {
			t.Errorf("%v: progress reached stdout: %q", tc.args, stdout.String())
		}
	}
	tty.Close()
	<-done
	out := screen.String()
	for _, tc := range cases {
		if !strings.Contains(out, tc.want) {
			t.Errorf("the terminal shows no progress %q of %v:\n%q", tc.want, tc.args, out)
		}
	}
	if !strings.Contains(out, "\r") {
		t.Errorf("no bar was redrawn in place:\n%q", out)
	}
}

// TestNoProgressOnPipe runs the same commands with stderr on a pipe and
// in a buffer: they print nothing there.
func TestNoProgressOnPipe(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var piped bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&piped, pr)
		close(done)
	}()
	for _, tc := range progressCases(dir, db) {
		args := append(append([]string{}, tc.args...), "--db", db)
		if tc.args[0] == "import" {
			args = tc.args
		}
		var stdout bytes.Buffer
		if code := Run(context.Background(), args, strings.NewReader(""), &stdout, pw); code != exitOK {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
	}
	pw.Close()
	<-done
	if piped.Len() != 0 {
		t.Errorf("progress went to a pipe:\n%q", piped.String())
	}

	// And into a buffer (not a file at all).
	for _, name := range []string{"m.json", "e.jsonl", "copy.db", "b.db"} {
		os.Remove(filepath.Join(dir, name))
	}
	for _, tc := range progressCases(dir, db) {
		args := append(append([]string{}, tc.args...), "--db", db)
		if tc.args[0] == "import" {
			args = tc.args
		}
		if r := run(t, args...); r.code != exitOK || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
}
