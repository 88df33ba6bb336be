package query

import (
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
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
		{"tags.env = 'prod' AND metadata.accuracy > 0.9", "tags_key_value (key=? AND value=?)"},
		{"type = 'model_version' AND metadata.params.lr > 0.05", "(type=?)"},
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

	// The check above notices a scan: no index leads with name.
	if plan := planOf(t, db, "name = 'titanic'"); !scansResources(plan) {
		t.Errorf("expected a scan: %q", plan)
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

// planOf returns the lines of EXPLAIN QUERY PLAN of a query.
func planOf(t *testing.T, db *sqlx.DB, query string) []string {
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
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
