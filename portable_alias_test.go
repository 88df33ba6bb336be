package metatrack_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
)

// portAliasFixture writes a file with aliases, a deleted version, a deleted
// experiment and a purged version.
func portAliasFixture(t *testing.T, path string, clock func() time.Time) {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, path, metatrack.WithClock(clock), metatrack.WithRunName("registry"))
	portCheck(t, err)
	must := portMust[metatrack.Resource](t)
	var mvs []metatrack.Resource
	for range 4 {
		mvs = append(mvs, must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")))
	}
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mvs[1].ID)))
	portCheck(t, tr.LogTag(ctx, exp, "k", "v"))
	_, err = tr.SetAlias(ctx, mvs[1], "champion")
	portCheck(t, err)
	_, err = tr.SetAlias(ctx, mvs[2], "staging")
	portCheck(t, err)
	_, err = tr.DeleteResource(ctx, mvs[0])
	portCheck(t, err)
	_, err = tr.PurgeDeleted(ctx)
	portCheck(t, err)
	_, err = tr.DeleteResource(ctx, mvs[3])
	portCheck(t, err)
	_, err = tr.DeleteResource(ctx, exp)
	portCheck(t, err)
	portCheck(t, tr.Close())
}

func TestExportImportAliasesAndDeletion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portAliasFixture(t, src, portClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Second))
	data := portExport(t, src)
	for _, want := range []string{`"kind":"alias"`, `"kind":"purged"`, `"deleted_at":`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("export lacks %s", want)
		}
	}
	dst := filepath.Join(dir, "dst.db")
	tr := portOpen(t, dst)
	st, err := tr.Import(ctx, bytes.NewReader(data))
	portCheck(t, err)
	if st.Kinds[portable.KindAlias] != 2 || st.Kinds[portable.KindPurged] != 1 {
		t.Errorf("import stats %+v", st.Kinds)
	}
	portCheck(t, tr.Close())
	portSameDump(t, "import of an export", portDump(t, src), portDump(t, dst))

	tr = portOpen(t, dst)
	got, err := tr.GetResource(ctx, "model_version/titanic_model@champion", "")
	if err != nil || got.Version != 2 {
		t.Errorf("@champion after import = %v, %v", got.Ref(), err)
	}
	if _, err := tr.GetResource(ctx, "model_version/titanic_model@4", ""); !errors.Is(err, metatrack.ErrDeleted) {
		t.Errorf("the deleted version after import: %v, want ErrDeleted", err)
	}
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if err != nil || mv.Version != 5 {
		t.Errorf("a new version after import is @%d, %v; want @5 (1 purged, 4 deleted)", mv.Version, err)
	}
	rep, err := tr.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Errorf("verify after import: %v %v", rep.Problems, err)
	}
	// Importing again changes nothing.
	st, err = tr.Import(ctx, bytes.NewReader(data))
	portCheck(t, err)
	if st.Added != 0 || st.Updated != 0 {
		t.Errorf("second import added %d, updated %d", st.Added, st.Updated)
	}
}

