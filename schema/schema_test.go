package schema_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack/schema"
)

// upTo returns the SQLite migrations up to and including version v.
func upTo(tb testing.TB, v string) fs.FS {
	tb.Helper()
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(schema.SQLite(), ".")
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() > v+"_~" {
			continue
		}
		b, err := fs.ReadFile(schema.SQLite(), e.Name())
		if err != nil {
			tb.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	return out
}

func openRaw(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", filepath.Join(tb.TempDir(), "m.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

func state(tb testing.TB, db *sql.DB) schema.State {
	tb.Helper()
	st, err := schema.Inspect(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestVersions(t *testing.T) {
	vs, err := schema.Versions(schema.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v != uint(i+1) {
			t.Fatalf("versions = %v: want 1..n without gaps", vs)
		}
	}
	latest, err := schema.Latest(schema.SQLite())
	if err != nil || latest != vs[len(vs)-1] {
		t.Fatalf("Latest = %d, %v", latest, err)
	}
}

func TestMigrateUpgradesAndKeepsData(t *testing.T) {
	ctx := context.Background()
	db := openRaw(t)
	if st := state(t, db); !st.Empty {
		t.Fatalf("new file state = %+v", st)
	}
	if err := schema.Migrate(ctx, db, upTo(t, "0001")); err != nil {
		t.Fatal(err)
	}
	if st := state(t, db); st.Version != 1 || st.Dirty {
		t.Fatalf("after 0001: %+v", st)
	}
	_, err := db.Exec(`INSERT INTO resources (id, type, name, created_at, updated_at) VALUES ('r1', 'dataset', 'd', 0, 0);
		INSERT INTO history (resource_seq, at, kind) VALUES (1, 0, 'created'), (1, 1, 'tag')`)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, db, schema.SQLite()); err != nil {
		t.Fatal(err)
	}
	latest, _ := schema.Latest(schema.SQLite())
	if st := state(t, db); st.Version != latest || st.Dirty {
		t.Fatalf("after upgrade: %+v", st)
	}
	var ids, distinct int
	if err := db.QueryRow(`SELECT count(id), count(DISTINCT id) FROM history`).Scan(&ids, &distinct); err != nil {
		t.Fatal(err)
	}
	if ids != 2 || distinct != 2 {
		t.Fatalf("history ids after upgrade: %d ids, %d distinct", ids, distinct)
	}
	// Migrating again is a no-op.
	if err := schema.Migrate(ctx, db, schema.SQLite()); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRepairsDirty(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		applied bool // whether migration 2 committed before the crash
	}{
		"CommittedButDirty": {applied: true},
		"NotCommitted":      {applied: false},
	} {
		t.Run(name, func(t *testing.T) {
			db := openRaw(t)
			if err := schema.Migrate(ctx, db, upTo(t, "0001")); err != nil {
				t.Fatal(err)
			}
			if tc.applied {
				b, _ := fs.ReadFile(schema.SQLite(), "0002_history_ids.up.sql")
				if _, err := db.Exec(string(b)); err != nil {
					t.Fatal(err)
				}
			}
			// What golang-migrate leaves when the process dies mid-migration.
			if _, err := db.Exec(`UPDATE ` + schema.MigrationsTable + ` SET version = 2, dirty = 1`); err != nil {
				t.Fatal(err)
			}
			if err := schema.Migrate(ctx, db, schema.SQLite()); err != nil {
				t.Fatal(err)
			}
			latest, _ := schema.Latest(schema.SQLite())
			if st := state(t, db); st.Version != latest || st.Dirty {
				t.Fatalf("after repair: %+v", st)
			}
			var cols string
			if err := db.QueryRow(`SELECT group_concat(name) FROM pragma_table_info('history')`).Scan(&cols); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(cols, "id") {
				t.Fatalf("history columns after repair: %s", cols)
			}
		})
	}
}
