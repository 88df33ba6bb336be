package benchmarks

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// lineageDepths are the depths of the walk benchmarks; 0 is the full walk.
var lineageDepths = []int{1, 3, 10, 0}

func depthName(d int) string {
	if d == 0 {
		return "depth=full"
	}
	return fmt.Sprintf("depth=%d", d)
}

// BenchmarkLineage walks the ancestors of a prediction job at the end of a
// stacked family and the descendants of a raw dataset version at its start
// (Tracker.Upstream, Tracker.Downstream: nodes with depths and the edges
// among them), runs Tracker.Impact from the popular dataset version and
// Tracker.ShortestPath down the family. Each baseline runs its statements
// in one read transaction, as the tracker does, so that the nodes and the
// edges among them come from one snapshot.
func BenchmarkLineage(b *testing.B) {
	onEngine(b, "sqlite")
	benchLineage(b, getReadEnv(b))
}

// benchLineage runs the lineage cases on e's engine.
func benchLineage(b *testing.B, e *env) {
	for _, w := range []struct {
		name  string
		start Pick
		dir   lineage.Direction
	}{
		{"ancestors", e.fx.UpstreamStart, lineage.Upstream},
		{"descendants", e.fx.DownstreamStart, lineage.Downstream},
	} {
		for _, depth := range lineageDepths {
			runCase(b, w.name+"/"+depthName(depth), func(b *testing.B) {
				b.Run("lib", func(b *testing.B) {
					var g *lineage.Graph
					bench(b, func() (err error) {
						g, err = e.lib.Lineage(ctx, []metatrack.Resource{res(w.start)}, lineage.Options{Direction: w.dir, MaxDepth: depth})
						return err
					})
					b.ReportMetric(float64(len(g.Nodes)), "nodes")
				})
				for _, s := range []string{"cte", "level"} {
					b.Run("bare-"+s, func(b *testing.B) {
						bench(b, func() error {
							return e.bare.inRead(func() error {
								_, err := e.bare.lineage(w.start.ID, w.dir == lineage.Downstream, depth, s == "cte")
								return err
							})
						})
					})
				}
			})
		}
	}
	// A page of pageSize descendants in the middle of the full walk, from
	// its cursor; ref-full is the whole walk, for scale.
	after := pageCursor(b, e)
	runCase(b, "page", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			var g *lineage.Graph
			bench(b, func() (err error) {
				g, err = e.lib.Lineage(ctx, []metatrack.Resource{res(e.fx.DownstreamStart)}, lineage.Options{Direction: lineage.Downstream, After: after, Limit: pageSize})
				return err
			})
			b.ReportMetric(float64(len(g.Nodes)), "nodes")
		})
		b.Run("bare-level", func(b *testing.B) {
			bench(b, func() error {
				return e.bare.inRead(func() error {
					_, err := e.bare.page(e.fx.DownstreamStart.ID, *after, pageSize)
					return err
				})
			})
		})
		b.Run("ref-full", func(b *testing.B) {
			bench(b, func() error {
				_, err := e.lib.Lineage(ctx, []metatrack.Resource{res(e.fx.DownstreamStart)}, lineage.Options{Direction: lineage.Downstream})
				return err
			})
		})
	})
	runCase(b, "impact", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			var r *lineage.ImpactReport
			bench(b, func() (err error) {
				r, err = e.lib.Impact(ctx, res(e.fx.Popular))
				return err
			})
			b.ReportMetric(float64(len(r.PredictionJobs)+len(r.Deployed)), "nodes")
		})
		for _, s := range []string{"cte", "level"} {
			b.Run("bare-"+s, func(b *testing.B) {
				bench(b, func() error {
					return e.bare.inRead(func() error {
						_, err := e.bare.impact(e.fx.Popular.ID, s == "cte")
						return err
					})
				})
			})
		}
	})
	runCase(b, "path", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			var p *lineage.Path
			bench(b, func() (err error) {
				p, err = e.lib.ShortestPath(ctx, res(e.fx.PathFrom), res(e.fx.PathTo), lineage.PathOptions{Direction: lineage.Downstream})
				return err
			})
			b.ReportMetric(float64(len(p.Edges)), "edges")
		})
		for _, s := range []string{"cte", "level"} {
			b.Run("bare-"+s, func(b *testing.B) {
				bench(b, func() error {
					return e.bare.inRead(func() error {
						_, err := e.bare.shortestPath(e.fx.PathFrom.ID, e.fx.PathTo.ID, s == "cte")
						return err
					})
				})
			})
		}
	})
}

