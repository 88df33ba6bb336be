//go:build unix

package metatrack_test

// Big artifacts stream: LogArtifact, GetArtifact and SaveArtifact move a
// file of any size through memory one chunk at a time.
//
// BenchmarkBigArtifact round-trips a 300 MiB file in a fresh child process
// and reports throughput and peak memory (Go heap and the process's RSS):
//
//	go test -run '^$' -bench BigArtifact -benchtime 1x .
//	METATRACK_BIG_MIB=2048 go test -run '^$' -bench BigArtifact -benchtime 1x -timeout 30m .
//
// It needs about three times the file size of free disk in the temporary
// folder (source file, database, saved copy).

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

const (
	// bigBenchMiB is the benchmark's file size; METATRACK_BIG_MIB overrides it.
	bigBenchMiB    = 300
	bigBenchEnv    = "METATRACK_BIG_MIB"
	bigTestSize    = 40<<20 + 12345 // not a multiple of the chunk size
	bigArtifact    = "big.bin"
	bigSampleEvery = 5 * time.Millisecond
)

// bigSampler records the peak Go heap (HeapInuse) and the peak memory the
// Go runtime holds from the system (Sys), sampling runtime.ReadMemStats in a
// goroutine, per phase.
type bigSampler struct {
	stop, done chan struct{}
	once       sync.Once

	mu        sync.Mutex
	heapInuse uint64 // peaks since the last mark
	sys       uint64
	alloc     uint64 // TotalAlloc at the last mark
}

// bigPhase is what one phase cost in memory, in MiB.
type bigPhase struct {
	PeakHeapInuseMiB float64 `json:"peak_heap_inuse_mib"`
	PeakSysMiB       float64 `json:"peak_sys_mib"`
	// AllocMiB is what the phase allocated in all (garbage included).
	AllocMiB float64 `json:"alloc_mib"`
}

func bigStartSampler(every time.Duration) *bigSampler {
	s := &bigSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.mark()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *bigSampler) sample() runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mu.Lock()
	s.heapInuse = max(s.heapInuse, m.HeapInuse)
	s.sys = max(s.sys, m.Sys)
	s.mu.Unlock()
	return m
}

// mark ends a phase: it returns the peaks since the previous mark and
// starts the next phase from the current figures.
func (s *bigSampler) mark() bigPhase {
	m := s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := bigPhase{PeakHeapInuseMiB: bigMiB(s.heapInuse), PeakSysMiB: bigMiB(s.sys), AllocMiB: bigMiB(m.TotalAlloc - s.alloc)}
	s.heapInuse, s.sys, s.alloc = m.HeapInuse, m.Sys, m.TotalAlloc
	return p
}

// close stops the sampling; it may be called more than once.
func (s *bigSampler) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func bigMiB(n uint64) float64 { return float64(n) / (1 << 20) }

// bigMaxRSS returns the peak resident set size of this process so far, in
// bytes. It never decreases.
func bigMaxRSS() (int64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss), nil // bytes there
	}
	return int64(ru.Maxrss) << 10, nil // KiB on Linux and the BSDs
}

// bigResult is what the benchmark's child process reports.
type bigResult struct {
	Size         int64   `json:"size"`
	DBSize       int64   `json:"db_size"`
	GenSeconds   float64 `json:"gen_seconds"`
	WriteSeconds float64 `json:"write_seconds"`
	ReadSeconds  float64 `json:"read_seconds"`
	SaveSeconds  float64 `json:"save_seconds"`
	// BaseRSS is the peak RSS after generating the file and opening the
	// tracker, before the round trip; PeakRSS the peak at its end.
	BaseRSS int64               `json:"base_rss"`
	PeakRSS int64               `json:"peak_rss"`
	Phases  map[string]bigPhase `json:"phases"`
}

