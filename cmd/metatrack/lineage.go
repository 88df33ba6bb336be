package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-graphviz"
	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// Formats of lineage --format.
const (
	formatTree    = "tree"
	formatDOT     = "dot"
	formatMermaid = "mermaid"
	formatJSON    = "json"
)

var lineageFormats = []string{formatTree, formatDOT, formatMermaid, formatJSON}

func newLineageCmd(a *app) *cobra.Command {
	var (
		up, down, both bool
		depth          int
		format         string
		svg            string
	)
	cmd := &cobra.Command{
		Use:   "lineage <ref> [--up|--down|--both]",
		Short: "Show what a resource was made from (--up), what was made from it (--down), or both",
		Long: `lineage walks the lineage graph from one resource: --up to what it was made
from (a model version's dataset versions and model, a prediction job's model
version, ...), --down to what was made from it (the model versions trained
on a dataset version, their experiments, promotions and prediction jobs),
--both (the default, when no direction is given) to its whole
neighbourhood; --depth limits the number of steps (0: no limit).

--format picks the output:
  tree     an indented tree for the terminal (the default): each resource
           under the one it is reached from on a shortest path, with its
           status and the relation of the edge in parentheses; a resource
           reached again is marked "(see above)" and not expanded again
  dot      Graphviz DOT (render with: dot -Tsvg)
  mermaid  a Mermaid flowchart, for Markdown that GitHub or GitLab renders
  json     nodes (with their distance) and edges, the same as -o json

--svg FILE draws the graph into an SVG picture (colours by resource type,
deployed versions outlined, the start in bold) with a Graphviz built into
metatrack: no program needs to be installed. --svg - writes the picture to
stdout. With --svg, stdout gets the --format output only when --format is
given.`,
		Example: `  # what the deployed model was trained on
  metatrack lineage model_version/titanic_model@latest --up --db titanic.db

  # everything made from a dataset version, two steps deep, as a picture
  metatrack lineage dataset_version/titanic_train@2 --down --depth 2 --svg lineage.svg

  # for a README or a design document
  metatrack lineage prediction_job/batch-titanic_train-v3 --up --format mermaid > lineage.mmd
  metatrack lineage dataset/titanic_train --down --format dot | dot -Tpng > lineage.png`,
		Args:              exactArgs(1, "a resource id or reference"),
		ValidArgsFunction: a.completeRefs(1),
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
			formatSet := cmd.Flags().Changed("format")
			switch {
			case !formatSet && a.json():
				format = formatJSON
			case a.json() && format != formatJSON:
				return usageErrorf("-o json and --format %s contradict each other", format)
			case a.csv() && formatSet:
				return usageErrorf("-o csv lists the nodes; it cannot take --format %s too", format)
			case a.csv():
				format = outputCSV
			}
			if svg == "-" && (formatSet || a.json()) {
				return usageErrorf("--svg - writes the picture to stdout; it cannot take --format or -o json too")
			}
			if svg != "" && !formatSet && !a.json() {
				format = ""
			}
			return a.runLineage(cmd.Context(), args[0], dir, depth, format, svg)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&up, "up", false, "walk upstream: what the resource was made from")
	f.BoolVar(&down, "down", false, "walk downstream: what was made from the resource")
	f.BoolVar(&both, "both", false, "walk both ways")
	f.IntVar(&depth, "depth", 0, "at most this many steps (0: no limit)")
	enumFlag(cmd, &format, "format", formatTree, "output", lineageFormats, enumHints(map[string]string{
		"svg": "a picture is --svg FILE (--svg - writes it to stdout); --format is one of " + strings.Join(lineageFormats, ", "),
	}))
	f.StringVar(&svg, "svg", "", "also draw the graph into this SVG file ('-': stdout)")
	cmd.MarkFlagFilename("svg", "svg")
	return listing(cmd)
}

func (a *app) runLineage(ctx context.Context, ref string, dir lineage.Direction, depth int, format, svg string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	g, err := t.Lineage(ctx, []metatrack.Resource{r}, lineage.Options{Direction: dir, MaxDepth: depth})
	if err != nil {
		return err
	}
	if svg != "" {
		if err := a.writeSVG(ctx, g, svg); err != nil {
			return err
		}
	}
	switch format {
	case formatTree:
		return printTree(a.stdout, g, dir, depth)
	case formatDOT:
		return g.WriteDOT(a.stdout)
	case formatMermaid:
		return g.WriteMermaid(a.stdout)
	case formatJSON:
		return g.WriteJSON(a.stdout)
	case outputCSV:
		rows := make([]record, len(g.Nodes))
		for i, n := range g.Nodes {
			rows[i] = record{{"id", n.ID}, {"ref", n.Ref()}, {"type", n.Type}, {"name", n.Name},
				{"version", optInt(n.Version)}, {"status", n.Status}, {"depth", n.Depth}}
		}
		return a.writeCSV(rows)
	}
	return nil
}

