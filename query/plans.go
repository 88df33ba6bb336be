package query

import (
	"container/list"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"
)

// split is a probed query in separate statements: the count that chooses
// between its forms (see probed), and each form, without a LIMIT: the
// walk (scan), and the list of each sub (lists, in the order of
// compiler.probes).
type split struct {
	count     string // SELECT the count of each sub (capped at probeLimit), max(seq)
	countArgs []any
	page      int64
	scan      sq.SelectBuilder
	lists     []sq.SelectBuilder
	// prepared says that the count and the lists run prepared (see
	// PreparingQuerier): those of a RowCounts dialect, read in full.
	prepared bool
}

// choose returns the faster form: -1 for the walk (scan), else the index
// of the list of the smallest sub, from the counts, or from the choice
// plans remembers for the same count statement and arguments.
func (s *split) choose(ctx context.Context, db Querier, plans *Plans) (int, error) {
	key := ""
	if plans != nil {
		key = plans.key(s.count, s.countArgs)
		if form, ok := plans.get(key); ok {
			return form, nil
		}
	}
	rows, err := queryRows(ctx, db, s.prepared, s.count, s.countArgs)
	if err != nil {
		return 0, err
	}
	counts := make([]int64, len(s.lists)+1) // then max(seq)
	if rows.Next() {
		dest := make([]any, len(counts))
		for i := range counts {
			dest[i] = &counts[i]
		}
		err = rows.Scan(dest...)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, err
	}
	form, maxSeq := 0, counts[len(s.lists)]
	for i, n := range counts[:len(s.lists)] {
		if n < counts[form] {
			form = i
		}
	}
	// The overflow-safe form of count² >= scanFactor × page × resources.
	if count := counts[form]; float64(count)*float64(count) >= float64(scanFactor)*float64(s.page)*float64(maxSeq) {
		form = -1
	}
	if plans != nil {
		plans.put(key, form)
	}
	return form, nil
}

// Plans remembers, for a bounded number of queries, the choice between
// the forms of a query that Seqs makes by counting rows: both forms return
// the same rows, so a choice that has gone stale costs time, never
// results. A choice is counted again after PlanMaxAge or PlanMaxUses. The
// zero value is ready to use; it is safe for concurrent use.
type Plans struct {
	mu  sync.Mutex
	lru *list.List // of *choice, most recent first
	m   map[string]*list.Element
	now func() time.Time // tests fix it

	// queries are compiled queries by their text and options, most
	// recent first (of *compiledEntry).
	queries *list.List
	byQuery map[compileKey]*list.Element
}

type compileKey struct {
	dialect string
	src     string
	limit   int64
	deleted Deletion
	noDrive bool
	// shape is "" for the query without a cursor, else the shape of
	// the cursor (see shapeKey).
	shape string
}

type compiledEntry struct {
	key compileKey
	q   *Query
	c   *Compiled // nil when volatile
	// volatile says the query reads the clock or resolves a reference:
	// only its parse is kept, and it is compiled on every call.
	volatile bool
}

// Compile parses and compiles src as Parse and Compile do, and keeps the
// result (at most PlanCacheSize of them, with those below) for the next
// call with the same text and options: a query that neither reads the
// clock (now-7d) nor resolves references compiles the same way every time.
//
// A query with a cursor compiles the same way for every cursor of the
// same shape (the cursor's values are NULL or not, and the parts of the
// query it has passed; see cursorShape) and the same page size: Compile
// keeps that statement, with the cursor's values left as arguments, and
// binds the values of each cursor to it. A cursor made for another query
// or ORDER BY is refused as Compile refuses it.
//
// Callers must not change the returned Query or Compiled. A parse error is
// returned as Parse returns it, with a nil Compiled.
func (p *Plans) Compile(src string, opts Options) (*Query, *Compiled, error) {
	key := compileKey{src: src, limit: opts.Limit, deleted: opts.Deleted, noDrive: opts.NoDrive}
	if opts.Dialect != nil {
		key.dialect = opts.Dialect.Name()
	}
	opts.Plans = p
	if opts.Cursor != "" {
		return p.compileAfter(src, key, opts)
	}
	if e, ok := p.cached(key); ok {
		if e.volatile {
			c, err := Compile(e.q, opts)
			return e.q, c, err
		}
		return e.q, e.c, nil
	}
	q, err := Parse(src)
	if err != nil {
		return nil, nil, err
	}
	c, err := Compile(q, opts)
	if err != nil {
		return q, c, err
	}
	p.store(&compiledEntry{key: key, q: q, c: c, volatile: c.volatile})
	return q, c, nil
}

