package lineage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// PathOptions configure ShortestPath.
type PathOptions struct {
	// Direction is required. Downstream finds a path along which data flows
	// from from to to (every edge src to dst); Upstream one along which it
	// flows from to to from (to is upstream of from); Both ignores the
	// direction of edges.
	Direction Direction `json:"direction,omitempty"`
	// MaxDepth is the longest path, in edges, to look for; 0 is no limit.
	MaxDepth int `json:"max_depth"`
	// Relations and ExcludeRelations restrict the edges a path may use, as
	// in Options.
	Relations        []string `json:"relations"`
	ExcludeRelations []string `json:"exclude_relations"`
}

// Path is a shortest path between two resources.
type Path struct {
	// Nodes run from the from resource to the to resource; the Depth of
	// each is its position.
	Nodes []Node `json:"nodes"`
	// Edges[i] joins Nodes[i] and Nodes[i+1], in its stored direction: for
	// an Upstream path it points from Nodes[i+1] to Nodes[i].
	Edges []Edge `json:"edges"`
}

// Graph returns p as a Graph, to export it.
func (p *Path) Graph() *Graph {
	return &Graph{Nodes: p.Nodes, Edges: p.Edges, Total: len(p.Nodes)}
}

// ShortestPath returns a shortest path from from to to, by number of edges.
// When there are several, the choice is deterministic: each resource on the
// path is preceded by the lowest-seq resource one step nearer to from that
// has an edge to it (by the lowest relation name when several edges join
// them), so the answer is the same on every call. from == to is the path of
// one resource. It returns ErrNoPath when to is not reachable within the
// options, ErrNotFound when from or to is not a resource.
//
// The search is breadth first from from, one query per level for the whole
// frontier (prepared once when db.Q can prepare), and stops at the level that
// reaches to.
func ShortestPath(ctx context.Context, db DB, from, to int64, opts PathOptions) (*Path, error) {
	if err := validDirection(opts.Direction); err != nil {
		return nil, err
	}
	if opts.MaxDepth < 0 {
		return nil, fmt.Errorf("%w: MaxDepth is %d, must be 0 (unlimited) or more", ErrInvalid, opts.MaxDepth)
	}
	f := follow{dir: opts.Direction, maxDepth: opts.MaxDepth, include: opts.Relations, exclude: opts.ExcludeRelations}
	args := f.args(nil)
	query, byRuns := db.SQL.PathLevel, db.SQL.PathLevelRuns != nil
	if byRuns {
		query = db.SQL.PathLevelRuns
	}
	levelQuery, done := repeated(ctx, db.Q, query(f.statement()), true)
	defer done()
	// via maps every reached resource but from to the step that reached it.
	via := map[int64]step{}
	reached := map[int64]bool{from: true}
	frontier := []int64{from}
	for d := 0; from != to && !reached[to]; d++ {
		if len(frontier) == 0 || f.maxDepth > 0 && d >= f.maxDepth {
			// Only now does it matter whether from and to exist: a path
			// found runs between resources, and its rows are read below.
			if err := checkEnds(ctx, db, from, to); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: from resource seq %d %s to %d", ErrNoPath, from, opts.Direction, to)
		}
		if byRuns {
			slices.Sort(frontier)
			args[0] = jsonRuns(frontier)
		} else {
			args[0] = jsonInts(frontier)
		}
		frontier = frontier[:0]
		rows, err := levelQuery(args...)
		if err != nil {
			return nil, fmt.Errorf("lineage: shortest path level %d: %w", d+1, err)
		}
		level := map[int64]step{}
		for rows.Next() {
			var st step
			var far int64
			if err := rows.Scan(&st.near, &far, &st.relation, &st.forward); err != nil {
				rows.Close()
				return nil, fmt.Errorf("lineage: shortest path level %d: %w", d+1, err)
			}
			if reached[far] {
				continue
			}
			if old, ok := level[far]; !ok || st.less(old) {
				level[far] = st
			}
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("lineage: shortest path level %d: %w", d+1, err)
		}
		for seq, st := range level {
			via[seq] = st
			reached[seq] = true
			frontier = append(frontier, seq)
		}
	}

	// Follow the steps back from to.
	seqs := []int64{to}
	var edges []Edge
	for s := to; s != from; {
		st := via[s]
		e := Edge{Src: st.near, Dst: s, Relation: st.relation}
		if !st.forward {
			e.Src, e.Dst = s, st.near
		}
		edges = append(edges, e)
		s = st.near
		seqs = append(seqs, s)
	}
	slices.Reverse(seqs)
	slices.Reverse(edges)
	loaded, err := loadNodes(ctx, db, nil, seqs, nil)
	if err != nil {
		return nil, err
	}
	bySeq := make(map[int64]Node, len(loaded))
	for _, n := range loaded {
		bySeq[n.Seq] = n
	}
	p := &Path{Nodes: make([]Node, len(seqs)), Edges: edges}
	for i, s := range seqs {
		n, ok := bySeq[s]
		if !ok { // not a resource (from == to), or deleted by a concurrent writer outside our transaction
			return nil, fmt.Errorf("%w: resource seq %d", ErrNotFound, s)
		}
		n.Depth = i
		p.Nodes[i] = n
	}
	return p, nil
}

// step is how a resource was reached: from near, by an edge of relation
// that points away from near (forward) or towards it.
type step struct {
	near     int64
	relation string
	forward  bool
}

func (a step) less(b step) bool {
	if c := cmp.Or(cmp.Compare(a.near, b.near), strings.Compare(a.relation, b.relation)); c != 0 {
		return c < 0
	}
	return a.forward && !b.forward
}

// checkEnds returns ErrNotFound when from or to is not in resources.
func checkEnds(ctx context.Context, db DB, from, to int64) error {
	ends, err := loadTypes(ctx, db, []Cursor{{Seq: from}, {Seq: to}})
	if err != nil {
		return err
	}
	return checkFound([]int64{from, to}, func(s int64) bool { _, ok := ends[s]; return ok })
}
