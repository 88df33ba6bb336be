package ui_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/benchmarks"
	"github.com/metatrack/metatrack/ui"
)

// The server time of each page on the benchmark fixture (benchmarks.Build;
// 100k resources by default), with two experiments given a series of a
// million points each, which compare and the resource page draw
// downsampled:
//
//	go test -run '^$' -bench Pages -benchtime 20x ./ui/
//	go test -run '^$' -bench Pages ./ui/ -ui.scale=10k -ui.fixture=DIR
//
// The target is under 200 ms a page.
var (
	benchScale      = flag.String("ui.scale", "100k", "fixture size of BenchmarkPages: 10k, 100k or 1m resources")
	benchFixtureDir = flag.String("ui.fixture", "", "directory that keeps the BenchmarkPages fixture between runs (default: a temporary one)")
	benchPoints     = flag.Int("ui.points", 1_000_000, "points of each of the two compared series")
)

var (
	benchOnce sync.Once
	benchFx   *benchmarks.Fixture
	benchErr  error
)

func benchFixture(b *testing.B) *benchmarks.Fixture {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		units, err := benchmarks.ScaleUnits(*benchScale)
		if err != nil {
			benchErr = err
			return
		}
		dir := *benchFixtureDir
		if dir == "" {
			dir = demoDir
		}
		path := filepath.Join(dir, fmt.Sprintf("ui-fixture-%s-%dpts.db", *benchScale, *benchPoints))
		spec := benchmarks.SpecFor(units)
		start := time.Now()
		if _, err := os.Stat(path); err == nil {
			benchFx, benchErr = benchmarks.Load(ctx, path, spec)
			return
		}
		fx, err := benchmarks.Build(ctx, path, spec)
		if err != nil {
			benchErr = err
			return
		}
		tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("ui bench"))
		if err != nil {
			benchErr = err
			return
		}
		defer tr.Close()
		for i, id := range []string{fx.Experiment.ID, fx.WriteTargets[0].ID} {
			res := metatrack.Resource{ID: id}
			const batch = 100_000
			for from := 0; from < *benchPoints; from += batch {
				pts := make([]metatrack.MetricPoint, 0, batch)
				for s := from; s < min(from+batch, *benchPoints); s++ {
					v := math.Exp(-float64(s)/float64(*benchPoints)*4) + 0.05*math.Sin(float64(s)/500+float64(i))
					pts = append(pts, metatrack.MetricPoint{Step: int64(s), Value: v, Time: time.UnixMilli(1735689600000 + int64(s))})
				}
				if err := tr.LogMetrics(ctx, res, "loss", pts); err != nil {
					benchErr = err
					return
				}
			}
		}
		fmt.Fprintf(os.Stderr, "ui bench fixture %s: %d resources, 2 series of %d points, built in %s\n",
			*benchScale, fx.Resources, *benchPoints, time.Since(start).Round(time.Millisecond))
		benchFx = fx
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFx
}

func BenchmarkPages(b *testing.B) {
	fx := benchFixture(b)
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, fx.Path, metatrack.WithReadOnly())
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	ref := func(id string) string {
		r, err := tr.GetResource(ctx, id, "")
		if err != nil {
			b.Fatal(err)
		}
		return r.Ref()
	}
	exp, exp2, mv, model := ref(fx.Experiment.ID), ref(fx.WriteTargets[0].ID), ref(fx.ModelVersion.ID), ref(fx.Model.ID)
	popular := ref(fx.Popular.ID)
	h := ui.New(tr)
	q := url.QueryEscape
	pages := []struct{ name, path, want string }{
		{"home", "/", ""},
		{"home_at", "/?at=2025-01-01T06:00:00Z", ""},
		{"search_selective", "/search?q=" + q(fmt.Sprintf("type = 'experiment' AND tags.commit = '%s'", fx.Commit)) + "&cols=" + q("metadata.accuracy,tags.*"), ""},
		{"search_broad_sorted", "/search?q=" + q("type = 'model_version'") + "&cols=" + q("status,metadata.*") + "&sort=created_at&desc=1", ""},
		{"search_lineage", "/search?q=" + q(fmt.Sprintf("type = 'model_version' AND downstream_of('%s')", popular)) + "&cols=status", ""},
		{"compare_1M_points", "/compare?r=" + q(exp) + "&r=" + q(exp2), `id="chart-loss"`},
		{"resource_experiment_1M_points", "/r/" + exp, `id="chart-loss"`},
		{"resource_model_version", "/r/" + mv, ""},
		{"resource_model", "/r/" + model, ""},
		{"resource_popular_dataset_version", "/r/" + popular, ""},
		{"resource_at", "/r/" + mv + "?at=2025-01-01T06:00:00Z", ""},
		{"deployments", "/deployments", ""},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, p.path, nil)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%.600s", p.path, rec.Code, rec.Body.String())
				}
				if !strings.Contains(rec.Body.String(), p.want) {
					b.Fatalf("GET %s lacks %s", p.path, p.want)
				}
			}
		})
	}
}
