package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
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

// TestBackupFilter: backup --filter writes a file that opens and holds
// exactly what export --filter writes (the selection and its upstream
// lineage, or with --no-lineage the selection and its ancestors), from a
// file and from PostgreSQL alike: the export of the backup equals the
// filtered export of the store, header aside.
func TestBackupFilter(t *testing.T) {
	dir := t.TempDir()
	filter := "type = 'model_version' AND version = 2"
	for _, store := range []struct{ name, db string }{
		{"sqlite", buildFixture(t, dir)},
		{"postgres", buildFixtureAt(t, dir, pgtest.URL(t))},
	} {
		for _, lineage := range [][]string{nil, {"--no-lineage"}} {
			name := store.name + "/lineage"
			if lineage != nil {
				name = store.name + "/no-lineage"
			}
			t.Run(name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "part.db")
				r := run(t, append([]string{"backup", out, "--db", store.db, "--filter", filter}, lineage...)...)
				if r.code != exitOK {
					t.Fatalf("backup --filter: exit %d: %s", r.code, r.stderr)
				}
				want := run(t, append([]string{"export", "--db", store.db, "--filter", filter}, lineage...)...)
				got := run(t, "export", "--db", out)
				if want.code != exitOK || got.code != exitOK {
					t.Fatalf("export: exit %d, %d: %s%s", want.code, got.code, want.stderr, got.stderr)
				}
				if exportBody(got.stdout) != exportBody(want.stdout) {
					t.Errorf("the backup holds another set than export --filter:\n%s", lineDiff(exportBody(want.stdout), exportBody(got.stdout)))
				}
				if r := run(t, "verify", "--db", out); r.code != exitOK {
					t.Errorf("the backup does not verify: %s%s", r.stdout, r.stderr)
				}
				ls := run(t, "ls", "--db", out, "-o", "json")
				if !strings.Contains(ls.stdout, `"model_version/titanic_model@2"`) {
					t.Errorf("ls of the backup lacks the selection:\n%s", ls.stdout)
				}
				has := strings.Contains(ls.stdout, `"dataset_version/`)
				if has == (lineage != nil) {
					t.Errorf("dataset versions in the backup: %v, with %v", has, lineage)
				}
			})
		}
	}
	if r := run(t, "backup", filepath.Join(dir, "x.db"), "--db", filepath.Join(dir, "fixture.db"), "--no-lineage"); r.code != exitUsage ||
		!strings.Contains(r.stderr, "--no-lineage goes with --filter") {
		t.Errorf("--no-lineage alone: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "backup", filepath.Join(dir, "y.db"), "--db", filepath.Join(dir, "fixture.db"), "--filter", "type = "); r.code == exitOK {
		t.Errorf("a bad filter: exit %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(dir, "y.db")); err == nil {
		t.Error("a failed backup left its file")
	}
}

// exportBody is an export without its header line, which holds the time
// of the export and the store it came from.
func exportBody(export string) string {
	_, rest, _ := strings.Cut(export, "\n")
	return rest
}