// bigArtifactChild is the benchmark's child: it writes a file of
// METATRACK_TEST_SIZE pseudo-random bytes, logs it, reads it back through
// GetArtifact into io.Discard, saves it with SaveArtifact, checks the
// hashes, and prints a bigResult.
func bigArtifactChild(ctx context.Context, enc *json.Encoder) error {
	dir := os.Getenv(procDirEnv)
	size, err := strconv.ParseInt(os.Getenv(procSizeEnv), 10, 64)
	if err != nil {
		return err
	}
	out := bigResult{Size: size, Phases: map[string]bigPhase{}}
	src, dst, dbPath := filepath.Join(dir, "src.bin"), filepath.Join(dir, "saved.bin"), filepath.Join(dir, "big.db")
	start := time.Now()
	sum, err := procWriteRandom(src, "big-benchmark", size)
	if err != nil {
		return err
	}
	out.GenSeconds = time.Since(start).Seconds()

	tr, err := metatrack.Open(ctx, dbPath, metatrack.WithoutRun())
	if err != nil {
		return err
	}
	defer tr.Close()
	res, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "big")
	if err != nil {
		return err
	}
	runtime.GC()
	if out.BaseRSS, err = bigMaxRSS(); err != nil {
		return err
	}

	s := bigStartSampler(bigSampleEvery)
	defer s.close()
	start = time.Now()
	a, err := tr.LogArtifact(ctx, res, bigArtifact, src)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	out.WriteSeconds = time.Since(start).Seconds()
	out.Phases["write"] = s.mark()
	if a.SHA256 != sum || a.Size != size {
		return fmt.Errorf("recorded %s, %d bytes; the file has %s, %d bytes", a.SHA256, a.Size, sum, size)
	}

	start = time.Now()
	_, rc, err := tr.GetArtifact(ctx, res, bigArtifact)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	n, err := io.Copy(io.Discard, rc) // the reader checks the hash at EOF
	rc.Close()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if n != size {
		return fmt.Errorf("read %d bytes, want %d", n, size)
	}
	out.ReadSeconds = time.Since(start).Seconds()
	out.Phases["read"] = s.mark()

	start = time.Now()
	if _, err := tr.SaveArtifact(ctx, res, bigArtifact, dst); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	out.SaveSeconds = time.Since(start).Seconds()
	out.Phases["save"] = s.mark()
	s.close()
	if out.PeakRSS, err = bigMaxRSS(); err != nil {
		return err
	}

	got, err := bigHashFile(dst)
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("saved file has SHA-256 %s, the source %s", got, sum)
	}
	if err := tr.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(dbPath)
	if err != nil {
		return err
	}
	out.DBSize = fi.Size()
	return enc.Encode(out)
}

func bigHashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BenchmarkBigArtifact round-trips a file larger than 256 MiB (300 MiB by
// default, METATRACK_BIG_MIB to change) through LogArtifact, GetArtifact
// and SaveArtifact in a child process that does nothing else, so that its
// peak RSS is the round trip's. It reports MB/s (10^6 bytes) written, read
// and saved, the peak Go heap and runtime Sys of each phase, and the peak
// RSS before and after the round trip, in MiB. Memory must stay far below
// the file size. Run it once: -benchtime 1x.
func BenchmarkBigArtifact(b *testing.B) {
	sizeMiB := bigBenchMiB
	if s := os.Getenv(bigBenchEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number of MiB", bigBenchEnv, s)
		}
		sizeMiB = n
	}
	size := int64(sizeMiB) << 20
	var r bigResult
	for b.Loop() {
		dir, err := os.MkdirTemp(b.TempDir(), "round-")
		if err != nil {
			b.Fatal(err)
		}
		r = bigRunChild(b, dir, size)
		os.RemoveAll(dir)
	}
	mbps := func(sec float64) float64 { return float64(r.Size) / 1e6 / sec }
	b.ReportMetric(mbps(r.WriteSeconds), "write_MB/s")
	b.ReportMetric(mbps(r.ReadSeconds), "read_MB/s")
	b.ReportMetric(mbps(r.SaveSeconds), "save_MB/s")
	var heap, sys float64
	for _, p := range r.Phases {
		heap, sys = max(heap, p.PeakHeapInuseMiB), max(sys, p.PeakSysMiB)
	}
	b.ReportMetric(heap, "peak_heap_MiB")
	b.ReportMetric(sys, "peak_sys_MiB")
	b.ReportMetric(bigMiB(uint64(r.BaseRSS)), "base_rss_MiB")
	b.ReportMetric(bigMiB(uint64(r.PeakRSS)), "peak_rss_MiB")
	b.ReportMetric(bigMiB(uint64(r.Size)), "file_MiB")
	b.Logf("file %.0f MiB (generated in %.2fs), database %.1f MiB; write %.2fs, read %.2fs, save %.2fs",
		bigMiB(uint64(r.Size)), r.GenSeconds, bigMiB(uint64(r.DBSize)), r.WriteSeconds, r.ReadSeconds, r.SaveSeconds)
	for _, name := range []string{"write", "read", "save"} {
		p := r.Phases[name]
		b.Logf("%s: peak heap in use %.1f MiB, peak Sys %.1f MiB, allocated %.0f MiB in all",
			name, p.PeakHeapInuseMiB, p.PeakSysMiB, p.AllocMiB)
	}
	b.Logf("peak RSS %.1f MiB (%.1f MiB before the round trip)", bigMiB(uint64(r.PeakRSS)), bigMiB(uint64(r.BaseRSS)))
}

