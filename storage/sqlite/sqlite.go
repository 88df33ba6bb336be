// Package sqlite is the SQLite engine of the storage seam: it opens and
// manages metatrack's SQLite database file through the cgo-free
// modernc.org/sqlite driver: the connection pools and their pragmas,
// schema migration under a cross-process lock, write transactions that wait
// for other writers instead of failing, backups and a clean close.
package sqlite

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
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
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
	// journal-mode change; every write fails with storage.ErrReadOnly.
	ReadOnly bool
	// MaxReaders bounds the reader pool, and apart from it the connections
	// that read transactions hold (see ReadTx). Default
	// max(4, 2*GOMAXPROCS).
	MaxReaders int
	// WALLimit bounds the -wal file: a commit that leaves it above half
	// this size restarts the log from its start (a truncating checkpoint),
	// so that busy writers in several processes cannot grow it without
	// bound. Each background checkpoint copies the log into the file, but
	// the log is only reused from its start when a writer finds it fully
	// copied, which writers that follow each other closely never do. The
	// -wal then stays below max(WALLimit, about twice the largest
	// transaction). Default 64 MiB.
	WALLimit int64
	// MmapSize is how much of the file SQLite reads through a memory map
	// rather than into its page cache (PRAGMA mmap_size). modernc.org/sqlite
	// keeps one page cache for every connection of the process, and a
	// connection that has just read much (a lineage walk over thousands of
	// nodes) keeps that whole budget: every other connection's pages are then
	// dropped as soon as its statement ends and read again from the file on
	// the next call (a 12 us lookup took 27 us after an impact walk at 1M
	// resources). Mapped pages bypass that cache. Default 2 GiB on 64-bit
	// platforms and 256 MiB elsewhere (SQLite caps it at its compile-time
	// limit); negative turns mapping off.
	MmapSize int64
}

// DB is an open metatrack database: one writer connection, held for the
// life of the DB so that writes from this process queue in Go and reuse
// prepared statements, and a pool of readers that WAL lets run beside it.
type DB struct {
	Path   string
	Writer *sqlx.DB
	// Readers is the pool of reader connections.
	Readers  *sqlx.DB
	readOnly bool

	// writeSlot holds the writer connection while no write transaction
	// runs; taking it from the channel is taking the in-process write lock.
	writeSlot chan *sqlx.Conn
	wconn     *sqlx.Conn

	// commits counts write transactions; every checkpointEvery-th asks the
	// checkpointer to run.
	commits      atomic.Int64
	walLimit     int64
	busyTimeout  time.Duration
	restartAfter time.Time     // no log restart before (after one found readers in the way)
	restartWait  time.Duration // the wait after the next restart that fails
	checkpointCh chan struct{}
	stopCh       chan struct{}
	stoppedCh    chan struct{}

	// snaps are the connections of read transactions, each with its own
	// prepared statements (ReadTx).
	snaps *snapshots

	mu        sync.Mutex
	stmts     map[stmtKey]*sqlx.Stmt
	preparing map[string]bool // reader statements being prepared in the background
	plans     plans           // prepared statements of generated queries (Plan)
	bg        sync.WaitGroup  // those preparations, which Close waits for
	closed    bool
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
	q.Add("_pragma", "mmap_size("+strconv.FormatInt(max(o.MmapSize, 0), 10)+")")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		// Keep the WAL from growing without bound after a large write.
		q.Add("_pragma", "journal_size_limit("+strconv.FormatInt(o.WALLimit, 10)+")")
		// Commits never checkpoint: that copy of the log into the file ran
		// inside whichever call happened to cross the threshold and tripled
		// its latency. A background checkpointer does it (see checkpointer).
		q.Add("_pragma", "wal_autocheckpoint(0)")
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
	if o.WALLimit <= 0 {
		o.WALLimit = DefaultWALLimit
	}
	if o.MmapSize == 0 {
		o.MmapSize = 256 << 20 // address space is short on 32-bit platforms
		if strconv.IntSize == 64 {
			o.MmapSize = 2 << 30
		}
	}
	return o
}

