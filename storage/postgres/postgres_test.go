package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// mustOpen opens the store at u and closes it at the end of the test.
func mustOpen(tb testing.TB, u string, o postgres.Options) *postgres.Engine {
	tb.Helper()
	e, err := postgres.Open(context.Background(), u, o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// withParams returns u with the query parameters kv (name, value, ...) set.
func withParams(tb testing.TB, u string, kv ...string) string {
	tb.Helper()
	p, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	q := p.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// admin runs statements on the test database outside any store.
func admin(tb testing.TB, u string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustExec(tb testing.TB, db *sql.DB, q string, args ...any) {
	tb.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

// migrationState reads golang-migrate's bookkeeping of schema s.
func migrationState(tb testing.TB, db *sql.DB, s string) (version int64, dirty bool) {
	tb.Helper()
	err := db.QueryRow(`SELECT version, dirty FROM `+s+`.schema_migrations`).Scan(&version, &dirty)
	if err != nil {
		tb.Fatalf("reading schema_migrations of %s: %v", s, err)
	}
	return version, dirty
}

func tablesOf(tb testing.TB, db *sql.DB, s string) []string {
	tb.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, s)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func latest(tb testing.TB) int64 {
	v, err := schema.Latest(schema.Postgres())
	if err != nil {
		tb.Fatal(err)
	}
	return int64(v)
}

func TestOpenMigrateReopen(t *testing.T) {
	u := testURL(t)
	db := admin(t, u)
	e := mustOpen(t, u, postgres.Options{})
	if e.Name() != "postgres" || e.Schema() != "public" {
		t.Errorf("Name, Schema = %q, %q", e.Name(), e.Schema())
	}
	if v, dirty := migrationState(t, db, "public"); v != latest(t) || dirty {
		t.Fatalf("after Open: version %d dirty %v, want %d clean", v, dirty, latest(t))
	}
	var applied int
	if err := db.QueryRow(`SELECT count(*) FROM public.schema_applied`).Scan(&applied); err != nil || int64(applied) != latest(t) {
		t.Fatalf("schema_applied rows = %d (%v), want %d", applied, err, latest(t))
	}
	before := tablesOf(t, db, "public")
	for _, want := range []string{"resources", "blob_chunks", "attr_values", "metric_series", "api_tokens", "idempotency_keys"} {
		if !contains(before, want) {
			t.Errorf("table %s missing after Open: %v", want, before)
		}
	}
	e.Close()
	e2 := mustOpen(t, u, postgres.Options{})
	if after := tablesOf(t, db, "public"); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("reopen changed the tables: %v -> %v", before, after)
	}
	// The store works: the attr_values trigger indexes top-level keys,
	// the first of a repeated key.
	err := e2.WriteTx(context.Background(), func(tx storage.Tx) error {
		var seq int64
		if err := tx.Get(context.Background(), &seq, `INSERT INTO resources (id, type, name, attrs, created_at, updated_at)
			VALUES (?, ?, ?, ?, 1, 1) RETURNING seq`, "r1", "dataset", "d", `{"lr": 0.5, "opt": "adam", "lr": 2, "big": 9007199254740993, "f": true}`); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Key string         `db:"key"`
		Num sql.NullString `db:"num"`
		Str sql.NullString `db:"str"`
	}
	if err := e2.Reader().Select(context.Background(), &rows, `SELECT key, num::text AS num, str FROM attr_values ORDER BY key`); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rows)
	want := "[{big {9007199254740993 true} { false}} {f { false} { false}} {lr {0.5 true} { false}} {opt { false} {adam true}}]"
	if got != want {
		t.Errorf("attr_values = %s, want %s", got, want)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// childOpen is run by TestOpenConcurrentProcesses in copies of the test
// binary: it waits for its standard input to close, then opens the store.
func childOpen(u string) error {
	var b [1]byte
	os.Stdin.Read(b[:])
	e, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		return fmt.Errorf("Open: %v", err)
	}
	if err := e.WriteTx(context.Background(), func(tx storage.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO runs (id, name, status, started_at) VALUES (?, 'child', 'RUNNING', 1)`, fmt.Sprint(os.Getpid()))
		return err
	}); err != nil {
		return fmt.Errorf("WriteTx: %v", err)
	}
	if err := e.Close(); err != nil {
		return err
	}
	return nil
}

// TestOpenConcurrentProcesses starts 8 processes that open one new store at
// the same moment: every one succeeds, the schema is migrated once and
// clean, and each wrote its row.
func TestOpenConcurrentProcesses(t *testing.T) {
	u := testURL(t)
	for _, s := range []string{"public", "fresh"} {
		store := withParams(t, u, "schema", s)
		const n = 8
		cmds := make([]*exec.Cmd, n)
		outs := make([]strings.Builder, n)
		gates := make([]io.Closer, n)
		for i := range cmds {
			c := exec.Command(os.Args[0])
			c.Env = append(os.Environ(), "PGENGINE_CHILD_OPEN="+store)
			c.Stdout, c.Stderr = &outs[i], &outs[i]
			w, err := c.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			gates[i] = w
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			cmds[i] = c
		}
		// Every child is started; let them all go at once.
		for _, g := range gates {
			g.Close()
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("schema %s: child %d: %v\n%s", s, i, err, outs[i].String())
			}
		}
		db := admin(t, u)
		if v, dirty := migrationState(t, db, s); v != latest(t) || dirty {
			t.Errorf("schema %s: version %d dirty %v, want %d clean", s, v, dirty, latest(t))
		}
		var runs int
		if err := db.QueryRow(`SELECT count(*) FROM ` + s + `.runs`).Scan(&runs); err != nil || runs != n {
			t.Errorf("schema %s: %d runs (%v), want %d", s, runs, err, n)
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	base := "postgres://alice:s3cret@127.0.0.1:1/db"
	for _, c := range []struct{ name, url, says string }{
		{"ErrUnknownParam", base + "?sslmod=disable", "unknown parameter sslmod"},
		{"ErrSearchPath", base + "?search_path=x", "schema=NAME"},
		{"ErrOptions", base + "?options=-csearch_path%3Dx", "schema=NAME"},
		{"ErrSchemaUpper", base + "?schema=Team", `schema "Team"`},
		{"ErrSchemaReserved", base + "?schema=pg_catalog", "reserved"},
		{"ErrSchemaEmpty", base + "?schema=", "schema is empty"},
		{"ErrSchemaTwice", base + "?schema=a&schema=b", "schema 2 times"},
		{"ErrNotPostgres", "mysql://alice:s3cret@h/db", "not a postgres"},
		{"ErrMalformed", "postgres://alice:s3cret@h:port/db", "malformed"},
		{"ErrPasswordParam", "postgres://h/db?password=s3cret&bogus=1", "unknown parameter bogus"},
		{"ErrBadSSLMode", base + "?sslmode=sometimes", "sslmode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := postgres.Open(context.Background(), c.url, postgres.Options{})
			if !errors.Is(err, rules.ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %q, want it to say %q", err, c.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %q shows the password", err)
			}
		})
	}
}

func TestOpenLoginRefused(t *testing.T) {
	u := testURL(t)
	db := admin(t, u)
	mustExec(t, db, `CREATE ROLE mt_nologin NOLOGIN`)
	t.Cleanup(func() { db.Exec(`DROP ROLE IF EXISTS mt_nologin`) })
	p, _ := url.Parse(u)
	for _, c := range []struct{ name, user, db, says string }{
		{"ErrUnknownRole", "mt_nobody", p.Path, `role "mt_nobody" does not exist`},
		{"ErrNoLogin", "mt_nologin", p.Path, "not permitted to log in"},
		{"ErrNoDatabase", p.User.Username(), "/mt_no_such_db", `database "mt_no_such_db" does not exist`},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := *p
			q.User = url.UserPassword(c.user, "s3cret")
			q.Path = c.db
			_, err := postgres.Open(context.Background(), q.String(), postgres.Options{})
			if !errors.Is(err, postgres.ErrLoginRefused) {
				t.Fatalf("err = %v, want ErrLoginRefused", err)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %q, want it to say %q", err, c.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %q shows the password", err)
			}
		})
	}
	t.Run("ErrUnavailable", func(t *testing.T) {
		_, err := postgres.Open(context.Background(), "postgres://alice:s3cret@127.0.0.1:1/db?connect_timeout=5", postgres.Options{})
		if !errors.Is(err, postgres.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("err = %q shows the password", err)
		}
	})
}

func TestOpenSchemaTooNew(t *testing.T) {
	u := testURL(t)
	db := admin(t, u)
	mustOpen(t, u, postgres.Options{}).Close()
	mustExec(t, db, `UPDATE schema_migrations SET version = 99`)
	before := tablesOf(t, db, "public")
	for _, ro := range []bool{false, true} {
		_, err := postgres.Open(context.Background(), u, postgres.Options{ReadOnly: ro})
		if !errors.Is(err, storage.ErrSchemaTooNew) {
			t.Fatalf("read-only %v: err = %v, want ErrSchemaTooNew", ro, err)
		}
		if !strings.Contains(err.Error(), "version 99") {
			t.Errorf("err = %q, want it to name version 99", err)
		}
	}
	if v, dirty := migrationState(t, db, "public"); v != 99 || dirty {
		t.Errorf("bookkeeping changed: %d %v", v, dirty)
	}
	if after := tablesOf(t, db, "public"); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("tables changed: %v -> %v", before, after)
	}
}

func TestOpenForeignSchema(t *testing.T) {
	u := testURL(t)
	db := admin(t, u)
	mustExec(t, db, `CREATE SCHEMA shop`)
	mustExec(t, db, `CREATE TABLE shop.orders (id int)`)
	_, err := postgres.Open(context.Background(), withParams(t, u, "schema", "shop"), postgres.Options{})
	if !errors.Is(err, storage.ErrUnexpectedSchema) || !errors.Is(err, storage.ErrNotDatabase) {
		t.Fatalf("err = %v, want ErrUnexpectedSchema and ErrNotDatabase", err)
	}
	if !strings.Contains(err.Error(), "orders") {
		t.Errorf("err = %q, want it to name the table", err)
	}
	if got := tablesOf(t, db, "shop"); strings.Join(got, ",") != "orders" {
		t.Errorf("shop now holds %v", got)
	}

	// A metatrack store with a table it does not define.
	mustOpen(t, u, postgres.Options{}).Close()
	mustExec(t, db, `CREATE VIEW public.sneaky AS SELECT 1 AS x`)
	_, err = postgres.Open(context.Background(), u, postgres.Options{})
	if !errors.Is(err, storage.ErrUnexpectedSchema) || !strings.Contains(err.Error(), "sneaky") {
		t.Fatalf("err = %v, want ErrUnexpectedSchema naming sneaky", err)
	}
	mustExec(t, db, `DROP VIEW public.sneaky`)
	mustExec(t, db, `DROP TABLE public.purged`)
	_, err = postgres.Open(context.Background(), u, postgres.Options{})
	if !errors.Is(err, storage.ErrUnexpectedSchema) || !strings.Contains(err.Error(), "purged") {
		t.Fatalf("err = %v, want ErrUnexpectedSchema naming purged", err)
	}
}

// TestOpenRepairsDirty: a migration a crash interrupted after it committed
// (schema_applied has it) is marked clean; one that did not commit runs
// again.
func TestOpenRepairsDirty(t *testing.T) {
	u := testURL(t)
	db := admin(t, u)
	mustOpen(t, u, postgres.Options{}).Close()
	mustExec(t, db, `UPDATE schema_migrations SET dirty = true`)
	mustOpen(t, u, postgres.Options{}).Close()
	if v, dirty := migrationState(t, db, "public"); v != latest(t) || dirty {
		t.Fatalf("committed dirty: version %d dirty %v after Open", v, dirty)
	}
	// The last migration did not commit: undo it by its down file, and
	// mark it dirty as golang-migrate leaves it before running it.
	downs, err := fs.Glob(schema.Postgres(), fmt.Sprintf("%04d_*.down.sql", latest(t)))
	if err != nil || len(downs) != 1 {
		t.Fatalf("the down file of migration %d: %v, %v", latest(t), downs, err)
	}
	down, err := fs.ReadFile(schema.Postgres(), downs[0])
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, string(down))
	mustExec(t, db, `UPDATE schema_migrations SET dirty = true`)
	mustOpen(t, u, postgres.Options{}).Close()
	if v, dirty := migrationState(t, db, "public"); v != latest(t) || dirty {
		t.Fatalf("uncommitted dirty: version %d dirty %v after Open", v, dirty)
	}
	// Every migration ends by recording itself in schema_applied, which
	// the down file removes.
	var applied int
	if err := db.QueryRow(`SELECT count(*) FROM schema_applied WHERE version = $1`, latest(t)).Scan(&applied); err != nil || applied != 1 {
		t.Fatalf("migration %d did not run again: %d rows in schema_applied, %v", latest(t), applied, err)
	}
}

func TestReadOnly(t *testing.T) {
	u := testURL(t)
	_, err := postgres.Open(context.Background(), u, postgres.Options{ReadOnly: true})
	if !errors.Is(err, storage.ErrSchemaTooOld) || !errors.Is(err, storage.ErrReadOnly) || !strings.Contains(err.Error(), "holds no metatrack store yet") {
		t.Fatalf("read-only Open of a new store: err = %v, want ErrSchemaTooOld and ErrReadOnly saying there is no store yet", err)
	}
	mustOpen(t, u, postgres.Options{}).Close()
	e := mustOpen(t, u, postgres.Options{ReadOnly: true})
	ctx := context.Background()
	if err := e.WriteTx(ctx, func(storage.Tx) error { return nil }); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("WriteTx: %v, want ErrReadOnly", err)
	}
	if _, err := e.Reader().Exec(ctx, `DELETE FROM runs`); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("Reader Exec: %v, want ErrReadOnly", err)
	}
	// The server refuses it too: a write smuggled in as a query.
	var n int
	err = e.Reader().Get(ctx, &n, `WITH d AS (DELETE FROM runs RETURNING 1) SELECT count(*) FROM d`)
	if !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("write through Reader Get: %v, want ErrReadOnly", err)
	}
	err = e.ReadTx(ctx, func(tx storage.Tx) error {
		return tx.Get(ctx, &n, `WITH d AS (DELETE FROM runs RETURNING 1) SELECT count(*) FROM d`)
	})
	if !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("write in ReadTx: %v, want ErrReadOnly", err)
	}
}

// TestSchemaIsolation: two stores in one database see only their own rows,
// and a writer of one does not wait for a writer of the other.
func TestSchemaIsolation(t *testing.T) {
	u := testURL(t)
	a := mustOpen(t, withParams(t, u, "schema", "team_a"), postgres.Options{})
	b := mustOpen(t, withParams(t, u, "schema", "team_b"), postgres.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	holding, release := make(chan struct{}), make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		aDone <- a.WriteTx(ctx, func(tx storage.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES ('a1', 'a', 'RUNNING', 1)`); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	// b writes while a's transaction holds a's lock; were the lock shared,
	// this would wait until the context ends.
	if err := b.WriteTx(ctx, func(tx storage.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES ('b1', 'b', 'RUNNING', 1)`)
		return err
	}); err != nil {
		t.Fatalf("b's write while a writes: %v", err)
	}
	close(release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e    *postgres.Engine
		want string
	}{{a, "a1"}, {b, "b1"}} {
		var ids []string
		if err := c.e.Reader().Select(ctx, &ids, `SELECT id FROM runs ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids, ",") != c.want {
			t.Errorf("%s sees runs %v, want %s", c.e.Schema(), ids, c.want)
		}
	}
	if !strings.Contains(a.Location(), "schema=team_a") {
		t.Errorf("Location %q does not name the schema", a.Location())
	}
}

// TestWritersSerialized: writers that read the highest number and write
// the next one (as a version chain does) never collide and leave no gap.
// With two connections for eight writers, a writer that also reads through
// Reader still finds a connection.
func TestWritersSerialized(t *testing.T) {
	u := testURL(t)
	e := mustOpen(t, u, postgres.Options{MaxConns: 2})
	db := admin(t, u)
	mustExec(t, db, `CREATE SCHEMA scratch`)
	mustExec(t, db, `CREATE TABLE scratch.chain (n bigint NOT NULL)`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := e.WriteTx(ctx, func(tx storage.Tx) error {
					var next, seen int64
					if err := tx.Get(ctx, &next, `SELECT coalesce(max(n), 0) + 1 FROM scratch.chain`); err != nil {
						return err
					}
					if err := e.Reader().Get(ctx, &seen, `SELECT count(*) FROM scratch.chain`); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `INSERT INTO scratch.chain (n) VALUES (?)`, next)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var count, distinct, top int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT n), max(n) FROM scratch.chain`).Scan(&count, &distinct, &top); err != nil {
		t.Fatal(err)
	}
	if count != writers*each || distinct != count || top != count {
		t.Errorf("%d rows, %d distinct, highest %d; want %d of each", count, distinct, top, writers*each)
	}
}

// TestWriteTxRetries: a serialization failure or deadlock that the server
// reports runs the transaction again; only its last run commits. One that
// never stops is ErrConflict after MaxAttempts runs.
func TestWriteTxRetries(t *testing.T) {
	u := testURL(t)
	e := mustOpen(t, u, postgres.Options{MaxAttempts: 4})
	ctx := context.Background()
	for _, code := range []string{"40001", "40P01"} {
		runs := 0
		err := e.WriteTx(ctx, func(tx storage.Tx) error {
			runs++
			if _, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES (?, 'r', 'RUNNING', 1)`, code); err != nil {
				return err
			}
			if runs < 3 {
				// What the server sends on a real conflict: the code is
				// all WriteTx reads.
				_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced conflict' USING ERRCODE = '`+code+`'; END $$`)
				return fmt.Errorf("wrapped by the domain: %w", err)
			}
			return nil
		})
		if err != nil || runs != 3 {
			t.Fatalf("%s: err = %v after %d runs, want nil after 3", code, err, runs)
		}
		var n int
		if err := e.Reader().Get(ctx, &n, `SELECT count(*) FROM runs WHERE id = ?`, code); err != nil || n != 1 {
			t.Fatalf("%s: %d rows (%v), want 1", code, n, err)
		}
	}
	runs := 0
	err := e.WriteTx(ctx, func(tx storage.Tx) error {
		runs++
		_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced conflict' USING ERRCODE = '40001'; END $$`)
		return err
	})
	if !errors.Is(err, storage.ErrConflict) || runs != 4 {
		t.Fatalf("endless conflict: err = %v after %d runs, want ErrConflict after 4", err, runs)
	}
	// A constraint violation is the caller's to handle, not retried.
	runs = 0
	err = e.WriteTx(ctx, func(tx storage.Tx) error {
		runs++
		_, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES ('40001', 'dup', 'RUNNING', 1)`)
		return err
	})
	if !e.IsConstraint(err) || runs != 1 {
		t.Fatalf("duplicate id: err = %v after %d runs, want a constraint error after 1", err, runs)
	}
}

// TestWriteTxDeadlockRetried: a real deadlock with a session outside
// metatrack. The session holds row 1 and waits for row 2, which the
// transaction holds; the transaction then asks for row 1 and, with the
// shorter deadlock_timeout, is the one the server aborts (40P01). Its
// second run waits for the session to finish, and commits.
func TestWriteTxDeadlockRetried(t *testing.T) {
	u := testURL(t)
	e := mustOpen(t, u, postgres.Options{})
	db := admin(t, u)
	mustExec(t, db, `CREATE SCHEMA scratch`)
	mustExec(t, db, `CREATE TABLE scratch.rows (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(t, db, `INSERT INTO scratch.rows VALUES (1, 0), (2, 0)`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var otherPID int
	if err := other.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&otherPID); err != nil {
		t.Fatal(err)
	}
	mustConn := func(q string) {
		if _, err := other.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustConn(`BEGIN`)
	mustConn(`SET LOCAL deadlock_timeout = '10min'`)
	mustConn(`UPDATE scratch.rows SET v = v + 1 WHERE id = 1`)

	holds2, otherWaits := make(chan struct{}), make(chan struct{})
	// A failure below must not leave the transaction waiting for ever
	// (Close, at cleanup, waits for it).
	var closeOnce sync.Once
	releaseTx := func() { closeOnce.Do(func() { close(otherWaits) }) }
	defer releaseTx()
	otherDone := make(chan error, 1)
	runs := 0
	txDone := make(chan error, 1)
	go func() {
		txDone <- e.WriteTx(ctx, func(tx storage.Tx) error {
			runs++
			if _, err := tx.Exec(ctx, `UPDATE scratch.rows SET v = v + 10 WHERE id = 2`); err != nil {
				return err
			}
			if runs == 1 {
				close(holds2)
				<-otherWaits
				if _, err := tx.Exec(ctx, `SET LOCAL deadlock_timeout = '10ms'`); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `UPDATE scratch.rows SET v = v + 10 WHERE id = 1`)
			return err
		})
	}()
	<-holds2
	go func() {
		_, err := other.ExecContext(ctx, `UPDATE scratch.rows SET v = v + 1 WHERE id = 2`)
		otherDone <- err
	}()
	// Wait until the session waits for the transaction's row lock.
	for {
		var waiting bool
		// wait_event_type is NULL while the session runs: not waiting.
		if err := db.QueryRowContext(ctx, `SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, otherPID).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the session never waited for the row lock")
		case <-time.After(5 * time.Millisecond):
		}
	}
	releaseTx()
	if err := <-otherDone; err != nil {
		t.Fatalf("the session was aborted instead: %v", err)
	}
	mustConn(`COMMIT`)
	if err := <-txDone; err != nil {
		t.Fatalf("WriteTx: %v", err)
	}
	if runs != 2 {
		t.Errorf("fn ran %d times, want 2 (one deadlock, one commit)", runs)
	}
	var v1, v2 int
	if err := db.QueryRow(`SELECT (SELECT v FROM scratch.rows WHERE id = 1), (SELECT v FROM scratch.rows WHERE id = 2)`).Scan(&v1, &v2); err != nil {
		t.Fatal(err)
	}
	if v1 != 11 || v2 != 11 {
		t.Errorf("rows = %d, %d; want 11, 11 (each change once)", v1, v2)
	}
}

// TestReconnect: the server ends every connection of the store (as a
// restart does): a read and a write after it succeed on new connections,
// and a write in flight runs again and commits once.
func TestReconnect(t *testing.T) {
	u := testURL(t)
	e := mustOpen(t, u, postgres.Options{})
	db := admin(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Fill the pool.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.ReadTx(ctx, func(tx storage.Tx) error {
				var x int
				return tx.Get(ctx, &x, `SELECT 1 FROM pg_sleep(0.05)`)
			})
		}()
	}
	wg.Wait()
	kill := func() int {
		var n int
		err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'metatrack' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := kill(); n == 0 {
		t.Fatal("no connection of the store to end")
	}
	var x int
	if err := e.Reader().Get(ctx, &x, `SELECT 1`); err != nil {
		t.Fatalf("read after the connections ended: %v", err)
	}
	kill()
	if err := e.ReadTx(ctx, func(tx storage.Tx) error { return tx.Get(ctx, &x, `SELECT 1`) }); err != nil {
		t.Fatalf("ReadTx after the connections ended: %v", err)
	}
	kill()
	runs := 0
	err := e.WriteTx(ctx, func(tx storage.Tx) error {
		runs++
		if _, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES ('w', 'w', 'RUNNING', 1)`); err != nil {
			return err
		}
		if runs == 1 {
			kill() // this transaction's connection too
			return tx.Get(ctx, &x, `SELECT 1`)
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("write across a lost connection: err = %v after %d runs, want nil after 2", err, runs)
	}
	if err := e.Reader().Get(ctx, &x, `SELECT count(*) FROM runs WHERE id = 'w'`); err != nil || x != 1 {
		t.Fatalf("%d rows (%v), want 1", x, err)
	}
}

func TestClassify(t *testing.T) {
	u := testURL(t)
	e := mustOpen(t, u, postgres.Options{})
	ctx := context.Background()
	for _, c := range []struct {
		code string
		want error
	}{
		{"25006", storage.ErrReadOnly},
		{"53100", storage.ErrDiskFull},
		{"XX001", storage.ErrCorrupt},
		{"XX002", storage.ErrCorrupt},
		{"40001", storage.ErrConflict},
	} {
		_, err := e.DB().ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '`+c.code+`'; END $$`)
		if postgres.Code(err) != c.code {
			t.Fatalf("%s: Code = %q", c.code, postgres.Code(err))
		}
		if got := e.Classify(err); !errors.Is(got, c.want) || postgres.Code(got) != c.code {
			t.Errorf("%s: Classify = %v, want %v with the code kept", c.code, got, c.want)
		}
	}
	_, err := e.DB().ExecContext(ctx, `INSERT INTO runs (id, name, status) VALUES ('x', 'x', 'RUNNING')`)
	if !e.IsConstraint(err) {
		t.Errorf("not null: IsConstraint(%v) = false", err)
	}
	if err := e.Classify(sql.ErrNoRows); err != sql.ErrNoRows {
		t.Errorf("Classify(ErrNoRows) = %v", err)
	}
}

var writesPerProcess = flag.Int("pg.writes", 250, "transactions per process in TestWritersAcrossProcesses (the issue's figure: 5000)")

// childWrite is run by TestWritersAcrossProcesses in copies of the test
// binary.
func childWrite(u string) error {
	var b [1]byte
	os.Stdin.Read(b[:])
	e, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		return fmt.Errorf("Open: %v", err)
	}
	defer e.Close()
	ctx := context.Background()
	for i := 0; i < *writesPerProcess; i++ {
		err := e.WriteTx(ctx, func(tx storage.Tx) error {
			var next int64
			if err := tx.Get(ctx, &next, `SELECT coalesce(max(n), 0) + 1 FROM scratch.chain`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO scratch.chain (n, pid) VALUES (?, ?)`, next, os.Getpid())
			return err
		})
		if err != nil {
			return fmt.Errorf("write %d: %v", i, err)
		}
	}
	return nil
}

// TestWritersAcrossProcesses: 8 processes number one chain (read the
// highest number, write the next) at once; every transaction commits, and
// the numbers are unique and gap-free.
func TestWritersAcrossProcesses(t *testing.T) {
	u := testURL(t)
	mustOpen(t, u, postgres.Options{}).Close()
	db := admin(t, u)
	mustExec(t, db, `CREATE SCHEMA scratch`)
	mustExec(t, db, `CREATE TABLE scratch.chain (n bigint NOT NULL, pid int NOT NULL)`)
	const n = 8
	cmds := make([]*exec.Cmd, n)
	outs := make([]strings.Builder, n)
	var gates []io.Closer
	for i := range cmds {
		c := exec.Command(os.Args[0], fmt.Sprintf("-pg.writes=%d", *writesPerProcess))
		c.Env = append(os.Environ(), "PGENGINE_CHILD_WRITE="+u)
		c.Stdout, c.Stderr = &outs[i], &outs[i]
		w, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, w)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = c
	}
	for _, g := range gates {
		g.Close()
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i].String())
		}
	}
	var count, distinct, top, pids int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT n), coalesce(max(n), 0), count(DISTINCT pid) FROM scratch.chain`).Scan(&count, &distinct, &top, &pids); err != nil {
		t.Fatal(err)
	}
	want := int64(n * *writesPerProcess)
	if count != want || distinct != want || top != want || pids != n {
		t.Errorf("%d rows, %d distinct, highest %d, from %d processes; want %d rows numbered 1..%d from %d", count, distinct, top, pids, want, want, n)
	}
}

// TestRestartImmediate: PostgreSQL restarts (pg_ctl restart -m immediate)
// while a write is in flight. The write either commits (run again on a new
// connection once the server is back) or fails with ErrUnavailable naming
// the store; the next calls reconnect; every acknowledged write is there.
func TestRestartImmediate(t *testing.T) {
	u := testURL(t)
	e := mustOpen(t, withParams(t, u, "password", "s3cret"), postgres.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	insert := func(id string) error {
		return e.WriteTx(ctx, func(tx storage.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES (?, 'r', 'RUNNING', 1)`, id)
			return err
		})
	}
	var acked []string
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("before-%d", i)
		if err := insert(id); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, id)
	}
	started := make(chan struct{})
	var once sync.Once
	inflight := make(chan error, 1)
	go func() {
		inflight <- e.WriteTx(ctx, func(tx storage.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO runs (id, name, status, started_at) VALUES ('inflight', 'r', 'RUNNING', 1)`); err != nil {
				return err
			}
			once.Do(func() { close(started) })
			var x int
			return tx.Get(ctx, &x, `SELECT 1 FROM pg_sleep(2)`)
		})
	}()
	<-started
	pgtest.Restart(t, pgtest.Immediate)
	err := <-inflight
	t.Logf("in-flight write: %v", err)
	switch {
	case err == nil:
		acked = append(acked, "inflight")
	case errors.Is(err, postgres.ErrUnavailable):
		if !strings.Contains(err.Error(), e.Location()) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("in-flight error %q does not name the store without its password", err)
		}
	default:
		t.Fatalf("in-flight write: %v, want success or ErrUnavailable", err)
	}
	// The next calls reconnect.
	var ids []string
	if err := e.Reader().Select(ctx, &ids, `SELECT id FROM runs ORDER BY id`); err != nil {
		t.Fatalf("first read after the restart: %v", err)
	}
	if err := insert("after"); err != nil {
		t.Fatalf("first write after the restart: %v", err)
	}
	acked = append(acked, "after")
	ids = nil
	if err := e.Reader().Select(ctx, &ids, `SELECT id FROM runs ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, id := range ids {
		have[id]++
	}
	for _, id := range acked {
		if have[id] != 1 {
			t.Errorf("acknowledged write %s is there %d times", id, have[id])
		}
	}
	if len(ids) != len(acked) {
		t.Errorf("rows %v, acknowledged %v", ids, acked)
	}
}

// TestRootOpen: metatrack.Open hands postgres:// and postgresql:// URLs to
// this engine once the package is linked in.
func TestRootOpen(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	for _, raw := range []string{
		"postgres://alice:s3cret@127.0.0.1:1/db?bogus=1",
		"postgresql://alice:s3cret@127.0.0.1:1/db?bogus=1",
	} {
		_, err := metatrack.Open(ctx, raw)
		if !errors.Is(err, metatrack.ErrInvalidArgument) || !strings.Contains(err.Error(), "unknown parameter bogus") {
			t.Errorf("Open(%s): %v, want this engine's ErrInvalidArgument", raw, err)
		}
	}
	p, _ := url.Parse(u)
	p.User = url.UserPassword("mt_nobody", "s3cret")
	if _, err := metatrack.Open(ctx, p.String()); !errors.Is(err, postgres.ErrLoginRefused) || !errors.Is(err, metatrack.ErrLoginRefused) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open as an unknown role: %v, want ErrLoginRefused without the password", err)
	}
}

// TestSessionSettings: the engine's sessions run without JIT, which
// compiled a search's page of 1,000 rows for 20 times as long as it ran,
// and price a random page as the cached one it is (random_page_cost 1.1),
// in reads outside and inside transactions.
func TestSessionSettings(t *testing.T) {
	ctx := context.Background()
	e := mustOpen(t, testURL(t), postgres.Options{})
	for _, want := range []struct{ name, value string }{{"jit", "off"}, {"random_page_cost", "1.1"}} {
		var got string
		if err := e.Reader().Get(ctx, &got, `SHOW `+want.name); err != nil || got != want.value {
			t.Errorf("%s is %q (%v), want %s", want.name, got, err, want.value)
		}
		err := e.ReadTx(ctx, func(tx storage.Tx) error { return tx.Get(ctx, &got, `SHOW `+want.name) })
		if err != nil || got != want.value {
			t.Errorf("in a read transaction %s is %q (%v), want %s", want.name, got, err, want.value)
		}
	}
}

// TestPreparedKeepsPlan: a generated statement run through Prepared is a
// statement PostgreSQL keeps on the session, on its generic plan once it
// has planned it for its arguments five times, while one run through
// Planned is planned for its arguments every time and never kept.
func TestPreparedKeepsPlan(t *testing.T) {
	ctx := context.Background()
	e := mustOpen(t, testURL(t), postgres.Options{})
	const prepared = `SELECT count(*) FROM resources WHERE seq > ? AND type = 'prepared'`
	const planned = `SELECT count(*) FROM resources WHERE seq > ? AND type = 'planned'`
	err := e.ReadTx(ctx, func(tx storage.Tx) error {
		for i := range 8 {
			for _, run := range []struct {
				query func(context.Context, string, ...any) (*sql.Rows, error)
				text  string
			}{{tx.Prepared, prepared}, {tx.Planned, planned}} {
				rows, err := run.query(ctx, run.text, i)
				if err != nil {
					return err
				}
				if err := rows.Close(); err != nil {
					return err
				}
			}
		}
		var kept []struct {
			Statement string `db:"statement"`
			Generic   int64  `db:"generic_plans"`
			Custom    int64  `db:"custom_plans"`
		}
		if err := tx.Select(ctx, &kept, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%type = ''p%'`); err != nil {
			return err
		}
		if len(kept) != 1 || !strings.Contains(kept[0].Statement, "'prepared'") || kept[0].Generic < 1 || kept[0].Custom+kept[0].Generic != 8 {
			t.Errorf("kept statements %+v, want the prepared one alone, on its generic plan after 5 custom ones", kept)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
