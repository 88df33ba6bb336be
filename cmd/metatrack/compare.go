package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

// maxCompared is how many resources compare puts side by side.
const maxCompared = 1000

func newCompareCmd(a *app) *cobra.Command {
	var (
		q     string
		limit int
		diff  bool
	)
	cmd := &cobra.Command{
		Use:   "compare <ref> <ref>... | compare --query <query>",
		Short: "Put resources side by side: attributes, tags, metadata and metric summaries, rows that differ marked",
		Long: `compare shows several resources side by side, one column each: their type
and status, then every attribute (attrs.*), tag (tags.*) and metadata value
(metadata.*) any of them has, one row each, sorted by key, and for every
metric series (metrics.<key>) its last value, the step of that value, its
lowest and highest value and its number of points. A row whose
values are not all the same is marked with * in the first column; --diff
keeps only those. A resource without a key shows -.

The resources are the references given, in that order, or the results of
--query (a query as 'metatrack ls' takes it, ORDER BY included), at most
--limit of them. Everything is read in one search, not one call per
resource.

-o json has the resources and, for each field, whether it differs and the
values in the resources' order (null where a resource has none); -o csv has
one record per field, one column per resource.`,
		Example: `  metatrack compare model_version/titanic_model@3/experiment/trial-1 model_version/titanic_model@3/experiment/trial-2 --db titanic.db
  metatrack compare --query "type = 'experiment' AND parent = 'model_version/titanic_model@3'" --diff
  metatrack compare --query "type = 'model_version' ORDER BY metadata.test_auc DESC" --limit 3 -o csv`,
		ValidArgsFunction: a.completeRefsAfter(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case q != "" && len(args) > 0:
				return usageErrorf("give references or --query, not both")
			case q == "" && len(args) == 0:
				return usageErrorf("compare needs references or --query")
			case limit < 1 || limit > maxCompared:
				return usageErrorf("--limit must be between 1 and %d, not %d", maxCompared, limit)
			case len(args) > maxCompared:
				return usageErrorf("compare takes at most %d references, got %d", maxCompared, len(args))
			}
			return a.runCompare(cmd.Context(), args, q, limit, diff)
		},
	}
	f := cmd.Flags()
	f.StringVar(&q, "query", "", "compare the results of this query instead of references")
	f.IntVar(&limit, "limit", 20, "with --query, compare at most this many results")
	f.BoolVar(&diff, "diff", false, "show only the rows whose values differ")
	return listing(cmd)
}

// compareJSON is the -o json document of compare.
type compareJSON struct {
	Query     *string            `json:"query"`
	Resources []resourceRefJSON  `json:"resources"`
	Fields    []compareFieldJSON `json:"fields"`
}

// compareFieldJSON is one row of compare: a field and its value in each
// resource, in the order of Resources (null where a resource has none).
type compareFieldJSON struct {
	Field   string `json:"field"`
	Differs bool   `json:"differs"`
	Values  []any  `json:"values"`
}

func (a *app) runCompare(ctx context.Context, refs []string, q string, limit int, diff bool) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	columns := compareColumns
	var rows []metatrack.Row
	if q != "" {
		if err := a.warnQuery(ctx, t, q); err != nil {
			return err
		}
		page, err := t.Search(ctx, q, metatrack.WithPageSize(limit), metatrack.WithColumns(columns...))
		if err != nil {
			return err
		}
		rows = page.Rows
	} else {
		var res []metatrack.Resource
		for _, ref := range refs {
			r, err := a.resolve(ctx, t, ref)
			if err != nil {
				return err
			}
			res = append(res, r)
		}
		if rows, err = rowsOf(ctx, t, res, columns...); err != nil {
			return err
		}
	}
	out := compareJSON{Resources: []resourceRefJSON{}, Fields: []compareFieldJSON{}, Query: optString(q)}
	for _, r := range rows {
		out.Resources = append(out.Resources, *refJSON(r.Resource))
	}
	for _, f := range compareFields(rows) {
		if diff && !f.Differs {
			continue
		}
		out.Fields = append(out.Fields, f)
	}
	switch {
	case a.json():
		return a.writeJSON(out)
	case a.csv():
		recs := make([]record, len(out.Fields))
		for i, f := range out.Fields {
			recs[i] = record{{"field", f.Field}, {"differs", f.Differs}}
			for j, r := range out.Resources {
				recs[i] = append(recs[i], recordField{r.Ref, jsonText(f.Values[j])})
			}
		}
		header := []string{"field", "differs"}
		for _, r := range out.Resources {
			header = append(header, r.Ref)
		}
		return a.writeCSV(recs, header...)
	}
	return printCompare(a.stdout, out, diff)
}

// compareColumns are what compare reads of each resource.
var compareColumns = []string{"tags.*", "metadata.*", "metrics.*"}

