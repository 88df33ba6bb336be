package metatrack_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestVerifyMetricEndingInNaN: a series whose last point is NaN (stored as
// NULL in its searchable columns) is clean; verify took the NULL for a
// disagreement. Found by the hostile import corpus (ok_metric_nan).
func TestVerifyMetricEndingInNaN(t *testing.T) {
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, filepath.Join(t.TempDir(), "x.db"), metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	r, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float64{0.5, 0.4, math.NaN()} {
		if err := tr.LogMetric(ctx, r, "loss", v, metatrack.WithStep(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := tr.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v, %v", rep.Problems, err)
	}
}
