package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
)

// Read transactions (ReadTx) run on connections of their own, each kept with
// the statements prepared on it until it has been idle for snapIdleTime: a
// read transaction takes one (the most recently used), runs a prepared
// BEGIN, its statements as they are prepared on that connection, and a
// prepared ROLLBACK. A pool statement run inside a
// database/sql transaction is bound to the transaction's connection again
// on every call (Tx.Stmt), and its BEGIN and ROLLBACK are parsed each time:
// on a walk of a few nodes that was a third of the call.

// Bounds of the statements a snapshot connection keeps prepared.
const (
	// snapFixedMax bounds the fixed statements (texts of Statements and the
	// lineage walks' few texts); beyond it a text runs unprepared.
	snapFixedMax = 512
	// snapPlanMax bounds the generated statements (searches), least
	// recently used closed first.
	snapPlanMax = 128
)

// snapIdleTime is how long a snapshot connection may sit idle before the
// pool closes it. The pool hands out the most recently used connection
// first, so under a steady load the connections in use stay at the top of
// the stack and those a burst opened sink to the bottom and expire; a burst
// that returns within the bound finds its connections, with their prepared
// statements, still open. A minute is the bound of the reader pool too
// (Readers' ConnMaxIdleTime): an idle connection costs its page cache, its
// prepared statements and its memory map, and reopening one costs a few
// milliseconds of preparation spread over its next calls, which a minute
// of idleness repays.
const snapIdleTime = time.Minute

// snapshots is the pool of snapshot connections.
type snapshots struct {
	db *sqlx.DB
	// slots holds one token per connection the pool may have open: taking
	// a token is taking the right to a connection, idle or new.
	slots chan struct{}
	done  chan struct{} // closed by Close

	// maxIdle and now are snapIdleTime and time.Now (tests set them).
	maxIdle time.Duration
	now     func() time.Time

	mu sync.Mutex
	// idle are the connections nobody holds, the most recently used last.
	idle []idleSnap
	// sweep closes the connections idle longer than maxIdle; armed while
	// idle is not empty.
	sweep  *time.Timer
	closed bool
	// sweeping counts the running sweeps, which Close waits for.
	sweeping sync.WaitGroup
}

type idleSnap struct {
	sc    *snapConn
	since time.Time
}

func newSnapshots(db *sqlx.DB, n int) *snapshots {
	s := &snapshots{db: db, slots: make(chan struct{}, n), done: make(chan struct{}), maxIdle: snapIdleTime, now: time.Now}
	for range n {
		s.slots <- struct{}{}
	}
	return s
}

// snapConn is a reader connection of the snapshot pool and the statements
// prepared on it. Only the read transaction that holds it uses it.
type snapConn struct {
	c               *sqlx.Conn
	begin, rollback *sql.Stmt
	fixed           map[string]*sqlx.Stmt
	plans           map[string]*list.Element // of lru
	lru             *list.List               // of *snapPlan, most recently used first
	seen            map[string]bool          // generated texts run once, not prepared yet
	// evicted are plans put out of lru during the transaction: closed when
	// it ends, since rows of theirs may still be open.
	evicted []*sqlx.Stmt
}

type snapPlan struct {
	query string
	stmt  *sqlx.Stmt
}

// take returns the most recently used idle snapshot connection, opening
// one when there is none and the pool has room, or waits until ctx ends
// for one to come back.
func (s *snapshots) take(ctx context.Context) (*snapConn, error) {
	select {
	case <-s.done:
		return nil, sql.ErrConnDone
	default:
	}
	select {
	case <-s.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, sql.ErrConnDone
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.slots <- struct{}{} // Close waits for every token
		return nil, sql.ErrConnDone
	}
	var sc *snapConn
	if n := len(s.idle); n > 0 {
		sc = s.idle[n-1].sc
		s.idle[n-1] = idleSnap{}
		s.idle = s.idle[:n-1]
	}
	s.mu.Unlock()
	if sc != nil {
		return sc, nil
	}
	sc, err := s.open(ctx)
	if err != nil {
		s.slots <- struct{}{}
		return nil, err
	}
	return sc, nil
}

func (s *snapshots) open(ctx context.Context) (*snapConn, error) {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	sc := &snapConn{c: c, fixed: map[string]*sqlx.Stmt{}, plans: map[string]*list.Element{}, lru: list.New(), seen: map[string]bool{}}
	// Prepared without ctx: a statement prepared halfway is not one.
	if sc.begin, err = c.PrepareContext(context.WithoutCancel(ctx), "BEGIN"); err == nil {
		sc.rollback, err = c.PrepareContext(context.WithoutCancel(ctx), "ROLLBACK")
	}
	if err != nil {
		sc.close()
		return nil, err
	}
	return sc, nil
}

