package lineage

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/metatrack/metatrack/storage"
)

// Walk returns the resources reachable from starts (resource seqs, duplicates
// ignored) along opts.Direction, each once at its shortest distance from any
// start, with the edges among them. The starts themselves are nodes at depth
// 0 and are returned when they pass the type filter. A start that is not in
// resources fails the walk with ErrNotFound; bad options with ErrInvalid.
//
// Walk only reads. It sees the graph as db.Q sees it: pass a transaction to walk
// a consistent snapshot, or the graph as the transaction has changed it.
//
// A page (After, Offset, Limit) costs what its nodes cost: the level walk
// finds the reachable seqs and their depths (an indexed read of the edges,
// needed for Graph.Total and for each depth to be exact), and reads the
// resource rows and the edges of the page's nodes alone. Each page walks
// the seqs again, so pages of a graph that changes between calls may
// overlap or skip; walk inside one read transaction when that matters.
func Walk(ctx context.Context, db DB, starts []int64, opts Options) (*Graph, error) {
	return walk(ctx, db, starts, opts, true)
}

// walk is Walk, loading the edges among the nodes only when withEdges is set
// (the reports need the nodes alone).
func walk(ctx context.Context, db DB, starts []int64, opts Options, withEdges bool) (*Graph, error) {
	if err := opts.validate(starts); err != nil {
		return nil, err
	}
	starts = uniqueSeqs(starts)
	f := opts.follow()
	var (
		g *Graph
		// edges: g.Edges hold the edges among g.Nodes, read with them.
		edges bool
		err   error
	)
	switch chooseFor(db.SQL, opts, len(starts)) {
	case CTE:
		g, edges, err = walkCTE(ctx, db, starts, f, opts, withEdges)
	default:
		g, edges, err = walkLevels(ctx, db, starts, f, opts, withEdges)
	}
	if err != nil {
		return nil, err
	}
	if withEdges && !edges {
		if g.Edges, err = edgesAmong(ctx, db, g.Nodes, f); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// paged reports whether o asks for one page of the nodes.
func (o Options) paged() bool { return o.After != nil || o.Offset > 0 || o.Limit > 0 }

// page returns the bounds [lo, hi) of the page that o asks for among n
// nodes sorted by (depth, seq), every node that passed the type filter,
// the i-th at place at(i), and sets g.Next. (depth, seq) is unique, so a
// cursor is an exact place, whether or not a node is still there.
func (o Options) page(g *Graph, n int, at func(i int) Cursor) (lo, hi int) {
	if c := o.After; c != nil {
		lo = sort.Search(n, func(i int) bool { return c.before(at(i)) })
	}
	lo += min(o.Offset, n-lo)
	hi = n
	if o.Limit > 0 && hi-lo > o.Limit {
		hi = lo + o.Limit
		last := at(hi - 1)
		g.Next = &last
	}
	return lo, hi
}

// keepTypes returns the set of o.Types, nil when there is no type filter.
func (o Options) keepTypes() map[string]bool {
	if len(o.Types) == 0 {
		return nil
	}
	keep := make(map[string]bool, len(o.Types))
	for _, t := range o.Types {
		keep[t] = true
	}
	return keep
}

func (o Options) follow() follow {
	return follow{dir: o.Direction, maxDepth: o.MaxDepth, include: o.Relations, exclude: o.ExcludeRelations}
}

// chooseStrategy resolves Auto from the benchmarks in bench_test.go (the
// table there), run on the graph of lineagetest.DefaultSpec: 10k resources,
// 11k edges, 60 levels deep.
//
//   - Downstream, where each level fans out, the level walk is faster at
//     every depth: by 7-16% up to depth 10 (78 against 93 us at depth 1,
//     3.76 against 4.05 ms at 10) and by half unlimited (9.3 against 17.8
//     ms), where the CTE re-runs with a doubled cap on a deep graph and
//     expands a resource once per length of path that reaches it. From 25
//     starts unlimited it is 3.5 times faster (52 against 185 ms), and on
//     the graph with a cycle 10 times (9.3 against 92 ms).
//   - Upstream, where few resources feed each one and the walk is long and
//     narrow, the level walk pays some 15 us a level for its separate
//     queries: the one-statement CTE is about 10% faster at caps 5 and 10
//     (218 against 239 us at 10), even at 3, 20 and 40, and slower at 1
//     and unlimited (1.60 against 1.18 ms).
//
// The scale benchmarks (benchmarks/, families of five stacked models, 17
// levels) found the CTE faster upstream at depth 1 and 3 too, at 10k, 100k
// and 1M resources, so the lower bound went from 4 to 1.
//
// Unlimited upstream walks once re-ran the CTE with a doubled cap; now
// that the CTE goes on level by level past depth 16 (see walkCTE), the
// scale benchmarks found it faster there too, at every scale (on the
// 10k-resource fixture, whose ancestries are 16 levels deep: 330-380
// against 450-570 us in hand-written SQL).
//
// So Auto takes the CTE only for an upstream walk of depth up to 16 or
// unlimited from a few starts, with no MaxNodes (the level walk stops early at
// MaxNodes, the CTE cannot) and no paging (the CTE reads the row of every
// node, the level walk those of the page), and the level walk everywhere
// else, where it also never expands a resource twice whatever the shape of
// the graph.
func chooseStrategy(o Options, starts int) Strategy {
	if o.Strategy != Auto {
		return o.Strategy
	}
	if o.Direction == Upstream && o.MaxDepth <= cteCap && starts <= 8 && o.MaxNodes == 0 && !o.paged() {
		return CTE
	}
	return LevelWalk
}

// chooseFor is chooseStrategy on the engine whose statements are sql.
// Where the engine prefers its recursive statements (PreferRecursive),
// Auto takes the CTE for every walk that reads the row of every node it
// reaches and need not stop early: no paging, no MaxNodes, no type filter
// (the level walk reads the rows of the types kept alone), a few starts.
// On the scale benchmarks' PostgreSQL copy (benchmarks/, 100k resources)
// the CTE, with the edges read in the same statement (WalkEdges), took
// two round trips fewer than the level walk at depth 1 downstream and
// about three quarters of its time unlimited. The level walk there finds
// the depths in one recursive statement too (see walkLevels).
func chooseFor(sql *storage.LineageStatements, o Options, starts int) Strategy {
	if sql.PreferRecursive && o.Strategy == Auto && starts <= 8 && o.MaxNodes == 0 && len(o.Types) == 0 && !o.paged() {
		return CTE
	}
	return chooseStrategy(o, starts)
}

// walkLevels is the level-by-level strategy: breadth first over seqs alone
// (startDepths), then one query for the resource rows of the nodes
// returned: the page when paging, else every reached node of the types
// asked for. Paging by type first reads the types of the reached nodes.
// Picked by Auto on an engine that prefers its recursive statements, and
// without MaxNodes (where the walk stops early), it finds the seqs and
// their depths in one of them (recursiveDepths) instead. With withEdges,
// on an engine that reads nodes and edges in one statement (NodesEdges),
// it returns the edges among the nodes too and reports so.
func walkLevels(ctx context.Context, db DB, starts []int64, f follow, opts Options, withEdges bool) (*Graph, bool, error) {
	var (
		reached []Cursor
		err     error
	)
	if opts.Strategy == Auto && db.SQL.PreferRecursive && db.SQL.Depths != nil && opts.MaxNodes == 0 {
		reached, err = recursiveDepths(ctx, db, starts, f)
	} else {
		reached, err = startDepths(ctx, db, starts, f, opts.MaxNodes)
	}
	if err != nil {
		return nil, false, err
	}
	g := &Graph{}
	if opts.MaxNodes > 0 && len(reached) > opts.MaxNodes {
		reached, g.Truncated = reached[:opts.MaxNodes], true
	}
	keep := opts.keepTypes()
	load := reached
	if opts.paged() {
		if keep != nil {
			types, err := loadTypes(ctx, db, reached)
			if err != nil {
				return nil, false, err
			}
			if err := checkFound(starts, func(s int64) bool { _, ok := types[s]; return ok }); err != nil {
				return nil, false, err
			}
			reached = slices.DeleteFunc(reached, func(c Cursor) bool { return !keep[types[c.Seq]] })
			keep = nil
		}
		g.Total = len(reached)
		lo, hi := opts.page(g, len(reached), func(i int) Cursor { return reached[i] })
		load = reached[lo:hi]
	}
	var types []string
	if keep != nil {
		types = opts.Types
	}
	var (
		rows  []Node
		edges []Edge
	)
	withEdges = withEdges && types == nil && db.SQL.NodesEdges != nil
	if withEdges {
		rows, edges, err = loadNodesEdges(ctx, db, load, starts, f)
	} else {
		rows, err = loadNodes(ctx, db, load, starts, types)
	}
	if err != nil {
		return nil, false, err
	}
	bySeq := make(map[int64]Node, len(rows))
	for _, n := range rows {
		bySeq[n.Seq] = n
	}
	if err := checkFound(starts, func(s int64) bool { _, ok := bySeq[s]; return ok }); err != nil {
		return nil, false, err
	}
	nodes := make([]Node, 0, len(rows))
	for _, c := range load {
		r, ok := bySeq[c.Seq]
		if !ok || keep != nil && !keep[r.Type] {
			continue
		}
		r.Depth = c.Depth
		nodes = append(nodes, r)
	}
	if !opts.paged() {
		g.Total = len(nodes)
	}
	g.Nodes = nodes
	if withEdges {
		g.Edges = edgesOf(nodes, edges)
	}
	return g, withEdges, nil
}

// recursiveDepths is startDepths in one recursive statement (Depths), to
// MaxDepth or, unlimited, to cteCap and level by level beyond it, as
// walkCTE goes on.
func recursiveDepths(ctx context.Context, db DB, starts []int64, f follow) ([]Cursor, error) {
	depthCap := f.maxDepth
	if depthCap == 0 {
		depthCap = cteCap
	}
	start := any(jsonInts(starts))
	if len(starts) == 1 {
		start = starts[0]
	}
	rows, err := db.Q.QueryContext(ctx, db.SQL.Depths(f.statement(), len(starts) == 1), f.args(start, depthCap)...)
	if err != nil {
		return nil, fmt.Errorf("lineage: walk: %w", err)
	}
	var reached []Cursor
	deepest := 0
	for rows.Next() {
		var c Cursor
		if err := rows.Scan(&c.Seq, &c.Depth); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lineage: walk: %w", err)
		}
		deepest = max(deepest, c.Depth)
		reached = append(reached, c)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("lineage: walk: %w", err)
	}
	if f.maxDepth == 0 && deepest == cteCap {
		seen, frontier := capFrontier(len(reached), func(i int) (int64, int) { return reached[i].Seq, reached[i].Depth })
		if reached, err = levelDepths(ctx, db, f, 0, seen, reached, frontier, cteCap); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(reached, func(a, b Cursor) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Seq, b.Seq))
	})
	return reached, nil
}

