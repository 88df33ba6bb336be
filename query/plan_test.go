package query

import (
	"strings"
	"testing"
)

// TestPlanUsesIndexes checks that selective filters are driven by an index:
// the plan searches with one and never scans resources in full.
func TestPlanUsesIndexes(t *testing.T) {
	db := MustOpen(t)
	for _, tt := range []struct {
		query string
		index string // an index the plan must name
	}{
		{"tags.env = 'prod'", "tags_key_value (key=? AND value=?)"},
		{"tags.env IN ('prod', 'dev')", "tags_key_value (key=? AND value=?)"},
		{"EXISTS tags.env", "tags_key_value (key=?)"},
		{"metadata.accuracy > 0.9", "metadata_key_num (key=? AND num>?)"},
		{"metadata.accuracy = 0.93", "metadata_key_num (key=? AND num=?)"},
		{"metadata.framework = 'sklearn'", "metadata_key_str (key=? AND str=?)"},
		{"metadata.framework IN ('a', 'b')", "metadata_key_str (key=? AND str=?)"},
		{"type = 'model_version'", "(type=?)"},
		{"type = 'model_version' AND name = 'titanic_model'", "resources_type_name (type=? AND name=?)"},
		{"type = 'model_version' AND status = 'READY'", "resources_status (type=? AND status=?)"},
		{"id = 'mv1'", "sqlite_autoindex_resources_1 (id=?)"},
		{"parent = 'm1'", "resources_parent (parent_seq=?)"},
		{"run = 'run-1'", "resources_run (run_seq=?)"},
		{"created_at > now-1d ORDER BY created_at DESC", "resources_created (created_at>?)"},
		{"upstream_of('pj1')", "edges_dst (dst_seq=?)"},
		{"downstream_of('d1', 3)", "PRIMARY KEY (src_seq=?)"},
		{"tags.env = 'prod' AND metadata.accuracy > 0.9", "tags_key_value (key=? AND value=?"},
		{"type = 'model_version' AND metadata.params.lr > 0.05", "(type=?)"},
		{"name = 'titanic'", "resources_name (name=?)"},
		{"status = 'READY'", "resources_status_only (status=?)"},
		{"attrs.trainer = 'xgboost'", "attr_values_key_str (key=? AND str=?)"},
		{"attrs.trainer IN ('xgboost', 'lightgbm')", "attr_values_key_str (key=? AND str=?)"},
		{"attrs.trainer LIKE 'xg%'", "attr_values_key_str (key=?"},
		{"attrs.rows > 100", "attr_values_key_num (key=? AND num>?)"},
		{"attrs.rows = 100", "attr_values_key_num (key=? AND num=?)"},
		{"EXISTS attrs.gpu", "attr_values_key_other (key=?)"},
		{"attrs.gpu IS NOT NULL", "attr_values_key_other (key=?)"},
		{"tags.env = 'prod' ORDER BY tags.env DESC", "tags_key_value (key=? AND value=?)"},
		{"metadata.accuracy > 0.9 ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>?)"},
		{"metadata.framework LIKE 's%' ORDER BY metadata.framework", "metadata_key_str (key=?"},
		{"tags.env = 'prod' ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>?)"},
		{"metrics.loss < 0.01 ORDER BY metrics.loss", "metric_series_last (key=? AND last_value<?)"},
		{"metrics.loss.min > 0.5 ORDER BY metrics.loss.min DESC", "metric_series_min (key=? AND min_value>?)"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			plan := planOf(t, db, tt.query)
			all := strings.Join(plan, "\n")
			if !strings.Contains(all, "SEARCH") || !strings.Contains(all, tt.index) {
				t.Errorf("plan does not search %s:\n%s", tt.index, all)
			}
			if scansResources(plan) {
				t.Errorf("plan scans resources:\n%s", all)
			}
		})
	}

	// The check above notices a scan: no index leads with updated_at.
	if plan := planOf(t, db, "updated_at > 5"); !scansResources(plan) {
		t.Errorf("expected a scan: %q", plan)
	}
}

