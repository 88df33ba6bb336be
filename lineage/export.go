package lineage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Exports label every node with its Ref (model_version/titanic@3,
// dataset/titanic) and every edge with its relation. Names are user text:
// each format escapes them so that quotes, backslashes, newlines, markup and
// invalid UTF-8 cannot break the output. The output of a graph is the same
// byte for byte on every call.

// WriteDOT writes g as a Graphviz digraph, data flowing left to right. Node
// identifiers are the resource ids.
func (g *Graph) WriteDOT(w io.Writer) error {
	ids, err := g.index()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("digraph lineage {\n\trankdir=LR;\n\tnode [shape=box];\n")
	for _, n := range g.Nodes {
		fmt.Fprintf(bw, "\t%s [label=%s];\n", dotString(dotID(n)), dotString(n.Ref()))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(bw, "\t%s -> %s [label=%s];\n",
			dotString(dotID(g.Nodes[ids[e.Src]])), dotString(dotID(g.Nodes[ids[e.Dst]])), dotString(e.Relation))
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// WriteMermaid writes g as a Mermaid flowchart, data flowing left to right.
// Mermaid identifiers cannot be quoted, so nodes are named n0, n1, ... in
// the order of g.Nodes; the labels carry the refs.
func (g *Graph) WriteMermaid(w io.Writer) error {
	ids, err := g.index()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("flowchart LR\n")
	for i, n := range g.Nodes {
		fmt.Fprintf(bw, "    n%d[\"%s\"]\n", i, mermaidText(n.Ref()))
	}
	for _, e := range g.Edges {
		fmt.Fprintf(bw, "    n%d -->|\"%s\"| n%d\n", ids[e.Src], mermaidText(e.Relation), ids[e.Dst])
	}
	return bw.Flush()
}

// WriteJSON writes g as one indented JSON object:
//
//	{
//	  "nodes": [{"id", "type", "name", "version" (null when none),
//	             "status", "depth", "ref"}, ...],
//	  "edges": [{"src", "dst", "relation"}, ...],   // src and dst are ids
//	  "total": 12, "truncated": false,
//	  "next": "2.1045"                              // or null on the last page
//	}
//
// The field names are a stable format: new fields may be added, none renamed.
// Nodes are identified by their ids; internal seqs are not written but in
// the opaque next cursor, to pass back through ParseCursor.
func (g *Graph) WriteJSON(w io.Writer) error {
	ids, err := g.index()
	if err != nil {
		return err
	}
	out := jsonGraph{Nodes: make([]jsonNode, len(g.Nodes)), Edges: make([]jsonEdge, len(g.Edges)), Total: g.Total, Truncated: g.Truncated}
	for i, n := range g.Nodes {
		out.Nodes[i] = jsonNode{ID: n.ID, Type: n.Type, Name: n.Name, Status: n.Status, Depth: n.Depth, Ref: n.Ref()}
		if n.Version != 0 {
			v := n.Version
			out.Nodes[i].Version = &v
		}
	}
	for i, e := range g.Edges {
		out.Edges[i] = jsonEdge{Src: g.Nodes[ids[e.Src]].ID, Dst: g.Nodes[ids[e.Dst]].ID, Relation: e.Relation}
	}
	if g.Next != nil {
		s := g.Next.String()
		out.Next = &s
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type jsonGraph struct {
	Nodes     []jsonNode `json:"nodes"`
	Edges     []jsonEdge `json:"edges"`
	Total     int        `json:"total"`
	Truncated bool       `json:"truncated"`
	Next      *string    `json:"next"`
}

type jsonNode struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version *int   `json:"version"`
	Status  string `json:"status"`
	Depth   int    `json:"depth"`
	Ref     string `json:"ref"`
}

type jsonEdge struct {
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Relation string `json:"relation"`
}

// index maps the seq of each node to its position, and checks that every
// edge joins two of the nodes.
func (g *Graph) index() (map[int64]int, error) {
	ids := make(map[int64]int, len(g.Nodes))
	for i, n := range g.Nodes {
		if _, dup := ids[n.Seq]; dup {
			return nil, fmt.Errorf("%w: graph holds resource seq %d twice", ErrInvalid, n.Seq)
		}
		ids[n.Seq] = i
	}
	for _, e := range g.Edges {
		for _, s := range []int64{e.Src, e.Dst} {
			if _, ok := ids[s]; !ok {
				return nil, fmt.Errorf("%w: edge %d -%s-> %d names resource seq %d, which is not a node of the graph", ErrInvalid, e.Src, e.Relation, e.Dst, s)
			}
		}
	}
	return ids, nil
}

// dotID is the DOT identifier of n: its id, or its seq when it has none
// (a graph built by hand).
func dotID(n Node) string {
	if n.ID == "" {
		return "seq:" + strconv.FormatInt(n.Seq, 10)
	}
	return n.ID
}

// dotString quotes s as a DOT string. Inside quotes only the quote needs an
// escape, but Graphviz gives backslash sequences meaning in labels (\n, \l,
// \N, ...), so a backslash is doubled too. A newline becomes the label line
// break \n, other control characters a space.
func dotString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// mermaidText escapes s for a double-quoted Mermaid label. Mermaid has no
// backslash escapes; it decodes entity codes written #name; or #number;, so
// the quote, the # that starts an entity, HTML markup characters, the
// backtick (a label opening with one is markdown) and the pipe that closes
// an edge label are written as entity codes. A newline becomes <br>, other
// control characters a space.
func mermaidText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch r {
		case '"':
			b.WriteString("#quot;")
		case '#':
			b.WriteString("#35;")
		case '<':
			b.WriteString("#lt;")
		case '>':
			b.WriteString("#gt;")
		case '&':
			b.WriteString("#amp;")
		case '`':
			b.WriteString("#96;")
		case '|':
			b.WriteString("#124;")
		case '\n':
			b.WriteString("<br>")
		case '\r':
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteByte(' ')
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
