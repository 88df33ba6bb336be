//go:build unix

package metatrack_test

// Migration tests: concurrent upgrades of a file at schema version 1, a
// crash at every statement boundary of every migration, and real SIGKILLs
// of a process in the middle of upgrading a large file. After each, Open
// must succeed and the schema must be entirely the latest one: golang-
// migrate's bookkeeping at the latest version and clean, schema_applied
// holding every version, sqlite_master equal to a new file's, and the data
// written before intact, every change-log entry with an id.
//
// The default size (3 upgrade rounds; 4 kills of a 50k-entry file) takes
// about ten seconds. The full size (30 rounds; 20 kills of a 200k-entry
// file):
//
//	METATRACK_SOAK=1 go test -run 'TestMigration' -timeout 60m -v .

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// Sizes of the migration tests.
const (
	migRoundsQuick   = 3
	migRoundsSoak    = 30
	migKillsQuick    = 4
	migKillsSoak     = 20
	migBigRowsQuick  = 50_000
	migBigRowsSoak   = 200_000
	migSmallRows     = 500
	migFixtureDS     = "v1data" // the dataset the v1 fixture holds
	migFixtureChains = 2        // versions of it
)

// migBookkeeping is what golang-migrate's sqlite driver runs when it is
// given a database (ensureVersionTable), byte for byte, so that sqlite_master
// compares equal with a file it created.
const migBookkeeping = `
	CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);
  `

// migSplit cuts a migration file into its statements, each with the comment
// lines inside it (SQLite keeps them in sqlite_master) and without those
// between statements; a statement ends at a line that ends with a
// semicolon.
func migSplit(text string) ([]string, error) {
	var stmts []string
	var cur strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		comment := strings.HasPrefix(trimmed, "--")
		if cur.Len() == 0 && (trimmed == "" || comment) {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if !comment && strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("text after the last statement: %q", cur.String())
	}
	return stmts, nil
}

// migStatements returns the statements of the up migration of version v.
func migStatements(v uint) ([]string, error) {
	entries, err := fs.ReadDir(schema.SQLite(), ".")
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("%04d_", v)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), ".up.sql") {
			b, err := fs.ReadFile(schema.SQLite(), e.Name())
			if err != nil {
				return nil, err
			}
			return migSplit(string(b))
		}
	}
	return nil, fmt.Errorf("no up migration %d", v)
}

// migFixture is what migBuildV1 wrote.
type migFixture struct {
	history int64  // history rows
	dump    string // digest of the data as version 1 holds it
}

