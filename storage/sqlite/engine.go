package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage"
)

// DB is a storage.Engine; its transactions are storage.Tx.
var (
	_ storage.Engine = (*DB)(nil)
	_ storage.Tx     = (*Tx)(nil)
	_ storage.Tx     = (*snapTx)(nil)
	_ storage.Tx     = readTx{}
	_ storage.Tx     = reader{}
)

// Name is "sqlite".
func (d *DB) Name() string { return "sqlite" }

// Location is the database file's path.
func (d *DB) Location() string { return d.Path }

// ReadOnly reports whether the file was opened without write access (asked
// for, or because the process cannot write it).
func (d *DB) ReadOnly() bool { return d.readOnly }

// SQL returns the SQLite texts of the fixed statements.
func (d *DB) SQL() *storage.Statements { return &statements }

// Dialect is the query language's SQLite dialect.
func (d *DB) Dialect() query.Dialect { return Dialect{} }

// Classify is the package's Classify.
func (d *DB) Classify(err error) error { return Classify(err) }

// IsConstraint is the package's IsConstraint.
func (d *DB) IsConstraint(err error) bool { return IsConstraint(err) }

// Scanned marks an error of reading rows that is not SQLite's, not "no
// rows" and not the context's or the pool's as ErrCorrupt: database/sql
// failed to convert a stored value (a NULL, or text in a number column,
// where the schema allows neither), which only a damaged file produces.
// Get and Select of the engine's Tx apply it; see storage.ScanChecker.
func (d *DB) Scanned(err error) error { return scanned(err) }

func scanned(err error) error {
	switch {
	case err == nil, errors.Is(err, sql.ErrNoRows), Code(err) != 0,
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, sql.ErrTxDone), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, storage.ErrCorrupt):
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
}

// errWriteOutside is the error of Exec outside a write transaction.
var errWriteOutside = fmt.Errorf("%w: write outside a write transaction", storage.ErrReadOnly)

// WriteTx runs fn in a write transaction (BEGIN IMMEDIATE) on the writer
// connection; see WriteConn. SQLite takes the write lock at BEGIN, so fn
// runs once: a writer of another process is waited for, never met
// halfway.
func (d *DB) WriteTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	return d.WriteConn(ctx, func(tx *Tx) error { return fn(tx) })
}

// Reader returns the Tx of one-statement reads on the reader pool, outside
// any transaction.
func (d *DB) Reader() storage.Tx { return reader{d} }

// Get runs the writer's cached prepared statement of query.
func (tx *Tx) Get(ctx context.Context, dest any, query string, args ...any) error {
	s, err := tx.Stmt(ctx, query)
	if err != nil {
		return err
	}
	return scanned(s.GetContext(ctx, dest, args...))
}

// Select runs the writer's cached prepared statement of query.
func (tx *Tx) Select(ctx context.Context, dest any, query string, args ...any) error {
	s, err := tx.Stmt(ctx, query)
	if err != nil {
		return err
	}
	return scanned(s.SelectContext(ctx, dest, args...))
}

// Exec runs the writer's cached prepared statement of query.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// Query runs the writer's cached prepared statement of query.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// Planned runs a generated statement as text: the writer's statement
// cache is for fixed texts only.
func (tx *Tx) Planned(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(ctx, query, args...)
}

// Prepared runs as Planned does: SQLite plans a statement without
// looking at the values bound to it.
func (tx *Tx) Prepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Planned(ctx, query, args...)
}

// Writable is true.
func (tx *Tx) Writable() bool { return true }

// readTx is the storage.Tx of a ReadSnapshot (Verify reads through one);
// ReadTx has its own (snapTx). A fixed statement runs as the reader pool's
// prepared statement once it is prepared, else as text; see
// CachedReaderStmt, which prepares it in the background so that the
// snapshot, which holds a pooled connection, never waits for another one.
type readTx struct {
	tx *sqlx.Tx
	d  *DB
}

func (r readTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.tx.QueryContext(ctx, query, args...)
}

func (r readTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	return r.tx.QueryxContext(ctx, query, args...)
}

func (r readTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return r.tx.QueryRowxContext(ctx, query, args...)
}

func (r readTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errWriteOutside
}

func (r readTx) Get(ctx context.Context, dest any, query string, args ...any) error {
	if s := r.d.CachedReaderStmt(query); s != nil {
		return scanned(r.tx.StmtxContext(ctx, s).GetContext(ctx, dest, args...))
	}
	return scanned(r.tx.GetContext(ctx, dest, query, args...))
}

