package benchmarks

import (
	"strings"
	"testing"

	"github.com/metatrack/metatrack/query"
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
		{name: "Attribute", filter: "attrs.prediction_count > 999000", index: "",
			gap: "attrs has no index: an attribute filter scans every resource (see benchmarks/RESULTS.md)"},
		{name: "AttributeString", filter: "attrs.trainer = 'xgboost'", index: "",
			gap: "attrs has no index: an attribute filter scans every resource (see benchmarks/RESULTS.md)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := query.Parse(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			compiled, err := query.Compile(q, query.Options{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			text, args, err := compiled.Select.ToSql()
			if err != nil {
				t.Fatal(err)
			}
			plan, err := explain(e.bare, text, args)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s\n%s", text, plan)
			scan := scansResources(plan)
			indexed := c.index != "" && strings.Contains(plan, "INDEX "+c.index+" ")
			if c.gap != "" && scan {
				t.Skipf("library gap: %s\n%s\n%s", c.gap, text, plan)
			}
			if scan || (c.index != "" && !indexed) {
				t.Errorf("%s is not searched by index %s:\n%s\n%s", c.filter, c.index, text, plan)
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
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			rows.Close()
			return "", err
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