// compileAfter is Compile of a query with a cursor.
func (p *Plans) compileAfter(src string, key compileKey, opts Options) (*Query, *Compiled, error) {
	first := opts
	first.Cursor = ""
	var q *Query
	var base *Compiled
	if e, ok := p.cached(key); ok {
		q, base = e.q, e.c
	} else {
		var err error
		if q, base, err = p.Compile(src, first); q == nil {
			return nil, nil, err
		} else if err != nil {
			base = nil
		}
	}
	if base == nil || base.volatile {
		// Compiled as it comes, its errors those of Compile.
		c, err := Compile(q, opts)
		return q, c, err
	}
	cur, err := decodeCursor(opts.Cursor, base.order, base.SortKeys)
	if err != nil {
		return q, nil, err
	}
	skey := key
	skey.shape = shapeKey(base, cur, opts.Limit)
	if e, ok := p.cached(skey); ok {
		return q, e.c.bind(cur), nil
	}
	s, err := compile(q, opts, true)
	if err == nil && !s.volatile {
		s.shape = newShapeTexts(s)
	}
	if err != nil || s.shape == nil {
		c, err := Compile(q, opts)
		return q, c, err
	}
	p.store(&compiledEntry{key: skey, q: q, c: s})
	return q, s.bind(cur), nil
}

// shapeKey returns the shape of the cursor cur of the query compiled as
// base with pages of limit rows: the page's LIMIT, which the query's LIMIT
// (a total) cuts near its end, and the cursorShape; "end" when the pages
// before returned the query's LIMIT.
func shapeKey(base *Compiled, cur cursor, limit int64) string {
	if base.Total > 0 {
		left := base.Total - cur.done
		if left <= 0 {
			return "end"
		}
		if limit == 0 || left < limit {
			limit = left
		}
	}
	var b strings.Builder
	b.WriteString(strconv.FormatInt(limit, 10))
	b.WriteByte(':')
	cursorShape(&b, base.sortsets, cur)
	return b.String()
}

// cached returns the entry of key, if any, as the most recently used.
func (p *Plans) cached(key compileKey) (*compiledEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byQuery[key]
	if !ok {
		return nil, false
	}
	p.queries.MoveToFront(e)
	return e.Value.(*compiledEntry), true
}