// The bare lineage queries. Like the tracker's, they neither reach nor pass
// through deleted resources (bareLive).
const (
	sqlBareSeq       = "SELECT seq FROM resources WHERE id = ? AND deleted_at IS NULL"
	bareLive         = " NOT IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)"
	sqlBareDownLevel = "SELECT dst_seq FROM edges WHERE src_seq IN (SELECT value FROM json_each(?)) AND dst_seq" + bareLive
	sqlBareUpLevel   = "SELECT src_seq FROM edges WHERE dst_seq IN (SELECT value FROM json_each(?)) AND src_seq" + bareLive
	sqlBareNodes     = "SELECT r.seq, r.id, r.type, r.name, r.version, r.status, " + bareParentRef + " FROM resources r WHERE r.seq IN (SELECT value FROM json_each(?))"
	sqlBareEdges     = "SELECT src_seq, dst_seq, relation FROM edges" +
		" WHERE src_seq IN (SELECT value FROM json_each(?1)) AND dst_seq IN (SELECT value FROM json_each(?1))"
	sqlBareDownCTE = "WITH RECURSIVE w(seq, depth) AS (SELECT ?1, 0 UNION" +
		" SELECT e.dst_seq, w.depth + 1 FROM w JOIN edges e ON e.src_seq = w.seq WHERE w.depth < ?2 AND e.dst_seq" + bareLive + ")" +
		" SELECT r.seq, r.id, r.type, r.name, r.version, r.status, w.depth, " + bareParentRef +
		" FROM (SELECT seq, min(depth) AS depth FROM w GROUP BY seq) w JOIN resources r ON r.seq = w.seq"
	sqlBareUpCTE = "WITH RECURSIVE w(seq, depth) AS (SELECT ?1, 0 UNION" +
		" SELECT e.src_seq, w.depth + 1 FROM w JOIN edges e ON e.dst_seq = w.seq WHERE w.depth < ?2 AND e.src_seq" + bareLive + ")" +
		" SELECT r.seq, r.id, r.type, r.name, r.version, r.status, w.depth, " + bareParentRef +
		" FROM (SELECT seq, min(depth) AS depth FROM w GROUP BY seq) w JOIN resources r ON r.seq = w.seq"
)

// seqOf resolves a resource id.
func (d *bareDB) seqOf(id string) (int64, error) {
	var seq int64
	err := d.queryRow(ctx, sqlBareSeq, id).Scan(&seq)
	return seq, err
}

// lineage is the baseline of Tracker.Lineage: the nodes reachable from id
// with their shortest depth, sorted by (depth, seq), and the edges among
// them, sorted by the positions of their ends. cte walks with one recursive
// statement (depth capped at 16, doubled while a node lies at the cap), else
// level by level with the frontier bound as a JSON array.
func (d *bareDB) lineage(id string, down bool, maxDepth int, cte bool) (*lineage.Graph, error) {
	start, err := d.seqOf(id)
	if err != nil {
		return nil, err
	}
	var nodes []lineage.Node
	if cte {
		nodes, err = d.walkCTE(start, down, maxDepth)
	} else {
		var depth map[int64]int
		if depth, err = d.walkLevels(start, down, maxDepth); err == nil {
			nodes, err = d.nodes(depth)
		}
	}
	if err != nil {
		return nil, err
	}
	sortNodes(nodes)
	edges, err := d.edgesAmong(nodes)
	return &lineage.Graph{Nodes: nodes, Edges: edges, Total: len(nodes)}, err
}

