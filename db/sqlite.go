// Package db opens and manages metatrack's SQLite database file through the
// cgo-free modernc.org/sqlite driver: the connection pools and their pragmas,
// schema migration under a cross-process lock, write transactions that wait
// for other writers instead of failing, backups and a clean close.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/metatrack/metatrack/schema"
)

// Synchronous levels for Options.Synchronous.
const (
	// SyncNormal: in WAL mode nothing a committed transaction wrote is lost
	// when the process dies; the newest commits may be lost on power loss or
	// an operating-system crash. The default.
	SyncNormal = "NORMAL"
	// SyncFull: every commit is flushed to stable storage before it returns.
	SyncFull = "FULL"
)

// Options configure Open.
type Options struct {
	// Synchronous is SyncNormal (default) or SyncFull.
	Synchronous string
	// BusyTimeout is how long one statement waits for another connection's
	// lock before SQLite reports busy; write transactions then retry until
	// their context ends. Default 5s.
	BusyTimeout time.Duration
	// ReadOnly opens the file without write access: no migration, no
	// journal-mode change; every write fails with ErrReadOnly.
	ReadOnly bool
	// MaxReaders bounds the reader pool. Default max(4, 2*GOMAXPROCS).
	MaxReaders int
}

// DB is an open metatrack database: one writer connection, held for the
// life of the DB so that writes from this process queue in Go and reuse
// prepared statements, and a pool of readers that WAL lets run beside it.
type DB struct {
	Path     string
	Writer   *sqlx.DB
	Reader   *sqlx.DB
	ReadOnly bool

	// writeSlot holds the writer connection while no write transaction
	// runs; taking it from the channel is taking the in-process write lock.
	writeSlot chan *sqlx.Conn
	wconn     *sqlx.Conn

	mu     sync.Mutex
	stmts  map[stmtKey]*sqlx.Stmt
	closed bool
}

type stmtKey struct {
	writer bool
	query  string
}

// DSN returns the modernc.org/sqlite data source name for path with every
// pragma metatrack needs, so that each pooled connection is configured the
// same way when the pool opens it.
func DSN(path string, o Options, readOnly bool) string {
	o = o.withDefaults()
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", o.Synchronous)
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		// Keep the WAL from growing without bound after a large write.
		q.Add("_pragma", "journal_size_limit(67108864)")
	}
	return "file:" + escapePath(path) + "?" + q.Encode()
}

// escapePath escapes the characters that SQLite's URI parser gives meaning to.
func escapePath(p string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(filepath.ToSlash(p))
}

