package query

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// countingQuerier counts the statements run through it.
type countingQuerier struct {
	q     Querier
	count int
	texts []string // the statements, in order
}

func (c *countingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.count++
	c.texts = append(c.texts, query)
	return c.q.QueryContext(ctx, query, args...)
}

// preparingQuerier is a countingQuerier that also takes prepared
// statements (PreparingQuerier), and records which ones were.
type preparingQuerier struct {
	countingQuerier
	prepared []bool // for each of texts
}

func (p *preparingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	p.prepared = append(p.prepared, false)
	return p.countingQuerier.QueryContext(ctx, query, args...)
}

func (p *preparingQuerier) QueryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	p.prepared = append(p.prepared, true)
	return p.countingQuerier.QueryContext(ctx, query, args...)
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

// TestPlansCursorShapes: a query with a cursor compiled through Plans, the
// statement of its cursor's shape kept and the cursor's values bound to
// it, is the statement that Compile writes for that cursor, text and
// arguments, and returns the same rows and next cursor, on every page of
// every query of the drive, agreement and search tests, on both engines;
// also for cursors whose values are NULL or of another type than the sort
// column's (which decide other parts of the query), and for pages that a
// query's LIMIT cuts.
func TestPlansCursorShapes(t *testing.T) {
	queries := append(append([]string(nil), driveQueries...), agreeQueries...)
	for _, tt := range searchQueries {
		queries = append(queries, tt.query)
	}
	queries = append(queries, "tags.env = 'prod' ORDER BY metadata.acc LIMIT 9", "ORDER BY tags.score DESC, created_at LIMIT 40")
	engines(t, func(t *testing.T, db *testDB) {
		addDriveRows(t, db, 250, true)
		ctx := context.Background()
		var bound int
		for _, src := range queries {
			plans := &Plans{}
			checks := 0
			opts := testOptions()
			opts.Resolve = resolveAgree
			opts.Dialect, opts.Limit = db.dialect, 25
			q, err := Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			// check compiles src after the cursor cur both ways and
			// returns the next cursor.
			check := func(cur string) string {
				t.Helper()
				o := opts
				o.Cursor = cur
				fresh, ferr := Compile(q, o)
				want, werr := fresh.Statements()
				if ferr != nil || werr != nil {
					t.Fatalf("%q after %s: %v %v", src, cur, ferr, werr)
				}
				// A text for a number column is an error of PostgreSQL
				// either way.
				wantSeqs, wantNext, wantErr := fresh.Seqs(ctx, db)
				checks++
				for range 2 { // a new shape, then the kept one
					_, c, err := plans.Compile(src, o)
					if err != nil {
						t.Fatalf("%q after %s through Plans: %v", src, cur, err)
					}
					got, err := c.Statements()
					if err != nil || !reflect.DeepEqual(got, want) {
						t.Fatalf("%q after %s through Plans:\n got %v %v\nwant %v", src, cur, got, err, want)
					}
					seqs, next, err := c.Seqs(ctx, db)
					if (err != nil) != (wantErr != nil) || !slices.Equal(seqs, wantSeqs) || next != wantNext {
						t.Fatalf("%q after %s through Plans: %v %q %v, want %v %q %v", src, cur, seqs, next, err, wantSeqs, wantNext, wantErr)
					}
				}
				return wantNext
			}
			first, err := Compile(q, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, next, err := first.Seqs(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				// Cursors of other values and types after the first
				// page: every combination of NULL, a number, a text
				// and the cursor's own value for each sort key.
				cur, err := decodeCursor(next, first.order, first.SortKeys)
				if err != nil {
					t.Fatal(err)
				}
				variants := [][]any{cur.keys}
				for i := range cur.keys {
					for _, v := range []any{nil, int64(0), 0.5, "", "zz", int64(1)} {
						keys := slices.Clone(cur.keys)
						keys[i] = v
						variants = append(variants, keys)
					}
				}
				for _, keys := range variants {
					c, err := first.cursorAfter(cur.seq, keys, cur.done)
					if err != nil {
						t.Fatal(err)
					}
					check(c)
				}
			}
			for pages := 0; next != ""; pages++ {
				if pages > 100 {
					t.Fatalf("%q: too many pages", src)
				}
				next = check(next)
				bound++
			}
			if checks > 0 && !first.volatile && plans.shapes() == 0 {
				t.Errorf("%q: no cursor shape kept", src)
			}
		}
		if bound == 0 {
			t.Fatal("no query had a second page")
		}
	})
}

// shapes returns the number of cursor shapes kept.
func (p *Plans) shapes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k := range p.byQuery {
		if k.shape != "" {
			n++
		}
	}
	return n
}