// pageSize is the size of the page of the paging benchmark.
const pageSize = 100

// pageCursor returns the cursor of the paging benchmark: after the first
// quarter of the downstream walk (at a page boundary), so that the page lies
// in its middle.
func pageCursor(tb testing.TB, e *env) *lineage.Cursor {
	tb.Helper()
	full, err := e.lib.Lineage(ctx, []metatrack.Resource{res(e.fx.DownstreamStart)}, lineage.Options{Direction: lineage.Downstream})
	if err != nil {
		tb.Fatal(err)
	}
	i := max(len(full.Nodes)/4/pageSize*pageSize, 1) - 1
	if i+pageSize >= len(full.Nodes) {
		tb.Fatalf("the downstream walk has %d nodes, too few for a page of %d in its middle", len(full.Nodes), pageSize)
	}
	return &lineage.Cursor{Depth: full.Nodes[i].Depth, Seq: full.Nodes[i].Seq}
}

// page is the baseline of a page of Tracker.Lineage downstream of id: the
// depths of every reachable resource level by level (for the total, and so
// that each depth is exact), then the rows and the edges of the limit
// nodes after the cursor alone.
func (d *bareDB) page(id string, after lineage.Cursor, limit int) (*lineage.Graph, error) {
	start, err := d.seqOf(id)
	if err != nil {
		return nil, err
	}
	depth, err := d.walkLevels(start, true, 0)
	if err != nil {
		return nil, err
	}
	all := make([]lineage.Node, 0, len(depth))
	for s, n := range depth {
		all = append(all, lineage.Node{Seq: s, Depth: n})
	}
	sortNodes(all)
	i, _ := slices.BinarySearchFunc(all, after, func(n lineage.Node, c lineage.Cursor) int {
		return cmp.Or(cmp.Compare(n.Depth, c.Depth), cmp.Compare(n.Seq, c.Seq))
	})
	for i < len(all) && all[i].Depth == after.Depth && all[i].Seq == after.Seq {
		i++
	}
	g := &lineage.Graph{Total: len(all)}
	on := all[i:]
	if len(on) > limit {
		on = on[:limit]
		g.Next = &lineage.Cursor{Depth: on[limit-1].Depth, Seq: on[limit-1].Seq}
	}
	pageDepth := make(map[int64]int, len(on))
	for _, n := range on {
		pageDepth[n.Seq] = n.Depth
	}
	if g.Nodes, err = d.nodes(pageDepth); err != nil {
		return nil, err
	}
	sortNodes(g.Nodes)
	g.Edges, err = d.edgesAmong(g.Nodes)
	return g, err
}

// walkLevels returns the depth of every resource reachable from start
// within maxDepth (0: all), one query per level.
func (d *bareDB) walkLevels(start int64, down bool, maxDepth int) (map[int64]int, error) {
	query := sqlBareUpLevel
	if down {
		query = sqlBareDownLevel
	}
	depth := map[int64]int{start: 0}
	frontier := []int64{start}
	for level := 1; len(frontier) > 0 && (maxDepth == 0 || level <= maxDepth); level++ {
		rows, err := d.query(ctx, query, d.ints(frontier))
		if err != nil {
			return nil, err
		}
		frontier = frontier[:0]
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return nil, err
			}
			if _, ok := depth[seq]; !ok {
				depth[seq] = level
				frontier = append(frontier, seq)
			}
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
	}
	return depth, nil
}

