package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Join says how Compiled.Rows reads the rows of a page with their
// resources: the resources r of the page's seqs joined with the tables From
// names, Columns selected. Both are fixed SQL of the engine (no
// placeholders): the storage area's resource columns.
type Join struct {
	// Columns is the select list over resources r and the tables of
	// From: r.seq, r.id, p.id AS parent_id, ...
	Columns string
	// From are the joins after resources r, if any: LEFT JOIN resources p
	// ON p.seq = r.parent_seq ...
	From string
	// Names, when not nil, are the names the columns of Columns must
	// have, in order: Rows fails otherwise, so that a caller that scans
	// them by position never mixes them up.
	Names []string
}

// ErrScan is matched by the error of Rows when a row's values do not
// convert to their destinations.
var ErrScan = errors.New("query: a row does not scan")

// pageKey is how the page's order sorts one sort-key column: a column of
// the ORDER BY terms as the plain form sorts them (see outer).
type pageKey struct {
	desc, nullable, text bool
}

// pageKeys returns the sort-key columns of the query's ORDER BY, in order.
func (c *compiler) pageKeys() []pageKey {
	var out []pageKey
	for _, k := range c.q.order {
		for _, s := range c.sortCols(k) {
			out = append(out, pageKey{desc: s.desc, nullable: s.nullable, text: s.text})
		}
	}
	return out
}

// joinedTexts are the statements of Rows for one Join.
type joinedTexts struct {
	cols, from string
	sel, scan  Statement
	lists      []Statement
}

// joinedCache holds the statements of Rows for the last Join it was given
// (an engine gives one).
type joinedCache struct {
	mu   sync.Mutex
	last *joinedTexts
}

// joined returns the statements of Rows for j, built once for each Join.
func (c *Compiled) joined(j Join) (*joinedTexts, error) {
	c.texts.Do(c.buildTexts)
	if c.textsErr != nil {
		return nil, c.textsErr
	}
	c.joins.mu.Lock()
	defer c.joins.mu.Unlock()
	if t := c.joins.last; t != nil && t.cols == j.Columns && t.from == j.From {
		return t, nil
	}
	t := &joinedTexts{cols: j.Columns, from: j.From}
	var fused Statement
	if c.fused != nil {
		// The statement of one part reads the rows' columns itself (see
		// fusedSelect).
		fb := *c.fused
		if c.Limit > 0 && c.Limit < math.MaxInt64 {
			fb = fb.Limit(uint64(c.Limit) + 1)
		}
		text, args, err := fb.ToSql()
		if err != nil {
			return nil, err
		}
		text = strings.Replace(strings.Replace(text, fusedColumns, j.Columns, 1), fusedJoins, j.From, 1)
		fused = Statement{SQL: text, Args: args}
	}
	if c.split != nil {
		t.scan = fused
		if c.fused == nil {
			t.scan = c.joinStatement(c.scan, j)
		}
		for _, l := range c.lists {
			t.lists = append(t.lists, c.joinStatement(l, j))
		}
	} else if c.fused != nil {
		t.sel = fused
	} else {
		t.sel = c.joinStatement(c.sel, j)
	}
	c.joins.last = t
	return t, nil
}

// fusedColumns and fusedJoins stand, in Compiled.fused, for a Join's
// Columns and From: comments, which no filter compiles to.
const (
	fusedColumns = "/* join columns */"
	fusedJoins   = "/* join tables */"
)

