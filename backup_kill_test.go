package metatrack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// backupChild is the child of TestBackupKilled: it backs up the database
// at $METATRACK_TEST_DB to $METATRACK_TEST_DIR/b.db and says when done.
func backupChild(ctx context.Context, enc *json.Encoder) error {
	tr, err := metatrack.Open(ctx, os.Getenv(procDBEnv), metatrack.WithoutRun(), metatrack.WithReadOnly())
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := procBarrier(); err != nil {
		return err
	}
	if err := tr.Backup(ctx, filepath.Join(os.Getenv(procDirEnv), "b.db")); err != nil {
		return err
	}
	return enc.Encode(procRecord{Kind: "done"})
}

// TestBackupKilled: a backup process killed with SIGKILL while it copies
// leaves nothing at the destination name, neither a partial file nor a
// -journal (the copy is written to a temporary file beside it and renamed
// only when whole), so a later look at the destination never finds a
// half-written database; a new backup to the same name then succeeds.
func TestBackupKilled(t *testing.T) {
	ctx := procContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	// Big enough that the copy takes a while: random bytes do not shrink.
	src := filepath.Join(dir, "payload.bin")
	if _, err := procWriteRandom(src, "backup-kill", 64<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "payload.bin", src); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(out, "b.db")
	g := procStart(t, ctx, 1, "backup", func(int) []string {
		return []string{procDBEnv + "=" + path, procDirEnv + "=" + out}
	})
	g.waitReady(t)
	g.release()
	// Kill as soon as the copy has bytes on disk, wherever they are.
	deadline := time.Now().Add(time.Minute)
	for copying := false; !copying; {
		if time.Now().After(deadline) {
			t.Fatalf("no backup bytes appeared in %s\n%s", out, g.stderrs())
		}
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Size() > 0 && strings.Contains(e.Name(), "b.db") {
				copying = true
			}
		}
		time.Sleep(time.Millisecond)
	}
	g.children[0].kill()
	g.wait(t)
	if recs := g.records(t); len(recs) > 0 {
		t.Fatalf("the backup finished before it was killed (%v): the database must be bigger for this test", recs)
	}
	for _, p := range []string{dst, dst + "-journal", dst + "-wal"} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a killed backup left %s (%v)", filepath.Base(p), err)
		}
	}
	// The leftover temporary file does not keep the next backup from
	// taking the name.
	if tr, err = metatrack.Open(ctx, path, metatrack.WithoutRun()); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	// The copy gets the permissions SQLite gives a database file.
	if di, si := statOrFatal(t, dst), statOrFatal(t, path); di.Mode().Perm() != si.Mode().Perm() {
		t.Errorf("the backup has mode %v, the database %v", di.Mode().Perm(), si.Mode().Perm())
	}
	b, err := metatrack.Open(ctx, dst, metatrack.WithoutRun(), metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if arts, err := b.Artifacts(ctx, res, ""); err != nil || len(arts) != 1 || arts[0].Size != 64<<20 {
		t.Errorf("backup holds %v, %v", arts, err)
	}
}

func statOrFatal(t *testing.T, p string) os.FileInfo {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
