package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot/vg"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
)

// Sizes of the charts of metrics --plot and --svg.
const (
	plotWidth, plotHeight = 64, 14
	svgWidth, svgHeight   = 8 * vg.Inch, 5 * vg.Inch
	// chartPoints is how many points a chart asks for at most: longer
	// series come downsampled (each bucket's min, max and last), which
	// keeps every peak and trough.
	chartPoints = 1500
)

type metricsFlags struct {
	query     string
	limit     int
	history   bool
	plot      bool
	svg       string
	maxPoints int
}

func newMetricsCmd(a *app) *cobra.Command {
	var f metricsFlags
	cmd := &cobra.Command{
		Use:   "metrics <ref> [<key>...] | metrics --query <query> <key>...",
		Short: "Show metric series: summaries, --history points, --plot or --svg charts",
		Long: `metrics shows the metric series of a resource (LogMetric, LogMetrics): for each
key its last value and step, its lowest and highest value and its number of
points; with keys, only those.

--history lists the points (step, value, time) in step order instead;
--max-points N thins a long series to at most N points that keep each
bucket's lowest, highest and last value.

--plot draws the series as a chart in the terminal; --svg FILE draws it
into an SVG picture with labelled axes (--svg - writes it to stdout). A
chart shows one key per resource: name it, or the resource must have one
series.

--query compares resources instead of one: the series of one key of each
result (at most --limit) are overlaid in one chart, or listed one after
another. Values that are NaN or infinite are kept in tables and JSON
("NaN", "Inf", "-Inf") and left out of charts.`,
		Example: `  metatrack metrics model_version/titanic_model@3/experiment/trial-1 --db titanic.db
  metatrack metrics model_version/titanic_model@3/experiment/trial-1 valid_loss --history -o csv > loss.csv
  metatrack metrics model_version/titanic_model@3/experiment/trial-1 loss valid_loss --plot
  metatrack metrics --query "type = 'experiment' AND parent = 'model_version/titanic_model@3'" valid_loss
  metatrack metrics --query "type = 'experiment' AND parent = 'model_version/titanic_model@3'" valid_loss --svg curves.svg`,
		ValidArgsFunction: a.completeMetricArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case f.query == "" && len(args) == 0:
				return usageErrorf("metrics needs a reference, or --query and a key")
			case f.query != "" && len(args) == 0 && (f.plot || f.svg != "" || f.history):
				return usageErrorf("with --query, name the key to show: metrics --query '...' loss")
			case f.plot && f.svg != "":
				return usageErrorf("give --plot or --svg, not both")
			case (f.plot || f.svg != "") && f.history:
				return usageErrorf("--history lists points; a chart is --plot or --svg without it")
			case (f.plot || f.svg == "-") && a.output != outputTable:
				return usageErrorf("a chart on stdout cannot be -o %s too", a.output)
			case f.maxPoints < 0 || f.maxPoints > 0 && f.maxPoints < 3:
				return usageErrorf("--max-points must be 0 (all) or at least 3, not %d", f.maxPoints)
			case f.limit < 1 || f.limit > maxCompared:
				return usageErrorf("--limit must be between 1 and %d, not %d", maxCompared, f.limit)
			}
			return a.runMetrics(cmd.Context(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.query, "query", "", "the series of the results of this query instead of one resource")
	fl.IntVar(&f.limit, "limit", 20, "with --query, at most this many results")
	fl.BoolVar(&f.history, "history", false, "list the points instead of the summaries")
	fl.BoolVar(&f.plot, "plot", false, "draw the series as a chart in the terminal")
	fl.StringVar(&f.svg, "svg", "", "draw the series into this SVG file ('-': stdout)")
	fl.IntVar(&f.maxPoints, "max-points", 0, "with --history, thin each series to at most this many points (0: all)")
	cmd.MarkFlagFilename("svg", "svg")
	return listing(cmd)
}

// metricsJSON is the -o json document of metrics: Metrics without
// --history, Series with it.
type metricsJSON struct {
	Query   *string            `json:"query"`
	Metrics []metricJSON       `json:"metrics,omitempty"`
	Series  []metricSeriesJSON `json:"series,omitempty"`
}

// metricJSON is the summary of one series; values that are NaN or
// infinite are the strings "NaN", "Inf", "-Inf".
type metricJSON struct {
	Resource resourceRefJSON `json:"resource"`
	Key      string          `json:"key"`
	metricAtJSON
}

// metricSeriesJSON is the points of one series.
type metricSeriesJSON struct {
	Resource resourceRefJSON   `json:"resource"`
	Key      string            `json:"key"`
	Points   []metricPointJSON `json:"points"`
}

type metricPointJSON struct {
	Step  int64     `json:"step"`
	Value any       `json:"value"`
	Time  time.Time `json:"time"`
}

func (a *app) runMetrics(ctx context.Context, args []string, f metricsFlags) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	var res []metatrack.Resource
	keys := args
	if f.query != "" {
		if err := a.warnQuery(ctx, t, f.query); err != nil {
			return err
		}
		page, err := t.Search(ctx, f.query, metatrack.WithPageSize(f.limit))
		if err != nil {
			return err
		}
		res = page.Resources
	} else {
		r, err := a.resolve(ctx, t, args[0])
		if err != nil {
			return err
		}
		res, keys = []metatrack.Resource{r}, args[1:]
	}
	sums := make([][]metatrack.MetricSummary, len(res))
	for i, r := range res {
		all, err := t.Metrics(ctx, r)
		if err != nil {
			return err
		}
		sums[i] = pickSummaries(all, keys)
	}
	if f.query == "" && len(keys) > 0 && len(sums[0]) < len(keys) {
		all, err := t.Metrics(ctx, res[0])
		if err != nil {
			return err
		}
		return missingKey(res[0], sums[0], keys, summaryKeys(all))
	}
	out := metricsJSON{Query: optString(f.query)}
	if !f.history && !f.plot && f.svg == "" {
		out.Metrics = []metricJSON{}
		for i, r := range res {
			for _, s := range sums[i] {
				out.Metrics = append(out.Metrics, metricJSON{Resource: *refJSON(r), Key: s.Key, metricAtJSON: toMetricAtJSON(s)})
			}
		}
		switch {
		case a.json():
			return a.writeJSON(out)
		case a.csv():
			return a.writeCSV(out.Metrics)
		}
		return printMetrics(a.stdout, out.Metrics, f.query != "")
	}

	// The points: one series per resource and key.
	maxPoints := f.maxPoints
	if f.plot || f.svg != "" {
		maxPoints = chartPoints
		if len(res) > 1 && len(keys) != 1 || f.query != "" && len(keys) != 1 {
			return usageErrorf("a chart of several resources shows one key, not %d", len(keys))
		}
	}
	var opts []metatrack.MetricHistoryOption
	if maxPoints > 0 {
		opts = append(opts, metatrack.WithMaxPoints(maxPoints))
	}
	out.Series = []metricSeriesJSON{}
	var series []chartSeries
	for i, r := range res {
		for _, s := range sums[i] {
			pts, err := t.MetricHistory(ctx, r, s.Key, opts...)
			if err != nil {
				return err
			}
			sj := metricSeriesJSON{Resource: *refJSON(r), Key: s.Key, Points: make([]metricPointJSON, len(pts))}
			cs := chartSeries{Label: s.Key}
			if len(res) > 1 {
				cs.Label = r.Ref()
			}
			for j, p := range pts {
				sj.Points[j] = metricPointJSON{Step: p.Step, Value: finite(p.Value), Time: p.Time.UTC()}
				cs.Steps = append(cs.Steps, p.Step)
				cs.Values = append(cs.Values, p.Value)
			}
			out.Series = append(out.Series, sj)
			series = append(series, cs)
		}
	}
	if f.plot || f.svg != "" {
		if len(series) == 0 {
			return fmt.Errorf("nothing to draw: %s", noSeries(res, keys))
		}
		if len(series) > 1 && len(res) == 1 && len(keys) == 0 {
			return usageErrorf("%s has %d series (%s): name the key to draw", res[0].Ref(), len(series), strings.Join(summaryKeys(sums[0]), ", "))
		}
		return a.drawMetrics(res, keys, series, f)
	}
	switch {
	case a.json():
		return a.writeJSON(out)
	case a.csv():
		var rows []record
		for _, s := range out.Series {
			for _, p := range s.Points {
				rows = append(rows, record{{"id", s.Resource.ID}, {"ref", s.Resource.Ref}, {"key", s.Key},
					{"step", p.Step}, {"value", p.Value}, {"time", p.Time}})
			}
		}
		return a.writeCSV(rows, "id", "ref", "key", "step", "value", "time")
	}
	return printMetricHistory(a.stdout, out.Series)
}

