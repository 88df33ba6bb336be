package main

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/metatrack/metatrack/schema"
)

// A file written by an older metatrack: inspection commands, which open
// read-only, say how to upgrade it; upgrade does; then they work.
func TestUpgradeOlderSchema(t *testing.T) {
	db := filepath.Join(t.TempDir(), "old.db")
	first := fstest.MapFS{}
	for _, name := range []string{"0001_init.up.sql", "0001_init.down.sql"} {
		b, err := fs.ReadFile(schema.SQLite(), name)
		if err != nil {
			t.Fatal(err)
		}
		first[name] = &fstest.MapFile{Data: b}
	}
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	if err := schema.Migrate(context.Background(), raw, first); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	r := run(t, "show", "--db", db)
	if r.code != exitFailure || !strings.Contains(r.stderr, "metatrack upgrade --db "+db) {
		t.Fatalf("show on an older file: exit %d, stderr %q", r.code, r.stderr)
	}
	r = mustRun(t, "upgrade", "--db", db)
	if !strings.Contains(r.stdout, "schema version") {
		t.Fatalf("upgrade printed %q", r.stdout)
	}
	mustRun(t, "show", "--db", db)
	mustRun(t, "upgrade", "--db", db) // again: nothing to do
}
