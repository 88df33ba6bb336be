package main

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// seriesState is every metric series of a store, of every resource and run,
// by "<owner id> <key>": its points in order and its summary.
type seriesState map[string]seriesOf

type seriesOf struct {
	points  []metatrack.MetricPoint
	summary metatrack.MetricSummary
}

func metricsOfStore(t *testing.T, url string) seriesState {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, url, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	owners, err := tr.SearchAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := tr.SearchAll(ctx, "", metatrack.WithDeleted())
	if err != nil {
		t.Fatal(err)
	}
	owners = append(owners, deleted...)
	runs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		owners = append(owners, r.Resource())
	}
	out := seriesState{}
	for _, o := range owners {
		sums, err := tr.Metrics(ctx, o)
		if err != nil {
			t.Fatalf("metrics of %s: %v", o.ID, err)
		}
		for _, s := range sums {
			pts, err := tr.MetricHistory(ctx, o, s.Key)
			if err != nil {
				t.Fatalf("metric %q of %s: %v", s.Key, o.ID, err)
			}
			out[o.ID+" "+s.Key] = seriesOf{pts, s}
		}
	}
	return out
}

// sameFloat is equality of stored values: NaN equals NaN.
func sameFloat(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b)
}

// TestMergeDemoIntoPostgres: the demo's file merged into a PostgreSQL store
// brings every metric series over exactly, point for point (step, time and
// the value's bits) and summary for summary; the series check finds
// nothing wrong on the server; gc there merges the small blocks the merge
// brought and changes no point; and merging again adds nothing.
func TestMergeDemoIntoPostgres(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "titanic.db")
	mustRun(t, "demo", "--db", db, "--workdir", filepath.Join(dir, "work"), "-q")
	addSmallBlocksAndTail(t, db)
	u := pgtest.URL(t)
	if r := runFixture(t, "merge", db, "--db", u); r.code != exitOK {
		t.Fatalf("merge into PostgreSQL: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	want := metricsOfStore(t, db)
	if len(want) == 0 {
		t.Fatal("the demo logged no metrics")
	}
	sameSeries(t, metricsOfStore(t, u), want)

	e, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	verifySeries(t, e)
	// gc on the server merges the small blocks and changes no point.
	r := runFixture(t, "gc", "--db", u, "-o", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"metric_blocks": 20`) {
		t.Fatalf("gc on PostgreSQL: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	sameSeries(t, metricsOfStore(t, u), want)
	verifySeries(t, e)

	if r := runFixture(t, "merge", db, "--db", u); r.code != exitOK {
		t.Fatalf("second merge: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	sameSeries(t, metricsOfStore(t, u), want)
}

// addSmallBlocksAndTail adds to the file at path what the demo's curves
// lack: a series of small blocks (20 LogMetrics calls of 100 points) and
// one with only a tail, NaN, infinities and
// negative zero among its values.
func addSmallBlocksAndTail(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sweep, err := tr.CreateResource(ctx, metatrack.TypeSweep, "extra")
	if err != nil {
		t.Fatal(err)
	}
	for c := range 20 {
		pts := make([]metatrack.MetricPoint, 100)
		for i := range pts {
			pts[i] = metatrack.MetricPoint{Step: int64(c*100 + i), Value: math.Sin(float64(c*100 + i))}
		}
		if err := tr.LogMetrics(ctx, sweep, "grad_norm", pts); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.25} {
		if err := tr.LogMetric(ctx, sweep, "lr", v); err != nil {
			t.Fatal(err)
		}
	}
}

// verifySeries checks the metric series of e (metricstore.Verify).
func verifySeries(t *testing.T, e storage.Engine) {
	t.Helper()
	var rep storage.Report
	err := e.ReadTx(context.Background(), func(tx storage.Tx) error {
		return metricstore.Verify(context.Background(), tx, &e.SQL().MetricStatements, &rep)
	})
	if err != nil || !rep.OK() {
		t.Fatalf("metric series on %s: %v %+v", e.Name(), err, rep.Problems)
	}
}

// sameSeries fails t unless got holds the series of want, point for point
// and summary for summary.
func sameSeries(t *testing.T, got, want seriesState) {
	t.Helper()
	keys := func(s seriesState) []string {
		var ks []string
		for k := range s {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("series on PostgreSQL:\n%v\nin the file:\n%v", keys(got), keys(want))
	}
	points := 0
	for k, w := range want {
		g := got[k]
		if len(g.points) != len(w.points) {
			t.Fatalf("%s: %d points on PostgreSQL, %d in the file", k, len(g.points), len(w.points))
		}
		for i, wp := range w.points {
			gp := g.points[i]
			if gp.Step != wp.Step || !gp.Time.Equal(wp.Time) || math.Float64bits(gp.Value) != math.Float64bits(wp.Value) {
				t.Fatalf("%s: point %d is %+v on PostgreSQL, %+v in the file", k, i, gp, wp)
			}
		}
		points += len(w.points)
		gs, ws := g.summary, w.summary
		if gs.Key != ws.Key || gs.Count != ws.Count || gs.LastStep != ws.LastStep || !gs.LastTime.Equal(ws.LastTime) ||
			!sameFloat(gs.Last, ws.Last) || !sameFloat(gs.Min, ws.Min) || !sameFloat(gs.Max, ws.Max) {
			t.Fatalf("%s: summary %+v on PostgreSQL, %+v in the file", k, gs, ws)
		}
	}
	t.Logf("%d series, %d points equal", len(want), points)
}