func (o Options) withDefaults() Options {
	if o.Synchronous == "" {
		o.Synchronous = SyncNormal
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxReaders <= 0 {
		o.MaxReaders = max(4, 2*runtime.GOMAXPROCS(0))
	}
	return o
}

// Open opens (creating if needed) the database file at path and brings its
// schema to the latest version. Several processes may call Open on the same
// new file at once: schema creation runs under an exclusive lock on the file
// (flock, which does not interact with SQLite's own locks), and the loser
// finds the work done. A file whose schema is newer than this library is
// refused with ErrSchemaTooNew before anything is written to it; a file that
// is not a SQLite database, or is one of another application, is refused with
// ErrNotDatabase.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	o = o.withDefaults()
	switch strings.ToUpper(o.Synchronous) {
	case SyncNormal, SyncFull:
	default:
		return nil, fmt.Errorf("db: synchronous must be NORMAL or FULL, not %q", o.Synchronous)
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("db: a file path is required")
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return nil, fmt.Errorf("db: %s is a directory", path)
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if o.ReadOnly {
			return nil, fmt.Errorf("db: %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("db: %w", err)
	}
	latest, err := schema.Latest(schema.SQLite())
	if err != nil {
		return nil, err
	}
	if !o.ReadOnly && err == nil && info != nil && !writable(path) {
		o.ReadOnly = true
	}

	// Look before touching: the read-only probe writes nothing, so a file we
	// refuse is left byte-for-byte as it was.
	if info != nil && info.Size() > 0 {
		st, err := probe(ctx, path, o)
		if err != nil {
			return nil, err
		}
		if st.Foreign {
			return nil, fmt.Errorf("db: %s: %w: it is a SQLite database of another application", path, ErrNotDatabase)
		}
		if st.Version > latest {
			return nil, fmt.Errorf("db: %s has schema version %d, this library knows up to %d: %w", path, st.Version, latest, ErrSchemaTooNew)
		}
		if o.ReadOnly && (st.Version < latest || st.Dirty || st.Empty) {
			return nil, fmt.Errorf("db: %s has schema version %d (latest %d) and cannot be upgraded read-only: %w", path, st.Version, latest, ErrReadOnly)
		}
	}

	d := &DB{Path: path, ReadOnly: o.ReadOnly, stmts: map[stmtKey]*sqlx.Stmt{}}
	if !o.ReadOnly {
		if err := d.openWriter(ctx, path, o, latest); err != nil {
			return nil, err
		}
	}
	reader, err := sqlx.Open("sqlite", DSN(path, o, o.ReadOnly))
	if err != nil {
		d.Close()
		return nil, err
	}
	reader.SetMaxOpenConns(o.MaxReaders)
	reader.SetMaxIdleConns(o.MaxReaders)
	reader.SetConnMaxIdleTime(time.Minute)
	d.Reader = reader
	if err := retry(ctx, func() error { return reader.PingContext(ctx) }); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: open %s: %w", path, Classify(err))
	}
	if o.ReadOnly {
		// The writer is the reader: every write through it fails with
		// SQLITE_READONLY, which Classify turns into ErrReadOnly.
		d.Writer = reader
	}
	return d, nil
}

func (d *DB) openWriter(ctx context.Context, path string, o Options, latest uint) error {
	unlock, err := lockFile(ctx, path)
	if err != nil {
		return fmt.Errorf("db: lock %s: %w", path, err)
	}
	defer unlock()
	// Under the lock every earlier opener has finished creating the schema,
	// so an empty file here was not made by metatrack: it may be a database
	// truncated to nothing, and starting afresh in it would hide the loss.
	if info, err := os.Stat(path); err == nil && info.Size() == 0 {
		return fmt.Errorf("db: %s: %w: the file is empty (delete it to start a new database)", path, ErrNotDatabase)
	}
	w, err := sqlx.Open("sqlite", DSN(path, o, false))
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	d.Writer = w
	if err := retry(ctx, func() error { return w.PingContext(ctx) }); err != nil {
		w.Close()
		return fmt.Errorf("db: open %s: %w", path, Classify(err))
	}
	st, err := schema.Inspect(ctx, w)
	if err != nil {
		w.Close()
		return fmt.Errorf("db: open %s: %w", path, Classify(err))
	}
	if st.Foreign {
		w.Close()
		return fmt.Errorf("db: %s: %w: it is a SQLite database of another application", path, ErrNotDatabase)
	}
	if st.Version > latest {
		w.Close()
		return fmt.Errorf("db: %s has schema version %d, this library knows up to %d: %w", path, st.Version, latest, ErrSchemaTooNew)
	}
	if st.Version < latest || st.Dirty {
		if err := retry(ctx, func() error { return schema.Migrate(ctx, w.DB, schema.SQLite()) }); err != nil {
			w.Close()
			return fmt.Errorf("db: migrate %s: %w", path, Classify(err))
		}
	}
	c, err := w.Connx(ctx)
	if err != nil {
		w.Close()
		return Classify(err)
	}
	d.wconn = c
	d.writeSlot = make(chan *sqlx.Conn, 1)
	d.writeSlot <- c
	return nil
}

// probe inspects the file without changing any byte of it. Without a
// write-ahead log beside it the file is opened immutable, which creates no
// -shm file and takes no lock; with one, read-only.
func probe(ctx context.Context, path string, o Options) (schema.State, error) {
	dsn := DSN(path, o, true)
	if info, err := os.Stat(path + "-wal"); err != nil || info.Size() == 0 {
		dsn += "&immutable=1"
	}
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return schema.State{}, err
	}
	defer conn.Close()
	var st schema.State
	err = retry(ctx, func() error {
		var err error
		st, err = schema.Inspect(ctx, conn)
		return err
	})
	if err != nil {
		err = Classify(err)
		if errors.Is(err, ErrNotDatabase) || errors.Is(err, ErrCorrupt) {
			return st, fmt.Errorf("db: %s: %w", path, err)
		}
		// A WAL file may need its -shm created by a writer first; the
		// writable open below inspects again.
		if !o.ReadOnly {
			return schema.State{}, nil
		}
		return st, fmt.Errorf("db: %s: %w", path, err)
	}
	return st, nil
}

