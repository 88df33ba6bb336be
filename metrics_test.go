package metatrack_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

func metricsCheck(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func sameValue(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func samePoints(tb testing.TB, got, want []metatrack.MetricPoint) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Step != w.Step || !sameValue(g.Value, w.Value) || !g.Time.Equal(w.Time) {
			tb.Fatalf("point %d = %+v, want %+v", i, g, w)
		}
	}
}

// sortedPoints is what MetricHistory must return for pts: by step, time,
// then value.
func sortedPoints(pts []metatrack.MetricPoint) []metatrack.MetricPoint {
	out := slices.Clone(pts)
	slices.SortStableFunc(out, func(a, b metatrack.MetricPoint) int {
		if c := cmp.Compare(a.Step, b.Step); c != 0 {
			return c
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		return cmp.Compare(math.Float64bits(a.Value), math.Float64bits(b.Value))
	})
	return out
}

func metricsExperiment(tb testing.TB, tr *metatrack.Tracker) metatrack.Resource {
	tb.Helper()
	ctx := context.Background()
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")
	metricsCheck(tb, err)
	exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))
	metricsCheck(tb, err)
	return exp
}

func TestLogMetricDefaultsAndPlateau(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	tr := MustOpen(t, metatrack.WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }))
	exp := metricsExperiment(t, tr)
	nan := math.Float64frombits(0x7ff8000000000abc)
	values := []float64{0.5, 0.5, 0.5, nan, math.Inf(1), math.Inf(-1), 0.25}
	for _, v := range values {
		metricsCheck(t, tr.LogMetric(ctx, exp, "loss", v))
	}
	got, err := tr.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	if len(got) != len(values) {
		t.Fatalf("%d points, want %d (a plateau keeps every point)", len(got), len(values))
	}
	for i, p := range got {
		if p.Step != int64(i) || !sameValue(p.Value, values[i]) || !p.Time.After(now) {
			t.Errorf("point %d = %+v, want step %d value %v", i, p, i, values[i])
		}
		if i > 0 && !p.Time.After(got[i-1].Time) {
			t.Errorf("point %d time %v not after %v", i, p.Time, got[i-1].Time)
		}
	}
	sums, err := tr.Metrics(ctx, exp)
	metricsCheck(t, err)
	if len(sums) != 1 {
		t.Fatalf("Metrics = %+v", sums)
	}
	s := sums[0]
	if s.Key != "loss" || s.Last != 0.25 || s.LastStep != 6 || s.Count != 7 || !math.IsInf(s.Min, -1) || !math.IsInf(s.Max, 1) ||
		!s.LastTime.Equal(got[6].Time) {
		t.Errorf("summary = %+v", s)
	}
	// A step given explicitly; the next default follows the highest step.
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 0.1, metatrack.WithStep(100), metatrack.WithTime(now)))
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 0.2, metatrack.WithStep(50)))
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 0.3))
	got, err = tr.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	tail := got[len(got)-3:]
	if tail[0].Step != 50 || tail[1].Step != 100 || !tail[1].Time.Equal(now) || tail[2].Step != 101 || tail[2].Value != 0.3 {
		t.Errorf("last points = %+v", tail)
	}
	sums, _ = tr.Metrics(ctx, exp)
	if s := sums[0]; s.Last != 0.3 || s.LastStep != 101 || s.Count != 10 || s.Min != math.Inf(-1) {
		t.Errorf("summary = %+v", s)
	}
}

func TestMetricSummaryAllNaN(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	exp := metricsExperiment(t, tr)
	metricsCheck(t, tr.LogMetric(ctx, exp, "x", math.NaN()))
	sums, err := tr.Metrics(ctx, exp)
	metricsCheck(t, err)
	if s := sums[0]; !math.IsNaN(s.Last) || !math.IsNaN(s.Min) || !math.IsNaN(s.Max) || s.Count != 1 {
		t.Errorf("summary = %+v", s)
	}
}