// migBuildV1 builds a database file at schema version 1 only, as the
// library left files before migration 0002: 0001_init.up.sql applied,
// golang-migrate's bookkeeping at version 1 and clean, and data (a run, a
// dataset with versions, tags, metadata, edges and rows change-log
// entries). It closes the file, so that it is one file without a WAL.
func migBuildV1(tb testing.TB, ctx context.Context, path string, rows int) migFixture {
	tb.Helper()
	stmts, err := migStatements(1)
	if err != nil {
		tb.Fatal(err)
	}
	conn := chaosConn(tb, path)
	defer conn.Close()
	exec := func(q string, args ...any) {
		tb.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	exec(strings.Join(stmts, ""))
	exec(migBookkeeping)
	exec(`INSERT INTO schema_migrations (version, dirty) VALUES (1, 0)`)
	exec(`BEGIN`)
	exec(`INSERT INTO runs (seq, id, name, status, started_at) VALUES (1, 'run-v1', 'v1', 'FINISHED', 1000)`)
	exec(`INSERT INTO resources (seq, id, type, name, run_seq, created_at, updated_at) VALUES (1, 'res-ds', 'dataset', ?, 1, 1000, 1000)`, migFixtureDS)
	for v := 1; v <= migFixtureChains; v++ {
		seq := 1 + v
		exec(`INSERT INTO resources (seq, id, type, name, version, parent_seq, attrs, run_seq, created_at, updated_at)
			VALUES (?, ?, 'dataset_version', ?, ?, 1, '{"rows":10}', 1, ?, ?)`, seq, fmt.Sprintf("res-dv-%d", v), migFixtureDS, v, 1000+v, 1000+v)
		exec(`INSERT INTO edges (src_seq, dst_seq, relation, run_seq, created_at) VALUES (1, ?, 'version', 1, ?)`, seq, 1000+v)
		exec(`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at) VALUES (?, 'source', ?, 1, ?)`, seq, fmt.Sprintf("s3://bucket/%d", v), 1000+v)
		exec(`INSERT INTO metadata (resource_seq, key, value, num, run_seq, updated_at) VALUES (?, 'rows', ?, ?, 1, ?)`, seq, strconv.Itoa(10*v), 10*v, 1000+v)
	}
	stmt, err := conn.PrepareContext(ctx, `INSERT INTO history (resource_seq, at, run_seq, kind, key, old_value, new_value)
		VALUES (?, ?, 1, 'metadata', 'rows', ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range rows {
		if _, err := stmt.ExecContext(ctx, 2+i%migFixtureChains, 2000+i, strconv.Itoa(i), strconv.Itoa(i+1)); err != nil {
			tb.Fatal(err)
		}
	}
	stmt.Close()
	exec(`COMMIT`)
	return migFixture{history: int64(rows), dump: migDump(tb, ctx, conn, int64(rows))}
}

// migDump returns a digest of the data migBuildV1 wrote, read as version
// 1 holds it (the columns later migrations add left out).
func migDump(tb testing.TB, ctx context.Context, conn *sql.DB, history int64) string {
	tb.Helper()
	h := sha256.New()
	last := 1 + migFixtureChains
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`SELECT seq, id, name, host, username, pid, status, error, started_at, ended_at FROM runs WHERE seq = 1`, nil},
		{`SELECT seq, id, type, name, version, parent_seq, status, attrs, run_seq, created_at, updated_at, started_at, ended_at
			FROM resources WHERE seq <= ? ORDER BY seq`, []any{last}},
		{`SELECT resource_seq, key, value, run_seq, updated_at FROM tags WHERE resource_seq <= ? ORDER BY 1, 2`, []any{last}},
		{`SELECT resource_seq, key, value, num, str, run_seq, updated_at FROM metadata WHERE resource_seq <= ? ORDER BY 1, 2`, []any{last}},
		{`SELECT src_seq, dst_seq, relation, run_seq, created_at FROM edges WHERE dst_seq <= ? ORDER BY 1, 2, 3`, []any{last}},
		{`SELECT seq, resource_seq, at, run_seq, kind, key, old_value, new_value FROM history WHERE seq <= ? ORDER BY seq`, []any{history}},
	} {
		rows, err := conn.QueryContext(ctx, q.query, q.args...)
		if err != nil {
			tb.Fatalf("%s: %v", q.query, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			tb.Fatal(err)
		}
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			for _, v := range vals {
				if v == nil {
					h.Write([]byte{0})
					continue
				}
				fmt.Fprintf(h, "\x01%d:", len(v))
				h.Write(v)
			}
			n++
		}
		if err := rows.Close(); err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(h, "%d rows\n", n)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// migSchema returns the file's schema as sqlite_master lists it.
func migSchema(tb testing.TB, ctx context.Context, conn *sql.DB) []string {
	tb.Helper()
	rows, err := conn.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master
		WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name, table, text string
		if err := rows.Scan(&typ, &name, &table, &text); err != nil {
			tb.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s on %s: %s", typ, name, table, text))
	}
	return out
}

// migReference returns the schema of a new file created by Open.
func migReference(tb testing.TB, ctx context.Context) []string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "reference.db")
	chaosNewFile(tb, ctx, path)
	conn := chaosConn(tb, path)
	defer conn.Close()
	return migSchema(tb, ctx, conn)
}

// migCheckLatest checks the file at path, which Open has just opened and
// closed: golang-migrate's bookkeeping holds one row, the latest version,
// clean; schema_applied holds every version once; the schema is ref, a new
// file's; every change-log entry has an id; the data of fx (when not nil) is
// intact; PRAGMA integrity_check is ok.
func migCheckLatest(tb testing.TB, ctx context.Context, path string, ref []string, fx *migFixture) {
	tb.Helper()
	latest, err := schema.Latest(schema.SQLite())
	if err != nil {
		tb.Fatal(err)
	}
	versions, err := schema.Versions(schema.SQLite())
	if err != nil {
		tb.Fatal(err)
	}
	conn := chaosConn(tb, path)
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `SELECT version, dirty FROM `+schema.MigrationsTable)
	if err != nil {
		tb.Fatal(err)
	}
	var states []string
	for rows.Next() {
		var v int64
		var dirty bool
		if err := rows.Scan(&v, &dirty); err != nil {
			tb.Fatal(err)
		}
		states = append(states, fmt.Sprintf("version %d dirty %v", v, dirty))
	}
	rows.Close()
	if want := fmt.Sprintf("version %d dirty false", latest); len(states) != 1 || states[0] != want {
		tb.Errorf("%s holds %q, want one row %q", schema.MigrationsTable, states, want)
	}
	var applied []uint
	rows, err = conn.QueryContext(ctx, `SELECT version FROM schema_applied ORDER BY version`)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var v uint
		if err := rows.Scan(&v); err != nil {
			tb.Fatal(err)
		}
		applied = append(applied, v)
	}
	rows.Close()
	if !slices.Equal(applied, versions) {
		tb.Errorf("schema_applied holds %v, want each migration once: %v", applied, versions)
	}
	if got := migSchema(tb, ctx, conn); !slices.Equal(got, ref) {
		for _, s := range got {
			if !slices.Contains(ref, s) {
				tb.Errorf("schema entry not in a new file: %q", s)
			}
		}
		for _, s := range ref {
			if !slices.Contains(got, s) {
				tb.Errorf("schema entry of a new file missing: %q", s)
			}
		}
	}
	if n := procCount(tb, conn, `SELECT count(*) FROM history WHERE id IS NULL OR id = ''`); n != 0 {
		tb.Errorf("%d change-log entries have no id", n)
	}
	if n := procCount(tb, conn, `SELECT count(*) - count(DISTINCT id) FROM history`); n != 0 {
		tb.Errorf("%d change-log ids repeat", n)
	}
	if fx != nil {
		if got := migDump(tb, ctx, conn, fx.history); got != fx.dump {
			tb.Errorf("the data written at version 1 changed (digest %s, was %s)", got, fx.dump)
		}
		if n := procCount(tb, conn, `SELECT count(*) FROM history`); n < fx.history {
			tb.Errorf("%d change-log entries, version 1 held %d", n, fx.history)
		}
	}
	procIntegrity(tb, conn)
}

// migOpenAndUse opens the file as a user would (with a run), writes and
// reads through the tracker, and closes it.
func migOpenAndUse(tb testing.TB, ctx context.Context, path string) time.Duration {
	tb.Helper()
	t0 := time.Now()
	tr, err := metatrack.Open(ctx, path)
	took := time.Since(t0)
	if err != nil {
		tb.Fatalf("open after the crash: %v", err)
	}
	v, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, migFixtureDS)
	if err == nil {
		err = tr.LogTag(ctx, v, "after", "crash")
	}
	if err == nil {
		var got metatrack.Resource
		got, err = tr.GetResource(ctx, metatrack.TypeDatasetVersion+"/"+migFixtureDS, "")
		if err == nil && got.ID != v.ID {
			err = fmt.Errorf("latest is %s, not the version just created", got.Ref())
		}
	}
	if cerr := tr.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatalf("use after the crash: %v", err)
	}
	return took
}

// TestMigrationConcurrentUpgrade builds a file at schema version 1 with
// data in it, then starts 8 processes (process_test.go's opener role) that
// call Open on it at the same instant, each then appending a version to one
// chain. Every process must succeed, the versions they were given must be
// 1..8, and the file must end at the latest schema (see migCheckLatest) with
// the version 1 data intact. Several rounds, each on a new file.
func TestMigrationConcurrentUpgrade(t *testing.T) {
	rounds := migRoundsQuick
	if procSoak() {
		rounds = migRoundsSoak
	}
	ctx := procContext(t)
	ref := migReference(t, ctx)
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "v1.db")
		fx := migBuildV1(t, ctx, path, migSmallRows)
		g := procStart(t, ctx, procNumProcs, "opener", func(int) []string { return []string{procDBEnv + "=" + path} })
		g.waitReady(t)
		g.release()
		g.wait(t)
		if t.Failed() {
			t.Fatalf("round %d: not every process opened the version 1 file", round)
		}
		var got []int
		for _, r := range g.records(t) {
			got = append(got, r.Version)
		}
		slices.Sort(got)
		if len(got) != procNumProcs || got[0] != 1 || got[len(got)-1] != procNumProcs || len(slices.Compact(got)) != procNumProcs {
			t.Errorf("round %d: versions acknowledged %v, want 1..%d", round, got, procNumProcs)
		}
		migCheckLatest(t, ctx, path, ref, &fx)
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
}

// migCrashChild is the migcrash child: it leaves the file as a process
// killed in the middle of migration METATRACK_CHAOS_ARG = "<version> <k>
// <commit>" leaves it. It runs what golang-migrate's sqlite driver runs on
// the library's writer connection: the bookkeeping table (created if
// missing); then, with k >= 0, the version recorded dirty in a transaction
// of its own (SetVersion(version, true)); then the migration's own
// transaction (BEGIN IMMEDIATE, the writer's _txlock), of which it runs the
// first k statements, and commits when commit is 1. Then it kills itself
// with SIGKILL: no rollback, no close, no checkpoint.
func migCrashChild(ctx context.Context) error {
	var version uint
	var k, commit int
	if _, err := fmt.Sscan(os.Getenv(chaosArgEnv), &version, &k, &commit); err != nil {
		return fmt.Errorf("%s=%q: %w", chaosArgEnv, os.Getenv(chaosArgEnv), err)
	}
	stmts, err := migStatements(version)
	if err != nil {
		return err
	}
	if err := procBarrier(); err != nil {
		return err
	}
	conn, err := sql.Open("sqlite", sqlite.DSN(os.Getenv(chaosDBEnv), sqlite.Options{}, false))
	if err != nil {
		return err
	}
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, migBookkeeping); err != nil {
		return err
	}
	if k >= 0 {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+schema.MigrationsTable); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+schema.MigrationsTable+` (version, dirty) VALUES (?, ?)`, version, true); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return err
		}
		for i, s := range stmts[:k] {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("statement %d: %w", i+1, err)
			}
		}
		if commit == 1 {
			if err := tx.Commit(); err != nil {
				return err
			}
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGKILL); err != nil {
		return err
	}
	time.Sleep(time.Minute) // the signal arrives first
	return errors.New("still alive after SIGKILL")
}

// migCrash runs a migcrash child on path and waits for it to die.
func migCrash(tb testing.TB, ctx context.Context, path string, version uint, k int, commit bool) {
	tb.Helper()
	c := 0
	if commit {
		c = 1
	}
	g := chaosStart(tb, ctx, 1, "migcrash", func(int) []string {
		return []string{chaosDBEnv + "=" + path, fmt.Sprintf("%s=%d %d %d", chaosArgEnv, version, k, c)}
	})
	g.waitReady(tb)
	g.release()
	g.children[0].killed = true // by itself, as expected
	g.wait(tb)
}

// TestMigrationCrashAtEveryStatement simulates a crash at every statement
// boundary of every migration: for migration 0001 on a new file and 0002 on
// a version 1 file with data, for k = 0..n of its n statements, a child
// process (migCrashChild) marks the version dirty as golang-migrate does,
// runs the first k statements in the migration's transaction, and kills
// itself before the commit; and, for k = n, after it (the migration
// committed, golang-migrate had no time to mark it clean). k = -1 is a
// crash after the bookkeeping table was created, before the version was
// marked dirty. Then Open, as a user would, must succeed with the latest
// schema and the data intact (see migCheckLatest), and the tracker must
// work.
//
// A migration cannot be found committed in part: golang-migrate's sqlite
// driver runs each migration file in one transaction (executeQuery), so a
// crash leaves none of it or all of it. Partial commits are not simulated.
func TestMigrationCrashAtEveryStatement(t *testing.T) {
	ctx := procContext(t)
	ref := migReference(t, ctx)
	dir := t.TempDir()
	template := filepath.Join(dir, "v1-template.db")
	fx := migBuildV1(t, ctx, template, migSmallRows)
	versions, err := schema.Versions(schema.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, v := range versions {
		stmts, err := migStatements(v)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(stmts); n < 2 || !strings.Contains(stmts[n-1], "INSERT INTO schema_applied") {
			t.Fatalf("migration %d split into %d statements, the last %q: not one ending by recording itself in schema_applied", v, n, stmts[n-1])
		}
		for k := -1; k <= len(stmts); k++ {
			for _, commit := range []bool{false, true} {
				if commit && k != len(stmts) {
					continue
				}
				name := fmt.Sprintf("%04d/k=%d/commit=%v", v, k, commit)
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "m.db")
					var want *migFixture
					if v > 1 {
						// Migrations after the first run on a file at the
						// version before, with data in it.
						if v != 2 {
							t.Skipf("no fixture at version %d", v-1)
						}
						migCopyFile(t, template, path)
						want = &fx
					}
					migCrash(t, ctx, path, v, k, commit)
					if t.Failed() {
						t.FailNow()
					}
					migOpenAndUse(t, ctx, path)
					migCheckLatest(t, ctx, path, ref, want)
				})
				cases++
			}
		}
	}
	t.Logf("%d crash points over migrations %v", cases, versions)
}

// migCopyFile copies the file src to dst.
func migCopyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

// migOpenChild is the migopen child: at the barrier's release it opens the
// file (upgrading it), closes it, prints a done record with how long the
// open took, and waits to be killed.
func migOpenChild(ctx context.Context, enc *json.Encoder) error {
	if err := procBarrier(); err != nil {
		return err
	}
	t0 := time.Now()
	tr, err := metatrack.Open(ctx, os.Getenv(chaosDBEnv), metatrack.WithoutRun())
	if err != nil {
		return err
	}
	took := time.Since(t0)
	if err := tr.Close(); err != nil {
		return err
	}
	if err := enc.Encode(chaosRecord{Kind: "done", Seconds: took.Seconds()}); err != nil {
		return err
	}
	time.Sleep(time.Hour)
	return errors.New("not killed")
}

// migPhase says how far the upgrade of the file at path had gone, read
// from a copy of it and its write-ahead log, so that the file itself
// reaches Open exactly as the killed process left it.
func migPhase(tb testing.TB, ctx context.Context, path string) string {
	tb.Helper()
	dir := tb.TempDir()
	cp := filepath.Join(dir, "phase.db")
	migCopyFile(tb, path, cp)
	if _, err := os.Stat(path + "-wal"); err == nil {
		migCopyFile(tb, path+"-wal", cp+"-wal")
	}
	conn, err := sql.Open("sqlite", cp)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	var version, applied int64
	var dirty bool
	err = conn.QueryRowContext(ctx, `SELECT version, dirty, (SELECT max(version) FROM schema_applied) FROM `+schema.MigrationsTable).
		Scan(&version, &dirty, &applied)
	if err != nil {
		return fmt.Sprintf("unreadable (%v)", err)
	}
	switch {
	case !dirty:
		return fmt.Sprintf("clean at %d", version)
	case applied == version:
		return fmt.Sprintf("dirty at %d, committed", version)
	}
	return fmt.Sprintf("dirty at %d, not committed", version)
}

// TestMigrationKilledDuringOpen builds a version 1 file with 50k change-log
// entries (200k with METATRACK_SOAK=1), so that migration 0002, which gives
// each an id and indexes them, takes measurable time; times one
// uninterrupted upgrade; then, several times on a new copy, kills a process
// (SIGKILL) a random moment into its Open, between 0 and 1.2 times that
// time. Each time Open must then succeed with the latest schema and the
// data intact (see migCheckLatest). It reports where the kills landed.
func TestMigrationKilledDuringOpen(t *testing.T) {
	rows, kills := migBigRowsQuick, migKillsQuick
	if procSoak() {
		rows, kills = migBigRowsSoak, migKillsSoak
	}
	ctx := procContext(t)
	ref := migReference(t, ctx)
	dir := t.TempDir()
	template := filepath.Join(dir, "v1-template.db")
	t0 := time.Now()
	fx := migBuildV1(t, ctx, template, rows)
	built := time.Since(t0)
	calib := filepath.Join(dir, "calibrate.db")
	migCopyFile(t, template, calib)
	t0 = time.Now()
	tr, err := metatrack.Open(ctx, calib, metatrack.WithoutRun())
	upgrade := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	info, err := os.Stat(template)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("version 1 file with %d change-log entries (%d MiB) built in %v; one upgrade takes %v",
		rows, info.Size()>>20, built.Round(time.Millisecond), upgrade.Round(time.Millisecond))

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	phases := map[string]int{}
	var reopens []time.Duration
	for k := range kills {
		path := filepath.Join(dir, fmt.Sprintf("kill-%d.db", k))
		migCopyFile(t, template, path)
		g := chaosStart(t, ctx, 1, "migopen", func(int) []string { return []string{chaosDBEnv + "=" + path} })
		g.waitReady(t)
		delay := time.Duration(rng.Int64N(int64(upgrade) * 6 / 5))
		g.release()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		g.children[0].kill()
		g.wait(t)
		if t.Failed() {
			t.FailNow()
		}
		phase := migPhase(t, ctx, path)
		if len(g.snapshot()) > 0 {
			phase = "after the open returned"
		}
		phases[phase]++
		reopens = append(reopens, migOpenAndUse(t, ctx, path))
		migCheckLatest(t, ctx, path, ref, &fx)
		if t.Failed() {
			t.Fatalf("kill %d, %v into the open (%s; seed %d) failed the checks", k, delay, phase, seed)
		}
		os.Remove(path)
	}
	t.Logf("%d kills (seed %d) landed: %v; open after the kill: %s", kills, seed, phases, chaosDurations(reopens))
}