// rowsOf returns res with the values of columns, in the order of res, read
// by searches of up to a thousand ids each.
func rowsOf(ctx context.Context, t metatrack.Store, res []metatrack.Resource, columns ...string) ([]metatrack.Row, error) {
	byID := map[string]metatrack.Row{}
	for start := 0; start < len(res); start += maxCompared {
		end := min(start+maxCompared, len(res))
		ids := make([]string, 0, end-start)
		for _, r := range res[start:end] {
			ids = append(ids, "'"+strings.ReplaceAll(r.ID, "'", "''")+"'")
		}
		page, err := t.Search(ctx, "id IN ("+strings.Join(ids, ", ")+")", metatrack.WithPageSize(len(ids)), metatrack.WithColumns(columns...))
		if err != nil {
			return nil, err
		}
		for _, r := range page.Rows {
			byID[r.ID] = r
		}
	}
	out := make([]metatrack.Row, 0, len(res))
	for _, r := range res {
		if row, ok := byID[r.ID]; ok {
			out = append(out, row)
		}
	}
	return out, nil
}

// compareFields returns the fields of rows side by side: type and status,
// then every attribute, tag and metadata key any row has, sorted by key.
func compareFields(rows []metatrack.Row) []compareFieldJSON {
	var fields []compareFieldJSON
	add := func(name string, value func(r metatrack.Row) (any, bool)) {
		f := compareFieldJSON{Field: name, Values: make([]any, len(rows))}
		for i, r := range rows {
			if v, ok := value(r); ok {
				f.Values[i] = v
			}
			if i > 0 && !reflect.DeepEqual(f.Values[i], f.Values[0]) {
				f.Differs = true
			}
		}
		fields = append(fields, f)
	}
	add("type", func(r metatrack.Row) (any, bool) { return r.Type, true })
	add("status", func(r metatrack.Row) (any, bool) { return r.Status, r.Status != "" })
	attrs, tags, meta, metrics := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		for k := range r.Attrs {
			attrs[k] = true
		}
		for k := range r.Tags {
			tags[k] = true
		}
		for k := range r.Metadata {
			meta[k] = true
		}
		for k := range r.Metrics {
			metrics[k] = true
		}
	}
	for _, k := range sortedKeys(attrs) {
		add("attrs."+k, func(r metatrack.Row) (any, bool) { v, ok := r.Attrs[k]; return v, ok })
	}
	for _, k := range sortedKeys(tags) {
		add("tags."+k, func(r metatrack.Row) (any, bool) { v, ok := r.Tags[k]; return v, ok })
	}
	for _, k := range sortedKeys(meta) {
		add("metadata."+k, func(r metatrack.Row) (any, bool) { v, ok := r.Metadata[k]; return v, ok })
	}
	// Each series by its last value (and step), lowest and highest values
	// and number of points; NaN and infinities as their names.
	for _, k := range sortedKeys(metrics) {
		for _, part := range []struct {
			suffix string
			value  func(s metatrack.MetricSummary) any
		}{
			{"", func(s metatrack.MetricSummary) any { return finite(s.Last) }},
			{".step", func(s metatrack.MetricSummary) any { return s.LastStep }},
			{".min", func(s metatrack.MetricSummary) any { return finite(s.Min) }},
			{".max", func(s metatrack.MetricSummary) any { return finite(s.Max) }},
			{".count", func(s metatrack.MetricSummary) any { return s.Count }},
		} {
			add("metrics."+k+part.suffix, func(r metatrack.Row) (any, bool) {
				s, ok := r.Metrics[k]
				if !ok {
					return nil, false
				}
				return part.value(s), true
			})
		}
	}
	return fields
}

func printCompare(w io.Writer, out compareJSON, diff bool) error {
	if len(out.Resources) == 0 {
		fmt.Fprintln(w, "No resources match.")
		return nil
	}
	tw := newTable(w)
	fmt.Fprint(tw, "\tFIELD")
	for _, r := range out.Resources {
		fmt.Fprintf(tw, "\t%s", r.Ref)
	}
	fmt.Fprintln(tw)
	differ := 0
	for _, f := range out.Fields {
		mark := ""
		if f.Differs {
			mark = "*"
			differ++
		}
		fmt.Fprintf(tw, "%s\t%s", mark, f.Field)
		for _, v := range f.Values {
			fmt.Fprintf(tw, "\t%s", cellValue(v))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if diff {
		fmt.Fprintf(w, "\n%s compared; %s differ\n", plural(len(out.Resources), "resource"), plural(differ, "field"))
	} else {
		fmt.Fprintf(w, "\n%s compared; %d of %s differ (marked *)\n", plural(len(out.Resources), "resource"), differ, plural(len(out.Fields), "field"))
	}
	return nil
}