func (r readTx) Select(ctx context.Context, dest any, query string, args ...any) error {
	if s := r.d.CachedReaderStmt(query); s != nil {
		return scanned(r.tx.StmtxContext(ctx, s).SelectContext(ctx, dest, args...))
	}
	return scanned(r.tx.SelectContext(ctx, dest, query, args...))
}

func (r readTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errWriteOutside
}

func (r readTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := r.d.CachedReaderStmt(query); s != nil {
		return r.tx.StmtxContext(ctx, s).QueryContext(ctx, args...)
	}
	return r.tx.QueryContext(ctx, query, args...)
}

func (r readTx) Planned(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, release := r.d.Plan(query)
	defer release()
	if s == nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.tx.StmtxContext(ctx, s).QueryContext(ctx, args...)
}

// Prepared runs as Planned does: SQLite plans a statement without
// looking at the values bound to it.
func (r readTx) Prepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.Planned(ctx, query, args...)
}

func (r readTx) Writable() bool { return false }

// CachedReaderStmt returns the cached reader statement for query, or nil
// when it is not prepared yet; then it prepares it in the background, so
// that a ReadTx, which holds a pooled connection, never waits for another
// one (a pool full of such waiters would deadlock). Use the result inside
// a ReadTx with tx.StmtxContext, which reuses its preparation on the
// transaction's connection.
func (d *DB) CachedReaderStmt(query string) *sqlx.Stmt {
	k := stmtKey{false, query}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.stmts[k]; ok || d.closed {
		return s
	}
	if d.preparing == nil {
		d.preparing = map[string]bool{}
	}
	if !d.preparing[query] {
		d.preparing[query] = true
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			d.Stmt(context.Background(), false, query)
			d.mu.Lock()
			delete(d.preparing, query)
			d.mu.Unlock()
		}()
	}
	return nil
}

// reader runs one statement at a time on the reader pool, outside any
// transaction: fixed statements as the pool's cached prepared statements.
type reader struct{ d *DB }

func (r reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.d.Readers.QueryContext(ctx, query, args...)
}

func (r reader) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	return r.d.Readers.QueryxContext(ctx, query, args...)
}

func (r reader) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return r.d.Readers.QueryRowxContext(ctx, query, args...)
}

func (r reader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errWriteOutside
}

func (r reader) Get(ctx context.Context, dest any, query string, args ...any) error {
	s, err := r.d.Stmt(ctx, false, query)
	if err != nil {
		return err
	}
	return scanned(s.GetContext(ctx, dest, args...))
}

func (r reader) Select(ctx context.Context, dest any, query string, args ...any) error {
	s, err := r.d.Stmt(ctx, false, query)
	if err != nil {
		return err
	}
	return scanned(s.SelectContext(ctx, dest, args...))
}

func (r reader) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errWriteOutside
}

func (r reader) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := r.d.Stmt(ctx, false, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (r reader) Planned(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, release := r.d.Plan(query)
	defer release()
	if s == nil {
		return r.d.Readers.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// Prepared runs as Planned does: SQLite plans a statement without
// looking at the values bound to it.
func (r reader) Prepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.Planned(ctx, query, args...)
}

func (r reader) Writable() bool { return false }

// The operations of a SQLite file that a database server lacks.
var (
	_ storage.Verifier     = (*DB)(nil)
	_ storage.Collector    = (*DB)(nil)
	_ storage.Vacuumer     = (*DB)(nil)
	_ storage.Backuper     = (*DB)(nil)
	_ storage.Checkpointer = (*DB)(nil)
	_ storage.SpaceChecker = (*DB)(nil)
	_ storage.Sizer        = (*DB)(nil)
	_ storage.ScanChecker  = (*DB)(nil)
)

// Verify is the package's Verify of d.
func (d *DB) Verify(ctx context.Context, progress func(done, total int64)) (storage.Report, error) {
	return Verify(ctx, d, progress)
}

// GC is the package's GC of d.
func (d *DB) GC(ctx context.Context, opts storage.GCOptions) (storage.GCStats, error) {
	return GC(ctx, d, opts)
}

// FreeSpace reports the bytes free on the file's disk.
func (d *DB) FreeSpace() (int64, bool) { return FreeSpace(d.Path) }

// Bytes is the size of the database file and its write-ahead log.
func (d *DB) Bytes(ctx context.Context) (int64, error) {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if info, err := os.Stat(d.Path + suffix); err == nil {
			n += info.Size()
		}
	}
	return n, nil
}
