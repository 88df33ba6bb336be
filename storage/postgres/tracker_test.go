package postgres_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

var (
	chainPerProcess = flag.Int("pg.chain", 100, "versions each process adds in TestChainAcrossProcesses (the issue's figure: 5000)")
	artifactMiB     = flag.Int("pg.artifact.mib", 24, "size of the artifact of TestArtifactsInDatabase in MiB (the issue's figure: 300)")
)

// childChain is run by TestChainAcrossProcesses in copies of the test
// binary: it adds versions to one chain through the tracker.
func childChain(u string) error {
	var b [1]byte
	os.Stdin.Read(b[:])
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u)
	if err != nil {
		return fmt.Errorf("Open: %v", err)
	}
	for i := 0; i < *chainPerProcess; i++ {
		if _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic"); err != nil {
			return fmt.Errorf("version %d: %v", i, err)
		}
	}
	if err := tr.Close(); err != nil {
		return err
	}
	return nil
}

// TestChainAcrossProcesses: 8 processes add versions to one chain at once
// through the tracker: every call succeeds, and the version numbers are
// unique and gap-free.
func TestChainAcrossProcesses(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	const n = 8
	cmds := make([]*exec.Cmd, n)
	outs := make([]strings.Builder, n)
	var gates []io.Closer
	for i := range cmds {
		c := exec.Command(os.Args[0], fmt.Sprintf("-pg.chain=%d", *chainPerProcess))
		c.Env = append(os.Environ(), "PGENGINE_CHILD_CHAIN="+u)
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
	begin := time.Now()
	for _, g := range gates {
		g.Close()
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i].String())
		}
	}
	t.Logf("%d processes x %d versions in %v", n, *chainPerProcess, time.Since(begin).Round(time.Millisecond))
	db := admin(t, u)
	var count, distinct, top, runs int64
	err = db.QueryRow(`SELECT count(*), count(DISTINCT version), coalesce(max(version), 0), count(DISTINCT run_seq)
		FROM resources WHERE type = 'dataset_version' AND name = 'titanic'`).Scan(&count, &distinct, &top, &runs)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(n * *chainPerProcess)
	if count != want || distinct != want || top != want || runs != n {
		t.Errorf("%d versions, %d distinct, highest %d, by %d runs; want %d numbered 1..%d by %d", count, distinct, top, runs, want, want, n)
	}
}

// writeRandom writes size pseudo-random bytes to path and returns their
// SHA-256.
func writeRandom(path, seed string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	_, err = io.CopyN(w, rand.NewChaCha8(sha256.Sum256([]byte(seed))), size)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(h.Sum(nil)), err
}

// heapSampler records the peak Go heap in use.
type heapSampler struct {
	mu   sync.Mutex
	peak uint64
	stop chan struct{}
	done chan struct{}
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			s.mu.Lock()
			s.peak = max(s.peak, m.HeapInuse)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return s
}

// mark returns the peak since the last mark, in MiB.
func (s *heapSampler) mark() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p := max(s.peak, m.HeapInuse)
	s.peak = m.HeapInuse
	return float64(p) / (1 << 20)
}

func (s *heapSampler) close() { close(s.stop); <-s.done }

// TestArtifactsInDatabase: an artifact's bytes go into PostgreSQL in
// chunks and come back streamed, with the Go heap far below the file's
// size; the same bytes logged again are stored once; a damaged chunk is
// ErrCorrupt. -pg.artifact.mib=300 runs it at the size.
func TestArtifactsInDatabase(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	})
	db := admin(t, u)
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	size := int64(*artifactMiB)<<20 + 12345 // not a multiple of the chunk size
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	sum, err := writeRandom(src, "pg-artifact", size)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "big")
	if err != nil {
		t.Fatal(err)
	}

	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	s := startHeapSampler()
	base := s.mark()
	begin := time.Now()
	a, err := tr.LogArtifact(ctx, res, "big.bin", src)
	if err != nil {
		t.Fatal(err)
	}
	logged := time.Since(begin)
	write := s.mark()
	if a.SHA256 != sum || a.Size != size {
		t.Fatalf("recorded %s, %d bytes; the file has %s, %d bytes", a.SHA256, a.Size, sum, size)
	}
	begin = time.Now()
	_, rc, err := tr.GetArtifact(ctx, res, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != sum {
		t.Fatalf("read back %d bytes with SHA-256 %x (%v); want %d bytes, %s", n, h.Sum(nil), err, size, sum)
	}
	read := s.mark()
	readTime := time.Since(begin)
	s.close()
	mib := float64(size) / (1 << 20)
	t.Logf("%.0f MiB: logged in %v, read in %v; heap in use %.1f MiB before, peak %.1f MiB logging, %.1f MiB reading",
		mib, logged.Round(time.Millisecond), readTime.Round(time.Millisecond), base, write, read)
	if limit := base + mib/2; max(write, read) > limit {
		t.Errorf("the heap peaked at %.1f MiB (logging) and %.1f MiB (reading), over %.1f MiB: the bytes do not stream", write, read, limit)
	}
	wantChunks := (size + metatrack.ChunkSize - 1) / metatrack.ChunkSize
	if got := count(`SELECT count(*) FROM blob_chunks`); got != wantChunks {
		t.Fatalf("%d chunks, want %d", got, wantChunks)
	}

	// Dedup: the same bytes under another name and on another resource.
	other, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "big")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []metatrack.Resource{res, other} {
		if a, err := tr.LogArtifact(ctx, r, "copy.bin", src); err != nil || a.SHA256 != sum {
			t.Fatalf("log copy.bin on %s: %v (%s)", r, err, a.SHA256)
		}
	}
	if got := count(`SELECT count(*) FROM blobs`); got != 1 {
		t.Errorf("%d blobs, want 1", got)
	}
	if got := count(`SELECT count(*) FROM blob_chunks`); got != wantChunks {
		t.Errorf("%d chunks after logging the bytes again, want %d", got, wantChunks)
	}
	if got := count(`SELECT count(*) FROM artifacts`); got != 3 {
		t.Errorf("%d artifact records, want 3", got)
	}

	// A damaged chunk fails the read with ErrCorrupt, at the latest when
	// the hash is checked at the end.
	var blob int64
	if err := db.QueryRow(`SELECT seq FROM blobs`).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	const idx = 5
	mustExec(t, db, `UPDATE blob_chunks SET data = set_byte(data, 1000, get_byte(data, 1000) # 64) WHERE blob_seq = $1 AND idx = $2`, blob, idx)
	_, rc, err = tr.GetArtifact(ctx, res, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, metatrack.ErrCorrupt) {
		t.Errorf("reading a damaged artifact: %v, want ErrCorrupt", err)
	}
	mustExec(t, db, `DELETE FROM blob_chunks WHERE blob_seq = $1 AND idx = $2`, blob, idx)
	_, rc, err = tr.GetArtifact(ctx, res, "big.bin")
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
	}
	if !errors.Is(err, metatrack.ErrCorrupt) {
		t.Errorf("reading an artifact with a missing chunk: %v, want ErrCorrupt", err)
	}
}

