package benchmarks

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// The PostgreSQL benchmarks run the read cases of BenchmarkSearch,
// BenchmarkLookup, BenchmarkPoint and BenchmarkLineage on the same fixture
// in a PostgreSQL database (pgtest's server, or the one
// METATRACK_TEST_POSTGRES_URL names), each beside its baseline in
// hand-written SQL through pgx on the same database: one connection of
// pgx/v5 itself (not database/sql), every statement prepared once, the same
// indexes (the store's own) and session settings (postgres.SessionSettings). The baselines are the SQLite baselines' texts
// where those are standard SQL (placeholders renumbered), and PostgreSQL's
// own texts where SQLite's differ (pgBareSQL): arrays bound as bigint[] for
// = ANY where SQLite binds a JSON array for json_each, string_agg for
// group_concat, typed parameters where PostgreSQL cannot infer them.
//
// pgtest's server trades durability for speed (fsync=off): the write
// figures are PostgreSQL's work, not a disk's.

// pgFixtureVersion names the PostgreSQL copy of the fixture among pgtest's
// templates; bump it when pgFixture changes.
const pgFixtureVersion = 1

// getPGEnv returns a tracker and a bare pgx connection on a fresh copy of
// the fixture in PostgreSQL, closed and dropped when tb ends. The first
// call of a test binary copies the SQLite fixture into a template database
// (pgFixture); each call then costs a copy of that database. kind "write"
// opens the tracker with a run, as the write benchmarks do.
func getPGEnv(tb testing.TB, kind string) *env {
	tb.Helper()
	fx := getFixture(tb)
	key := fmt.Sprintf("fixture_%s_v%d_%d", strings.ToLower(*scaleFlag), fixtureVersion, pgFixtureVersion)
	start := time.Now()
	url := pgtest.TemplateURL(tb, key, func(ctx context.Context, url string) error {
		err := pgFixture(ctx, fx, url)
		if err == nil {
			fmt.Fprintf(os.Stderr, "fixture %s on PostgreSQL: copied in %s\n", *scaleFlag, time.Since(start).Round(time.Millisecond))
		}
		return err
	})
	opts := []metatrack.Option{metatrack.WithoutRun()}
	if kind == "write" {
		opts = []metatrack.Option{metatrack.WithRunName("bench")}
	}
	lib, err := metatrack.Open(ctx, url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	bare, err := openPGBare(ctx, url)
	if err != nil {
		lib.Close()
		tb.Fatal(err)
	}
	e := &env{fx: fx, lib: lib, bare: bare, url: url}
	tb.Cleanup(e.close)
	if id := lib.Run().ID; id != "" {
		var seq int64
		if err := bare.queryRow(ctx, "SELECT seq FROM runs WHERE id = ?", id).Scan(&seq); err != nil {
			tb.Fatal(err)
		}
		bare.runSeq = seq
	}
	return e
}

// pgCopied are the tables of the fixture, in an order that satisfies their
// foreign keys. attr_values is left to the trigger that fills it on
// PostgreSQL; the tables not named here must be empty in the fixture.
var pgCopied = []string{"runs", "resources", "edges", "deployments", "tags", "metadata"}

// pgFixture copies the SQLite fixture into the empty database at url: the
// store's schema through metatrack.Open, then every row of every table as
// it is in the file (the same seqs, ids, texts and numbers) through COPY,
// the identities moved past the copied seqs, and ANALYZE. The copy is the
// fixture itself, not a re-generation, so that both engines answer the
// same calls over the same rows.
func pgFixture(ctx context.Context, fx *Fixture, url string) error {
	t, err := metatrack.Open(ctx, url, metatrack.WithoutRun())
	if err != nil {
		return err
	}
	if err := t.Close(); err != nil {
		return err
	}
	src, err := sql.Open("sqlite", "file:"+fx.Path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer src.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	copied := map[string]bool{"attr_values": true, "schema_applied": true, "schema_migrations": true}
	for _, tbl := range pgCopied {
		copied[tbl] = true
		if err := pgCopyTable(ctx, src, conn, tbl); err != nil {
			return fmt.Errorf("copying %s: %w", tbl, err)
		}
	}
	names, err := src.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		return err
	}
	var others []string
	for names.Next() {
		var n string
		if err := names.Scan(&n); err != nil {
			names.Close()
			return err
		}
		if !copied[n] {
			others = append(others, n)
		}
	}
	if err := closeRows(names); err != nil {
		return err
	}
	for _, n := range others {
		var count int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+n+`"`).Scan(&count); err != nil {
			return err
		}
		if count > 0 {
			return fmt.Errorf("the fixture's table %s has %d rows, which pgFixture does not copy", n, count)
		}
	}
	for _, tbl := range []string{"runs", "resources", "deployments"} {
		if _, err := conn.Exec(ctx, "SELECT setval(pg_get_serial_sequence('"+tbl+"', 'seq'), max(seq)) FROM "+tbl+" HAVING max(seq) IS NOT NULL"); err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, "ANALYZE")
	return err
}

