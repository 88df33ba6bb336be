package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage/postgres"
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
		"metadata.auc <= 0.7 ORDER BY metadata.auc",
		"metadata.auc LIKE 'h%' ORDER BY metadata.auc DESC",
		"metadata.auc = 'high' AND type = 'model' ORDER BY metadata.auc",
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

// TestIndexOrder: a page ordered by a metadata value that its predicate
// confines to numbers (or strings) reads the predicate's metadata rows in
// that order, so that PostgreSQL can walk metadata_key_num (or _str) and
// stop at the page's end; without such a predicate the sort keys are
// computed for each row (TestSearchAgreesWithSQLite checks that both
// return SQLite's rows).
func TestIndexOrder(t *testing.T) {
	for src, want := range map[string]string{
		"metadata.acc > 0.9 ORDER BY metadata.acc DESC": "SELECT r.seq, 0 AS sort_0, dm.num AS sort_1, NULL AS sort_2 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq " +
			"WHERE (dm.key = ? AND dm.num IS NOT NULL AND dm.num > CAST(? AS double precision) AND r.deleted_at IS NULL) ORDER BY dm.num DESC, dm.resource_seq LIMIT 10",
		"metadata.fw LIKE 'x%' ORDER BY metadata.fw": `SELECT r.seq, 1 AS sort_0, NULL AS sort_1, dm.str COLLATE "C" AS sort_2 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq ` +
			`WHERE (dm.key = ? AND dm.str IS NOT NULL AND dm.str LIKE ? ESCAPE '\' AND r.deleted_at IS NULL) ORDER BY dm.str COLLATE "C" ASC, dm.resource_seq LIMIT 10`,
		"type = 'model' ORDER BY metadata.acc": "SELECT r.seq, (SELECT CASE",
	} {
		q, err := query.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		c, err := query.Compile(q, query.Options{Dialect: postgres.Dialect{}, Limit: 10, Deleted: query.NotDeleted})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.Select.ToSql()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", src, got, want)
		}
	}
}
