package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLsPaging walks the pages by their cursors and checks that they hold
// every resource once, in the order --all lists them.
func TestLsPaging(t *testing.T) {
	db := buildFixture(t, t.TempDir())
	list := func(args ...string) lsJSON {
		t.Helper()
		r := runFixture(t, append([]string{"ls", "--db", db, "-o", "json"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("ls %v: exit %d: %s", args, r.code, r.stderr)
		}
		var out lsJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := list("--all", "--limit", "4")
	if all.Count != 16 || len(all.Resources) != 16 || all.NextCursor != nil {
		t.Fatalf("--all: %d resources, next %v", all.Count, all.NextCursor)
	}
	var walked []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the cursors do not end")
		}
		args := []string{"--limit", "5"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		page := list(args...)
		if len(page.Resources) > 5 {
			t.Fatalf("page of %d, limit 5", len(page.Resources))
		}
		for _, r := range page.Resources {
			walked = append(walked, r.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(walked) != len(all.Resources) {
		t.Fatalf("the pages hold %d resources, --all %d", len(walked), len(all.Resources))
	}
	for i, id := range walked {
		if all.Resources[i].ID != id {
			t.Fatalf("resource %d: pages %s, --all %s", i, id, all.Resources[i].ID)
		}
	}

	// Issue: LIMIT in a query only set the page size, and --all listed
	// everything. A LIMIT is the total, --limit the page size.
	if got := list("type = 'experiment' LIMIT 2"); len(got.Resources) != 2 || got.NextCursor != nil {
		t.Errorf("LIMIT 2: %d resources, next %v", len(got.Resources), got.NextCursor)
	}
	if got := list("LIMIT 5", "--all", "--limit", "2"); got.Count != 5 || got.NextCursor != nil {
		t.Errorf("LIMIT 5 --all --limit 2: %d resources, next %v", got.Count, got.NextCursor)
	}
	first := list("LIMIT 3", "--limit", "2")
	if len(first.Resources) != 2 || first.NextCursor == nil {
		t.Fatalf("LIMIT 3 --limit 2: %d resources, next %v", len(first.Resources), first.NextCursor)
	}
	if second := list("LIMIT 3", "--limit", "2", "--cursor", *first.NextCursor); len(second.Resources) != 1 || second.NextCursor != nil {
		t.Errorf("LIMIT 3, second page: %d resources, next %v", len(second.Resources), second.NextCursor)
	}
	byAUC := list("type = 'experiment'", "--order", "metadata.valid_auc DESC")
	if len(byAUC.Resources) != 5 || byAUC.Query != "type = 'experiment' ORDER BY metadata.valid_auc DESC" {
		t.Fatalf("--order: %+v", byAUC)
	}
	if r := runFixture(t, "ls", "--db", db, "type = 'experiment' ORDER BY name", "--order", "name"); r.code != exitUsage {
		t.Errorf("ORDER BY and --order: exit %d, want %d", r.code, exitUsage)
	}
	if r := runFixture(t, "ls", "--db", db, "--cursor", "not-a-cursor"); r.code != exitFailure {
		t.Errorf("bad cursor: exit %d, want %d: %s", r.code, exitFailure, r.stderr)
	}
}

// TestLsCursorOfAnotherQuery: a cursor is bound to the query and order it
// was made for; another query refuses it, saying "invalid cursor".
func TestLsCursorOfAnotherQuery(t *testing.T) {
	db := buildFixture(t, t.TempDir())
	r := runFixture(t, "ls", "type = 'experiment'", "--limit", "2", "--db", db)
	_, cur, ok := strings.Cut(r.stdout, "--cursor ")
	if r.code != exitOK || !ok {
		t.Fatalf("ls: exit %d, no cursor:\n%s%s", r.code, r.stdout, r.stderr)
	}
	cur, _, _ = strings.Cut(cur, " ")
	if r := runFixture(t, "ls", "type = 'experiment'", "--limit", "2", "--cursor", cur, "--db", db); r.code != exitOK {
		t.Fatalf("the cursor's own query: exit %d: %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"ls", "type = 'model_version'", "--cursor", cur},
		{"ls", "type = 'experiment'", "--order", "name DESC", "--cursor", cur},
		{"ls", "type = 'experiment'", "--cursor", "nonsense!"},
	} {
		r := runFixture(t, append(args, "--db", db)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "metatrack: invalid cursor: ") || strings.Contains(r.stderr, "invalid query") {
			t.Errorf("%v: exit %d:\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}
