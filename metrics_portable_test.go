package metatrack_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
)

// metricState is every series of every given resource, points and
// summaries, for comparing two files.
func metricState(tb testing.TB, tr *metatrack.Tracker, res ...metatrack.Resource) map[string][]metatrack.MetricPoint {
	tb.Helper()
	ctx := context.Background()
	out := map[string][]metatrack.MetricPoint{}
	for _, r := range res {
		sums, err := tr.Metrics(ctx, r)
		metricsCheck(tb, err)
		for _, s := range sums {
			pts, err := tr.MetricHistory(ctx, r, s.Key)
			metricsCheck(tb, err)
			if int64(len(pts)) != s.Count {
				tb.Fatalf("%s %s: %d points, summary says %d", r.ID, s.Key, len(pts), s.Count)
			}
			out[r.ID+" "+s.Key] = pts
		}
	}
	return out
}

func sameMetricState(tb testing.TB, got, want map[string][]metatrack.MetricPoint) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d series, want %d", len(got), len(want))
	}
	for k, w := range want {
		samePoints(tb, got[k], w)
	}
}

func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	metricsCheck(tb, err)
	metricsCheck(tb, os.WriteFile(dst, b, 0o644))
}

func TestMetricsExportImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := metatrack.Open(ctx, filepath.Join(dir, "a.db"), metatrack.WithRunName("train"))
	metricsCheck(t, err)
	defer a.Close()
	exp := metricsExperiment(t, a)
	randomSeries(t, a, exp, "loss", 5000, 3)
	metricsCheck(t, a.LogMetrics(ctx, exp, "odd", []metatrack.MetricPoint{{Step: 0, Value: math.NaN()},
		{Step: 1, Value: math.Inf(1)}, {Step: 2, Value: math.Inf(-1)}, {Step: 3, Value: math.Copysign(0, -1)}, {Step: 4, Value: 1e300}}))
	run := a.Run().Resource()
	metricsCheck(t, a.LogMetric(ctx, run, "gpu", 0.5))
	want := metricState(t, a, exp, run)

	var buf bytes.Buffer
	st, err := a.Export(ctx, &buf)
	metricsCheck(t, err)
	if st.Kinds[portable.KindMetric] < 5 {
		t.Fatalf("export kinds: %+v", st.Kinds)
	}
	b, err := metatrack.Open(ctx, filepath.Join(dir, "b.db"), metatrack.WithoutRun())
	metricsCheck(t, err)
	defer b.Close()
	export := buf.Bytes()
	_, err = b.Import(ctx, bytes.NewReader(export))
	metricsCheck(t, err)
	sameMetricState(t, metricState(t, b, exp, run), want)
	// Importing again changes nothing.
	st, err = b.Import(ctx, bytes.NewReader(export))
	metricsCheck(t, err)
	if st.Added != 0 {
		t.Errorf("second import added %d records", st.Added)
	}
	sameMetricState(t, metricState(t, b, exp, run), want)

	// A filtered export carries the series of the resources it exports.
	buf.Reset()
	_, err = a.Export(ctx, &buf, metatrack.WithExportFilter("type = 'experiment'"))
	metricsCheck(t, err)
	if !strings.Contains(buf.String(), `"kind":"metric","resource":"`+exp.ID+`","key":"loss"`) {
		t.Errorf("filtered export has no metric records of the experiment")
	}
}

