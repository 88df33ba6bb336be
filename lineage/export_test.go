package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestExportGolden writes walks of the fixture in every format and compares
// them with testdata/<case>/graph.{dot,mmd,json}. Run
// go test ./lineage/ -run TestExportGolden -update to rewrite them.
func TestExportGolden(t *testing.T) {
	db := mustFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		starts []int64
		opts   Options
	}{
		// Everything but the orphan, with census's name full of quotes,
		// markup, #, |, a backslash, a backtick and a newline.
		{"full", []int64{1, 4, 6}, Options{Direction: Downstream}},
		// The second page of three: total, next and only the edges among
		// the page's nodes.
		{"page", []int64{1, 4, 6}, Options{Direction: Downstream, After: &Cursor{Depth: 1, Seq: 3}, Limit: 3}},
		{"empty", []int64{1}, Options{Direction: Downstream, Types: []string{"no_such_type"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Walk(ctx, on(db), tc.starts, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				file  string
				write func(*Graph, *bytes.Buffer) error
			}{
				{"graph.dot", func(g *Graph, b *bytes.Buffer) error { return g.WriteDOT(b) }},
				{"graph.mmd", func(g *Graph, b *bytes.Buffer) error { return g.WriteMermaid(b) }},
				{"graph.json", func(g *Graph, b *bytes.Buffer) error { return g.WriteJSON(b) }},
			} {
				var b bytes.Buffer
				if err := f.write(g, &b); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", tc.name, f.file), b.Bytes())
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestExportJSONRoundTrip checks that the JSON export decodes to what was
// walked, names with special characters included.
func TestExportJSONRoundTrip(t *testing.T) {
	db := mustFixture(t)
	g, err := Walk(context.Background(), on(db), []int64{4}, Options{Direction: Downstream, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := g.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Nodes []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Version *int   `json:"version"`
			Depth   int    `json:"depth"`
			Ref     string `json:"ref"`
		} `json:"nodes"`
		Edges []struct {
			Src, Dst, Relation string
		} `json:"edges"`
		Total int     `json:"total"`
		Next  *string `json:"next"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 2 || got.Nodes[0].Name != g.Nodes[0].Name || got.Nodes[1].Ref != g.Nodes[1].Ref() ||
		got.Nodes[0].Version != nil || *got.Nodes[1].Version != 1 || got.Nodes[1].Depth != 1 {
		t.Errorf("nodes = %+v", got.Nodes)
	}
	if len(got.Edges) != 1 || got.Edges[0].Src != g.Nodes[0].ID || got.Edges[0].Dst != g.Nodes[1].ID || got.Edges[0].Relation != "version" {
		t.Errorf("edges = %+v", got.Edges)
	}
	if got.Total != 6 || got.Next == nil || *got.Next != g.Next.String() {
		t.Errorf("total %d next %v", got.Total, got.Next)
	}
}

func TestExportEscaping(t *testing.T) {
	for _, tc := range []struct {
		in, dot, mermaid string
	}{
		{"plain/name@3", `"plain/name@3"`, "plain/name@3"},
		{`say "hi"`, `"say \"hi\""`, "say #quot;hi#quot;"},
		{`a\b\n\N`, `"a\\b\\n\\N"`, `a\b\n\N`},
		{"two\nlines\r\n", `"two\nlines\n"`, "two<br>lines<br>"},
		{"tab\there\x00\x7f", `"tab here  "`, "tab here  "},
		{"<b>&amp;</b> #1; `md` a|b", `"<b>&amp;</b> #1; ` + "`md`" + ` a|b"`, "#lt;b#gt;#amp;amp;#lt;/b#gt; #35;1; #96;md#96; a#124;b"},
		{"bad\xffutf8 ünï", "\"bad\uFFFDutf8 ünï\"", "bad\uFFFDutf8 ünï"},
		{"", `""`, ""},
	} {
		if got := dotString(tc.in); got != tc.dot {
			t.Errorf("dotString(%q) = %s, want %s", tc.in, got, tc.dot)
		}
		if got := mermaidText(tc.in); got != tc.mermaid {
			t.Errorf("mermaidText(%q) = %s, want %s", tc.in, got, tc.mermaid)
		}
	}
}

func TestExportErrors(t *testing.T) {
	for name, g := range map[string]*Graph{
		"ErrDanglingEdge":  {Nodes: []Node{{Seq: 1, ID: "a"}}, Edges: []Edge{{Src: 1, Dst: 2, Relation: "x"}}},
		"ErrDuplicateNode": {Nodes: []Node{{Seq: 1, ID: "a"}, {Seq: 1, ID: "a"}}},
	} {
		t.Run(name, func(t *testing.T) {
			for _, write := range []func(*bytes.Buffer) error{
				func(b *bytes.Buffer) error { return g.WriteDOT(b) },
				func(b *bytes.Buffer) error { return g.WriteMermaid(b) },
				func(b *bytes.Buffer) error { return g.WriteJSON(b) },
			} {
				var b bytes.Buffer
				if err := write(&b); !errors.Is(err, ErrInvalid) || b.Len() != 0 {
					t.Errorf("err = %v, wrote %q", err, b.String())
				}
			}
		})
	}
}

// TestExportDOTParses runs Graphviz on the DOT export of the fixture when
// dot is installed (apt-get install graphviz), and is skipped otherwise.
func TestExportDOTParses(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz dot is not installed")
	}
	db := mustFixture(t)
	g, err := Walk(context.Background(), on(db), []int64{1, 4, 6, 15}, Options{Direction: Downstream})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := g.WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dot, "-Tcanon")
	cmd.Stdin = &b
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dot: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(`census \"2020\" <eu> #1|a\\b`)) {
		t.Errorf("dot lost the escaped name:\n%s", out)
	}
}
