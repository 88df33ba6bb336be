package metatracktest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TrackerOpener returns a new, empty *metatrack.Tracker opened with opts,
// for one test; it registers its own cleanup with tb.
type TrackerOpener func(tb testing.TB, opts ...metatrack.Option) *metatrack.Tracker

// RunMetricSeries runs the tests of metric series through the public API
// (defaults and plateaus, NaN summaries, ranges, downsampling, bad input,
// StateAt, streaming, batches, the metrics.* fields of queries, verify)
// against trackers made by open, on whichever
// engine open opens. They need a *metatrack.Tracker: they log tens of
// thousands of points in batches.
func RunMetricSeries(t *testing.T, open TrackerOpener) {
	s := seriesSuite{open: open}
	t.Run("LogMetricDefaultsAndPlateau", s.testLogMetricDefaultsAndPlateau)
	t.Run("MetricSummaryAllNaN", s.testMetricSummaryAllNaN)
	t.Run("MetricHistoryRanges", s.testMetricHistoryRanges)
	t.Run("MetricHistoryDownsample", s.testMetricHistoryDownsample)
	t.Run("MetricsBadInput", s.testMetricsBadInput)
	t.Run("MetricsStateAt", s.testMetricsStateAt)
	t.Run("MetricPointsStreams", s.testMetricPointsStreams)
	t.Run("MetricsInBatch", s.testMetricsInBatch)
	t.Run("MetricsQuery", s.testMetricsQuery)
	t.Run("VerifyMetricEndingInNaN", s.testVerifyMetricEndingInNaN)
}

type seriesSuite struct{ open TrackerOpener }

// sameValue reports whether a and b are the same float64, bit for bit.
func sameValue(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// SamePoints fails tb unless got are want, point for point (the same
// step, time and value bits).
func SamePoints(tb testing.TB, got, want []metatrack.MetricPoint) {
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

// SortedPoints is what MetricHistory must return for pts: by step, time,
// then value.
func SortedPoints(pts []metatrack.MetricPoint) []metatrack.MetricPoint {
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

// seriesExperiment creates an experiment under a model version of tr.
func seriesExperiment(tb testing.TB, tr *metatrack.Tracker) metatrack.Resource {
	tb.Helper()
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")
	noErr(tb, err)
	exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))
	noErr(tb, err)
	return exp
}

// RandomSeries logs n points to key of res in a mix of single points,
// small batches and large batches, with some steps out of order and some
// repeated, and returns them in the order logged.
func RandomSeries(tb testing.TB, tr *metatrack.Tracker, res metatrack.Resource, key string, n int, seed uint64) []metatrack.MetricPoint {
	tb.Helper()
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
	noErr(tb, err)
	return all
}

func (m seriesSuite) testLogMetricDefaultsAndPlateau(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	tr := m.open(t, metatrack.WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }))
	exp := seriesExperiment(t, tr)
	nan := math.Float64frombits(0x7ff8000000000abc)
	values := []float64{0.5, 0.5, 0.5, nan, math.Inf(1), math.Inf(-1), 0.25}
	for _, v := range values {
		noErr(t, tr.LogMetric(ctx, exp, "loss", v))
	}
	got, err := tr.MetricHistory(ctx, exp, "loss")
	noErr(t, err)
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
	noErr(t, err)
	if len(sums) != 1 {
		t.Fatalf("Metrics = %+v", sums)
	}
	s := sums[0]
	if s.Key != "loss" || s.Last != 0.25 || s.LastStep != 6 || s.Count != 7 || !math.IsInf(s.Min, -1) || !math.IsInf(s.Max, 1) ||
		!s.LastTime.Equal(got[6].Time) {
		t.Errorf("summary = %+v", s)
	}
	// A step given explicitly; the next default follows the highest step.
	noErr(t, tr.LogMetric(ctx, exp, "loss", 0.1, metatrack.WithStep(100), metatrack.WithTime(now)))
	noErr(t, tr.LogMetric(ctx, exp, "loss", 0.2, metatrack.WithStep(50)))
	noErr(t, tr.LogMetric(ctx, exp, "loss", 0.3))
	got, err = tr.MetricHistory(ctx, exp, "loss")
	noErr(t, err)
	tail := got[len(got)-3:]
	if tail[0].Step != 50 || tail[1].Step != 100 || !tail[1].Time.Equal(now) || tail[2].Step != 101 || tail[2].Value != 0.3 {
		t.Errorf("last points = %+v", tail)
	}
	sums, _ = tr.Metrics(ctx, exp)
	if s := sums[0]; s.Last != 0.3 || s.LastStep != 101 || s.Count != 10 || s.Min != math.Inf(-1) {
		t.Errorf("summary = %+v", s)
	}
}