// randomSeries logs n points to key of res in a mix of single points,
// small batches and large batches, with some steps out of order and some
// repeated, and returns them in the order logged.
func randomSeries(tb testing.TB, tr *metatrack.Tracker, res metatrack.Resource, key string, n int, seed uint64) []metatrack.MetricPoint {
	tb.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 2))
	var all []metatrack.MetricPoint
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := int64(0)
	next := func() metatrack.MetricPoint {
		step++
		s := step
		switch r.IntN(50) {
		case 0:
			s = r.Int64N(step) // out of order
		case 1:
			s = step - 1 // a repeated step
		}
		v := float64(float32(math.Exp(-float64(step)/5000) + r.Float64()/20))
		if r.IntN(500) == 0 {
			v = math.NaN()
		}
		return metatrack.MetricPoint{Step: s, Value: v, Time: t0.Add(time.Duration(step)*17*time.Millisecond + time.Duration(r.IntN(5))*time.Millisecond)}
	}
	err := tr.Batch(ctx, func(tx *metatrack.Tracker) error {
		for len(all) < n {
			switch k := r.IntN(10); {
			case k < 6:
				p := next()
				if err := tx.LogMetric(ctx, res, key, p.Value, metatrack.WithStep(p.Step), metatrack.WithTime(p.Time)); err != nil {
					return err
				}
				all = append(all, p)
			default:
				m := 1 + r.IntN(100)
				if k == 9 {
					m = 500 + r.IntN(3000)
				}
				m = min(m, n-len(all))
				pts := make([]metatrack.MetricPoint, m)
				for i := range pts {
					pts[i] = next()
				}
				if err := tx.LogMetrics(ctx, res, key, pts); err != nil {
					return err
				}
				all = append(all, pts...)
			}
		}
		return nil
	})
	metricsCheck(tb, err)
	return all
}

func TestMetricHistoryRanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(ctx, path)
	metricsCheck(t, err)
	exp := metricsExperiment(t, tr)
	logged := randomSeries(t, tr, exp, "loss", 20000, 1)
	want := sortedPoints(logged)
	check := func(tr *metatrack.Tracker) {
		got, err := tr.MetricHistory(ctx, exp, "loss")
		metricsCheck(t, err)
		samePoints(t, got, want)
		from, to := int64(3000), int64(7777)
		var inSteps []metatrack.MetricPoint
		for _, p := range want {
			if p.Step >= from && p.Step <= to {
				inSteps = append(inSteps, p)
			}
		}
		got, err = tr.MetricHistory(ctx, exp, "loss", metatrack.WithStepRange(from, to))
		metricsCheck(t, err)
		samePoints(t, got, inSteps)
		tf, tt := want[5000].Time, want[12000].Time
		var inTime []metatrack.MetricPoint
		for _, p := range want {
			if !p.Time.Before(tf) && !p.Time.After(tt) {
				inTime = append(inTime, p)
			}
		}
		got, err = tr.MetricHistory(ctx, exp, "loss", metatrack.WithTimeRange(tf, tt))
		metricsCheck(t, err)
		samePoints(t, got, inTime)
		sums, err := tr.Metrics(ctx, exp)
		metricsCheck(t, err)
		last := want[len(want)-1]
		if s := sums[0]; s.Count != int64(len(want)) || s.LastStep != last.Step || !sameValue(s.Last, last.Value) {
			t.Errorf("summary = %+v, last point %+v", s, last)
		}
	}
	check(tr)
	metricsCheck(t, tr.Close())
	// The points are in sealed blocks and a short tail, counted right.
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	metricsCheck(t, err)
	var blocks, inBlocks, tail, count, tailCol int
	metricsCheck(t, conn.QueryRow(`SELECT count(*), coalesce(sum(count), 0) FROM metric_blocks`).Scan(&blocks, &inBlocks))
	metricsCheck(t, conn.QueryRow(`SELECT count(*) FROM metric_tail`).Scan(&tail))
	metricsCheck(t, conn.QueryRow(`SELECT count, tail FROM metric_series`).Scan(&count, &tailCol))
	metricsCheck(t, conn.Close())
	if blocks < 15 || tail >= 1024 || tail != tailCol || inBlocks+tail != len(want) || count != len(want) {
		t.Errorf("%d blocks of %d points, tail %d (column %d), count %d; want %d points", blocks, inBlocks, tail, tailCol, count, len(want))
	}
	tr, err = metatrack.Open(ctx, path, metatrack.WithReadOnly())
	metricsCheck(t, err)
	defer tr.Close()
	check(tr)
}

