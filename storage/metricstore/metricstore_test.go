package metricstore_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
	"github.com/metatrack/metatrack/storage/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// engine is one engine the tests run on: where a new store lives, and how
// to open the store there as a bare engine, beside or after a tracker.
type engine struct {
	name  string
	store func(t *testing.T) string
	open  func(t *testing.T, url string) storage.Engine
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "m.db") }, func(t *testing.T, path string) storage.Engine {
		d, err := sqlite.Open(ctx, path, sqlite.Options{})
		check(t, err)
		t.Cleanup(func() { d.Close() })
		return d
	}},
	{"postgres", func(t *testing.T) string { return pgtest.SchemaURL(t) }, func(t *testing.T, url string) storage.Engine {
		e, err := postgres.Open(ctx, url, postgres.Options{})
		check(t, err)
		t.Cleanup(func() { e.Close() })
		return e
	}},
}

func check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// each runs test on every engine.
func each(t *testing.T, test func(t *testing.T, en engine)) {
	for _, en := range engines {
		t.Run(en.name, func(t *testing.T) { test(t, en) })
	}
}

func openTracker(t *testing.T, url string) *metatrack.Tracker {
	tr, err := metatrack.Open(ctx, url, metatrack.WithoutRun())
	check(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func count(t *testing.T, e storage.Engine, query string) int64 {
	t.Helper()
	var n int64
	check(t, e.Reader().Get(ctx, &n, query))
	return n
}

func verify(t *testing.T, e storage.Engine) storage.Report {
	t.Helper()
	var rep storage.Report
	check(t, e.ReadTx(ctx, func(tx storage.Tx) error {
		return metricstore.Verify(ctx, tx, &e.SQL().MetricStatements, &rep)
	}))
	return rep
}

func samePoints(t *testing.T, what string, got, want []metatrack.MetricPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Step != w.Step || !g.Time.Equal(w.Time) || math.Float64bits(g.Value) != math.Float64bits(w.Value) {
			t.Fatalf("%s: point %d is %+v, want %+v", what, i, g, w)
		}
	}
}

// TestCompact: gc merges the small blocks that many small LogMetrics calls
// leave, on every engine, keeping every point, their order and the
// summaries; a stream of the series that gc compacts goes on where it was,
// a dry run only counts, and a second gc has nothing to merge.
func TestCompact(t *testing.T) {
	each(t, func(t *testing.T, en engine) {
		url := en.store(t)
		tr := openTracker(t, url)
		exp, err := tr.CreateResource(ctx, metatrack.TypeSweep, "s")
		check(t, err)
		for c := range 30 {
			pts := make([]metatrack.MetricPoint, 100)
			for i := range pts {
				v := math.Sin(float64(c*100 + i))
				if c == 7 && i == 3 {
					v = math.NaN()
				}
				pts[i] = metatrack.MetricPoint{Step: int64(c*100 + i), Value: v}
			}
			check(t, tr.LogMetrics(ctx, exp, "loss", pts))
		}
		for i := range 10 {
			check(t, tr.LogMetric(ctx, exp, "loss", float64(i)))
		}
		// Full blocks: nothing to merge.
		full := make([]metatrack.MetricPoint, 2*metricstore.BlockPoints)
		for i := range full {
			full[i] = metatrack.MetricPoint{Step: int64(i), Value: float64(i)}
		}
		check(t, tr.LogMetrics(ctx, exp, "acc", full))

		before := map[string][]metatrack.MetricPoint{}
		for _, key := range []string{"loss", "acc"} {
			before[key], err = tr.MetricHistory(ctx, exp, key)
			check(t, err)
		}
		sumsBefore, err := tr.Metrics(ctx, exp)
		check(t, err)
		e := en.open(t, url)
		blocks := func() int64 { return count(t, e, `SELECT count(*) FROM metric_blocks`) }
		if n := blocks(); n != 32 {
			t.Fatalf("%d blocks before gc, want 32", n)
		}

		st, err := tr.GC(ctx, metatrack.WithDryRun())
		check(t, err)
		if st.MetricBlocks != 30 || st.MetricSeries != 1 || blocks() != 32 {
			t.Fatalf("dry run: %+v, %d blocks", st, blocks())
		}
		var streamed []metatrack.MetricPoint
		compacted := false
		for p, err := range tr.MetricPoints(ctx, exp, "loss") {
			check(t, err)
			streamed = append(streamed, p)
			if len(streamed) == 150 && !compacted {
				st, err = tr.GC(ctx)
				check(t, err)
				compacted = true
			}
		}
		// 30 blocks of 100 points become 3 of 1000.
		if st.MetricBlocks != 30 || st.MetricSeries != 1 || blocks() != 5 {
			t.Fatalf("gc: %+v, %d blocks after", st, blocks())
		}
		samePoints(t, "streamed across gc", streamed, before["loss"])
		for key, want := range before {
			got, err := tr.MetricHistory(ctx, exp, key)
			check(t, err)
			samePoints(t, key+" after gc", got, want)
		}
		sumsAfter, err := tr.Metrics(ctx, exp)
		check(t, err)
		for i := range sumsBefore {
			b, a := sumsBefore[i], sumsAfter[i]
			if a.Key != b.Key || a.Count != b.Count || a.LastStep != b.LastStep || a.Last != b.Last || a.Min != b.Min || a.Max != b.Max || !a.LastTime.Equal(b.LastTime) {
				t.Fatalf("summary after gc: %+v, before %+v", a, b)
			}
		}
		if rep := verify(t, e); !rep.OK() {
			t.Fatalf("verify after gc: %+v", rep.Problems)
		}
		st, err = tr.GC(ctx)
		check(t, err)
		if st.MetricBlocks != 0 || st.MetricSeries != 0 {
			t.Fatalf("a second gc merged: %+v", st)
		}
	})
}

// TestVerify: Verify finds each kind of damage to a series (its blocks,
// its row, its tail) on every engine, and nothing in a sound store.
func TestVerify(t *testing.T) {
	damages := map[string]string{
		"BlockBytes":    `UPDATE metric_blocks SET data = substr(data, 1, length(data) / 2) WHERE first_ord = 0`,
		"BlockCount":    `UPDATE metric_blocks SET count = count + 1 WHERE first_ord = 0`,
		"BlockRange":    `UPDATE metric_blocks SET max_step = max_step + 1000000 WHERE first_ord = 0`,
		"BlockSummary":  `UPDATE metric_blocks SET summary = (SELECT summary FROM metric_blocks ORDER BY first_ord DESC LIMIT 1) WHERE first_ord = 0`,
		"BlockLost":     `DELETE FROM metric_blocks WHERE first_ord = 1024`,
		"SeriesCount":   `UPDATE metric_series SET count = count + 1`,
		"SeriesLast":    `UPDATE metric_series SET last_value = last_value + 1`,
		"SeriesMin":     `UPDATE metric_series SET min_value = -5`,
		"SummaryGarble": `UPDATE metric_series SET summary = substr(summary, 1, 1)`,
		"TailRowLost":   `DELETE FROM metric_tail WHERE ord = (SELECT max(ord) FROM metric_tail)`,
		"TailValue":     `UPDATE metric_tail SET value = 0 WHERE ord = (SELECT max(ord) FROM metric_tail)`,
		"TailGap":       `UPDATE metric_tail SET ord = ord + 1000000`,
	}
	each(t, func(t *testing.T, en engine) {
		// store writes a series of two full blocks, a partial one and a
		// tail.
		store := func(t *testing.T) (string, metatrack.Resource) {
			url := en.store(t)
			tr := openTracker(t, url)
			exp, err := tr.CreateResource(ctx, metatrack.TypeSweep, "s")
			check(t, err)
			pts := make([]metatrack.MetricPoint, 2500)
			for i := range pts {
				pts[i] = metatrack.MetricPoint{Step: int64(i), Value: 1 / float64(i+1)}
			}
			check(t, tr.LogMetrics(ctx, exp, "loss", pts))
			for i := range 10 {
				check(t, tr.LogMetric(ctx, exp, "loss", float64(i)))
			}
			check(t, tr.Close())
			return url, exp
		}
		url, _ := store(t)
		if rep := verify(t, en.open(t, url)); !rep.OK() {
			t.Fatalf("verify of a sound store: %+v", rep.Problems)
		}
		for name, damage := range damages {
			t.Run(name, func(t *testing.T) {
				url, exp := store(t)
				e := en.open(t, url)
				check(t, e.WriteTx(ctx, func(tx storage.Tx) error {
					res, err := tx.ExecContext(ctx, damage)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 0 {
						t.Fatal("the damage changed nothing")
					}
					return nil
				}))
				rep := verify(t, e)
				found := false
				for _, p := range rep.Problems {
					found = found || p.Kind == storage.ProblemMetric && strings.Contains(p.What, `metric "loss" of resource `+exp.ID)
				}
				if !found {
					t.Fatalf("verify did not report the damage: %+v", rep.Problems)
				}
			})
		}
	})
}