// Two copies of one file move the same alias, and one restores a version
// the other deleted: after a merge either way, the later change wins and
// both moves are in the history.
func TestMergeAliasMoves(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr, err := metatrack.Open(ctx, base, metatrack.WithClock(portClock(t0, time.Second)))
	portCheck(t, err)
	must := portMust[metatrack.Resource](t)
	var mvs []metatrack.Resource
	for range 3 {
		mvs = append(mvs, must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")))
	}
	_, err = tr.SetAlias(ctx, mvs[0], "champion")
	portCheck(t, err)
	_, err = tr.DeleteResource(ctx, mvs[2])
	portCheck(t, err)
	portCheck(t, tr.Close())

	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	portCopy(t, base, a)
	portCopy(t, base, b)
	// Laptop A moves champion to @2 at t0+1h; laptop B restores @3 and
	// moves champion there at t0+2h, later.
	ta, err := metatrack.Open(ctx, a, metatrack.WithClock(portClock(t0.Add(time.Hour), time.Second)))
	portCheck(t, err)
	_, err = ta.SetAlias(ctx, mvs[1], "champion")
	portCheck(t, err)
	portCheck(t, ta.Close())
	tb, err := metatrack.Open(ctx, b, metatrack.WithClock(portClock(t0.Add(2*time.Hour), time.Second)))
	portCheck(t, err)
	_, err = tb.RestoreResource(ctx, mvs[2])
	portCheck(t, err)
	_, err = tb.SetAlias(ctx, mvs[2], "champion")
	portCheck(t, err)
	portCheck(t, tb.Close())

	for _, tc := range []struct{ name, into, from string }{{"BIntoA", a, b}, {"AIntoB", b, a}} {
		t.Run(tc.name, func(t *testing.T) {
			into := filepath.Join(t.TempDir(), "into.db")
			portCopy(t, tc.into, into)
			tr := portOpen(t, into)
			_, err := tr.Merge(ctx, tc.from)
			portCheck(t, err)
			got, err := tr.GetResource(ctx, "model_version/titanic_model@champion", "")
			if err != nil || got.ID != mvs[2].ID {
				t.Fatalf("@champion after merge = %v, %v; want @3, the later move", got.Ref(), err)
			}
			hist, err := tr.History(ctx, metatrack.Resource{ID: "model/titanic_model"})
			portCheck(t, err)
			// Entries a merge brings come after those of the file: by time,
			// they interleave.
			slices.SortStableFunc(hist, func(x, y metatrack.Change) int { return x.At.Compare(y.At) })
			var moves []string
			for _, c := range hist {
				if c.Kind == metatrack.ChangeAlias {
					moves = append(moves, c.New.(map[string]any)["id"].(string))
				}
			}
			if len(moves) != 3 || moves[0] != mvs[0].ID || moves[1] != mvs[1].ID || moves[2] != mvs[2].ID {
				t.Errorf("alias history after merge = %v, want the set and both moves", moves)
			}
			if _, err := tr.GetResource(ctx, mvs[2].ID, ""); err != nil {
				t.Errorf("@3, restored later in one file, after merge: %v", err)
			}
		})
	}
}

// One copy deletes a version, the other deploys it: after a merge either
// way the version is live (a deployed version is never deleted), the
// restore is recorded, and the file verifies.
func TestMergeDeletedAndDeployed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr, err := metatrack.Open(ctx, base, metatrack.WithClock(portClock(t0, time.Second)))
	portCheck(t, err)
	must := portMust[metatrack.Resource](t)
	mv1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model"))
	mv2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model"))
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv2.ID)))
	_ = mv1
	portCheck(t, tr.Close())
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	portCopy(t, base, a)
	portCopy(t, base, b)
	ta, err := metatrack.Open(ctx, a, metatrack.WithClock(portClock(t0.Add(2*time.Hour), time.Second)))
	portCheck(t, err)
	_, err = ta.DeleteResource(ctx, mv2)
	portCheck(t, err)
	portCheck(t, ta.Close())
	tb, err := metatrack.Open(ctx, b, metatrack.WithClock(portClock(t0.Add(time.Hour), time.Second)))
	portCheck(t, err)
	_, err = tb.Deploy(ctx, mv2)
	portCheck(t, err)
	portCheck(t, tb.Close())

	for _, tc := range []struct{ name, into, from string }{{"BIntoA", a, b}, {"AIntoB", b, a}} {
		t.Run(tc.name, func(t *testing.T) {
			into := filepath.Join(t.TempDir(), "into.db")
			portCopy(t, tc.into, into)
			tr := portOpen(t, into)
			_, err := tr.Merge(ctx, tc.from)
			portCheck(t, err)
			for _, r := range []metatrack.Resource{mv2, exp} {
				if _, err := tr.GetResource(ctx, r.ID, ""); err != nil {
					t.Errorf("%s after merge: %v, want live", r.Ref(), err)
				}
			}
			rep, err := tr.Verify(ctx)
			if err != nil || !rep.OK() {
				t.Errorf("verify after merge: %v %v", rep.Problems, err)
			}
			hist, err := tr.History(ctx, mv2)
			portCheck(t, err)
			if last := hist[len(hist)-1]; last.Kind != metatrack.ChangeRestored {
				t.Errorf("last change of the version = %+v, want the restore", last)
			}
		})
	}
}

// A purged number stays taken through a merge that renumbers its chain:
// the members are numbered around it.
func TestMergeRenumbersAroundPurged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ta, err := metatrack.Open(ctx, a, metatrack.WithClock(portClock(t0, time.Second)))
	portCheck(t, err)
	must := portMust[metatrack.Resource](t)
	var av []metatrack.Resource
	for range 3 {
		av = append(av, must(ta.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")))
	}
	_, err = ta.DeleteResource(ctx, av[1])
	portCheck(t, err)
	_, err = ta.PurgeDeleted(ctx)
	portCheck(t, err)
	portCheck(t, ta.Close())
	tb, err := metatrack.Open(ctx, b, metatrack.WithClock(portClock(t0.Add(time.Hour), time.Second)))
	portCheck(t, err)
	for range 2 {
		must(tb.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model"))
	}
	portCheck(t, tb.Close())

	for _, tc := range []struct{ name, into, from string }{{"BIntoA", a, b}, {"AIntoB", b, a}} {
		t.Run(tc.name, func(t *testing.T) {
			into := filepath.Join(t.TempDir(), "into.db")
			portCopy(t, tc.into, into)
			tr := portOpen(t, into)
			_, err := tr.Merge(ctx, tc.from)
			portCheck(t, err)
			vs, err := tr.Versions(ctx, metatrack.Resource{ID: "model/titanic_model"})
			portCheck(t, err)
			var nums []int
			for _, v := range vs {
				nums = append(nums, v.Version)
			}
			if !slices.Equal(nums, []int{1, 3, 4, 5}) {
				t.Errorf("versions after merge %v, want 1, 3, 4, 5 (2 purged)", nums)
			}
			rep, err := tr.Verify(ctx)
			if err != nil || !rep.OK() {
				t.Errorf("verify after merge: %v %v", rep.Problems, err)
			}
		})
	}
}
