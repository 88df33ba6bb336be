package benchmarks

import (
	"strings"
	"testing"

	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// TestSearchPlans runs EXPLAIN QUERY PLAN on the SQL that Tracker.Search
// runs for selective filters (compiled as the tracker compiles them) and
// checks that an index finds the matching rows, not a scan of resources.
func TestSearchPlans(t *testing.T) {
	e := getReadEnv(t)
	for _, c := range []struct {
		name, filter string
		// index is the index the filter must be searched by.
		index string
		// gap marks a filter the library cannot index today: the test
		// skips it while its plan scans, and checks it once it does not.
		gap string
	}{
		{name: "TagEqual", filter: "tags.commit = '" + e.fx.Commit + "'", index: "tags_key_value"},
		{name: "TagEqualTyped", filter: "type = 'experiment' AND tags.commit = '" + e.fx.Commit + "'", index: "tags_key_value"},
		{name: "TagIn", filter: "tags.env IN ('prod', 'staging')", index: "tags_key_value"},
		{name: "MetadataNumberEqual", filter: "metadata.accuracy = " + e.fx.Accuracy, index: "metadata_key_num"},
		{name: "MetadataNumberRange", filter: "metadata.prediction_count > 999000", index: "metadata_key_num"},
		{name: "MetadataNumberRangeOrdered", filter: "metadata.prediction_count > 999000 ORDER BY metadata.prediction_count DESC",
			index: "metadata_key_num"},
		{name: "MetadataString", filter: "metadata.model_trainer = 'xgboost'", index: "metadata_key_str"},
		{name: "Attribute", filter: "attrs.prediction_count > 999000", index: "attr_values_key_num"},
		{name: "AttributeString", filter: "attrs.trainer = 'xgboost'", index: "attr_values_key_str"},
		{name: "AttributeTyped", filter: "type = 'prediction_job' AND attrs.prediction_count > 999000", index: "attr_values_key_num"},
		{name: "Name", filter: "name = 'model_3'", index: "resources_name"},
		{name: "Status", filter: "status = 'FAILED'", index: "resources_status_only"},
		{name: "TagOrderedByMetadata", filter: "tags.optimizer = 'adam' ORDER BY metadata.accuracy DESC", index: "metadata_key_num"},
		{name: "MetricLast", filter: "metrics.loss < 0.2", index: "metric_series_last"},
		{name: "MetricMin", filter: "metrics.loss.min < 0.2", index: "metric_series_min"},
		{name: "MetricMaxOrdered", filter: "metrics.loss.max > 5 ORDER BY metrics.loss DESC", index: "metric_series_max"},
		{name: "MetricCountTyped", filter: "type = 'experiment' AND metrics.loss.count > 100", index: "metric_series_count"},
		{name: "MetricStep", filter: "metrics.loss.step >= 1000", index: "metric_series_step"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := query.Parse(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			compiled, err := query.Compile(q, query.Options{Dialect: sqlite.Dialect{}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			stmts, err := compiled.Statements()
			if err != nil {
				t.Fatal(err)
			}
			if len(stmts) == 3 {
				// The count and the list; the walk scans resources by
				// design and runs only when the count says many match.
				stmts = []query.Statement{stmts[0], stmts[2]}
			}
			for _, st := range stmts {
				text, args := st.SQL, st.Args
				plan, err := explain(e.bare, text, args)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s\n%s", text, plan)
				scan := scansResources(plan)
				indexed := c.index != "" && strings.Contains(plan, "INDEX "+c.index+" ")
				if c.gap != "" && scan {
					t.Errorf("library gap: %s\n%s\n%s", c.gap, text, plan)
				}
				if scan || (c.index != "" && !indexed) {
					t.Errorf("%s is not searched by index %s:\n%s\n%s", c.filter, c.index, text, plan)
				}
			}
		})
	}
}

// explain returns the query plan of query, one detail per line.
func explain(d *bareDB, query string, args []any) (string, error) {
	rows, err := d.conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	// The probed form's walk branch (CO-ROUTINE s) scans resources by
	// design: it runs only when the filter matches too many rows for a
	// list, so it is left out of the plan checked here.
	walk := map[int]bool{}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			rows.Close()
			return "", err
		}
		if detail == "CO-ROUTINE s" || walk[parent] {
			walk[id] = true
			continue
		}
		b.WriteString(detail + "\n")
	}
	return b.String(), closeRows(rows)
}

// scansResources reports whether a plan reads the resources table r from
// end to end.
func scansResources(plan string) bool {
	for _, l := range strings.Split(plan, "\n") {
		if strings.HasPrefix(l, "SCAN r") && !strings.Contains(l, "USING INTEGER PRIMARY KEY") {
			return true
		}
	}
	return false
}
