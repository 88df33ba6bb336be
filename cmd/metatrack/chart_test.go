package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

func curve(label string, n int, f func(i int) float64) chartSeries {
	s := chartSeries{Label: label}
	for i := 1; i <= n; i++ {
		s.Steps = append(s.Steps, int64(i))
		s.Values = append(s.Values, f(i))
	}
	return s
}

func TestSVGChart(t *testing.T) {
	loss := curve("trial-1", 50, func(i int) float64 { return 1 / float64(i) })
	other := curve("trial-2", 30, func(i int) float64 { return 2 / float64(i) })
	other.Values[3] = math.NaN() // left out, not an error
	var b bytes.Buffer
	if err := writeSVGChart(&b, "loss", "step", "loss", []chartSeries{loss, other}, 6*vg.Inch, 4*vg.Inch); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, an svg root, the axis labels and both legends.
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	var root string
	var texts []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"step", "loss", "trial-1", "trial-2"} {
		if !strings.Contains("|"+joined+"|", "|"+want+"|") {
			t.Errorf("SVG text %q lacks %q", joined, want)
		}
	}
	// Two polylines' worth of path data: the series are drawn.
	if n := strings.Count(b.String(), "<path"); n < 2 {
		t.Errorf("SVG has %d paths", n)
	}
	err := writeSVGChart(io.Discard, "", "step", "x", []chartSeries{curve("nan", 3, func(int) float64 { return math.Inf(1) })}, vg.Inch, vg.Inch)
	if !errors.Is(err, errNothingToDraw) {
		t.Errorf("all-infinite series: %v, want errNothingToDraw", err)
	}
}

func TestTerminalChart(t *testing.T) {
	var b bytes.Buffer
	down := curve("a", 100, func(i int) float64 { return 100 - float64(i) })
	up := curve("b", 40, func(i int) float64 { return float64(i) })
	if err := writeTerminalChart(&b, "loss by step", []chartSeries{down, up}, 60, 10, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 10 {
		t.Fatalf("chart has %d lines:\n%s", len(lines), out)
	}
	for _, want := range []string{"loss by step", "99", "100", "* a", "+ b"} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("chart without colour has escape codes:\n%q", out)
	}
	// With colour, the legend names the series in colour.
	b.Reset()
	if err := writeTerminalChart(&b, "", []chartSeries{down, up}, 60, 10, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[") || !strings.Contains(b.String(), "■") {
		t.Errorf("chart with colour:\n%s", b.String())
	}
	// One point only still draws.
	b.Reset()
	if err := writeTerminalChart(&b, "", []chartSeries{curve("one", 1, func(int) float64 { return 3 })}, 60, 5, false); err != nil {
		t.Fatal(err)
	}
	if err := writeTerminalChart(io.Discard, "", nil, 60, 5, false); !errors.Is(err, errNothingToDraw) {
		t.Errorf("no series: %v", err)
	}
}
