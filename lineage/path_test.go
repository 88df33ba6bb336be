package lineage

import (
	"context"
	"errors"
	"testing"
)

func TestShortestPath(t *testing.T) { forEachFixture(t, testShortestPath) }

func testShortestPath(t *testing.T, db fixture) {
	ctx := context.Background()
	db.exec(t, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (13, 3, 'output', 1)`)
	for _, tc := range []struct {
		name     string
		from, to int64
		opts     PathOptions
		nodes    string // seq:position
		edges    string
	}{
		{
			// Two shortest paths, through titanic@1 (2) and titanic@2 (3):
			// the lower seq wins; of child and winning_experiment, child.
			name: "Downstream", from: 1, to: 10,
			opts:  PathOptions{Direction: Downstream},
			nodes: "1:0 2:1 8:2 10:3",
			edges: "1>2:version 2>8:input 8>10:child",
		},
		{
			name: "DownstreamRelations", from: 1, to: 10,
			opts:  PathOptions{Direction: Downstream, Relations: []string{"version", "input", "winning_experiment"}},
			nodes: "1:0 2:1 8:2 10:3",
			edges: "1>2:version 2>8:input 8>10:winning_experiment",
		},
		{
			name: "DownstreamExclude", from: 1, to: 10,
			opts:  PathOptions{Direction: Downstream, ExcludeRelations: []string{"child"}},
			nodes: "1:0 2:1 8:2 10:3",
			edges: "1>2:version 2>8:input 8>10:winning_experiment",
		},
		{
			// Edges stay in their stored direction, pointing back along
			// an upstream path.
			name: "Upstream", from: 10, to: 1,
			opts:  PathOptions{Direction: Upstream},
			nodes: "10:0 8:1 2:2 1:3",
			edges: "8>10:child 2>8:input 1>2:version",
		},
		{
			name: "Both", from: 9, to: 10,
			opts:  PathOptions{Direction: Both},
			nodes: "9:0 7:1 2:2 8:3 10:4",
			edges: "7>9:child 2>7:input 2>8:input 8>10:child",
		},
		{
			name: "ThroughCycle", from: 13, to: 14,
			opts:  PathOptions{Direction: Downstream},
			nodes: "13:0 3:1 14:2",
			edges: "13>3:output 3>14:input",
		},
		{
			name: "ExactDepth", from: 1, to: 10,
			opts:  PathOptions{Direction: Downstream, MaxDepth: 3},
			nodes: "1:0 2:1 8:2 10:3",
			edges: "1>2:version 2>8:input 8>10:child",
		},
		{
			name: "Same", from: 5, to: 5,
			opts:  PathOptions{Direction: Downstream},
			nodes: "5:0",
		},
		{
			name: "SameIsolated", from: 15, to: 15,
			opts:  PathOptions{Direction: Upstream, MaxDepth: 1},
			nodes: "15:0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ShortestPath(ctx, db.DB, tc.from, tc.to, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := nodesString(p.Nodes); got != tc.nodes {
				t.Errorf("nodes\n got %s\nwant %s", got, tc.nodes)
			}
			if got := edgesString(p.Edges); got != tc.edges {
				t.Errorf("edges\n got %s\nwant %s", got, tc.edges)
			}
			if p.Nodes[0].ID == "" || p.Nodes[0].Type == "" {
				t.Errorf("node fields not loaded: %+v", p.Nodes[0])
			}
			if g := p.Graph(); len(g.Nodes) != len(p.Nodes) || g.Total != len(p.Nodes) {
				t.Errorf("Graph() = %+v", g)
			}
		})
	}

	for _, tc := range []struct {
		name     string
		from, to int64
		opts     PathOptions
		want     error
	}{
		{"ErrNoPathAgainstFlow", 10, 1, PathOptions{Direction: Downstream}, ErrNoPath},
		{"ErrNoPathTooShort", 1, 10, PathOptions{Direction: Downstream, MaxDepth: 2}, ErrNoPath},
		{"ErrNoPathFiltered", 1, 10, PathOptions{Direction: Downstream, Relations: []string{"version"}}, ErrNoPath},
		{"ErrNoPathIsolated", 15, 1, PathOptions{Direction: Both}, ErrNoPath},
		{"ErrNotFoundFrom", 999, 1, PathOptions{Direction: Both}, ErrNotFound},
		{"ErrNotFoundTo", 1, 999, PathOptions{Direction: Both}, ErrNotFound},
		{"ErrNoDirection", 1, 10, PathOptions{}, ErrInvalid},
		{"ErrNegativeDepth", 1, 10, PathOptions{Direction: Both, MaxDepth: -2}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ShortestPath(ctx, db.DB, tc.from, tc.to, tc.opts)
			if !errors.Is(err, tc.want) || p != nil {
				t.Fatalf("got %+v, %v; want %v", p, err, tc.want)
			}
		})
	}
}
