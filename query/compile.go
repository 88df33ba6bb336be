package query

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"
)

// Options configure Compile and Where.
type Options struct {
	// Dialect is the engine's SQL for the pieces that differ between
	// engines; the engine supplies it (storage.Engine.Dialect). Compile and
	// Where fail without one.
	Dialect Dialect
	// Now is the clock for relative times (now-7d). Nil means time.Now.
	Now func() time.Time
	// Resolve turns the reference given to upstream_of or downstream_of (an
	// id or a human reference) into the seq of a resource. Its error is
	// wrapped in an *Error that errors.Is matches against both ErrInvalid
	// and the error itself. Nil makes lineage predicates an error.
	Resolve func(ref string) (int64, error)
	// Limit is the page size; the query's LIMIT is the total of all pages
	// (so the last page may be smaller). Zero means one page holding every
	// row, up to the query's LIMIT.
	Limit int64
	// Cursor continues a listing after the last row of the previous page; it
	// comes from Compiled.Cursor or Compiled.Seqs run on the same ORDER BY.
	// Compile only.
	Cursor string
	// NoDrive compiles the plain form of the query: every predicate a
	// condition on resources r, sort keys computed for each row, attributes
	// read from their JSON document. It returns the same rows in the same
	// order, often much more slowly; it exists so that tests can check
	// that the optimised forms agree with it.
	NoDrive bool
	// Deleted selects resources by their deletion state (the resources
	// column deleted_at): the zero value adds no condition.
	Deleted Deletion
	// Plans, if not nil, remembers across calls the choices Seqs makes
	// between the forms of a query by counting rows, so that it does not
	// count on every call.
	Plans *Plans
}

// Deletion is a condition on whether resources are deleted.
type Deletion int

const (
	// AnyDeletion adds no condition.
	AnyDeletion Deletion = iota
	// NotDeleted keeps the resources that are not deleted.
	NotDeleted
	// OnlyDeleted keeps the deleted resources.
	OnlyDeleted
)

// errNoDialect is the error of Compile and Where without a Dialect.
func errNoDialect(q *Query) error {
	return errorAt(q.src, 0, "query: Options.Dialect is not set")
}

// deletionFrag is the condition of d on r, if any.
func deletionFrag(d Deletion) (frag, bool) {
	switch d {
	case NotDeleted:
		return frag{sql: "r.deleted_at IS NULL"}, true
	case OnlyDeleted:
		return frag{sql: "r.deleted_at IS NOT NULL"}, true
	}
	return frag{}, false
}

// Compiled is a compiled query.
type Compiled struct {
	// Select is a SELECT of resource seqs, one page of them in order, with
	// ? placeholders. Its first column is the seq and SortKeys sort-key
	// columns follow (one for each ORDER BY term, two for a metadata or
	// attrs term: its type rank and its value), so that Cursor can be given
	// the values of the last row. In its plain form it is
	//
	//	SELECT r.seq[, <sort key> AS sort_0, ...] FROM resources r
	//	[WHERE ...] ORDER BY ..., r.seq [LIMIT n]
	//
	// but a query may instead be driven by an index of tags or metadata
	// (FROM tags dt JOIN resources r ...) or be a union of such parts, so
	// add no clauses to it other than a LIMIT.
	Select sq.SelectBuilder
	// SortKeys is the number of sort-key columns after the seq.
	SortKeys int
	// Limit is the LIMIT of Select, or 0 if it has none: the page size,
	// cut to what is left of the query's LIMIT.
	Limit int64
	// Total is the query's LIMIT, the most rows that all pages together
	// return, or 0 if it has none.
	Total int64

	order uint32 // fingerprint of the ORDER BY, checked by cursors
	done  int64  // rows the pages before the cursor returned
	split *split // Select's two forms apart, when it chooses by a count
	// fused is the statement of a single part (Select, or the scan of
	// split) with the columns and joins of Rows in it, for a dialect
	// without a Planner (see fusedSelect).
	fused *sq.SelectBuilder
	plans *Plans
	// volatile says the query read the clock or resolved a reference.
	volatile bool
	// sortsets are the sort terms of each part of the query and of its
	// plain form, which decide the shape of a cursor (cursorShape).
	sortsets [][]sortCol
	// shape holds the statements of a query compiled for the shape of a
	// cursor, with cursorSlots among their arguments (see Plans.Compile).
	shape *shapeTexts
	// texts holds the statements of Seqs, built once.
	texts     sync.Once
	textsErr  error
	sel, scan Statement
	lists     []Statement
	// keys are the sort-key columns in the page's order, and d the
	// dialect, for the statements of Rows (joins).
	keys  []pageKey
	d     Dialect
	joins joinedCache
}

