package main

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestAtMetrics: at shows the summaries of a resource's series over the
// points logged up to the time, in every output form.
func TestAtMetrics(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	t0 := mustTime("2024-05-01T12:00:00Z")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float64{0.9, 0.5, math.Inf(1), 0.25} {
		if err := tr.LogMetric(ctx, ds, "loss", v, metatrack.WithTime(t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	r := runFixture(t, "at", "--db", path, "-o", "json", "2024-05-01T14:30:00Z", "dataset/d")
	if r.code != exitOK {
		t.Fatalf("at: exit %d: %s", r.code, r.stderr)
	}
	var out atJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	m, ok := out.States[0].Metrics["loss"]
	if !ok || m.Count != 3 || m.LastStep != 2 || m.Last != "Inf" || m.Max != "Inf" || m.Min != 0.5 {
		t.Fatalf("at -o json: %s", r.stdout)
	}
	r = runFixture(t, "at", "--db", path, "2024-05-01T12:30:00Z", "dataset/d")
	if r.code != exitOK || !strings.Contains(r.stdout, "metrics.loss") || !strings.Contains(r.stdout, "0.9 at step 0 (min 0.9, max 0.9, 1 points)") {
		t.Fatalf("at: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runFixture(t, "at", "--db", path, "-o", "csv", "2024-05-01T16:00:00Z", "dataset/d")
	if r.code != exitOK || !strings.Contains(r.stdout, "metrics.loss,0.25") || !strings.Contains(r.stdout, "metrics.loss.count,4") {
		t.Fatalf("at -o csv: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runFixture(t, "at", "--db", path, "-o", "json", "2024-05-01T11:00:00Z", "dataset/d")
	if r.code != exitOK || strings.Contains(r.stdout, `"metrics"`) {
		t.Fatalf("at before any point: %s%s", r.stdout, r.stderr)
	}
}

// TestGCMetrics: gc reports the small metric blocks it merges.
func TestGCMetrics(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	for c := range 5 {
		pts := make([]metatrack.MetricPoint, 100)
		for i := range pts {
			pts[i] = metatrack.MetricPoint{Step: int64(c*100 + i), Value: float64(i)}
		}
		if err := tr.LogMetrics(ctx, ds, "loss", pts); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	r := runFixture(t, "gc", "--db", path, "--dry-run")
	if r.code != exitOK || !strings.Contains(r.stdout, "Would merge 5 small metric blocks of 1 series into fuller ones.") {
		t.Fatalf("gc --dry-run: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runFixture(t, "gc", "--db", path, "-o", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"metric_blocks": 5`) {
		t.Fatalf("gc -o json: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runFixture(t, "gc", "--db", path)
	if r.code != exitOK || strings.Contains(r.stdout, "metric") {
		t.Fatalf("a second gc: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