// nodes loads the resources of depth.
func (d *bareDB) nodes(depth map[int64]int) ([]lineage.Node, error) {
	seqs := make([]int64, 0, len(depth))
	for s := range depth {
		seqs = append(seqs, s)
	}
	rows, err := d.query(ctx, sqlBareNodes, d.ints(seqs))
	if err != nil {
		return nil, err
	}
	nodes := make([]lineage.Node, 0, len(seqs))
	for rows.Next() {
		var n lineage.Node
		var version sql.NullInt64
		var pref sql.NullString
		if err := rows.Scan(&n.Seq, &n.ID, &n.Type, &n.Name, &version, &n.Status, &pref); err != nil {
			rows.Close()
			return nil, err
		}
		n.Version, n.Depth, n.ParentRef = int(version.Int64), depth[n.Seq], pref.String
		nodes = append(nodes, n)
	}
	return nodes, closeRows(rows)
}

// walkCTE walks in one recursive statement per depth cap.
func (d *bareDB) walkCTE(start int64, down bool, maxDepth int) ([]lineage.Node, error) {
	query := sqlBareUpCTE
	if down {
		query = sqlBareDownCTE
	}
	for depthCap := 16; ; depthCap *= 2 {
		c := depthCap
		if maxDepth > 0 {
			c = maxDepth
		}
		rows, err := d.query(ctx, query, start, c)
		if err != nil {
			return nil, err
		}
		var nodes []lineage.Node
		deepest := 0
		for rows.Next() {
			var n lineage.Node
			var version sql.NullInt64
			var pref sql.NullString
			if err := rows.Scan(&n.Seq, &n.ID, &n.Type, &n.Name, &version, &n.Status, &n.Depth, &pref); err != nil {
				rows.Close()
				return nil, err
			}
			n.Version, n.ParentRef = int(version.Int64), pref.String
			deepest = max(deepest, n.Depth)
			nodes = append(nodes, n)
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
		if maxDepth > 0 || deepest < depthCap {
			return nodes, nil
		}
	}
}

// edgesAmong loads the edges whose ends are both in nodes, sorted as
// lineage.Graph sorts them.
func (d *bareDB) edgesAmong(nodes []lineage.Node) ([]lineage.Edge, error) {
	pos := make(map[int64]int, len(nodes))
	seqs := make([]int64, len(nodes))
	for i, n := range nodes {
		pos[n.Seq], seqs[i] = i, n.Seq
	}
	rows, err := d.query(ctx, sqlBareEdges, d.ints(seqs))
	if err != nil {
		return nil, err
	}
	var edges []lineage.Edge
	for rows.Next() {
		var e lineage.Edge
		if err := rows.Scan(&e.Src, &e.Dst, &e.Relation); err != nil {
			rows.Close()
			return nil, err
		}
		edges = append(edges, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	slices.SortFunc(edges, func(a, b lineage.Edge) int {
		return cmp.Or(cmp.Compare(pos[a.Src], pos[b.Src]), cmp.Compare(pos[a.Dst], pos[b.Dst]), strings.Compare(a.Relation, b.Relation))
	})
	return edges, nil
}

func sortNodes(nodes []lineage.Node) {
	slices.SortFunc(nodes, func(a, b lineage.Node) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Seq, b.Seq))
	})
}

func closeRows(r rows) error {
	if err := r.Err(); err != nil {
		r.Close()
		return err
	}
	return r.Close()
}

// The bare impact queries: the model versions and prediction jobs among the
// reached resources, with the environments of their open deployments.
const (
	sqlBareImpactNodes = "SELECT r.seq, r.id, r.type, r.name, r.version, r.status, " + bareParentRef + "," +
		" (SELECT group_concat(environment) FROM (SELECT DISTINCT environment FROM deployments d" +
		"   WHERE d.model_version_seq = r.seq AND d.undeployed_at IS NULL ORDER BY environment))" +
		" FROM resources r WHERE r.seq IN (SELECT value FROM json_each(?)) AND +r.type IN ('model_version', 'prediction_job')"
	sqlBareImpactCTE = "WITH RECURSIVE w(seq, depth) AS (SELECT ?1, 0 UNION" +
		" SELECT e.dst_seq, w.depth + 1 FROM w JOIN edges e ON e.src_seq = w.seq WHERE w.depth < ?2 AND e.dst_seq" + bareLive + ")" +
		" SELECT r.seq, r.id, r.type, r.name, r.version, r.status, " + bareParentRef + "," +
		" (SELECT group_concat(environment) FROM (SELECT DISTINCT environment FROM deployments d" +
		"   WHERE d.model_version_seq = r.seq AND d.undeployed_at IS NULL ORDER BY environment))," +
		" w.depth, w.deepest" +
		" FROM (SELECT seq, min(depth) AS depth, max(min(depth)) OVER () AS deepest FROM w GROUP BY seq) w" +
		" JOIN resources r ON r.seq = w.seq AND +r.type IN ('model_version', 'prediction_job')"
)

