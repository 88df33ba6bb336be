package metatrack_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/metatracktest"
)

func metricsCheck(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func sameValue(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// The helpers of the metric tests are those of the metric-series suite,
// which runs on both engines (TestMetricSeriesSQLite here, and in
// storage/postgres).
var (
	samePoints   = metatracktest.SamePoints
	sortedPoints = metatracktest.SortedPoints
	randomSeries = metatracktest.RandomSeries
)

func metricsExperiment(tb testing.TB, tr *metatrack.Tracker) metatrack.Resource {
	tb.Helper()
	ctx := context.Background()
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")
	metricsCheck(tb, err)
	exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))
	metricsCheck(tb, err)
	return exp
}

func TestMetricHistoryRanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	tr, err := metatrack.Open(ctx, path)
	metricsCheck(t, err)
	exp := metricsExperiment(t, tr)
	logged := randomSeries(t, tr, exp, "loss", 20000, 1)
	want := sortedPoints(logged)
	check := func(tr *metatrack.Tracker) { metatracktest.CheckMetricHistory(t, tr, exp, "loss", want) }
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