// store keeps ce, dropping the least recently used entries beyond
// PlanCacheSize.
func (p *Plans) store(ce *compiledEntry) {
	if ce.volatile {
		ce.c = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queries == nil {
		p.queries, p.byQuery = list.New(), map[compileKey]*list.Element{}
	}
	if e, ok := p.byQuery[ce.key]; ok {
		p.queries.Remove(e)
	}
	p.byQuery[ce.key] = p.queries.PushFront(ce)
	for p.queries.Len() > PlanCacheSize {
		e := p.queries.Back()
		p.queries.Remove(e)
		delete(p.byQuery, e.Value.(*compiledEntry).key)
	}
}

// shapeTexts are the statements of a query compiled for a cursor's shape:
// Select without its LIMIT, and the two forms of its split, if any, as
// templates whose arguments hold cursorSlots.
type shapeTexts struct {
	sel, scan template
	lists     []template
	fused     *template // of Compiled.fused, when there is one
}

// newShapeTexts returns the shapeTexts of s, or nil when a statement does
// not come back from its template word for word.
func newShapeTexts(s *Compiled) *shapeTexts {
	var st shapeTexts
	var ok bool
	if st.sel, ok = newTemplate(s.Select.RemoveLimit(), s.Limit); !ok {
		return nil
	}
	if text, args, err := st.sel.with(st.sel.args).ToSql(); err != nil || !sameStatement(s.Select, text, args) {
		return nil
	}
	if s.fused != nil {
		// Like Select's, or like the scan's when there is a split.
		sb, limit := s.fused.RemoveLimit(), s.Limit
		if s.split != nil {
			sb, limit = *s.fused, 0
		}
		f, ok := newTemplate(sb, limit)
		if !ok {
			return nil
		}
		if text, args, err := f.with(f.args).ToSql(); err != nil || !sameStatement(*s.fused, text, args) {
			return nil
		}
		st.fused = &f
	}
	if s.split != nil {
		if st.scan, ok = newTemplate(s.split.scan, 0); !ok {
			return nil
		}
		for _, l := range s.split.lists {
			t, ok := newTemplate(l, 0)
			if !ok {
				return nil
			}
			st.lists = append(st.lists, t)
		}
	}
	return &st
}

// sameStatement reports whether sb is the statement text with args.
func sameStatement(sb sq.SelectBuilder, text string, args []any) bool {
	t, a, err := sb.ToSql()
	return err == nil && t == text && reflect.DeepEqual(a, args)
}

// bind returns the query compiled for a cursor's shape (s) with the
// values of the cursor cur.
func (s *Compiled) bind(cur cursor) *Compiled {
	out := &Compiled{SortKeys: s.SortKeys, Limit: s.Limit, Total: s.Total, order: s.order, done: cur.done,
		plans: s.plans, sortsets: s.sortsets, keys: s.keys, d: s.d}
	out.Select = s.shape.sel.with(bindSlots(s.shape.sel.args, cur))
	if f := s.shape.fused; f != nil {
		fb := f.with(bindSlots(f.args, cur))
		out.fused = &fb
	}
	if s.split != nil {
		sp := *s.split
		sp.scan = s.shape.scan.with(bindSlots(s.shape.scan.args, cur))
		sp.lists = make([]sq.SelectBuilder, len(s.shape.lists))
		for i, t := range s.shape.lists {
			sp.lists[i] = t.with(bindSlots(t.args, cur))
		}
		out.split = &sp
	}
	return out
}

// template is the text of a SELECT cut where squirrel joins its parts: a
// prefix (WITH ...) if any, and the body after the SELECT keyword; base
// is the builder of the template without its arguments.
type template struct {
	prefix, body string
	args         []any
	base         sq.SelectBuilder
}

// newTemplate returns the template of sb with a LIMIT of limit rows (none
// if 0), and whether it gives back the text of sb.
func newTemplate(sb sq.SelectBuilder, limit int64) (template, bool) {
	text, args, err := sb.ToSql()
	if err != nil {
		return template{}, false
	}
	t := template{args: args}
	switch {
	case strings.HasPrefix(text, "SELECT "):
		t.body = text[len("SELECT "):]
	case strings.HasPrefix(text, "WITH "):
		i := outerSelect(text)
		if i < 0 {
			return template{}, false
		}
		t.prefix, t.body = text[:i], text[i+len(" SELECT "):]
	default:
		return template{}, false
	}
	t.base = sq.Select().PlaceholderFormat(sq.Question)
	if t.prefix != "" {
		t.base = t.base.Column(t.body)
	}
	if t.base = t.base.Limit(uint64(limit)); limit == 0 {
		t.base = t.base.RemoveLimit()
	}
	if limit > 0 {
		return t, true // checked against the statement with its LIMIT
	}
	return t, sameStatement(t.with(args), text, args)
}

// outerSelect returns the offset of " SELECT " in a WITH statement where
// it starts the statement after its common table expressions: outside
// parentheses and quotes; -1 if there is none.
func outerSelect(text string) int {
	depth := 0
	quoted := false
	for i := 0; i < len(text); i++ {
		switch ch := text[i]; {
		case ch == '\'':
			quoted = !quoted
		case quoted:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case depth == 0 && strings.HasPrefix(text[i:], " SELECT "):
			return i
		}
	}
	return -1
}

// with returns the SELECT of the template with args.
func (t template) with(args []any) sq.SelectBuilder {
	if t.prefix != "" {
		return t.base.Prefix(t.prefix, args...)
	}
	return t.base.Column(t.body, args...)
}

// The bounds of Plans.
const (
	PlanCacheSize = 256
	PlanMaxAge    = 10 * time.Second
	PlanMaxUses   = 10000
)

type choice struct {
	key  string
	form int // see split.choose
	at   time.Time
	uses int
}

func (p *Plans) key(text string, args []any) string {
	var b strings.Builder
	b.WriteString(text)
	for _, a := range args {
		b.WriteByte(0)
		switch v := a.(type) {
		case string:
			b.WriteByte('s')
			b.WriteString(v)
		case int64:
			b.WriteByte('i')
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			fmt.Fprintf(&b, "%T:%v", a, a)
		}
	}
	return b.String()
}

func (p *Plans) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

func (p *Plans) get(key string) (form int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[key]
	if !ok {
		return 0, false
	}
	ch := e.Value.(*choice)
	ch.uses++
	if ch.uses > PlanMaxUses || p.clock().Sub(ch.at) > PlanMaxAge {
		p.lru.Remove(e)
		delete(p.m, key)
		return 0, false
	}
	p.lru.MoveToFront(e)
	return ch.form, true
}

func (p *Plans) put(key string, form int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lru == nil {
		p.lru, p.m = list.New(), map[string]*list.Element{}
	}
	if e, ok := p.m[key]; ok {
		p.lru.Remove(e)
	}
	p.m[key] = p.lru.PushFront(&choice{key: key, form: form, at: p.clock()})
	for p.lru.Len() > PlanCacheSize {
		e := p.lru.Back()
		p.lru.Remove(e)
		delete(p.m, e.Value.(*choice).key)
	}
}

// Len returns the number of choices remembered.
func (p *Plans) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lru == nil {
		return 0
	}
	return p.lru.Len()
}

// Statement is a SQL text with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// Statements returns the statements Seqs may run, each without the LIMIT
// that Seqs adds: Select alone, or, for a query that chooses between its
// forms by a count, the count and the forms (the walk first, then the
// list of each membership condition). Plan checks use them.
func (c *Compiled) Statements() ([]Statement, error) {
	sbs := []sq.SelectBuilder{c.Select}
	if c.split != nil {
		sbs = append([]sq.SelectBuilder{c.split.scan}, c.split.lists...)
	}
	var out []Statement
	if c.split != nil {
		out = append(out, Statement{SQL: c.split.count, Args: c.split.countArgs})
	}
	for _, sb := range sbs {
		text, args, err := sb.ToSql()
		if err != nil {
			return nil, err
		}
		out = append(out, Statement{SQL: text, Args: args})
	}
	return out, nil
}
