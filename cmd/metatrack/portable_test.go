package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestExportImportMerge moves the fixture through an export file into a
// new database, and through merge into another, and checks that they hold
// the same, and that doing it again changes nothing.
func TestExportImportMerge(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	export := filepath.Join(dir, "fixture.jsonl")
	transfer := func(args ...string) transferJSON {
		t.Helper()
		r := runFixture(t, append(args, "-o", "json")...)
		if r.code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		var out transferJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ex := transfer("export", "--db", db, "--out", export)
	if ex.Records == 0 || ex.Kinds["resource"] != 16 || ex.Bytes != 107 {
		t.Fatalf("export: %+v", ex)
	}

	copyDB := filepath.Join(dir, "copy.db")
	im := transfer("import", export, "--db", copyDB)
	if im.Records != ex.Records || im.Added == 0 {
		t.Errorf("import: %+v", im)
	}
	if again := transfer("import", export, "--db", copyDB); again.Added != 0 || again.Updated != 0 {
		t.Errorf("importing again changed %d and %d records", again.Added, again.Updated)
	}
	sameStats(t, db, copyDB)

	// From stdin, filtered.
	part := filepath.Join(dir, "part.jsonl")
	transfer("export", "--db", db, "--out", part, "--filter", "type = 'prediction_job'")
	f, err := os.Open(part)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stdout, stderr strings.Builder
	a := fixtureApp(nil, nil)
	a.stdin, a.stdout, a.stderr = f, &stdout, &stderr
	if code := a.execute(t.Context(), []string{"import", "-", "--db", filepath.Join(dir, "part.db")}); code != exitOK {
		t.Fatalf("import -: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Imported stdin into") {
		t.Errorf("import -: %s", stdout.String())
	}

	merged := filepath.Join(dir, "merged.db")
	transfer("import", part, "--db", merged)
	mg := transfer("merge", db, "--db", merged)
	if mg.Added == 0 {
		t.Errorf("merge: %+v", mg)
	}
	sameStats(t, db, merged)
	if again := transfer("merge", db, "--db", merged); again.Added != 0 || again.Updated != 0 {
		t.Errorf("merging again changed %d and %d records", again.Added, again.Updated)
	}

	// Export to stdout is the export itself.
	r := runFixture(t, "export", "--db", db)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, `{"format":"metatrack-export"`) || r.stderr != "" {
		t.Errorf("export to stdout: exit %d, stdout %.80q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// Failures.
	for name, args := range map[string][]string{
		"MergeMissing":   {"merge", filepath.Join(dir, "none.db"), "--db", merged},
		"MergeItself":    {"merge", merged, "--db", merged},
		"ImportMissing":  {"import", filepath.Join(dir, "none.jsonl"), "--db", merged},
		"ImportGarbage":  {"import", db, "--db", filepath.Join(dir, "garbage.db")},
		"ExportBadQuery": {"export", "--filter", "type =", "--db", db},
	} {
		if r := runFixture(t, args...); r.code != exitFailure || r.stderr == "" {
			t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "garbage.db")); err == nil {
		t.Error("a failed import left the database it created")
	}
}

// sameStats fails unless the databases hold the same numbers of things.
func sameStats(t *testing.T, a, b string) {
	t.Helper()
	stats := func(db string) statsJSON {
		r := runFixture(t, "stats", "--db", db, "-o", "json")
		var s statsJSON
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatal(err)
		}
		s.Database = fileJSON{}
		return s
	}
	sa, sb := stats(a), stats(b)
	ja, _ := json.Marshal(sa)
	jb, _ := json.Marshal(sb)
	if string(ja) != string(jb) {
		t.Errorf("%s and %s differ:\n%s\n%s", a, b, ja, jb)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	r := runFixture(t, "verify", "--db", db)
	if r.code != exitOK || !strings.Contains(r.stdout, "No problems found.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	corruptArtifact(t, db, "model.json")
	repl := []string{dir + string(filepath.Separator), "<dir>/"}
	r = runFixture(t, "verify", "--db", db)
	if r.code != exitFailure || !strings.Contains(r.stdout, "blob") || !strings.Contains(r.stderr, "problem") {
		t.Errorf("corrupt: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The damage is named by the artifacts it breaks, not only by a hash.
	golden(t, "verify_damaged/stdout", normalize(r.stdout, repl...))
	golden(t, "verify_damaged/stderr", normalize(r.stderr, repl...))
	r = runFixture(t, "verify", "--db", db, "-o", "json")
	var v verifyJSON
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatal(err)
	}
	if r.code != exitFailure || v.OK || len(v.Problems) == 0 || v.Problems[0].Kind == "" {
		t.Errorf("corrupt -o json: exit %d, %+v", r.code, v)
	}
	golden(t, "verify_damaged_json/stdout", normalize(r.stdout, repl...))
	if r := runFixture(t, "verify", "--db", filepath.Join(dir, "none.db")); r.code != exitFailure {
		t.Errorf("missing database: exit %d", r.code)
	}
}

func TestGC(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	gc := func(args ...string) gcJSON {
		t.Helper()
		r := runFixture(t, append([]string{"gc", "--db", db, "-o", "json"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("gc %v: exit %d: %s", args, r.code, r.stderr)
		}
		var g gcJSON
		if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := gc("--dry-run"); !g.DryRun || g.Blobs != 0 {
		t.Errorf("dry run: %+v", g)
	}
	// Logging model.json again leaves its first bytes to nothing.
	ctx := t.Context()
	tr, err := metatrack.Open(ctx, db, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "model2.json")
	os.WriteFile(src, []byte(`{"weights": []}`), 0o644)
	if _, err := tr.LogArtifact(ctx, metatrack.Resource{ID: "model_version/titanic_model@2"}, "model.json", src); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if g := gc("--dry-run"); !g.DryRun || g.Blobs != 1 || g.Bytes != int64(len(fixtureModelJSON)) {
		t.Errorf("dry run: %+v", g)
	}
	if g := gc("--dry-run"); g.Blobs != 1 {
		t.Errorf("the dry run removed something: %+v", g)
	}
	if g := gc("--vacuum"); g.DryRun || !g.Vacuumed || g.SizeBytes == 0 || g.Blobs != 1 {
		t.Errorf("gc --vacuum: %+v", g)
	}
	if r := runFixture(t, "gc", "--db", db); r.code != exitOK || !strings.HasPrefix(r.stdout, "Removed 0 stored files") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	if r := runFixture(t, "verify", "--db", db); r.code != exitOK {
		t.Errorf("after gc: %s", r.stdout)
	}
}

// TestImportCountsIntoNewFile: importing into a new file adds every
// record, the chunks of the artifact bytes too; importing again adds none.
func TestImportCountsIntoNewFile(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	file := filepath.Join(dir, "all.jsonl")
	if r := runFixture(t, "export", "--db", db, "--out", file); r.code != exitOK {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	fresh := filepath.Join(dir, "fresh.db")
	for i, wantAdded := range []bool{true, false} {
		r := runFixture(t, "import", file, "--db", fresh, "-o", "json")
		var tj transferJSON
		if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &tj) != nil {
			t.Fatalf("import %d: exit %d: %s%s", i, r.code, r.stdout, r.stderr)
		}
		if tj.Kinds["chunk"] == 0 {
			t.Fatalf("the fixture has no artifact bytes: %+v", tj.Kinds)
		}
		want := int64(0)
		if wantAdded {
			want = tj.Records
		}
		if tj.Added != want || tj.Updated != 0 {
			t.Errorf("import %d: %d records, %d added, %d updated; want %d added", i, tj.Records, tj.Added, tj.Updated, want)
		}
	}
}