// Open opens (creating if needed) the database file at path and brings its
// schema to the latest version. Several processes may call Open on the same
// new file at once: schema creation runs under an exclusive lock on the file
// (flock, which does not interact with SQLite's own locks), and the loser
// finds the work done. A file whose schema is newer than this library is
// refused with storage.ErrSchemaTooNew before anything is written to it; a file that
// is not a SQLite database, or is one of another application, is refused with
// storage.ErrNotDatabase.
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
	if info != nil && info.Size() < minFileSize && (info.Size() > 0 || o.ReadOnly) {
		// SQLite takes a file of one byte for an empty database and would
		// start a new one in it; no database is smaller than one page.
		return nil, fmt.Errorf("db: %s: %w: %d bytes is smaller than any SQLite database", path, storage.ErrNotDatabase, info.Size())
	}
	latest, err := schema.Latest(schema.SQLite())
	if err != nil {
		return nil, err
	}
	if !o.ReadOnly && info != nil && (!writable(path) || !writable(filepath.Dir(path))) {
		// SQLite cannot write the file, or cannot create its -wal and -shm
		// beside it (a read-only mount): serve reads only.
		o.ReadOnly = true
	}

	// Look before touching: the read-only probe writes nothing, so a file we
	// refuse is left byte-for-byte as it was.
	if info != nil && info.Size() > 0 {
		st, err := probe(ctx, path, o, latest, false)
		if err != nil {
			return nil, err
		}
		if !o.ReadOnly && needsUpgrade(st, latest) {
			// The file will be migrated: never over objects the migrations
			// did not create (a planted trigger would run inside them).
			// Another opener may be migrating it right now, so look under
			// the lock that migrators hold: a migration of theirs under
			// way is not a foreign object.
			unlock, err := lockFile(ctx, path)
			if err != nil {
				return nil, fmt.Errorf("db: lock %s: %w", path, err)
			}
			st, err = probe(ctx, path, o, latest, true)
			unlock()
			if err != nil {
				return nil, err
			}
		}
		if st.Foreign {
			return nil, fmt.Errorf("db: %s: %w: it is a SQLite database of another application", path, storage.ErrNotDatabase)
		}
		if st.Version > latest {
			return nil, fmt.Errorf("db: %s has schema version %d, this library knows up to %d: %w", path, st.Version, latest, storage.ErrSchemaTooNew)
		}
		if o.ReadOnly && (st.Version < latest || st.Dirty || st.Empty) {
			return nil, fmt.Errorf("db: %s has schema version %d (latest %d) and cannot be upgraded read-only: %w: %w", path, st.Version, latest, storage.ErrReadOnly, storage.ErrSchemaTooOld)
		}
	}

	d := &DB{Path: path, readOnly: o.ReadOnly, stmts: map[stmtKey]*sqlx.Stmt{}, walLimit: o.WALLimit, busyTimeout: o.BusyTimeout}
	if !o.ReadOnly {
		if err := d.openWriter(ctx, path, o, latest); err != nil {
			return nil, err
		}
	}
	readerDSN := DSN(path, o, o.ReadOnly)
	if o.ReadOnly && immutable(path) {
		readerDSN += "&immutable=1"
	}
	reader, err := sqlx.Open("sqlite", readerDSN)
	if err != nil {
		d.Close()
		return nil, err
	}
	reader.SetMaxOpenConns(o.MaxReaders)
	reader.SetMaxIdleConns(o.MaxReaders)
	reader.SetConnMaxIdleTime(time.Minute)
	d.Readers = reader
	if err := retry(ctx, func() error { return reader.PingContext(ctx) }); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: open %s: %w", path, Classify(err))
	}
	snaps, err := sqlx.Open("sqlite", readerDSN)
	if err != nil {
		d.Close()
		return nil, err
	}
	snaps.SetMaxOpenConns(o.MaxReaders)
	snaps.SetMaxIdleConns(o.MaxReaders)
	d.snaps = newSnapshots(snaps, o.MaxReaders)
	if o.ReadOnly {
		// The writer is the reader: every write through it fails with
		// SQLITE_READONLY, which Classify turns into storage.ErrReadOnly.
		d.Writer = reader
	} else {
		d.checkpointCh = make(chan struct{}, 1)
		d.stopCh, d.stoppedCh = make(chan struct{}), make(chan struct{})
		go d.checkpointer()
	}
	return d, nil
}

