package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack/storage"
)

// openPool opens a DB whose snapshot pool has room for n connections and
// reads the time from *clock.
func openPool(t *testing.T, n int, clock *time.Time) *DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), Options{MaxReaders: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s := d.snaps
	s.mu.Lock()
	// A sweep never comes due by itself in these tests: they run it.
	s.maxIdle = time.Hour
	s.now = func() time.Time { return *clock }
	s.mu.Unlock()
	return d
}

// takeN takes n connections of s at once.
func takeN(t *testing.T, s *snapshots, n int) []*snapConn {
	t.Helper()
	out := make([]*snapConn, n)
	for i := range out {
		sc, err := s.take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = sc
	}
	return out
}

// openConns is the number of driver connections of the snapshot pool.
func openConns(s *snapshots) int { return s.db.Stats().OpenConnections }

// TestSnapshotsLIFO: the pool hands out the connection that came back
// last, whose pages and statements are the warmest.
func TestSnapshotsLIFO(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := openPool(t, 3, &clock)
	s := d.snaps
	scs := takeN(t, s, 3)
	for _, i := range []int{1, 0, 2} {
		s.put(scs[i], true)
	}
	for _, want := range []int{2, 0, 1} {
		sc, err := s.take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sc != scs[want] {
			t.Fatalf("took %p, want connection %d (%p), the most recently returned", sc, want, scs[want])
		}
		defer s.put(sc, true)
	}
	if n := openConns(s); n != 3 {
		t.Errorf("%d connections open, want 3 (none opened anew)", n)
	}
}

// TestSnapshotsCloseIdle: a sweep closes the connections idle for the
// bound (for good: the driver's connection too), keeps the others, and the
// pool opens new ones when it needs them.
func TestSnapshotsCloseIdle(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	d := openPool(t, 4, &clock)
	s := d.snaps
	scs := takeN(t, s, 4)
	for i, sc := range scs {
		clock = t0.Add(time.Duration(i) * 20 * time.Minute) // back at 0, 20, 40, 60 min
		s.put(sc, true)
	}
	idle := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.idle)
	}
	clock = t0.Add(90 * time.Minute) // the first two idle an hour or longer
	s.closeIdle()
	if n, open := idle(), openConns(s); n != 2 || open != 2 {
		t.Fatalf("after the sweep: %d idle, %d open; want 2 and 2", n, open)
	}
	s.mu.Lock()
	kept := []*snapConn{s.idle[0].sc, s.idle[1].sc}
	armed := s.sweep != nil
	s.mu.Unlock()
	if kept[0] != scs[2] || kept[1] != scs[3] || !armed {
		t.Fatalf("kept %p %p (sweep armed %v), want the two returned last %p %p", kept[0], kept[1], armed, scs[2], scs[3])
	}
	// The kept ones still work.
	err := d.ReadTx(ctx, func(tx storage.Tx) error {
		var n int
		return tx.Get(ctx, &n, "SELECT count(*) FROM schema_applied")
	})
	if err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(3 * time.Hour)
	s.closeIdle()
	s.mu.Lock()
	armed = s.sweep != nil
	s.mu.Unlock()
	if n, open := idle(), openConns(s); n != 0 || open != 0 || armed {
		t.Fatalf("after the last sweep: %d idle, %d open, sweep armed %v; want none", n, open, armed)
	}
	// Room for all four again, opened anew.
	scs = takeN(t, s, 4)
	for _, sc := range scs {
		s.put(sc, true)
	}
	if open := openConns(s); open != 4 {
		t.Fatalf("%d connections open, want 4", open)
	}
}

// TestSnapshotsIdleTimer: without calls, the timer the pool sets closes an
// idle connection by itself.
func TestSnapshotsIdleTimer(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{MaxReaders: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := d.snaps
	s.mu.Lock()
	s.maxIdle = time.Millisecond
	s.mu.Unlock()
	if err := d.ReadTx(ctx, func(tx storage.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Waits for the event, however long the machine takes to get to it.
	for openConns(s) != 0 {
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	left := len(s.idle)
	s.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d idle connections left", left)
	}
}

// TestSnapshotsSweepsBesideUse: read transactions on every connection
// while sweeps keep closing the idle ones, then a Close in the middle of
// more of them (run with -race): every transaction before Close succeeds,
// those that start after it fail, and Close leaves no connection open.
func TestSnapshotsSweepsBesideUse(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{MaxReaders: 3})
	if err != nil {
		t.Fatal(err)
	}
	s := d.snaps
	s.mu.Lock()
	s.maxIdle = time.Microsecond
	s.mu.Unlock()
	count := func() error {
		return d.ReadTx(ctx, func(tx storage.Tx) error {
			var n int
			return tx.Get(ctx, &n, "SELECT count(*) FROM schema_applied")
		})
	}
	stopSweeps, swept := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(swept)
		for {
			select {
			case <-stopSweeps:
				return
			default:
				s.closeIdle()
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := count(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a read transaction beside the sweeps: %v", err)
	}

	// Readers that go on until they are refused, and a Close among them.
	started := make(chan struct{}, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				if i == 3 {
					started <- struct{}{}
				}
				if count() != nil {
					return
				}
			}
		}()
	}
	for range 6 {
		<-started
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(stopSweeps)
	<-swept
	if err := count(); err == nil {
		t.Fatal("ReadTx after Close succeeded")
	}
	if open := openConns(s); open != 0 {
		t.Fatalf("%d connections open after Close", open)
	}
}
