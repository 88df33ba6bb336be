package lineage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/metatrack/metatrack/lineage/lineagetest"
	"github.com/metatrack/metatrack/storage"
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
	forEachEngine(t, func(t *testing.T, e storage.Engine) {
		ctx := context.Background()
		spec := smallSpec()
		gen, err := lineagetest.Generate(ctx, e, spec)
		if err != nil {
			t.Fatal(err)
		}
		// 4 raw datasets of 3 versions, 4 prediction datasets of 3
		// versions, 5 models of 3 versions with 4+1+3 children each.
		if got, want := gen.Resources, 4*4+4*4+5*4+15*8; got != want {
			t.Errorf("Resources = %d, want %d", got, want)
		}
		var resources, edges int
		if err := e.Reader().Get(ctx, &resources, "SELECT count(*) FROM resources"); err != nil {
			t.Fatal(err)
		}
		if err := e.Reader().Get(ctx, &edges, "SELECT count(*) FROM edges"); err != nil {
			t.Fatal(err)
		}
		if resources != gen.Resources || edges != gen.Edges {
			t.Errorf("database holds %d resources, %d edges; Generate says %d, %d", resources, edges, gen.Resources, gen.Edges)
		}
		if len(gen.ModelVersions) != 15 || len(gen.PredictionJobs) != 45 || len(gen.DatasetVersions) != 24 || len(gen.Deployed) != 5 {
			t.Errorf("Generated = %+v", gen)
		}
		// Reproducible: the same spec gives the same ids and seqs, on
		// every engine.
		again := engines[0].open(t)
		if _, err := lineagetest.Generate(ctx, again, spec); err != nil {
			t.Fatal(err)
		}
		var a, b []string
		const ids = "SELECT seq || ' ' || id FROM resources ORDER BY seq"
		if err := e.Reader().Select(ctx, &a, ids); err != nil {
			t.Fatal(err)
		}
		if err := again.Reader().Select(ctx, &b, ids); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a, b) || len(a) != resources {
			t.Error("two generations of one spec differ")
		}
		// The stacked graph is deep: the last prediction job is far
		// downstream of the first raw data.
		r, err := Impact(ctx, onEngine(e), gen.Deployed[0], Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Deployed) < 2 || len(r.PredictionJobs) < 5 {
			t.Errorf("impact of the first deployed version: %d deployed, %d jobs", len(r.Deployed), len(r.PredictionJobs))
		}
	})
}

// TestStrategiesAgree walks a generated graph, with a few cycles linked by
// hand, every way there is, on every engine, and checks that the CTE and
// the level walk return the same graph, and that both agree with a
// breadth-first search done in Go over all the edges.
func TestStrategiesAgree(t *testing.T) {
	forEachEngine(t, testStrategiesAgree)
}