// DefaultWALLimit is the default of Options.WALLimit.
const DefaultWALLimit = 64 << 20

// A log restart waits up to restartReaderWait for readers to move off the
// log (and for the write lock). After one that found a reader in the way (a
// long read transaction), the next waits restartBackoff, doubling up to
// restartMaxBackoff: while a restart waits for readers, writers wait too.
const (
	restartReaderWait = time.Second
	restartBackoff    = time.Second
	restartMaxBackoff = 30 * time.Second
)

// boundWAL runs on the writer connection c, in the write slot, right after
// a commit: when the -wal file has grown past half the limit (the other
// half is room for the transactions of other processes that are under
// way meanwhile) it checkpoints the
// whole log and truncates it, waiting (up to the busy timeout) for other
// writers and checkpoints to finish. That is the back-pressure that keeps
// writers from outrunning the checkpoints. Readers never wait for it; it
// waits for readers in the middle of a read transaction, which are short
// (artifact streams read each chunk in its own). It reports whether the
// log was restarted.
func (d *DB) boundWAL(c *sqlx.Conn) bool {
	info, err := os.Stat(d.Path + "-wal")
	if err != nil || info.Size() <= d.walLimit/2 || time.Now().Before(d.restartAfter) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.busyTimeout+30*time.Second)
	defer cancel()
	// While the checkpoint waits for readers, new writers wait too: a reader
	// that holds a long transaction must not stall them for the whole busy
	// timeout.
	if wait := min(d.busyTimeout, restartReaderWait); wait < d.busyTimeout {
		if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(wait.Milliseconds(), 10)); err != nil {
			return false
		}
		defer func() {
			// On a context of its own: ctx may have run out in the wait
			// below, and the connection must not keep the short timeout.
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c.ExecContext(rctx, "PRAGMA busy_timeout = "+strconv.FormatInt(d.busyTimeout.Milliseconds(), 10))
		}()
	}
	var busy, logFrames int
	// Another connection's checkpoint makes this one fail at once, without
	// waiting: wait for it here, as long as for any other lock.
	for start, delay := time.Now(), time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		var done int
		err = c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		if err != nil || busy == 0 || logFrames >= 0 || time.Since(start) > d.busyTimeout {
			break
		}
		time.Sleep(delay)
	}
	switch {
	case err != nil:
		return false
	case busy != 0 && logFrames >= 0:
		// The log was copied, but a reader still uses it.
		d.restartWait = min(max(2*d.restartWait, restartBackoff), restartMaxBackoff)
		d.restartAfter = time.Now().Add(d.restartWait)
		return false
	case busy != 0:
		// Another writer or checkpoint held on past the busy timeout: the
		// next commit tries again.
		return false
	}
	d.restartWait = 0
	return true
}

// checkpointEvery is how many commits may pass between checkpoints: a
// typical small commit writes a handful of pages, so the log stays near
// SQLite's default threshold of 1000 pages.
const checkpointEvery = 128

// RequestCheckpoint asks the background checkpointer to copy the log into
// the database file soon (after a large transaction, say). It never blocks.
func (d *DB) RequestCheckpoint() {
	if d.checkpointCh == nil {
		return
	}
	select {
	case d.checkpointCh <- struct{}{}:
	default:
	}
}

