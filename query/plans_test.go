package query

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"testing"
	"time"
)

// countingQuerier counts the statements run through it.
type countingQuerier struct {
	q     Querier
	count int
}

func (c *countingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.count++
	return c.q.QueryContext(ctx, query, args...)
}

// TestPlansRemembered: a probed query counts its rows once, then runs only
// the form it chose, with the same rows as a fresh count would give; the
// choice is counted again once it is PlanMaxAge old, and Plans keeps at
// most PlanCacheSize choices.
func TestPlansRemembered(t *testing.T) {
	db := MustOpen(t)
	addDriveRows(t, db, 250)
	ctx := context.Background()
	now := time.Unix(1000, 0)
	plans := &Plans{now: func() time.Time { return now }}
	seqs := func(src string, plans *Plans) ([]int64, int) {
		t.Helper()
		q, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Compile(q, Options{Limit: 20, Plans: plans})
		if err != nil {
			t.Fatal(err)
		}
		if c.split == nil {
			t.Fatalf("%q is not probed", src)
		}
		cq := &countingQuerier{q: db}
		got, _, err := c.Seqs(ctx, cq)
		if err != nil {
			t.Fatal(err)
		}
		return got, cq.count
	}
	const src = "type = 'experiment' AND tags.env IN ('prod', 'dev')"
	want, n := seqs(src, nil)
	if n != 2 || len(want) == 0 {
		t.Fatalf("without Plans: %d statements (want the count and the form), %d rows", n, len(want))
	}
	if got, n := seqs(src, plans); n != 2 || !slices.Equal(got, want) {
		t.Fatalf("first call: %d statements, rows %v, want %v", n, got, want)
	}
	if got, n := seqs(src, plans); n != 1 || !slices.Equal(got, want) {
		t.Fatalf("second call: %d statements (the choice was not remembered), rows %v, want %v", n, got, want)
	}
	now = now.Add(PlanMaxAge + time.Second)
	if _, n := seqs(src, plans); n != 2 {
		t.Fatalf("after PlanMaxAge: %d statements, want a new count", n)
	}
	for i := range PlanCacheSize + 5 {
		seqs("type = 'experiment' AND tags.env IN ('prod', 'x"+strconv.Itoa(i)+"')", plans)
	}
	if n := plans.Len(); n != PlanCacheSize {
		t.Errorf("%d choices remembered, want %d", n, PlanCacheSize)
	}
}
