package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/postgres"
)

// update rewrites the golden files: go test ./cmd/metatrack/ -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The fixture: a small but complete workflow written with a fixed clock, so
// that every time in the CLI's output is known. Ids are UUIDs the library
// generates; golden comparisons replace them by placeholders (normalize).
//
//	day 1  dataset_version/titanic_train@1 (tag source, metadata rows)
//	       model_version/titanic_model@1 on it, experiments trial-1 and
//	       trial-2 (winner), promoted, deployed in default;
//	       prediction job batch-2024-05-01
//	day 2  dataset_version/titanic_train@2 (tags source, quality=gold)
//	       model_version/titanic_model@2 on it, two experiments, artifact
//	       model.json and a model check report, promoted, deployed in
//	       staging at 10:00 and default at 14:00 (@1 DEMOTED);
//	       prediction job batch-2024-05-02
//	day 3  model_version/titanic_model@3 on the same data, one experiment,
//	       not promoted
//
// and four runs: nightly (FINISHED, wrote all of the above), import
// (FAILED), backfill (RUNNING on this host with a process that is gone:
// DIED) and train-gpu (RUNNING on another host: RUNNING?). The runs' hosts,
// users and pids are set to fixed values afterwards.

// Fixed values of the fixture's runs and of the CLI's environment in the
// golden tests.
const (
	fixtureHost = "build-host"
	fixtureUser = "ci"
	// fixtureDeadPID is the pid of the backfill run, reported gone.
	fixtureDeadPID = 4343
)

// fixtureNow is the CLI's clock in the golden tests: noon on day 3.
var fixtureNow = mustTime("2024-05-03T12:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// clock is the fixture's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = mustTime(s)
}

// fixtureModelJSON is the content of the model.json artifact.
const fixtureModelJSON = `{"trainer": "logistic_regression", "weights": [0.42, -1.3, 0.07], "bias": 0.5}` + "\n"

// buildFixture writes the fixture database into dir and returns its path.
func buildFixture(t testing.TB, dir string) string {
	t.Helper()
	return buildFixtureAt(t, dir, filepath.Join(dir, "fixture.db"))
}

