// Package postgres is metatrack's PostgreSQL engine behind the storage
// seam: a store in one schema of a PostgreSQL database (schema=NAME in the
// URL, so that several stores share one server), reached through pgx's
// database/sql driver with sqlx on top, so the domain scans rows as it does
// on SQLite.
//
// Writes of one store are serialized: every write transaction runs in READ
// COMMITTED and first takes a transaction-level advisory lock that belongs
// to the store. That is what SQLite gives (one writer at a time), so the
// domain's rules hold unchanged: a chain's next version number is read and
// written by one transaction at a time, and so is every check before a
// write. Readers take one REPEATABLE READ READ ONLY snapshot and never wait
// for writers. Serialization failures and deadlocks (which can then only
// come from sessions outside metatrack) are retried a bounded number of
// times.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/storage"
)

// Options configure Open.
type Options struct {
	// ReadOnly opens the store without write access: no migration, and
	// every connection refuses writes (default_transaction_read_only), so
	// that every write fails with ErrReadOnly.
	ReadOnly bool
	// MaxConns bounds the connections this process opens (at least 2: a
	// writer and a reader). Default 10.
	MaxConns int
	// MaxAttempts bounds how often WriteTx runs its function when the
	// server reports a serialization failure or a deadlock. Default 10.
	MaxAttempts int
}

func (o Options) withDefaults() Options {
	if o.MaxConns < 2 {
		o.MaxConns = 10
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	return o
}

// Engine is one open store on a PostgreSQL server. It implements
// storage.Engine.
type Engine struct {
	db       *sqlx.DB
	loc      Location
	opts     Options
	lockKey  int64
	rebinds  rebindCache
	reader   *pgTx
	mu       sync.Mutex
	closed   bool
	running  sync.WaitGroup
	idleConn int
	// writeSlot is the in-process queue of writers (see WriteTx).
	writeSlot chan struct{}
}

var (
	_ storage.Engine      = (*Engine)(nil)
	_ storage.ScanChecker = (*Engine)(nil)
)

// init links the engine into metatrack.Open for the postgres:// and
// postgresql:// URLs: importing this package is what links it in.
func init() {
	for _, s := range Schemes {
		storage.Register(s, func(ctx context.Context, url string, o storage.OpenOptions) (storage.Engine, error) {
			e, err := Open(ctx, url, Options{ReadOnly: o.ReadOnly})
			if err != nil {
				return nil, err // not a nil *Engine in a non-nil interface
			}
			return e, nil
		})
	}
}

// SessionSettings returns the run-time parameters every session of the
// engine sets, over the server's defaults:
//
//   - jit off. JIT compiles a statement whose estimated cost passes
//     jit_above_cost, as a search's page of 1,000 rows does (each row's
//     parent reference is costed as a recursive walk, which it rarely
//     runs): on 10k resources, 40 ms of compiling for a statement that ran
//     in 2 ms. The store's statements are short.
//   - random_page_cost 1.1. A store's tables and indexes are small and read
//     over and over, so they sit in memory, where a random page costs about
//     what a sequential one does; PostgreSQL's default of 4 prices a
//     spinning disk. At 4, on 10k resources, the planner joined a search's
//     page of 101 rows to all of resources by a hash over a sequential scan
//     of 9,916 rows, where 101 primary-key probes cost a tenth as much, and
//     sorted every match of an ordered search rather than walk its index to
//     the end of the page (a second page: 3.3 ms against 0.7 ms). 1.1 is
//     the value commonly given for cached or SSD-backed data.
func SessionSettings() map[string]string {
	return map[string]string{
		"jit":              "off",
		"random_page_cost": "1.1",
	}
}

// Open opens the store at a postgres:// or postgresql:// URL (see
// ParseURL), creating its schema when missing and bringing it to the
// latest migration under an advisory lock, so that processes opening one
// new store at once never leave it half-migrated. It refuses a store whose
// schema is newer than this library (ErrSchemaTooNew), a schema holding
// tables that metatrack did not create (ErrUnexpectedSchema), and a server
// that refuses the login (ErrLoginRefused); no message holds the password.
func Open(ctx context.Context, rawURL string, o Options) (*Engine, error) {
	o = o.withDefaults()
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(loc.ConnString)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL URL %s: %s", rules.ErrInvalidArgument, loc.Redacted, parseCause(err))
	}
	cfg.RuntimeParams["search_path"] = quoteIdent(loc.Schema)
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "metatrack"
	}
	for k, v := range SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	if o.ReadOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	e := &Engine{loc: loc, opts: o, idleConn: max(2, o.MaxConns/2), writeSlot: make(chan struct{}, 1)}
	e.db = sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	e.db.SetMaxOpenConns(o.MaxConns)
	e.db.SetMaxIdleConns(e.idleConn)
	e.db.SetConnMaxIdleTime(5 * time.Minute)
	e.reader = &pgTx{e: e, q: e.db, reader: true}
	if err := e.db.PingContext(ctx); err != nil {
		e.db.Close()
		return nil, e.openError(ctx, err)
	}
	if err := e.prepare(ctx, cfg); err != nil {
		e.db.Close()
		return nil, e.openError(ctx, err)
	}
	return e, nil
}