// checkpointer runs PASSIVE checkpoints on a reader connection when asked,
// and once a second while there were commits, so that the write-ahead log
// stays small without any write call paying for the copy.
func (d *DB) checkpointer() {
	defer close(d.stoppedCh)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-d.stopCh:
			return
		case <-d.checkpointCh:
		case <-tick.C:
			if d.commits.Load() == last {
				continue
			}
		}
		last = d.commits.Load()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		d.Readers.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)") // best effort; Close truncates
		cancel()
	}
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
		return fmt.Errorf("db: %s: %w: the file is empty (delete it to start a new database)", path, storage.ErrNotDatabase)
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
	if err == nil {
		err = checkBookkeeping(ctx, w, st, latest)
	}
	if err != nil {
		w.Close()
		return fmt.Errorf("db: open %s: %w", path, Classify(err))
	}
	if st.Foreign {
		w.Close()
		return fmt.Errorf("db: %s: %w: it is a SQLite database of another application", path, storage.ErrNotDatabase)
	}
	if st.Version > latest {
		w.Close()
		return fmt.Errorf("db: %s has schema version %d, this library knows up to %d: %w", path, st.Version, latest, storage.ErrSchemaTooNew)
	}
	if st.Version < latest || st.Dirty {
		// Never run migrations over objects they did not create: a
		// planted trigger would run inside them.
		if err := schema.Check(ctx, w); err != nil {
			w.Close()
			return fmt.Errorf("db: %s: not upgrading it: %w", path, Classify(err))
		}
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
	// A statement that writes many rows (a batch's tags and their history
	// in one INSERT) keeps a statement journal, to undo itself alone should
	// it fail halfway. Past 64 KiB SQLite moves it from memory into a
	// temporary file for the rest of the transaction, and every later
	// statement of the transaction then writes its pages there: a third of
	// a batched tag's time. The write connection keeps temporary files in
	// memory; Vacuum, whose temporary copy is the whole database, puts them
	// back on disk while it runs.
	if _, err := c.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		c.Close()
		w.Close()
		return fmt.Errorf("db: open %s: %w", path, Classify(err))
	}
	d.wconn = c
	d.writeSlot = make(chan *sqlx.Conn, 1)
	d.writeSlot <- c
	return nil
}

// probe inspects the file without changing any byte of it. Without a
// write-ahead log beside it the file is opened immutable, which creates no
// -shm file and takes no lock; with one, read-only, and with its -shm mapped
// read-only when there is one (a reader would otherwise write its read mark
// into it). Without a -shm SQLite must create one to read the log.
//
// Its reads run in one read transaction, so that they see one state of the
// file even while another process migrates it. An immutable read takes no
// lock, so nothing keeps another process from writing the file under it (a
// checkpoint rewrites its pages): when the file or its log changed during
// the read, the probe reads again, read-only with locks.
//
// With checkUpgrade, a file that opening it would migrate must also have
// exactly the schema its version defines (schema.Check).
func probe(ctx context.Context, path string, o Options, latest uint, checkUpgrade bool) (schema.State, error) {
	dbBefore, walBefore := statOrNil(path), statOrNil(path+"-wal")
	wal := walBefore != nil && walBefore.Size() > 0
	st, err := probeOnce(ctx, path, o, latest, wal, checkUpgrade)
	if !wal && (changedSince(path, dbBefore) || changedSince(path+"-wal", walBefore)) {
		wal = true
		st, err = probeOnce(ctx, path, o, latest, wal, checkUpgrade)
	}
	if err != nil {
		err = Classify(err)
		if errors.Is(err, storage.ErrUnexpectedSchema) {
			return st, err
		}
		if errors.Is(err, storage.ErrNotDatabase) || errors.Is(err, storage.ErrCorrupt) || errors.Is(err, storage.ErrSchemaTooNew) {
			return st, fmt.Errorf("db: %s: %w", path, err)
		}
		// A WAL file may need its -shm created by a writer first; the
		// writable open below inspects again.
		if !o.ReadOnly {
			return schema.State{}, nil
		}
		if Code(err) == sqlite3.SQLITE_CANTOPEN && !writable(filepath.Dir(path)) {
			return st, fmt.Errorf("db: %s: %w: its write-ahead log cannot be read without a -shm file, "+
				"which cannot be created here (open it once where it can be written)", path, storage.ErrReadOnly)
		}
		return st, fmt.Errorf("db: %s: %w", path, err)
	}
	return st, nil
}

