package remote_test

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

// TestBigArtifact uploads and downloads an artifact through the server
// (client and server in this process) and checks that the heap never
// grows by more than a fraction of its size: both sides stream. The
// artifact is 300 MiB with METATRACK_BIG=1, 32 MiB by default.
func TestBigArtifact(t *testing.T) {
	size := int64(32 << 20)
	if os.Getenv("METATRACK_BIG") == "1" {
		size = 300 << 20
	}
	ctx := context.Background()
	_, url := serve(t)
	c, err := remote.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(io.MultiWriter(f, h), rng, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := h.Sum(nil)
	ds, err := c.CreateResource(ctx, metatrack.TypeDataset, "big")
	if err != nil {
		t.Fatal(err)
	}

	// Collect often, so the heap measures what the streams hold rather
	// than garbage awaiting a lazy collection.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	a, err := c.LogArtifact(ctx, ds, "big.bin", src)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != size {
		t.Fatalf("stored %d bytes of %d", a.Size, size)
	}
	_, rc, err := c.GetArtifact(ctx, ds, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	rc.Close()
	close(stop)
	wg.Wait()
	if err != nil || n != size || string(h.Sum(nil)) != string(want) {
		t.Fatalf("downloaded %d bytes, %v; hash matches: %v", n, err, string(h.Sum(nil)) == string(want))
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("%d MiB up and down; heap grew by at most %.1f MiB", size>>20, float64(growth)/(1<<20))
	if growth > size/4 {
		t.Fatalf("heap grew by %d bytes for a %d-byte artifact", growth, size)
	}
}
