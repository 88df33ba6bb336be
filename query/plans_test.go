package query

import (
	"context"
	"database/sql"
	"errors"
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
	addDriveRows(t, db, 250, false)
	ctx := context.Background()
	now := time.Unix(1000, 0)
	plans := &Plans{now: func() time.Time { return now }}
	seqs := func(src string, plans *Plans) ([]int64, int) {
		t.Helper()
		q, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Compile(q, Options{Dialect: testDialect, Limit: 20, Plans: plans})
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

// TestPlansCompile: Plans.Compile keeps a compiled query for the same text
// and options, but not one that reads the clock, resolves a reference or
// continues from a cursor, and returns parse errors as Parse does.
func TestPlansCompile(t *testing.T) {
	var plans Plans
	resolve := func(string) (int64, error) { return 7, nil }
	opts := Options{Dialect: testDialect, Limit: 10, Resolve: resolve}
	compile := func(src string, opts Options) *Compiled {
		t.Helper()
		_, c, err := plans.Compile(src, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const plain = "type = 'experiment' AND metadata.acc > 0.5"
	if a, b := compile(plain, opts), compile(plain, opts); a != b {
		t.Error("the same query compiled twice")
	}
	other := opts
	other.Limit = 11
	if a, b := compile(plain, opts), compile(plain, other); a == b {
		t.Error("another page size shares the compiled query")
	}
	for _, src := range []string{"created_at > now-1d", "upstream_of('model/m@1')"} {
		if a, b := compile(src, opts), compile(src, opts); a == b {
			t.Errorf("%q was kept", src)
		}
	}
	c := compile(plain+" ORDER BY metadata.acc", opts)
	cur, err := c.Cursor(10, []any{int64(0), 0.7})
	if err != nil {
		t.Fatal(err)
	}
	withCursor := opts
	withCursor.Cursor = cur
	if a, b := compile(plain+" ORDER BY metadata.acc", withCursor), compile(plain+" ORDER BY metadata.acc", withCursor); a == b {
		t.Error("a query with a cursor was kept")
	}
	if q, c, err := plans.Compile("type = ", opts); q != nil || c != nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("parse error: %v %v %v", q, c, err)
	}
}
