package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLineageSVG draws a lineage picture with the built-in Graphviz and
// checks that it is SVG with a box, coloured by type, for each resource.
func TestLineageSVG(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	out := filepath.Join(dir, "lineage.svg")
	r := runFixture(t, "lineage", "dataset_version/titanic_train@2", "--down", "--svg", out, "--db", db)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != "" || !strings.Contains(r.stderr, "Wrote "+out+" (8 resources, 8 edges)") {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	checkSVG(t, svg)
	for _, want := range []string{
		"dataset_version/titanic_train@2", "model_version/titanic_model@3", "prediction_job/batch&#45;2024&#45;05&#45;02",
		svgColors["model_version"], svgColors["experiment"], `stroke="#15803d"`, "winning_experiment",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the picture lacks %q", want)
		}
	}
	if n := strings.Count(svg, `class="node"`); n != 8 {
		t.Errorf("%d nodes drawn, want 8", n)
	}

	// --svg - writes the picture to stdout; with --format the text goes to
	// stdout and the picture to its file.
	r = runFixture(t, "lineage", "model/titanic_model", "--down", "--depth", "1", "--svg", "-", "--db", db)
	if r.code != exitOK {
		t.Fatalf("--svg -: exit %d: %s", r.code, r.stderr)
	}
	checkSVG(t, r.stdout)
	out2 := filepath.Join(dir, "l2.svg")
	r = runFixture(t, "lineage", "model/titanic_model", "--down", "--depth", "1", "--svg", out2, "--format", "mermaid", "--db", db)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "flowchart LR") {
		t.Fatalf("--svg with --format: exit %d, stdout %q", r.code, r.stdout)
	}
	if _, err := os.Stat(out2); err != nil {
		t.Error(err)
	}
}

// checkSVG fails unless s is well-formed XML with an svg root.
func checkSVG(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = false
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%.300s", err, s)
		}
		if el, ok := tok.(xml.StartElement); ok && root == "" {
			root = el.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
}