func (m seriesSuite) testMetricSummaryAllNaN(t *testing.T) {
	tr := m.open(t)
	exp := seriesExperiment(t, tr)
	noErr(t, tr.LogMetric(ctx, exp, "x", math.NaN()))
	sums, err := tr.Metrics(ctx, exp)
	noErr(t, err)
	if s := sums[0]; !math.IsNaN(s.Last) || !math.IsNaN(s.Min) || !math.IsNaN(s.Max) || s.Count != 1 {
		t.Errorf("summary = %+v", s)
	}
}

func (m seriesSuite) testMetricHistoryDownsample(t *testing.T) {
	tr := m.open(t)
	exp := seriesExperiment(t, tr)
	logged := RandomSeries(t, tr, exp, "loss", 60000, 2)
	// A spike and a trough that a chart must show.
	noErr(t, tr.LogMetric(ctx, exp, "loss", 1e9, metatrack.WithStep(31234)))
	noErr(t, tr.LogMetric(ctx, exp, "loss", -1e9, metatrack.WithStep(45678)))
	full, err := tr.MetricHistory(ctx, exp, "loss")
	noErr(t, err)
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
			noErr(t, err)
			for _, max := range []int{3, 100, 999} {
				got, err := tr.MetricHistory(ctx, exp, "loss", append(tc.opts, metatrack.WithMaxPoints(max))...)
				noErr(t, err)
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
			noErr(t, err)
			SamePoints(t, got, ref)
		})
	}
}

func (m seriesSuite) testMetricsBadInput(t *testing.T) {
	tr := m.open(t)
	exp := seriesExperiment(t, tr)
	noErr(t, tr.LogMetric(ctx, exp, "loss", 1))
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
			noErr(t, err)
			if len(got) != 1 || got[0].Value != 1 {
				t.Fatalf("after a refused write: %+v", got)
			}
		})
	}
	// A closed resource takes no more points, and keeps those it has.
	noErr(t, tr.CleanResource(ctx, exp, ""))
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

