package metatrack_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// delFixture is a dataset version, two model versions trained on it, an
// experiment and a prediction job under the second, and an artifact on the
// experiment.
type delFixture struct {
	dv, mv1, mv2, exp, job metatrack.Resource
}

func newDelFixture(t *testing.T, tr *metatrack.Tracker) delFixture {
	t.Helper()
	ctx := context.Background()
	must := func(r metatrack.Resource, err error) metatrack.Resource {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var f delFixture
	f.dv = must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic_train"))
	f.mv1 = must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model"))
	f.mv2 = must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model"))
	for _, mv := range []metatrack.Resource{f.mv1, f.mv2} {
		if err := tr.BuildModelLineage(ctx, mv, []metatrack.Resource{f.dv}); err != nil {
			t.Fatal(err)
		}
	}
	f.exp = must(tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(f.mv2.ID)))
	f.job = must(tr.CreateResource(ctx, metatrack.TypePredictionJob, "nightly", metatrack.WithParent(f.mv2.ID)))
	p := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(p, []byte(`{"weights":[1,2,3],"unique":"delete-test"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, f.exp, "model.json", p); err != nil {
		t.Fatal(err)
	}
	if err := tr.LogMetadata(ctx, f.mv2, "auc", 0.91); err != nil {
		t.Fatal(err)
	}
	return f
}

func ids(rs []metatrack.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestDeleteHidesEverywhereAndRestore(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	f := newDelFixture(t, tr)
	if _, err := tr.SetAlias(ctx, f.mv2, "champion"); err != nil {
		t.Fatal(err)
	}

	deleted, err := tr.DeleteResource(ctx, metatrack.Resource{ID: "model_version/titanic_model@2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(deleted); !slices.Equal(got, []string{f.mv2.ID, f.exp.ID, f.job.ID}) || deleted[0].DeletedAt.IsZero() {
		t.Fatalf("DeleteResource returned %v, want the version, its experiment and its job", got)
	}

	// Lookups by id and by reference, and what hangs under it.
	for _, key := range []string{f.mv2.ID, "model_version/titanic_model@2", f.exp.ID, f.job.ID, "model_version/titanic_model@champion"} {
		if _, err := tr.GetResource(ctx, key, ""); !errors.Is(err, metatrack.ErrNotFound) {
			t.Errorf("GetResource(%s) after delete: %v, want ErrNotFound", key, err)
		}
	}
	if err := tr.LogTag(ctx, f.mv2, "k", "v"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("LogTag on a deleted version: %v", err)
	}
	if _, err := tr.GetMetadata(ctx, f.mv2, "auc"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("GetMetadata on a deleted version: %v", err)
	}
	// The chain's latest is version 1 again; previous of a new version skips 2.
	latest, err := tr.GetResource(ctx, "model_version/titanic_model", "")
	if err != nil || latest.ID != f.mv1.ID {
		t.Errorf("latest after delete = %v, %v; want @1", latest.Ref(), err)
	}
	mv3, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if err != nil {
		t.Fatal(err)
	}
	if mv3.Version != 3 {
		t.Errorf("a version after a deleted one is @%d: numbers are never reused, want @3", mv3.Version)
	}
	prev, err := tr.GetPrevResourceVersion(ctx, mv3)
	if err != nil || prev.ID != f.mv1.ID {
		t.Errorf("previous of @3 = %v, %v; want @1", prev.Ref(), err)
	}
	// Listings, searches, lineage.
	found, err := tr.SearchAll(ctx, "type = 'model_version' OR parent = '"+f.mv1.ID+"' OR metadata.auc > 0")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(found); !slices.Equal(got, []string{f.mv1.ID, mv3.ID}) {
		t.Errorf("search after delete = %v", got)
	}
	found, err = tr.SearchAll(ctx, "downstream_of('"+f.dv.ID+"')")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(found); !slices.Equal(got, []string{f.mv1.ID}) {
		t.Errorf("downstream_of(dataset) after delete = %v, want @1 only", got)
	}
	g, err := tr.Downstream(ctx, f.dv, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.ID == f.mv2.ID || n.ID == f.exp.ID || n.ID == f.job.ID {
			t.Errorf("lineage walk reached deleted %s", n.ID)
		}
	}
	vs, err := tr.Versions(ctx, f.mv1)
	if err != nil || !slices.Equal(ids(vs), []string{f.mv1.ID, mv3.ID}) {
		t.Errorf("Versions after delete = %v, %v", ids(vs), err)
	}
	if _, err := tr.GetLatestModelResource(ctx, f.mv1, metatrack.TypePredictionJob); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("latest prediction job after its version was deleted: %v, want ErrNotFound", err)
	}
	st, err := tr.Stats(ctx)
	if err != nil || st.ByType[metatrack.TypeExperiment] != 0 || st.ByType[metatrack.TypeModelVersion] != 2 {
		t.Errorf("Stats after delete = %v, %v", st.ByType, err)
	}
	// The alias went with it, recorded; the deleted ones are listed apart.
	if al, err := tr.Aliases(ctx, f.mv1); err != nil || len(al) != 0 {
		t.Errorf("aliases after delete = %+v, %v", al, err)
	}
	del, err := tr.SearchAll(ctx, "", metatrack.WithDeleted())
	if err != nil || !slices.Equal(ids(del), []string{f.mv2.ID, f.exp.ID, f.job.ID}) {
		t.Errorf("SearchAll(WithDeleted) = %v, %v", ids(del), err)
	}
	// The history is kept and readable.
	hist, err := tr.History(ctx, f.exp)
	if err != nil || hist[len(hist)-1].Kind != metatrack.ChangeDeleted {
		t.Errorf("history of a deleted experiment: %v, %v", hist, err)
	}

	// Restore brings all three back, with the alias.
	restored, err := tr.RestoreResource(ctx, metatrack.Resource{ID: "model_version/titanic_model@2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(restored); !slices.Equal(got, []string{f.mv2.ID, f.exp.ID, f.job.ID}) {
		t.Fatalf("RestoreResource = %v", got)
	}
	got, err := tr.GetResource(ctx, "model_version/titanic_model@champion", "")
	if err != nil || got.ID != f.mv2.ID || !got.DeletedAt.IsZero() {
		t.Errorf("@champion after restore = %v, %v", got.Ref(), err)
	}
	if v, err := tr.GetMetadata(ctx, f.mv2, "auc"); err != nil || v != 0.91 {
		t.Errorf("metadata after restore = %v, %v", v, err)
	}
	found, err = tr.SearchAll(ctx, "downstream_of('"+f.dv.ID+"')")
	if err != nil || len(found) != 4 {
		t.Errorf("downstream_of after restore = %v, %v; want @1, @2, @3's none, the experiment and the job", ids(found), err)
	}
	if _, err := tr.RestoreResource(ctx, f.mv2); !errors.Is(err, metatrack.ErrConflict) {
		t.Errorf("restoring a live resource: %v, want ErrConflict", err)
	}
}

func TestDeleteRules(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	f := newDelFixture(t, tr)

	t.Run("ErrConflictDeployed", func(t *testing.T) {
		if _, err := tr.Deploy(ctx, f.mv2); err != nil {
			t.Fatal(err)
		}
		for _, r := range []metatrack.Resource{f.mv2, {ID: "model/titanic_model"}} {
			if _, err := tr.DeleteResource(ctx, r); !errors.Is(err, metatrack.ErrConflict) {
				t.Errorf("deleting %s with a deployed version: %v, want ErrConflict", r.ID, err)
			}
		}
		if _, err := tr.GetResource(ctx, f.mv2.ID, ""); err != nil {
			t.Errorf("refused delete changed something: %v", err)
		}
	})
	t.Run("ChildAloneThenParent", func(t *testing.T) {
		// The experiment deleted alone stays deleted when its version is
		// deleted and restored.
		if _, err := tr.DeleteResource(ctx, f.exp); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.DeleteResource(ctx, f.mv1); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.RestoreResource(ctx, f.mv1); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.GetResource(ctx, f.exp.ID, ""); !errors.Is(err, metatrack.ErrNotFound) {
			t.Errorf("separately deleted experiment came back with another restore: %v", err)
		}
	})
	t.Run("ErrConflictParentDeleted", func(t *testing.T) {
		ds, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "other_data")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.DeleteResource(ctx, metatrack.Resource{ID: "dataset/other_data"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.RestoreResource(ctx, ds); !errors.Is(err, metatrack.ErrConflict) {
			t.Errorf("restoring a version of a deleted dataset: %v, want ErrConflict", err)
		}
		// A deleted name is held: a new version of that dataset is refused.
		if _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "other_data"); !errors.Is(err, metatrack.ErrConflict) {
			t.Errorf("a new version of a deleted dataset: %v, want ErrConflict", err)
		}
		if _, err := tr.RestoreResource(ctx, metatrack.Resource{ID: "dataset/other_data"}); err != nil {
			t.Fatal(err)
		}
		if got, err := tr.GetResource(ctx, "dataset_version/other_data@1", ""); err != nil || got.ID != ds.ID {
			t.Errorf("version after restoring its dataset: %v, %v", got.Ref(), err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := tr.DeleteResource(ctx, metatrack.Resource{ID: "model_version/nope@1"}); !errors.Is(err, metatrack.ErrNotFound) {
			t.Errorf("delete of a missing resource: %v", err)
		}
		if _, err := tr.RestoreResource(ctx, metatrack.Resource{ID: "model_version/nope@1"}); !errors.Is(err, metatrack.ErrNotFound) {
			t.Errorf("restore of a missing resource: %v", err)
		}
	})
}

func TestDeleteTagAndMetadata(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	f := newDelFixture(t, tr)
	if err := tr.LogTag(ctx, f.mv2, "owner", "ana"); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteTag(ctx, f.mv2, "owner"); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteMetadata(ctx, f.mv2, "auc"); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteMetadata(ctx, f.mv2, "auc"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := tr.GetMetadata(ctx, f.mv2, "auc"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("metadata after delete: %v", err)
	}
	if found, err := tr.SearchAll(ctx, "metadata.auc > 0"); err != nil || len(found) != 0 {
		t.Fatalf("search after DeleteMetadata = %v, %v", ids(found), err)
	}
	hist, err := tr.History(ctx, f.mv2)
	if err != nil {
		t.Fatal(err)
	}
	c := hist[len(hist)-1]
	if c.Kind != metatrack.ChangeMetadata || c.Key != "auc" || c.Old != 0.91 || c.New != nil {
		t.Fatalf("last change = %+v, want the metadata deletion", c)
	}
}

func TestPurgeDeleted(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := MustOpen(t, metatrack.WithClock(func() time.Time { return clock }))
	f := newDelFixture(t, tr)
	if _, err := tr.DeleteResource(ctx, f.mv2); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(10 * 24 * time.Hour)
	if _, err := tr.DeleteResource(ctx, f.mv1); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(25 * 24 * time.Hour)

	// mv2 was deleted 35 days ago, mv1 25: only mv2 and what hangs under it.
	dry, err := tr.PurgeDeleted(ctx, metatrack.WithPurgeOlderThan(30*24*time.Hour), metatrack.WithDryRun())
	if err != nil || dry.Resources != 3 || dry.Artifacts != 1 {
		t.Fatalf("dry run = %+v, %v; want 3 resources, 1 artifact", dry, err)
	}
	if del, _ := tr.SearchAll(ctx, "", metatrack.WithDeleted()); len(del) != 4 {
		t.Fatalf("the dry run purged: %d deleted left", len(del))
	}
	st, err := tr.PurgeDeleted(ctx, metatrack.WithPurgeOlderThan(30*24*time.Hour))
	if err != nil || st != dry {
		t.Fatalf("purge = %+v, %v; want %+v", st, err, dry)
	}
	gc, err := tr.GC(ctx)
	if err != nil || gc.Blobs != 1 {
		t.Fatalf("GC after purge = %+v, %v; want the artifact's blob", gc, err)
	}
	del, err := tr.SearchAll(ctx, "", metatrack.WithDeleted())
	if err != nil || !slices.Equal(ids(del), []string{f.mv1.ID}) {
		t.Fatalf("deleted after purge = %v, %v; want @1 only", ids(del), err)
	}
	if _, err := tr.RestoreResource(ctx, f.mv2); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("restore of a purged version: %v, want ErrNotFound", err)
	}
	// The model's history says what was purged; numbers are not reused.
	hist, err := tr.History(ctx, metatrack.Resource{ID: "model/titanic_model"})
	if err != nil {
		t.Fatal(err)
	}
	if c := hist[len(hist)-1]; c.Kind != metatrack.ChangePurged || c.Key != f.mv2.ID {
		t.Fatalf("last change of the model = %+v, want the purge of @2", c)
	}
	if _, err := tr.PurgeDeleted(ctx); err != nil {
		t.Fatal(err)
	}
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if err != nil || mv.Version != 3 {
		t.Fatalf("a version after purging @1 and @2 is @%d, %v; want @3", mv.Version, err)
	}
	rep, err := tr.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after purge: %v, %v", rep.Problems, err)
	}
}

// A deleted child is not found by its parent-qualified reference either.
func TestDeleteQualifiedRef(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	f := newDelFixture(t, tr)
	ref := f.exp.Ref()
	if got, err := tr.GetResource(ctx, "model_version/titanic_model@2/experiment/trial-1", ""); err != nil || got.ID != f.exp.ID {
		t.Fatalf("qualified ref before delete (%s): %v, %v", ref, got.Ref(), err)
	}
	if _, err := tr.DeleteResource(ctx, f.exp); err != nil {
		t.Fatal(err)
	}
	_, err := tr.GetResource(ctx, "model_version/titanic_model@2/experiment/trial-1", "")
	if !errors.Is(err, metatrack.ErrNotFound) || !errors.Is(err, metatrack.ErrDeleted) {
		t.Fatalf("qualified ref after delete: %v, want ErrNotFound and ErrDeleted", err)
	}
}

func TestRestoreQualifiedRef(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	f := newDelFixture(t, tr)
	if _, err := tr.DeleteResource(ctx, f.exp); err != nil {
		t.Fatal(err)
	}
	got, err := tr.RestoreResource(ctx, metatrack.Resource{ID: "model_version/titanic_model@2/experiment/trial-1"})
	if err != nil || len(got) != 1 || got[0].ID != f.exp.ID {
		t.Fatalf("restore by qualified ref = %v, %v", ids(got), err)
	}
}

// Verify finds what the tracker never leaves: an alias to a deleted or
// foreign version, a live child of a deleted parent, a deleted deployed
// version.
func TestVerifyAliasesAndDeletion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	tr, err := metatrack.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := newDelFixture(t, tr)
	other, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "other_model")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		mv   metatrack.Resource
		name string
	}{{f.mv1, "champion"}, {f.mv2, "staging"}} {
		if _, err := tr.SetAlias(ctx, a.mv, a.name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Deploy(ctx, f.mv2); err != nil {
		t.Fatal(err)
	}
	if rep, err := tr.Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("verify before damage: %v %v", rep.Problems, err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE aliases SET version_seq = (SELECT seq FROM resources WHERE id = '` + other.ID + `') WHERE name = 'champion'`,
		`UPDATE resources SET deleted_at = 1 WHERE id = '` + f.mv2.ID + `'`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	tr, err = metatrack.Open(ctx, path, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rep, err := tr.Verify(ctx)
	if !errors.Is(err, metatrack.ErrCorrupt) {
		t.Fatalf("verify after damage: %v", err)
	}
	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
	}
	// champion to another chain, staging to a deleted version; the
	// experiment and the job live under the deleted @2, which is deployed.
	if kinds["alias"] != 2 || kinds["deleted"] != 3 {
		t.Fatalf("problems %v: %v", kinds, rep.Problems)
	}
}