// Compile compiles q into a SELECT of resource seqs. Errors are *Error and
// match ErrInvalid.
func Compile(q *Query, opts Options) (*Compiled, error) {
	return compile(q, opts, false)
}

// compile is Compile; when slotted, the values of the cursor are
// cursorSlots among the arguments (see keyset), for Plans to bind.
func compile(q *Query, opts Options, slotted bool) (*Compiled, error) {
	if opts.Dialect == nil {
		return nil, errNoDialect(q)
	}
	c := newCompiler(q, opts)
	c.slotted = slotted
	// A query that reads the clock or resolves references compiles to
	// other arguments another time: Plans must not keep it.
	now := c.now
	c.now = func() time.Time { c.volatile = true; return now() }
	if resolve := c.opts.Resolve; resolve != nil {
		c.opts.Resolve = func(ref string) (int64, error) { c.volatile = true; return resolve(ref) }
	}
	// The top-level conjuncts, each compiled as a condition on r, in order,
	// so that errors are those of the whole filter.
	conj := conjuncts(q.where)
	frags := make([]frag, len(conj))
	for i, x := range conj {
		c.sub = nil
		f, err := c.node(x)
		if err != nil {
			return nil, err
		}
		frags[i] = f
		if c.sub != nil && len(c.probes) < maxProbes && isMembership(x) {
			c.probes = append(c.probes, probe{i: i, sub: *c.sub})
		}
	}
	// The deletion condition comes after the conjuncts: it drives nothing,
	// and indexes i of frags stay those of conj.
	if f, ok := deletionFrag(opts.Deleted); ok {
		frags = append(frags, f)
	}
	width := 0
	for _, k := range q.order {
		width += c.sortWidth(k)
	}
	out := &Compiled{SortKeys: width, order: fingerprint(q.String() + "\x00" + strconv.Itoa(int(opts.Deleted))),
		keys: c.pageKeys(), d: c.d}
	var cur *cursor
	if opts.Cursor != "" {
		cc, err := decodeCursor(opts.Cursor, out.order, width)
		if err != nil {
			return nil, err
		}
		cur = &cc
	}
	// LIMIT is a total over all pages; Options.Limit is the page size.
	out.Total, out.Limit = q.limit, opts.Limit
	if cur != nil {
		out.done = cur.done
	}
	if out.Total > 0 {
		left := out.Total - out.done
		if left <= 0 {
			// The pages before returned the whole LIMIT.
			out.Limit = 1
			out.Select = partSelect(c.plain(frags), []frag{c.never()}, "r.seq").Limit(1)
			return out, nil
		}
		if out.Limit == 0 || left < out.Limit {
			out.Limit = left
		}
	}
	var parts []part
	switch {
	case c.indexPlans():
		parts = c.drive(conj, frags)
	case c.ordersByIndex():
		parts = c.indexOrder(conj, frags)
		if parts == nil {
			parts = c.metricIndexOrder(conj, frags)
		}
	}
	if parts == nil {
		parts = []part{c.plain(frags)}
	}
	for _, p := range parts {
		out.sortsets = append(out.sortsets, p.sorts)
	}
	// A window falls back to the plain form (see build).
	out.sortsets = append(out.sortsets, c.plain(frags).sorts)
	out.Select = c.build(parts, conj, frags, cur, out.Limit)
	out.split, out.fused, out.plans, out.volatile = c.split, c.fused, opts.Plans, c.volatile
	return out, nil
}

// conjuncts returns the top-level AND terms of a filter.
func conjuncts(n node) []node {
	switch n := n.(type) {
	case nil:
		return nil
	case *andNode:
		return n.xs
	}
	return []node{n}
}

// Where compiles the filter of q into a condition on the resources table
// aliased r, for callers that build their own SELECT. It uses Options.Now,
// Options.Resolve and Options.NoDrive only. A query with ORDER BY or LIMIT is
// an error; an empty one gives a condition that is always true.
func Where(q *Query, opts Options) (sq.Sqlizer, error) {
	if len(q.order) > 0 || q.limit > 0 {
		return nil, errorAt(q.src, q.tailPos, "ORDER BY and LIMIT are not allowed in this filter")
	}
	if opts.Dialect == nil {
		return nil, errNoDialect(q)
	}
	if q.where == nil {
		return sq.And{}, nil
	}
	w, err := newCompiler(q, opts).node(q.where)
	if err != nil {
		return nil, err
	}
	return sq.Expr(w.sql, w.args...), nil
}