// pickSummaries returns the summaries of keys among all, in the order of
// keys; every summary without keys.
func pickSummaries(all []metatrack.MetricSummary, keys []string) []metatrack.MetricSummary {
	if len(keys) == 0 {
		return all
	}
	var out []metatrack.MetricSummary
	for _, k := range keys {
		for _, s := range all {
			if s.Key == k {
				out = append(out, s)
			}
		}
	}
	return out
}

func summaryKeys(sums []metatrack.MetricSummary) []string {
	keys := make([]string, len(sums))
	for i, s := range sums {
		keys[i] = s.Key
	}
	return keys
}

// missingKey is the error for a key that r has no series of.
// all are the keys r has, for a "did you mean" hint.
func missingKey(r metatrack.Resource, have []metatrack.MetricSummary, keys, all []string) error {
	got := map[string]bool{}
	for _, s := range have {
		got[s.Key] = true
	}
	for _, k := range keys {
		if got[k] {
			continue
		}
		switch near := query.Nearest(k, all); {
		case near != "":
			return fmt.Errorf("%s has no metric %q; did you mean %q?", r.Ref(), k, near)
		case len(all) > 0:
			return fmt.Errorf("%s has no metric %q (it has %s)", r.Ref(), k, strings.Join(all, ", "))
		}
		return fmt.Errorf("%s has no metric %q; it has no metric series", r.Ref(), k)
	}
	return nil
}

