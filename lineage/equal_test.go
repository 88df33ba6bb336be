package lineage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/lineage/lineagetest"
)

// smallSpec is a generated graph small enough to walk every way in a test,
// stacked so that it is deep.
func smallSpec() lineagetest.Spec {
	return lineagetest.Spec{
		Seed: 7, Datasets: 4, VersionsPerDataset: 3, Models: 5, VersionsPerModel: 3,
		InputsPerModelVersion: 2, ExperimentsPerModelVersion: 4, PromotionsPerModelVersion: 1,
		PredictionJobsPerModelVersion: 3, Stacked: true,
	}
}

func TestGenerate(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	spec := smallSpec()
	gen, err := lineagetest.Generate(ctx, db, spec)
	if err != nil {
		t.Fatal(err)
	}
	// 4 raw datasets of 3 versions, 4 prediction datasets of 3 versions,
	// 5 models of 3 versions with 4+1+3 children each.
	if got, want := gen.Resources, 4*4+4*4+5*4+15*8; got != want {
		t.Errorf("Resources = %d, want %d", got, want)
	}
	var resources, edges int
	if err := db.GetContext(ctx, &resources, "SELECT count(*) FROM resources"); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(ctx, &edges, "SELECT count(*) FROM edges"); err != nil {
		t.Fatal(err)
	}
	if resources != gen.Resources || edges != gen.Edges {
		t.Errorf("database holds %d resources, %d edges; Generate says %d, %d", resources, edges, gen.Resources, gen.Edges)
	}
	if len(gen.ModelVersions) != 15 || len(gen.PredictionJobs) != 45 || len(gen.DatasetVersions) != 24 || len(gen.Deployed) != 5 {
		t.Errorf("Generated = %+v", gen)
	}
	// Reproducible: the same spec gives the same ids.
	again := MustOpen(t)
	if _, err := lineagetest.Generate(ctx, again, spec); err != nil {
		t.Fatal(err)
	}
	var a, b []string
	db.SelectContext(ctx, &a, "SELECT id FROM resources ORDER BY seq")
	again.SelectContext(ctx, &b, "SELECT id FROM resources ORDER BY seq")
	if !slices.Equal(a, b) || len(a) != resources {
		t.Error("two generations of one spec differ")
	}
	// The stacked graph is deep: the last prediction job is far downstream
	// of the first raw data.
	r, err := Impact(ctx, db, gen.Deployed[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Deployed) < 2 || len(r.PredictionJobs) < 5 {
		t.Errorf("impact of the first deployed version: %d deployed, %d jobs", len(r.Deployed), len(r.PredictionJobs))
	}
}

// TestStrategiesAgree walks a generated graph, with a few cycles linked by
// hand, every way there is, and checks that the CTE and the level walk
// return the same graph, and that both agree with a breadth-first search
// done in Go over all the edges.
func TestStrategiesAgree(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	gen, err := lineagetest.Generate(ctx, db, smallSpec())
	if err != nil {
		t.Fatal(err)
	}
	// Cycles: the last prediction job writes a raw dataset version; an
	// experiment feeds back into its own model version.
	mustExec(t, db, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (?, ?, 'output', 1), (?, ?, 'input', 1)`,
		gen.PredictionJobs[len(gen.PredictionJobs)-1], gen.DatasetVersions[0],
		gen.Experiments[5], gen.ModelVersions[1])
	all := loadEdges(t, db)

	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(seqs []int64) int64 { return seqs[rng.IntN(len(seqs))] }
	startSets := [][]int64{
		{gen.Datasets[0]},
		{gen.DatasetVersions[0]},
		{pick(gen.ModelVersions)},
		{gen.PredictionJobs[len(gen.PredictionJobs)-1]},
		{pick(gen.Experiments)},
		{gen.Models[0], pick(gen.DatasetVersions), pick(gen.PredictionJobs)},
		gen.DatasetVersions,
	}
	filters := []Options{
		{},
		{Relations: []string{"input", "output", "version"}},
		{ExcludeRelations: []string{"child"}},
		{Types: []string{"model_version", "prediction_job"}},
		{MaxNodes: 17},
		{Relations: []string{"input", "child"}, ExcludeRelations: []string{"version"}, Types: []string{"experiment"}, MaxNodes: 40},
	}
	cases := 0
	for _, dir := range []Direction{Downstream, Upstream, Both} {
		for _, depth := range []int{0, 1, 2, 3, 5, 8} {
			for si, starts := range startSets {
				for fi, f := range filters {
					opts := f
					opts.Direction, opts.MaxDepth = dir, depth
					name := fmt.Sprintf("%v/depth%d/starts%d/filter%d", dir, depth, si, fi)
					opts.Strategy = CTE
					c, err := Walk(ctx, db, starts, opts)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					opts.Strategy = LevelWalk
					l, err := Walk(ctx, db, starts, opts)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if !reflect.DeepEqual(c, l) {
						t.Errorf("%s: strategies differ\ncte   %s\nlevel %s", name, nodesString(c.Nodes), nodesString(l.Nodes))
					}
					if want := bfs(all, starts, opts); nodesString(l.Nodes) != want {
						t.Errorf("%s: walk differs from the reference\n got %s\nwant %s", name, nodesString(l.Nodes), want)
					}
					cases++
				}
			}
		}
	}
	if cases == 0 {
		t.Fatal("no case ran")
	}
}

// typedEdge is an edge with the types of its ends, for the reference walk.
type typedEdge struct {
	Edge
	srcType, dstType string
}

func loadEdges(t *testing.T, db *sqlx.DB) []typedEdge {
	t.Helper()
	rows, err := db.Query(`SELECT e.src_seq, e.dst_seq, e.relation, s.type, d.type FROM edges e
		JOIN resources s ON s.seq = e.src_seq JOIN resources d ON d.seq = e.dst_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []typedEdge
	for rows.Next() {
		var e typedEdge
		if err := rows.Scan(&e.Src, &e.Dst, &e.Relation, &e.srcType, &e.dstType); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// bfs is the reference walk: a plain breadth-first search in Go, returning
// the nodes Walk should return, formatted by nodesString. Starts are
// assumed to have a type that the type filter keeps only if some edge shows
// it, so the callers' filters include only types reached through edges.
func bfs(edges []typedEdge, starts []int64, o Options) string {
	f := o.follow()
	next := map[int64][]int64{}
	types := map[int64]string{}
	for _, e := range edges {
		types[e.Src], types[e.Dst] = e.srcType, e.dstType
		if !f.allows(e.Relation) {
			continue
		}
		if o.Direction != Upstream {
			next[e.Src] = append(next[e.Src], e.Dst)
		}
		if o.Direction != Downstream {
			next[e.Dst] = append(next[e.Dst], e.Src)
		}
	}
	depth := map[int64]int{}
	frontier := uniqueSeqs(starts)
	for _, s := range frontier {
		depth[s] = 0
	}
	for d := 0; len(frontier) > 0 && (o.MaxDepth == 0 || d < o.MaxDepth); d++ {
		var nf []int64
		for _, s := range frontier {
			for _, n := range next[s] {
				if _, ok := depth[n]; !ok {
					depth[n] = d + 1
					nf = append(nf, n)
				}
			}
		}
		frontier = nf
	}
	var nodes []Node
	for s, d := range depth {
		nodes = append(nodes, Node{Seq: s, Depth: d})
	}
	sortNodes(nodes)
	if o.MaxNodes > 0 && len(nodes) > o.MaxNodes {
		nodes = nodes[:o.MaxNodes]
	}
	if len(o.Types) > 0 {
		nodes = slices.DeleteFunc(nodes, func(n Node) bool { return !slices.Contains(o.Types, types[n.Seq]) })
	}
	return nodesString(nodes)
}
