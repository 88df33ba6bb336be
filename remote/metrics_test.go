package remote_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestMetricsOverTheWire: points with NaN, infinities, set and unset
// times go through LogMetrics and LogMetric and come back from
// MetricHistory and Metrics as the library stores them.
func TestMetricsOverTheWire(t *testing.T) {
	ctx := context.Background()
	tr, url := serve(t)
	c := dial(t, url)
	ds, err := c.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	pts := []metatrack.MetricPoint{{Step: 0, Value: 0.5, Time: at}, {Step: 1, Value: math.NaN()},
		{Step: 2, Value: math.Inf(1), Time: at}, {Step: 3, Value: math.Inf(-1), Time: at}}
	if err := c.LogMetrics(ctx, ds, "loss", pts); err != nil {
		t.Fatal(err)
	}
	if err := c.LogMetric(ctx, ds, "loss", 0.25); err != nil {
		t.Fatal(err)
	}
	got, err := c.MetricHistory(ctx, ds, "loss")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tr.MetricHistory(ctx, ds, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || len(want) != 5 {
		t.Fatalf("got %v, library has %v", got, want)
	}
	for i := range got {
		same := got[i].Value == want[i].Value || math.IsNaN(got[i].Value) && math.IsNaN(want[i].Value)
		if got[i].Step != want[i].Step || !same || !got[i].Time.Equal(want[i].Time) {
			t.Fatalf("point %d: %+v over the wire, %+v in the library", i, got[i], want[i])
		}
	}
	if got[4].Step != 4 || !got[0].Time.Equal(at) || got[1].Time.IsZero() {
		t.Fatalf("steps or times: %+v", got)
	}
	sums, err := c.Metrics(ctx, ds)
	if err != nil || len(sums) != 1 || sums[0].Count != 5 || sums[0].Max != math.Inf(1) {
		t.Fatalf("Metrics = %+v, %v", sums, err)
	}
}