// startDepths walks breadth first from starts (levelDepths) and returns
// the place of every reached seq, its seq and depth, the starts first,
// sorted by (depth, seq). (A Cursor is that pair, and small: the walk
// makes a Node only for each resource whose row it reads.)
func startDepths(ctx context.Context, db DB, starts []int64, f follow, maxNodes int) ([]Cursor, error) {
	seen := make(map[int64]struct{}, 64)
	reached := make([]Cursor, 0, 64)
	for _, s := range starts {
		seen[s] = struct{}{}
		reached = append(reached, Cursor{Seq: s})
	}
	return levelDepths(ctx, db, f, maxNodes, seen, reached, slices.Clone(starts), 0)
}

// levelDepths walks breadth first from frontier, the resources at depth d
// (sorted, no duplicates), one query per level that binds the whole
// frontier as one JSON array (of its runs when the engine has LevelRuns),
// and appends the resources it reaches that are not in seen to reached (Seq
// and Depth set), sorted by (depth, seq). It stops expanding once reached
// holds more than maxNodes resources (0: no cap): every resource at the
// depths expanded so far is then known with its shortest depth, so the
// first maxNodes in (depth, seq) order are exact.
func levelDepths(ctx context.Context, db DB, f follow, maxNodes int, seen map[int64]struct{}, reached []Cursor, frontier []int64, d int) ([]Cursor, error) {
	args := f.args(nil)
	byRuns := db.SQL.LevelRuns != nil
	query := db.SQL.Level
	if byRuns {
		query = db.SQL.LevelRuns
	}
	level, done := repeated(ctx, db.Q, query(f.statement()), f.maxDepth != 1)
	defer done()
	// reach adds a seq the level reached to the next frontier.
	reach := func(seq int64) {
		if _, ok := seen[seq]; !ok {
			seen[seq] = struct{}{}
			frontier = append(frontier, seq)
		}
	}
	var list sql.RawBytes
	for ; len(frontier) > 0; d++ {
		if f.maxDepth > 0 && d >= f.maxDepth || maxNodes > 0 && len(reached) > maxNodes {
			break
		}
		if byRuns {
			args[0] = jsonRuns(frontier)
		} else {
			args[0] = jsonInts(frontier)
		}
		frontier = frontier[:0]
		rows, err := level(args...)
		if err != nil {
			return nil, fmt.Errorf("lineage: walk level %d: %w", d+1, err)
		}
		for rows.Next() {
			if byRuns {
				err = rows.Scan(&list)
				if err == nil {
					err = eachSeq(list, reach)
				}
			} else {
				var seq int64
				if err = rows.Scan(&seq); err == nil {
					reach(seq)
				}
			}
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("lineage: walk level %d: %w", d+1, err)
			}
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("lineage: walk level %d: %w", d+1, err)
		}
		slices.Sort(frontier)
		for _, s := range frontier {
			reached = append(reached, Cursor{Seq: s, Depth: d + 1})
		}
	}
	return reached, nil
}

