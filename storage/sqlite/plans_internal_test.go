package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPlanCacheBounded: a generated text is prepared the second time it is
// asked for, the cache keeps at most PlanCacheSize plans, and a plan that is
// evicted while in use stays usable until it is released, then is closed.
func TestPlanCacheBounded(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	text := func(i int) string { return "SELECT " + strconv.Itoa(i) + " + ?" }
	// prepared asks for text i until the background preparation is done.
	prepared := func(i int) {
		t.Helper()
		for range 2 {
			if s, release := d.Plan(text(i)); s != nil {
				release()
				return
			}
			d.bg.Wait()
		}
		s, release := d.Plan(text(i))
		defer release()
		if s == nil {
			t.Fatalf("%q is not prepared after being asked for twice", text(i))
		}
	}
	if s, _ := d.Plan(text(0)); s != nil {
		t.Fatal("a text asked for once is prepared")
	}
	prepared(0)
	held, release := d.Plan(text(0))
	if held == nil {
		t.Fatal("plan 0 gone")
	}
	for i := 1; i <= PlanCacheSize+10; i++ {
		prepared(i)
	}
	if n := d.plans.lru.Len(); n != PlanCacheSize {
		t.Errorf("%d plans cached, want %d", n, PlanCacheSize)
	}
	if _, ok := d.plans.byQuery[text(0)]; ok {
		t.Error("the least recently used plan was not evicted")
	}
	var got int
	if err := held.QueryRowxContext(ctx, 2).Scan(&got); err != nil || got != 2 {
		t.Fatalf("evicted plan in use: %d, %v", got, err)
	}
	release()
	if err := held.QueryRowxContext(ctx, 2).Scan(&got); err == nil {
		t.Error("an evicted plan still runs after its release: it was not closed")
	}
}
