package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShowMissingDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "missing.db")
	r := run(t, "show", "--db", db)
	if r.code != exitFailure {
		t.Errorf("exit %d, want %d", r.code, exitFailure)
	}
	if !strings.Contains(r.stderr, db+" does not exist") || r.stdout != "" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("show created the database")
	}
}

func TestShowNotADatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(p, []byte(strings.Repeat("not a database\n", 100)), 0o644)
	if r := run(t, "show", "--db", p); r.code != exitFailure || r.stderr == "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
