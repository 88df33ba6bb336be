package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestSearchAgreesWithSQLite writes the same resources through the tracker
// into a SQLite file and a PostgreSQL store and requires every search to
// return the same resources in the same order, page by page: the query
// language's PostgreSQL dialect, wired through the engine, end to end.
func TestSearchAgreesWithSQLite(t *testing.T) {
	ctx := context.Background()
	lite, err := metatrack.Open(ctx, filepath.Join(t.TempDir(), "m.db"), metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := metatrack.Open(ctx, testURL(t), metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	for i := range 60 {
		name := fmt.Sprint(pick("titanic", "Iris", "iris", "émile", "zeta", "a b"))
		attrs := map[string]any{"lr": pick(0.1, 0.01, 1, "0.1", true), "trainer": pick("xgb", "XGB", "lgbm")}
		typ := fmt.Sprint(pick(metatrack.TypeModel, metatrack.TypeDataset))
		name = fmt.Sprintf("%s-%d", name, i)
		tag := fmt.Sprint(pick("prod", "dev", "Prod", "é", "12", "7.5"))
		auc := pick(0.5, 0.93, 0.7, "high", false, nil, map[string]any{"v": 1.0})
		for _, tr := range []*metatrack.Tracker{lite, pg} {
			r, err := tr.CreateResource(ctx, typ, name, metatrack.WithAttrs(attrs))
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.LogTag(ctx, r, "env", tag); err != nil {
				t.Fatal(err)
			}
			if err := tr.LogMetadata(ctx, r, "auc", auc); err != nil {
				t.Fatal(err)
			}
			if i%7 == 0 {
				if _, err := tr.DeleteResource(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, filter := range []string{
		"",
		"tags.env = 'prod'",
		"tags.env > 'dev' ORDER BY tags.env DESC",
		"tags.env > 8",
		"tags.env ILIKE 'p%'",
		"name LIKE 'i%' ORDER BY name",
		"ORDER BY name DESC",
		"metadata.auc > 0.6 ORDER BY metadata.auc DESC",
		"ORDER BY metadata.auc",
		"metadata.auc = false OR metadata.auc = 'high'",
		"metadata.auc IS NULL",
		"EXISTS metadata.auc.v",
		"attrs.lr = 0.1",
		"attrs.lr = '0.1' OR attrs.lr = true",
		"attrs.lr < 1 ORDER BY attrs.lr DESC, name",
		"ORDER BY attrs.trainer, attrs.lr DESC",
		"type = 'model' AND NOT attrs.trainer = 'xgb' ORDER BY created_at DESC",
	} {
		for _, size := range []int{0, 7} {
			want, got := searchNames(t, lite, filter, size), searchNames(t, pg, filter, size)
			if len(want) == 0 {
				t.Errorf("%q: no resources; the data does not test it", filter)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%q pages of %d:\n got %v\nwant %v", filter, size, got, want)
			}
		}
	}
}

// searchNames returns the names of every page of a search.
func searchNames(t *testing.T, tr *metatrack.Tracker, filter string, size int) []string {
	t.Helper()
	out := []string{}
	cursor := ""
	for range 100 {
		opts := []metatrack.SearchOption{metatrack.WithCursor(cursor)}
		if size > 0 {
			opts = append(opts, metatrack.WithPageSize(size))
		}
		page, err := tr.Search(context.Background(), filter, opts...)
		if err != nil {
			t.Fatalf("Search(%q): %v", filter, err)
		}
		for _, r := range page.Resources {
			out = append(out, r.Name)
		}
		if cursor = page.Next; cursor == "" {
			return out
		}
	}
	t.Fatalf("%q: too many pages", filter)
	return nil
}