// eachSeq calls fn with each seq of list, a comma-separated list of
// integers (LevelRuns' row; empty or NULL when there are none).
func eachSeq(list []byte, fn func(int64)) error {
	if len(list) == 0 {
		return nil
	}
	for rest := list; ; {
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		seq, ok := parseSeq(rest[:end])
		if !ok {
			return fmt.Errorf("%w: a level's seqs are not a list of integers: %.40q", storage.ErrCorrupt, list)
		}
		fn(seq)
		if end == len(rest) {
			return nil
		}
		rest = rest[end+1:]
	}
}

// parseSeq parses a decimal int64, as strconv.ParseInt does but without a
// string to convert to.
func parseSeq(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// repeated returns a function that runs query, prepared once when q can
// prepare statements and prepare is set, and a function to call when done.
// A walk many levels deep saves parsing and planning its level query at
// every level.
func repeated(ctx context.Context, q Queryer, query string, prepare bool) (run func(args ...any) (*sql.Rows, error), done func()) {
	if p, ok := q.(preparer); ok && prepare {
		if st, err := p.PrepareContext(ctx, query); err == nil {
			return func(args ...any) (*sql.Rows, error) { return st.QueryContext(ctx, args...) }, func() { st.Close() }
		}
		// Fall back to unprepared queries, which report the error.
	}
	return func(args ...any) (*sql.Rows, error) { return q.QueryContext(ctx, query, args...) }, func() {}
}

// preparer is implemented by *sql.DB, *sql.Tx, *sql.Conn and sqlx's types.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// walkCTE is the one-statement strategy: a recursive CTE over (seq, depth)
// rows, the resource columns joined in the same statement. UNION (not UNION
// ALL) drops a row already produced, so a resource reached along several
// paths of the same length is expanded once at that length; reached along
// paths of different lengths it is expanded once per length (the price of
// tracking depth in SQL, where the recursive step cannot look at what was
// already reached), and the outer query keeps the shortest.
//
// A cycle would make depths grow forever, so depth is always capped. With
// MaxDepth the cap is MaxDepth and the walk is one statement. Unlimited, the
// walk runs with a cap of 16 and, only when some resource lies exactly at
// the cap (so more may lie beyond), goes on from there level by level
// (levelDepths from the resources at depth 16, everything found so far
// seen): a resource at distance d+1 is reached only through one at
// distance d, so the statement has found every resource within the cap,
// with exact depths, and the level walk the rest. Lineage graphs are rarely
// deeper than 16, so this is usually one statement. The cap also bounds
// what a cycle costs: a resource behind a cycle of length L is expanded
// about 16/L times. (Re-running the statement with the cap doubled
// instead, as an earlier version did, walks a deep graph again from the
// start each time. Capping at the number of reachable resources, counted
// by a first UNION CTE over seq alone, is exact and always one statement,
// but behind a cycle it expands resources up to that number over L times:
// on the cyclic benchmark graph it took 3 s where the level walk takes
// 0.01 s.)
//
// With withEdges, on an engine that reads the edges in the same statement
// (WalkEdges), it returns the edges among the nodes too and reports so,
// unless the walk went on beyond the cap.
func walkCTE(ctx context.Context, db DB, starts []int64, f follow, opts Options, withEdges bool) (*Graph, bool, error) {
	depthCap := f.maxDepth
	if depthCap == 0 {
		depthCap = cteCap
	}
	withEdges = withEdges && db.SQL.WalkEdges != nil
	nodes, edges, deepest, err := walkCTECapped(ctx, db, starts, f, depthCap, withEdges)
	if err != nil {
		return nil, false, err
	}
	if f.maxDepth == 0 && deepest == cteCap {
		within := len(nodes)
		if nodes, err = beyondCap(ctx, db, f, nodes); err != nil {
			return nil, false, err
		}
		// The edges read are those among the nodes within the cap.
		withEdges = withEdges && len(nodes) == within
	}
	sortNodes(nodes)
	if err := checkFound(starts, func(s int64) bool {
		i, ok := slices.BinarySearchFunc(nodes, s, func(n Node, s int64) int {
			return cmp.Or(cmp.Compare(n.Depth, 0), cmp.Compare(n.Seq, s))
		})
		return ok && nodes[i].Depth == 0
	}); err != nil {
		return nil, false, err
	}
	g := &Graph{}
	if opts.MaxNodes > 0 && len(nodes) > opts.MaxNodes {
		nodes, g.Truncated = nodes[:opts.MaxNodes], true
	}
	if keep := opts.keepTypes(); keep != nil {
		nodes = slices.DeleteFunc(nodes, func(n Node) bool { return !keep[n.Type] })
	}
	g.Total = len(nodes)
	lo, hi := opts.page(g, len(nodes), func(i int) Cursor { return nodes[i].place() })
	g.Nodes = slices.Clip(nodes[lo:hi])
	if withEdges {
		g.Edges = edgesOf(g.Nodes, edges)
	}
	return g, withEdges, nil
}

// cteCap is the depth to which an unlimited CTE walk goes in one statement.
const cteCap = 16

// capFrontier returns the seqs of the n nodes of a walk capped at cteCap
// (at(i) gives the i-th node's seq and depth), as a set, and those at
// cteCap, sorted: the frontier the walk goes on from, level by level.
func capFrontier(n int, at func(i int) (seq int64, depth int)) (map[int64]struct{}, []int64) {
	seen := make(map[int64]struct{}, n)
	var frontier []int64
	for i := range n {
		seq, depth := at(i)
		seen[seq] = struct{}{}
		if depth == cteCap {
			frontier = append(frontier, seq)
		}
	}
	slices.Sort(frontier)
	return seen, frontier
}

// beyondCap continues a walk whose nodes are known exactly to depth cteCap
// level by level from the nodes at that depth, and returns nodes with the
// nodes beyond.
func beyondCap(ctx context.Context, db DB, f follow, nodes []Node) ([]Node, error) {
	seen, frontier := capFrontier(len(nodes), func(i int) (int64, int) { return nodes[i].Seq, nodes[i].Depth })
	more, err := levelDepths(ctx, db, f, 0, seen, nil, frontier, cteCap)
	if err != nil || len(more) == 0 {
		return nodes, err
	}
	rows, err := loadNodes(ctx, db, more, nil, nil)
	if err != nil {
		return nil, err
	}
	depth := make(map[int64]int, len(more))
	for _, n := range more {
		depth[n.Seq] = n.Depth
	}
	for _, r := range rows {
		r.Depth = depth[r.Seq]
		nodes = append(nodes, r)
	}
	return nodes, nil
}

// walkCTECapped walks to depthCap in one statement and returns the nodes and
// the largest depth among them; with withEdges (WalkEdges) also the edges
// among the nodes, in no order.
func walkCTECapped(ctx context.Context, db DB, starts []int64, f follow, depthCap int, withEdges bool) ([]Node, []Edge, int, error) {
	// One start, the usual case, is bound as it is.
	start := any(jsonInts(starts))
	if len(starts) == 1 {
		start = starts[0]
	}
	query := db.SQL.Walk
	if withEdges {
		query = db.SQL.WalkEdges
	}
	rows, err := db.Q.QueryContext(ctx, query(f.statement(), len(starts) == 1), f.args(start, depthCap)...)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("lineage: walk: %w", err)
	}
	var (
		nodes []Node
		edges []Edge
		// One row, scanned into the same variables each time.
		n         Node
		version   sql.NullInt64
		parentRef sql.NullString
		// An edge row's dst and relation.
		dst      sql.NullInt64
		relation sql.NullString
	)
	dest := []any{&n.Seq, &n.ID, &n.Type, &n.Name, &version, &n.Status, &parentRef, &n.Depth}
	if withEdges {
		dest = append(dest, &dst, &relation)
	}
	deepest := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, nil, 0, fmt.Errorf("lineage: walk: %w", err)
		}
		if dst.Valid {
			edges = append(edges, Edge{Src: n.Seq, Dst: dst.Int64, Relation: relation.String})
			continue
		}
		n.Version, n.ParentRef = int(version.Int64), parentRef.String
		deepest = max(deepest, n.Depth)
		nodes = append(nodes, n)
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, 0, fmt.Errorf("lineage: walk: %w", err)
	}
	return nodes, edges, deepest, nil
}