func testStrategiesAgree(t *testing.T, e storage.Engine) {
	db, startSets := cyclicGraph(t, e)
	plain := withoutFolded(db)
	ctx := context.Background()
	all := loadEdges(t, db)
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
					// Auto, and on an engine with statements that fold
					// several into one, each strategy without them (at
					// two depths, to keep the test short).
					walks := map[string]DB{"": db}
					if plain.SQL != db.SQL && (depth == 0 || depth == 3) {
						walks["unfolded "] = plain
					}
					for what, on := range walks {
						for _, s := range []Strategy{Auto, CTE, LevelWalk} {
							if what == "" && s != Auto {
								continue
							}
							opts.Strategy = s
							a, err := Walk(ctx, on, starts, opts)
							if err != nil {
								t.Fatalf("%s: %s%v: %v", name, what, s, err)
							}
							if !reflect.DeepEqual(a, l) {
								t.Errorf("%s: %s%v differs from the level walk\n got %s %v\nwant %s %v", name, what, s, nodesString(a.Nodes), a.Edges, nodesString(l.Nodes), l.Edges)
							}
						}
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

// withoutFolded returns db with the statements of its engine that fold
// several into one (Depths, WalkEdges, NodesEdges, PreferRecursive) left
// out, so that the walks run the others; db itself when it has none.
func withoutFolded(db DB) DB {
	if db.SQL.Depths == nil && db.SQL.WalkEdges == nil && db.SQL.NodesEdges == nil && !db.SQL.PreferRecursive {
		return db
	}
	plain := *db.SQL
	plain.Depths, plain.WalkEdges, plain.NodesEdges, plain.PreferRecursive = nil, nil, nil, false
	return DB{Q: db.Q, SQL: &plain}
}

// cyclicGraph generates the stacked smallSpec graph into e, whose model
// versions share inputs (diamonds), with two cycles linked by hand, and
// returns it with sets of starts to walk from.
func cyclicGraph(t *testing.T, e storage.Engine) (DB, [][]int64) {
	t.Helper()
	gen, err := lineagetest.Generate(context.Background(), e, smallSpec())
	if err != nil {
		t.Fatal(err)
	}
	// Cycles: the last prediction job writes a raw dataset version; an
	// experiment feeds back into its own model version.
	mustExecOn(t, e, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (?, ?, 'output', 1), (?, ?, 'input', 1)`,
		gen.PredictionJobs[len(gen.PredictionJobs)-1], gen.DatasetVersions[0],
		gen.Experiments[5], gen.ModelVersions[1])
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(seqs []int64) int64 { return seqs[rng.IntN(len(seqs))] }
	return onEngine(e), [][]int64{
		{gen.Datasets[0]},
		{gen.DatasetVersions[0]},
		{pick(gen.ModelVersions)},
		{gen.PredictionJobs[len(gen.PredictionJobs)-1]},
		{pick(gen.Experiments)},
		{gen.Models[0], pick(gen.DatasetVersions), pick(gen.PredictionJobs)},
		gen.DatasetVersions,
	}
}

// TestPagingAgrees pages through walks of the graph with diamonds and
// cycles, by cursor and by offset, with each strategy and a range of
// filters, and checks that the pages put together are the unpaged walk:
// the same nodes in the same order, the same Total and Truncated on every
// page, and on each page the edges of the unpaged walk between its nodes.
// It also checks that the level walk reads the resource rows of the page's
// nodes (and the starts) alone. It runs on every engine.
func TestPagingAgrees(t *testing.T) {
	forEachEngine(t, testPagingAgrees)
}

func testPagingAgrees(t *testing.T, e storage.Engine) {
	db, startSets := cyclicGraph(t, e)
	ctx := context.Background()
	filters := []Options{
		{},
		{Types: []string{"model_version", "prediction_job"}},
		{ExcludeRelations: []string{"child"}, MaxNodes: 30},
		{Relations: []string{"input", "child", "output"}, Types: []string{"experiment", "dataset_version"}, MaxNodes: 40},
	}
	pages := 0
	for _, dir := range []Direction{Downstream, Upstream, Both} {
		for _, depth := range []int{0, 3} {
			for _, si := range []int{0, 3, 5, 6} {
				starts := startSets[si]
				for fi, f := range filters {
					for _, s := range []Strategy{Auto, CTE, LevelWalk} {
						opts := f
						opts.Direction, opts.MaxDepth, opts.Strategy = dir, depth, s
						name := fmt.Sprintf("%v/depth%d/starts%d/filter%d/%v", dir, depth, si, fi, s)
						full, err := Walk(ctx, db, starts, opts)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						// About six pages by cursor, two by offset.
						pages += checkPages(t, name, db, starts, opts, max(2, len(full.Nodes)/6), false, full)
						pages += checkPages(t, name, db, starts, opts, len(full.Nodes)/2+1, true, full)
					}
				}
			}
		}
	}
	if pages == 0 {
		t.Fatal("no page was walked")
	}
}

// checkPages pages through the walk of starts with opts, limit nodes a page,
// by cursor or by offset, checks the pages against full, the unpaged walk,
// and returns the number of pages walked.
func checkPages(t *testing.T, name string, db DB, starts []int64, opts Options, limit int, byOffset bool, full *Graph) int {
	t.Helper()
	ctx := context.Background()
	var got []Node
	o := opts
	o.Limit = limit
	pages := 0
	for {
		if pages > len(full.Nodes)+1 {
			t.Fatalf("%s: paging does not end", name)
		}
		rec := &recorder{Queryer: db.Q, sql: db.SQL}
		g, err := Walk(ctx, DB{Q: rec, SQL: db.SQL}, starts, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pages++
		where := fmt.Sprintf("%s/limit%d/offset=%v page at %d", name, limit, byOffset, len(got))
		if g.Total != full.Total || g.Truncated != full.Truncated {
			t.Errorf("%s: Total %d Truncated %v, unpaged %d %v", where, g.Total, g.Truncated, full.Total, full.Truncated)
		}
		if len(g.Nodes) > limit || g.Next != nil && len(g.Nodes) != limit {
			t.Errorf("%s: %d nodes, next %v", where, len(g.Nodes), g.Next)
		}
		checkPageEdges(t, g, full)
		if chooseFor(db.SQL, o, len(starts)) == LevelWalk {
			if n := rec.rows; n > limit+len(starts) {
				t.Errorf("%s: read %d resource rows for a page of %d", where, n, limit)
			}
		}
		got = append(got, g.Nodes...)
		if g.Next == nil {
			break
		}
		if byOffset {
			o.Offset += limit
		} else {
			o.After = g.Next
		}
	}
	if len(got)+len(full.Nodes) > 0 && !reflect.DeepEqual(slices.Clip(got), slices.Clip(full.Nodes)) {
		t.Errorf("%s limit %d offset=%v: pages\n got %s\nwant %s", name, limit, byOffset, nodesString(got), nodesString(full.Nodes))
	}
	return pages
}

// recorder is a Queryer that counts the seqs whose resource rows a walk
// reads, the length of the first argument of each Nodes, NodesTyped or
// NodesEdges statement of sql.
type recorder struct {
	Queryer
	sql  *storage.LineageStatements
	rows int
}

func (r *recorder) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if query == r.sql.Nodes || query == r.sql.NodesTyped || r.nodesEdges(query) {
		var seqs []int64
		if err := json.Unmarshal([]byte(args[0].(string)), &seqs); err != nil {
			return nil, err
		}
		r.rows += len(seqs)
	}
	return r.Queryer.QueryContext(ctx, query, args...)
}

// nodesEdges reports whether query is a NodesEdges statement of r.sql.
func (r *recorder) nodesEdges(query string) bool {
	if r.sql.NodesEdges == nil {
		return false
	}
	for _, dir := range [][2]bool{{true, false}, {false, true}, {true, true}} {
		for _, rel := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			f := storage.LineageFollow{Downstream: dir[0], Upstream: dir[1], Relations: rel[0], ExcludeRelations: rel[1]}
			if query == r.sql.NodesEdges(f) {
				return true
			}
		}
	}
	return false
}

// typedEdge is an edge with the types of its ends, for the reference walk.
type typedEdge struct {
	Edge
	srcType, dstType string
}

func loadEdges(t *testing.T, db DB) []typedEdge {
	t.Helper()
	rows, err := db.Q.QueryContext(context.Background(), `SELECT e.src_seq, e.dst_seq, e.relation, s.type, d.type FROM edges e
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

// TestDeletedAgree deletes resources in the middle of the runs of
// consecutive seqs that the walks read as one range each (a model
// version between its neighbours, experiments among their siblings, a
// dataset version among the versions of its dataset), and checks on every
// engine, with each strategy, that the walks neither reach them nor pass
// through them: the graph is the reference walk's over the edges between
// live resources.
func TestDeletedAgree(t *testing.T) {
	forEachEngine(t, testDeletedAgree)
}

func testDeletedAgree(t *testing.T, e storage.Engine) {
	ctx := context.Background()
	gen, err := lineagetest.Generate(ctx, e, smallSpec())
	if err != nil {
		t.Fatal(err)
	}
	deleted := []int64{gen.ModelVersions[1], gen.Experiments[5], gen.Experiments[6], gen.DatasetVersions[1], gen.PredictionJobs[4]}
	for _, s := range deleted {
		mustExecOn(t, e, `UPDATE resources SET deleted_at = 1 WHERE seq = ?`, s)
	}
	db := onEngine(e)
	var live []typedEdge
	for _, ed := range loadEdges(t, db) {
		if !slices.Contains(deleted, ed.Src) && !slices.Contains(deleted, ed.Dst) {
			live = append(live, ed)
		}
	}
	startSets := [][]int64{
		{gen.Datasets[0]},
		{gen.Datasets[0], gen.Datasets[1]},
		{gen.ModelVersions[0], gen.ModelVersions[2]},
		{gen.PredictionJobs[len(gen.PredictionJobs)-1]},
		{gen.Models[0], gen.Models[1]},
	}
	for _, dir := range []Direction{Downstream, Upstream, Both} {
		for _, depth := range []int{0, 1, 3} {
			for si, starts := range startSets {
				for _, types := range [][]string{nil, {"model_version", "prediction_job", "experiment"}} {
					name := fmt.Sprintf("%v/depth%d/starts%d/types%d", dir, depth, si, len(types))
					opts := Options{Direction: dir, MaxDepth: depth, Types: types}
					want := bfs(live, starts, opts)
					for _, s := range []Strategy{CTE, LevelWalk} {
						opts.Strategy = s
						g, err := Walk(ctx, db, starts, opts)
						if err != nil {
							t.Fatalf("%s/%v: %v", name, s, err)
						}
						for _, n := range g.Nodes {
							if slices.Contains(deleted, n.Seq) {
								t.Errorf("%s/%v: reached deleted resource %d", name, s, n.Seq)
							}
						}
						if got := nodesString(g.Nodes); got != want {
							t.Errorf("%s/%v: walk differs from the reference\n got %s\nwant %s", name, s, got, want)
						}
					}
				}
			}
		}
	}
}