// pgCopyTable copies one table's rows, its columns converted to the types
// of PostgreSQL's columns.
func pgCopyTable(ctx context.Context, src *sql.DB, dst *pgx.Conn, table string) error {
	types := map[string]string{}
	pgCols, err := dst.Query(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1", table)
	if err != nil {
		return err
	}
	for pgCols.Next() {
		var c, typ string
		if err := pgCols.Scan(&c, &typ); err != nil {
			pgCols.Close()
			return err
		}
		types[c] = typ
	}
	if pgCols.Close(); pgCols.Err() != nil {
		return pgCols.Err()
	}
	info, err := src.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return err
	}
	var cols []string
	for info.Next() {
		var c string
		if err := info.Scan(&c); err != nil {
			info.Close()
			return err
		}
		if _, ok := types[c]; !ok {
			info.Close()
			return fmt.Errorf("column %s is not on PostgreSQL", c)
		}
		cols = append(cols, c)
	}
	if err := closeRows(info); err != nil {
		return err
	}
	order := ""
	if table == "resources" {
		order = " ORDER BY seq" // parents before their children
	}
	rs, err := src.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table+order)
	if err != nil {
		return err
	}
	defer rs.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	next := func() ([]any, error) {
		if !rs.Next() {
			return nil, rs.Err()
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(cols))
		for i, v := range vals {
			row[i] = pgValue(v, types[cols[i]])
		}
		return row, nil
	}
	_, err = dst.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(next))
	return err
}

// pgValue converts a value SQLite returned to the Go type of a PostgreSQL
// column's type.
func pgValue(v any, typ string) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		if typ == "bytea" {
			return x
		}
		return string(x)
	case int64:
		if typ == "double precision" {
			return float64(x)
		}
	case float64:
		if typ == "bigint" && x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// openPGBare opens the bare side on PostgreSQL: one pgx connection, with
// the session settings of the tracker's (postgres.SessionSettings).
func openPGBare(ctx context.Context, url string) (*bareDB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	for k, v := range postgres.SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &bareDB{pg: conn, pgStmts: map[string]string{}}, nil
}

// pgPrepared returns the name of query's PostgreSQL text (pgText) prepared
// on the connection, preparing it on first use.
func (d *bareDB) pgPrepared(ctx context.Context, query string) (string, error) {
	if name, ok := d.pgStmts[query]; ok {
		return name, nil
	}
	text := pgText(query)
	name := fmt.Sprintf("bare_%d", len(d.pgStmts))
	if _, err := d.pg.Prepare(ctx, name, text); err != nil {
		return "", fmt.Errorf("%w\n%s", err, text)
	}
	d.pgStmts[query] = name
	return name, nil
}