// retry runs fn until it returns an error other than busy, or ctx ends.
func retry(ctx context.Context, fn func() error) error {
	delay := time.Millisecond
	for {
		err := fn()
		if err == nil || !IsBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Tx is a write transaction on the writer connection. Its methods run
// statements inside the transaction.
type Tx struct {
	*sqlx.Conn
	d *DB
}

// Stmt returns the cached prepared statement for query on the writer
// connection; it runs inside the transaction.
func (tx *Tx) Stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	return tx.d.Stmt(ctx, true, query)
}

// WriteTx runs fn in a write transaction (BEGIN IMMEDIATE) on the writer
// connection and commits it when fn returns nil; otherwise, or when the
// commit fails, it rolls back. If another process holds the write lock past
// the busy timeout, WriteTx tries again until ctx ends: "database is locked"
// never reaches the caller while ctx lasts. fn must not keep tx.
func (d *DB) WriteTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if d.ReadOnly {
		return fmt.Errorf("db: %s: %w", d.Path, ErrReadOnly)
	}
	var c *sqlx.Conn
	select {
	case c = <-d.writeSlot:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { d.writeSlot <- c }()
	if c == nil {
		return sql.ErrConnDone
	}
	err = retry(ctx, func() error {
		_, err := c.ExecContext(ctx, "BEGIN IMMEDIATE")
		return err
	})
	if err != nil {
		return Classify(err)
	}
	defer func() {
		if err != nil {
			// A cancelled ctx must not keep the rollback from running.
			c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err = fn(&Tx{Conn: c, d: d}); err != nil {
		return Classify(err)
	}
	err = retry(context.WithoutCancel(ctx), func() error {
		_, err := c.ExecContext(context.WithoutCancel(ctx), "COMMIT")
		return err
	})
	return Classify(err)
}

// ReadTx runs fn in a read transaction on a reader connection, so that its
// queries see one consistent snapshot. Writers are never blocked by it.
func (d *DB) ReadTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := d.Reader.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Classify(err)
	}
	defer tx.Rollback()
	return Classify(fn(tx))
}

// Stmt returns a prepared statement for query on the writer connection
// (writer true; use it only inside WriteTx) or on the reader pool, prepared
// once and cached for the life of d. Reader statements must not be used
// inside a ReadTx.
func (d *DB) Stmt(ctx context.Context, writer bool, query string) (*sqlx.Stmt, error) {
	k := stmtKey{writer, query}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, sql.ErrConnDone
	}
	if s, ok := d.stmts[k]; ok {
		return s, nil
	}
	var s *sqlx.Stmt
	var err error
	if writer {
		s, err = d.wconn.PreparexContext(ctx, query)
	} else {
		s, err = d.Reader.PreparexContext(ctx, query)
	}
	if err != nil {
		return nil, Classify(err)
	}
	d.stmts[k] = s
	return s, nil
}

// Backup writes a consistent copy of the live database to dst (which must
// not exist) with VACUUM INTO. Writers go on while it runs; the copy holds
// every transaction committed before it began.
func (d *DB) Backup(ctx context.Context, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("db: backup: %s exists", dst)
	}
	_, err := d.Reader.ExecContext(ctx, `VACUUM INTO ?`, dst)
	return Classify(err)
}

// Close checkpoints the WAL into the database file and closes every
// connection, so that the file alone holds everything: it can be copied to
// another machine without its -wal and -shm companions.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	var wconn *sqlx.Conn
	if d.writeSlot != nil {
		// Wait for a running write transaction to finish; later ones find
		// no connection.
		wconn = <-d.writeSlot
		d.writeSlot <- nil
	}
	d.mu.Lock()
	for _, s := range d.stmts {
		s.Close()
	}
	d.stmts = nil
	d.mu.Unlock()
	var errs []error
	if wconn != nil {
		errs = append(errs, wconn.Close())
	}
	if d.Reader != nil && d.Reader != d.Writer {
		errs = append(errs, d.Reader.Close())
	}
	if d.Writer != nil {
		if !d.ReadOnly {
			// Best effort: another process may still be reading; the last
			// connection to close then checkpoints and removes the WAL.
			d.Writer.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		}
		errs = append(errs, d.Writer.Close())
	}
	return errors.Join(errs...)
}