// put gives sc back to the pool, on top of the idle connections; a
// connection that may be broken or left inside a transaction (ok false) is
// closed, and its place left for a new one.
func (s *snapshots) put(sc *snapConn, ok bool) {
	for _, st := range sc.evicted {
		st.Close()
	}
	sc.evicted = nil
	if !ok {
		sc.discard()
	} else {
		s.mu.Lock()
		s.idle = append(s.idle, idleSnap{sc: sc, since: s.now()})
		if s.sweep == nil && !s.closed {
			s.sweep = time.AfterFunc(s.maxIdle, s.closeIdle)
		}
		s.mu.Unlock()
	}
	s.slots <- struct{}{}
}

// closeIdle closes the connections idle for maxIdle or longer, and sets
// the sweep for when the oldest of the others will be. The idle stack is
// in the order the connections came back, so they are at its bottom.
func (s *snapshots) closeIdle() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.sweeping.Add(1)
	defer s.sweeping.Done()
	now := s.now()
	n := 0
	for n < len(s.idle) && now.Sub(s.idle[n].since) >= s.maxIdle {
		n++
	}
	expired := make([]*snapConn, n)
	for i := range n {
		expired[i] = s.idle[i].sc
	}
	s.idle = append(s.idle[:0], s.idle[n:]...)
	clear(s.idle[len(s.idle):cap(s.idle)])
	switch {
	case len(s.idle) == 0:
		if s.sweep != nil {
			s.sweep.Stop()
		}
		s.sweep = nil
	case s.sweep == nil:
		s.sweep = time.AfterFunc(s.idle[0].since.Add(s.maxIdle).Sub(now), s.closeIdle)
	default:
		s.sweep.Reset(s.idle[0].since.Add(s.maxIdle).Sub(now))
	}
	s.mu.Unlock()
	// Closed for good: the pool of s.db would otherwise keep each one.
	for _, sc := range expired {
		sc.discard()
	}
}

// close stops the sweep, waits for every connection in use to come back,
// and closes them all.
func (s *snapshots) close() error {
	s.mu.Lock()
	s.closed = true
	if s.sweep != nil {
		s.sweep.Stop()
		s.sweep = nil
	}
	s.mu.Unlock()
	close(s.done)
	s.sweeping.Wait()
	for range cap(s.slots) {
		<-s.slots
	}
	// Every token is here and no sweep runs: nothing else touches idle.
	for _, e := range s.idle {
		e.sc.close()
	}
	s.idle = nil
	return s.db.Close()
}

// close closes sc's statements and returns its connection to its pool.
func (sc *snapConn) close() {
	sc.closeStmts()
	sc.c.Close()
}

func (sc *snapConn) closeStmts() {
	for _, st := range sc.fixed {
		st.Close()
	}
	for e := sc.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*snapPlan).stmt.Close()
	}
	for _, st := range []*sql.Stmt{sc.begin, sc.rollback} {
		if st != nil {
			st.Close()
		}
	}
}

// discard closes sc and the driver's connection under it, which database/sql
// would otherwise keep in its pool. The statements go first: the driver
// finalizes them on the connection, which must still be open.
func (sc *snapConn) discard() {
	sc.closeStmts()
	sc.c.Raw(func(any) error { return driver.ErrBadConn })
	sc.c.Close()
}

// stmt returns the fixed statement of query prepared on sc, preparing it
// now (on sc's own connection: nothing waits for another), or nil beyond
// snapFixedMax.
func (sc *snapConn) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if s, ok := sc.fixed[query]; ok {
		return s, nil
	}
	if len(sc.fixed) >= snapFixedMax {
		return nil, nil
	}
	s, err := sc.c.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc.fixed[query] = s
	return s, nil
}

// get runs the fixed statement query on sc into dest.
func (sc *snapConn) get(ctx context.Context, dest any, query string, args ...any) error {
	s, err := sc.stmt(ctx, query)
	switch {
	case err != nil:
		return err
	case s == nil:
		return sc.c.GetContext(ctx, dest, query, args...)
	}
	return s.GetContext(ctx, dest, args...)
}

