package metatrack_test

import (
	"context"
	"testing"

	"github.com/metatrack/metatrack"
)

// Issue: LIMIT 5 in a query only set the page size, and SearchAll returned
// everything. LIMIT is the total; WithPageSize the page.
func TestSearchLimitIsTotal(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	for range 12 {
		if _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d"); err != nil {
			t.Fatal(err)
		}
	}
	all, err := tr.SearchAll(ctx, "type = 'dataset_version' ORDER BY version DESC LIMIT 5")
	if err != nil || len(all) != 5 || all[0].Version != 12 || all[4].Version != 8 {
		t.Fatalf("SearchAll LIMIT 5: %d resources, %v", len(all), err)
	}
	var got []int
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := tr.Search(ctx, "type = 'dataset_version' LIMIT 7", metatrack.WithPageSize(3), metatrack.WithCursor(cursor))
		if err != nil || pages > 5 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, r := range page.Resources {
			got = append(got, r.Version)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(got) != 7 || got[6] != 7 {
		t.Fatalf("pages of 3, LIMIT 7: %v", got)
	}
}
