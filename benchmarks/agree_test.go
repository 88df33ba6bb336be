package benchmarks

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// TestFixture checks that the generated graph is what the benchmarks
// expect of it.
func TestFixture(t *testing.T) {
	e := getReadEnv(t)
	fx := e.fx
	if want := int64(fx.Spec.Models * fx.Spec.VersionsPerModel * 40); fx.Resources < want {
		t.Errorf("%d resources, want at least %d", fx.Resources, want)
	}
	mv, err := e.lib.GetResource(ctx, fx.ModelVersion.ID, metatrack.TypeModelVersion)
	if err != nil {
		t.Fatal(err)
	}
	if mv.Status != metatrack.StatusDeployed || mv.Version != fx.Spec.VersionsPerModel {
		t.Errorf("benchmark model version is %s %s, want DEPLOYED version %d", mv.Ref(), mv.Status, fx.Spec.VersionsPerModel)
	}
	p, err := e.lib.ShortestPath(ctx, res(fx.PathFrom), res(fx.PathTo), lineage.PathOptions{Direction: lineage.Downstream})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3*fx.Spec.StackDepth - 1; len(p.Edges) != want {
		t.Errorf("path of %d edges, want %d", len(p.Edges), want)
	}
	g, err := e.lib.Upstream(ctx, res(fx.UpstreamStart), 0)
	if err != nil {
		t.Fatal(err)
	}
	if deepest := g.Nodes[len(g.Nodes)-1].Depth; deepest < 3*fx.Spec.StackDepth {
		t.Errorf("ancestry %d levels deep, want at least %d", deepest, 3*fx.Spec.StackDepth)
	}
	r, err := e.lib.Impact(ctx, res(fx.Popular))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PredictionJobs) == 0 {
		t.Error("the popular dataset version has no prediction job downstream")
	}
	for _, c := range searchCases(fx) {
		page, err := e.lib.Search(ctx, c.filter, metatrack.WithPageSize(c.page))
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Resources) == 0 {
			t.Errorf("search %s (%s) finds nothing", c.name, c.filter)
		}
	}
}

// TestBaselinesAgree checks that every bare baseline returns what the
// library returns, so that the ratios compare the same work: on SQLite, and
// on PostgreSQL (the same fixture copied into a database of pgtest's, the
// baselines' PostgreSQL texts through pgx), where the library must also
// return what it returns on SQLite.
func TestBaselinesAgree(t *testing.T) {
	sq := getReadEnv(t)
	agree(t, sq)
	t.Run("PG", func(t *testing.T) {
		pg := getPGEnv(t, "read")
		agree(t, pg)
		sameOnBothEngines(t, sq, pg)
	})
}

// agree checks e's baselines against its library.
func agree(t *testing.T, e *env) {
	fx := e.fx
	for _, l := range append(lookups(fx), points(fx)...) {
		t.Run(l.name, func(t *testing.T) {
			want, err := l.lib(e.lib)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.bare(e.bare)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || !sameResource(got, want) {
				t.Errorf("bare returned\n%#v\nlibrary\n%#v", got, want)
			}
		})
	}
	for _, w := range []struct {
		name  string
		start Pick
		dir   lineage.Direction
	}{{"ancestors", fx.UpstreamStart, lineage.Upstream}, {"descendants", fx.DownstreamStart, lineage.Downstream}} {
		for _, depth := range lineageDepths {
			want, err := e.lib.Lineage(ctx, []metatrack.Resource{res(w.start)}, lineage.Options{Direction: w.dir, MaxDepth: depth})
			if err != nil {
				t.Fatal(err)
			}
			for _, cte := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/cte=%v", w.name, depthName(depth), cte)
				got, err := e.bare.lineage(w.start.ID, w.dir == lineage.Downstream, depth, cte)
				if err != nil {
					t.Fatal(name, err)
				}
				if !reflect.DeepEqual(got.Nodes, want.Nodes) || !reflect.DeepEqual(got.Edges, want.Edges) {
					t.Errorf("%s: bare has %d nodes and %d edges, library %d and %d", name,
						len(got.Nodes), len(got.Edges), len(want.Nodes), len(want.Edges))
				}
			}
		}
	}
	after := pageCursor(t, e)
	wantPage, err := e.lib.Lineage(ctx, []metatrack.Resource{res(fx.DownstreamStart)}, lineage.Options{Direction: lineage.Downstream, After: after, Limit: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	if gotPage, err := e.bare.page(fx.DownstreamStart.ID, *after, pageSize); err != nil {
		t.Fatal(err)
	} else if !reflect.DeepEqual(gotPage, wantPage) || len(wantPage.Nodes) != pageSize {
		t.Errorf("page: bare has %d nodes and %d edges (total %d, next %v), library %d and %d (total %d, next %v)",
			len(gotPage.Nodes), len(gotPage.Edges), gotPage.Total, gotPage.Next, len(wantPage.Nodes), len(wantPage.Edges), wantPage.Total, wantPage.Next)
	}
	wantImpact, err := e.lib.Impact(ctx, res(fx.Popular))
	if err != nil {
		t.Fatal(err)
	}
	wantPath, err := e.lib.ShortestPath(ctx, res(fx.PathFrom), res(fx.PathTo), lineage.PathOptions{Direction: lineage.Downstream})
	if err != nil {
		t.Fatal(err)
	}
	for _, cte := range []bool{true, false} {
		got, err := e.bare.impact(fx.Popular.ID, cte)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Deployed, wantImpact.Deployed) || !reflect.DeepEqual(got.PredictionJobs, wantImpact.PredictionJobs) {
			t.Errorf("impact cte=%v: bare has %d deployed and %d jobs, library %d and %d", cte,
				len(got.Deployed), len(got.PredictionJobs), len(wantImpact.Deployed), len(wantImpact.PredictionJobs))
		}
		p, err := e.bare.shortestPath(fx.PathFrom.ID, fx.PathTo.ID, cte)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Nodes, wantPath.Nodes) || !reflect.DeepEqual(p.Edges, wantPath.Edges) {
			t.Errorf("path cte=%v: bare\n%v\nlibrary\n%v", cte, p.Edges, wantPath.Edges)
		}
	}
	for _, c := range searchCases(fx) {
		t.Run("Search/"+c.name, func(t *testing.T) {
			lib, err := c.lib(e.lib)
			if err != nil {
				t.Fatal(err)
			}
			bare, err := c.bareRun(e.bare)
			if err != nil {
				t.Fatal(err)
			}
			want, err := lib()
			if err != nil {
				t.Fatal(err)
			}
			got, err := bare()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Resources) != len(want.Resources) || (got.Next == "") != (want.Next == "") {
				t.Fatalf("bare returned %d resources (next %q), library %d (next %q)", len(got.Resources), got.Next,
					len(want.Resources), want.Next)
			}
			for i := range got.Resources {
				if !sameResource(got.Resources[i], want.Resources[i]) {
					t.Fatalf("row %d: bare %v, library %v", i, got.Resources[i], want.Resources[i])
				}
			}
		})
	}
}

// sameResource compares two lookup results: resources field by field,
// other values by their printed form.
func sameResource(a, b any) bool {
	ra, ok1 := a.(metatrack.Resource)
	rb, ok2 := b.(metatrack.Resource)
	if !ok1 || !ok2 {
		return fmt.Sprint(a) == fmt.Sprint(b)
	}
	return reflect.DeepEqual(ra, rb)
}