// printTree writes g as an indented tree from its start: each node under
// the first node (in the graph's order) one step closer to the start that
// has an edge to it, with the relations of those edges.
func printTree(w io.Writer, g *lineage.Graph, dir lineage.Direction, depth int) error {
	if len(g.Nodes) == 0 {
		return nil
	}
	bySeq := make(map[int64]lineage.Node, len(g.Nodes))
	for _, n := range g.Nodes {
		bySeq[n.Seq] = n
	}
	// children[n] lists the nodes one step further from the start with an
	// edge to or from n (in the walk's direction), in the graph's order;
	// rels[n][c] the relations of those edges.
	children := map[int64][]int64{}
	rels := map[[2]int64][]string{}
	link := func(from, to int64, rel string) {
		f, okf := bySeq[from]
		t, okt := bySeq[to]
		if !okf || !okt || t.Depth != f.Depth+1 {
			return
		}
		k := [2]int64{from, to}
		if len(rels[k]) == 0 {
			children[from] = append(children[from], to)
		}
		if !slices.Contains(rels[k], rel) {
			rels[k] = append(rels[k], rel)
		}
	}
	for _, e := range g.Edges {
		if dir == lineage.Downstream || dir == lineage.Both {
			link(e.Src, e.Dst, e.Relation)
		}
		if dir == lineage.Upstream || dir == lineage.Both {
			link(e.Dst, e.Src, e.Relation)
		}
	}
	order := make(map[int64]int, len(g.Nodes))
	for i, n := range g.Nodes {
		order[n.Seq] = i
	}
	for _, cs := range children {
		slices.SortStableFunc(cs, func(x, y int64) int { return order[x] - order[y] })
	}

	label := func(n lineage.Node) string {
		if n.Status == "" {
			return n.Ref()
		}
		return n.Ref() + " [" + n.Status + "]"
	}
	expanded := map[int64]bool{}
	var walk func(seq int64, prefix string)
	walk = func(seq int64, prefix string) {
		expanded[seq] = true
		cs := children[seq]
		for i, c := range cs {
			branch, next := "├── ", "│   "
			if i == len(cs)-1 {
				branch, next = "└── ", "    "
			}
			line := prefix + branch + label(bySeq[c]) + " (" + strings.Join(rels[[2]int64{seq, c}], ", ") + ")"
			if expanded[c] {
				fmt.Fprintln(w, strings.TrimSuffix(line, ")")+"; see above)")
				continue
			}
			fmt.Fprintln(w, line)
			walk(c, prefix+next)
		}
	}
	for _, n := range g.Nodes {
		if n.Depth == 0 {
			fmt.Fprintln(w, label(n))
			walk(n.Seq, "")
		}
	}
	what := map[lineage.Direction]string{lineage.Upstream: "upstream", lineage.Downstream: "downstream", lineage.Both: "either way"}[dir]
	steps := "any number of steps"
	if depth > 0 {
		steps = "at most " + plural(depth, "step")
	}
	fmt.Fprintf(w, "\n%s and %s %s, %s.\n", plural(len(g.Nodes)-1, "resource"), plural(len(g.Edges), "edge"), what, steps)
	if g.Truncated {
		fmt.Fprintln(w, "The walk was cut short: the graph has more.")
	}
	return nil
}

// Fill colours of the SVG picture by resource type.
var svgColors = map[string]string{
	metatrack.TypeDataset:        "#dbeafe",
	metatrack.TypeDatasetVersion: "#bfdbfe",
	metatrack.TypeModel:          "#dcfce7",
	metatrack.TypeModelVersion:   "#bbf7d0",
	metatrack.TypeExperiment:     "#fef9c3",
	metatrack.TypePromotion:      "#f5d0fe",
	metatrack.TypePredictionJob:  "#fed7aa",
}

// writeSVG draws g into the file path ("-": stdout) with the Graphviz that
// go-graphviz runs in WebAssembly: its DOT, styled by resource type.
func (a *app) writeSVG(ctx context.Context, g *lineage.Graph, path string) error {
	var dot bytes.Buffer
	if err := g.WriteDOT(&dot); err != nil {
		return err
	}
	// Edge labels small and grey, in the nodes' font.
	src := strings.Replace(dot.String(), "\tnode [shape=box];\n",
		"\tnode [shape=box];\n\tedge [fontname=\"Helvetica\", fontsize=10, color=\"#6b7280\", fontcolor=\"#4b5563\"];\n", 1)
	gv, err := graphviz.New(ctx)
	if err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	defer gv.Close()
	graph, err := graphviz.ParseBytes([]byte(src))
	if err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	defer graph.Close()
	for _, n := range g.Nodes {
		node, err := graph.NodeByName(n.ID)
		if err != nil || node == nil {
			continue
		}
		fill, ok := svgColors[n.Type]
		if !ok {
			fill = "#f3f4f6"
		}
		// SafeSet declares each attribute, with Graphviz's default, on
		// first use; Set would fail on an undeclared one.
		node.SafeSet("style", "filled,rounded", "")
		node.SafeSet("fillcolor", fill, "lightgrey")
		node.SafeSet("fontname", "Helvetica", "Times-Roman")
		tip := n.Ref()
		if n.Status != "" {
			tip += " [" + n.Status + "]"
		}
		node.SafeSet("tooltip", tip, "")
		if n.Status == metatrack.StatusDeployed {
			node.SafeSet("color", "#15803d", "black")
			node.SafeSet("penwidth", "2.5", "1")
		}
		if n.Depth == 0 {
			node.SafeSet("penwidth", "3", "1")
		}
	}
	var out bytes.Buffer
	if err := gv.Render(ctx, graph, graphviz.SVG, &out); err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	if path == "-" {
		_, err := a.stdout.Write(out.Bytes())
		return err
	}
	if err := writeFileAtomic(path, out.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "Wrote %s (%s, %s).\n", path, plural(len(g.Nodes), "resource"), plural(len(g.Edges), "edge"))
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so that path never holds a partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
