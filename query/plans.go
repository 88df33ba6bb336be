package query

import (
	"container/list"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"
)

// split is a probed query in separate statements: the count that chooses
// between its forms (see probed), and each form, without a LIMIT.
type split struct {
	count     string // SELECT count (capped at probeLimit), max(seq)
	countArgs []any
	page      int64
	scan      sq.SelectBuilder
	list      sq.SelectBuilder
}

// choose reports whether the walk (scan) is the faster form, from the
// count, or from the choice plans remembers for the same count statement
// and arguments.
func (s *split) choose(ctx context.Context, db Querier, plans *Plans) (bool, error) {
	key := ""
	if plans != nil {
		key = plans.key(s.count, s.countArgs)
		if scan, ok := plans.get(key); ok {
			return scan, nil
		}
	}
	rows, err := db.QueryContext(ctx, s.count, s.countArgs...)
	if err != nil {
		return false, err
	}
	var count, maxSeq int64
	if rows.Next() {
		err = rows.Scan(&count, &maxSeq)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return false, err
	}
	// The overflow-safe form of count² >= scanFactor × page × resources.
	scan := float64(count)*float64(count) >= float64(scanFactor)*float64(s.page)*float64(maxSeq)
	if plans != nil {
		plans.put(key, scan)
	}
	return scan, nil
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
}

type compiledEntry struct {
	key compileKey
	q   *Query
	c   *Compiled
}

// Compile parses and compiles src as Parse and Compile do, and keeps the
// result (at most PlanCacheSize of them) for the next call with the same
// text and options: a query without a cursor that neither reads the clock
// (now-7d) nor resolves references compiles the same way every time.
// Callers must not change the returned Query or Compiled. A parse error is
// returned as Parse returns it, with a nil Compiled.
func (p *Plans) Compile(src string, opts Options) (*Query, *Compiled, error) {
	key := compileKey{src: src, limit: opts.Limit, deleted: opts.Deleted, noDrive: opts.NoDrive}
	if opts.Dialect != nil {
		key.dialect = opts.Dialect.Name()
	}
	if opts.Cursor == "" {
		p.mu.Lock()
		if e, ok := p.byQuery[key]; ok {
			p.queries.MoveToFront(e)
			ce := e.Value.(*compiledEntry)
			p.mu.Unlock()
			return ce.q, ce.c, nil
		}
		p.mu.Unlock()
	}
	q, err := Parse(src)
	if err != nil {
		return nil, nil, err
	}
	opts.Plans = p
	c, err := Compile(q, opts)
	if err != nil || opts.Cursor != "" || c.volatile {
		return q, c, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queries == nil {
		p.queries, p.byQuery = list.New(), map[compileKey]*list.Element{}
	}
	if e, ok := p.byQuery[key]; ok {
		p.queries.Remove(e)
	}
	p.byQuery[key] = p.queries.PushFront(&compiledEntry{key: key, q: q, c: c})
	for p.queries.Len() > PlanCacheSize {
		e := p.queries.Back()
		p.queries.Remove(e)
		delete(p.byQuery, e.Value.(*compiledEntry).key)
	}
	return q, c, nil
}

// The bounds of Plans.
const (
	PlanCacheSize = 256
	PlanMaxAge    = 10 * time.Second
	PlanMaxUses   = 10000
)

type choice struct {
	key  string
	scan bool
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

func (p *Plans) get(key string) (scan, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[key]
	if !ok {
		return false, false
	}
	ch := e.Value.(*choice)
	ch.uses++
	if ch.uses > PlanMaxUses || p.clock().Sub(ch.at) > PlanMaxAge {
		p.lru.Remove(e)
		delete(p.m, key)
		return false, false
	}
	p.lru.MoveToFront(e)
	return ch.scan, true
}

func (p *Plans) put(key string, scan bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lru == nil {
		p.lru, p.m = list.New(), map[string]*list.Element{}
	}
	if e, ok := p.m[key]; ok {
		p.lru.Remove(e)
	}
	p.m[key] = p.lru.PushFront(&choice{key: key, scan: scan, at: p.clock()})
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
// that Seqs adds: Select alone, or, for a query that chooses between two
// forms by a count, the count and the two forms (the walk first). Plan
// checks use them.
func (c *Compiled) Statements() ([]Statement, error) {
	sbs := []sq.SelectBuilder{c.Select}
	if c.split != nil {
		sbs = []sq.SelectBuilder{c.split.scan, c.split.list}
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