// loadNodes returns the resource rows of the seqs of nodes and of starts,
// in no particular order; seqs not in resources are missing from the
// result. With types, only rows of those types and of starts are returned.
func loadNodes(ctx context.Context, db DB, nodes []Cursor, starts []int64, types []string) ([]Node, error) {
	seqs := make([]int64, 0, len(nodes)+len(starts))
	for _, c := range nodes {
		seqs = append(seqs, c.Seq)
	}
	seqs = append(seqs, starts...)
	query, byRuns := db.SQL.Nodes, db.SQL.NodesRuns
	if len(types) > 0 {
		query, byRuns = db.SQL.NodesTyped, db.SQL.NodesTypedRuns
	}
	var args []any
	if byRuns != "" {
		slices.Sort(seqs)
		query, args = byRuns, []any{jsonRuns(slices.Compact(seqs))}
	} else {
		args = []any{jsonInts(seqs)}
	}
	if len(types) > 0 {
		args = append(args, jsonStrings(types), jsonInts(starts))
	}
	rows, err := db.Q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("lineage: load resources: %w", err)
	}
	out := make([]Node, 0, len(seqs))
	for rows.Next() {
		var n Node
		var version sql.NullInt64
		var parentRef sql.NullString
		if err := rows.Scan(&n.Seq, &n.ID, &n.Type, &n.Name, &version, &n.Status, &parentRef); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lineage: load resources: %w", err)
		}
		n.Version, n.ParentRef = int(version.Int64), parentRef.String
		out = append(out, n)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("lineage: load resources: %w", err)
	}
	return out, nil
}