func noSeries(res []metatrack.Resource, keys []string) string {
	what := "no metric series"
	if len(keys) > 0 {
		what = "no series " + strings.Join(keys, ", ")
	}
	if len(res) == 1 {
		return res[0].Ref() + " has " + what
	}
	return fmt.Sprintf("%s among %s", what, plural(len(res), "resource"))
}

func toMetricAtJSON(s metatrack.MetricSummary) metricAtJSON {
	return metricAtJSON{Last: finite(s.Last), LastStep: s.LastStep, LastTime: s.LastTime.UTC(),
		Min: finite(s.Min), Max: finite(s.Max), Count: s.Count}
}

// drawMetrics draws series as --plot or --svg ask: one series; several
// keys of one resource; or one key (keys[0]) of several resources, each
// series labelled by its resource.
func (a *app) drawMetrics(res []metatrack.Resource, keys []string, series []chartSeries, f metricsFlags) error {
	key := series[0].Label
	title := res[0].Ref() + ": " + key
	switch {
	case len(res) > 1:
		key, title = keys[0], keys[0]+" of "+plural(len(series), "resource")
		// Legends without the references' common start (the parent), which
		// the title names instead.
		if prefix := commonRefPrefix(series); prefix != "" {
			for i := range series {
				series[i].Label = strings.TrimPrefix(series[i].Label, prefix)
			}
			title = keys[0] + " of " + prefix + "*"
		}
	case len(series) > 1:
		key, title = "value", res[0].Ref()
	}
	if f.plot {
		return writeTerminalChart(a.stdout, title+" by step", series, plotWidth, plotHeight, terminal(a.stdout))
	}
	if f.svg == "-" {
		return writeSVGChart(a.stdout, title, "step", key, series, svgWidth, svgHeight)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.svg), ".metatrack-chart-*.svg")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := writeSVGChart(tmp, title, "step", key, series, svgWidth, svgHeight); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), f.svg); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "wrote %s\n", f.svg)
	return nil
}

func printMetrics(w io.Writer, ms []metricJSON, many bool) error {
	if len(ms) == 0 {
		fmt.Fprintln(w, "No metric series.")
		return nil
	}
	tw := newTable(w)
	if many {
		fmt.Fprint(tw, "REF\t")
	}
	fmt.Fprintln(tw, "KEY\tLAST\tSTEP\tMIN\tMAX\tPOINTS\tLAST TIME (UTC)")
	for _, m := range ms {
		if many {
			fmt.Fprintf(tw, "%s\t", m.Resource.Ref)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", m.Key, metricValue(m.Last), m.LastStep,
			metricValue(m.Min), metricValue(m.Max), m.Count, tableTime(m.LastTime))
	}
	return tw.Flush()
}

func printMetricHistory(w io.Writer, series []metricSeriesJSON) error {
	if len(series) == 0 {
		fmt.Fprintln(w, "No metric series.")
		return nil
	}
	for i, s := range series {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s %s: %s\n", s.Resource.Ref, s.Key, plural(len(s.Points), "point"))
		tw := newTable(w)
		fmt.Fprintln(tw, "  STEP\tVALUE\tTIME (UTC)")
		for _, p := range s.Points {
			fmt.Fprintf(tw, "  %d\t%s\t%s\n", p.Step, metricValue(p.Value), p.Time.UTC().Format("2006-01-02 15:04:05.000"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// metricValue shows a metric value (a float64, or the string naming a
// non-finite one) in a table: at most 6 significant digits.
func metricValue(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', 6, 64)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// commonRefPrefix returns the longest start, ending in a slash, that the
// labels of all series share and that leaves each a name.
func commonRefPrefix(series []chartSeries) string {
	prefix := series[0].Label
	for _, s := range series[1:] {
		for !strings.HasPrefix(s.Label, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return ""
	}
	prefix = prefix[:i+1]
	for _, s := range series {
		if s.Label == prefix {
			return ""
		}
	}
	return prefix
}