func TestMetricHistoryDownsample(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	exp := metricsExperiment(t, tr)
	logged := randomSeries(t, tr, exp, "loss", 60000, 2)
	// A spike and a trough that a chart must show.
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 1e9, metatrack.WithStep(31234)))
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", -1e9, metatrack.WithStep(45678)))
	full, err := tr.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	if len(full) != len(logged)+2 {
		t.Fatalf("%d points, want %d", len(full), len(logged)+2)
	}
	type ident struct {
		step int64
		bits uint64
		at   int64
	}
	have := map[ident]bool{}
	for _, p := range full {
		have[ident{p.Step, math.Float64bits(p.Value), p.Time.UnixMilli()}] = true
	}
	for _, tc := range []struct {
		name string
		opts []metatrack.MetricHistoryOption
	}{
		{"All", nil},
		{"StepRange", []metatrack.MetricHistoryOption{metatrack.WithStepRange(10000, 50000)}},
		{"TimeRange", []metatrack.MetricHistoryOption{metatrack.WithTimeRange(full[20000].Time, full[55000].Time)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := tr.MetricHistory(ctx, exp, "loss", tc.opts...)
			metricsCheck(t, err)
			for _, max := range []int{3, 100, 999} {
				got, err := tr.MetricHistory(ctx, exp, "loss", append(tc.opts, metatrack.WithMaxPoints(max))...)
				metricsCheck(t, err)
				if len(got) > max || len(got) < max/3 {
					t.Fatalf("max %d: %d points", max, len(got))
				}
				lo, hi := ref[0], ref[0]
				for _, p := range ref {
					if p.Value < lo.Value {
						lo = p
					}
					if p.Value > hi.Value {
						hi = p
					}
				}
				var sawLo, sawHi bool
				for i, p := range got {
					if !have[ident{p.Step, math.Float64bits(p.Value), p.Time.UnixMilli()}] {
						t.Fatalf("max %d: point %+v is not in the series", max, p)
					}
					if i > 0 && p.Step < got[i-1].Step {
						t.Fatalf("max %d: not in step order at %d", max, i)
					}
					sawLo = sawLo || p.Value == lo.Value
					sawHi = sawHi || p.Value == hi.Value
				}
				if !sawLo || !sawHi {
					t.Errorf("max %d: lowest %v seen %v, highest %v seen %v", max, lo.Value, sawLo, hi.Value, sawHi)
				}
				last := got[len(got)-1]
				if want := ref[len(ref)-1]; last.Step != want.Step || !sameValue(last.Value, want.Value) {
					t.Errorf("max %d: last %+v, want %+v", max, last, want)
				}
			}
			// A cap above the number of points in range: every point.
			got, err := tr.MetricHistory(ctx, exp, "loss", append(tc.opts, metatrack.WithMaxPoints(len(ref)))...)
			metricsCheck(t, err)
			samePoints(t, got, ref)
		})
	}
}

