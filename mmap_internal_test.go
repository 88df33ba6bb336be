package metatrack

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// mmapSizes reads PRAGMA mmap_size back on each kind of connection of the
// SQLite file under tr: the reader pool, a read transaction's connection
// and (unless read-only) the writer.
func mmapSizes(t *testing.T, tr *Tracker) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	d, ok := tr.db.(*sqlite.DB)
	if !ok {
		t.Fatalf("the engine is %T, not SQLite", tr.db)
	}
	got := map[string]int64{}
	var n int64
	if err := d.Readers.GetContext(ctx, &n, "PRAGMA mmap_size"); err != nil {
		t.Fatal(err)
	}
	got["reader pool"] = n
	if err := d.ReadTx(ctx, func(tx storage.Tx) error { return tx.Get(ctx, &n, "PRAGMA mmap_size") }); err != nil {
		t.Fatal(err)
	}
	got["read transaction"] = n
	if !d.ReadOnly() {
		if err := d.WriteTx(ctx, func(tx storage.Tx) error { return tx.Get(ctx, &n, "PRAGMA mmap_size") }); err != nil {
			t.Fatal(err)
		}
		got["writer"] = n
	}
	return got
}

// TestWithMmapSize: the size WithMmapSize gives is the one every
// connection of the file uses, 0 turns the memory map off, and without the
// option the file is mapped.
func TestWithMmapSize(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	for _, tc := range []struct {
		name string
		opts []Option
		want int64 // -1: mapped, by the default size
	}{
		{"default", nil, -1},
		{"off", []Option{WithMmapSize(0)}, 0},
		{"1MiB", []Option{WithMmapSize(1 << 20)}, 1 << 20},
		{"off read-only", []Option{WithMmapSize(0), WithReadOnly()}, 0},
		{"1MiB read-only", []Option{WithMmapSize(1 << 20), WithReadOnly()}, 1 << 20},
		{"default read-only", []Option{WithReadOnly()}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Open(ctx, path, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			got := mmapSizes(t, tr)
			if want := 2; len(got) < want {
				t.Fatalf("read back on %d kinds of connection, want at least %d", len(got), want)
			}
			for conn, n := range got {
				switch {
				case tc.want < 0 && n < 256<<20:
					t.Errorf("%s: mmap_size %d, want the default (at least 256 MiB)", conn, n)
				case tc.want >= 0 && n != tc.want:
					t.Errorf("%s: mmap_size %d, want %d", conn, n, tc.want)
				}
			}
		})
	}
	if strconv.IntSize == 64 {
		tr, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		// 2 GiB, capped by SQLite's compile-time limit just below it.
		if n := mmapSizes(t, tr)["writer"]; n < 2<<30-1<<20 {
			t.Errorf("64-bit default mmap_size %d, want about 2 GiB", n)
		}
	}

	_, err := Open(ctx, path, WithMmapSize(-1))
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("WithMmapSize(-1): %v, want ErrInvalidArgument", err)
	}
	t.Log(err)
}