// impact is the baseline of Tracker.Impact.
func (d *bareDB) impact(id string, cte bool) (*lineage.ImpactReport, error) {
	start, err := d.seqOf(id)
	if err != nil {
		return nil, err
	}
	var nodes []impactNode
	if cte {
		for depthCap := 16; ; depthCap *= 2 {
			var deepest int
			nodes, deepest, err = d.impactNodes(sqlBareImpactCTE, start, depthCap)
			if err != nil || deepest < depthCap {
				break
			}
		}
	} else {
		var depth map[int64]int
		if depth, err = d.walkLevels(start, true, 0); err == nil {
			seqs := make([]int64, 0, len(depth))
			for s := range depth {
				seqs = append(seqs, s)
			}
			nodes, _, err = d.impactNodes(sqlBareImpactNodes, d.ints(seqs))
			for i := range nodes {
				nodes[i].Depth = depth[nodes[i].Seq]
			}
		}
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(nodes, func(a, b impactNode) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Seq, b.Seq))
	})
	r := &lineage.ImpactReport{}
	for _, n := range nodes {
		switch {
		case n.Type == metatrack.TypePredictionJob:
			r.PredictionJobs = append(r.PredictionJobs, n.Node)
		case n.Status == metatrack.StatusDeployed || n.envs.Valid:
			dv := lineage.DeployedVersion{Node: n.Node}
			if n.envs.Valid {
				dv.Environments = strings.Split(n.envs.String, ",")
			}
			r.Deployed = append(r.Deployed, dv)
		}
	}
	return r, nil
}

type impactNode struct {
	lineage.Node
	envs sql.NullString
}

