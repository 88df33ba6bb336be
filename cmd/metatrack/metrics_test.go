package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// buildMetricsFixture writes a small database of learning curves: a sweep
// of three trials, each with loss and accuracy series of 6 epochs (trial-3
// diverges: its last loss is NaN, and it has no accuracy), on a fixed clock.
func buildMetricsFixture(t *testing.T, dir string) string {
	t.Helper()
	return buildMetricsFixtureAt(t, filepath.Join(dir, "curves.db"))
}

// buildMetricsFixtureAt writes the learning curves into the store at path
// (a file, or a PostgreSQL URL of an empty database).
func buildMetricsFixtureAt(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	clk.set("2024-06-01T10:00:00Z")
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("sweep"), metatrack.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	sweep, err := tr.CreateResource(ctx, metatrack.TypeSweep, "lr-sweep")
	if err != nil {
		t.Fatal(err)
	}
	start := mustTime("2024-06-01T10:00:00Z")
	for i, lr := range []float64{0.01, 0.1, 1} {
		e, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-"+string(rune('1'+i)), metatrack.WithParent(sweep.ID),
			metatrack.WithAttr("lr", lr))
		if err != nil {
			t.Fatal(err)
		}
		var loss, acc []metatrack.MetricPoint
		for step := 1; step <= 6; step++ {
			at := start.Add(time.Duration(i*60+step) * time.Second)
			l := 0.7 / (1 + float64(step)*lr*3)
			if i == 2 && step == 6 {
				l = math.NaN()
			}
			loss = append(loss, metatrack.MetricPoint{Step: int64(step), Value: l, Time: at})
			acc = append(acc, metatrack.MetricPoint{Step: int64(step), Value: 0.5 + 0.05*float64(step)*lr*(3-float64(i)), Time: at})
		}
		if err := tr.LogMetrics(ctx, e, "loss", loss); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := tr.LogMetrics(ctx, e, "accuracy", acc); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.LogMetadata(ctx, e, "auc", 0.8+0.05*float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// sweepTrials selects the trials of the learning-curve fixture.
const sweepTrials = "type = 'experiment' AND parent = 'sweep/lr-sweep'"

// goldenMetricsCases are the commands of TestGoldenMetrics, which
// TestRemoteGolden also runs against a server.
var goldenMetricsCases = []goldenCase{
	{"metrics", []string{"metrics", "experiment/trial-1"}, exitOK},
	{"metrics_keys_json", []string{"metrics", "experiment/trial-3", "loss", "-o", "json"}, exitOK},
	{"metrics_key_typo", []string{"metrics", "experiment/trial-3", "los"}, exitFailure},
	{"metrics_query", []string{"metrics", "--query", sweepTrials, "loss"}, exitOK},
	{"metrics_query_csv", []string{"metrics", "--query", sweepTrials, "-o", "csv"}, exitOK},
	{"metrics_history", []string{"metrics", "experiment/trial-3", "--history"}, exitOK},
	{"metrics_history_json", []string{"metrics", "experiment/trial-1", "loss", "--history", "-o", "json"}, exitOK},
	{"metrics_history_csv", []string{"metrics", "--query", sweepTrials, "loss", "--history", "-o", "csv"}, exitOK},
	{"metrics_plot", []string{"metrics", "experiment/trial-1", "loss", "--plot"}, exitOK},
	{"metrics_plot_overlay", []string{"metrics", "--query", sweepTrials, "loss", "--plot"}, exitOK},
	{"get_metrics", []string{"get", "sweep/lr-sweep/experiment/trial-3"}, exitOK},
	{"get_metrics_json", []string{"get", "sweep/lr-sweep/experiment/trial-2", "-o", "json"}, exitOK},
	{"metrics_unknown_key", []string{"metrics", "experiment/trial-3", "accuracy"}, exitFailure},
	{"metrics_plot_which", []string{"metrics", "experiment/trial-1", "--plot"}, exitUsage},
	{"metrics_query_no_key", []string{"metrics", "--query", sweepTrials, "--plot"}, exitUsage},
	{"ls_metric_columns", []string{"ls", sweepTrials, "--order", "metadata.auc DESC", "--columns", "attrs.lr,metrics.loss,metrics.loss.min,metrics.loss.count,metrics.accuracy"}, exitOK},
	{"ls_metric_columns_json", []string{"ls", sweepTrials, "--limit", "1", "--order", "attrs.lr DESC", "--columns", "metrics.*", "-o", "json"}, exitOK},
	{"compare_metrics", []string{"compare", "--query", sweepTrials}, exitOK},
	{"compare_metrics_json", []string{"compare", "experiment/trial-2", "experiment/trial-3", "--diff", "-o", "json"}, exitOK},
}

// TestGoldenMetrics: the outputs of metrics, and of the listings' metric
// columns, on the learning-curve fixture. Rewrite with -update.
func TestGoldenMetrics(t *testing.T) {
	dir := t.TempDir()
	db := buildMetricsFixture(t, dir)
	for _, tc := range goldenMetricsCases {
		t.Run(tc.name, func(t *testing.T) {
			r := runFixture(t, append(tc.args, "--db", db)...)
			if r.code != tc.code {
				t.Fatalf("metatrack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, r.stderr)
			}
			golden(t, tc.name+"/stdout", normalize(r.stdout))
			if tc.code != exitOK {
				golden(t, tc.name+"/stderr", normalize(r.stderr))
			} else if r.stderr != "" {
				t.Errorf("stderr is not empty:\n%s", r.stderr)
			}
			if strings.HasSuffix(tc.name, "_json") && !json.Valid([]byte(r.stdout)) {
				t.Errorf("-o json printed invalid JSON:\n%s", r.stdout)
			}
			if strings.HasSuffix(tc.name, "_csv") {
				checkCSV(t, r.stdout)
			}
		})
	}

	// --svg writes a picture with its axes labelled and one line a trial.
	out := filepath.Join(dir, "loss.svg")
	r := runFixture(t, "metrics", "--query", sweepTrials, "loss", "--svg", out, "--db", db)
	if r.code != exitOK {
		t.Fatalf("--svg: exit %d: %s", r.code, r.stderr)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", ">step<", ">loss<", ">trial-1<", ">trial-3<", "loss of sweep/lr-sweep/experiment/*"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("SVG file mode: %v %v", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left in the directory: %v", entries)
	}
	// Completion offers the keys of the resource's series not given yet.
	r = runFixture(t, "__complete", "--db", db, "metrics", "sweep/lr-sweep/experiment/trial-1", "loss", "")
	if keys := completedNames(r.stdout); strings.Join(keys, " ") != "accuracy" {
		t.Errorf("completed keys %q, want accuracy", keys)
	}
	r = runFixture(t, "__complete", "--db", db, "metrics", "sweep/lr-sweep/experiment/trial-1", "")
	if keys := completedNames(r.stdout); strings.Join(keys, " ") != "accuracy loss" {
		t.Errorf("completed keys %q, want accuracy loss", keys)
	}
	// --svg - writes the picture to stdout.
	r = runFixture(t, "metrics", "experiment/trial-1", "accuracy", "--svg", "-", "--db", db)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "<?xml") || !strings.Contains(r.stdout, ">accuracy<") {
		t.Errorf("--svg -: exit %d, stdout starts %.80q", r.code, r.stdout)
	}
}

// completedNames returns the names of cobra's __complete output, without
// descriptions and the directive line.
func completedNames(out string) []string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var names []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names
}