// sel runs the fixed statement query on sc into the slice dest.
func (sc *snapConn) sel(ctx context.Context, dest any, query string, args ...any) error {
	s, err := sc.stmt(ctx, query)
	switch {
	case err != nil:
		return err
	case s == nil:
		return sc.c.SelectContext(ctx, dest, query, args...)
	}
	return s.SelectContext(ctx, dest, args...)
}

// badConn reports whether err may have left the connection unusable.
func badConn(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// plan returns the generated statement of query prepared on sc, or nil
// the first time sc meets the text (a text run once costs no
// preparation).
func (sc *snapConn) plan(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if e, ok := sc.plans[query]; ok {
		sc.lru.MoveToFront(e)
		return e.Value.(*snapPlan).stmt, nil
	}
	if !sc.seen[query] {
		if len(sc.seen) >= 4*snapPlanMax {
			clear(sc.seen)
		}
		sc.seen[query] = true
		return nil, nil
	}
	s, err := sc.c.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	delete(sc.seen, query)
	sc.plans[query] = sc.lru.PushFront(&snapPlan{query: query, stmt: s})
	for sc.lru.Len() > snapPlanMax {
		e := sc.lru.Back()
		p := e.Value.(*snapPlan)
		sc.lru.Remove(e)
		delete(sc.plans, p.query)
		sc.evicted = append(sc.evicted, p.stmt)
	}
	return s, nil
}

// ReadTx runs fn on one read snapshot, on a snapshot connection: BEGIN,
// fn's statements prepared on that connection, ROLLBACK. Rows that fn left
// open are closed before the ROLLBACK, so that no statement keeps the
// snapshot; a connection whose BEGIN or ROLLBACK failed is closed rather
// than reused.
func (d *DB) ReadTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	sc, err := d.snaps.take(ctx)
	if err != nil {
		return Classify(err)
	}
	ok := false
	defer func() { d.snaps.put(sc, ok) }()
	// BEGIN and ROLLBACK without ctx: the driver reports a ctx that ends
	// while BEGIN runs as an error even if SQLite began the transaction,
	// and the connection would keep its snapshot. A read BEGIN takes no
	// lock, so it never waits; fn's queries still end with ctx.
	if _, err := sc.begin.ExecContext(context.WithoutCancel(ctx)); err != nil {
		return Classify(err)
	}
	tx := &snapTx{sc: sc, d: d}
	err = fn(tx)
	for _, r := range tx.rows {
		r.Close()
	}
	_, rerr := sc.rollback.ExecContext(context.WithoutCancel(ctx))
	ok = rerr == nil && !badConn(err)
	if err == nil && rerr != nil {
		err = fmt.Errorf("db: end of a read transaction: %w", rerr)
	}
	return Classify(err)
}

// snapTx is the storage.Tx of ReadTx. It keeps the rows it returned, which
// ReadTx closes at the end.
type snapTx struct {
	sc   *snapConn
	d    *DB
	rows []*sql.Rows
}

func (t *snapTx) keep(r *sql.Rows, err error) (*sql.Rows, error) {
	if r != nil {
		t.rows = append(t.rows, r)
	}
	return r, err
}

func (t *snapTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.keep(t.sc.c.QueryContext(ctx, query, args...))
}

func (t *snapTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	r, err := t.sc.c.QueryxContext(ctx, query, args...)
	if r != nil {
		t.rows = append(t.rows, r.Rows)
	}
	return r, err
}

func (t *snapTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return t.sc.c.QueryRowxContext(ctx, query, args...)
}

func (t *snapTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errWriteOutside
}

func (t *snapTx) Get(ctx context.Context, dest any, query string, args ...any) error {
	return scanned(t.sc.get(ctx, dest, query, args...))
}

func (t *snapTx) Select(ctx context.Context, dest any, query string, args ...any) error {
	return scanned(t.sc.sel(ctx, dest, query, args...))
}

func (t *snapTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errWriteOutside
}

func (t *snapTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := t.sc.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return t.QueryContext(ctx, query, args...)
	}
	return t.keep(s.QueryContext(ctx, args...))
}

func (t *snapTx) Planned(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := t.sc.plan(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return t.QueryContext(ctx, query, args...)
	}
	return t.keep(s.QueryContext(ctx, args...))
}

// Prepared runs as Planned does: SQLite plans a statement without
// looking at the values bound to it.
func (t *snapTx) Prepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Planned(ctx, query, args...)
}

func (t *snapTx) Writable() bool { return false }
