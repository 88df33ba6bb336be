package metatrack_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// aliasFixture creates model_version/titanic_model@1..n.
func aliasFixture(t *testing.T, tr *metatrack.Tracker, n int) []metatrack.Resource {
	t.Helper()
	var mvs []metatrack.Resource
	for range n {
		mv, err := tr.CreateResource(context.Background(), metatrack.TypeModelVersion, "titanic_model")
		if err != nil {
			t.Fatal(err)
		}
		mvs = append(mvs, mv)
	}
	return mvs
}

func TestAliasSetMoveRemove(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := MustOpen(t, metatrack.WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }),
		metatrack.WithRunName("registry"))
	mvs := aliasFixture(t, tr, 3)

	a, err := tr.SetAlias(ctx, mvs[1], "champion")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "champion" || a.Version.ID != mvs[1].ID || a.Head.Ref() != "model/titanic_model" || a.RunID != tr.Run().ID {
		t.Fatalf("SetAlias = %+v", a)
	}
	if _, err := tr.SetAlias(ctx, mvs[0], "staging"); err != nil {
		t.Fatal(err)
	}
	afterFirst := clock

	// The reference works wherever references do.
	got, err := tr.GetResource(ctx, "model_version/titanic_model@champion", "")
	if err != nil || got.ID != mvs[1].ID {
		t.Fatalf("GetResource(@champion) = %v, %v; want version 2", got.Ref(), err)
	}
	if err := tr.LogTag(ctx, metatrack.Resource{ID: "model_version/titanic_model@champion"}, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := tr.GetTag(ctx, mvs[1], "k"); err != nil || v != "v" {
		t.Fatalf("tag logged through the alias went to %q, %v", v, err)
	}

	// Move it: the same name, another version; setting it again is no change.
	if _, err := tr.SetAlias(ctx, mvs[2], "champion"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetAlias(ctx, mvs[2], "champion"); err != nil {
		t.Fatal(err)
	}
	got, err = tr.GetResource(ctx, "model_version/titanic_model@champion", "")
	if err != nil || got.ID != mvs[2].ID {
		t.Fatalf("after the move @champion = %v, %v; want version 3", got.Ref(), err)
	}
	all, err := tr.Aliases(ctx, metatrack.Resource{ID: "model/titanic_model"})
	if err != nil || len(all) != 2 || all[0].Name != "champion" || all[0].Version.Version != 3 || all[1].Name != "staging" || all[1].Version.Version != 1 {
		t.Fatalf("Aliases(model) = %+v, %v", all, err)
	}
	of, err := tr.Aliases(ctx, mvs[1])
	if err != nil || len(of) != 0 {
		t.Fatalf("Aliases(version 2) after the move = %+v, %v; want none", of, err)
	}

	// The head's history has each change with its run.
	hist, err := tr.History(ctx, metatrack.Resource{ID: "model/titanic_model"})
	if err != nil {
		t.Fatal(err)
	}
	var moves []metatrack.Change
	for _, c := range hist {
		if c.Kind == metatrack.ChangeAlias {
			moves = append(moves, c)
		}
	}
	if len(moves) != 3 {
		t.Fatalf("alias history = %+v, want set, set, move", moves)
	}
	last := moves[2]
	if last.Key != "champion" || last.RunID != tr.Run().ID || last.Old.(map[string]any)["id"] != mvs[1].ID || last.New.(map[string]any)["id"] != mvs[2].ID {
		t.Fatalf("move entry = %+v", last)
	}

	// StateAt shows the aliases at a time, for the model and the version.
	st, err := tr.StateAt(ctx, metatrack.Resource{ID: "model/titanic_model"}, afterFirst)
	if err != nil || st.Aliases["champion"] != mvs[1].ID || st.Aliases["staging"] != mvs[0].ID {
		t.Fatalf("StateAt(model, before the move).Aliases = %v, %v", st.Aliases, err)
	}
	st, err = tr.StateAt(ctx, mvs[1], afterFirst)
	if err != nil || len(st.Aliases) != 1 || st.Aliases["champion"] != mvs[1].ID {
		t.Fatalf("StateAt(version 2, before the move).Aliases = %v, %v", st.Aliases, err)
	}
	st, err = tr.StateAt(ctx, mvs[1], clock)
	if err != nil || len(st.Aliases) != 0 {
		t.Fatalf("StateAt(version 2, now).Aliases = %v, %v; want none", st.Aliases, err)
	}

	// Remove, by the model or by any version.
	if err := tr.RemoveAlias(ctx, mvs[0], "champion"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.GetResource(ctx, "model_version/titanic_model@champion", ""); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("@champion after removal: %v, want ErrNotFound", err)
	}
	if err := tr.RemoveAlias(ctx, metatrack.Resource{ID: "model/titanic_model"}, "champion"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("removing a removed alias: %v, want ErrNotFound", err)
	}
}

func TestAliasErrors(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	mvs := aliasFixture(t, tr, 1)
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "plain")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		res   metatrack.Resource
		alias string
	}{
		{"ErrEmpty", mvs[0], ""},
		{"ErrNumber", mvs[0], "12"},
		{"ErrLatest", mvs[0], "latest"},
		{"ErrAt", mvs[0], "a@b"},
		{"ErrSlash", mvs[0], "a/b"},
		{"ErrSpace", mvs[0], "a b"},
		{"ErrNUL", mvs[0], "a\x00"},
		{"ErrTooLong", mvs[0], string(make([]byte, metatrack.MaxKeyBytes+1))},
		{"ErrNotAVersion", ds, "champion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tr.SetAlias(ctx, tc.res, tc.alias); !errors.Is(err, metatrack.ErrInvalidArgument) {
				t.Fatalf("SetAlias(%q) = %v, want ErrInvalidArgument", tc.alias, err)
			}
		})
	}
	if _, err := tr.SetAlias(ctx, metatrack.Resource{ID: "model_version/nope@1"}, "champion"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("SetAlias on a missing version: %v", err)
	}
	if _, err := tr.GetResource(ctx, "model_version/titanic_model@nosuch", ""); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("unknown alias: %v", err)
	}
	// Alias names are per model.
	other, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "other_model")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetAlias(ctx, mvs[0], "champion"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetAlias(ctx, other, "champion"); err != nil {
		t.Fatal(err)
	}
	got, err := tr.GetResource(ctx, "model_version/other_model@champion", "")
	if err != nil || got.ID != other.ID {
		t.Fatalf("@champion of other_model = %v, %v", got.Ref(), err)
	}
}

