package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// connPragmas is what one connection reports about its configuration.
type connPragmas struct {
	BusyTimeout int64
	ForeignKeys int64
	JournalMode string
	Synchronous int64
}

func (p connPragmas) String() string {
	return fmt.Sprintf("busy_timeout=%d foreign_keys=%d journal_mode=%s synchronous=%d",
		p.BusyTimeout, p.ForeignKeys, p.JournalMode, p.Synchronous)
}

// queryRower is a connection or a transaction on one connection.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readPragmas(ctx context.Context, q queryRower) (connPragmas, error) {
	var p connPragmas
	for _, x := range []struct {
		pragma string
		dest   any
	}{
		{"busy_timeout", &p.BusyTimeout},
		{"foreign_keys", &p.ForeignKeys},
		{"journal_mode", &p.JournalMode},
		{"synchronous", &p.Synchronous},
	} {
		if err := q.QueryRowContext(ctx, "PRAGMA "+x.pragma).Scan(x.dest); err != nil {
			return p, fmt.Errorf("PRAGMA %s: %w", x.pragma, err)
		}
	}
	p.JournalMode = strings.ToLower(p.JournalMode)
	return p, nil
}

// TestPooledConnectionsConfigured (promise 3) holds many read
// transactions at once, each on its own connection of the reader pool
// (ReadTx from concurrent goroutines that wait for each other inside), and
// the writer connection inside a write transaction meanwhile, and checks
// that every connection carries the pragmas of the DSN: a pragma set with
// Exec on the pool would reach only whichever connection ran it, and the
// others would run without foreign keys, without a busy timeout, or with
// another durability.
func TestPooledConnectionsConfigured(t *testing.T) {
	const readers = 12
	cases := []struct {
		name     string
		opts     sqlite.Options
		readOnly bool // reopen read-only after creating the file
		want     connPragmas
	}{
		{"Normal", sqlite.Options{MaxReaders: readers},
			false, connPragmas{BusyTimeout: 5000, ForeignKeys: 1, JournalMode: "wal", Synchronous: 1}},
		{"Full", sqlite.Options{MaxReaders: readers, Synchronous: sqlite.SyncFull, BusyTimeout: 1234 * time.Millisecond},
			false, connPragmas{BusyTimeout: 1234, ForeignKeys: 1, JournalMode: "wal", Synchronous: 2}},
		{"ReadOnlyFull", sqlite.Options{MaxReaders: readers, Synchronous: sqlite.SyncFull, ReadOnly: true},
			true, connPragmas{BusyTimeout: 5000, ForeignKeys: 1, JournalMode: "wal", Synchronous: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			path := filepath.Join(t.TempDir(), "m.db")
			if tc.readOnly {
				// Create the file first, so that the read-only open finds
				// a complete database.
				w, err := sqlite.Open(ctx, path, sqlite.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			d, err := sqlite.Open(ctx, path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()

			// Every reader enters its transaction, reads, and waits inside
			// until all have arrived: only then are readers connections
			// open at once.
			var arrived sync.WaitGroup
			arrived.Add(readers)
			release := make(chan struct{})
			errs := make(chan error, readers)
			for i := 0; i < readers; i++ {
				go func() {
					errs <- d.ReadSnapshot(ctx, func(tx *sqlx.Tx) error {
						var n int64
						err := tx.QueryRowContext(ctx, "SELECT count(*) FROM resources").Scan(&n)
						got, perr := readPragmas(ctx, tx)
						arrived.Done()
						<-release
						if err = errors.Join(err, perr); err != nil {
							return err
						}
						if got != tc.want {
							return fmt.Errorf("reader: %v, want %v", got, tc.want)
						}
						return nil
					})
				}()
			}
			all := make(chan struct{})
			go func() { arrived.Wait(); close(all) }()
			select {
			case <-all:
			case <-time.After(30 * time.Second):
				close(release)
				t.Fatalf("%d read transactions could not be open at once", readers)
			}
			if got := d.Readers.Stats().OpenConnections; got != readers {
				t.Errorf("reader pool has %d open connections, want %d", got, readers)
			}

			if tc.readOnly {
				// The writer is the reader pool: writes fail typed.
				err := d.WriteConn(ctx, func(tx *sqlite.Tx) error { return nil })
				if !errors.Is(err, storage.ErrReadOnly) {
					t.Errorf("WriteTx on a read-only DB = %v, want storage.ErrReadOnly", err)
				}
			} else {
				// The writer, while every reader holds its snapshot.
				err := d.WriteConn(ctx, func(tx *sqlite.Tx) error {
					got, err := readPragmas(ctx, tx)
					if err != nil {
						return err
					}
					if got != tc.want {
						t.Errorf("writer: %v, want %v", got, tc.want)
					}
					// foreign_keys is enforced, not only reported.
					_, err = tx.ExecContext(ctx, `INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (987654, 0, x'00')`)
					if !sqlite.IsConstraint(err) {
						t.Errorf("insert violating a foreign key = %v, want a constraint error", err)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
			close(release)
			for i := 0; i < readers; i++ {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestClassify checks that Classify maps real driver errors, produced by a
// real SQLite file, and the operating system's "no space left on device", to
// the sentinels, keeping the original error in the chain.
func TestClassify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	full := func() error {
		// A database capped at a few pages fills up exactly as a full disk
		// does: SQLite reports SQLITE_FULL.
		c, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "capped.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetMaxOpenConns(1)
		if _, err := c.ExecContext(ctx, `CREATE TABLE t (b BLOB)`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, `PRAGMA max_page_count = 3`); err != nil {
			t.Fatal(err)
		}
		_, err = c.ExecContext(ctx, `INSERT INTO t VALUES (zeroblob(100000))`)
		if err == nil {
			t.Fatal("insert past max_page_count succeeded")
		}
		return err
	}()
	readOnly := func() error {
		p := filepath.Join(dir, "ro.db")
		c, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, `CREATE TABLE t (x)`); err != nil {
			t.Fatal(err)
		}
		c.Close()
		c, err = sql.Open("sqlite", "file:"+p+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
		if err == nil {
			t.Fatal("insert on a mode=ro connection succeeded")
		}
		return err
	}()
	notADB := func() error {
		p := filepath.Join(dir, "text.db")
		if err := os.WriteFile(p, []byte(strings.Repeat("not a database\n", 100)), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := sql.Open("sqlite", "file:"+p+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var n int
		err = c.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n)
		if err == nil {
			t.Fatal("read of a text file succeeded")
		}
		return err
	}()
	enospc := &fs.PathError{Op: "write", Path: "artifact.part", Err: syscall.ENOSPC}
	other := errors.New("something else")

	for _, tc := range []struct {
		name string
		err  error
		want error // nil: no sentinel
	}{
		{"SQLiteFull", full, storage.ErrDiskFull},
		{"SQLiteReadOnly", readOnly, storage.ErrReadOnly},
		{"SQLiteNotADB", notADB, storage.ErrNotDatabase},
		{"ENOSPC", enospc, storage.ErrDiskFull},
		{"WrappedENOSPC", fmt.Errorf("save: %w", enospc), storage.ErrDiskFull},
		{"Other", other, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sqlite.Classify(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("Classify dropped the original error: %v", got)
			}
			sentinels := []error{storage.ErrDiskFull, storage.ErrReadOnly, storage.ErrNotDatabase, storage.ErrCorrupt, storage.ErrSchemaTooNew}
			for _, s := range sentinels {
				if is, want := errors.Is(got, s), s == tc.want; is != want {
					t.Errorf("errors.Is(Classify(%v), %v) = %v, want %v", tc.err, s, is, want)
				}
			}
		})
	}
	if sqlite.Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
}

// TestCancelledTxLeavesNoTransaction: a context that ends while BEGIN runs
// may make the driver report the context's error although SQLite began the
// transaction. WriteTx and ReadTx must then not leave the connection inside
// it: the writer would hold the write lock for good ("cannot start a
// transaction within a transaction" for every later write), a pooled reader
// would pin its snapshot and keep every checkpoint from finishing.
func TestCancelledTxLeavesNoTransaction(t *testing.T) {
	ctx := context.Background()
	d, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"), sqlite.Options{MaxReaders: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		cctx, cancel := context.WithCancel(ctx)
		timer := time.AfterFunc(time.Duration(i%50)*time.Microsecond, cancel)
		d.WriteConn(cctx, func(tx *sqlite.Tx) error {
			_, err := tx.ExecContext(cctx, `INSERT INTO schema_applied VALUES (?, 0)`, 1000+i)
			return err
		})
		d.ReadSnapshot(cctx, func(tx *sqlx.Tx) error {
			var n int
			return tx.QueryRowContext(cctx, `SELECT count(*) FROM schema_applied`).Scan(&n)
		})
		timer.Stop()
		cancel()
		if err := d.WriteConn(ctx, func(tx *sqlite.Tx) error { return nil }); err != nil {
			t.Fatalf("after cancelled call %d, a write fails: %v", i, err)
		}
	}
	// No reader is left inside a transaction: a full checkpoint, from a
	// connection of its own, completes.
	c, err := sql.Open("sqlite", sqlite.DSN(d.Path, sqlite.Options{}, false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var busy, logFrames, done int
	// The background checkpointer may be running a checkpoint of its own
	// (busy for a moment); a reader left in a snapshot keeps it busy.
	for try := 0; try < 100; try++ {
		if err := c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if busy != 0 {
		t.Errorf("checkpoint blocked (%d of %d frames done): a reader holds a snapshot", done, logFrames)
	}
	for i := 0; i < 4; i++ {
		if err := d.ReadSnapshot(ctx, func(tx *sqlx.Tx) error { return nil }); err != nil {
			t.Errorf("read after cancelled reads: %v", err)
		}
	}

	// Waiting for a reader connection still ends with ctx: hold all four,
	// then ask for a fifth.
	release := make(chan struct{})
	var held sync.WaitGroup
	held.Add(4)
	for i := 0; i < 4; i++ {
		go d.ReadSnapshot(ctx, func(tx *sqlx.Tx) error { held.Done(); <-release; return nil })
	}
	held.Wait()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.ReadSnapshot(short, func(tx *sqlx.Tx) error { return nil })
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("ReadTx on an exhausted pool: %v after %v, want the context's deadline", err, time.Since(start))
	}
}

// tmpfs mounts a tmpfs of size bytes on a new directory, or skips the test
// (not root, not Linux, no mount permission).
func tmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// used returns the bytes the files under dir hold on a tmpfs (whole pages).
func used(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += (info.Size() + 4095) &^ 4095
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWriteTxDiskFullGivesSpaceBack (promise 7): a write transaction that
// fills the disk fails with storage.ErrDiskFull, and the room its pages took in the
// -wal file is given back (SQLite reuses that room but does not shrink the
// file, so without a truncating checkpoint the next writes would find the
// disk still full). Later writes then succeed without anything being freed.
func TestWriteTxDiskFullGivesSpaceBack(t *testing.T) {
	const size = 16 << 20
	dir := tmpfs(t, size)
	ctx := context.Background()
	path := filepath.Join(dir, "m.db")
	// A database closed cleanly: its -wal is empty.
	d, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = sqlite.Open(ctx, path, sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	before := used(t, dir)
	err = d.WriteConn(ctx, func(tx *sqlite.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (seq, chunk_size, created_at) VALUES (1, 1048576, 0)`); err != nil {
			return err
		}
		for i := 0; i < 2*size>>20; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (1, ?, randomblob(1048576))`, i); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("a transaction larger than the disk: %v, want storage.ErrDiskFull", err)
	}
	if after := used(t, dir); after > before+(256<<10) {
		t.Errorf("the failed transaction still holds %d KiB of the disk", (after-before)>>10)
	}
	for i := 0; i < 100; i++ {
		err := d.WriteConn(ctx, func(tx *sqlite.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_applied VALUES (?, randomblob(10000))`, 1000+i)
			return err
		})
		if err != nil {
			t.Fatalf("write %d after the failed transaction: %v", i, err)
		}
	}
}

// fillDisk writes a file under dir until the disk is full and returns its
// path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// Small writes fill what the big ones left.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
	return p
}

// TestCloseReportsFailedCheckpoint: Close on a full disk, where the pages
// in the -wal cannot be copied into the database file, fails with
// storage.ErrDiskFull instead of returning nil with the -wal left behind (the file
// alone would then not hold everything). Nothing is lost: once there is
// room, the next open and close finish the job.
func TestCloseReportsFailedCheckpoint(t *testing.T) {
	dir := tmpfs(t, 16<<20)
	ctx := context.Background()
	path := filepath.Join(dir, "m.db")
	d, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A reader's open snapshot keeps the background checkpointer from
	// copying the write below into the file before the disk is full.
	pin, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer pin.Close()
	tx, err := pin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	err = d.WriteConn(ctx, func(tx *sqlite.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (seq, chunk_size, created_at) VALUES (1, 1048576, 0)`); err != nil {
			return err
		}
		for i := range 4 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (1, ?, randomblob(1048576))`, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, dir)
	tx.Rollback()
	if err := d.Close(); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("Close on a full disk with %d bytes in the -wal = %v, want storage.ErrDiskFull", fileSize(path+"-wal"), err)
	}
	pin.Close()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if d, err = sqlite.Open(ctx, path, sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	var chunks int
	if err := d.Readers.QueryRow(`SELECT count(*) FROM blob_chunks WHERE blob_seq = 1`).Scan(&chunks); err != nil || chunks != 4 {
		t.Errorf("after the failed Close: %d chunks, %v; want 4", chunks, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("-wal after a Close with room: %v", err)
	}
}

func fileSize(p string) int64 {
	info, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return info.Size()
}
