package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sqlite"
)

const (
	countApplied  = `SELECT count(*) FROM schema_applied`
	appliedAbove  = `SELECT version FROM schema_applied WHERE version >= ? ORDER BY version`
	insertApplied = `INSERT INTO schema_applied VALUES (?, 0)`
)

func openSnapshots(t *testing.T, readers int) *sqlite.DB {
	t.Helper()
	d, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), sqlite.Options{MaxReaders: readers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func writeApplied(t *testing.T, d *sqlite.DB, version int) {
	t.Helper()
	err := d.WriteTx(context.Background(), func(tx storage.Tx) error {
		_, err := tx.Exec(context.Background(), insertApplied, version)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A read transaction sees one snapshot, however many times its statements
// run and whatever commits meanwhile; the next one on the same connection,
// with the same prepared statements, sees those commits.
func TestReadTxSnapshot(t *testing.T) {
	ctx := context.Background()
	d := openSnapshots(t, 1)
	for round := range 3 {
		var before, after int
		err := d.ReadTx(ctx, func(tx storage.Tx) error {
			if err := tx.Get(ctx, &before, countApplied); err != nil {
				return err
			}
			writeApplied(t, d, 1000+round)
			if err := tx.Get(ctx, &after, countApplied); err != nil {
				return err
			}
			var planned int
			rows, err := tx.Planned(ctx, countApplied+` WHERE version > 0`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := rows.Scan(&planned); err != nil {
					return err
				}
			}
			if planned != before {
				return fmt.Errorf("planned statement saw %d rows, the snapshot %d", planned, before)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Fatalf("round %d: a commit inside the snapshot showed: %d rows, then %d", round, before, after)
		}
		var next int
		if err := d.ReadTx(ctx, func(tx storage.Tx) error { return tx.Get(ctx, &next, countApplied) }); err != nil {
			t.Fatal(err)
		}
		if next != before+1 {
			t.Fatalf("round %d: the next snapshot has %d rows, want %d", round, next, before+1)
		}
	}
}

// Rows a read transaction leaves open are closed with it: the connection's
// next transaction sees a fresh snapshot, and a checkpoint is not held up.
func TestReadTxClosesLeftRows(t *testing.T) {
	ctx := context.Background()
	d := openSnapshots(t, 1)
	for v := range 3 {
		writeApplied(t, d, 2000+v)
	}
	err := d.ReadTx(ctx, func(tx storage.Tx) error {
		rows, err := tx.Query(ctx, appliedAbove, 2000)
		if err != nil {
			return err
		}
		if !rows.Next() {
			return errors.New("no row")
		}
		return nil // rows left open, two rows unread
	})
	if err != nil {
		t.Fatal(err)
	}
	writeApplied(t, d, 2003)
	var got []int
	if err := d.ReadTx(ctx, func(tx storage.Tx) error { return tx.Select(ctx, &got, appliedAbove, 2000) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("after a transaction that left rows open, the next one sees %v, want 4 rows", got)
	}
	checkpointCompletes(t, d)
}

// checkpointCompletes fails when a full checkpoint cannot finish: a reader
// holds a snapshot.
func checkpointCompletes(t *testing.T, d *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	c, err := sql.Open("sqlite", sqlite.DSN(d.Path, sqlite.Options{}, false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var busy, logFrames, done int
	// The background checkpointer may be running one of its own.
	for range 100 {
		if err := c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("checkpoint blocked (%d of %d frames done): a reader holds a snapshot", done, logFrames)
}

// ReadTx calls cancelled at any point leave no connection inside a
// transaction, and waiting for a connection of an exhausted pool ends with
// ctx.
func TestReadTxCancelledLeavesNoTransaction(t *testing.T) {
	ctx := context.Background()
	d := openSnapshots(t, 2)
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		writeApplied(t, d, 3000+i)
		cctx, cancel := context.WithCancel(ctx)
		timer := time.AfterFunc(time.Duration(i%50)*time.Microsecond, cancel)
		d.ReadTx(cctx, func(tx storage.Tx) error {
			var n []int
			return tx.Select(cctx, &n, appliedAbove, 0)
		})
		timer.Stop()
		cancel()
	}
	checkpointCompletes(t, d)
	for range 4 {
		if err := d.ReadTx(ctx, func(tx storage.Tx) error { var n int; return tx.Get(ctx, &n, countApplied) }); err != nil {
			t.Errorf("read after cancelled reads: %v", err)
		}
	}

	release := make(chan struct{})
	var held sync.WaitGroup
	held.Add(2)
	for range 2 {
		go d.ReadTx(ctx, func(tx storage.Tx) error { held.Done(); <-release; return nil })
	}
	held.Wait()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err := d.ReadTx(short, func(tx storage.Tx) error { return nil })
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadTx on an exhausted pool: %v, want the context's deadline", err)
	}
}

// Readers on every connection of the pool, beside a writer, each see the
// rows grow and never shrink; Close waits for the readers still running,
// and a ReadTx after it fails.
func TestReadTxConcurrent(t *testing.T) {
	ctx := context.Background()
	d := openSnapshots(t, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				var n int
				err := d.ReadTx(ctx, func(tx storage.Tx) error {
					if (r+i)%2 == 0 {
						return tx.Get(ctx, &n, countApplied)
					}
					var vs []int
					err := tx.Select(ctx, &vs, appliedAbove, 0)
					n = len(vs)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if n < last {
					errs <- fmt.Errorf("reader %d saw %d rows after %d", r, n, last)
					return
				}
				last = n
			}
		}()
	}
	for v := range 200 {
		writeApplied(t, d, 4000+v)
	}
	close(stop)
	wg.Wait()
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.ReadTx(ctx, func(tx storage.Tx) error {
			close(entered)
			<-release
			var n int
			return tx.Get(ctx, &n, countApplied)
		})
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a read transaction ran", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the read transaction Close waited for: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := d.ReadTx(ctx, func(tx storage.Tx) error { return nil }); err == nil {
		t.Error("ReadTx after Close succeeded")
	}
}