// TestPlansCursorOtherQuery: through Plans, a cursor made for another query
// or ORDER BY is refused as Compile refuses it, whether or not the shape of
// a cursor of the same values is kept.
func TestPlansCursorOtherQuery(t *testing.T) {
	db := MustOpen(t)
	addDriveRows(t, db, 100, false)
	ctx := context.Background()
	var plans Plans
	opts := Options{Dialect: testDialect, Limit: 5}
	_, a, err := plans.Compile("metadata.acc > 0.1 ORDER BY metadata.acc", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, next, err := a.Seqs(ctx, db)
	if err != nil || next == "" {
		t.Fatalf("first page: %q %v", next, err)
	}
	after := opts
	after.Cursor = next
	if _, _, err := plans.Compile("metadata.acc > 0.1 ORDER BY metadata.acc", after); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{
		"metadata.acc > 0.1 ORDER BY metadata.acc DESC",
		"metadata.acc > 0.2 ORDER BY metadata.acc",
		"metadata.acc > 0.1 ORDER BY metadata.loss",
		"ORDER BY created_at",
	} {
		for range 2 {
			if _, c, err := plans.Compile(other, after); c != nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "another query") {
				t.Errorf("%q with the cursor of another query: %v %v", other, c, err)
			}
		}
	}
	deleted := after
	deleted.Deleted = OnlyDeleted
	if _, c, err := plans.Compile("metadata.acc > 0.1 ORDER BY metadata.acc", deleted); c != nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("cursor of live resources for deleted ones: %v %v", c, err)
	}
}

// addBigSmallTags tags every resource after the fixture's big = y, and
// three of them small = y: a large and a small membership condition.
func addBigSmallTags(db *testDB) {
	db.MustExec(`INSERT INTO tags (resource_seq, key, value, updated_at) SELECT seq, 'big', 'y', 0 FROM resources WHERE seq >= 10`)
	db.MustExec(`INSERT INTO tags (resource_seq, key, value, updated_at) SELECT seq, 'small', 'y', 0 FROM resources WHERE seq IN (12, 100, 200)`)
}