func TestAliasQueries(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	mvs := aliasFixture(t, tr, 3)
	for alias, mv := range map[string]metatrack.Resource{"champion": mvs[2], "staging": mvs[2], "old": mvs[0]} {
		if _, err := tr.SetAlias(ctx, mv, alias); err != nil {
			t.Fatal(err)
		}
	}
	job, err := tr.CreateResource(ctx, metatrack.TypePredictionJob, "nightly", metatrack.WithParent("model_version/titanic_model@champion"))
	if err != nil || job.ParentID != mvs[2].ID {
		t.Fatalf("WithParent(@champion) = %v, %v", job.ParentID, err)
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"alias = 'champion'", []string{mvs[2].ID}},
		{"alias IN ('old', 'staging')", []string{mvs[0].ID, mvs[2].ID}},
		{"type = 'model_version' AND alias IS NULL", []string{mvs[1].ID}},
		{"type = 'model_version' AND NOT alias = 'champion'", []string{mvs[0].ID, mvs[1].ID}},
		{"alias LIKE 'st%'", []string{mvs[2].ID}},
		{"type = 'model_version' ORDER BY alias", []string{mvs[2].ID, mvs[0].ID, mvs[1].ID}},
		{"downstream_of('model_version/titanic_model@champion')", []string{job.ID}},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got, err := tr.SearchAll(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
	if _, err := tr.Search(ctx, "alias = 3"); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("alias = 3: %v, want ErrInvalidArgument", err)
	}
}

func TestAliasQueryWarnings(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	mvs := aliasFixture(t, tr, 1)
	if _, err := tr.SetAlias(ctx, mvs[0], "champion"); err != nil {
		t.Fatal(err)
	}
	w, err := tr.QueryWarnings(ctx, "alias = 'champion'")
	if err != nil || len(w) != 0 {
		t.Fatalf("warnings of a used alias: %v, %v", w, err)
	}
	w, err = tr.QueryWarnings(ctx, "alias IN ('champio')")
	if err != nil || len(w) != 1 || !strings.Contains(w[0].Msg, "did you mean 'champion'?") {
		t.Fatalf("warnings of an unused alias: %v, %v", w, err)
	}
}