// TestPlanProbed checks the two forms of a query whose filter may match
// few resources or many: the list from the index, and the walk of
// resources in seq order.
func TestPlanProbed(t *testing.T) {
	db := MustOpen(t)
	q, _ := Parse("attrs.rows > 100")
	c, err := Compile(q, Options{Dialect: testDialect, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	text, args, _ := c.Select.ToSql()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	for _, want := range []string{
		"SEARCH a USING COVERING INDEX attr_values_key_num (key=? AND num>?)", // the count and the list
		"CO-ROUTINE s\nSCALAR SUBQUERY",
		"SCAN r\nSEARCH a EXISTS USING PRIMARY KEY (resource_seq=? AND key=?)", // the walk
	} {
		if !strings.Contains(all, want) {
			t.Errorf("plan has no %q:\n%s", want, all)
		}
	}
}

// TestPlanDrivesOrder checks that queries driven by an index read it in
// the order of the page. Queries of one part sort no more than ties (LAST
// TERM); those of several parts (ORDER BY metadata.k alone, or windows with
// the plain form as fallback) also sort the few rows of the union, and
// their other parts and fallback may sort.
func TestPlanDrivesOrder(t *testing.T) {
	db := MustOpen(t)
	for _, tt := range []struct {
		query string
		index string // the index search that gives the order
		parts bool
	}{
		{"tags.env = 'prod'", "tags_key_value (key=? AND value=?)", false},
		{"tags.env = 'prod' AND type = 'model_version'", "tags_key_value (key=? AND value=?)", false},
		{"tags.env = 'prod' ORDER BY tags.env", "tags_key_value (key=? AND value=?)", false},
		{"metadata.accuracy = 0.93", "metadata_key_num (key=? AND num=?)", false},
		{"metadata.framework = 'sklearn'", "metadata_key_str (key=? AND str=?)", false},
		{"attrs.rows = 100", "attr_values_key_num (key=? AND num=?)", false},
		{"attrs.trainer = 'xgboost' AND type = 'model'", "attr_values_key_str (key=? AND str=?)", false},
		{"metadata.accuracy > 0.9 ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>?)", false},
		{"metadata.accuracy >= 0.9 ORDER BY metadata.accuracy", "metadata_key_num (key=? AND num>?)", false},
		{"metadata.accuracy < 0.9 ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>? AND num<?)", false},
		{"metadata.accuracy > 0.9 ORDER BY metadata.accuracy DESC, created_at", "metadata_key_num (key=? AND num>?)", false},
		{"ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>?)", true},
		{"ORDER BY metadata.framework DESC", "metadata_key_str (key=? AND str>?)", true},
		// Windows: the bound of the window is the only one on its side.
		{"metadata.accuracy > 0.9 AND type = 'model_version' ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>?)", true},
		{"metadata.accuracy > 0.9 AND type = 'model_version' ORDER BY metadata.accuracy", "metadata_key_num (key=? AND num>? AND num<?)", true},
		{"metadata.accuracy < 0.9 AND type = 'model_version' ORDER BY metadata.accuracy", "metadata_key_num (key=? AND num<?)", true},
		{"type = 'model_version' ORDER BY metadata.accuracy", "metadata_key_num (key=? AND num<?)", true},
		{"type = 'model_version' ORDER BY metadata.accuracy DESC", "metadata_key_num (key=? AND num>?)", true},
	} {
		t.Run(tt.query, func(t *testing.T) {
			plan := planOf(t, db, tt.query)
			all := strings.Join(plan, "\n")
			found := false
			for i, line := range plan {
				if strings.HasPrefix(line, "SEARCH d") && strings.HasSuffix(line, "INDEX "+tt.index) {
					found = true
				}
				if line == "USE TEMP B-TREE FOR ORDER BY" && !tt.parts {
					t.Errorf("plan sorts the rows of the index:\n%s", all)
				}
				if tt.parts && i == len(plan)-1 && line != "USE TEMP B-TREE FOR ORDER BY" {
					t.Errorf("the union is not sorted:\n%s", all)
				}
			}
			if !found {
				t.Errorf("plan does not search %s:\n%s", tt.index, all)
			}
		})
	}
}

func scansResources(plan []string) bool {
	for _, line := range plan {
		if line == "SCAN r" || strings.HasPrefix(line, "SCAN r ") {
			return true
		}
	}
	return false
}

// planOf returns the lines of EXPLAIN QUERY PLAN of a query, without those
// of the walk of a probed query.
func planOf(t *testing.T, db *testDB, query string) []string {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Limit = 50
	c, err := Compile(q, opts)
	if err != nil {
		t.Fatal(err)
	}
	text, args, err := c.Select.ToSql()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	walk := map[int]bool{} // the ids of the walk of a probed query and below
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		if detail == "CO-ROUTINE s" || walk[parent] {
			// The walk of resources in seq order that a probed query
			// takes only when its filter matches too many rows for a
			// list (see probed): no scan of the kind looked for here.
			walk[id] = true
			continue
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
