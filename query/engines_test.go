package query

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// testDB is a test database on one engine with the dialect that compiles
// for it. Statements are written with ? placeholders and rebound for the
// engine's driver.
type testDB struct {
	*sqlx.DB
	dialect Dialect
	// join is the engine's resource columns, for Compiled.Rows.
	join Join
}

// QueryContext makes testDB a Querier.
func (db *testDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.Rebind(query), args...)
}

func (db *testDB) Exec(query string, args ...any) (sql.Result, error) {
	return db.DB.Exec(db.Rebind(query), args...)
}

func (db *testDB) MustExec(query string, args ...any) sql.Result {
	return db.DB.MustExec(db.Rebind(query), args...)
}

func (db *testDB) Get(dest any, query string, args ...any) error {
	return db.DB.Get(dest, db.Rebind(query), args...)
}

func (db *testDB) Select(dest any, query string, args ...any) error {
	return db.DB.Select(dest, db.Rebind(query), args...)
}

// testPostgres is the PostgreSQL dialect, set by dialect_test.go (package
// query_test, which may import storage/postgres).
var testPostgres Dialect

// TestMain stops the PostgreSQL server of the tests, if one was started.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openPostgres opens a new PostgreSQL database with the metatrack schema
// (schema/postgres) and the test fixture.
func openPostgres(tb testing.TB) *testDB {
	tb.Helper()
	if testPostgres == nil {
		tb.Fatal("no PostgreSQL dialect")
	}
	x, err := sqlx.Open("pgx", pgtest.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	db := &testDB{DB: x, dialect: testPostgres, join: testPostgresJoin}
	for _, up := range migrations(tb, "postgres", ".up.sql") {
		applyFile(tb, db, up)
	}
	if _, err := db.Exec(fixture); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return db
}

// engines runs fn on a new database with the fixture on each engine:
// SQLite, then PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, db *testDB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, MustOpen(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, openPostgres(t)) })
}

// agreeQueries are queries on the texts and numbers that engines tell
// apart (collations, case folding, patterns, numbers written as text), on
// top of driveQueries and the queries of TestSearch.
var agreeQueries = []string{
	"ORDER BY tags.word",
	"ORDER BY tags.word DESC, id",
	"tags.word > 'a'",
	"tags.word <= 'b' ORDER BY tags.word DESC",
	"tags.word IN ('a', 'A', 'é')",
	"tags.word LIKE 'a%'",
	"tags.word LIKE 'A%'",
	"tags.word ILIKE 'a%'",
	"tags.word ILIKE 'É'",
	"tags.word ILIKE 'ǆ'",
	"tags.word NOT ILIKE 'a%'",
	"tags.word LIKE 'a\\\\\\\\'",
	"tags.word LIKE '\\\\%'",
	"tags.word LIKE '\\\\_'",
	"tags.word LIKE '_'",
	"tags.word ILIKE '__'",
	"tags.word LIKE '%é'",
	"tags.num > 1",
	"tags.num = 12",
	"tags.num = 100",
	"tags.num < 0",
	"tags.num = 0",
	"tags.num >= 9007199254740993",
	"tags.num IN (12, '01', 0.5)",
	"NOT tags.num > 1",
	"ORDER BY tags.num DESC",
	"ORDER BY name DESC",
	"name > 'n2' ORDER BY name",
	"ORDER BY attrs.s DESC, attrs.n",
	"ORDER BY attrs.obj.x, metadata.fw DESC",
	"ORDER BY metadata.fw, metadata.acc DESC LIMIT 30",
	"attrs.n > 1.5 ORDER BY attrs.n",
	"attrs.big >= 9007199254740992 ORDER BY attrs.big DESC",
	"version < 1.5",
	"version >= 1.0 AND version <= 2.5",
	"metadata.acc = 1 OR metadata.acc = 0.5",
	"attrs.obj.x = '1' OR attrs.obj.x = 1",
	"upstream_of('pj1') OR downstream_of('x20', 2)",
}

// TestEnginesAgree runs the queries of driveQueries, agreeQueries and
// TestSearch on the fixture and 250 random resources on SQLite and on
// PostgreSQL, every page of several sizes, also with deleted resources,
// and requires the same rows in the same order.
func TestEnginesAgree(t *testing.T) {
	lite := MustOpen(t)
	pg := openPostgres(t)
	for _, db := range []*testDB{lite, pg} {
		addDriveRows(t, db, 250, true)
		db.MustExec(`INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (20, 21, 'x', 0), (21, 22, 'x', 0), (22, 23, 'x', 0), (5, 20, 'x', 0)`)
	}
	queries := append(append([]string(nil), driveQueries...), agreeQueries...)
	for _, tt := range searchQueries {
		queries = append(queries, tt.query)
	}
	check := func(t *testing.T, deleted Deletion) {
		for _, src := range queries {
			q, err := Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			walk := func(db *testDB, size int64) []int64 {
				out := []int64{}
				opts := testOptions()
				opts.Resolve = resolveAgree
				opts.Limit, opts.Deleted = size, deleted
				for pages := 0; pages < 1000; pages++ {
					seqs, next := seqsOf(t, db, q, opts)
					out = append(out, seqs...)
					if next == "" {
						return out
					}
					opts.Cursor = next
				}
				t.Fatalf("%q: too many pages", src)
				return nil
			}
			want := walk(lite, 0)
			for _, size := range []int64{0, 4} {
				if got := walk(pg, size); !slices.Equal(got, want) {
					t.Errorf("%q (deleted %d) pages of %d on PostgreSQL:\n got %v\nwant %v", src, deleted, size, got, want)
				}
			}
		}
	}
	t.Run("Live", func(t *testing.T) { check(t, AnyDeletion) })
	for _, db := range []*testDB{lite, pg} {
		db.MustExec(`UPDATE resources SET deleted_at = 1 WHERE seq IN (2, 21, 30, 31, 32) OR seq % 17 = 0`)
	}
	t.Run("NotDeleted", func(t *testing.T) { check(t, NotDeleted) })
	t.Run("OnlyDeleted", func(t *testing.T) { check(t, OnlyDeleted) })
}

// resolveAgree resolves the ids of the fixture and of addDriveRows.
func resolveAgree(ref string) (int64, error) {
	var seq int64
	if _, err := fmt.Sscanf(ref, "x%d", &seq); err == nil {
		return seq, nil
	}
	return resolveFixture(ref)
}
