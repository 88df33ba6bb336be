package metatrack

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/metatrack/metatrack/query"
)

// TestSearchRowsAgree pages through many queries, of every ORDER BY kind,
// over a generated store (chains, children, runs, tags, metadata of every
// JSON type, attributes, metrics, aliases, deleted resources) and requires
// each page of Search, whose one statement returns the page's resource rows
// (query.Compiled.Rows), to be the page that the page statement of seqs
// (Compiled.Seqs) and then the rows of those seqs (ResourcesBySeqs)
// return: the same rows, column for column, in the same order, with the
// same cursor.
func TestSearchRowsAgree(t *testing.T) {
	ctx := context.Background()
	tr, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"), WithRunName("gen"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	var versions []Resource
	for i := range 120 {
		var r Resource
		var err error
		switch i % 4 {
		case 0, 1:
			r, err = tr.CreateResource(ctx, TypeModelVersion, fmt.Sprint(pick("iris", "titanic", "Zeta", "émile")),
				WithAttrs(map[string]any{"lr": pick(0.1, 0.01, 1, "0.1", true, nil), "nested": map[string]any{"x": pick(1, "a", 2.5)}}))
			versions = append(versions, r)
		case 2:
			r, err = tr.CreateResource(ctx, TypeExperiment, "", WithParent(versions[rng.IntN(len(versions))].ID),
				WithStatus(fmt.Sprint(pick("", "READY", "FAILED"))))
		default:
			r, err = tr.CreateResource(ctx, TypeDataset, fmt.Sprintf("ds-%d", i), WithAttr("trainer", pick("xgb", "XGB", "lgbm")))
		}
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(3) > 0 {
			if err := tr.LogTag(ctx, r, "env", fmt.Sprint(pick("prod", "dev", "Prod", "é", "12", "7.5"))); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(4) > 0 {
			auc := pick(0.5, 0.93, 0.7, 0.7, "high", "Low", false, nil, map[string]any{"v": pick(1.0, "b")}, int64(1)<<60)
			if err := tr.LogMetadata(ctx, r, "auc", auc); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(2) > 0 {
			if err := tr.LogMetric(ctx, r, "loss", float64(rng.IntN(5))/4); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, v := range versions[:6] {
		if _, err := tr.SetAlias(ctx, v, fmt.Sprint(pick("champion", "b", "a"), i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range versions[10:14] {
		if _, err := tr.DeleteResource(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	filters := []string{
		"",
		"ORDER BY name DESC",
		"ORDER BY created_at DESC, name",
		"ORDER BY version, status DESC",
		"ORDER BY parent, id",
		"ORDER BY run",
		"type = 'experiment' ORDER BY parent DESC",
		"tags.env = 'prod'",
		"tags.env = 'prod' ORDER BY tags.env",
		"tags.env > 'dev' ORDER BY tags.env DESC",
		"ORDER BY tags.env",
		"metadata.auc > 0.6 ORDER BY metadata.auc DESC",
		"metadata.auc <= 0.7 ORDER BY metadata.auc",
		"metadata.auc = 'high' OR metadata.auc = 0.7 ORDER BY metadata.auc DESC, name",
		"ORDER BY metadata.auc",
		"ORDER BY metadata.auc DESC",
		"type = 'model_version' ORDER BY metadata.auc",
		"ORDER BY metadata.auc.v DESC",
		"EXISTS metadata.auc.v ORDER BY metadata.auc.v",
		"ORDER BY attrs.lr DESC, attrs.nested.x",
		"attrs.trainer = 'xgb' ORDER BY attrs.trainer",
		"ORDER BY metrics.loss",
		"metrics.loss < 0.6 ORDER BY metrics.loss DESC",
		"type = 'model_version' ORDER BY metrics.loss DESC",
		"ORDER BY alias DESC",
		"alias LIKE 'champion%' ORDER BY alias",
		"tags.env = 'prod' ORDER BY metadata.auc DESC LIMIT 7",
		"ORDER BY name LIMIT 13",
		"parent IN ('model_version/iris@1', 'model_version/titanic@1', 'model_version/Zeta@1', 'model_version/iris@2') ORDER BY parent",
	}
	for _, filter := range filters {
		for _, deleted := range []bool{false, true} {
			for _, size := range []int{1, 5, 1000} {
				searchPagesAgree(t, tr, filter, size, deleted)
			}
		}
	}
}

// searchPagesAgree pages through filter with Search and, on the same
// cursors, with Seqs and ResourcesBySeqs, and fails t where they differ.
func searchPagesAgree(t *testing.T, tr *Tracker, filter string, size int, deleted bool) {
	t.Helper()
	ctx := context.Background()
	cursor, rows := "", 0
	for range 1000 {
		opts := []SearchOption{WithCursor(cursor), WithPageSize(size)}
		deletion := query.NotDeleted
		if deleted {
			opts, deletion = append(opts, WithDeleted()), query.OnlyDeleted
		}
		page, err := tr.Search(ctx, filter, opts...)
		if err != nil {
			t.Fatalf("Search(%q): %v", filter, err)
		}
		var want []Resource
		var next string
		err = tr.read(ctx, func(x *txn) error {
			q, err := query.Parse(filter)
			if err != nil {
				return err
			}
			c, err := query.Compile(q, query.Options{Dialect: tr.dialect(), Now: tr.cfg.now, Resolve: x.resolveSeq(ctx),
				Limit: int64(size), Cursor: cursor, Deleted: deletion})
			if err != nil {
				return err
			}
			var seqs []int64
			if seqs, next, err = c.Seqs(ctx, x.planned()); err != nil {
				return err
			}
			want, err = x.resourcesOfSeqs(ctx, seqs)
			return err
		})
		if err != nil {
			t.Fatalf("%q: %v", filter, err)
		}
		if !reflect.DeepEqual(page.Resources, want) || page.Next != next {
			t.Fatalf("%q (pages of %d, deleted %v) after %d rows:\n got %s next %q\nwant %s next %q",
				filter, size, deleted, rows, refs(page.Resources), page.Next, refs(want), next)
		}
		rows += len(want)
		if cursor = next; cursor == "" {
			if rows == 0 && !deleted {
				t.Errorf("%q: no rows; the data does not test it", filter)
			}
			return
		}
	}
	t.Fatalf("%q: too many pages", filter)
}

// refs returns the references of rs, for messages.
func refs(rs []Resource) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return fmt.Sprint(slices.Clip(out))
}

// resourcesOfSeqs reads the resources with the given seqs, in that order,
// with the statement that Search ran after the page statement of seqs
// before the page came in one statement (ResourcesBySeqs).
func (x *txn) resourcesOfSeqs(ctx context.Context, seqs []int64) ([]Resource, error) {
	if len(seqs) == 0 {
		return []Resource{}, nil
	}
	arr, err := json.Marshal(seqs)
	if err != nil {
		return nil, err
	}
	var rows []resourceRow
	if err := x.sel(ctx, &rows, x.sql.ResourcesBySeqs, string(arr)); err != nil {
		return nil, err
	}
	bySeq := make(map[int64]resourceRow, len(rows))
	for _, r := range rows {
		bySeq[r.Seq] = r
	}
	out := make([]Resource, len(seqs))
	for i, s := range seqs {
		out[i] = bySeq[s].resource()
	}
	return out, nil
}
