package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestBackupWhileWriting backs up a database while another tracker writes
// to it, and checks that the copy opens, verifies and holds what was
// written before the backup began.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	ctx := context.Background()
	w, err := metatrack.Open(ctx, db, metatrack.WithRunName("writer"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	dv, err := w.CreateResource(ctx, metatrack.TypeDatasetVersion, "stream")
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := w.LogTag(ctx, dv, fmt.Sprintf("k%d", i%50), fmt.Sprint(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	out := filepath.Join(dir, "backup.db")
	r := run(t, "backup", out, "--db", db, "-o", "json")
	close(stop)
	wg.Wait()
	if r.code != exitOK {
		t.Fatalf("backup: exit %d: %s", r.code, r.stderr)
	}
	var res backupJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Backup != out || res.SizeBytes == 0 {
		t.Fatalf("backup -o json: %v %+v", err, res)
	}

	b, err := metatrack.Open(ctx, out, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Verify(ctx); err != nil {
		t.Errorf("the backup does not verify: %v", err)
	}
	if _, err := b.GetResource(ctx, dv.ID, ""); err != nil {
		t.Errorf("the backup lacks what was written before it began: %v", err)
	}
	if _, err := b.GetResource(ctx, "model_version/titanic_model@3", ""); err != nil {
		t.Error(err)
	}

	// The file exists now: backup never overwrites.
	if r := run(t, "backup", out, "--db", db); r.code != exitFailure {
		t.Errorf("backup onto an existing file: exit %d", r.code)
	}
	// A missing database is a failure, and creates nothing.
	if r := run(t, "backup", filepath.Join(dir, "b2.db"), "--db", filepath.Join(dir, "none.db")); r.code != exitFailure {
		t.Errorf("backup of a missing database: exit %d", r.code)
	}
}