// probeOnce is one read of probe, immutable unless wal, in one read
// transaction.
func probeOnce(ctx context.Context, path string, o Options, latest uint, wal, checkUpgrade bool) (schema.State, error) {
	dsn := DSN(path, o, true)
	if !wal {
		dsn += "&immutable=1"
	} else if _, err := os.Stat(path + "-shm"); err == nil {
		dsn += "&readonly_shm=1"
	}
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return schema.State{}, err
	}
	defer conn.Close()
	var st schema.State
	err = retry(ctx, func() error {
		tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if st, err = schema.Inspect(ctx, tx); err != nil {
			return err
		}
		if err = checkHeader(ctx, tx, path, wal, o.ReadOnly); err != nil {
			return err
		}
		if err = checkBookkeeping(ctx, tx, st, latest); err != nil {
			return err
		}
		if checkUpgrade && needsUpgrade(st, latest) {
			// Checked here, before anything writes to the file.
			if err := schema.Check(ctx, tx); err != nil {
				return fmt.Errorf("db: %s: not upgrading it: %w", path, err)
			}
		}
		return nil
	})
	return st, err
}

// needsUpgrade reports whether opening a file in state st for writing
// would run migrations over it.
func needsUpgrade(st schema.State, latest uint) bool {
	return !st.Empty && !st.Foreign && st.Version <= latest && (st.Version < latest || st.Dirty)
}

// statOrNil returns the file info of path, or nil when it cannot be read.
func statOrNil(path string) os.FileInfo {
	info, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return info
}

// changedSince reports whether the file at path is no longer as before
// (nil: absent) described it.
func changedSince(path string, before os.FileInfo) bool {
	now := statOrNil(path)
	if now == nil || before == nil {
		return (now == nil) != (before == nil)
	}
	return !os.SameFile(before, now) || now.Size() != before.Size() || !now.ModTime().Equal(before.ModTime())
}

// minFileSize is the size of the smallest SQLite database: one page of the
// smallest page size.
const minFileSize = 512

// queryRower is a connection pool, a connection or a transaction.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkHeader refuses a file whose header SQLite accepts but which cannot
// be a whole metatrack database. Without a write-ahead log the file must be
// a whole number of pages: SQLite itself notices a file cut at a page
// boundary (the header records the page count), but reads a file cut inside
// its last page as if the missing bytes were zeros. A file format that this
// SQLite may read but not write (header byte 18 above 2) is refused for
// writing, where SQLite would open it and fail only at the first write.
func checkHeader(ctx context.Context, q queryRower, path string, wal, readOnly bool) error {
	var pageSize int64
	if err := q.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return err
	}
	if !wal && pageSize > 0 {
		if info, err := os.Stat(path); err == nil && info.Size()%pageSize != 0 {
			return fmt.Errorf("%w: %d bytes is not a whole number of %d-byte pages: the file is truncated",
				storage.ErrCorrupt, info.Size(), pageSize)
		}
	}
	if readOnly {
		return nil
	}
	var page1 []byte
	err := q.QueryRowContext(ctx, `SELECT data FROM sqlite_dbpage WHERE pgno = 1`).Scan(&page1)
	if err != nil {
		// Without the sqlite_dbpage table (a driver built without it),
		// SQLite's own read-only fallback applies.
		return nil
	}
	if len(page1) > 19 && page1[18] > 2 {
		return fmt.Errorf("%w: its file format (write version %d) is newer than this library's SQLite, which may read it but not write it",
			storage.ErrSchemaTooNew, page1[18])
	}
	return nil
}