func (m seriesSuite) testMetricsStateAt(t *testing.T) {
	t0 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	tr := m.open(t, metatrack.WithClock(func() time.Time { return t0 }))
	exp := seriesExperiment(t, tr)
	logged := RandomSeries(t, tr, exp, "loss", 6000, 6)
	noErr(t, tr.LogMetric(ctx, exp, "acc", 0.5, metatrack.WithTime(t0.Add(time.Hour))))
	for _, at := range []time.Time{t0, t0.Add(time.Hour), logged[100].Time, logged[2500].Time, logged[5999].Time.Add(-time.Millisecond), t0.Add(2 * time.Hour)} {
		st, err := tr.StateAt(ctx, exp, at)
		noErr(t, err)
		var count int64
		var last *metatrack.MetricPoint
		lo := math.Inf(1)
		for _, p := range SortedPoints(logged) {
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

func (m seriesSuite) testMetricPointsStreams(t *testing.T) {
	tr := m.open(t)
	exp := seriesExperiment(t, tr)
	RandomSeries(t, tr, exp, "loss", 12000, 7)
	collect := func(opts ...metatrack.MetricHistoryOption) []metatrack.MetricPoint {
		var out []metatrack.MetricPoint
		for p, err := range tr.MetricPoints(ctx, exp, "loss", opts...) {
			noErr(t, err)
			out = append(out, p)
		}
		return out
	}
	for _, opts := range [][]metatrack.MetricHistoryOption{nil, {metatrack.WithStepRange(2000, 9000)}} {
		want, err := tr.MetricHistory(ctx, exp, "loss", opts...)
		noErr(t, err)
		SamePoints(t, collect(opts...), want)
	}
	n := 0
	for _, err := range tr.MetricPoints(ctx, exp, "loss") {
		noErr(t, err)
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

// testMetricsInBatch: points logged in a batch are buffered, yet every
// call sees them as written: reads in the batch, default steps, a close,
// and a rollback that stores none of them.
func (m seriesSuite) testMetricsInBatch(t *testing.T) {
	tr := m.open(t)
	exp := seriesExperiment(t, tr)
	noErr(t, tr.LogMetric(ctx, exp, "loss", 9, metatrack.WithStep(4)))
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
	noErr(t, err)
	sums, err := tr.Metrics(ctx, exp)
	noErr(t, err)
	if len(sums) != 2 || sums[0].Key != "acc" || sums[1].Count != 3003 {
		t.Fatalf("after the batch: %+v", sums)
	}
	exp2 := seriesExperiment(t, tr)
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

// testMetricHistoryRanges: a series of 20,000 points logged in a mix of
// single points and batches, out of order and with repeated steps, reads
// back whole, by step range and by time range as it was logged, and its
// summary counts every point.
func (m seriesSuite) testMetricHistoryRanges(t *testing.T) {
	tr := m.open(t)
	exp := seriesExperiment(t, tr)
	want := SortedPoints(RandomSeries(t, tr, exp, "loss", 20000, 1))
	CheckMetricHistory(t, tr, exp, "loss", want)
}

// CheckMetricHistory checks that the series key of res reads back as want
// (sorted by step) whole, by the step range [3000, 7777] and by the time
// range of want's points 5000 to 12000, and that its summary counts every
// point and ends at want's last. want must hold more than 12,000 points.
func CheckMetricHistory(tb testing.TB, tr *metatrack.Tracker, res metatrack.Resource, key string, want []metatrack.MetricPoint) {
	tb.Helper()
	got, err := tr.MetricHistory(ctx, res, key)
	noErr(tb, err)
	SamePoints(tb, got, want)
	from, to := int64(3000), int64(7777)
	var inSteps []metatrack.MetricPoint
	for _, p := range want {
		if p.Step >= from && p.Step <= to {
			inSteps = append(inSteps, p)
		}
	}
	got, err = tr.MetricHistory(ctx, res, key, metatrack.WithStepRange(from, to))
	noErr(tb, err)
	SamePoints(tb, got, inSteps)
	tf, tt := want[5000].Time, want[12000].Time
	var inTime []metatrack.MetricPoint
	for _, p := range want {
		if !p.Time.Before(tf) && !p.Time.After(tt) {
			inTime = append(inTime, p)
		}
	}
	got, err = tr.MetricHistory(ctx, res, key, metatrack.WithTimeRange(tf, tt))
	noErr(tb, err)
	SamePoints(tb, got, inTime)
	sums, err := tr.Metrics(ctx, res)
	noErr(tb, err)
	last := want[len(want)-1]
	if s := sums[0]; s.Count != int64(len(want)) || s.LastStep != last.Step || !sameValue(s.Last, last.Value) {
		tb.Errorf("summary = %+v, last point %+v", s, last)
	}
}

// testMetricsQuery checks the metrics.* fields of the query language
// against the summaries, for filters, EXISTS and IS NULL, ORDER BY and
// paging, and the errors of a malformed metric field.
func (m seriesSuite) testMetricsQuery(t *testing.T) {
	tr := m.open(t)
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")
	noErr(t, err)
	type trial struct {
		res metatrack.Resource
		sum metatrack.MetricSummary
		has bool
	}
	var trials []trial
	for i := range 30 {
		exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, fmt.Sprintf("t%02d", i), metatrack.WithParent(mv.ID))
		noErr(t, err)
		tl := trial{res: exp}
		if i%5 != 4 {
			var pts []metatrack.MetricPoint
			for s := range 10 + i {
				v := 1/float64(s+1) + float64(i)/100
				if i == 7 && s == 3 {
					v = -2 // a dip below the last value
				}
				pts = append(pts, metatrack.MetricPoint{Step: int64(s), Value: v})
			}
			if i == 13 {
				pts = append(pts, metatrack.MetricPoint{Step: 99, Value: math.NaN()})
			}
			noErr(t, tr.LogMetrics(ctx, exp, "loss", pts))
			noErr(t, tr.LogMetric(ctx, exp, "val.loss", float64(i)))
			sums, err := tr.Metrics(ctx, exp)
			noErr(t, err)
			tl.sum, tl.has = sums[0], true
		}
		trials = append(trials, tl)
	}
	ids := func(q string) []string {
		t.Helper()
		rs, err := tr.SearchAll(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	want := func(keep func(trial) bool) []string {
		var out []string
		for _, tl := range trials {
			if keep(tl) {
				out = append(out, tl.res.ID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		keep func(trial) bool
	}{
		{"metrics.loss < 0.2", func(tl trial) bool { return tl.has && tl.sum.Last < 0.2 }},
		{"metrics.loss.last >= 0.2", func(tl trial) bool { return tl.has && tl.sum.Last >= 0.2 }},
		{"metrics.loss.min < 0", func(tl trial) bool { return tl.has && tl.sum.Min < 0 }},
		{"metrics.loss.max > 1.2", func(tl trial) bool { return tl.has && tl.sum.Max > 1.2 }},
		{"metrics.loss.count = 20", func(tl trial) bool { return tl.has && tl.sum.Count == 20 }},
		{"metrics.loss.step IN (9, 12, 99)", func(tl trial) bool {
			return tl.has && slices.Contains([]int64{9, 12, 99}, tl.sum.LastStep)
		}},
		{"metrics.`val.loss` >= 20 AND metrics.loss.count > 30", func(tl trial) bool { return tl.has && tl.sum.Count > 30 }},
		{"EXISTS metrics.loss", func(tl trial) bool { return tl.has }},
		{"metrics.loss IS NULL AND type = 'experiment'", func(tl trial) bool { return !tl.has }},
		{"metrics.loss IS NOT NULL", func(tl trial) bool { return tl.has }},
		{"NOT metrics.loss < 0.2 AND type = 'experiment'", func(tl trial) bool { return !(tl.has && tl.sum.Last < 0.2) }},
		{"metrics.acc > 0", func(trial) bool { return false }},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got, w := ids(tc.q), want(tc.keep)
			slices.Sort(got)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("%d resources, want %d", len(got), len(w))
			}
		})
	}
	// ORDER BY the last value, paged by cursors: NaN (NULL) and missing
	// series last.
	var paged []string
	cursor := ""
	for range 20 {
		opts := []metatrack.SearchOption{metatrack.WithPageSize(4)}
		if cursor != "" {
			opts = append(opts, metatrack.WithCursor(cursor))
		}
		page, err := tr.Search(ctx, "type = 'experiment' ORDER BY metrics.loss DESC", opts...)
		noErr(t, err)
		for _, r := range page.Resources {
			paged = append(paged, r.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	sorted := slices.Clone(trials)
	slices.SortStableFunc(sorted, func(a, b trial) int {
		av, bv := a.has && !math.IsNaN(a.sum.Last), b.has && !math.IsNaN(b.sum.Last)
		switch {
		case av && bv:
			if a.sum.Last != b.sum.Last {
				if a.sum.Last > b.sum.Last {
					return -1
				}
				return 1
			}
		case av:
			return -1
		case bv:
			return 1
		}
		return 0 // ties by creation order (seq)
	})
	if len(paged) != len(sorted) {
		t.Fatalf("paging returned %d resources, want %d", len(paged), len(sorted))
	}
	for i := range sorted {
		if paged[i] != sorted[i].res.ID {
			t.Fatalf("ORDER BY metrics.loss DESC: position %d is %s, want %s (last %v)", i, paged[i], sorted[i].res.Name, sorted[i].sum.Last)
		}
	}
	first, err := tr.SearchAll(ctx, "type = 'experiment' AND metrics.loss.count > 0 ORDER BY metrics.loss.min ASC LIMIT 1")
	noErr(t, err)
	if len(first) != 1 || first[0].ID != trials[7].res.ID {
		t.Errorf("ORDER BY metrics.loss.min: %+v", first)
	}
	for _, q := range []string{
		"metrics.loss = 'low'",
		"metrics.loss > true",
		"metrics.loss > now-1d",
		"metrics.loss LIKE 'a%'",
		"metrics > 1",
		"metrics.val.loss > 1",
		"metrics.loss.`min` > 1",
		"metrics.loss.min.max > 1",
	} {
		if _, err := tr.Search(ctx, q); !errors.Is(err, metatrack.ErrInvalidQuery) {
			t.Errorf("%s: %v, want ErrInvalidQuery", q, err)
		}
	}
}

// testVerifyMetricEndingInNaN: a series whose last point is NaN (stored as
// NULL in its searchable columns) is clean; verify took the NULL for a
// disagreement. Found by the hostile import corpus (ok_metric_nan).
func (m seriesSuite) testVerifyMetricEndingInNaN(t *testing.T) {
	tr := m.open(t, metatrack.WithoutRun())
	r, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	noErr(t, err)
	for i, v := range []float64{0.5, 0.4, math.NaN()} {
		noErr(t, tr.LogMetric(ctx, r, "loss", v, metatrack.WithStep(int64(i))))
	}
	rep, err := tr.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v, %v", rep.Problems, err)
	}
}
