package benchmarks

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/series"
)

// The MLflow-style search: trials of a sweep, each with 5 parameters
// (attributes p1..p5), 10 metrics and 3 tags (t1..t3); a filter on a
// metric and a parameter, ordered by the metric, 100 rows, each with its
// tags and metrics, in one read transaction. The metrics are there twice:
// as metadata m1..m10 (final values) and as metric series m1..m10 (a
// curve of mlflowPoints points ending at the same value), so that one
// sub-benchmark reads the rows' metadata and one their series' summaries.
// The fixture is its own (2,000 trials, whatever -scale says), built
// through the library.
const (
	mlflowTrials = 2000
	mlflowFilter = "type = 'experiment' AND metadata.m1 > 0.5 AND attrs.p1 = 'v3' ORDER BY metadata.m1 DESC"
	mlflowPage   = 100
	mlflowPoints = 20
)

// sqlBareMLflow is the hand-written search: the page's seqs from the
// metadata and attribute indexes, then the resources, then one statement
// each for the page's tags and metadata.
const (
	sqlBareMLflow = "SELECT " + resCols + " FROM (SELECT m.resource_seq AS seq, m.num AS num FROM metadata m" +
		"   JOIN attr_values a ON a.resource_seq = m.resource_seq AND a.key = 'p1' AND a.str = ?" +
		"   JOIN resources x ON x.seq = m.resource_seq AND x.type = 'experiment'" +
		"   WHERE m.key = 'm1' AND m.num > ? ORDER BY m.num DESC, m.resource_seq LIMIT ?) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.num DESC, s.seq"
	sqlBareTagsOf     = "SELECT resource_seq, key, value FROM tags WHERE resource_seq IN (SELECT value FROM json_each(?))"
	sqlBareMetadataOf = "SELECT resource_seq, key, value FROM metadata WHERE resource_seq IN (SELECT value FROM json_each(?))"
	sqlBareSummaries  = "SELECT resource_seq, key, summary FROM metric_series WHERE resource_seq IN (SELECT value FROM json_each(?))"
)

var mlflowEnv = lazy[*env]{}

// getMLflowEnv returns the tracker and a bare connection on the MLflow
// fixture, building it on first use.
func getMLflowEnv(tb testing.TB) *env {
	tb.Helper()
	return mlflowEnv.get(tb, func() (*env, error) {
		dir, err := tempDir()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "mlflow.db")
		if err := buildMLflow(context.Background(), path, mlflowTrials); err != nil {
			return nil, err
		}
		return openEnv(nil, path, metatrack.WithoutRun())
	})
}