// checkBookkeeping refuses a file whose two records of its schema version
// contradict each other: golang-migrate's schema_migrations, and
// schema_applied, which every migration writes inside its own transaction.
// Migrating such a file would run migrations over tables that exist (or
// skip ones that do not) and write to a damaged file. Either record above
// latest is a newer schema.
func checkBookkeeping(ctx context.Context, q queryRower, st schema.State, latest uint) error {
	if st.Empty || st.Foreign {
		return nil
	}
	var tables int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_applied'`).Scan(&tables)
	if err != nil {
		return err
	}
	var applied int64
	if tables > 0 {
		if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_applied`).Scan(&applied); err != nil {
			return err
		}
	}
	switch {
	case st.Version > latest || uint(applied) > latest:
		return fmt.Errorf("%w: it has schema version %d, this library knows up to %d", storage.ErrSchemaTooNew, max(st.Version, uint(applied)), latest)
	case st.Dirty && int64(st.Version) >= applied:
		// A migration was cut short; Migrate repairs it.
		return nil
	case !st.Dirty && int64(st.Version) == applied:
		return nil
	}
	return fmt.Errorf("%w: its schema bookkeeping says version %d (dirty %v), but migrations up to %d were applied",
		storage.ErrCorrupt, st.Version, st.Dirty, applied)
}

// immutable reports whether a read-only open of path must tell SQLite that
// the file cannot change: on a read-only filesystem SQLite can open a WAL
// database read-only only if its -shm exists or can be created. With no
// -wal content and no -shm no process has the file open, so none is needed.
func immutable(path string) bool {
	if writable(filepath.Dir(path)) {
		return false
	}
	if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > 0 {
		return false
	}
	_, err := os.Stat(path + "-shm")
	return errors.Is(err, fs.ErrNotExist)
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

// WriteConn runs fn in a write transaction (BEGIN IMMEDIATE) on the writer
// connection and commits it when fn returns nil; otherwise, or when the
// commit fails, it rolls back. If another process holds the write lock past
// the busy timeout, WriteConn tries again until ctx ends: "database is locked"
// never reaches the caller while ctx lasts. fn must not keep tx.
func (d *DB) WriteConn(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if d.readOnly {
		return fmt.Errorf("db: %s: %w", d.Path, storage.ErrReadOnly)
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
		// When ctx ends while BEGIN runs, the driver reports ctx's error
		// even if SQLite began the transaction: end it, or the connection
		// would keep the write lock and fail every later BEGIN.
		c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return Classify(err)
	}
	defer func() {
		if err != nil {
			// A cancelled ctx must not keep the rollback from running.
			c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			if errors.Is(err, storage.ErrDiskFull) {
				// The rolled-back pages keep their room in the -wal file,
				// which SQLite reuses but does not shrink: on a full disk
				// that is the room the next writes need. Checkpoint and
				// truncate the log to give it back (best effort: the
				// checkpoint needs room in the database file).
				c.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_checkpoint(TRUNCATE)")
			}
		}
	}()
	if err = fn(&Tx{Conn: c, d: d}); err != nil {
		return Classify(err)
	}
	err = retry(context.WithoutCancel(ctx), func() error {
		_, err := c.ExecContext(context.WithoutCancel(ctx), "COMMIT")
		return err
	})
	if err == nil {
		if n := d.commits.Add(1); !d.boundWAL(c) && n%checkpointEvery == 0 {
			d.RequestCheckpoint()
		}
	}
	return Classify(err)
}

// ReadSnapshot runs fn in a read transaction on a reader connection, so that its
// queries see one consistent snapshot. Writers are never blocked by it.
func (d *DB) ReadSnapshot(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	c, err := d.Readers.Connx(ctx)
	if err != nil {
		return Classify(err)
	}
	defer c.Close()
	// BEGIN without ctx: the driver reports a ctx that ends while BEGIN runs
	// as an error even if SQLite began the transaction, and database/sql
	// would put the connection back in the pool inside it, pinning its
	// snapshot. A read BEGIN takes no lock, so it never waits; taking the
	// connection and fn's queries still end with ctx.
	tx, err := c.BeginTxx(context.WithoutCancel(ctx), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Classify(err)
	}
	defer tx.Rollback()
	return Classify(fn(tx))
}

// Stmt returns a prepared statement for query on the writer connection
// (writer true; use it only inside WriteTx) or on the reader pool, prepared
// once and cached for the life of d. A reader statement is prepared on a
// pooled connection, which may mean waiting for one: inside a ReadSnapshot
// use CachedReaderStmt instead (ReadTx prepares on its own connection).
// The cache lock is never held while preparing,
// so a preparer waiting for a connection blocks no one's cache lookup.
func (d *DB) Stmt(ctx context.Context, writer bool, query string) (*sqlx.Stmt, error) {
	k := stmtKey{writer, query}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, sql.ErrConnDone
	}
	if s, ok := d.stmts[k]; ok {
		d.mu.Unlock()
		return s, nil
	}
	d.mu.Unlock()
	var s *sqlx.Stmt
	var err error
	if writer {
		s, err = d.wconn.PreparexContext(ctx, query)
	} else {
		s, err = d.Readers.PreparexContext(ctx, query)
	}
	if err != nil {
		return nil, Classify(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		s.Close()
		return nil, sql.ErrConnDone
	}
	if prev, ok := d.stmts[k]; ok {
		s.Close() // another goroutine prepared it meanwhile
		return prev, nil
	}
	d.stmts[k] = s
	return s, nil
}

// Backup writes a consistent copy of the live database to dst (which must
// not exist) with VACUUM INTO. Writers go on while it runs; the copy holds
// every transaction committed before it began. The copy is written to a
// temporary file beside dst, flushed to disk and only then given dst's
// name (and the directory flushed), so dst either does not exist or holds
// the whole copy: a backup that fails or is killed leaves nothing at dst
// (a killed one may leave its hidden temporary file, named after dst).
func (d *DB) Backup(ctx context.Context, dst string) (err error) {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("db: backup: %s exists", dst)
	}
	dir := filepath.Dir(dst)
	// A unique name beside dst; VACUUM INTO creates the file itself, with
	// the permissions SQLite gives every database file (as dst had before).
	f, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return fmt.Errorf("db: backup: %w", Classify(err))
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	defer func() {
		if err != nil {
			os.Remove(tmp)
			os.Remove(tmp + "-journal")
		}
	}()
	if _, err := d.Readers.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return Classify(err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("db: backup: %w", Classify(err))
	}
	// A hard link never replaces a file that appeared at dst meanwhile;
	// where links are not supported, rename (after one more look).
	if err := os.Link(tmp, dst); err == nil {
		os.Remove(tmp)
	} else if _, serr := os.Lstat(dst); serr == nil {
		return fmt.Errorf("db: backup: %s exists", dst)
	} else if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("db: backup: %w", Classify(err))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("db: backup: %w", Classify(err))
	}
	return nil
}

// syncFile flushes the file at path to stable storage.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir flushes the directory entry changes of dir (a new name) to
// stable storage. Where directories cannot be opened or synced (Windows),
// it does nothing.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && runtime.GOOS != "windows" {
		return err
	}
	return nil
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
	if d.stopCh != nil {
		close(d.stopCh)
		<-d.stoppedCh
	}
	d.bg.Wait()
	var errs []error
	if d.snaps != nil {
		// Waits for the running read transactions.
		errs = append(errs, d.snaps.close())
	}
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
	d.closePlans()
	d.mu.Unlock()
	if wconn != nil {
		errs = append(errs, wconn.Close())
	}
	if d.Readers != nil && d.Readers != d.Writer {
		errs = append(errs, d.Readers.Close())
	}
	if d.Writer != nil {
		if !d.readOnly {
			// Another process may still be reading (the checkpoint then
			// reports busy): the last connection to close checkpoints and
			// removes the WAL. A checkpoint that fails (no room on the
			// disk for the pages it copies) leaves the file needing its
			// -wal, which the caller must hear about.
			var busy, logFrames, done int
			err := d.Writer.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
			if err != nil {
				errs = append(errs, fmt.Errorf("db: close %s: the write-ahead log could not be checkpointed into the file, "+
					"which needs its -wal until it is (open and close it again once that can succeed): %w", d.Path, Classify(err)))
			}
		}
		errs = append(errs, d.Writer.Close())
	}
	if d.readOnly {
		removeIdleLog(d.Path)
	}
	return errors.Join(errs...)
}
