package metatracktest

import (
	"math"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// testMetrics: metric series on a resource and on the run keep every
// point in step order with NaN and infinities, summarise them, read
// ranges and downsampled views, work in queries, and refuse
// bad input storing nothing.
func (s suite) testMetrics(t *testing.T) {
	tr := s.open(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))).of(t)
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	values := []float64{0.5, 0.5, math.NaN(), math.Inf(1), 0.25}
	for i, v := range values {
		noErr(t, tr.LogMetric(ctx, exp, "loss", v, metatrack.WithTime(t0.Add(time.Duration(i)*time.Second))))
	}
	var many []metatrack.MetricPoint
	for i := range 3000 {
		many = append(many, metatrack.MetricPoint{Step: int64(10 + i), Value: 1 / float64(i+1), Time: t0.Add(time.Hour)})
	}
	noErr(t, tr.LogMetrics(ctx, exp, "loss", many))
	pts := must(tr.MetricHistory(ctx, exp, "loss")).of(t)
	if len(pts) != 3005 {
		t.Fatalf("%d points, want 3005", len(pts))
	}
	for i, v := range values {
		if p := pts[i]; p.Step != int64(i) || math.Float64bits(p.Value) != math.Float64bits(v) && !(math.IsNaN(v) && math.IsNaN(p.Value)) ||
			!p.Time.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("point %d = %+v, want step %d value %v", i, p, i, v)
		}
	}
	sums := must(tr.Metrics(ctx, exp)).of(t)
	if len(sums) != 1 || sums[0].Count != 3005 || sums[0].LastStep != 3009 || sums[0].Last != 1.0/3000 ||
		sums[0].Min != 1.0/3000 || !math.IsInf(sums[0].Max, 1) {
		t.Fatalf("summary = %+v", sums)
	}
	if got := must(tr.MetricHistory(ctx, exp, "loss", metatrack.WithStepRange(2, 11))).of(t); len(got) != 5 || got[0].Step != 2 || got[4].Step != 11 {
		t.Fatalf("step range: %+v", got)
	}
	view := must(tr.MetricHistory(ctx, exp, "loss", metatrack.WithMaxPoints(30))).of(t)
	if len(view) > 30 || view[len(view)-1].Step != 3009 {
		t.Fatalf("downsampled view of %d points ending %+v", len(view), view[len(view)-1])
	}
	found := must(tr.SearchAll(ctx, "metrics.loss < 0.001 AND metrics.loss.count > 3000")).of(t)
	if len(found) != 1 || found[0].ID != exp.ID {
		t.Fatalf("metric search: %+v", found)
	}
	if run := tr.Run(); run.ID != "" {
		noErr(t, tr.LogMetric(ctx, run.Resource(), "throughput", 12))
		if got := must(tr.Metrics(ctx, run.Resource())).of(t); len(got) != 1 || got[0].Last != 12 {
			t.Fatalf("run metrics: %+v", got)
		}
	}
	wantErr(t, tr.LogMetric(ctx, exp, "", 1), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogMetric(ctx, exp, "loss", 1, metatrack.WithStep(-1)), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogMetric(ctx, exp, "loss", 1, metatrack.WithTime(time.Unix(-1, 0))), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogMetrics(ctx, exp, "loss", []metatrack.MetricPoint{{Step: 1}, {Step: -2}}), metatrack.ErrInvalidArgument)
	_, err := tr.MetricHistory(ctx, exp, "nope")
	wantErr(t, err, metatrack.ErrNotFound)
	noErr(t, tr.CleanResource(ctx, exp, ""))
	wantErr(t, tr.LogMetric(ctx, exp, "loss", 1), metatrack.ErrResourceClosed)
	if got := must(tr.Metrics(ctx, exp)).of(t); got[0].Count != 3005 {
		t.Fatalf("a refused point was stored: %+v", got)
	}
}
