package metatracktest

import (
	"testing"

	"github.com/metatrack/metatrack"
)

// testAliases: set, move and remove an alias; refs and queries by alias;
// the history of each change.
func (s suite) testAliases(t *testing.T) {
	tr := s.open(t)
	v1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	v2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	t.Run("OK", func(t *testing.T) {
		must(tr.SetAlias(ctx, v1, "champion")).of(t)
		if got := must(tr.GetResource(ctx, "model_version/m@champion", "")).of(t); got.ID != v1.ID {
			t.Fatalf("@champion = %s, want @1", got.Ref())
		}
		must(tr.SetAlias(ctx, v2, "champion")).of(t)
		if got := must(tr.GetResource(ctx, "model_version/m@champion", "")).of(t); got.ID != v2.ID {
			t.Fatalf("@champion after the move = %s, want @2", got.Ref())
		}
		if found := must(tr.SearchAll(ctx, "alias = 'champion'")).of(t); len(found) != 1 || found[0].ID != v2.ID {
			t.Fatalf("alias = 'champion' found %v", found)
		}
		als := must(tr.Aliases(ctx, metatrack.Resource{ID: "model/m"})).of(t)
		if len(als) != 1 || als[0].Name != "champion" || als[0].Version.ID != v2.ID {
			t.Fatalf("Aliases(model) = %+v", als)
		}
		noErr(t, tr.RemoveAlias(ctx, v1, "champion"))
		wantErr(t, must(tr.GetResource(ctx, "model_version/m@champion", "")).err, metatrack.ErrNotFound)
		n := 0
		for _, c := range must(tr.History(ctx, metatrack.Resource{ID: "model/m"})).of(t) {
			if c.Kind == metatrack.ChangeAlias {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("%d alias changes in the model's history, want set, move, remove", n)
		}
	})
	t.Run("ErrInvalidArgument", func(t *testing.T) {
		for _, name := range []string{"", "3", "latest", "a@b", "a/b", "a b"} {
			wantErr(t, must(tr.SetAlias(ctx, v1, name)).err, metatrack.ErrInvalidArgument)
		}
		wantErr(t, must(tr.SetAlias(ctx, metatrack.Resource{ID: "model/m"}, "champion")).err, metatrack.ErrInvalidArgument)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		wantErr(t, tr.RemoveAlias(ctx, v1, "nosuch"), metatrack.ErrNotFound)
	})
}

// testDeleteRestore: a deleted resource and what hangs under it are hidden
// from lookups, searches and a chain's latest, numbers are not reused, a
// deployed version is refused, and restore brings them back.
func (s suite) testDeleteRestore(t *testing.T) {
	tr := s.open(t)
	v1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	v2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "e", metatrack.WithParent(v2.ID))).of(t)
	noErr(t, tr.LogMetadata(ctx, v2, "auc", 0.9))
	t.Run("OK", func(t *testing.T) {
		if del := must(tr.DeleteResource(ctx, v2)).of(t); len(del) != 2 {
			t.Fatalf("deleted %d resources, want the version and its experiment", len(del))
		}
		for _, id := range []string{v2.ID, exp.ID} {
			wantErr(t, must(tr.GetResource(ctx, id, "")).err, metatrack.ErrDeleted)
		}
		if got := must(tr.GetResource(ctx, "model_version/m", "")).of(t); got.ID != v1.ID {
			t.Fatalf("latest after delete = %s, want @1", got.Ref())
		}
		if found := must(tr.SearchAll(ctx, "metadata.auc > 0")).of(t); len(found) != 0 {
			t.Fatalf("search found deleted %v", found)
		}
		if v3 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t); v3.Version != 3 {
			t.Fatalf("a new version after a deleted @2 is @%d, want @3", v3.Version)
		}
		if back := must(tr.RestoreResource(ctx, v2)).of(t); len(back) != 2 {
			t.Fatalf("restored %d resources, want 2", len(back))
		}
		must(tr.GetResource(ctx, exp.ID, "")).of(t)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		must(tr.Deploy(ctx, v1)).of(t)
		wantErr(t, must(tr.DeleteResource(ctx, v1)).err, metatrack.ErrConflict)
		wantErr(t, must(tr.RestoreResource(ctx, v1)).err, metatrack.ErrConflict)
	})
	t.Run("DeleteMetadata", func(t *testing.T) {
		noErr(t, tr.DeleteMetadata(ctx, v2, "auc"))
		wantErr(t, must(tr.GetMetadata(ctx, v2, "auc")).err, metatrack.ErrNotFound)
	})
	t.Run("Many", func(t *testing.T) {
		// All or none: the deployed v1 refuses, so v2 stays too.
		wantErr(t, must(tr.DeleteResources(ctx, []metatrack.Resource{v2, v1})).err, metatrack.ErrConflict)
		must(tr.GetResource(ctx, v2.ID, "")).of(t)
		wantErr(t, must(tr.DeleteResources(ctx, []metatrack.Resource{{ID: "model_version/nosuch"}})).err, metatrack.ErrNotFound)
		a := must(tr.CreateResource(ctx, metatrack.TypeDataset, "a")).of(t)
		b := must(tr.CreateResource(ctx, metatrack.TypeDataset, "b")).of(t)
		del := must(tr.DeleteResources(ctx, []metatrack.Resource{{ID: "dataset/a"}, v2})).of(t)
		if len(del) != 2 || len(del[0]) != 1 || del[0][0].ID != a.ID || len(del[1]) != 2 || del[1][0].ID != v2.ID {
			t.Fatalf("DeleteResources = %v, want [[a] [v2 exp]]", del)
		}
		// A restore that fails half-way restores nothing.
		wantErr(t, must(tr.RestoreResources(ctx, []metatrack.Resource{a, b})).err, metatrack.ErrConflict)
		wantErr(t, must(tr.GetResource(ctx, a.ID, "")).err, metatrack.ErrDeleted)
		back := must(tr.RestoreResources(ctx, []metatrack.Resource{a, v2})).of(t)
		if len(back) != 2 || back[0][0].ID != a.ID || len(back[1]) != 2 {
			t.Fatalf("RestoreResources = %v", back)
		}
		must(tr.GetResource(ctx, exp.ID, "")).of(t)
	})
}