func TestMetricsOnRunAndThroughInterface(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("train"))
	metricsCheck(t, err)
	var mt metatrack.MetadataTracker = tr
	run := tr.Run().Resource()
	metricsCheck(t, mt.LogMetric(ctx, run, "gpu_util", 0.9))
	metricsCheck(t, mt.LogMetrics(ctx, run, "gpu_util", []metatrack.MetricPoint{{Step: 1, Value: 0.8}, {Step: 2, Value: 0.7}}))
	// The run's id alone works too.
	metricsCheck(t, mt.LogMetric(ctx, metatrack.Resource{ID: run.ID}, "gpu_util", 0.6))
	got, err := mt.MetricHistory(ctx, run, "gpu_util")
	metricsCheck(t, err)
	if len(got) != 4 || got[3].Step != 3 || got[3].Value != 0.6 {
		t.Fatalf("run history = %+v", got)
	}
	runID := tr.Run().ID
	metricsCheck(t, tr.Close())

	tr2, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	metricsCheck(t, err)
	defer tr2.Close()
	sums, err := tr2.Metrics(ctx, metatrack.Resource{ID: runID, Type: metatrack.TypeRun})
	metricsCheck(t, err)
	if len(sums) != 1 || sums[0].Count != 4 || sums[0].Last != 0.6 || sums[0].Min != 0.6 || sums[0].Max != 0.9 {
		t.Fatalf("run summaries = %+v", sums)
	}
	err = tr2.LogMetric(ctx, metatrack.Resource{ID: runID, Type: metatrack.TypeRun}, "gpu_util", 1)
	if !errors.Is(err, metatrack.ErrResourceClosed) {
		t.Fatalf("LogMetric on a finished run: %v", err)
	}
}

func TestMetricsBadInput(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	exp := metricsExperiment(t, tr)
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 1))
	before := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	for name, tc := range map[string]struct {
		fn   func() error
		want error
	}{
		"ErrEmptyKey":       {func() error { return tr.LogMetric(ctx, exp, "", 1) }, metatrack.ErrInvalidArgument},
		"ErrNULKey":         {func() error { return tr.LogMetric(ctx, exp, "lo\x00ss", 1) }, metatrack.ErrInvalidArgument},
		"ErrControlKey":     {func() error { return tr.LogMetric(ctx, exp, "lo\nss", 1) }, metatrack.ErrInvalidArgument},
		"ErrLongKey":        {func() error { return tr.LogMetric(ctx, exp, strings.Repeat("k", 257), 1) }, metatrack.ErrInvalidArgument},
		"ErrBadUTF8":        {func() error { return tr.LogMetric(ctx, exp, "\xff", 1) }, metatrack.ErrInvalidArgument},
		"ErrNegativeStep":   {func() error { return tr.LogMetric(ctx, exp, "loss", 1, metatrack.WithStep(-1)) }, metatrack.ErrInvalidArgument},
		"ErrBefore1970":     {func() error { return tr.LogMetric(ctx, exp, "loss", 1, metatrack.WithTime(before)) }, metatrack.ErrInvalidArgument},
		"ErrNoResource":     {func() error { return tr.LogMetric(ctx, metatrack.Resource{ID: "nope"}, "loss", 1) }, metatrack.ErrNotFound},
		"ErrNoSeries":       {func() error { _, err := tr.MetricHistory(ctx, exp, "acc"); return err }, metatrack.ErrNotFound},
		"ErrMaxPointsSmall": {func() error { _, err := tr.MetricHistory(ctx, exp, "loss", metatrack.WithMaxPoints(2)); return err }, metatrack.ErrInvalidArgument},
		"ErrEmptyStepRange": {func() error { _, err := tr.MetricHistory(ctx, exp, "loss", metatrack.WithStepRange(5, 4)); return err }, metatrack.ErrInvalidArgument},
		"ErrOneBadPointOfMany": {func() error {
			pts := make([]metatrack.MetricPoint, 200)
			for i := range pts {
				pts[i] = metatrack.MetricPoint{Step: int64(i + 10), Value: 2}
			}
			pts[150].Time = before
			return tr.LogMetrics(ctx, exp, "loss", pts)
		}, metatrack.ErrInvalidArgument},
		"ErrRolledBackBatch": {func() error {
			boom := errors.New("boom")
			err := tr.Batch(ctx, func(tx *metatrack.Tracker) error {
				for i := range 2000 {
					if err := tx.LogMetric(ctx, exp, "loss", float64(i)); err != nil {
						return err
					}
				}
				return boom
			})
			if errors.Is(err, boom) {
				return metatrack.ErrInvalidArgument
			}
			return err
		}, metatrack.ErrInvalidArgument},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			got, err := tr.MetricHistory(ctx, exp, "loss")
			metricsCheck(t, err)
			if len(got) != 1 || got[0].Value != 1 {
				t.Fatalf("after a refused write: %+v", got)
			}
		})
	}
	// A closed resource takes no more points, and keeps those it has.
	metricsCheck(t, tr.CleanResource(ctx, exp, ""))
	if err := tr.LogMetric(ctx, exp, "loss", 2); !errors.Is(err, metatrack.ErrResourceClosed) {
		t.Fatalf("LogMetric after CleanResource: %v", err)
	}
	if err := tr.LogMetrics(ctx, exp, "loss", []metatrack.MetricPoint{{Step: 9, Value: 2}}); !errors.Is(err, metatrack.ErrResourceClosed) {
		t.Fatalf("LogMetrics after CleanResource: %v", err)
	}
	got, err := tr.MetricHistory(ctx, exp, "loss")
	if err != nil || len(got) != 1 {
		t.Fatalf("history of a closed resource: %+v, %v", got, err)
	}
}

