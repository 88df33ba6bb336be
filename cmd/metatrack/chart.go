package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/guptarohit/asciigraph"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts of metric series. The terminal chart is drawn by asciigraph
// (github.com/guptarohit/asciigraph: no dependencies, axes, legends, many
// series), the SVG by gonum/plot (gonum.org/v1/plot: labelled axes, ticks,
// legends, pure Go). Both take the same series.

// chartSeries is one curve of a chart: a label for the legend and its
// points in step order.
type chartSeries struct {
	Label  string
	Steps  []int64
	Values []float64
}

// finite returns the points of s with finite values: NaN and infinities
// cannot be drawn, and are left out of the chart (the tables show them).
func (s chartSeries) finite() (steps []float64, values []float64) {
	for i, v := range s.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			steps = append(steps, float64(s.Steps[i]))
			values = append(values, v)
		}
	}
	return steps, values
}

// stepRange returns the smallest and largest step of the finite points
// of all series; ok is false when there are none.
func stepRange(series []chartSeries) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		steps, _ := s.finite()
		for _, x := range steps {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return lo, hi, lo <= hi
}

// errNothingToDraw is returned for series without a finite point.
var errNothingToDraw = fmt.Errorf("nothing to draw: no finite values")

// seriesMarks tell series apart in a terminal chart without colours.
var seriesMarks = []string{"*", "+", "o", "x", "#", "@", "%", "="}

// writeTerminalChart draws the series into w as text, width columns by
// height rows plus axes, with the steps on the x axis and, for several
// series, a legend. Each series is sampled at width evenly spaced steps of
// the common range (its last value at or before each, nothing outside its
// own range), so that series of different lengths line up. With color the
// series are told apart by ANSI colours (for a terminal), else by the
// character they are drawn with.
func writeTerminalChart(w io.Writer, caption string, series []chartSeries, width, height int, color bool) error {
	lo, hi, ok := stepRange(series)
	if !ok {
		return errNothingToDraw
	}
	if hi == lo {
		width = 1
	}
	data := make([][]float64, len(series))
	for i, s := range series {
		steps, values := s.finite()
		data[i] = make([]float64, width)
		j := 0
		for c := range width {
			x := lo
			if width > 1 {
				x = lo + (hi-lo)*float64(c)/float64(width-1)
			}
			for j < len(steps) && steps[j] <= x {
				j++
			}
			if j == 0 || len(steps) == 0 || x > steps[len(steps)-1] {
				data[i][c] = math.NaN()
			} else {
				data[i][c] = values[j-1]
			}
		}
	}
	// Labels precise enough to tell rows and ticks apart.
	vlo, vhi := math.Inf(1), math.Inf(-1)
	for _, d := range data {
		for _, v := range d {
			if !math.IsNaN(v) {
				vlo, vhi = min(vlo, v), max(vhi, v)
			}
		}
	}
	precision := 2
	if step := (vhi - vlo) / float64(height); step > 0 {
		precision = max(precision, min(10, int(math.Ceil(-math.Log10(step)))+1))
	}
	xRound := 1.0
	if hi-lo < 20 {
		xRound = 10
	}
	opts := []asciigraph.Option{asciigraph.Height(height), asciigraph.Caption(caption), asciigraph.Precision(uint(precision)),
		asciigraph.XAxisRange(lo, hi), asciigraph.XAxisValueFormatter(func(v float64) string {
			return strconv.FormatFloat(math.Round(v*xRound)/xRound, 'f', -1, 64)
		})}
	if width > 1 {
		opts = append(opts, asciigraph.Width(width))
	}
	var legend []string
	if len(series) > 1 && color {
		colors := []asciigraph.AnsiColor{asciigraph.Blue, asciigraph.Red, asciigraph.Green, asciigraph.Yellow,
			asciigraph.Magenta, asciigraph.Cyan}
		var legends []string
		var cs []asciigraph.AnsiColor
		for i, s := range series {
			legends = append(legends, s.Label)
			cs = append(cs, colors[i%len(colors)])
		}
		opts = append(opts, asciigraph.SeriesLegends(legends...), asciigraph.SeriesColors(cs...))
	} else if len(series) > 1 {
		var chars []asciigraph.CharSet
		for i, s := range series {
			mark := seriesMarks[i%len(seriesMarks)]
			chars = append(chars, asciigraph.CreateCharSet(mark))
			legend = append(legend, mark+" "+s.Label)
		}
		opts = append(opts, asciigraph.SeriesChars(chars...))
	}
	out := strings.TrimRight(asciigraph.PlotMany(data, opts...), "\n")
	if len(legend) > 0 {
		out += "\n\n" + strings.Join(legend, "   ")
	}
	_, err := fmt.Fprintln(w, out)
	return err
}

// writeSVGChart draws the series into w as an SVG picture of width by
// height: one line each, the x axis labelled xLabel, the y axis yLabel, a
// legend naming each series when there are several.
func writeSVGChart(w io.Writer, title, xLabel, yLabel string, series []chartSeries, width, height vg.Length) error {
	if _, _, ok := stepRange(series); !ok {
		return errNothingToDraw
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for i, s := range series {
		steps, values := s.finite()
		if len(steps) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(steps))
		for j := range steps {
			xys[j].X, xys[j].Y = steps[j], values[j]
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		if len(series) > 1 {
			p.Legend.Add(s.Label, line)
		}
	}
	c := vgsvg.NewWith(vgsvg.UseWH(width, height), vgsvg.EmbedFonts(false))
	p.Draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}