// openError classifies an error of Open, and names the store in it.
func (e *Engine) openError(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = errors.Join(ctx.Err(), err)
	}
	return e.Classify(err)
}

// parseCause returns why pgx could not parse a connection string, without
// the connection string its error repeats.
func parseCause(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		msg := pe.Error()
		if _, rest, ok := strings.Cut(msg, "`: "); ok {
			return rest
		}
		if u := pe.Unwrap(); u != nil {
			return u.Error()
		}
		return "cannot parse"
	}
	return err.Error()
}

// lockKeyOf is the advisory lock of one store: a hash of the database and
// schema names. Writers hold it for a transaction, migrations for the
// session that runs them.
func lockKeyOf(database, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("metatrack\x00" + database + "\x00" + schema))
	return int64(h.Sum64())
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Name returns "postgres".
func (e *Engine) Name() string { return "postgres" }

// Location returns the store's URL without its password.
func (e *Engine) Location() string { return e.loc.Redacted }

// Schema returns the PostgreSQL schema that holds the store.
func (e *Engine) Schema() string { return e.loc.Schema }

// ReadOnly reports whether the store was opened read-only.
func (e *Engine) ReadOnly() bool { return e.opts.ReadOnly }

// Dialect is the query language's PostgreSQL dialect.
func (e *Engine) Dialect() query.Dialect { return Dialect{} }

// SQL returns the PostgreSQL texts of the fixed statements.
func (e *Engine) SQL() *storage.Statements { return &statements }

// DB returns the connection pool, for maintenance and tests; its
// connections have the store's schema as their search_path.
func (e *Engine) DB() *sqlx.DB { return e.db }

// Classify wraps err with the storage sentinel of its SQLSTATE (read-only,
// disk full, corrupt, conflict), or with ErrUnavailable (connection lost,
// server unreachable) or ErrLoginRefused, keeping the driver's error in
// the chain.
func (e *Engine) Classify(err error) error { return classify(err, e.loc.Redacted) }

// IsConstraint reports whether err is a violated constraint (SQLSTATE
// class 23).
func (e *Engine) IsConstraint(err error) bool { return IsConstraint(err) }

// Close waits for running transactions and closes the connections.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.running.Wait()
	return e.db.Close()
}

// errClosed is returned by calls on a closed engine.
var errClosed = errors.New("postgres: the store is closed")

// begin registers a running transaction; it fails once Close began.
func (e *Engine) begin() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	e.running.Add(1)
	return nil
}

// dropIdle closes the idle connections after one was found broken (the
// server restarted): they all are, and the next call should not meet them.
func (e *Engine) dropIdle() {
	e.db.SetMaxIdleConns(0)
	e.db.SetMaxIdleConns(e.idleConn)
}

// ctxErr returns the context's error when it ended, joined with err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return errors.Join(ctx.Err(), err)
	}
	return err
}