// TestProbeSmallest: a query with several membership conditions counts the
// rows of each and drives from the list of the smallest, whichever comes
// first, and returns the rows of the plain form.
func TestProbeSmallest(t *testing.T) {
	db := MustOpen(t)
	addDriveRows(t, db, 250, false)
	addBigSmallTags(db)
	ctx := context.Background()
	for _, tt := range []struct {
		src  string
		list int // the index of the list among the forms, after the walk
	}{
		{"tags.big = 'y' AND tags.small = 'y' ORDER BY created_at", 1},
		{"tags.small = 'y' AND tags.big = 'y' ORDER BY created_at", 0},
		{"type != 'x' AND tags.big = 'y' AND tags.big IN ('y', 'z') AND tags.small = 'y' ORDER BY name DESC", 2},
		{"tags.small = 'y' AND type != 'x' AND tags.big = 'y' ORDER BY created_at DESC", 0},
	} {
		q, err := Parse(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Compile(q, Options{Dialect: testDialect, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.Statements()
		if err != nil || c.split == nil {
			t.Fatalf("%q is not probed: %v", tt.src, err)
		}
		cq := &countingQuerier{q: db}
		got, _, err := c.Seqs(ctx, cq)
		if err != nil {
			t.Fatal(err)
		}
		if len(cq.texts) != 2 || cq.texts[1] != st[2+tt.list].SQL+" LIMIT 21" {
			t.Errorf("%q ran %q, want the list of condition %d: %s", tt.src, cq.texts, tt.list, st[2+tt.list].SQL)
		}
		plain, err := Compile(q, Options{Dialect: testDialect, Limit: 20, NoDrive: true})
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := plain.Seqs(ctx, db)
		if err != nil || !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%q: %v, want %v (%v)", tt.src, got, want, err)
		}
	}
}

// TestCountedPostgres: on PostgreSQL (RowCounts), a query with membership
// conditions counts their rows, and reads the resources of a small one in
// full (the list) or runs its plain form (the walk) when even the smallest
// is large, with the rows of the plain form either way.
func TestCountedPostgres(t *testing.T) {
	db := openPostgres(t)
	addDriveRows(t, db, 250, true)
	addBigSmallTags(db)
	ctx := context.Background()
	defer func(f int64) { scanFactor = f }(scanFactor)
	for _, src := range []string{"tags.big = 'y' AND tags.small = 'y'", "tags.small = 'y' AND type != 'x' ORDER BY created_at DESC, name"} {
		q, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Compile(q, Options{Dialect: db.dialect, Limit: 2, NoDrive: true})
		if err != nil {
			t.Fatal(err)
		}
		want, wantNext, err := plain.Seqs(ctx, db)
		if err != nil || len(want) == 0 {
			t.Fatalf("%q: %v %v", src, want, err)
		}
		for form, f := range []int64{1 << 40, 0} { // the list, then the walk
			scanFactor = f
			c, err := Compile(q, Options{Dialect: db.dialect, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			st, err := c.Statements()
			if err != nil || c.split == nil || len(st) != 3 {
				t.Fatalf("%q is not counted: %v %v", src, st, err)
			}
			cq := &countingQuerier{q: db}
			got, next, err := c.Seqs(ctx, cq)
			if err != nil || !slices.Equal(got, want) || (next == "") != (wantNext == "") {
				t.Errorf("%q: %v %q %v, want %v", src, got, next, err, want)
			}
			if run := st[2-form].SQL + " LIMIT 3"; len(cq.texts) != 2 || cq.texts[1] != run {
				t.Errorf("%q with scanFactor %d ran %q, want %s", src, f, cq.texts, run)
			}
			// Through a PreparingQuerier, the count and the list run
			// prepared, the walk (its LIMIT a plan may count on) does not;
			// Rows runs the same forms.
			for _, rows := range []bool{false, true} {
				c, err := Compile(q, Options{Dialect: db.dialect, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				pq := &preparingQuerier{countingQuerier: countingQuerier{q: db}}
				var got []int64
				if rows {
					_, next, err = c.Rows(ctx, pq, db.join, func() []any {
						got = append(got, 0)
						dest := []any{&got[len(got)-1]}
						for range len(db.join.Names) - 1 {
							dest = append(dest, new(any))
						}
						return dest
					})
				} else {
					got, next, err = c.Seqs(ctx, pq)
				}
				if err != nil || !slices.Equal(got, want) || (next == "") != (wantNext == "") {
					t.Errorf("%q prepared (rows %v): %v %q %v, want %v", src, rows, got, next, err, want)
				}
				if wantPrepared := []bool{true, form == 0}; !slices.Equal(pq.prepared, wantPrepared) {
					t.Errorf("%q with scanFactor %d (rows %v): prepared %v, want %v", src, f, rows, pq.prepared, wantPrepared)
				}
			}
		}
	}
}

// TestRowsFusedPostgres: on PostgreSQL, the page of a query read in one
// part (alone, or the walk of a counted query) selects the columns of its
// rows itself (Compiled.fused) instead of joining its seqs back to
// resources, on every page, cursors' shapes included, and returns what
// Seqs does.
func TestRowsFusedPostgres(t *testing.T) {
	db := openPostgres(t)
	addDriveRows(t, db, 120, true)
	ctx := context.Background()
	plans := &Plans{}
	defer func(f int64) { scanFactor = f }(scanFactor)
	scanFactor = 0 // a counted query walks
	counted := false
	for _, src := range []string{"ORDER BY name DESC", "type = 'experiment' ORDER BY created_at, name",
		"metadata.acc > 0.1 ORDER BY metadata.acc DESC", "tags.env != 'x' ORDER BY name"} {
		cursor, pages := "", 0
		for {
			q, c, err := plans.Compile(src, Options{Dialect: db.dialect, Limit: 7, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			st, err := c.JoinedStatements(db.join)
			if err != nil {
				t.Fatal(err)
			}
			page := st[0]
			if c.split != nil {
				page, counted = st[1], true // after the count: the walk, then the lists
			}
			if strings.HasPrefix(page.SQL, "WITH page") || !strings.Contains(page.SQL, db.join.From) {
				t.Fatalf("%q page %d: %v, want the page's own statement with the joins", src, pages, st)
			}
			seqs, next, err := c.Seqs(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, db, q, c, seqs, next)
			pages++
			if cursor = next; cursor == "" {
				break
			}
		}
		if pages < 3 {
			t.Errorf("%q: %d pages, want several", src, pages)
		}
	}
	if !counted {
		t.Error("no query was counted")
	}
}