func TestMetricsMergeUnion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	a, err := metatrack.Open(ctx, pa, metatrack.WithoutRun())
	metricsCheck(t, err)
	exp := metricsExperiment(t, a)
	randomSeries(t, a, exp, "loss", 3000, 4)
	metricsCheck(t, a.Close())
	copyFile(t, pa, pb)

	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	grow := func(path string, from, n int, v float64) {
		tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
		metricsCheck(t, err)
		defer tr.Close()
		var pts []metatrack.MetricPoint
		for i := range n {
			pts = append(pts, metatrack.MetricPoint{Step: int64(from + i), Value: v, Time: t0.Add(time.Duration(i) * time.Second)})
		}
		metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", pts[:n/2]))
		for _, p := range pts[n/2:] {
			metricsCheck(t, tr.LogMetric(ctx, exp, "loss", p.Value, metatrack.WithStep(p.Step), metatrack.WithTime(p.Time)))
		}
	}
	grow(pa, 3001, 500, 0.25) // both copies appended, differently
	grow(pb, 3001, 300, 0.75)

	a, err = metatrack.Open(ctx, pa, metatrack.WithoutRun())
	metricsCheck(t, err)
	defer a.Close()
	_, err = a.Merge(ctx, pb)
	metricsCheck(t, err)
	got, err := a.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	if len(got) != 3000+500+300 {
		t.Fatalf("merged series has %d points, want %d", len(got), 3800)
	}
	var quarter, threeQuarters int
	for _, p := range got {
		switch {
		case p.Step > 3000 && p.Value == 0.25:
			quarter++
		case p.Step > 3000 && p.Value == 0.75:
			threeQuarters++
		}
	}
	if quarter != 500 || threeQuarters != 300 {
		t.Errorf("merged: %d points of a's growth, %d of b's", quarter, threeQuarters)
	}
	// Merging again changes nothing; merging the other way gives the same.
	_, err = a.Merge(ctx, pb)
	metricsCheck(t, err)
	want := metricState(t, a, exp)
	b, err := metatrack.Open(ctx, pb, metatrack.WithoutRun())
	metricsCheck(t, err)
	defer b.Close()
	_, err = b.Merge(ctx, pa)
	metricsCheck(t, err)
	sameMetricState(t, metricState(t, b, exp), want)
	sameMetricState(t, metricState(t, a, exp), want)
}

func TestMetricsImportBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := metatrack.Open(ctx, filepath.Join(dir, "a.db"), metatrack.WithoutRun())
	metricsCheck(t, err)
	defer a.Close()
	exp := metricsExperiment(t, a)
	metricsCheck(t, a.LogMetrics(ctx, exp, "loss", []metatrack.MetricPoint{{Step: 1, Value: 0.5}, {Step: 2, Value: 0.4}}))
	var buf bytes.Buffer
	_, err = a.Export(ctx, &buf)
	metricsCheck(t, err)
	good := buf.String()
	start := strings.Index(good, `{"kind":"metric"`)
	end := start + strings.Index(good[start:], "\n")
	if start < 0 {
		t.Fatal("no metric record")
	}
	goodLine := good[start:end]
	for name, line := range map[string]string{
		"ErrFractionalStep": strings.Replace(goodLine, `[[1,`, `[[1.5,`, 1),
		"ErrHugeStep":       strings.Replace(goodLine, `[[1,`, `[[1e400,`, 1),
		"ErrNaNStep":        strings.Replace(goodLine, `[[1,`, `[["NaN",`, 1),
		"ErrNegativeStep":   strings.Replace(goodLine, `[[1,`, `[[-1,`, 1),
		"ErrBefore1970":     strings.Replace(goodLine, `[[1,`, `[[1,-5,0.5],[1,`, 1),
		"ErrNullValue":      strings.Replace(goodLine, `0.5]`, `null]`, 1),
		"ErrStringValue":    strings.Replace(goodLine, `0.5]`, `"0.5"]`, 1),
		"ErrTwoFields":      strings.Replace(goodLine, `0.5]`, `]`, 1),
		"ErrKey":            strings.Replace(goodLine, `"key":"loss"`, `"key":"lo\nss"`, 1),
		"ErrEmptyKey":       strings.Replace(goodLine, `"key":"loss"`, `"key":""`, 1),
		"ErrNoOwner":        strings.Replace(goodLine, `"resource":"`+exp.ID+`",`, ``, 1),
		"ErrUnknownOwner":   strings.Replace(goodLine, exp.ID, "0190a000-0000-7000-8000-000000000000", 1),
		"ErrNoPoints":       goodLine[:strings.Index(goodLine, `"points"`)] + `"points":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if line == goodLine {
				t.Fatal("the case changed nothing")
			}
			b, err := metatrack.Open(ctx, filepath.Join(t.TempDir(), "b.db"), metatrack.WithoutRun())
			metricsCheck(t, err)
			defer b.Close()
			_, err = b.Import(ctx, strings.NewReader(good[:start]+line+good[end:]))
			if !errors.Is(err, portable.ErrInvalid) {
				t.Fatalf("import: %v, want ErrInvalid", err)
			}
			if _, err := b.GetResource(ctx, exp.ID, ""); !errors.Is(err, metatrack.ErrNotFound) {
				t.Fatalf("a refused import left the resource: %v", err)
			}
		})
	}
	_ = io.EOF
}

func TestMetricsVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	tr, err := metatrack.Open(ctx, base, metatrack.WithoutRun())
	metricsCheck(t, err)
	exp := metricsExperiment(t, tr)
	pts := make([]metatrack.MetricPoint, 2500)
	for i := range pts {
		pts[i] = metatrack.MetricPoint{Step: int64(i), Value: 1 / float64(i+1)}
	}
	metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", pts))
	for i := range 10 {
		metricsCheck(t, tr.LogMetric(ctx, exp, "loss", float64(i)))
	}
	rep, err := tr.Verify(ctx)
	metricsCheck(t, err)
	if !rep.OK() {
		t.Fatalf("verify of a sound file: %+v", rep.Problems)
	}
	metricsCheck(t, tr.Close())
	for name, damage := range map[string]string{
		"BlockBytes":    `UPDATE metric_blocks SET data = substr(data, 1, length(data) / 2) WHERE first_ord = 0`,
		"BlockCount":    `UPDATE metric_blocks SET count = count + 1 WHERE first_ord = 0`,
		"BlockRange":    `UPDATE metric_blocks SET max_step = max_step + 1000000 WHERE first_ord = 0`,
		"BlockSummary":  `UPDATE metric_blocks SET summary = (SELECT summary FROM metric_blocks ORDER BY first_ord DESC LIMIT 1) WHERE first_ord = 0`,
		"SeriesCount":   `UPDATE metric_series SET count = count + 1`,
		"SeriesLast":    `UPDATE metric_series SET last_value = last_value + 1`,
		"SeriesMin":     `UPDATE metric_series SET min_value = -5`,
		"TailRowLost":   `DELETE FROM metric_tail WHERE ord = (SELECT max(ord) FROM metric_tail)`,
		"TailValue":     `UPDATE metric_tail SET value = 0 WHERE ord = (SELECT max(ord) FROM metric_tail)`,
		"BlockLost":     `DELETE FROM metric_blocks WHERE first_ord = 1024`,
		"SummaryGarble": `UPDATE metric_series SET summary = x'01'`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.db")
			copyFile(t, base, path)
			conn, err := sql.Open("sqlite", "file:"+path)
			metricsCheck(t, err)
			res, err := conn.Exec(damage)
			metricsCheck(t, err)
			if n, _ := res.RowsAffected(); n == 0 {
				t.Fatal("the damage changed nothing")
			}
			metricsCheck(t, conn.Close())
			tr, err := metatrack.Open(ctx, path, metatrack.WithReadOnly())
			metricsCheck(t, err)
			defer tr.Close()
			rep, err := tr.Verify(ctx)
			if !errors.Is(err, metatrack.ErrCorrupt) {
				t.Fatalf("verify of a damaged file: %v", err)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || p.Kind == "metric" && strings.Contains(p.What, `metric "loss" of resource `+exp.ID)
			}
			if !found {
				t.Fatalf("verify did not report the damage: %+v", rep.Problems)
			}
		})
	}
}

// TestMetricsGC: gc merges the small blocks that many small LogMetrics
// calls leave, keeping every point, the order and the summaries; a stream
// of the series that gc compacts goes on where it was.
func TestMetricsGC(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	metricsCheck(t, err)
	defer tr.Close()
	exp := metricsExperiment(t, tr)
	for c := range 30 {
		pts := make([]metatrack.MetricPoint, 100)
		for i := range pts {
			pts[i] = metatrack.MetricPoint{Step: int64(c*100 + i), Value: math.Sin(float64(c*100 + i))}
		}
		metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", pts))
	}
	for i := range 10 {
		metricsCheck(t, tr.LogMetric(ctx, exp, "loss", float64(i)))
	}
	before, err := tr.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	sumsBefore, err := tr.Metrics(ctx, exp)
	metricsCheck(t, err)
	blocks := func() int {
		conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		metricsCheck(t, err)
		defer conn.Close()
		var n int
		metricsCheck(t, conn.QueryRow(`SELECT count(*) FROM metric_blocks`).Scan(&n))
		return n
	}
	if n := blocks(); n != 30 {
		t.Fatalf("%d blocks before gc, want 30", n)
	}
	st, err := tr.GC(ctx, metatrack.WithDryRun())
	metricsCheck(t, err)
	if st.MetricBlocks != 30 || st.MetricSeries != 1 || blocks() != 30 {
		t.Fatalf("dry run: %+v, %d blocks", st, blocks())
	}
	// Stream the first points, compact, stream the rest.
	var streamed []metatrack.MetricPoint
	compacted := false
	for p, err := range tr.MetricPoints(ctx, exp, "loss") {
		metricsCheck(t, err)
		streamed = append(streamed, p)
		if len(streamed) == 150 && !compacted {
			st, err = tr.GC(ctx)
			metricsCheck(t, err)
			compacted = true
		}
	}
	if st.MetricBlocks != 30 || blocks() != 3 {
		t.Fatalf("gc: %+v, %d blocks after", st, blocks())
	}
	samePoints(t, streamed, before)
	after, err := tr.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	samePoints(t, after, before)
	sumsAfter, err := tr.Metrics(ctx, exp)
	metricsCheck(t, err)
	if len(sumsAfter) != 1 || sumsAfter[0] != sumsBefore[0] {
		t.Fatalf("summaries after gc: %+v, before %+v", sumsAfter, sumsBefore)
	}
	rep, err := tr.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after gc: %v %+v", err, rep.Problems)
	}
	st, err = tr.GC(ctx)
	metricsCheck(t, err)
	if st.MetricBlocks != 0 {
		t.Fatalf("a second gc merged %d blocks", st.MetricBlocks)
	}
}

// TestMetricPointsResumeAfterEarlierPoint: a stream that gc compacts
// resumes after the last point it gave, even when a point logged meanwhile
// sorts before it: it neither repeats a point nor skips one.
func TestMetricPointsResumeAfterEarlierPoint(t *testing.T) {
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, filepath.Join(t.TempDir(), "m.db"), metatrack.WithoutRun())
	metricsCheck(t, err)
	defer tr.Close()
	exp := metricsExperiment(t, tr)
	for c := range 30 {
		pts := make([]metatrack.MetricPoint, 100)
		for i := range pts {
			pts[i] = metatrack.MetricPoint{Step: int64(c*100 + i), Value: float64(c*100 + i)}
		}
		metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", pts))
	}
	before, err := tr.MetricHistory(ctx, exp, "loss")
	metricsCheck(t, err)
	var streamed []metatrack.MetricPoint
	for p, err := range tr.MetricPoints(ctx, exp, "loss") {
		metricsCheck(t, err)
		streamed = append(streamed, p)
		if len(streamed) == 150 {
			early := metatrack.MetricPoint{Step: 5, Value: -1, Time: before[5].Time}
			metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", []metatrack.MetricPoint{early}))
			st, err := tr.GC(ctx)
			metricsCheck(t, err)
			if st.MetricBlocks == 0 {
				t.Fatal("gc merged no blocks: the stream was not made to resume")
			}
		}
	}
	samePoints(t, streamed, before)
}
