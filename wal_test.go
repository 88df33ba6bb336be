package metatrack_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestWALBoundedUnderLongReader: an artifact stream held open the whole
// time beside two busy writers (separate trackers, as separate processes
// would be, each logging artifacts of their own bytes) leaves the -wal
// below max(WithWALLimit, twice the largest transaction), while the
// writers write many times that. Before, the log was never restarted from
// its start (writers that follow each other closely never find it fully
// checkpointed), and the -wal held everything written: 6.5 GB in 12 s at
// full size. Scaled down: a limit of 8 MiB, transactions of 2 MiB.
func TestWALBoundedUnderLongReader(t *testing.T) {
	const (
		limit    = 8 << 20
		artSize  = 2 << 20 // one staging transaction each
		perWrite = 16      // artifacts each writer logs
	)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithWALLimit(limit))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "long.bin")
	want, err := procWriteRandom(src, "long-reader", 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "long.bin", src); err != nil {
		t.Fatal(err)
	}
	_, rc, err := tr.GetArtifact(ctx, res, "long.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()

	var done atomic.Bool
	var maxWAL atomic.Int64
	sample := func() {
		if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > maxWAL.Load() {
			maxWAL.Store(info.Size())
		}
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wt, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithWALLimit(limit))
			if err != nil {
				t.Error(err)
				return
			}
			defer wt.Close()
			f := filepath.Join(dir, fmt.Sprintf("w%d.bin", w))
			for i := range perWrite {
				if _, err := procWriteRandom(f, fmt.Sprint(w, "-", i), artSize); err != nil {
					t.Error(err)
					return
				}
				if _, err := wt.LogArtifact(ctx, res, fmt.Sprintf("w%d-%d", w, i), f); err != nil {
					t.Error(err)
					return
				}
				sample()
			}
		}()
	}
	// The stream stays open while the writers run, one chunk now and then.
	h := sha256.New()
	buf := make([]byte, 256<<10)
	go func() { wg.Wait(); done.Store(true) }()
	for !done.Load() {
		sample()
		if n, err := rc.Read(buf); err == nil {
			h.Write(buf[:n])
		} else if !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	rest, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("the stream after the writers: %v (%d bytes)", err, rest)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the stream read %s, want %s", got, want)
	}
	written := int64(2 * perWrite * artSize)
	bound := int64(max(limit, 2*(artSize+artSize/8))) // a transaction's pages take a little more than its bytes
	t.Logf("-wal peaked at %.1f MiB while the writers wrote %d MiB (bound %.1f MiB)", float64(maxWAL.Load())/(1<<20), written>>20, float64(bound)/(1<<20))
	if maxWAL.Load() > bound {
		t.Errorf("the -wal reached %d bytes, above max(limit, twice the largest transaction) = %d; the writers wrote %d", maxWAL.Load(), bound, written)
	}
}

// TestArtifactStreamNoticesRemoval: a stream whose bytes are removed while
// it reads (the artifact logged again with other bytes, then GC) fails with
// ErrConflict, not with ErrCorrupt, and never returns bytes that are not
// the artifact's.
func TestArtifactStreamNoticesRemoval(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t, metatrack.WithoutRun())
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "a.bin")
	if _, err := procWriteRandom(src, "one", 3*metatrack.ChunkSize); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "a.bin", src); err != nil {
		t.Fatal(err)
	}
	_, rc, err := tr.GetArtifact(ctx, res, "a.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, metatrack.ChunkSize)); err != nil {
		t.Fatal(err)
	}
	if _, err := procWriteRandom(src, "two", 3*metatrack.ChunkSize); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "a.bin", src); err != nil {
		t.Fatal(err)
	}
	if st, err := tr.GC(ctx); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("gc: %+v", st)
	}
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, metatrack.ErrConflict) || errors.Is(err, metatrack.ErrCorrupt) {
		t.Errorf("reading on after the bytes were removed: %v, want ErrConflict", err)
	}
}

// blockingWriter is an export destination that blocks its first write
// until release is closed, then discards: an export held up by a slow
// reader of its output.
type blockingWriter struct {
	once    sync.Once
	first   chan struct{} // closed at the first write
	release chan struct{}
	onFirst func()
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.first)
		if w.onFirst != nil {
			w.onFirst()
		}
		<-w.release
	})
	return len(p), nil
}

// TestWALBoundedUnderLongExport: an export whose output is read slowly
// holds no snapshot while it writes the artifact bytes (the records were
// read in one short snapshot, the bytes are read a chunk at a time), so
// writers meanwhile keep the -wal bounded. Before, the export's one read
// transaction lasted until its last byte was written, and the -wal held
// everything written meanwhile.
func TestWALBoundedUnderLongExport(t *testing.T) {
	const (
		limit    = 8 << 20
		artSize  = 2 << 20
		perWrite = 8
	)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithWALLimit(limit))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "exported.bin")
	if _, err := procWriteRandom(src, "exported", 3<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "exported.bin", src); err != nil {
		t.Fatal(err)
	}
	w := &blockingWriter{first: make(chan struct{}), release: make(chan struct{})}
	exported := make(chan error, 1)
	go func() {
		_, err := tr.Export(ctx, w)
		exported <- err
	}()
	<-w.first
	var maxWAL int64
	for wr := range 2 {
		wt, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithWALLimit(limit))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("w%d.bin", wr))
		for i := range perWrite {
			if _, err := procWriteRandom(f, fmt.Sprint(wr, "-", i), artSize); err != nil {
				t.Fatal(err)
			}
			if _, err := wt.LogArtifact(ctx, res, fmt.Sprintf("w%d-%d", wr, i), f); err != nil {
				t.Fatal(err)
			}
			if info, err := os.Stat(path + "-wal"); err == nil {
				maxWAL = max(maxWAL, info.Size())
			}
		}
		if err := wt.Close(); err != nil {
			t.Fatal(err)
		}
	}
	close(w.release)
	if err := <-exported; err != nil {
		t.Fatal(err)
	}
	bound := int64(max(limit, 2*(artSize+artSize/8)))
	t.Logf("-wal peaked at %.1f MiB beside a held-up export while %d MiB were written", float64(maxWAL)/(1<<20), 2*perWrite*artSize>>20)
	if maxWAL > bound {
		t.Errorf("the -wal reached %d bytes beside a held-up export, above %d", maxWAL, bound)
	}
}

// TestExportNoticesRemovedBytes: bytes removed while an export reads them
// (their artifact logged again with other bytes, then gc) stop the export
// with ErrConflict, never with a file that lacks them.
func TestExportNoticesRemovedBytes(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t, metatrack.WithoutRun())
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "a.bin")
	if _, err := procWriteRandom(src, "one", 3*metatrack.ChunkSize); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "a.bin", src); err != nil {
		t.Fatal(err)
	}
	w := &blockingWriter{first: make(chan struct{}), release: make(chan struct{})}
	close(w.release)
	w.onFirst = func() {
		if _, err := procWriteRandom(src, "two", 3*metatrack.ChunkSize); err != nil {
			t.Error(err)
		}
		if _, err := tr.LogArtifact(ctx, res, "a.bin", src); err != nil {
			t.Error(err)
		}
		if _, err := tr.GC(ctx); err != nil {
			t.Error(err)
		}
	}
	if _, err := tr.Export(ctx, w); !errors.Is(err, metatrack.ErrConflict) {
		t.Errorf("export whose bytes were removed meanwhile: %v, want ErrConflict", err)
	}
}
