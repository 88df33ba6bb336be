package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
)

// connRetries bounds how often a call runs again after the connection was
// lost before anything of it committed: once to meet a broken pooled
// connection, once more for a server that is back.
const connRetries = 2

// WriteTx runs fn in a write transaction: READ COMMITTED, after taking the
// store's advisory lock (pg_advisory_xact_lock), so that the store's
// writers run one at a time and each statement sees what the writers before
// it committed. A serialization failure or deadlock (SQLSTATE 40001,
// 40P01) runs fn again, at most Options.MaxAttempts times in all, with a
// short randomised wait; so does a connection lost before the commit (the
// transaction rolled back). A connection lost during the commit is
// reported (ErrUnavailable): whether the change was stored is not known.
func (e *Engine) WriteTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	if e.opts.ReadOnly {
		return fmt.Errorf("%w: %s was opened read-only", storage.ErrReadOnly, e.loc.Redacted)
	}
	if err := e.begin(); err != nil {
		return err
	}
	defer e.running.Done()
	// One writer of this process at a time takes a connection and waits
	// for the store's lock; the others wait here, holding none, so that a
	// writer that reads through Reader meanwhile always finds one.
	select {
	case e.writeSlot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.writeSlot }()
	conflicts, losses := 0, 0
	for {
		err, committing := e.writeOnce(ctx, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctxErr(ctx, e.Classify(err))
		}
		switch {
		case isRetryable(err):
			conflicts++
			if conflicts >= e.opts.MaxAttempts {
				return fmt.Errorf("%w: gave up after %d attempts that met another transaction: %w", storage.ErrConflict, conflicts, err)
			}
		case isConnLoss(err) && !committing:
			losses++
			e.dropIdle()
			if losses > connRetries {
				return fmt.Errorf("%w (the write was rolled back: nothing of it is stored)", e.Classify(err))
			}
		case isConnLoss(err):
			e.dropIdle()
			return fmt.Errorf("%w: %s: the connection was lost while committing; the change may or may not be stored: %s",
				ErrUnavailable, e.loc.Redacted, serverMessage(err))
		default:
			return e.Classify(err)
		}
		if err := sleep(ctx, backoff(conflicts+losses)); err != nil {
			return err
		}
	}
}

// writeOnce runs fn in one transaction; committing reports whether err
// came from the commit.
func (e *Engine) writeOnce(ctx context.Context, fn func(tx storage.Tx) error) (err error, committing bool) {
	tx, err := e.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err, false
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, e.lockKey); err != nil {
		return err, false
	}
	if err := fn(&pgTx{e: e, q: tx, writable: true}); err != nil {
		return err, false
	}
	done = true
	if err := tx.Commit(); err != nil {
		return err, true
	}
	return nil, false
}

// ReadTx runs fn on one REPEATABLE READ READ ONLY snapshot, which never
// waits for writers. When the connection is lost, fn runs again on a new
// one.
func (e *Engine) ReadTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	if err := e.begin(); err != nil {
		return err
	}
	defer e.running.Done()
	for losses := 0; ; losses++ {
		err := e.readOnce(ctx, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !isConnLoss(err) || losses >= connRetries {
			return ctxErr(ctx, e.Classify(err))
		}
		e.dropIdle()
		if err := sleep(ctx, backoff(losses+1)); err != nil {
			return err
		}
	}
}

func (e *Engine) readOnce(ctx context.Context, fn func(tx storage.Tx) error) error {
	tx, err := e.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(&pgTx{e: e, q: tx}); err != nil {
		return err
	}
	return tx.Commit()
}

// Reader returns a Tx that runs each statement on its own, outside a
// transaction. A statement that meets a lost connection runs again on a
// new one.
func (e *Engine) Reader() storage.Tx { return e.reader }

// backoff is the wait before attempt n+1: 2^n milliseconds up to 256,
// half of it random, so that conflicting writers spread out.
func backoff(n int) time.Duration {
	d := time.Millisecond << min(n, 8)
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// querier is what a pgTx runs statements on: a transaction or the pool.
type querier interface {
	sqlx.ExtContext
}

// pgTx is a storage.Tx: a write transaction, a read snapshot, or (reader)
// the pool, one statement at a time. Statements are written with ?
// placeholders and rebound to $n; pgx prepares each text once per
// connection and keeps it (its statement cache), fixed and generated texts
// alike.
type pgTx struct {
	e        *Engine
	q        querier
	writable bool
	reader   bool
}

var _ storage.Tx = (*pgTx)(nil)

func (t *pgTx) readOnly(query string) error {
	return fmt.Errorf("%w: a write outside a write transaction (%.40s)", storage.ErrReadOnly, query)
}

// again runs fn once more when it met a lost connection and t is the
// reader (outside a transaction nothing is lost by running a read again).
func (t *pgTx) again(ctx context.Context, fn func() error) error {
	err := fn()
	for i := 0; i < connRetries && t.reader && isConnLoss(err) && ctx.Err() == nil; i++ {
		t.e.dropIdle()
		err = fn()
	}
	if t.reader {
		return ctxErr(ctx, t.e.Classify(err))
	}
	return err
}

// QueryContext runs a query built at call time.
func (t *pgTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := t.again(ctx, func() (err error) {
		rows, err = t.q.QueryContext(ctx, t.e.rebinds.rebind(query), args...)
		return err
	})
	return rows, err
}

// QueryxContext runs a query built at call time, for sqlx's scanning.
func (t *pgTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	var rows *sqlx.Rows
	err := t.again(ctx, func() (err error) {
		rows, err = t.q.QueryxContext(ctx, t.e.rebinds.rebind(query), args...)
		return err
	})
	return rows, err
}

// QueryRowxContext runs a query built at call time that returns one row.
func (t *pgTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	return t.q.QueryRowxContext(ctx, t.e.rebinds.rebind(query), args...)
}

// ExecContext runs a write built at call time; outside a write transaction
// it fails with ErrReadOnly.
func (t *pgTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !t.writable {
		return nil, t.readOnly(query)
	}
	return t.q.ExecContext(ctx, t.e.rebinds.rebind(query), args...)
}

// Get runs a fixed statement that returns one row into dest.
func (t *pgTx) Get(ctx context.Context, dest any, query string, args ...any) error {
	return scanned(t.again(ctx, func() error {
		return sqlx.GetContext(ctx, t.q, dest, t.e.rebinds.rebind(query), args...)
	}))
}

// Select runs a fixed statement that returns rows into the slice dest.
func (t *pgTx) Select(ctx context.Context, dest any, query string, args ...any) error {
	return scanned(t.again(ctx, func() error {
		return sqlx.SelectContext(ctx, t.q, dest, t.e.rebinds.rebind(query), args...)
	}))
}

// Exec runs a fixed statement that writes.
func (t *pgTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, query, args...)
}