func TestMetricsStateAt(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	tr := MustOpen(t, metatrack.WithClock(func() time.Time { return t0 }))
	exp := metricsExperiment(t, tr)
	logged := randomSeries(t, tr, exp, "loss", 6000, 6)
	metricsCheck(t, tr.LogMetric(ctx, exp, "acc", 0.5, metatrack.WithTime(t0.Add(time.Hour))))
	for _, at := range []time.Time{t0, t0.Add(time.Hour), logged[100].Time, logged[2500].Time, logged[5999].Time.Add(-time.Millisecond), t0.Add(2 * time.Hour)} {
		st, err := tr.StateAt(ctx, exp, at)
		metricsCheck(t, err)
		var count int64
		var last *metatrack.MetricPoint
		lo := math.Inf(1)
		for _, p := range sortedPoints(logged) {
			if !p.Time.After(at) {
				count++
				last = &p
				if p.Value < lo {
					lo = p.Value
				}
			}
		}
		s, ok := st.Metrics["loss"]
		if count == 0 {
			if ok {
				t.Errorf("at %v: a summary before the first point: %+v", at, s)
			}
			continue
		}
		if !ok || s.Count != count || s.LastStep != last.Step || !sameValue(s.Last, last.Value) || s.Min != lo {
			t.Errorf("at %v: summary %+v; want %d points, last %+v, min %v", at, s, count, last, lo)
		}
		if _, ok := st.Metrics["acc"]; ok != !at.Before(t0.Add(time.Hour)) {
			t.Errorf("at %v: acc present %v", at, ok)
		}
	}
}

// TestMetricsDeletedAndPurged: a deleted resource takes no points and
// keeps its series until a purge removes them with it.
func TestMetricsDeletedAndPurged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	metricsCheck(t, err)
	exp := metricsExperiment(t, tr)
	pts := make([]metatrack.MetricPoint, 1500)
	for i := range pts {
		pts[i] = metatrack.MetricPoint{Step: int64(i), Value: float64(i)}
	}
	metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", pts))
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 1))
	_, err = tr.DeleteResource(ctx, exp)
	metricsCheck(t, err)
	if err := tr.LogMetric(ctx, exp, "loss", 2); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("LogMetric on a deleted resource: %v", err)
	}
	count := func(table string) int {
		conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		metricsCheck(t, err)
		defer conn.Close()
		var n int
		metricsCheck(t, conn.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
		return n
	}
	if count("metric_blocks") == 0 || count("metric_tail") != 1 {
		t.Fatalf("deleting (not purging) dropped points")
	}
	_, err = tr.PurgeDeleted(ctx)
	metricsCheck(t, err)
	for _, table := range []string{"metric_series", "metric_blocks", "metric_tail"} {
		if n := count(table); n != 0 {
			t.Errorf("%s holds %d rows after the purge", table, n)
		}
	}
	metricsCheck(t, tr.Close())
}

