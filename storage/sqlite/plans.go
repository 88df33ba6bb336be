package sqlite

import (
	"container/list"
	"context"

	"github.com/jmoiron/sqlx"
)

// PlanCacheSize bounds the prepared statements that Plan keeps: generated
// queries (searches, lineage walks) come in as many texts as callers write
// filters, so the least recently used are closed beyond it.
const PlanCacheSize = 256

// plans is the bounded cache of Plan. Its fields are guarded by DB.mu.
type plans struct {
	lru       *list.List               // of *plan, most recently used first
	byQuery   map[string]*list.Element // of lru
	seen      map[string]bool          // texts run once, not yet prepared
	preparing map[string]bool
}

// plan is a prepared reader statement of Plan and its users: an evicted
// plan is closed when its last user releases it.
type plan struct {
	query   string
	stmt    *sqlx.Stmt
	users   int
	evicted bool
}

// Plan returns the prepared reader statement of a generated query text and
// the function to call once done with it, or nil and a no-op when it is
// not prepared yet: a text is prepared in the background the second time
// it is asked for (so that one-off texts cost no preparation), and kept
// among the PlanCacheSize most recently used. It serves the statements
// run outside a transaction (Reader); a read transaction keeps plans of its
// own connection.
func (d *DB) Plan(query string) (*sqlx.Stmt, func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, func() {}
	}
	p := &d.plans
	if p.lru == nil {
		p.lru, p.byQuery, p.seen, p.preparing = list.New(), map[string]*list.Element{}, map[string]bool{}, map[string]bool{}
	}
	if e, ok := p.byQuery[query]; ok {
		p.lru.MoveToFront(e)
		pl := e.Value.(*plan)
		pl.users++
		return pl.stmt, func() { d.releasePlan(pl) }
	}
	if !p.seen[query] {
		if len(p.seen) >= 4*PlanCacheSize {
			clear(p.seen)
		}
		p.seen[query] = true
		return nil, func() {}
	}
	if !p.preparing[query] {
		p.preparing[query] = true
		d.bg.Add(1)
		go d.preparePlan(query)
	}
	return nil, func() {}
}

func (d *DB) preparePlan(query string) {
	defer d.bg.Done()
	s, err := d.Readers.PreparexContext(context.Background(), query)
	d.mu.Lock()
	defer d.mu.Unlock()
	p := &d.plans
	delete(p.preparing, query)
	delete(p.seen, query)
	if err != nil {
		return // the query runs as text, and reports its error there
	}
	if d.closed {
		s.Close()
		return
	}
	p.byQuery[query] = p.lru.PushFront(&plan{query: query, stmt: s})
	for p.lru.Len() > PlanCacheSize {
		e := p.lru.Back()
		pl := e.Value.(*plan)
		p.lru.Remove(e)
		delete(p.byQuery, pl.query)
		pl.evicted = true
		if pl.users == 0 {
			pl.stmt.Close()
		}
	}
}

func (d *DB) releasePlan(pl *plan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pl.users--
	if pl.users == 0 && pl.evicted {
		pl.stmt.Close()
	}
}

// closePlans closes every cached plan; d.mu is held.
func (d *DB) closePlans() {
	p := &d.plans
	if p.lru == nil {
		return
	}
	for e := p.lru.Front(); e != nil; e = e.Next() {
		pl := e.Value.(*plan)
		pl.evicted = true
		if pl.users == 0 {
			pl.stmt.Close()
		}
	}
	p.lru.Init()
	clear(p.byQuery)
}