// bigRunChild runs the round trip in a child process in dir.
func bigRunChild(b *testing.B, dir string, size int64) bigResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProcessHelper$")
	cmd.Env = append(os.Environ(), procRoleEnv+"=bigartifact", procIDEnv+"=0", procDirEnv+"="+dir,
		procSizeEnv+"="+strconv.FormatInt(size, 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		b.Fatalf("child: %v\nstderr:\n%s", err, stderr.String())
	}
	var r bigResult
	if err := json.Unmarshal(stdout, &r); err != nil {
		b.Fatalf("child printed %q: %v", stdout, err)
	}
	return r
}

// TestBigArtifactStreams round-trips a 40 MiB file, and checks dedup, the
// detection of corrupt chunks and the refusal of what is not a regular file.
// The Go heap must stay well below the file size while the bytes move.
func TestBigArtifactStreams(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "big.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	})
	conn := procSQL(t, path)
	res, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "big")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.bin")
	sum, err := procWriteRandom(src, "big-test", bigTestSize)
	if err != nil {
		t.Fatal(err)
	}
	wantChunks := int64((bigTestSize + metatrack.ChunkSize - 1) / metatrack.ChunkSize)

	// Round trip, with the heap watched. A low GOGC keeps garbage from
	// counting as peak (with the default, the heap may grow by the live heap
	// of whatever ran before in this process): what remains is what the
	// round trip holds.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	s := bigStartSampler(bigSampleEvery)
	base := s.mark()
	a, err := tr.LogArtifact(ctx, res, bigArtifact, src)
	if err != nil {
		t.Fatal(err)
	}
	write := s.mark()
	if a.SHA256 != sum || a.Size != bigTestSize {
		t.Fatalf("recorded SHA-256 %s, %d bytes; the file has %s, %d bytes", a.SHA256, a.Size, sum, bigTestSize)
	}
	_, rc, err := tr.GetArtifact(ctx, res, bigArtifact)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != bigTestSize || hex.EncodeToString(h.Sum(nil)) != sum {
		t.Fatalf("read back %d bytes with SHA-256 %x, err %v; want %d bytes, %s", n, h.Sum(nil), err, bigTestSize, sum)
	}
	read := s.mark()
	s.close()
	saved := filepath.Join(dir, "saved.bin")
	if _, err := tr.SaveArtifact(ctx, res, bigArtifact, saved); err != nil {
		t.Fatal(err)
	}
	if got, err := bigHashFile(saved); err != nil || got != sum {
		t.Fatalf("saved file has SHA-256 %s, %v; want %s", got, err, sum)
	}
	t.Logf("heap in use: %.1f MiB before, peak %.1f MiB while logging, %.1f MiB while reading %.0f MiB",
		base.PeakHeapInuseMiB, write.PeakHeapInuseMiB, read.PeakHeapInuseMiB, bigMiB(bigTestSize))
	// Buffering the file whole would take at least its size on the heap.
	if limit := base.PeakHeapInuseMiB + bigMiB(bigTestSize)/2; max(write.PeakHeapInuseMiB, read.PeakHeapInuseMiB) > limit {
		t.Errorf("the heap peaked at %.1f MiB (logging) and %.1f MiB (reading), over %.1f MiB: the bytes do not stream",
			write.PeakHeapInuseMiB, read.PeakHeapInuseMiB, limit)
	}

	t.Run("Dedup", func(t *testing.T) {
		other, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "big")
		if err != nil {
			t.Fatal(err)
		}
		// Again under the same name, and under another name elsewhere.
		for _, r := range []metatrack.Resource{res, other} {
			for _, name := range []string{bigArtifact, "copy.bin"} {
				if a, err := tr.LogArtifact(ctx, r, name, src); err != nil || a.SHA256 != sum {
					t.Fatalf("log %s on %s: %v (SHA-256 %s)", name, r, err, a.SHA256)
				}
			}
		}
		if n := procCount(t, conn, `SELECT count(*) FROM blobs`); n != 1 {
			t.Errorf("%d blobs, want 1", n)
		}
		if n := procCount(t, conn, `SELECT count(*) FROM blob_chunks`); n != wantChunks {
			t.Errorf("%d chunks, want %d: the bytes were stored more than once", n, wantChunks)
		}
		if n := procCount(t, conn, `SELECT count(*) FROM artifacts`); n != 4 {
			t.Errorf("%d artifact records, want 4", n)
		}
	})

	t.Run("Corrupt", func(t *testing.T) {
		var blob int64
		if err := conn.QueryRow(`SELECT seq FROM blobs WHERE sha256 = ?`, sum).Scan(&blob); err != nil {
			t.Fatal(err)
		}
		const idx = 17 // a chunk in the second staging transaction
		var orig []byte
		if err := conn.QueryRow(`SELECT data FROM blob_chunks WHERE blob_seq = ? AND idx = ?`, blob, idx).Scan(&orig); err != nil {
			t.Fatal(err)
		}
		exec := func(query string, args ...any) {
			t.Helper()
			if _, err := conn.Exec(query, args...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		restore := func() {
			exec(`INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (?, ?, ?)
				ON CONFLICT (blob_seq, idx) DO UPDATE SET data = excluded.data`, blob, idx, orig)
		}
		for _, tc := range []struct {
			name string
			// fullRead: the damage shows only in the hash, at EOF.
			fullRead bool
			damage   func()
		}{
			{"FlipByte", true, func() {
				b := append([]byte(nil), orig...)
				b[12345] ^= 0x40
				exec(`UPDATE blob_chunks SET data = ? WHERE blob_seq = ? AND idx = ?`, b, blob, idx)
			}},
			{"ShortChunk", false, func() {
				exec(`UPDATE blob_chunks SET data = ? WHERE blob_seq = ? AND idx = ?`, orig[:len(orig)-1], blob, idx)
			}},
			{"MissingChunk", false, func() {
				exec(`DELETE FROM blob_chunks WHERE blob_seq = ? AND idx = ?`, blob, idx)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.damage()
				defer restore()
				_, rc, err := tr.GetArtifact(ctx, res, bigArtifact)
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if !errors.Is(err, metatrack.ErrCorrupt) {
					t.Errorf("reading: err = %v, want ErrCorrupt", err)
				}
				if tc.fullRead && n != bigTestSize {
					t.Errorf("the reader failed after %d bytes, want at EOF (%d)", n, bigTestSize)
				}

				out := t.TempDir()
				fresh := filepath.Join(out, "fresh.bin")
				if _, err := tr.SaveArtifact(ctx, res, bigArtifact, fresh); !errors.Is(err, metatrack.ErrCorrupt) {
					t.Errorf("SaveArtifact to a new file: err = %v, want ErrCorrupt", err)
				}
				existing := filepath.Join(out, "existing.bin")
				if err := os.WriteFile(existing, []byte("previous"), 0o644); err != nil {
					t.Fatal(err)
				}
				if _, err := tr.SaveArtifact(ctx, res, bigArtifact, existing); !errors.Is(err, metatrack.ErrCorrupt) {
					t.Errorf("SaveArtifact over a file: err = %v, want ErrCorrupt", err)
				}
				if b, err := os.ReadFile(existing); err != nil || string(b) != "previous" {
					t.Errorf("a failed SaveArtifact changed the file it would replace: %q, %v", b, err)
				}
				entries, err := os.ReadDir(out)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 1 {
					var names []string
					for _, e := range entries {
						names = append(names, e.Name())
					}
					t.Errorf("failed saves left files behind: %q, want only existing.bin", names)
				}
			})
		}
		// Restored, it reads clean again.
		_, rc, err := tr.GetArtifact(ctx, res, bigArtifact)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("after restoring the chunk: %v", err)
		}
		rc.Close()
	})

	t.Run("ErrInvalidArgument", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, path string }{
			{"Directory", dir},
			{"MissingFile", filepath.Join(dir, "missing.bin")},
			{"NamedPipe", fifo},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := bigSnapshot(t, conn)
				_, err := tr.LogArtifact(ctx, res, "bad.bin", tc.path)
				if !errors.Is(err, metatrack.ErrInvalidArgument) {
					t.Errorf("err = %v, want ErrInvalidArgument", err)
				}
				if after := bigSnapshot(t, conn); after != before {
					t.Errorf("the failed call wrote: before %+v, after %+v", before, after)
				}
				if _, _, err := tr.GetArtifact(ctx, res, "bad.bin"); !errors.Is(err, metatrack.ErrNotFound) {
					t.Errorf("GetArtifact after the failed call: err = %v, want ErrNotFound", err)
				}
			})
		}
	})
}

// bigState is what a write would change: row counts and SQLite's
// data_version, which changes whenever another connection commits (conn
// has one connection, see procSQL, so the values compare).
type bigState struct {
	Blobs, Chunks, Artifacts, History, DataVersion int64
}

func bigSnapshot(tb testing.TB, conn *sql.DB) bigState {
	tb.Helper()
	var s bigState
	err := conn.QueryRow(`SELECT
		(SELECT count(*) FROM blobs), (SELECT count(*) FROM blob_chunks),
		(SELECT count(*) FROM artifacts), (SELECT count(*) FROM history)`).
		Scan(&s.Blobs, &s.Chunks, &s.Artifacts, &s.History)
	if err == nil {
		err = conn.QueryRow(`PRAGMA data_version`).Scan(&s.DataVersion)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
