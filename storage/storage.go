// Package storage is the seam between metatrack's domain logic and a
// database engine. The root package writes the rules (what a version chain,
// a deployment, the change log or a lineage walk means) once, against the
// interfaces here; each engine is one package below this one with its own
// statements, migrations (under schema/) and error codes:
//
//   - storage/sqlite: one cgo-free SQLite file, the embedded default;
//   - storage/postgres: a PostgreSQL server, through pgx.
//
// Two parts of the domain are written once on this seam rather than in the
// root, because the engines' maintenance (GC, Verify) calls them too: the
// collection of artifact bytes no record refers to (CollectBlobs), and the
// metric series store (storage/metricstore: tails sealed into blocks,
// ranges and downsampling, their compaction and their verification).
//
// An engine runs statements through database/sql (sqlx on top), so the
// domain scans rows the same way on every engine; what differs is the text
// of the statements (Statements), how transactions are begun, retried and
// isolated (Engine.WriteTx, Engine.ReadTx), and how the engine's errors map
// to the sentinel errors of this package (Engine.Classify).
package storage

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/query"
)

// Queryer runs statement texts built at call time: sqlx's context methods.
// Placeholders are written as ? in the engine's own statements; each engine
// binds them the way its driver expects.
type Queryer interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

// Tx runs statements inside one transaction: a write transaction, a read
// snapshot, or, for Engine.Reader, a read of one statement outside any
// transaction.
type Tx interface {
	Queryer

	// Get runs a fixed statement (a text from Statements) that returns one
	// row into dest; sql.ErrNoRows when there is none. Fixed statements are
	// prepared once per engine and reused.
	Get(ctx context.Context, dest any, query string, args ...any) error
	// Select runs a fixed statement that returns rows into the slice dest.
	Select(ctx context.Context, dest any, query string, args ...any) error
	// Exec runs a fixed statement that writes. Outside a write transaction
	// it fails with ErrReadOnly.
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	// Query runs a fixed statement and returns its rows.
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	// Planned runs a generated statement (a compiled search, a lineage
	// walk): the engine keeps a bounded cache of their plans.
	Planned(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	// Prepared runs a generated statement whose best plan does not turn on
	// the values of its arguments (see query.PreparingQuerier): the engine
	// may plan it once and keep the plan, in a bounded cache, for calls
	// with other arguments.
	Prepared(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	// Writable reports whether the Tx is a write transaction.
	Writable() bool
}

// Engine is one open store on one database engine.
type Engine interface {
	// Name is the engine's name: "sqlite" or "postgres".
	Name() string
	// Location is where the store lives, for messages and links: a file
	// path, or a URL without its password.
	Location() string
	// ReadOnly reports whether the store was opened without write access.
	ReadOnly() bool
	// SQL returns the texts of the fixed statements, in the engine's
	// dialect.
	SQL() *Statements
	// Dialect is the SQL the query language compiles to on this engine.
	Dialect() query.Dialect

	// WriteTx runs fn in a write transaction and commits it when fn
	// returns nil; otherwise it rolls back. Transactions are serializable:
	// when the engine reports a conflict with another writer (SQLite busy,
	// a PostgreSQL serialization failure or deadlock) WriteTx runs fn again,
	// a bounded number of times, so fn must be safe to re-run and must not
	// keep tx. Errors are classified (Classify).
	WriteTx(ctx context.Context, fn func(tx Tx) error) error
	// ReadTx runs fn on one consistent read snapshot. Writers are never
	// blocked by it.
	ReadTx(ctx context.Context, fn func(tx Tx) error) error
	// Reader returns a Tx for reads of one statement outside a
	// transaction: they pay for no BEGIN and COMMIT.
	Reader() Tx

	// Classify wraps err with the sentinel error (ErrCorrupt, ErrDiskFull,
	// ErrReadOnly, ErrConflict, ...) that matches the engine's error code,
	// keeping the driver's error in the chain. It reads codes, never text.
	Classify(err error) error
	// IsConstraint reports whether err is a violated constraint (unique,
	// check, foreign key, not null).
	IsConstraint(err error) bool

	// Close waits for running transactions, releases the engine's
	// connections and reports a failure to leave the store clean.
	Close() error
}

// ScanChecker is implemented by an engine that can tell its driver's errors
// from the errors of converting a row's values: Scanned wraps the latter
// with ErrCorrupt (a stored value that does not convert is a damaged
// store) and returns every other error as it is. The domain applies it to
// the statements it builds at call time; an engine's Tx.Get and Tx.Select
// apply it themselves.
type ScanChecker interface {
	Scanned(err error) error
}

// SelectText runs a statement built at call time (a filter compiled by the
// query language, say) on q as text, neither prepared nor cached, and
// scans its rows into the slice dest, as Tx.Select does.
func SelectText(ctx context.Context, q Queryer, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q, dest, query, args...)
}