// loadNodesEdges is loadNodes without types, which also returns the edges
// among nodes and starts that f allows, in no order, read in the same
// statement (NodesEdges).
func loadNodesEdges(ctx context.Context, db DB, nodes []Cursor, starts []int64, f follow) ([]Node, []Edge, error) {
	seqs := make([]int64, 0, len(nodes)+len(starts))
	for _, c := range nodes {
		seqs = append(seqs, c.Seq)
	}
	rows, err := db.Q.QueryContext(ctx, db.SQL.NodesEdges(f.statement()), f.args(jsonInts(append(seqs, starts...)))...)
	if err != nil {
		return nil, nil, fmt.Errorf("lineage: load resources: %w", err)
	}
	out := make([]Node, 0, len(seqs))
	var (
		edges []Edge
		// One row, scanned into the same variables each time.
		n                   Node
		version, dst        sql.NullInt64
		parentRef, relation sql.NullString
	)
	dest := []any{&n.Seq, &n.ID, &n.Type, &n.Name, &version, &n.Status, &parentRef, &dst, &relation}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("lineage: load resources: %w", err)
		}
		if dst.Valid {
			edges = append(edges, Edge{Src: n.Seq, Dst: dst.Int64, Relation: relation.String})
			continue
		}
		n.Version, n.ParentRef = int(version.Int64), parentRef.String
		out = append(out, n)
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, fmt.Errorf("lineage: load resources: %w", err)
	}
	return out, edges, nil
}

