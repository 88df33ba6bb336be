package lineage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/storage"
)

// strategies are the explicit strategies every walk test runs with; Auto
// resolves to one of them.
var strategies = []Strategy{CTE, LevelWalk, Auto}

// nodesString formats the nodes of g as "seq:depth ...".
func nodesString(nodes []Node) string {
	var parts []string
	for _, n := range nodes {
		parts = append(parts, fmt.Sprintf("%d:%d", n.Seq, n.Depth))
	}
	return strings.Join(parts, " ")
}

// edgesString formats edges as "src>dst:relation ...".
func edgesString(edges []Edge) string {
	var parts []string
	for _, e := range edges {
		parts = append(parts, fmt.Sprintf("%d>%d:%s", e.Src, e.Dst, e.Relation))
	}
	return strings.Join(parts, " ")
}

func TestWalk(t *testing.T) { forEachFixture(t, testWalk) }

func testWalk(t *testing.T, db fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		starts    []int64
		opts      Options
		nodes     string
		edges     string
		truncated bool
	}{
		{
			name:   "DownstreamAll",
			starts: []int64{1},
			opts:   Options{Direction: Downstream},
			nodes:  "1:0 2:1 3:1 7:2 8:2 14:2 9:3 10:3 11:3 12:3 13:3",
			edges: "1>2:version 1>3:version 2>7:input 2>8:input 3>8:input 3>14:input " +
				"7>9:child 7>9:winning_experiment 7>11:child 8>10:child 8>10:winning_experiment 8>12:child 8>13:child 10>12:input",
		},
		{
			name:   "DownstreamDepth1",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, MaxDepth: 1},
			nodes:  "1:0 2:1 3:1",
			edges:  "1>2:version 1>3:version",
		},
		{
			name:   "DownstreamDepth2",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, MaxDepth: 2},
			nodes:  "1:0 2:1 3:1 7:2 8:2 14:2",
			edges:  "1>2:version 1>3:version 2>7:input 2>8:input 3>8:input 3>14:input",
		},
		{
			name:   "DepthBeyondGraph",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, MaxDepth: 50},
			nodes:  "1:0 2:1 3:1 7:2 8:2 14:2 9:3 10:3 11:3 12:3 13:3",
			edges: "1>2:version 1>3:version 2>7:input 2>8:input 3>8:input 3>14:input " +
				"7>9:child 7>9:winning_experiment 7>11:child 8>10:child 8>10:winning_experiment 8>12:child 8>13:child 10>12:input",
		},
		{
			name:   "Upstream",
			starts: []int64{13},
			opts:   Options{Direction: Upstream},
			nodes:  "13:0 8:1 2:2 3:2 5:2 6:2 1:3 4:3",
			edges:  "8>13:child 2>8:input 3>8:input 5>8:input 6>8:version 1>2:version 1>3:version 4>5:version",
		},
		{
			name:   "UpstreamDepth1",
			starts: []int64{12},
			opts:   Options{Direction: Upstream, MaxDepth: 1},
			nodes:  "12:0 8:1 10:1",
			edges:  "8>12:child 8>10:child 8>10:winning_experiment 10>12:input",
		},
		{
			name:   "RelationInclude",
			starts: []int64{8},
			opts:   Options{Direction: Downstream, Relations: []string{"winning_experiment"}},
			nodes:  "8:0 10:1",
			edges:  "8>10:winning_experiment",
		},
		{
			name:   "RelationExclude",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, ExcludeRelations: []string{"input"}},
			nodes:  "1:0 2:1 3:1",
			edges:  "1>2:version 1>3:version",
		},
		{
			name:   "ExcludeWinsOverInclude",
			starts: []int64{7},
			opts:   Options{Direction: Downstream, Relations: []string{"child", "winning_experiment"}, ExcludeRelations: []string{"child"}},
			nodes:  "7:0 9:1",
			edges:  "7>9:winning_experiment",
		},
		{
			name:   "UnknownRelation",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, Relations: []string{"no such relation"}},
			nodes:  "1:0",
		},
		{
			// The type filter does not stop the walk: experiments are found
			// through dataset and model versions, at their real depth.
			name:   "TypesDoNotStopWalk",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, Types: []string{"experiment"}},
			nodes:  "9:3 10:3",
		},
		{
			name:   "TypesKeepEdgesAmongReturned",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, Types: []string{"model_version", "experiment"}},
			nodes:  "7:2 8:2 14:2 9:3 10:3",
			edges:  "7>9:child 7>9:winning_experiment 8>10:child 8>10:winning_experiment",
		},
		{
			name:   "ManyStartsWithDuplicates",
			starts: []int64{5, 2, 2},
			opts:   Options{Direction: Downstream, MaxDepth: 1},
			nodes:  "2:0 5:0 7:1 8:1",
			edges:  "2>7:input 2>8:input 5>8:input",
		},
		{
			// 8 is a start and downstream of the other start: depth 0.
			name:   "StartsReachEachOther",
			starts: []int64{1, 8},
			opts:   Options{Direction: Downstream},
			nodes:  "1:0 8:0 2:1 3:1 10:1 12:1 13:1 7:2 14:2 9:3 11:3",
			edges: "1>2:version 1>3:version 8>10:child 8>10:winning_experiment 8>12:child 8>13:child " +
				"2>8:input 2>7:input 3>8:input 3>14:input 10>12:input 7>9:child 7>9:winning_experiment 7>11:child",
		},
		{
			name:   "Both",
			starts: []int64{9},
			opts:   Options{Direction: Both, MaxDepth: 2},
			nodes:  "9:0 7:1 2:2 6:2 11:2",
			edges:  "7>9:child 7>9:winning_experiment 7>11:child 2>7:input 6>7:version",
		},
		{
			name:   "Isolated",
			starts: []int64{15},
			opts:   Options{Direction: Both},
			nodes:  "15:0",
		},
		{
			name:      "MaxNodes",
			starts:    []int64{1},
			opts:      Options{Direction: Downstream, MaxNodes: 4},
			nodes:     "1:0 2:1 3:1 7:2",
			edges:     "1>2:version 1>3:version 2>7:input",
			truncated: true,
		},
		{
			name:      "MaxNodesOneShort",
			starts:    []int64{1},
			opts:      Options{Direction: Downstream, MaxNodes: 10},
			nodes:     "1:0 2:1 3:1 7:2 8:2 14:2 9:3 10:3 11:3 12:3",
			edges:     "1>2:version 1>3:version 2>7:input 2>8:input 3>8:input 3>14:input 7>9:child 7>9:winning_experiment 7>11:child 8>10:child 8>10:winning_experiment 8>12:child 10>12:input",
			truncated: true,
		},
		{
			name:   "MaxNodesExact",
			starts: []int64{1},
			opts:   Options{Direction: Downstream, MaxNodes: 11, Types: []string{"dataset"}},
			nodes:  "1:0",
		},
		{
			name:      "MaxNodesBeforeTypes",
			starts:    []int64{1},
			opts:      Options{Direction: Downstream, MaxNodes: 6, Types: []string{"experiment"}},
			truncated: true,
		},
	} {
		for _, s := range strategies {
			t.Run(tc.name+"/"+s.String(), func(t *testing.T) {
				opts := tc.opts
				opts.Strategy = s
				g, err := Walk(ctx, db.DB, tc.starts, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := nodesString(g.Nodes); got != tc.nodes {
					t.Errorf("nodes\n got %s\nwant %s", got, tc.nodes)
				}
				if got := edgesString(g.Edges); got != tc.edges {
					t.Errorf("edges\n got %s\nwant %s", got, tc.edges)
				}
				if g.Truncated != tc.truncated {
					t.Errorf("Truncated = %v, want %v", g.Truncated, tc.truncated)
				}
				if g.Total != len(g.Nodes) || g.Next != nil {
					t.Errorf("Total = %d, Next = %v for an unpaged walk of %d nodes", g.Total, g.Next, len(g.Nodes))
				}
			})
		}
	}
}