// buildFixtureAt writes the fixture into the store at path (a file, or a
// PostgreSQL URL of an empty database), with dir for the artifacts' files.
func buildFixtureAt(t testing.TB, dir, path string) string {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	clk.set("2024-05-01T08:55:00Z")
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("nightly"), metatrack.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	create := func(typ, name string, opts ...metatrack.CreateOption) metatrack.Resource {
		t.Helper()
		r, err := tr.CreateResource(ctx, typ, name, opts...)
		must(err)
		return r
	}
	experiment := func(mv metatrack.Resource, name string, lr, auc float64) metatrack.Resource {
		t.Helper()
		e := create(metatrack.TypeExperiment, name, metatrack.WithParent(mv.ID),
			metatrack.WithAttrs(map[string]any{"learning_rate": lr}), metatrack.WithStatus(metatrack.StatusRunning))
		must(tr.LogMetadata(ctx, e, "valid_auc", auc))
		must(tr.CleanResource(ctx, e, ""))
		return e
	}

	// Day 1.
	clk.set("2024-05-01T09:00:00Z")
	dv1 := create(metatrack.TypeDatasetVersion, "titanic_train")
	must(tr.LogTag(ctx, dv1, "source", "s3://data/titanic/2024-05-01.csv"))
	must(tr.LogMetadata(ctx, dv1, "rows", 891))
	must(tr.RegisterVCResource(ctx, dv1, map[string]any{"hexsha": "9fceb02", "uri": "data/titanic_train.csv"}))
	clk.set("2024-05-01T09:30:00Z")
	mv1 := create(metatrack.TypeModelVersion, "titanic_model", metatrack.WithStatus(metatrack.StatusRegistered))
	must(tr.BuildModelLineage(ctx, mv1, []metatrack.Resource{dv1}))
	experiment(mv1, "trial-1", 0.1, 0.81)
	e12 := experiment(mv1, "trial-2", 0.05, 0.84)
	must(tr.SetWinningExperiment(ctx, mv1, e12))
	must(tr.LogMetadata(ctx, mv1, "test_auc", 0.83))
	clk.set("2024-05-01T10:00:00Z")
	_, err = tr.Promote(ctx, mv1, metatrack.Promotion{Reason: "FIRST", Metric: "auc", Value: 0.83, Approved: true})
	must(err)
	_, err = tr.Deploy(ctx, mv1)
	must(err)
	clk.set("2024-05-01T11:00:00Z")
	pj1 := create(metatrack.TypePredictionJob, "batch-2024-05-01", metatrack.WithParent(mv1.ID),
		metatrack.WithAttr("prediction_count", 418), metatrack.WithStatus(metatrack.StatusRunning))
	must(tr.CleanResource(ctx, pj1, ""))

	// Day 2.
	clk.set("2024-05-02T09:00:00Z")
	dv2 := create(metatrack.TypeDatasetVersion, "titanic_train")
	must(tr.LogTag(ctx, dv2, "source", "s3://data/titanic/2024-05-02.csv"))
	must(tr.LogTag(ctx, dv2, "quality", "gold"))
	must(tr.LogMetadata(ctx, dv2, "rows", 1309))
	must(tr.RegisterVCResource(ctx, dv2, map[string]any{"hexsha": "1b2c3d4", "uri": "data/titanic_train.csv"}))
	clk.set("2024-05-02T09:30:00Z")
	mv2 := create(metatrack.TypeModelVersion, "titanic_model", metatrack.WithStatus(metatrack.StatusRegistered))
	must(tr.BuildModelLineage(ctx, mv2, []metatrack.Resource{dv2}))
	experiment(mv2, "trial-1", 0.1, 0.86)
	e22 := experiment(mv2, "trial-2", 0.05, 0.88)
	must(tr.SetWinningExperiment(ctx, mv2, e22))
	must(tr.LogMetadata(ctx, mv2, "test_auc", 0.87))
	must(tr.LogMetadata(ctx, mv2, "params", map[string]any{"learning_rate": 0.05, "l2": 0.01}))
	model := filepath.Join(dir, "model.json")
	must(os.WriteFile(model, []byte(fixtureModelJSON), 0o644))
	_, err = tr.LogArtifact(ctx, mv2, "model.json", model)
	must(err)
	report := filepath.Join(dir, "model_checks.json")
	must(os.WriteFile(report, []byte(`{"passed": 12, "failed": 0}`+"\n"), 0o644))
	_, err = tr.LogChecks(ctx, mv2, report, "model")
	must(err)
	clk.set("2024-05-02T10:00:00Z")
	_, err = tr.Promote(ctx, mv2, metatrack.Promotion{Reason: "UPLIFT", Metric: "auc", Value: 0.87, Baseline: 0.83, Approved: true})
	must(err)
	_, err = tr.Deploy(ctx, mv2, metatrack.WithEnvironment("staging"))
	must(err)
	clk.set("2024-05-02T14:00:00Z")
	_, err = tr.Deploy(ctx, mv2)
	must(err)
	clk.set("2024-05-02T15:00:00Z")
	pj2 := create(metatrack.TypePredictionJob, "batch-2024-05-02", metatrack.WithParent(mv2.ID),
		metatrack.WithAttr("prediction_count", 418), metatrack.WithStatus(metatrack.StatusRunning))
	must(tr.CleanResource(ctx, pj2, ""))

	// Day 3.
	clk.set("2024-05-03T09:00:00Z")
	mv3 := create(metatrack.TypeModelVersion, "titanic_model", metatrack.WithStatus(metatrack.StatusRegistered))
	must(tr.BuildModelLineage(ctx, mv3, nil))
	experiment(mv3, "trial-1", 0.2, 0.85)
	must(tr.LogTag(ctx, mv3, "note", "worse than @2: not promoted"))
	clk.set("2024-05-03T09:45:00Z")
	must(tr.Close())

	// The other runs.
	clk.set("2024-05-03T10:00:00Z")
	imp, err := metatrack.Open(ctx, path, metatrack.WithRunName("import"), metatrack.WithClock(clk.now))
	must(err)
	clk.set("2024-05-03T10:01:30Z")
	must(imp.Stop(ctx, errors.New("source bucket unreachable: 403 Forbidden")))
	for _, name := range []string{"backfill", "train-gpu"} {
		clk.set("2024-05-03T11:00:00Z")
		r, err := metatrack.Open(ctx, path, metatrack.WithRunName(name), metatrack.WithClock(clk.now))
		must(err)
		must(r.Close())
	}

	// Fixed hosts, users and pids, and the two runs left RUNNING.
	driver, pragma := "sqlite", `PRAGMA wal_checkpoint(TRUNCATE)`
	if postgres.IsURL(path) {
		driver, pragma = "pgx", `SELECT 1`
	}
	raw, err := sql.Open(driver, path)
	must(err)
	defer raw.Close()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE runs SET host = ?, username = ?, pid = 1234`, []any{fixtureHost, fixtureUser}},
		{`UPDATE runs SET status = 'RUNNING', ended_at = NULL, pid = ? WHERE name = 'backfill'`, []any{fixtureDeadPID}},
		{`UPDATE runs SET status = 'RUNNING', ended_at = NULL, host = 'gpu-7', pid = 77 WHERE name = 'train-gpu'`, nil},
		{pragma, nil},
	} {
		if driver == "pgx" {
			q.sql = strings.Replace(strings.Replace(q.sql, "?", "$1", 1), "?", "$2", 1)
		}
		_, err := raw.ExecContext(ctx, q.sql, q.args...)
		must(err)
	}
	return path
}

// fixtureApp returns the CLI's app for the golden tests: the fixture's
// clock, host and processes.
func fixtureApp(stdout, stderr *bytes.Buffer) *app {
	return &app{
		stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
		now:      func() time.Time { return fixtureNow },
		hostname: func() (string, error) { return fixtureHost, nil },
		alive:    func(pid int) bool { return pid != fixtureDeadPID },
	}
}

// runFixture runs the CLI in-process as in the golden tests.
func runFixture(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := fixtureApp(&stdout, &stderr).execute(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normalize makes output comparable across runs: each UUID becomes <id1>,
// <id2>, ... in the order of first appearance, and each replacement's old
// text its new text (the fixture's directory, the database's size).
func normalize(s string, replacements ...string) string {
	s = strings.NewReplacer(replacements...).Replace(s)
	ids := map[string]string{}
	return uuidPattern.ReplaceAllStringFunc(s, func(id string) string {
		if p, ok := ids[id]; ok {
			return p
		}
		p := fmt.Sprintf("<id%d>", len(ids)+1)
		ids[id] = p
		return p
	})
}

// golden compares got with testdata/<name>, or writes it there with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s\n--- diff\n%s", path, got, want, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ, by number.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