func TestMetricPointsStreams(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	exp := metricsExperiment(t, tr)
	randomSeries(t, tr, exp, "loss", 12000, 7)
	collect := func(opts ...metatrack.MetricHistoryOption) []metatrack.MetricPoint {
		var out []metatrack.MetricPoint
		for p, err := range tr.MetricPoints(ctx, exp, "loss", opts...) {
			metricsCheck(t, err)
			out = append(out, p)
		}
		return out
	}
	for _, opts := range [][]metatrack.MetricHistoryOption{nil, {metatrack.WithStepRange(2000, 9000)}} {
		want, err := tr.MetricHistory(ctx, exp, "loss", opts...)
		metricsCheck(t, err)
		samePoints(t, collect(opts...), want)
	}
	n := 0
	for _, err := range tr.MetricPoints(ctx, exp, "loss") {
		metricsCheck(t, err)
		if n++; n == 10 {
			break
		}
	}
	for _, err := range tr.MetricPoints(ctx, exp, "loss", metatrack.WithMaxPoints(10)) {
		if !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Fatalf("MetricPoints with a maximum: %v", err)
		}
	}
	for _, err := range tr.MetricPoints(ctx, exp, "nope") {
		if !errors.Is(err, metatrack.ErrNotFound) {
			t.Fatalf("MetricPoints of no series: %v", err)
		}
	}
}

// TestMetricsInBatch: points logged in a batch are buffered, yet every
// call sees them as written: reads in the batch, default steps, a close,
// and a rollback that stores none of them.
func TestMetricsInBatch(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	exp := metricsExperiment(t, tr)
	metricsCheck(t, tr.LogMetric(ctx, exp, "loss", 9, metatrack.WithStep(4)))
	err := tr.Batch(ctx, func(tx *metatrack.Tracker) error {
		for i := range 3000 {
			if err := tx.LogMetric(ctx, exp, "loss", float64(i)); err != nil {
				return err
			}
		}
		pts, err := tx.MetricHistory(ctx, exp, "loss")
		if err != nil || len(pts) != 3001 || pts[1].Step != 5 || pts[3000].Step != 3004 {
			t.Errorf("history inside the batch: %d points, %v", len(pts), err)
		}
		if err := tx.LogMetrics(ctx, exp, "loss", []metatrack.MetricPoint{{Step: 1, Value: -1}}); err != nil {
			return err
		}
		if err := tx.LogMetric(ctx, exp, "loss", 7); err != nil {
			return err
		}
		sums, err := tx.Metrics(ctx, exp)
		if err != nil || sums[0].Count != 3003 || sums[0].LastStep != 3005 || sums[0].Min != -1 {
			t.Errorf("summaries inside the batch: %+v, %v", sums, err)
		}
		if err := tx.LogMetric(ctx, exp, "acc", 0.5); err != nil {
			return err
		}
		if err := tx.CleanResource(ctx, exp, ""); err != nil {
			return err
		}
		if err := tx.LogMetric(ctx, exp, "loss", 1); !errors.Is(err, metatrack.ErrResourceClosed) {
			t.Errorf("LogMetric after CleanResource in the batch: %v", err)
		}
		return nil
	})
	metricsCheck(t, err)
	sums, err := tr.Metrics(ctx, exp)
	metricsCheck(t, err)
	if len(sums) != 2 || sums[0].Key != "acc" || sums[1].Count != 3003 {
		t.Fatalf("after the batch: %+v", sums)
	}
	exp2 := metricsExperiment(t, tr)
	boom := errors.New("boom")
	err = tr.Batch(ctx, func(tx *metatrack.Tracker) error {
		for i := range 100 {
			if err := tx.LogMetric(ctx, exp2, "loss", float64(i)); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := tr.MetricHistory(ctx, exp2, "loss"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("a rolled-back batch left points: %v", err)
	}
}
