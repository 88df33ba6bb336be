//go:build unix

package metatrack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/metatrack/metatrack"
)

// procReader is the reader child of TestReadOnlyLeavesNoTrace: it opens the
// file read-only, looks up every dataset_version/opened it is told of,
// prints what it found and closes.
func procReader(ctx context.Context, enc *json.Encoder) error {
	id, err := procEnvInt(procIDEnv)
	if err != nil {
		return err
	}
	if err := procBarrier(); err != nil {
		return err
	}
	tr, err := metatrack.Open(ctx, os.Getenv(procDBEnv), metatrack.WithReadOnly())
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	r, err := tr.GetResource(ctx, "dataset_version/opened", "")
	if err != nil {
		tr.Close()
		return fmt.Errorf("get: %w", err)
	}
	if err := tr.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return enc.Encode(procRecord{Kind: "read", Proc: id, Res: r.ID, Version: r.Version})
}

// dirNames lists the names in dir.
func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// runChild runs one child of role on path to its end and returns its
// records.
func runChild(t *testing.T, role, path string) []procRecord {
	t.Helper()
	g := procStart(t, procContext(t), 1, role, func(int) []string {
		return []string{procDBEnv + "=" + path, procDirEnv + "=" + t.TempDir()}
	})
	g.waitReady(t)
	g.release()
	g.wait(t)
	return g.records(t)
}

// TestReadOnlyLeavesNoTrace checks that a read-only tracker leaves the
// directory of a cleanly closed file as it found it (the file alone, byte
// for byte), and that it reads and closes beside live writers in this
// process and in others without removing a -wal or -shm that a writer
// holds.
func TestReadOnlyLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	newFile := func(t *testing.T) (dir, path string) {
		dir = t.TempDir()
		path = filepath.Join(dir, "m.db")
		tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d"); err != nil {
			t.Fatal(err)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"m.db"}) {
			t.Fatalf("after a clean close the directory holds %v", got)
		}
		return dir, path
	}
	openRO := func(t *testing.T, path string) *metatrack.Tracker {
		t.Helper()
		tr, err := metatrack.Open(ctx, path, metatrack.WithReadOnly())
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	mustGet := func(t *testing.T, tr *metatrack.Tracker, ref string) {
		t.Helper()
		if _, err := tr.GetResource(ctx, ref, ""); err != nil {
			t.Fatalf("read of %s: %v", ref, err)
		}
	}

	t.Run("CleanFile", func(t *testing.T) {
		dir, path := newFile(t)
		before := fileBytes(t, path)
		for range 2 { // twice: the second open finds what the first left
			tr := openRO(t, path)
			mustGet(t, tr, "dataset_version/d@1")
			if _, err := tr.Search(ctx, "type = 'dataset_version'"); err != nil {
				t.Fatal(err)
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			if got := dirNames(t, dir); !slices.Equal(got, []string{"m.db"}) {
				t.Fatalf("after a read-only open the directory holds %v, want the file alone", got)
			}
		}
		if after := fileBytes(t, path); string(after[0]) != string(before[0]) {
			t.Fatal("a read-only open changed the file")
		}
	})

	t.Run("CrashedWriterLog", func(t *testing.T) {
		// A writer died with commits in its -wal: a read-only open serves
		// them and leaves the file and the -wal byte for byte (only a
		// writer may checkpoint them).
		_, src := newFile(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "m.db")
		rbLiveCopy(t, src, path,
			`INSERT INTO tags (resource_seq, key, value, updated_at) SELECT seq, 'k', 'in the log', 0 FROM resources WHERE type = 'dataset_version'`)
		before := fileBytes(t, path)
		if len(before[1]) == 0 {
			t.Fatal("the -wal holds nothing")
		}
		tr := openRO(t, path)
		dv, err := tr.GetResource(ctx, "dataset_version/d@1", "")
		portCheck(t, err)
		if v, err := tr.GetTag(ctx, dv, "k"); err != nil || v != "in the log" {
			t.Fatalf("the commit in the log: %q, %v", v, err)
		}
		portCheck(t, tr.Close())
		after := fileBytes(t, path)
		if string(before[0]) != string(after[0]) || string(before[1]) != string(after[1]) {
			t.Fatal("a read-only open changed the file or the crashed writer's -wal")
		}
	})

	t.Run("ReaderClosesFirst", func(t *testing.T) {
		// A writer holds the file (and its -wal and -shm) while a reader
		// comes and goes: the reader sees the writer's commits and leaves
		// the writer's files in place.
		dir, path := newFile(t)
		w, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		r := openRO(t, path)
		mustGet(t, r, "dataset_version/d@1")
		if _, err := w.CreateResource(ctx, metatrack.TypeDatasetVersion, "d"); err != nil {
			t.Fatal(err)
		}
		mustGet(t, r, "dataset_version/d@2") // a live reader, not a snapshot
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + suffix); err != nil {
				t.Fatalf("the reader's close removed the writer's %s: %v", suffix, err)
			}
		}
		// A reader in another process, too.
		if _, err := w.CreateResource(ctx, metatrack.TypeDatasetVersion, "opened"); err != nil {
			t.Fatal(err)
		}
		if recs := runChild(t, "reader", path); len(recs) != 1 || recs[0].Kind != "read" || recs[0].Version != 1 {
			t.Fatalf("the reader process printed %+v", recs)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + suffix); err != nil {
				t.Fatalf("the reader process removed the writer's %s: %v", suffix, err)
			}
		}
		if _, err := w.CreateResource(ctx, metatrack.TypeDatasetVersion, "d"); err != nil {
			t.Fatalf("the writer cannot write after the readers left: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"m.db"}) {
			t.Fatalf("after the writer's close the directory holds %v", got)
		}
		r = openRO(t, path)
		mustGet(t, r, "dataset_version/d@3")
		r.Close()
	})

	t.Run("WriterClosesFirst", func(t *testing.T) {
		// The reader is open when a writer in another process opens, writes
		// and closes; the reader sees the write and, closing last, leaves
		// the file alone.
		dir, path := newFile(t)
		r := openRO(t, path)
		mustGet(t, r, "dataset_version/d@1")
		recs := runChild(t, "opener", path)
		if len(recs) != 1 || recs[0].Kind != "opened" {
			t.Fatalf("the writer process printed %+v", recs)
		}
		mustGet(t, r, "dataset_version/opened@1")
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"m.db"}) {
			t.Fatalf("after the last (read-only) close the directory holds %v, want the file alone", got)
		}
		r = openRO(t, path)
		mustGet(t, r, "dataset_version/opened@1")
		r.Close()
	})
}
