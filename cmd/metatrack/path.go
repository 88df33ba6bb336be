package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

func newPathCmd(a *app) *cobra.Command {
	var (
		up, down, both bool
		depth          int
	)
	cmd := &cobra.Command{
		Use:   "path <from> <to> [--up|--down|--both]",
		Short: "Show a shortest lineage path from one resource to another",
		Long: `path answers "how is this connected to that?": a shortest chain of lineage
edges from the first resource to the second, each resource with its status
and each edge with its relation and the way data flows along it (-->: the
next resource was made from this one; <--: this one was made from the next).

--down finds a path along which data flows from <from> to <to> (<to> was
made, step by step, from <from>); --up one along which it flows the other
way (<to> is upstream of <from>); --both (the default, when no direction is
given) follows edges either way. --depth limits the path's length in steps
(0: no limit). When several paths are shortest, the same one is printed
every time.

A path that does not exist is a failure (exit status 1) that says so.`,
		Example: `  # how the batch predictions depend on the training data
  metatrack path dataset_version/titanic_train@3 prediction_job/batch-titanic_train-v3 --down --db titanic.db

  # the steps as JSON
  metatrack path model/titanic_model dataset/titanic_train -o json | jq -r '.nodes[].ref'`,
		Args:              exactArgs(2, "two resource ids or references (from and to)"),
		ValidArgsFunction: a.completeRefs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var dir lineage.Direction
			n := 0
			for _, f := range []struct {
				set bool
				dir lineage.Direction
			}{{up, lineage.Upstream}, {down, lineage.Downstream}, {both, lineage.Both}} {
				if f.set {
					dir, n = f.dir, n+1
				}
			}
			switch {
			case n == 0:
				dir = lineage.Both
			case n > 1:
				return usageErrorf("give one of --up, --down and --both (none: both)")
			}
			if depth < 0 {
				return usageErrorf("--depth must not be negative, got %d", depth)
			}
			return a.runPath(cmd.Context(), args[0], args[1], dir, depth)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&up, "up", false, "a path upstream: <to> is what <from> was made from")
	f.BoolVar(&down, "down", false, "a path downstream: <to> was made from <from>")
	f.BoolVar(&both, "both", false, "follow edges either way")
	f.IntVar(&depth, "depth", 0, "at most this many steps (0: no limit)")
	return listing(cmd)
}

// pathJSON is the -o json document of path.
type pathJSON struct {
	From      resourceRefJSON `json:"from"`
	To        resourceRefJSON `json:"to"`
	Direction string          `json:"direction"`
	// Steps is the number of edges of the path.
	Steps int            `json:"steps"`
	Nodes []pathNodeJSON `json:"nodes"`
	// Edges[i] joins Nodes[i] and Nodes[i+1], in its stored direction
	// (data flows from src to dst).
	Edges []pathEdgeJSON `json:"edges"`
}

type pathNodeJSON struct {
	ID     string `json:"id"`
	Ref    string `json:"ref"`
	Status string `json:"status"`
	// Step is the node's position on the path, from 0 (from) to steps (to).
	Step int `json:"step"`
}

type pathEdgeJSON struct {
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Relation string `json:"relation"`
}

// Flows of an edge of a path, as -o csv names them: down when data flows
// from the previous resource to this one, up when from this one to the
// previous.
const (
	flowDown = "down"
	flowUp   = "up"
)

func (a *app) runPath(ctx context.Context, fromRef, toRef string, dir lineage.Direction, depth int) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	from, err := a.resolve(ctx, t, fromRef)
	if err != nil {
		return err
	}
	to, err := a.resolve(ctx, t, toRef)
	if err != nil {
		return err
	}
	p, err := t.ShortestPath(ctx, from, to, lineage.PathOptions{Direction: dir, MaxDepth: depth})
	if errors.Is(err, metatrack.ErrNoPath) {
		return noPathError(fromRef, toRef, dir, depth)
	}
	if err != nil {
		return err
	}
	out := pathJSON{From: *refJSON(from), To: *refJSON(to), Direction: dir.String(),
		Steps: len(p.Edges), Nodes: make([]pathNodeJSON, len(p.Nodes)), Edges: make([]pathEdgeJSON, len(p.Edges))}
	idOf := make(map[int64]string, len(p.Nodes))
	for i, n := range p.Nodes {
		idOf[n.Seq] = n.ID
		out.Nodes[i] = pathNodeJSON{ID: n.ID, Ref: n.Ref(), Status: n.Status, Step: i}
	}
	for i, e := range p.Edges {
		out.Edges[i] = pathEdgeJSON{Src: idOf[e.Src], Dst: idOf[e.Dst], Relation: e.Relation}
	}
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() {
		rows := make([]record, len(out.Nodes))
		for i, n := range out.Nodes {
			relation, flow := "", ""
			if i > 0 {
				relation, flow = out.Edges[i-1].Relation, out.flow(i)
			}
			rows[i] = record{{"step", n.Step}, {"id", n.ID}, {"ref", n.Ref}, {"status", n.Status},
				{"relation", relation}, {"flow", flow}}
		}
		return a.writeCSV(rows, "step", "id", "ref", "status", "relation", "flow")
	}
	return printPath(a.stdout, out)
}

// flow says which way data flows along the edge that reaches Nodes[i]
// (i > 0) from the node before it.
func (p pathJSON) flow(i int) string {
	if p.Edges[i-1].Src == p.Nodes[i-1].ID {
		return flowDown
	}
	return flowUp
}

// noPathError is the error of a path that does not exist within the
// options, with what might find one.
func noPathError(from, to string, dir lineage.Direction, depth int) error {
	way := map[lineage.Direction]string{lineage.Downstream: " downstream", lineage.Upstream: " upstream"}[dir]
	within, hint := "", ""
	if depth > 0 {
		within = " within " + plural(depth, "step")
		hint = "; a larger --depth may find one"
	}
	if dir != lineage.Both {
		hint += "; --both also follows edges against the flow of data"
	}
	if hint != "" {
		hint = " (" + hint[2:] + ")"
	}
	return fmt.Errorf("%w from %s%s to %s%s%s", metatrack.ErrNoPath, from, way, to, within, hint)
}

func printPath(w io.Writer, out pathJSON) error {
	fmt.Fprintf(w, "Path from %s to %s: %s %s.\n\n", out.From.Ref, out.To.Ref, plural(out.Steps, "step"),
		map[string]string{"downstream": "downstream", "upstream": "upstream", "both": "either way"}[out.Direction])
	tw := newTable(w)
	fmt.Fprintln(tw, "  STEP\tEDGE\tREF\tSTATUS")
	for i, n := range out.Nodes {
		edge := "-"
		if i > 0 {
			rel := out.Edges[i-1].Relation
			edge = "--" + rel + "-->"
			if out.flow(i) == flowUp {
				edge = "<--" + rel + "--"
			}
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", n.Step, edge, n.Ref, orDash(n.Status))
	}
	return tw.Flush()
}
