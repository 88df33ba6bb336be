package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage/postgres"
)

// TestSameSchemaAsSQLite: at every version, the PostgreSQL migrations
// create the tables, columns and index names the SQLite ones do, and
// their down files take each version back to the one before.
func TestSameSchemaAsSQLite(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	db := admin(t, u)
	versions, err := schema.Versions(schema.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	sqliteVersions, err := schema.Versions(schema.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(versions) != fmt.Sprint(sqliteVersions) {
		t.Fatalf("PostgreSQL migrations %v, SQLite migrations %v: each needs its twin", versions, sqliteVersions)
	}
	// Up one version at a time, comparing, then down again.
	for _, v := range versions {
		if err := postgres.MigrateTo(ctx, u, v); err != nil {
			t.Fatalf("up to %d: %v", v, err)
		}
		want := sqliteShape(t, v)
		if got := pgShape(t, db); got != want {
			t.Errorf("version %d differs from SQLite's:\n%s", v, diffLines(got, want))
		}
	}
	for i := len(versions) - 1; i >= 0; i-- {
		var prev uint
		if i > 0 {
			prev = versions[i-1]
		}
		if err := postgres.MigrateTo(ctx, u, prev); err != nil {
			t.Fatalf("down to %d: %v", prev, err)
		}
		if prev > 0 {
			if got, want := pgShape(t, db), sqliteShape(t, prev); got != want {
				t.Errorf("down to %d differs from SQLite's:\n%s", prev, diffLines(got, want))
			}
		}
	}
	if got := pgShape(t, db); got != "" {
		t.Errorf("after every down migration the schema holds:\n%s", got)
	}
}

// sqliteShape lists the tables with their columns, and the index names, of
// a SQLite database at version v, one line each, sorted.
func sqliteShape(t *testing.T, v uint) string {
	t.Helper()
	ctx := context.Background()
	mem, err := sql.Open("sqlite", fmt.Sprintf("file:shape%d?mode=memory", v))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	mem.SetMaxOpenConns(1)
	if err := schema.MigrateTo(ctx, mem, v); err != nil {
		t.Fatal(err)
	}
	var lines []string
	rows, err := mem.Query(`SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' AND tbl_name <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name string
		rows.Scan(&typ, &name)
		if typ == "index" {
			lines = append(lines, "index "+name)
		} else {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, tb := range tables {
		var cols []string
		crows, err := mem.Query(`SELECT name FROM pragma_table_info(?)`, tb)
		if err != nil {
			t.Fatal(err)
		}
		for crows.Next() {
			var c string
			crows.Scan(&c)
			cols = append(cols, c)
		}
		crows.Close()
		lines = append(lines, "table "+tb+" ("+strings.Join(cols, ", ")+")")
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// pgShape is sqliteShape for the public schema of db. Indexes that back a
// primary key or a UNIQUE column (named by PostgreSQL, unnamed in SQLite)
// are left out.
func pgShape(t *testing.T, db *sql.DB) string {
	t.Helper()
	var lines []string
	rows, err := db.Query(`
		SELECT 'table ' || c.table_name || ' (' || string_agg(c.column_name, ', ' ORDER BY c.ordinal_position) || ')'
		FROM information_schema.columns c
		WHERE c.table_schema = 'public' AND c.table_name <> 'schema_migrations'
		GROUP BY c.table_name
		UNION ALL
		SELECT 'index ' || i.indexname FROM pg_indexes i
		WHERE i.schemaname = 'public' AND i.tablename <> 'schema_migrations'
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname AND k.contype IN ('p', 'u'))`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		rows.Scan(&l)
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func diffLines(got, want string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	var out []string
	for l := range g {
		if !w[l] && l != "" {
			out = append(out, "  PostgreSQL only: "+l)
		}
	}
	for l := range w {
		if !g[l] && l != "" {
			out = append(out, "  SQLite only:     "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