// Query runs a fixed statement and returns its rows.
func (t *pgTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, query, args...)
}

// Planned runs a generated statement (a compiled search, a lineage walk)
// planned for its arguments on every call: as an unnamed statement whose
// description pgx caches (QueryExecModeCacheDescribe), still one round
// trip. A statement pgx prepares by name would run on PostgreSQL's generic
// plan after its fifth call, which cannot tell metadata.n > 999000 (20
// rows) from metadata.n > 0 and walked every value of the key: on 100k
// resources a selective search took 34 ms that way, 1.1 ms planned for its
// arguments, against 0.6 ms by hand.
func (t *pgTx) Planned(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, query, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

// Prepared runs a generated statement whose plan does not turn on its
// arguments as a named prepared statement (QueryExecModeCacheStatement,
// in pgx's bounded cache of each connection): PostgreSQL plans it for its
// arguments for five calls, then keeps a generic plan when that is
// estimated no dearer, and the statement costs no planning from then on.
func (t *pgTx) Prepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, query, append([]any{pgx.QueryExecModeCacheStatement}, args...)...)
}

// Writable reports whether t is a write transaction.
func (t *pgTx) Writable() bool { return t.writable }

// rebindCacheSize bounds the rebound texts kept: generated queries come in
// as many texts as callers write filters.
const rebindCacheSize = 4096

// rebindCache remembers the $n form of each ? text.
type rebindCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *rebindCache) rebind(query string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[query]; ok {
		return r
	}
	r := Rebind(query)
	if c.m == nil || len(c.m) >= rebindCacheSize {
		c.m = make(map[string]string)
	}
	c.m[query] = r
	return r
}

// Rebind turns the ? placeholders of query into $1, $2, ..., and the
// numbered ?N into $N. A ? inside a
// string literal ('...', E'...'), a quoted identifier ("..."), a
// dollar-quoted string or a comment is left alone, so a literal may hold
// one; PostgreSQL's jsonb ? operators cannot be written (use
// jsonb_exists and its kin).
func Rebind(query string) string {
	var b []byte
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			if b == nil {
				b = make([]byte, 0, len(query)+16)
				b = append(b, query[:i]...)
			}
			// ?N (SQLite's numbered form) names its argument: $N.
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j > i+1 {
				b = append(b, '$')
				b = append(b, query[i+1:j]...)
				i = j - 1
				continue
			}
			n++
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(n), 10)
			continue
		case c == '\'' || c == '"':
			j := skipQuoted(query, i, c)
			if b != nil {
				b = append(b, query[i:j]...)
			}
			i = j - 1
			continue
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := i
			for j < len(query) && query[j] != '\n' {
				j++
			}
			if b != nil {
				b = append(b, query[i:j]...)
			}
			i = j - 1
			continue
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := i + 2
			for j+1 < len(query) && !(query[j] == '*' && query[j+1] == '/') {
				j++
			}
			j = min(j+2, len(query))
			if b != nil {
				b = append(b, query[i:j]...)
			}
			i = j - 1
			continue
		case c == '$':
			if j, ok := skipDollarQuoted(query, i); ok {
				if b != nil {
					b = append(b, query[i:j]...)
				}
				i = j - 1
				continue
			}
		}
		if b != nil {
			b = append(b, c)
		}
	}
	if b == nil {
		return query
	}
	return string(b)
}

// skipQuoted returns the index after the quoted text that starts at i
// with quote q; a doubled quote stands for itself. A backslash escapes the
// next byte in an E'...' literal.
func skipQuoted(s string, i int, q byte) int {
	escapes := q == '\'' && i > 0 && (s[i-1] == 'E' || s[i-1] == 'e')
	for j := i + 1; j < len(s); j++ {
		switch {
		case escapes && s[j] == '\\':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return len(s)
}

// skipDollarQuoted returns the index after a dollar-quoted string ($$...$$
// or $tag$...$tag$) that starts at i.
func skipDollarQuoted(s string, i int) (int, bool) {
	j := i + 1
	for j < len(s) && (s[j] == '_' || (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || (j > i+1 && s[j] >= '0' && s[j] <= '9')) {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return 0, false
	}
	tag := s[i : j+1]
	end := -1
	for k := j + 1; k+len(tag) <= len(s); k++ {
		if s[k:k+len(tag)] == tag {
			end = k + len(tag)
			break
		}
	}
	if end < 0 {
		return len(s), true
	}
	return end, true
}