// joinStatement returns the page statement st (a statement of Seqs, with
// its LIMIT) joined with the resources of its rows:
//
//	WITH page(seq, k0, ...) AS (st)
//	SELECT <j.Columns>, page.seq, page.k0, ... FROM page JOIN resources r
//	ON r.seq = page.seq <j.From> ORDER BY page.k0 ..., page.seq
//
// The ORDER BY is the page's own: every form of the page statement returns
// its rows in the order of the query's sort-key columns (outer writes it
// so for the forms of several parts), each in its direction with NULLs
// last, texts compared by Dialect.Ordered, ties by seq ascending.
func (c *Compiled) joinStatement(st Statement, j Join) Statement {
	var b strings.Builder
	b.WriteString("WITH page(seq")
	for i := range c.keys {
		b.WriteString(", k" + strconv.Itoa(i))
	}
	b.WriteString(") AS (")
	b.WriteString(st.SQL)
	b.WriteString(") SELECT ")
	b.WriteString(j.Columns)
	b.WriteString(", page.seq")
	for i := range c.keys {
		b.WriteString(", page.k" + strconv.Itoa(i))
	}
	// The page is the outer table: SQLite, which has no statistics,
	// must not walk resources to look each row up in it.
	join := "JOIN"
	if p := c.d.Planner(); p != nil {
		join = p.JoinInOrder()
	}
	b.WriteString(" FROM page " + join + " resources r ON r.seq = page.seq")
	if j.From != "" {
		b.WriteString(" " + j.From)
	}
	b.WriteString(" ORDER BY ")
	for i, k := range c.keys {
		col := "page.k" + strconv.Itoa(i)
		if k.text {
			col = c.d.Ordered(col)
		}
		b.WriteString(col)
		if k.desc {
			b.WriteString(" DESC")
		} else {
			b.WriteString(" ASC")
		}
		if k.nullable {
			b.WriteString(" NULLS LAST")
		}
		b.WriteString(", ")
	}
	b.WriteString("page.seq")
	return Statement{SQL: b.String(), Args: st.Args}
}

// JoinedStatements returns the statements Rows may run for j, as
// Statements does for Seqs: the joined statement alone, or the count and
// the joined forms (the walk first, then the lists). Unlike Statements, each has the
// LIMIT that reads one row more than the page.
func (c *Compiled) JoinedStatements(j Join) ([]Statement, error) {
	t, err := c.joined(j)
	if err != nil {
		return nil, err
	}
	if c.split != nil {
		return append([]Statement{{SQL: c.split.count, Args: c.split.countArgs}, t.scan}, t.lists...), nil
	}
	return []Statement{t.sel}, nil
}

// Rows runs the query as Seqs does, in one statement that returns the
// page's resources, joined as j says, instead of their seqs alone (a query
// that chooses between two forms by a count may run the count before it,
// as Seqs does). For each row of the page, in order, it calls row, which
// returns the destinations of j's columns for (*sql.Rows).Scan. It returns
// the number of rows and the cursor of the next page, empty on the last
// one, as Seqs does.
func (c *Compiled) Rows(ctx context.Context, db Querier, j Join, row func() []any) (n int, next string, err error) {
	t, err := c.joined(j)
	if err != nil {
		return 0, "", err
	}
	st, prepared := t.sel, false
	if c.split != nil {
		form, err := c.split.choose(ctx, db, c.plans)
		if err != nil {
			return 0, "", err
		}
		if st = t.scan; form >= 0 {
			st, prepared = t.lists[form], c.split.prepared
		}
	}
	rows, err := queryRows(ctx, db, prepared, st.SQL, st.Args)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, "", err
	}
	width := len(cols) - 1 - c.SortKeys
	if j.Names != nil && (width < 0 || !slices.Equal(cols[:width], j.Names)) {
		return 0, "", fmt.Errorf("query: the joined columns are %v, want %v", cols[:max(width, 0)], j.Names)
	}
	var seq, lastSeq int64
	keys := make([]any, c.SortKeys)
	last := make([]any, c.SortKeys)
	for rows.Next() {
		if c.Limit > 0 && int64(n) == c.Limit {
			if done := c.done + int64(n); c.Total == 0 || done < c.Total {
				next, err = c.cursorAfter(lastSeq, last, done)
				if err != nil {
					return 0, "", err
				}
			}
			break
		}
		dest := row()
		if len(dest) != width {
			return 0, "", fmt.Errorf("query: %d destinations for the %d joined columns", len(dest), width)
		}
		dest = append(dest, &seq)
		for i := range keys {
			dest = append(dest, &keys[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return 0, "", fmt.Errorf("%w: %w", ErrScan, err)
		}
		n++
		lastSeq = seq
		copy(last, keys)
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	return n, next, nil
}
