package metatrack_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestMergeRenumberingsAndDryRun: a merge that renumbers says which member
// gave up which number, and a dry run reports exactly what the merge then
// does, without changing a byte of the file.
func TestMergeRenumberingsAndDryRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	clock := func(min int) metatrack.Option {
		return metatrack.WithClock(func() time.Time { return portT0.Add(time.Duration(min) * time.Minute) })
	}
	ids := map[string]string{} // author -> id of the version written
	write := func(path string, min int, author string, artifact bool) {
		tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), clock(min))
		portCheck(t, err)
		mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "churn")
		portCheck(t, err)
		ids[author] = mv.ID
		if artifact {
			src := filepath.Join(t.TempDir(), "model.bin")
			portCheck(t, os.WriteFile(src, bytes.Repeat([]byte(author), 1000), 0o644))
			_, err = tr.LogArtifact(ctx, mv, "model.bin", src)
			portCheck(t, err)
		}
		portCheck(t, tr.Close())
	}
	write(a, 0, "first", false)
	copied, err := os.ReadFile(a)
	portCheck(t, err)
	portCheck(t, os.WriteFile(b, copied, 0o644))
	write(a, 20, "ann", false) // churn@2 in a, at minute 20
	write(a, 30, "amy", false) // churn@3 in a
	write(b, 10, "bob", true)  // churn@2 in b, at minute 10, with bytes a lacks
	write(b, 40, "ben", false) // churn@3 in b, at minute 40

	before := fileBytes(t, a)
	tr, err := metatrack.Open(ctx, a, metatrack.WithoutRun())
	portCheck(t, err)
	dry, err := tr.Merge(ctx, b, metatrack.WithDryRun())
	portCheck(t, err)
	if !dry.DryRun {
		t.Error("the stats of a dry run do not say so")
	}
	if vs, err := tr.Versions(ctx, metatrack.Resource{ID: "model/churn"}); err != nil || len(vs) != 3 {
		t.Fatalf("after the dry run the chain has %d versions (%v), want 3", len(vs), err)
	}
	portCheck(t, tr.Close())
	if after := fileBytes(t, a); !bytes.Equal(before[0], after[0]) {
		t.Fatal("the dry run changed the database file")
	}

	tr = portOpen(t, a)
	st, err := tr.Merge(ctx, b)
	portCheck(t, err)
	// By creation time: first@1, bob@2 (b's number kept), ann@3 (was 2
	// here), amy@4 (was 3 here), ben@5 (was 3 in b).
	want := []metatrack.Renumbering{
		{ID: ids["ann"], Type: metatrack.TypeModelVersion, Name: "churn", Old: 2, New: 3},
		{ID: ids["amy"], Type: metatrack.TypeModelVersion, Name: "churn", Old: 3, New: 4},
		{ID: ids["ben"], Type: metatrack.TypeModelVersion, Name: "churn", Old: 3, New: 5, Incoming: true},
	}
	if !reflect.DeepEqual(st.Renumberings, want) {
		t.Errorf("renumberings = %+v\nwant %+v", st.Renumberings, want)
	}
	if st.Renumbered != int64(len(want)) {
		t.Errorf("renumbered = %d, want %d", st.Renumbered, len(want))
	}
	dry.DryRun = false
	if !reflect.DeepEqual(dry, st) {
		t.Errorf("the dry run said\n%+v\nthe merge did\n%+v", dry, st)
	}
	for author, v := range map[string]int{"first": 1, "bob": 2, "ann": 3, "amy": 4, "ben": 5} {
		got, err := tr.GetResource(ctx, ids[author], "")
		portCheck(t, err)
		if got.Version != v {
			t.Errorf("%s's version is @%d, want @%d", author, got.Version, v)
		}
	}
	if rep, err := tr.Verify(ctx); err != nil {
		t.Errorf("verify after the merge: %v %v", err, rep.Problems)
	}
}
