package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestMergeRenumbering: two laptops each numbered their own three versions
// of a model @1..@3; merging B into A renumbers B's to @4..@6, and merge
// prints each old reference with its new one (and -o json lists them).
// --dry-run prints the same and leaves the file as it was.
func TestMergeRenumbering(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	laptop := func(name string, start int) string {
		path := filepath.Join(dir, name)
		for i := range 3 {
			at := t0.Add(time.Duration(start+i) * time.Hour)
			tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithClock(func() time.Time { return at }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model"); err != nil {
				t.Fatal(err)
			}
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	a, b := laptop("a.db", 0), laptop("b.db", 10)
	repl := []string{dir + string(filepath.Separator), "<dir>/"}

	before, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	r := runFixture(t, "merge", b, "--db", a, "--dry-run")
	if r.code != exitOK {
		t.Fatalf("merge --dry-run: exit %d: %s", r.code, r.stderr)
	}
	golden(t, "merge_dry_run/stdout", normalize(r.stdout, repl...))
	if after, err := os.ReadFile(a); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("merge --dry-run changed the database file (%v)", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(a + suffix); err == nil {
			t.Errorf("merge --dry-run left %s", suffix)
		}
	}

	r = runFixture(t, "merge", b, "--db", a)
	if r.code != exitOK {
		t.Fatalf("merge: exit %d: %s", r.code, r.stderr)
	}
	golden(t, "merge_renumbered/stdout", normalize(r.stdout, repl...))
	// Merging B again adds nothing and renumbers nothing: the renumberings
	// of the first merge are not printed again.
	r = runFixture(t, "merge", b, "--db", a)
	if r.code != exitOK {
		t.Fatalf("second merge: exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "Renumbered") || strings.Contains(r.stdout, "->") {
		t.Errorf("the second merge repeats the first one's renumberings:\n%s", r.stdout)
	}
	golden(t, "merge_again/stdout", normalize(r.stdout, repl...))
	tr, err := metatrack.Open(ctx, a, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := tr.Versions(ctx, metatrack.Resource{ID: "model/titanic_model"})
	tr.Close()
	if err != nil || len(vs) != 6 || !vs[5].CreatedAt.Equal(t0.Add(12*time.Hour)) {
		t.Fatalf("after the merge: %d versions, %v", len(vs), err)
	}

	// The same merge into a fresh copy of A, as JSON.
	c := filepath.Join(dir, "c.db")
	if err := os.WriteFile(c, before, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runFixture(t, "merge", b, "--db", c, "-o", "json")
	if r.code != exitOK {
		t.Fatalf("merge -o json: exit %d: %s", r.code, r.stderr)
	}
	golden(t, "merge_renumbered_json/stdout", normalize(r.stdout, repl...))
}

// TestExportFilterKeepsLineage: a model version exported by a filter and
// imported elsewhere still knows the dataset version it was trained on;
// --no-lineage leaves it out.
func TestExportFilterKeepsLineage(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	for _, tc := range []struct {
		name  string
		extra []string
		want  bool
	}{{"lineage", nil, true}, {"no-lineage", []string{"--no-lineage"}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".jsonl")
			args := append([]string{"export", "--db", db, "--filter", "type = 'model_version' AND version = 2", "--out", file}, tc.extra...)
			if r := runFixture(t, args...); r.code != exitOK {
				t.Fatalf("export: exit %d: %s", r.code, r.stderr)
			}
			dst := filepath.Join(dir, tc.name+".db")
			if r := runFixture(t, "import", file, "--db", dst); r.code != exitOK {
				t.Fatalf("import: exit %d: %s", r.code, r.stderr)
			}
			r := runFixture(t, "lineage", "model_version/titanic_model@2", "--up", "--db", dst)
			if r.code != exitOK {
				t.Fatalf("lineage: exit %d: %s", r.code, r.stderr)
			}
			if got := strings.Contains(r.stdout, "dataset_version/titanic_train@2"); got != tc.want {
				t.Errorf("the imported version's upstream lineage shows its dataset version: %v, want %v\n%s", got, tc.want, r.stdout)
			}
		})
	}
	if r := runFixture(t, "export", "--db", db, "--no-lineage"); r.code != exitUsage {
		t.Errorf("--no-lineage without --filter: exit %d, want %d", r.code, exitUsage)
	}
}