func TestWalkNodeFields(t *testing.T) { forEachFixture(t, testWalkNodeFields) }

func testWalkNodeFields(t *testing.T, db fixture) {
	g, err := Walk(context.Background(), db.DB, []int64{13}, Options{Direction: Upstream, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{
		{Seq: 13, ID: "0190a000-0000-7000-8000-000000000013", Type: "prediction_job", Name: "batch_2", ParentRef: "model_version/titanic_model@2", Status: "RUNNING", Depth: 0},
		{Seq: 8, ID: "0190a000-0000-7000-8000-000000000008", Type: "model_version", Name: "titanic_model", Version: 2, Status: "PROMOTED", Depth: 1},
	}
	if !reflect.DeepEqual(g.Nodes, want) {
		t.Errorf("got %+v\nwant %+v", g.Nodes, want)
	}
	if got := g.Nodes[1].Ref(); got != "model_version/titanic_model@2" {
		t.Errorf("Ref = %q", got)
	}
	if got := g.Nodes[0].Ref(); got != "model_version/titanic_model@2/prediction_job/batch_2" {
		t.Errorf("Ref = %q", got)
	}
}

// TestWalkCycle links a cycle by hand (a prediction job's output fed back
// into the dataset version its model was trained on, and a self-loop) and a
// ring of 40 resources: every walk must end, each resource once at its
// shortest depth.
func TestWalkCycle(t *testing.T) { forEachFixture(t, testWalkCycle) }

func testWalkCycle(t *testing.T, db fixture) {
	ctx := context.Background()
	db.exec(t, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (13, 3, 'output', 1), (9, 9, 'retrain', 1)`)
	var ring strings.Builder
	ring.WriteString("INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES ")
	for i := range 40 {
		fmt.Fprintf(&ring, "%s(%d, 'ring-%d', 'stage', 's%d', 1, 1)", map[bool]string{true: ", "}[i > 0], 100+i, i, i)
	}
	db.exec(t, ring.String())
	for i := range 40 {
		db.exec(t, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (?, ?, 'next', 1)`, 100+i, 100+(i+1)%40)
	}
	// A chain 0 -> 1 -> ... -> 32 (seqs 200-232) ends exactly at the depth
	// caps the unlimited CTE tries (16, 32) before it knows it is done.
	var chain strings.Builder
	chain.WriteString("INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES ")
	for i := range 33 {
		fmt.Fprintf(&chain, "%s(%d, 'chain-%d', 'stage', 'c%d', 1, 1)", map[bool]string{true: ", "}[i > 0], 200+i, i, i)
	}
	db.exec(t, chain.String())
	for i := range 32 {
		db.exec(t, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (?, ?, 'next', 1)`, 200+i, 201+i)
	}
	chainNodes := func(from, to int) string {
		var parts []string
		for i := from; i <= to; i++ {
			parts = append(parts, fmt.Sprintf("%d:%d", 200+i, i-from))
		}
		return strings.Join(parts, " ")
	}
	ringNodes := func(depth func(i int) int) string {
		var want []Node
		for i := range 40 {
			want = append(want, Node{Seq: int64(100 + i), Depth: depth(i)})
		}
		sortNodes(want)
		return nodesString(want)
	}

	for _, tc := range []struct {
		name   string
		starts []int64
		opts   Options
		nodes  string
		edges  string
	}{
		{
			name:   "Downstream",
			starts: []int64{3},
			opts:   Options{Direction: Downstream},
			nodes:  "3:0 8:1 14:1 10:2 12:2 13:2",
			edges:  "3>8:input 3>14:input 8>10:child 8>10:winning_experiment 8>12:child 8>13:child 10>12:input 13>3:output",
		},
		{
			name:   "Upstream",
			starts: []int64{3},
			opts:   Options{Direction: Upstream},
			nodes:  "3:0 1:1 13:1 8:2 2:3 5:3 6:3 4:4",
			edges:  "3>8:input 1>3:version 1>2:version 13>3:output 8>13:child 2>8:input 5>8:input 6>8:version 4>5:version",
		},
		{
			name:   "SelfLoop",
			starts: []int64{9},
			opts:   Options{Direction: Both, Relations: []string{"retrain"}},
			nodes:  "9:0",
			edges:  "9>9:retrain",
		},
		{
			name:   "RingDownstream",
			starts: []int64{100},
			opts:   Options{Direction: Downstream},
			nodes:  ringNodes(func(i int) int { return i }),
		},
		{
			name:   "RingUpstream",
			starts: []int64{100},
			opts:   Options{Direction: Upstream},
			nodes:  ringNodes(func(i int) int { return (40 - i) % 40 }),
		},
		{
			name:   "RingBoth",
			starts: []int64{100},
			opts:   Options{Direction: Both},
			nodes:  ringNodes(func(i int) int { return min(i, 40-i) }),
		},
		{
			name:   "Chain32",
			starts: []int64{200},
			opts:   Options{Direction: Downstream},
			nodes:  chainNodes(0, 32),
		},
		{
			name:   "Chain16",
			starts: []int64{216},
			opts:   Options{Direction: Downstream},
			nodes:  chainNodes(16, 32),
		},
		{
			name:   "Chain15",
			starts: []int64{217},
			opts:   Options{Direction: Downstream},
			nodes:  chainNodes(17, 32),
		},
		{
			name:   "RingDepth5",
			starts: []int64{100},
			opts:   Options{Direction: Downstream, MaxDepth: 5},
			nodes:  "100:0 101:1 102:2 103:3 104:4 105:5",
			edges:  "100>101:next 101>102:next 102>103:next 103>104:next 104>105:next",
		},
	} {
		for _, s := range strategies {
			t.Run(tc.name+"/"+s.String(), func(t *testing.T) {
				opts := tc.opts
				opts.Strategy = s
				g, err := Walk(ctx, db.DB, tc.starts, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := nodesString(g.Nodes); got != tc.nodes {
					t.Errorf("nodes\n got %s\nwant %s", got, tc.nodes)
				}
				if strings.HasPrefix(tc.name, "Chain") {
					if want := strings.Count(tc.nodes, " "); len(g.Edges) != want {
						t.Errorf("%d edges, want %d", len(g.Edges), want)
					}
				} else if tc.edges != "" || !strings.HasPrefix(tc.name, "Ring") {
					if got := edgesString(g.Edges); got != tc.edges {
						t.Errorf("edges\n got %s\nwant %s", got, tc.edges)
					}
				} else if len(g.Edges) != 40 {
					t.Errorf("%d edges, want the 40 of the ring", len(g.Edges))
				}
			})
		}
	}
}

func TestChooseStrategy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		starts int
		want   Strategy
	}{
		{"Explicit", Options{Direction: Downstream, Strategy: CTE}, 1, CTE},
		{"ExplicitLevelWalk", Options{Direction: Upstream, MaxDepth: 8, Strategy: LevelWalk}, 1, LevelWalk},
		{"Downstream", Options{Direction: Downstream, MaxDepth: 8}, 1, LevelWalk},
		{"UpstreamBounded", Options{Direction: Upstream, MaxDepth: 8}, 1, CTE},
		{"UpstreamShallow", Options{Direction: Upstream, MaxDepth: 1}, 1, CTE},
		{"UpstreamUnlimited", Options{Direction: Upstream}, 1, CTE},
		{"UpstreamDeep", Options{Direction: Upstream, MaxDepth: 17}, 1, LevelWalk},
		{"UpstreamManyStarts", Options{Direction: Upstream, MaxDepth: 8}, 100, LevelWalk},
		{"UpstreamMaxNodes", Options{Direction: Upstream, MaxDepth: 8, MaxNodes: 100}, 1, LevelWalk},
		{"UpstreamPaged", Options{Direction: Upstream, MaxDepth: 8, Limit: 10}, 1, LevelWalk},
		{"UpstreamAfter", Options{Direction: Upstream, MaxDepth: 8, After: &Cursor{Depth: 1}}, 1, LevelWalk},
		{"Both", Options{Direction: Both, MaxDepth: 8}, 1, LevelWalk},
	} {
		if got := chooseStrategy(tc.opts, tc.starts); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestChooseFor checks Auto on an engine that prefers its recursive
// statements: the CTE wherever the walk reads every node's row and need not
// stop early, chooseStrategy's choice elsewhere.
func TestChooseFor(t *testing.T) {
	prefers := &storage.LineageStatements{PreferRecursive: true}
	for _, tc := range []struct {
		name   string
		opts   Options
		starts int
		want   Strategy
	}{
		{"Downstream", Options{Direction: Downstream, MaxDepth: 8}, 1, CTE},
		{"DownstreamShallow", Options{Direction: Downstream, MaxDepth: 1}, 1, CTE},
		{"DownstreamUnlimited", Options{Direction: Downstream}, 1, CTE},
		{"UpstreamDeep", Options{Direction: Upstream, MaxDepth: 40}, 1, CTE},
		{"Both", Options{Direction: Both}, 3, CTE},
		{"ExplicitLevelWalk", Options{Direction: Downstream, Strategy: LevelWalk}, 1, LevelWalk},
		{"ManyStarts", Options{Direction: Downstream}, 9, LevelWalk},
		{"MaxNodes", Options{Direction: Downstream, MaxNodes: 100}, 1, LevelWalk},
		{"Types", Options{Direction: Downstream, Types: []string{"model_version"}}, 1, LevelWalk},
		{"Paged", Options{Direction: Downstream, Limit: 10}, 1, LevelWalk},
		{"Offset", Options{Direction: Upstream, Offset: 10}, 1, LevelWalk},
	} {
		if got := chooseFor(prefers, tc.opts, tc.starts); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		if got, want := chooseFor(&storage.LineageStatements{}, tc.opts, tc.starts), chooseStrategy(tc.opts, tc.starts); got != want {
			t.Errorf("%s without PreferRecursive: got %v, chooseStrategy %v", tc.name, got, want)
		}
	}
}

func TestWalkErrors(t *testing.T) { forEachFixture(t, testWalkErrors) }

func testWalkErrors(t *testing.T, db fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		starts []int64
		opts   Options
		want   error
	}{
		{"ErrNoStart", nil, Options{Direction: Downstream}, ErrInvalid},
		{"ErrNoDirection", []int64{1}, Options{}, ErrInvalid},
		{"ErrBadDirection", []int64{1}, Options{Direction: 9}, ErrInvalid},
		{"ErrNegativeDepth", []int64{1}, Options{Direction: Downstream, MaxDepth: -1}, ErrInvalid},
		{"ErrNegativeMaxNodes", []int64{1}, Options{Direction: Downstream, MaxNodes: -1}, ErrInvalid},
		{"ErrNegativeOffset", []int64{1}, Options{Direction: Downstream, Offset: -1}, ErrInvalid},
		{"ErrNegativeLimit", []int64{1}, Options{Direction: Downstream, Limit: -1}, ErrInvalid},
		{"ErrBadStrategy", []int64{1}, Options{Direction: Downstream, Strategy: 7}, ErrInvalid},
		{"ErrMissingStart", []int64{1, 999}, Options{Direction: Downstream}, ErrNotFound},
		{"ErrMissingStartAlone", []int64{0}, Options{Direction: Upstream}, ErrNotFound},
	} {
		for _, s := range []Strategy{CTE, LevelWalk} {
			t.Run(tc.name+"/"+s.String(), func(t *testing.T) {
				opts := tc.opts
				if opts.Strategy == 0 {
					opts.Strategy = s
				}
				g, err := Walk(ctx, db.DB, tc.starts, opts)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if g != nil {
					t.Errorf("graph %+v with an error", g)
				}
			})
		}
	}
}

func TestWalkPaging(t *testing.T) { forEachFixture(t, testWalkPaging) }

func testWalkPaging(t *testing.T, db fixture) {
	ctx := context.Background()
	base := Options{Direction: Downstream}
	full, err := Walk(ctx, db.DB, []int64{1, 4, 6}, base)
	if err != nil {
		t.Fatal(err)
	}
	if full.Total != 14 {
		t.Fatalf("Total = %d, want 14", full.Total)
	}
	for _, s := range strategies {
		for _, limit := range []int{1, 3, 5, 14, 20} {
			t.Run(fmt.Sprintf("Cursor/%v/Limit%d", s, limit), func(t *testing.T) {
				var got []Node
				opts := base
				opts.Strategy, opts.Limit = s, limit
				for pages := 0; ; pages++ {
					if pages > 20 {
						t.Fatal("paging does not end")
					}
					g, err := Walk(ctx, db.DB, []int64{6, 4, 1}, opts)
					if err != nil {
						t.Fatal(err)
					}
					if g.Total != full.Total {
						t.Errorf("page %d: Total = %d, want %d", pages, g.Total, full.Total)
					}
					checkPageEdges(t, g, full)
					got = append(got, g.Nodes...)
					if g.Next == nil {
						break
					}
					if len(g.Nodes) != limit {
						t.Errorf("page %d has %d nodes, want %d", pages, len(g.Nodes), limit)
					}
					// Round-trip the cursor through its text form, as a CLI would.
					c, err := ParseCursor(g.Next.String())
					if err != nil || c != *g.Next {
						t.Fatalf("ParseCursor(%q) = %v, %v", g.Next.String(), c, err)
					}
					opts.After = &c
				}
				if !reflect.DeepEqual(got, full.Nodes) {
					t.Errorf("pages\n got %s\nwant %s", nodesString(got), nodesString(full.Nodes))
				}
			})
		}
		t.Run("Offset/"+s.String(), func(t *testing.T) {
			var got []Node
			for offset := 0; offset < full.Total; offset += 4 {
				g, err := Walk(ctx, db.DB, []int64{1, 4, 6}, Options{Direction: Downstream, Strategy: s, Offset: offset, Limit: 4})
				if err != nil {
					t.Fatal(err)
				}
				checkPageEdges(t, g, full)
				got = append(got, g.Nodes...)
			}
			if !reflect.DeepEqual(got, full.Nodes) {
				t.Errorf("pages\n got %s\nwant %s", nodesString(got), nodesString(full.Nodes))
			}
		})
	}

	t.Run("PastTheEnd", func(t *testing.T) {
		last := full.Nodes[len(full.Nodes)-1]
		for _, opts := range []Options{
			{Direction: Downstream, Offset: 100},
			{Direction: Downstream, After: &Cursor{Depth: last.Depth, Seq: last.Seq}},
			{Direction: Downstream, After: &Cursor{Depth: 99}},
		} {
			g, err := Walk(ctx, db.DB, []int64{1, 4, 6}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Nodes) != 0 || len(g.Edges) != 0 || g.Next != nil || g.Total != 14 {
				t.Errorf("%+v: got %+v", opts, g)
			}
		}
	})
	t.Run("CursorBetweenNodes", func(t *testing.T) {
		// A cursor need not name a node: the page starts after its place.
		g, err := Walk(ctx, db.DB, []int64{1}, Options{Direction: Downstream, After: &Cursor{Depth: 2, Seq: 7}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := nodesString(g.Nodes); got != "8:2 14:2" || *g.Next != (Cursor{Depth: 2, Seq: 14}) {
			t.Errorf("got %s next %v", got, g.Next)
		}
		g, err = Walk(ctx, db.DB, []int64{1}, Options{Direction: Downstream, After: &Cursor{Depth: 2, Seq: 9}})
		if err != nil {
			t.Fatal(err)
		}
		if got := nodesString(g.Nodes); got != "14:2 9:3 10:3 11:3 12:3 13:3" {
			t.Errorf("got %s", got)
		}
	})
}

// checkPageEdges checks that the edges of page are those of full whose two
// ends are on the page.
func checkPageEdges(t *testing.T, page, full *Graph) {
	t.Helper()
	on := map[int64]bool{}
	for _, n := range page.Nodes {
		on[n.Seq] = true
	}
	var want []Edge
	for _, e := range full.Edges {
		if on[e.Src] && on[e.Dst] {
			want = append(want, e)
		}
	}
	if edgesString(page.Edges) != edgesString(want) {
		t.Errorf("page edges\n got %s\nwant %s", edgesString(page.Edges), edgesString(want))
	}
}

func TestParseCursor(t *testing.T) {
	for _, s := range []string{"", "1", "a.b", "1.", ".1", "-1.3", "1.2.3", "1.x"} {
		if _, err := ParseCursor(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCursor(%q) err = %v, want ErrInvalid", s, err)
		}
	}
	for _, c := range []Cursor{{0, 1}, {3, 1045}, {12, -4}} {
		got, err := ParseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %v, %v", c.String(), got, err)
		}
	}
}

func TestWalkInTransaction(t *testing.T) {
	db := mustFixture(t)
	ctx := context.Background()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// An edge the transaction adds is walked; nothing is committed.
	if _, err := tx.ExecContext(ctx, `INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (15, 1, 'derived', 1)`); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Strategy{CTE, LevelWalk} {
		g, err := Walk(ctx, on(tx), []int64{15}, Options{Direction: Downstream, MaxDepth: 2, Strategy: s})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := nodesString(g.Nodes), "15:0 1:1 2:2 3:2"; got != want {
			t.Errorf("%v: got %s, want %s", s, got, want)
		}
	}
}

// TestJSONRuns checks the runs that a set of seqs is bound as.
func TestJSONRuns(t *testing.T) {
	for _, c := range []struct {
		seqs []int64
		want string
	}{
		{nil, "[]"},
		{[]int64{5}, "[5]"},
		{[]int64{1, 2, 3, 7}, "[[1,3],7]"},
		{[]int64{1, 2, 3, 4, 7, 8}, "[[1,4],7,8]"},
		{[]int64{-2, -1, 0, 1, 9, 11, 12, 20, 21, 22}, "[[-2,1],9,11,12,[20,22]]"},
		{[]int64{math.MaxInt64 - 2, math.MaxInt64 - 1, math.MaxInt64}, "[[9223372036854775805,9223372036854775807]]"},
	} {
		if got := jsonRuns(c.seqs); got != c.want {
			t.Errorf("jsonRuns(%v) = %s, want %s", c.seqs, got, c.want)
		}
	}
}

// TestEachSeq checks the reading of a level's comma-separated seqs, and
// that a list that is not one fails as corrupt data rather than giving
// wrong seqs.
func TestEachSeq(t *testing.T) {
	for _, c := range []struct {
		list string
		want []int64
	}{
		{"", nil},
		{"7", []int64{7}},
		{"1,22,333,1", []int64{1, 22, 333, 1}},
		{"-5,9223372036854775807,-9223372036854775808", []int64{-5, math.MaxInt64, math.MinInt64}},
	} {
		var got []int64
		if err := eachSeq([]byte(c.list), func(s int64) { got = append(got, s) }); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("eachSeq(%q) = %v, %v; want %v", c.list, got, err, c.want)
		}
	}
	for _, bad := range []string{"1,,2", "1,", ",1", "x", "1.5", "-", "9223372036854775808", "-9223372036854775809", "12345678901234567890", " 1"} {
		if err := eachSeq([]byte(bad), func(int64) {}); !errors.Is(err, storage.ErrCorrupt) {
			t.Errorf("eachSeq(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}
