package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/storage/sqlite"
)

// TestHistoryPlans: every statement that reads the change log finds its
// rows through an index (schema 0007) and scans neither the table nor an
// index from end to end. The log holds many tag changes of a few
// resources, as a training loop leaves it, and a few of the rare kinds.
func TestHistoryPlans(t *testing.T) {
	ctx := context.Background()
	d, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.WriteConn(ctx, func(tx *sqlite.Tx) error {
		for r := range 10 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO resources (id, type, name, created_at, updated_at) VALUES (?, 'dataset', ?, 1, 1)`,
				fmt.Sprintf("01930000-0000-7000-8000-%012d", r), fmt.Sprintf("d%d", r)); err != nil {
				return err
			}
		}
		for i := range 5000 {
			kind, value := "tag", `"v"`
			switch i % 100 {
			case 0:
				kind = "alias"
			case 1:
				kind = "deleted"
			case 2:
				value = "NULL"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO history (id, resource_seq, at, kind, key, new_value) VALUES (?, ?, ?, ?, ?, `+value+`)`,
				fmt.Sprintf("01930000-0000-7000-9000-%012d", i), 1+i%10, 1000+i, kind, fmt.Sprintf("k%d", i%37)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sql := d.SQL()
	for _, c := range []struct {
		name, query string
		args        []any
		// index is the index each read of history must use.
		index []string
	}{
		{"HistoryUntil", sql.HistoryUntil, []any{1, 2000}, []string{"history_resource_at"}},
		{"RemovedAliasesAt", sql.RemovedAliasesAt, []any{1, 2000}, []string{"history_resource_at"}},
		{"DeletedFromHistory", sql.DeletedFromHistory, []any{"[1,2]"}, []string{"history_rare", "history_rare"}},
		{"LatestAliasChanges", sql.LatestAliasChanges, []any{"[1,2]"}, []string{"history_rare", "history_rare"}},
		{"HistoryKnown", sql.HistoryKnown, []any{"x", 1, "tag", "k1", 1001, nil, nil, `"v"`}, []string{"history_id", "history_resource_at"}},
		{"DropTombstonedTags", sql.DropTombstonedTags, nil, []string{"history_removed"}},
		{"PurgeCounts", sql.PurgeCounts, []any{"[1,2]"}, []string{"history_resource_at"}},
		{"PurgeHistory", sql.PurgeRows[len(sql.PurgeRows)-1], []any{"[1,2]"}, []string{"history_resource_at"}},
		{"ExportHistory", sql.HistoryRecords.Selected, []any{`{"set":[1,2],"stubs":[]}`}, []string{"history_resource_at"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(c.query, "history") {
				t.Fatalf("%s does not read history: %s", c.name, c.query)
			}
			rows, err := d.Readers.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			var used []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
				f := strings.Fields(detail)
				if len(f) < 2 || (f[1] != "history" && f[1] != "h" && f[1] != "h2") {
					continue
				}
				if f[0] != "SEARCH" {
					t.Errorf("history read by %s", detail)
					continue
				}
				if i := strings.Index(detail, "INDEX "); i >= 0 {
					used = append(used, strings.Fields(detail[i+len("INDEX "):])[0])
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(used, " ") != strings.Join(c.index, " ") {
				t.Errorf("history read through %v, want %v; plan:\n%s", used, c.index, strings.Join(plan, "\n"))
			}
		})
	}
}