// loadTypes returns the type of each seq of nodes that is in resources.
func loadTypes(ctx context.Context, db DB, nodes []Cursor) (map[int64]string, error) {
	seqs := make([]int64, len(nodes))
	for i, c := range nodes {
		seqs[i] = c.Seq
	}
	rows, err := db.Q.QueryContext(ctx, db.SQL.NodeTypes, jsonInts(seqs))
	if err != nil {
		return nil, fmt.Errorf("lineage: load types: %w", err)
	}
	types := make(map[int64]string, len(nodes))
	for rows.Next() {
		var seq int64
		var t string
		if err := rows.Scan(&seq, &t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lineage: load types: %w", err)
		}
		types[seq] = t
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("lineage: load types: %w", err)
	}
	return types, nil
}

// edgesAmong returns the edges whose two ends are both in nodes and whose
// relation f allows, sorted by the positions of their ends in nodes.
func edgesAmong(ctx context.Context, db DB, nodes []Node, f follow) ([]Edge, error) {
	if len(nodes) == 0 {
		return nil, nil
	}
	seqs := make([]int64, len(nodes))
	for i, n := range nodes {
		seqs[i] = n.Seq
	}
	rows, err := db.Q.QueryContext(ctx, db.SQL.EdgesAmong(f.statement()), f.args(jsonInts(seqs))...)
	if err != nil {
		return nil, fmt.Errorf("lineage: load edges: %w", err)
	}
	var edges []Edge
	for rows.Next() {
		var e Edge
		if err := rows.Scan(&e.Src, &e.Dst, &e.Relation); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lineage: load edges: %w", err)
		}
		edges = append(edges, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("lineage: load edges: %w", err)
	}
	return edgesOf(nodes, edges), nil
}