// TestSizeAndVacuum: Stats reports the bytes the store takes on the
// server, and Vacuum gives the room of rows that GC removed back: the
// store shrinks once an artifact's bytes are collected.
func TestSizeAndVacuum(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	st, err := tr.Stats(ctx)
	if err != nil || st.FileBytes <= 0 {
		t.Fatalf("Stats: %d bytes, %v; want the store's size", st.FileBytes, err)
	}
	empty := st.FileBytes
	db := admin(t, u)
	// 8 MiB of chunks (of random bytes, which do not compress) that no
	// artifact names: what GC collects.
	mustExec(t, db, `INSERT INTO blobs (size, chunk_size, created_at) VALUES (0, 1048576, 0)`)
	mustExec(t, db, `INSERT INTO blob_chunks (blob_seq, idx, data)
		SELECT (SELECT max(seq) FROM blobs), i,
		       (SELECT decode(string_agg(md5(random()::text || j::text), ''), 'hex') FROM generate_series(1, 65536) j)
		FROM generate_series(0, 7) i`)
	if st, err = tr.Stats(ctx); err != nil || st.FileBytes < empty+4<<20 {
		t.Fatalf("Stats after 8 MiB of chunks: %d bytes (was %d), %v", st.FileBytes, empty, err)
	}
	full := st.FileBytes
	mustExec(t, db, `DELETE FROM blob_chunks`)
	mustExec(t, db, `DELETE FROM blobs`)
	if err := tr.Vacuum(ctx); err != nil {
		t.Fatalf("Vacuum: %v", err)
	}
	if st, err = tr.Stats(ctx); err != nil || st.FileBytes >= full-2<<20 {
		t.Errorf("after deleting the chunks and Vacuum: %d bytes, was %d (%v); want the room given back", st.FileBytes, full, err)
	}
}

// TestGC: bytes no artifact refers to any more (an artifact logged again
// with other bytes) and an abandoned upload are removed; bytes in use and a
// recent upload stay; a dry run counts and removes nothing.
func TestGC(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	db := admin(t, u)
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	res, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "gc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	old, cur := filepath.Join(dir, "old.bin"), filepath.Join(dir, "cur.bin")
	if _, err := writeRandom(old, "old", 3<<20); err != nil {
		t.Fatal(err)
	}
	curSum, err := writeRandom(cur, "cur", 1<<20+7)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, cur} {
		if _, err := tr.LogArtifact(ctx, res, "model.bin", p); err != nil {
			t.Fatal(err)
		}
	}
	// Two uploads that never finished: one a week old, one of now.
	week := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	mustExec(t, db, `INSERT INTO blobs (size, chunk_size, created_at) VALUES (0, 1048576, $1), (0, 1048576, $2)`, week, time.Now().UnixMilli())
	mustExec(t, db, `INSERT INTO blob_chunks (blob_seq, idx, data) SELECT seq, 0, '\x0102' FROM blobs WHERE sha256 IS NULL`)

	dry, err := tr.GC(ctx, metatrack.WithDryRun())
	if err != nil {
		t.Fatal(err)
	}
	if dry.Blobs != 1 || dry.Staged != 1 || dry.KeptStaged != 1 || dry.Chunks != 4 || dry.Bytes != 3<<20+2 {
		t.Errorf("dry run: %+v; want 1 blob, 1 staged (1 kept), 4 chunks, %d bytes", dry, 3<<20+2)
	}
	if n := count(`SELECT count(*) FROM blobs`); n != 4 {
		t.Fatalf("the dry run removed blobs: %d left, want 4", n)
	}
	st, err := tr.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blobs != dry.Blobs || st.Staged != dry.Staged || st.Chunks != dry.Chunks || st.Bytes != dry.Bytes {
		t.Errorf("GC: %+v; the dry run said %+v", st, dry)
	}
	if n := count(`SELECT count(*) FROM blobs`); n != 2 {
		t.Errorf("%d blobs left, want 2 (the artifact's and the recent upload)", n)
	}
	_, rc, err := tr.GetArtifact(ctx, res, "model.bin")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, rc)
	rc.Close()
	if err != nil || hex.EncodeToString(h.Sum(nil)) != curSum {
		t.Errorf("the artifact in use after GC: %x, %v", h.Sum(nil), err)
	}
}