func (d *bareDB) pgQuery(ctx context.Context, query string, args ...any) (rows, error) {
	name, err := d.pgPrepared(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := d.pg.Query(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{r}, nil
}

// planned runs a search's query: on PostgreSQL planned for its arguments
// on every call (an unnamed statement whose description pgx caches), as
// the tracker runs its compiled searches, since a prepared statement's
// generic plan cannot tell a selective range from a broad one; on SQLite
// as query does.
func (d *bareDB) planned(ctx context.Context, query string, args ...any) (rows, error) {
	if d.pg == nil {
		return d.query(ctx, query, args...)
	}
	r, err := d.pg.Query(ctx, pgText(query), append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
	if err != nil {
		return nil, err
	}
	return pgRows{r}, nil
}

func (d *bareDB) pgQueryRow(ctx context.Context, query string, args ...any) scanner {
	name, err := d.pgPrepared(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return d.pg.QueryRow(ctx, name, args...)
}

// pgRead runs fn in a REPEATABLE READ READ ONLY transaction, as the
// tracker's read transactions on PostgreSQL are.
func (d *bareDB) pgRead(fn func() error) error {
	if _, err := d.pg.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return err
	}
	err := fn()
	if _, rerr := d.pg.Exec(ctx, "ROLLBACK"); err == nil {
		err = rerr
	}
	return err
}

// pgRows are pgx's rows as rows.
type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// errRow is a row that fails to scan with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// pgBareSQL holds the PostgreSQL texts of the baselines whose SQLite texts
// are not PostgreSQL's SQL; the others are PostgreSQL's with their
// placeholders renumbered (pgText).
var pgBareSQL = func() map[string]string {
	const live = " NOT IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)"
	parentRef := bareParentRef
	envs := "(SELECT string_agg(environment, ',' ORDER BY environment) FROM (SELECT DISTINCT environment FROM deployments d" +
		" WHERE d.model_version_seq = r.seq AND d.undeployed_at IS NULL) e)"
	// The recursive walks' start is typed: PostgreSQL cannot infer the
	// type of a bare parameter in a SELECT list.
	typedStart := strings.NewReplacer("SELECT ?1, 0 UNION", "SELECT CAST(?1 AS bigint), 0 UNION")
	m := map[string]string{
		sqlBareDownLevel: "SELECT dst_seq FROM edges WHERE src_seq = ANY($1) AND dst_seq" + live,
		sqlBareUpLevel:   "SELECT src_seq FROM edges WHERE dst_seq = ANY($1) AND src_seq" + live,
		sqlBareNodes:     "SELECT r.seq, r.id, r.type, r.name, r.version, r.status, " + parentRef + " FROM resources r WHERE r.seq = ANY($1)",
		sqlBareEdges:     "SELECT src_seq, dst_seq, relation FROM edges WHERE src_seq = ANY($1) AND dst_seq = ANY($1)",
		sqlBarePathLevel: "SELECT src_seq, dst_seq, relation FROM edges WHERE src_seq = ANY($1) AND dst_seq" + live,
		sqlBareImpactNodes: "SELECT r.seq, r.id, r.type, r.name, r.version, r.status, " + parentRef + ", " + envs +
			" FROM resources r WHERE r.seq = ANY($1) AND r.type IN ('model_version', 'prediction_job')",
		sqlBareImpactCTE: "WITH RECURSIVE w(seq, depth) AS (SELECT $1::bigint, 0 UNION" +
			" SELECT e.dst_seq, w.depth + 1 FROM w JOIN edges e ON e.src_seq = w.seq WHERE w.depth < $2 AND e.dst_seq" + live + ")" +
			" SELECT r.seq, r.id, r.type, r.name, r.version, r.status, " + parentRef + ", " + envs + ", w.depth, w.deepest" +
			" FROM (SELECT seq, min(depth) AS depth, max(min(depth)) OVER () AS deepest FROM w GROUP BY seq) w" +
			" JOIN resources r ON r.seq = w.seq AND r.type IN ('model_version', 'prediction_job')",
		// jsonb equality compares numbers as numbers (5 = 5.0).
		sqlBareByNested: postgres.Rebind(strings.Replace(sqlBareByNested, "json_extract(m.value, '$.max_depth') = ?2",
			"CAST(m.value AS jsonb) -> 'max_depth' = to_jsonb(CAST(?2 AS numeric))", 1)),
		// A subquery in FROM needs a name on PostgreSQL 15.
		sqlBareDeployed: postgres.Rebind(strings.Replace(sqlBareDeployed, "  ) ORDER BY rank", "  ) ranked ORDER BY rank", 1)),
	}
	for _, q := range []string{sqlBareDownCTE, sqlBareUpCTE, sqlBarePathCTE} {
		m[q] = postgres.Rebind(typedStart.Replace(q))
	}
	return m
}()

// pgText returns the PostgreSQL text of a baseline written for SQLite.
func pgText(query string) string {
	if s, ok := pgBareSQL[query]; ok {
		return s
	}
	return postgres.Rebind(query)
}

// BenchmarkPG runs the read cases on PostgreSQL, named PG/Search/...,
// PG/Lookup/..., PG/Point/... and PG/Lineage/...; see the comment at the top
// of this file.
func BenchmarkPG(b *testing.B) {
	onEngine(b, "postgres")
	e := getPGEnv(b, "read")
	b.Run("Search", func(b *testing.B) { benchSearch(b, e) })
	b.Run("Lookup", func(b *testing.B) { benchLookups(b, e, lookups) })
	b.Run("Point", func(b *testing.B) { benchLookups(b, e, points) })
	b.Run("Lineage", func(b *testing.B) { benchLineage(b, e) })
	b.Run("Concurrent", func(b *testing.B) { benchConcurrent(b, getPGEnv(b, "write")) })
}

// sameOnBothEngines checks that the library returns the same answers on
// SQLite and on PostgreSQL over the same fixture: the lookups, the
// searches' pages (their cursors aside, whose encoding is the engine's) and
// the walks.
func sameOnBothEngines(t *testing.T, sq, pg *env) {
	fx := sq.fx
	for _, l := range append(lookups(fx), points(fx)...) {
		a, err := l.lib(sq.lib)
		if err != nil {
			t.Fatal(err)
		}
		b, err := l.lib(pg.lib)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) || !sameResource(a, b) {
			t.Errorf("%s: SQLite\n%#v\nPostgreSQL\n%#v", l.name, a, b)
		}
	}
	for _, c := range searchCases(fx) {
		a, err := sq.lib.Search(ctx, c.filter, metatrack.WithPageSize(c.page))
		if err != nil {
			t.Fatal(err)
		}
		b, err := pg.lib.Search(ctx, c.filter, metatrack.WithPageSize(c.page))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Resources, b.Resources) || (a.Next == "") != (b.Next == "") {
			t.Errorf("search %s: SQLite returned %d resources (next %q), PostgreSQL %d (next %q)", c.name,
				len(a.Resources), a.Next, len(b.Resources), b.Next)
		}
	}
	for _, w := range []struct {
		start Pick
		dir   lineage.Direction
	}{{fx.UpstreamStart, lineage.Upstream}, {fx.DownstreamStart, lineage.Downstream}} {
		opts := lineage.Options{Direction: w.dir}
		a, err := sq.lib.Lineage(ctx, []metatrack.Resource{res(w.start)}, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pg.lib.Lineage(ctx, []metatrack.Resource{res(w.start)}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Nodes, b.Nodes) || !reflect.DeepEqual(a.Edges, b.Edges) {
			t.Errorf("walk %v: SQLite has %d nodes and %d edges, PostgreSQL %d and %d", w.dir,
				len(a.Nodes), len(a.Edges), len(b.Nodes), len(b.Edges))
		}
	}
}