// Querier runs a query; *sql.DB, *sql.Tx, *sql.Conn, *sqlx.DB and *sqlx.Tx
// are Queriers.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// PreparingQuerier is a Querier that can also run a statement through a
// plan it keeps for the next call, whatever its arguments (PostgreSQL: a
// named prepared statement, which PostgreSQL plans for its arguments for
// five calls and then keeps one generic plan if that is estimated no
// dearer). Seqs and Rows run through QueryPrepared the statements whose
// plan does not turn on the values bound: the count of a RowCounts
// dialect and the list it chooses when that count is small, read in full
// with no LIMIT that a plan could hope to stop at early. Planned for its
// arguments on every call, such a list spent 0.55 ms planning and 0.06 ms
// running on 10k resources.
type PreparingQuerier interface {
	Querier
	QueryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryRows runs text on db, through QueryPrepared when prepared and db is a
// PreparingQuerier.
func queryRows(ctx context.Context, db Querier, prepared bool, text string, args []any) (*sql.Rows, error) {
	if p, ok := db.(PreparingQuerier); ok && prepared {
		return p.QueryPrepared(ctx, text, args...)
	}
	return db.QueryContext(ctx, text, args...)
}

// Seqs runs the query and returns the seqs of one page of resources, in
// order, and the cursor of the next page, which is empty when this page is
// the last one: no rows follow, or the pages so far returned the query's
// LIMIT. It reads one row more than the limit to know that.
func (c *Compiled) Seqs(ctx context.Context, db Querier) (seqs []int64, next string, err error) {
	c.texts.Do(c.buildTexts)
	if c.textsErr != nil {
		return nil, "", c.textsErr
	}
	st, prepared := c.sel, false
	if c.split != nil {
		form, err := c.split.choose(ctx, db, c.plans)
		if err != nil {
			return nil, "", err
		}
		if st = c.scan; form >= 0 {
			st, prepared = c.lists[form], c.split.prepared
		}
	}
	rows, err := queryRows(ctx, db, prepared, st.SQL, st.Args)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var last []any
	dest := make([]any, 1+c.SortKeys)
	keys := make([]any, c.SortKeys)
	for rows.Next() {
		var seq int64
		dest[0] = &seq
		for i := range keys {
			dest[i+1] = &keys[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, "", err
		}
		if c.Limit > 0 && int64(len(seqs)) == c.Limit {
			if done := c.done + int64(len(seqs)); c.Total == 0 || done < c.Total {
				next, err = c.cursorAfter(seqs[len(seqs)-1], last, done)
				if err != nil {
					return nil, "", err
				}
			}
			break
		}
		seqs = append(seqs, seq)
		last = append(last[:0], keys...)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return seqs, next, nil
}

// buildTexts builds the statements Seqs runs, with the LIMIT that reads one
// row more than the page.
func (c *Compiled) buildTexts() {
	text := func(sb sq.SelectBuilder) Statement {
		if c.Limit > 0 && c.Limit < math.MaxInt64 {
			sb = sb.Limit(uint64(c.Limit) + 1)
		}
		t, args, err := sb.ToSql()
		if err != nil && c.textsErr == nil {
			c.textsErr = err
		}
		return Statement{SQL: t, Args: args}
	}
	if c.split != nil {
		c.scan = text(c.split.scan)
		c.lists = make([]Statement, len(c.split.lists))
		for i, l := range c.split.lists {
			c.lists[i] = text(l)
		}
		return
	}
	c.sel = text(c.Select)
}

// compiler compiles the filter of one query.
type compiler struct {
	q    *Query
	opts Options
	d    Dialect
	p    Planner // d's, nil without forms tuned to the planner
	now  func() time.Time
	// perRow compiles predicates on tags, metadata and attr_values as
	// lookups of the row of the resource (see member).
	perRow bool
	seqs   map[string]int64 // resolved lineage references
	// sub is the subquery of the last membership condition compiled
	// (r.seq IN (sub)); see member.
	sub *frag
	// probes are the first maxProbes top-level conjuncts that are
	// membership conditions, if any: see build and probed.
	probes []probe
	split  *split            // set by probed
	fused  *sq.SelectBuilder // set by build and counted
	// slotted writes the cursor's values as cursorSlots (see keyset).
	slotted bool
	// volatile is set when the compiler reads the clock or resolves a
	// reference.
	volatile bool
}

// maxProbes caps the membership conditions that a probed query counts.
const maxProbes = 4

// probe is a top-level conjunct r.seq IN (sub), the i-th.
type probe struct {
	i   int
	sub frag
}

// isMembership reports whether a top-level conjunct, compiled, is
// r.seq IN (subquery): a predicate on tags, a top-level metadata value or
// a top-level attribute that is not negated.
func isMembership(n node) bool {
	switch n := n.(type) {
	case *cmpNode:
		return n.op != opIsNull
	case *existsNode:
		return true
	}
	return false
}

func newCompiler(q *Query, opts Options) *compiler {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &compiler{q: q, opts: opts, d: opts.Dialect, now: now}
	if c.d != nil {
		c.p = c.d.Planner()
	}
	return c
}

// indexPlans reports whether the query may take the forms tuned to the
// engine's planner (see Dialect.Planner and Options.NoDrive).
func (c *compiler) indexPlans() bool { return !c.opts.NoDrive && c.p != nil }

// ordersByIndex reports whether a query ordered by a metadata value may
// read its metadata rows in that order (see IndexOrder and
// Options.NoDrive).
func (c *compiler) ordersByIndex() bool {
	o, ok := c.d.(IndexOrder)
	return ok && o.OrdersByIndex() && !c.opts.NoDrive
}

// countsRows reports whether a query in its plain form chooses its form by
// counting rows (see RowCounts and Options.NoDrive).
func (c *compiler) countsRows() bool {
	r, ok := c.d.(RowCounts)
	return ok && r.CountsRows() && !c.opts.NoDrive && c.p == nil
}

// never is a condition that is always false.
func (c *compiler) never() frag { return frag{sql: c.d.False()} }

// json returns Dialect.JSON as a fragment.
func (c *compiler) json(doc string, path []string, as JSONForm, nullable bool) frag {
	sql, args := c.d.JSON(doc, path, as)
	return frag{sql: sql, args: args, nullable: nullable}
}

// frag is a fragment of SQL with its arguments. Every fragment can be
// combined with AND, OR and NOT without more parentheses. nullable says it
// may be NULL instead of false.
type frag struct {
	sql      string
	args     []any
	nullable bool
}

// fb builds a frag.
type fb struct {
	b    strings.Builder
	args []any
}

func (f *fb) s(parts ...string) *fb {
	for _, p := range parts {
		f.b.WriteString(p)
	}
	return f
}

func (f *fb) arg(v any) *fb {
	f.b.WriteByte('?')
	f.args = append(f.args, v)
	return f
}

// typed writes the argument v with the placeholder d gives it.
func (f *fb) typed(d Dialect, v any) *fb {
	f.b.WriteString(d.Arg(v))
	f.args = append(f.args, v)
	return f
}

func (f *fb) frag(x frag) *fb {
	f.b.WriteString(x.sql)
	f.args = append(f.args, x.args...)
	return f
}

func (f *fb) done(nullable bool) frag {
	return frag{sql: f.b.String(), args: f.args, nullable: nullable}
}

func joinFrags(xs []frag, sep string) frag {
	if len(xs) == 1 {
		return xs[0]
	}
	var f fb
	nullable := false
	f.s("(")
	for i, x := range xs {
		if i > 0 {
			f.s(sep)
		}
		f.frag(x)
		nullable = nullable || x.nullable
	}
	f.s(")")
	return f.done(nullable)
}

// node compiles a boolean expression.
func (c *compiler) node(n node) (frag, error) {
	switch n := n.(type) {
	case *orNode:
		return c.nodes(n.xs, " OR ")
	case *andNode:
		return c.nodes(n.xs, " AND ")
	case *notNode:
		x, err := c.node(n.x)
		if err != nil {
			return frag{}, err
		}
		// NOT p is true whenever p is not true, also where p is NULL
		// because a column or a JSON value is missing.
		if x.nullable {
			return frag{sql: c.d.NotTrue(x.sql), args: x.args}, nil
		}
		var f fb
		return f.s("NOT (").frag(x).s(")").done(false), nil
	case *cmpNode:
		return c.cmp(n)
	case *existsNode:
		return c.exists(n.field), nil
	case *lineageNode:
		return c.lineage(n)
	}
	panic(fmt.Sprintf("query: unknown node %T", n))
}

func (c *compiler) nodes(xs []node, sep string) (frag, error) {
	fs := make([]frag, len(xs))
	for i, x := range xs {
		f, err := c.node(x)
		if err != nil {
			return frag{}, err
		}
		fs[i] = f
	}
	return joinFrags(fs, sep), nil
}

// accessors give a stored value as each type it can have: each accessor is
// NULL when the value does not have its type, so a comparison only matches
// values of the literal's type. An empty accessor means the type is not
// stored.
type accessors struct {
	str, num, boolean frag
}

// metaTop returns the accessors of a top-level metadata value: the indexed
// num and str columns.
func (c *compiler) metaTop() accessors {
	return accessors{
		str:     frag{sql: c.col("m.str")},
		num:     frag{sql: c.col("m.num")},
		boolean: c.json("m.value", nil, JSONBool, false),
	}
}

// attrTop returns the accessors of a top-level attribute: the indexed num
// and str columns of attr_values a. Booleans have none; they are read from
// the JSON.
func (c *compiler) attrTop() accessors {
	return accessors{str: frag{sql: c.col("a.str")}, num: frag{sql: c.col("a.num")}}
}

// col returns a column of an indexed value for a comparison. Compiled per
// row (see member), it is +col, which no index can search: SQLite must find
// the row by its primary key (resource_seq, key), not walk the rows of the
// key in the index of the value for each resource.
func (c *compiler) col(name string) string {
	if c.perRow {
		return c.p.Unindexed(name)
	}
	return name
}

// jsonAccessors gives the value at a JSON path of the document doc (a fixed
// column name).
func (c *compiler) jsonAccessors(doc string, path []string) accessors {
	return accessors{
		str:     c.json(doc, path, JSONText, false),
		num:     c.json(doc, path, JSONNumber, false),
		boolean: c.json(doc, path, JSONBool, false),
	}
}

// sqlOps are the SQL operators of the comparison operators.
var sqlOps = [...]string{opEq: " = ", opNe: " != ", opLt: " < ", opLe: " <= ", opGt: " > ", opGe: " >= "}

// typedArg returns the accessor of the value's type and the value as an
// argument.
func (c *compiler) typedArg(acc accessors, v value) (frag, any, error) {
	var a frag
	var arg any
	switch {
	case v.t != nil:
		a, arg = acc.num, v.t.at(c.now)
	case v.kind == valString:
		a, arg = acc.str, v.s
	case v.kind == valInt:
		a, arg = acc.num, v.i
	case v.kind == valFloat:
		a, arg = acc.num, v.f
	case v.kind == valBool:
		a, arg = acc.boolean, int64(0)
		if v.b {
			arg = int64(1)
		}
		if a.sql == "" && acc.str.sql != "" {
			// Tags hold text: true compares with the text 'true'.
			a, arg = acc.str, fmt.Sprint(v.b)
		}
	}
	if a.sql == "" {
		return frag{}, nil, errorAt(c.q.src, v.pos, "value cannot be compared with this field")
	}
	return a, arg, nil
}

// typed compiles a comparison, IN or LIKE of n against accessors.
func (c *compiler) typed(acc accessors, n *cmpNode) (frag, error) {
	var f fb
	switch n.op {
	case opEq, opNe, opLt, opLe, opGt, opGe:
		a, arg, err := c.typedArg(acc, n.vals[0])
		if err != nil {
			return frag{}, err
		}
		if _, text := arg.(string); text && n.op.ordering() {
			a.sql = c.d.Ordered(a.sql)
		}
		return f.frag(a).s(sqlOps[n.op]).typed(c.d, arg).done(true), nil
	case opIn, opNotIn:
		// Group the values by accessor, keeping their order: a value
		// matches when it has the type of a group and is (not) in it.
		var groups []frag
		var lists [][]any
		for _, v := range n.vals {
			a, arg, err := c.typedArg(acc, v)
			if err != nil {
				return frag{}, err
			}
			i := 0
			for i < len(groups) && groups[i].sql != a.sql {
				i++
			}
			if i == len(groups) {
				groups, lists = append(groups, a), append(lists, nil)
			}
			lists[i] = append(lists[i], arg)
		}
		parts := make([]frag, len(groups))
		kw := " IN ("
		if n.op == opNotIn {
			kw = " NOT IN ("
		}
		for i, a := range groups {
			var p fb
			p.frag(a).s(kw)
			for j, arg := range lists[i] {
				if j > 0 {
					p.s(", ")
				}
				p.typed(c.d, arg)
			}
			parts[i] = p.s(")").done(true)
		}
		return joinFrags(parts, " OR "), nil
	case opLike, opNotLike, opILike, opNotILike:
		fold := n.op == opILike || n.op == opNotILike
		if acc.str.sql == "" {
			if fold {
				return frag{}, errorAt(c.q.src, n.pos, "ILIKE applies to text")
			}
			return frag{}, errorAt(c.q.src, n.pos, "LIKE applies to text")
		}
		sql, args := c.d.Match(acc.str.sql, n.vals[0].s, fold, n.op == opNotLike || n.op == opNotILike)
		return frag{sql: sql, args: append(append([]any(nil), acc.str.args...), args...), nullable: true}, nil
	}
	panic("query: unexpected operator " + n.op.String())
}

// cmp compiles a predicate.
func (c *compiler) cmp(n *cmpNode) (frag, error) {
	spec := fieldSpecs[n.field.name]
	isNull := n.op == opIsNull || n.op == opIsNotNull
	var f fb
	if f, ok, err := c.refCmp(n, spec); ok || err != nil {
		return f, err
	}
	switch spec.kind {
	case kindText, kindNumber, kindTime:
		if isNull {
			return f.s(spec.col, " ", n.op.String()).done(false), nil
		}
		acc := accessors{str: frag{sql: spec.col}}
		if spec.kind != kindText {
			acc = accessors{num: frag{sql: spec.col}}
		}
		p, err := c.typed(acc, n)
		p.nullable = spec.nullable
		return p, err

	case kindRef:
		if isNull {
			return f.s(spec.col, " ", n.op.String()).done(false), nil
		}
		p, err := c.typed(accessors{str: frag{sql: spec.refCol}}, n)
		if err != nil {
			return frag{}, err
		}
		return f.s(spec.col, " IN (SELECT ", spec.target, " FROM ", spec.from, " WHERE ").frag(p).s(")").done(true), nil

	case kindTag:
		if isNull {
			return c.exists(n.field).negate(n.op == opIsNull), nil
		}
		p, err := c.typed(accessors{str: frag{sql: c.col("t.value")}, num: frag{sql: c.d.TextNumber("t.value")}}, n)
		if err != nil {
			return frag{}, err
		}
		return c.member("tags t", f.s("t.key = ").arg(n.field.keys[0]).s(" AND ").frag(p).done(false)), nil

	case kindAlias:
		// A chain member matches through any of the aliases that point to
		// it, as a resource matches through any of its tags.
		if isNull {
			return f.s("EXISTS (SELECT 1 FROM aliases al WHERE al.version_seq = r.seq)").done(false).negate(n.op == opIsNull), nil
		}
		p, err := c.typed(accessors{str: frag{sql: "al.name"}}, n)
		if err != nil {
			return frag{}, err
		}
		return f.s("r.seq IN (SELECT al.version_seq FROM aliases al WHERE ").frag(p).s(")").done(false), nil

	case kindMeta:
		key, path := n.field.keys[0], n.field.keys[1:]
		if isNull {
			f.s("EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ").arg(key).
				s(" AND ").frag(c.json("m.value", path, JSONNotNull, false)).s(")")
			return f.done(false).negate(n.op == opIsNull), nil
		}
		if len(path) > 0 {
			p, err := c.typed(c.jsonAccessors("m.value", path), n)
			if err != nil {
				return frag{}, err
			}
			return f.s("EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ").arg(key).
				s(" AND ").frag(p).s(")").done(false), nil
		}
		p, err := c.typed(c.metaTop(), n)
		if err != nil {
			return frag{}, err
		}
		if hasBool(n.vals) {
			// Booleans have no index; look them up by resource.
			return f.s("EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ").arg(key).
				s(" AND ").frag(p).s(")").done(false), nil
		}
		// Numbers and strings: driven by metadata_key_num and metadata_key_str.
		return c.member("metadata m", f.s("m.key = ").arg(key).s(" AND ").frag(p).done(false)), nil

	case kindMetric:
		// A resource's series key, by the metric_series indexes of
		// (key, column): metrics.loss < 0.2 reads the range of the index.
		key, col := metricField(n.field.keys)
		var cond fb
		cond.s("ms.resource_seq IS NOT NULL AND ms.key = ").arg(key)
		if isNull {
			return c.member("metric_series ms", cond.done(false)).negate(n.op == opIsNull), nil
		}
		for _, v := range n.vals {
			if v.t != nil || (v.kind != valInt && v.kind != valFloat) {
				var b strings.Builder
				n.field.write(&b)
				return frag{}, errorAt(c.q.src, v.pos, "%s is a number: compare it with numbers", b.String())
			}
		}
		p, err := c.typed(accessors{num: frag{sql: c.col(col)}}, n)
		if err != nil {
			return frag{}, err
		}
		return c.member("metric_series ms", cond.s(" AND ").frag(p).done(false)), nil

	case kindAttr:
		path := n.field.keys
		// Top-level attributes are read from attr_values, by its indexes,
		// on every engine (the plain form reads the JSON).
		top := len(n.field.keys) == 1 && !c.opts.NoDrive
		if isNull && top {
			return c.attrPresent(n.field.keys[0], path, true).negate(n.op == opIsNull), nil
		}
		if top && !hasBool(n.vals) {
			// Numbers and strings: driven by attr_values_key_num and
			// attr_values_key_str.
			p, err := c.typed(c.attrTop(), n)
			if err != nil {
				return frag{}, err
			}
			return c.member("attr_values a", f.s("a.key = ").arg(n.field.keys[0]).s(" AND ").frag(p).done(false)), nil
		}
		if isNull {
			as := JSONIsNull
			if n.op == opIsNotNull {
				as = JSONIsNotNull
			}
			return c.json("r.attrs", path, as, false), nil
		}
		p, err := c.typed(c.jsonAccessors("r.attrs", path), n)
		p.nullable = true
		return p, err
	}
	panic("query: unexpected field kind")
}

func hasBool(vals []value) bool {
	for _, v := range vals {
		if v.kind == valBool {
			return true
		}
	}
	return false
}

// negate returns NOT f when not is true, else f; f must not be nullable.
func (f frag) negate(not bool) frag {
	if !not {
		return f
	}
	return frag{sql: "NOT (" + f.sql + ")", args: f.args}
}

// exists compiles EXISTS field: the tag or metadata key is set (even to JSON
// null), or the attribute path exists.
func (c *compiler) exists(fl field) frag {
	var f fb
	switch fieldSpecs[fl.name].kind {
	case kindTag:
		return c.member("tags t", f.s("t.key = ").arg(fl.keys[0]).done(false))
	case kindMetric:
		return c.member("metric_series ms", f.s("ms.resource_seq IS NOT NULL AND ms.key = ").arg(fl.keys[0]).done(false))
	case kindMeta:
		f.s("EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ").arg(fl.keys[0])
		if len(fl.keys) > 1 {
			f.s(" AND ").frag(c.json("m.value", fl.keys[1:], JSONExists, false))
		}
		return f.s(")").done(false)
	default:
		if len(fl.keys) == 1 && !c.opts.NoDrive {
			return c.attrPresent(fl.keys[0], nil, false)
		}
		return c.json("r.attrs", fl.keys, JSONExists, false)
	}
}

// member is the condition that the resource has a row in table (with its
// alias: "tags t") that satisfies cond: r.seq IN (SELECT ...), which SQLite
// can search an index of the table for; or, when c.perRow, the lookup of the
// resource's rows by the primary key (resource_seq, key), for queries driven
// by another index, which check a few rows each.
func (c *compiler) member(table string, cond frag) frag {
	alias := table[strings.IndexByte(table, ' ')+1:]
	var f fb
	if c.perRow {
		return f.s("EXISTS (SELECT 1 FROM ", table, " WHERE ", alias, ".resource_seq = r.seq AND ").frag(cond).s(")").done(false)
	}
	var sub fb
	return c.in(sub.s("SELECT ", alias, ".resource_seq FROM ", table, " WHERE ").frag(cond).done(false))
}

// in returns r.seq IN (sub), and notes sub in c.sub.
func (c *compiler) in(sub frag) frag {
	c.sub = &sub
	var f fb
	return f.s("r.seq IN (").frag(sub).s(")").done(false)
}

// attrPresent is the condition that the resource has the top-level
// attribute key, and when notNull that its value is not JSON null (path is
// then [key]). Each arm of the union is searched by one of the
// partial indexes of attr_values; a value that is neither a number nor a
// string has both columns NULL, and only those are looked up in the JSON.
func (c *compiler) attrPresent(key string, path []string, notNull bool) frag {
	var f fb
	if c.perRow {
		f.s("EXISTS (SELECT 1 FROM attr_values a WHERE a.resource_seq = r.seq AND a.key = ").arg(key)
		if notNull {
			f.s(" AND (a.num IS NOT NULL OR a.str IS NOT NULL OR ").frag(c.json("r.attrs", path, JSONNotNull, false)).s(")")
		}
		return f.s(")").done(false)
	}
	f.s("SELECT a.resource_seq FROM attr_values a WHERE a.key = ").arg(key).s(" AND a.num IS NOT NULL",
		" UNION ALL SELECT a.resource_seq FROM attr_values a WHERE a.key = ").arg(key).s(" AND a.str IS NOT NULL",
		" UNION ALL SELECT a.resource_seq FROM attr_values a")
	if notNull {
		f.s(" JOIN resources x ON x.seq = a.resource_seq WHERE a.key = ").arg(key).
			s(" AND a.num IS NULL AND a.str IS NULL AND ").frag(c.json("x.attrs", path, JSONNotNull, false))
	} else {
		f.s(" WHERE a.key = ").arg(key).s(" AND a.num IS NULL AND a.str IS NULL")
	}
	return c.in(f.done(false))
}

// lineage compiles upstream_of and downstream_of into a recursive walk of
// the edges table from the resolved resource. Without a depth, UNION drops
// rows already seen, so cycles end the walk; with one, the depth column caps
// it. The start resource itself is never part of the result.
func (c *compiler) lineage(n *lineageNode) (frag, error) {
	name := "upstream_of"
	from, to := "e.dst_seq", "e.src_seq" // upstream: walk edges from dst back to src
	if n.down {
		name = "downstream_of"
		from, to = "e.src_seq", "e.dst_seq"
	}
	if c.opts.Resolve == nil {
		return frag{}, errorAt(c.q.src, n.refPos, "%s needs a resolver (Options.Resolve)", name)
	}
	seq, err := c.resolve(n.ref, n.refPos, name)
	if err != nil {
		return frag{}, err
	}
	// Searches of live resources walk the live graph: a deleted resource
	// is neither reached nor passed through.
	live, step := "", ""
	if c.opts.Deleted == NotDeleted {
		live = " AND " + to + " NOT IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)"
		step = " WHERE " + strings.TrimPrefix(live, " AND ")
	}
	var f fb
	if n.depth == 0 {
		f.s("r.seq IN (WITH RECURSIVE lineage(seq) AS (SELECT ", to, " FROM edges e WHERE ", from, " = ").arg(seq).
			s(live, " UNION SELECT ", to, " FROM edges e JOIN lineage l ON ", from, " = l.seq", step, ")",
				" SELECT seq FROM lineage WHERE seq != ").arg(seq).s(")")
	} else {
		f.s("r.seq IN (WITH RECURSIVE lineage(seq, depth) AS (SELECT ", to, ", 1 FROM edges e WHERE ", from, " = ").arg(seq).
			s(live, " UNION SELECT ", to, ", l.depth + 1 FROM edges e JOIN lineage l ON ", from, " = l.seq WHERE l.depth < ").arg(n.depth).
			s(live, ") SELECT seq FROM lineage WHERE seq != ").arg(seq).s(")")
	}
	return f.done(false), nil
}

// refFields are the fields that hold a resource id and the column of the
// resource's seq that a reference compares with.
var refFields = map[string]string{"id": "r.seq", "parent": "r.parent_seq"}

// IsReference reports whether s, given where an id is expected, is a
// reference (type/name...) rather than an id: ids hold no slash.
func IsReference(s string) bool { return strings.Contains(s, "/") }

// refCmp compiles =, !=, IN and NOT IN on id or parent when a value is a
// reference (model_version/titanic_model@2): each reference is resolved,
// like the one of a lineage predicate, and compared by seq; ids compare as
// text. ok is false when n has no reference.
func (c *compiler) refCmp(n *cmpNode, spec fieldSpec) (frag, bool, error) {
	seqCol, isRefField := refFields[n.field.name]
	if !isRefField || n.op != opEq && n.op != opNe && n.op != opIn && n.op != opNotIn {
		return frag{}, false, nil
	}
	var ids []any
	var seqs []any
	for _, v := range n.vals {
		if !IsReference(v.s) {
			ids = append(ids, v.s)
			continue
		}
		seq, err := c.resolve(v.s, v.pos, n.field.name)
		if err != nil {
			return frag{}, true, err
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) == 0 {
		return frag{}, false, nil
	}
	in := func(f *fb, col string, args []any) {
		f.s(col, " IN (")
		for i, a := range args {
			if i > 0 {
				f.s(", ")
			}
			f.arg(a)
		}
		f.s(")")
	}
	var f fb
	f.s("(")
	in(&f, seqCol, seqs)
	if len(ids) > 0 {
		f.s(" OR ")
		if spec.kind == kindRef {
			f.s(spec.col, " IN (SELECT ", spec.target, " FROM ", spec.from, " WHERE ")
			in(&f, spec.refCol, ids)
			f.s(")")
		} else {
			in(&f, spec.col, ids)
		}
	}
	f.s(")")
	pos := f.done(spec.nullable)
	if n.op == opNe || n.op == opNotIn {
		// Like the other comparisons, != and NOT IN match no resource
		// without a parent.
		var neg fb
		neg.s("(")
		if spec.nullable {
			neg.s(spec.col, " IS NOT NULL AND ")
		}
		return neg.frag(frag{sql: c.d.NotTrue(pos.sql), args: pos.args}).s(")").done(false), true, nil
	}
	return pos, true, nil
}

// resolve resolves a reference at offset pos of the query, for what (a
// field or a lineage function), with Options.Resolve.
func (c *compiler) resolve(ref string, pos int, what string) (int64, error) {
	if c.opts.Resolve == nil {
		return 0, errorAt(c.q.src, pos, "a reference in %s needs a resolver (Options.Resolve)", what)
	}
	if seq, ok := c.seqs[ref]; ok {
		return seq, nil
	}
	seq, err := c.opts.Resolve(ref)
	if err != nil {
		e := errorAt(c.q.src, pos, "cannot resolve %q: %v", ref, err)
		e.Err = err
		return 0, e
	}
	if c.seqs == nil {
		c.seqs = map[string]int64{}
	}
	c.seqs[ref] = seq
	return seq, nil
}