// edgesOf returns those of edges whose two ends are both in nodes, sorted
// by the positions of their ends in nodes (nil when there are none).
func edgesOf(nodes []Node, edges []Edge) []Edge {
	pos := make(map[int64]int, len(nodes))
	for i, n := range nodes {
		pos[n.Seq] = i
	}
	edges = slices.DeleteFunc(edges, func(e Edge) bool {
		_, src := pos[e.Src]
		_, dst := pos[e.Dst]
		return !src || !dst
	})
	if len(edges) == 0 {
		return nil
	}
	// The positions are looked up once an edge, not once a comparison.
	type placed struct {
		src, dst int
		e        Edge
	}
	sorted := make([]placed, len(edges))
	for i, e := range edges {
		sorted[i] = placed{pos[e.Src], pos[e.Dst], e}
	}
	slices.SortFunc(sorted, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.src, b.src), cmp.Compare(a.dst, b.dst), strings.Compare(a.e.Relation, b.e.Relation))
	})
	for i, p := range sorted {
		edges[i] = p.e
	}
	return edges
}

// statement returns what the statements that follow f's edges are built
// for. Deleted resources (resources.deleted_at set) are not part of the
// graph: the statements neither reach nor pass through them.
func (f follow) statement() storage.LineageFollow {
	return storage.LineageFollow{
		Downstream:       f.dir == Downstream || f.dir == Both,
		Upstream:         f.dir == Upstream || f.dir == Both,
		Relations:        len(f.include) > 0,
		ExcludeRelations: len(f.exclude) > 0,
	}
}

// args returns the arguments of a statement built for f.statement(): first,
// then the relation lists it binds.
func (f follow) args(first ...any) []any {
	if len(f.include) > 0 {
		first = append(first, jsonStrings(f.include))
	}
	if len(f.exclude) > 0 {
		first = append(first, jsonStrings(f.exclude))
	}
	return first
}

// allows reports whether f follows edges of relation rel.
func (f follow) allows(rel string) bool {
	return (len(f.include) == 0 || slices.Contains(f.include, rel)) && !slices.Contains(f.exclude, rel)
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

func sortNodes(nodes []Node) {
	slices.SortFunc(nodes, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Seq, b.Seq))
	})
}

// checkFound returns ErrNotFound naming the first of seqs for which found
// is false.
func checkFound(seqs []int64, found func(int64) bool) error {
	for _, s := range seqs {
		if !found(s) {
			return fmt.Errorf("%w: resource seq %d", ErrNotFound, s)
		}
	}
	return nil
}

// uniqueSeqs returns seqs sorted without duplicates, in a new slice.
func uniqueSeqs(seqs []int64) []int64 {
	out := slices.Clone(seqs)
	slices.Sort(out)
	return slices.Compact(out)
}