// buildMLflow writes n trials of one sweep into a new file at path.
func buildMLflow(ctx context.Context, path string, n int) error {
	t, err := metatrack.Open(ctx, path, metatrack.WithRunName("mlflow-fixture"))
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(12, 13))
	err = t.Batch(ctx, func(tx *metatrack.Tracker) error {
		sweep, err := tx.CreateResource(ctx, metatrack.TypeSweep, "mlflow-sweep")
		if err != nil {
			return err
		}
		for i := range n {
			e, err := tx.CreateResource(ctx, metatrack.TypeExperiment, fmt.Sprintf("run-%04d", i), metatrack.WithParent(sweep.ID),
				metatrack.WithAttrs(map[string]any{"p1": fmt.Sprintf("v%d", i%5), "p2": rng.Float64(), "p3": rng.IntN(100),
					"p4": []string{"adam", "sgd"}[i%2], "p5": 0.1 * float64(i%7)}))
			if err != nil {
				return err
			}
			for m := 1; m <= 10; m++ {
				key, final := fmt.Sprintf("m%d", m), rng.Float64()
				if err := tx.LogMetadata(ctx, e, key, final); err != nil {
					return err
				}
				curve := make([]metatrack.MetricPoint, mlflowPoints)
				for step := range curve {
					curve[step] = metatrack.MetricPoint{Step: int64(step + 1), Value: final * float64(step+1) / mlflowPoints}
				}
				if err := tx.LogMetrics(ctx, e, key, curve); err != nil {
					return err
				}
			}
			for k, v := range map[string]string{"t1": "owner-" + fmt.Sprint(i%3), "t2": "git-" + fmt.Sprint(i%50), "t3": "note"} {
				if err := tx.LogTag(ctx, e, k, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	return err
}

// mlflowRow is a search result with its tags and metadata, or its tags
// and metric summaries.
type mlflowRow struct {
	Resource metatrack.Resource
	Tags     map[string]string
	Metadata map[string]any
	Metrics  map[string]metatrack.MetricSummary
}

// libMLflow is the search through the library, in one round: the rows'
// tags and metadata, or with metrics their tags and series summaries.
func libMLflow(t *metatrack.Tracker, metrics bool) ([]mlflowRow, error) {
	cols := []string{"tags.*", "metadata.*"}
	if metrics {
		cols[1] = "metrics.*"
	}
	page, err := t.Search(ctx, mlflowFilter, metatrack.WithPageSize(mlflowPage), metatrack.WithColumns(cols...))
	out := make([]mlflowRow, len(page.Rows))
	for i, r := range page.Rows {
		out[i] = mlflowRow{r.Resource, r.Tags, r.Metadata, r.Metrics}
	}
	return out, err
}

// libMLflowPerRow is the same through the calls that existed before
// WithColumns: a search, then two calls for each row.
func libMLflowPerRow(t *metatrack.Tracker) ([]mlflowRow, error) {
	page, err := t.Search(ctx, mlflowFilter, metatrack.WithPageSize(mlflowPage))
	if err != nil {
		return nil, err
	}
	out := make([]mlflowRow, len(page.Resources))
	for i, r := range page.Resources {
		out[i].Resource = r
		if out[i].Tags, err = t.Tags(ctx, r); err != nil {
			return nil, err
		}
		if out[i].Metadata, err = t.Metadata(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mlflow is the hand-written search on one connection, in one read
// transaction, with statements prepared once: with metrics, the series
// summaries (decoded by package series, as the library stores them)
// instead of the metadata.
func (d *bareDB) mlflow(metrics bool) ([]mlflowRow, error) {
	if _, err := d.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return nil, err
	}
	out, err := d.mlflowTx(metrics)
	if _, cerr := d.conn.ExecContext(ctx, "COMMIT"); err == nil {
		err = cerr
	}
	return out, err
}

func (d *bareDB) mlflowTx(metrics bool) ([]mlflowRow, error) {
	rows, err := d.query(ctx, sqlBareMLflow, "v3", 0.5, mlflowPage)
	if err != nil {
		return nil, err
	}
	out := make([]mlflowRow, 0, mlflowPage)
	index := make(map[int64]int, mlflowPage)
	seqs := make([]int64, 0, mlflowPage)
	for rows.Next() {
		seq, r, err := scanResource(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		index[seq] = len(out)
		seqs = append(seqs, seq)
		row := mlflowRow{Resource: r, Tags: map[string]string{}}
		if metrics {
			row.Metrics = map[string]metatrack.MetricSummary{}
		} else {
			row.Metadata = map[string]any{}
		}
		out = append(out, row)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	arr := jsonInts(seqs)
	each := func(query string, fn func(i int, k string, v []byte) error) error {
		rows, err := d.query(ctx, query, arr)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				seq int64
				k   string
				v   []byte
			)
			if err := rows.Scan(&seq, &k, &v); err != nil {
				rows.Close()
				return err
			}
			if err := fn(index[seq], k, v); err != nil {
				rows.Close()
				return err
			}
		}
		return closeRows(rows)
	}
	if err := each(sqlBareTagsOf, func(i int, k string, v []byte) error { out[i].Tags[k] = string(v); return nil }); err != nil {
		return nil, err
	}
	if metrics {
		err = each(sqlBareSummaries, func(i int, k string, v []byte) error {
			s, err := series.ParseSummary(v)
			m := metatrack.MetricSummary{Key: k, Last: s.Last.Value, LastStep: s.Last.Step,
				LastTime: time.UnixMilli(s.Last.Time).UTC(), Min: math.NaN(), Max: math.NaN(), Count: s.Count}
			if s.HasRange {
				m.Min, m.Max = s.Low.Value, s.High.Value
			}
			out[i].Metrics[k] = m
			return err
		})
		return out, err
	}
	err = each(sqlBareMetadataOf, func(i int, k string, v []byte) error {
		val, err := decodeJSON(string(v))
		out[i].Metadata[k] = val
		return err
	})
	return out, err
}

// BenchmarkMLflowSearch is the search of MLflow's UI and client: filter,
// order, a page of 100 trials with their tags and metrics, the metrics as
// metadata or as the summaries of metric series. ref-per-row is the
// metadata form through a search and two calls per row.
func BenchmarkMLflowSearch(b *testing.B) {
	e := getMLflowEnv(b)
	for _, kind := range []string{"metadata", "metrics"} {
		metrics := kind == "metrics"
		runCase(b, kind, func(b *testing.B) {
			b.Run("lib", func(b *testing.B) {
				var n int
				bench(b, func() error {
					rows, err := libMLflow(e.lib, metrics)
					n = len(rows)
					return err
				})
				b.ReportMetric(float64(n), "rows")
			})
			b.Run("bare", func(b *testing.B) {
				bench(b, func() error { _, err := e.bare.mlflow(metrics); return err })
			})
			if !metrics {
				b.Run("ref-per-row", func(b *testing.B) {
					bench(b, func() error { _, err := libMLflowPerRow(e.lib); return err })
				})
			}
		})
	}
}

// TestMLflowSearchAgrees: the library, its per-row form and the bare SQL
// return the same rows with the same values, on a smaller fixture.
func TestMLflowSearchAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlflow.db")
	if err := buildMLflow(ctx, path, 300); err != nil {
		t.Fatal(err)
	}
	e, err := openEnv(nil, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	lib, err := libMLflow(e.lib, false)
	if err != nil {
		t.Fatal(err)
	}
	perRow, err := libMLflowPerRow(e.lib)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := e.bare.mlflow(false)
	if err != nil {
		t.Fatal(err)
	}
	libM, err := libMLflow(e.lib, true)
	if err != nil {
		t.Fatal(err)
	}
	bareM, err := e.bare.mlflow(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(libM) != len(lib) || len(bareM) != len(lib) {
		t.Fatalf("metric rows: lib %d, bare %d, want %d", len(libM), len(bareM), len(lib))
	}
	for i := range libM {
		if !sameResource(libM[i].Resource, bareM[i].Resource) || !reflect.DeepEqual(libM[i].Tags, bareM[i].Tags) ||
			!reflect.DeepEqual(libM[i].Metrics, bareM[i].Metrics) {
			t.Fatalf("metric row %d: lib %+v\nbare %+v", i, libM[i], bareM[i])
		}
		// Each series ends at its metadata value: the same rows, one
		// read from metadata, one from the series.
		for k, m := range libM[i].Metrics {
			if want := lib[i].Metadata[k].(float64); m.Count != mlflowPoints || math.Abs(m.Last-want) > 1e-12 || m.Max != m.Last {
				t.Fatalf("row %d series %s = %+v, metadata %v", i, k, m, want)
			}
		}
		if len(libM[i].Metrics) != 10 || libM[i].Metadata != nil {
			t.Fatalf("metric row %d: %d series, metadata %v", i, len(libM[i].Metrics), libM[i].Metadata)
		}
	}
	if len(lib) < 10 || len(lib) != len(bare) || len(lib) != len(perRow) {
		t.Fatalf("rows: lib %d, per row %d, bare %d", len(lib), len(perRow), len(bare))
	}
	for i := range lib {
		for name, other := range map[string]mlflowRow{"bare": bare[i], "per-row": perRow[i]} {
			if !sameResource(lib[i].Resource, other.Resource) || !reflect.DeepEqual(lib[i].Tags, other.Tags) ||
				!reflect.DeepEqual(lib[i].Metadata, other.Metadata) {
				t.Fatalf("row %d: lib %+v\n%s %+v", i, lib[i], name, other)
			}
		}
		if len(lib[i].Tags) != 3 || len(lib[i].Metadata) != 10 || len(lib[i].Resource.Attrs) != 5 {
			t.Fatalf("row %d has %d tags, %d metadata, %d attrs", i, len(lib[i].Tags), len(lib[i].Metadata), len(lib[i].Resource.Attrs))
		}
		if i > 0 && lib[i].Metadata["m1"].(float64) > lib[i-1].Metadata["m1"].(float64) {
			t.Fatalf("rows not ordered by m1 DESC at %d", i)
		}
	}
}
