package benchmarks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestWritesAgree checks that the bare writes leave the rows the tracker
// leaves: the same tag, metadata, resource and edge rows, and history rows
// with the same columns set.
func TestWritesAgree(t *testing.T) {
	e := getWriteEnv(t)
	lib, bare := e.fx.WriteTargets[0], e.fx.WriteTargets[1]
	parent := e.fx.ModelVersion

	if err := e.lib.LogTag(ctx, res(lib), "agree_tag", "x1"); err != nil {
		t.Fatal(err)
	}
	if err := e.bare.tx(ctx, func() error { return e.bare.logTag(bare.ID, "agree_tag", "x1") }); err != nil {
		t.Fatal(err)
	}
	compareRows(t, e.bare, "tag", "SELECT value, run_seq IS NOT NULL FROM tags WHERE resource_seq = ? AND key = 'agree_tag'", lib.Seq, bare.Seq)
	compareHistory(t, e.bare, "tag", lib.Seq, bare.Seq)

	if err := e.lib.LogMetadata(ctx, res(lib), "agree_num", 0.25); err != nil {
		t.Fatal(err)
	}
	if err := e.bare.tx(ctx, func() error { return e.bare.logMetric(bare.ID, "agree_num", 0.25) }); err != nil {
		t.Fatal(err)
	}
	compareRows(t, e.bare, "metadata", "SELECT value, num, str, run_seq IS NOT NULL FROM metadata WHERE resource_seq = ? AND key = 'agree_num'", lib.Seq, bare.Seq)
	compareHistory(t, e.bare, "metadata", lib.Seq, bare.Seq)

	r, err := e.lib.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(parent.ID))
	if err != nil {
		t.Fatal(err)
	}
	var b metatrack.Resource
	if err := e.bare.tx(ctx, func() (err error) { b, err = e.bare.createChild(parent.ID, metatrack.TypeExperiment); return err }); err != nil {
		t.Fatal(err)
	}
	libSeq, err := e.bare.seqOf(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	bareSeq, err := e.bare.seqOf(b.ID)
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, e.bare, "resource", `SELECT type, name = id, version, parent_seq, status, attrs, run_seq IS NOT NULL,
		created_at = updated_at, started_at, ended_at FROM resources WHERE seq = ?`, libSeq, bareSeq)
	compareRows(t, e.bare, "edge", "SELECT src_seq, relation, run_seq IS NOT NULL FROM edges WHERE dst_seq = ?", libSeq, bareSeq)
	compareHistory(t, e.bare, "resource", libSeq, bareSeq)
}

// compareRows compares the rows query returns for the library's and the
// bare side's resource.
func compareRows(t *testing.T, d *bareDB, what, query string, lib, bare int64) {
	t.Helper()
	a, err := rowsOf(d, query, lib)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rowsOf(d, query, bare)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("%s rows differ:\nlibrary %v\nbare    %v", what, a, b)
	}
}

// compareHistory compares the history rows of two resources: which
// columns are set, the kind, key and values, with the JSON objects compared
// by their keys (they hold ids).
func compareHistory(t *testing.T, d *bareDB, what string, lib, bare int64) {
	t.Helper()
	const q = `SELECT id IS NOT NULL AND length(id) = 36, at > 0, run_seq IS NOT NULL, kind, key, old_value, new_value
		FROM history WHERE resource_seq = ? ORDER BY seq`
	a, err := rowsOf(d, q, lib)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rowsOf(d, q, bare)
	if err != nil {
		t.Fatal(err)
	}
	norm := func(rows [][]any) [][]any {
		for _, r := range rows {
			for i := 5; i < 7; i++ {
				var m map[string]any
				if s, ok := r[i].(string); ok && json.Unmarshal([]byte(s), &m) == nil {
					var keys []string
					for k := range m {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					r[i] = fmt.Sprint(keys)
				}
			}
		}
		return rows
	}
	if a, b := norm(a), norm(b); len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("%s history differs:\nlibrary %v\nbare    %v", what, a, b)
	}
}

func rowsOf(d *bareDB, query string, args ...any) ([][]any, error) {
	rows, err := d.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	return out, closeRows(rows)
}