// impactNodes runs one of the impact queries; the CTE query also returns the
// depth and the deepest depth.
func (d *bareDB) impactNodes(query string, args ...any) ([]impactNode, int, error) {
	rows, err := d.query(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	withDepth := query == sqlBareImpactCTE
	var nodes []impactNode
	deepest := 0
	for rows.Next() {
		var n impactNode
		var version sql.NullInt64
		var pref sql.NullString
		dest := []any{&n.Seq, &n.ID, &n.Type, &n.Name, &version, &n.Status, &pref, &n.envs}
		if withDepth {
			dest = append(dest, &n.Depth, &deepest)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, 0, err
		}
		n.Version, n.ParentRef = int(version.Int64), pref.String
		nodes = append(nodes, n)
	}
	return nodes, deepest, closeRows(rows)
}

// The bare shortest-path queries.
const (
	sqlBarePathLevel = "SELECT src_seq, dst_seq, relation FROM edges WHERE src_seq IN (SELECT value FROM json_each(?)) AND dst_seq" + bareLive
	sqlBarePathCTE   = "WITH RECURSIVE w(seq, depth) AS (SELECT ?1, 0 UNION" +
		" SELECT e.dst_seq, w.depth + 1 FROM w JOIN edges e ON e.src_seq = w.seq WHERE w.depth < ?2 AND e.dst_seq" + bareLive + ")" +
		" SELECT seq, min(depth) FROM w GROUP BY seq"
	sqlBareInto = "SELECT src_seq, relation FROM edges WHERE dst_seq = ? AND src_seq" + bareLive + " ORDER BY src_seq, relation"
)

// shortestPath is the baseline of Tracker.ShortestPath downstream: each
// resource on the path is reached from the lowest-seq resource one step
// nearer, by the lowest relation. The level walk stops at the level that
// reaches to; the CTE computes the depths from from (cap doubled until to
// is reached) and then walks back from to.
func (d *bareDB) shortestPath(fromID, toID string, cte bool) (*lineage.Path, error) {
	from, err := d.seqOf(fromID)
	if err != nil {
		return nil, err
	}
	to, err := d.seqOf(toID)
	if err != nil {
		return nil, err
	}
	type step struct {
		near     int64
		relation string
	}
	var seqs []int64
	var edges []lineage.Edge
	if cte {
		var depth map[int64]int
		for depthCap := 16; ; depthCap *= 2 {
			if depth, err = d.depths(sqlBarePathCTE, from, depthCap); err != nil {
				return nil, err
			}
			if _, ok := depth[to]; ok || len(depth) == 0 {
				break
			}
			deepest := 0
			for _, v := range depth {
				deepest = max(deepest, v)
			}
			if deepest < depthCap {
				return nil, lineage.ErrNoPath
			}
		}
		seqs = append(seqs, to)
		for s := to; s != from; {
			rows, err := d.query(ctx, sqlBareInto, s)
			if err != nil {
				return nil, err
			}
			var st step
			found := false
			for !found && rows.Next() {
				if err := rows.Scan(&st.near, &st.relation); err != nil {
					rows.Close()
					return nil, err
				}
				dn, ok := depth[st.near]
				found = ok && dn == depth[s]-1
			}
			if err := closeRows(rows); err != nil {
				return nil, err
			}
			edges = append(edges, lineage.Edge{Src: st.near, Dst: s, Relation: st.relation})
			s = st.near
			seqs = append(seqs, s)
		}
	} else {
		via := map[int64]step{}
		reached := map[int64]bool{from: true}
		frontier := []int64{from}
		for !reached[to] {
			if len(frontier) == 0 {
				return nil, lineage.ErrNoPath
			}
			rows, err := d.query(ctx, sqlBarePathLevel, d.ints(frontier))
			if err != nil {
				return nil, err
			}
			level := map[int64]step{}
			for rows.Next() {
				var st step
				var far int64
				if err := rows.Scan(&st.near, &far, &st.relation); err != nil {
					rows.Close()
					return nil, err
				}
				if reached[far] {
					continue
				}
				if old, ok := level[far]; !ok || st.near < old.near || st.near == old.near && st.relation < old.relation {
					level[far] = st
				}
			}
			if err := closeRows(rows); err != nil {
				return nil, err
			}
			frontier = frontier[:0]
			for seq, st := range level {
				via[seq], reached[seq] = st, true
				frontier = append(frontier, seq)
			}
		}
		seqs = append(seqs, to)
		for s := to; s != from; {
			st := via[s]
			edges = append(edges, lineage.Edge{Src: st.near, Dst: s, Relation: st.relation})
			s = st.near
			seqs = append(seqs, s)
		}
	}
	slices.Reverse(seqs)
	slices.Reverse(edges)
	depth := make(map[int64]int, len(seqs))
	for i, s := range seqs {
		depth[s] = i
	}
	nodes, err := d.nodes(depth)
	if err != nil {
		return nil, err
	}
	sortNodes(nodes)
	return &lineage.Path{Nodes: nodes, Edges: edges}, nil
}

// depths runs a CTE that returns (seq, depth) rows.
func (d *bareDB) depths(query string, args ...any) (map[int64]int, error) {
	rows, err := d.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	depth := map[int64]int{}
	for rows.Next() {
		var seq int64
		var n int
		if err := rows.Scan(&seq, &n); err != nil {
			rows.Close()
			return nil, err
		}
		depth[seq] = n
	}
	return depth, closeRows(rows)
}
