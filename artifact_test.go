package metatrack_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// A LogArtifact cancelled while it stages bytes leaves nothing behind: no
// artifact record and no staged chunks.
func TestCancelledLogArtifactLeavesNoStagedBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := tr.CreateResource(context.Background(), metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 96; i++ {
		buf[0] = byte(i) // distinct chunks
		f.Write(buf)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = tr.LogArtifact(ctx, ds, "big.bin", big)
	if err == nil {
		t.Skip("the machine stored 96 MiB before the deadline; nothing was cancelled")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LogArtifact = %v", err)
	}
	if _, _, err := tr.GetArtifact(context.Background(), ds, "big.bin"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("GetArtifact after cancel = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var blobs, chunks int
	if err := raw.QueryRow(`SELECT (SELECT count(*) FROM blobs), (SELECT count(*) FROM blob_chunks)`).Scan(&blobs, &chunks); err != nil {
		t.Fatal(err)
	}
	if blobs != 0 || chunks != 0 {
		t.Fatalf("cancelled upload left %d blobs and %d chunks", blobs, chunks)
	}
}
