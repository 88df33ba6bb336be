package metatrack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/metatrack/metatrack/storage"
)

// txn is what the lower-case helpers run their SQL on: a write transaction,
// a read snapshot, or the engine's Reader (for lookups of one statement).
// The engine prepares fixed statements once and reuses them.
type txn struct {
	t *Tracker
	// sql holds the texts of the engine's fixed statements.
	sql *storage.Statements
	tx  storage.Tx
	now int64
}

// write runs fn in the batch's transaction, or in a new write transaction.
func (t *Tracker) write(ctx context.Context, fn func(x *txn) error) error {
	if err := t.flushBatch(ctx); err != nil {
		return err
	}
	return t.writeBuffered(ctx, fn)
}

// flushBatch writes what the batch holds back: tag and metadata writes,
// metric points.
func (t *Tracker) flushBatch(ctx context.Context) error {
	if err := t.flushHeld(ctx); err != nil {
		return err
	}
	return t.flushMetrics(ctx)
}

// writeBuffered is write without first writing what the batch holds back
// (flushBatch): for the calls that add to it.
func (t *Tracker) writeBuffered(ctx context.Context, fn func(x *txn) error) error {
	if err := t.writable(); err != nil {
		return err
	}
	if t.tx != nil {
		return fn(&txn{t: t, sql: t.sql, tx: t.tx, now: t.now().UnixMilli()})
	}
	return t.db.WriteTx(ctx, func(tx storage.Tx) error {
		return fn(&txn{t: t, sql: t.sql, tx: tx, now: t.now().UnixMilli()})
	})
}

// writable reports why t cannot write: closed, or opened read-only.
func (t *Tracker) writable() error {
	if err := t.checkOpen(); err != nil {
		return err
	}
	if t.cfg.readOnly {
		return fmt.Errorf("%w: %s was opened read-only", ErrReadOnly, t.db.Location())
	}
	return nil
}

// read runs fn on the batch's transaction, or on one read snapshot.
func (t *Tracker) read(ctx context.Context, fn func(x *txn) error) error {
	if err := t.checkOpen(); err != nil {
		return err
	}
	if t.tx != nil {
		if err := t.flushBatch(ctx); err != nil {
			return err
		}
		return fn(&txn{t: t, sql: t.sql, tx: t.tx, now: t.now().UnixMilli()})
	}
	return t.db.ReadTx(ctx, func(tx storage.Tx) error {
		return fn(&txn{t: t, sql: t.sql, tx: tx, now: t.now().UnixMilli()})
	})
}

// readOne runs fn on the engine's Reader without a transaction: for lookups
// that are one statement, so they pay for no BEGIN and COMMIT.
func (t *Tracker) readOne(ctx context.Context, fn func(x *txn) error) error {
	if err := t.checkOpen(); err != nil {
		return err
	}
	if t.tx != nil {
		if err := t.flushBatch(ctx); err != nil {
			return err
		}
		return fn(&txn{t: t, sql: t.sql, tx: t.tx, now: t.now().UnixMilli()})
	}
	return t.db.Classify(fn(&txn{t: t, sql: t.sql, tx: t.db.Reader(), now: t.now().UnixMilli()}))
}

// cached returns a Queryer for the lineage and query packages that runs
// their (few, fixed) statement texts as the engine's cached prepared
// statements.
func (x *txn) cached() cachedQueryer { return cachedQueryer{x.tx} }

type cachedQueryer struct{ tx storage.Tx }

// QueryContext runs query as a fixed statement.
func (q cachedQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.tx.Query(ctx, query, args...)
}

// planned returns a Queryer for generated statement texts (searches),
// which the engine runs through its bounded plan cache.
func (x *txn) planned() plannedQueryer { return plannedQueryer{x.tx} }

type plannedQueryer struct{ tx storage.Tx }

// QueryContext runs query as a generated statement.
func (q plannedQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.tx.Planned(ctx, query, args...)
}

// QueryPrepared runs query as a generated statement whose plan the engine
// may keep (query.PreparingQuerier).
func (q plannedQueryer) QueryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.tx.Prepared(ctx, query, args...)
}

// get runs a fixed statement that returns one row into dest. A full
// resource row is scanned by position (resourceRows).
func (x *txn) get(ctx context.Context, dest any, query string, args ...any) error {
	if r, ok := dest.(*resourceRow); ok && positional(query) {
		var found bool
		err := x.resourceRows(ctx, query, args, true, func() *resourceRow {
			found = true
			return r
		})
		if errors.Is(err, errNotPositional) {
			return x.tx.Get(ctx, dest, query, args...)
		}
		if err == nil && !found {
			err = sql.ErrNoRows
		}
		return err
	}
	return x.tx.Get(ctx, dest, query, args...)
}

// sel runs a fixed statement that returns rows into the slice dest. Full
// resource rows are scanned by position (resourceRows).
func (x *txn) sel(ctx context.Context, dest any, query string, args ...any) error {
	if rows, ok := dest.(*[]resourceRow); ok && positional(query) {
		*rows = (*rows)[:0]
		err := x.resourceRows(ctx, query, args, false, func() *resourceRow {
			*rows = append(*rows, resourceRow{})
			return &(*rows)[len(*rows)-1]
		})
		if errors.Is(err, errNotPositional) {
			return x.tx.Select(ctx, dest, query, args...)
		}
		return err
	}
	return x.tx.Select(ctx, dest, query, args...)
}

// resourceRows runs a fixed statement that returns resource rows and
// scans each (the first alone when one) into the row next returns, by
// position. Most of the engine's statements select every column of a
// resource row, in resourceColumnOrder; the first run of each text checks
// that it does, and a statement that selects fewer (ResourceBare) fails
// with errNotPositional and is scanned by name from then on. sqlx,
// scanning by name, matched every column to its field by reflection on
// every call.
func (x *txn) resourceRows(ctx context.Context, query string, args []any, one bool, next func() *resourceRow) error {
	rows, err := x.tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if _, checked := byPosition.Load(query); !checked {
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		ok := slices.Equal(cols, resourceColumnOrder)
		byPosition.Store(query, ok)
		if !ok {
			return errNotPositional
		}
	}
	for rows.Next() {
		if err := rows.Scan(next().dests()...); err != nil {
			// As the engines' Get and Select say: a stored row that does
			// not scan is a damaged store.
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if one {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// byPosition records, for each statement text resourceRows has run, whether
// it selects the columns of a resource row in resourceColumnOrder. The
// texts are the engines' fixed statements: a bounded set.
var byPosition sync.Map

// positional reports whether query is not known to select other columns
// than a resource row's.
func positional(query string) bool {
	ok, checked := byPosition.Load(query)
	return !checked || ok.(bool)
}

// errNotPositional is resourceRows' error for a statement that does not
// select a resource row's columns in order.
var errNotPositional = errors.New("metatrack: the statement's columns are not a resource row's")

// exec runs a fixed statement inside a write transaction.
func (x *txn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return x.tx.Exec(ctx, query, args...)
}

// dyn runs a statement built at call time (not prepared, not cached) into
// the slice dest.
func (x *txn) dyn(ctx context.Context, dest any, query string, args ...any) error {
	return x.scanned(storage.SelectText(ctx, x.tx, dest, query, args...))
}

// scanned marks an error of reading rows that the engine can tell is not
// its own, not "no rows" and not the context's as ErrCorrupt (see
// storage.ScanChecker): a stored value that does not convert, which only a
// damaged store holds. The engine's Get and Select do it themselves.
func (x *txn) scanned(err error) error {
	if c, ok := x.t.db.(storage.ScanChecker); ok {
		return c.Scanned(err)
	}
	return err
}

func (x *txn) runSeq() any {
	if s := x.runSeqValue(); s != 0 {
		return s
	}
	return nil
}

// runSeqValue is the seq of the run the writes are made in, 0 for none.
func (x *txn) runSeqValue() int64 {
	if x.t.view != nil {
		return x.t.view.seq
	}
	x.t.shared.mu.Lock()
	defer x.t.shared.mu.Unlock()
	return x.t.shared.runSeq
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// resourceRow is a resources row joined with its parent's and run's ids.
type resourceRow struct {
	Seq       int64          `db:"seq"`
	ID        string         `db:"id"`
	Type      string         `db:"type"`
	Name      string         `db:"name"`
	Version   sql.NullInt64  `db:"version"`
	ParentSeq sql.NullInt64  `db:"parent_seq"`
	ParentID  sql.NullString `db:"parent_id"`
	Status    string         `db:"status"`
	Attrs     string         `db:"attrs"`
	RunID     sql.NullString `db:"run_id"`
	CreatedAt int64          `db:"created_at"`
	UpdatedAt int64          `db:"updated_at"`
	StartedAt sql.NullInt64  `db:"started_at"`
	EndedAt   sql.NullInt64  `db:"ended_at"`
	DeletedAt sql.NullInt64  `db:"deleted_at"`
	ParentRef sql.NullString `db:"parent_ref"`
}

// dests returns the destinations of r's columns, in resourceColumnOrder,
// for (*sql.Rows).Scan.
func (r *resourceRow) dests() []any {
	return []any{&r.Seq, &r.ID, &r.Type, &r.Name, &r.Version, &r.ParentSeq, &r.ParentID, &r.Status, &r.Attrs,
		&r.RunID, &r.CreatedAt, &r.UpdatedAt, &r.StartedAt, &r.EndedAt, &r.DeletedAt, &r.ParentRef}
}

func (r resourceRow) resource() Resource {
	res := Resource{
		ID:        r.ID,
		Type:      r.Type,
		Name:      r.Name,
		Version:   int(r.Version.Int64),
		ParentID:  r.ParentID.String,
		ParentRef: r.ParentRef.String,
		Status:    r.Status,
		RunID:     r.RunID.String,
		CreatedAt: fromMillis(r.CreatedAt),
		UpdatedAt: fromMillis(r.UpdatedAt),
	}
	if r.StartedAt.Valid {
		res.StartedAt = fromMillis(r.StartedAt.Int64)
	}
	if r.EndedAt.Valid {
		res.EndedAt = fromMillis(r.EndedAt.Int64)
	}
	if r.DeletedAt.Valid {
		res.DeletedAt = fromMillis(r.DeletedAt.Int64)
	}
	if r.Attrs != "" && r.Attrs != "{}" {
		if v, err := decodeJSON([]byte(r.Attrs)); err == nil {
			res.Attrs, _ = v.(map[string]any)
		}
	}
	return res
}

// resolve finds the resource that key (an id or a human reference) names.
// what describes the argument in errors.
func (x *txn) resolve(ctx context.Context, key string) (resourceRow, error) {
	var row resourceRow
	if key == "" {
		return row, fmt.Errorf("%w: no resource given (empty id)", ErrInvalidArgument)
	}
	r, isRef, err := parseRef(key)
	if isRef {
		// A reference: see References in refs.go.
		return x.resolveRef(ctx, key, r, err)
	}
	err = x.get(ctx, &row, x.sql.ResourceByID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return row, x.notFound(ctx, key, r, isRef)
	}
	return row, err
}

// target resolves the resource a tag, metadata value, vc record or
// artifact is logged to: by id with one index probe on the hot path, by
// reference (or for the error message) through resolve. ParentID and RunID
// of the result are not filled in.
//
// Inside a Batch the result is cached by id: a training loop logs to the
// same few resources over and over, and what target returns (seq, type,
// name, version) never changes during a transaction.
func (x *txn) target(ctx context.Context, res Resource) (resourceRow, error) {
	if res.ID != "" && !strings.Contains(res.ID, "/") {
		if row, ok := x.t.targets[res.ID]; ok {
			return row, nil
		}
		var row resourceRow
		err := x.get(ctx, &row, x.sql.ResourceBare, res.ID)
		if err == nil && x.t.targets != nil {
			x.t.targets[res.ID] = row
		}
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return row, err
		}
	}
	return x.resolveRes(ctx, res)
}

// targetOf is target with the type check of resolveRes.
func (x *txn) targetOf(ctx context.Context, res Resource, types ...string) (resourceRow, error) {
	row, err := x.target(ctx, res)
	if err != nil || len(types) == 0 {
		return row, err
	}
	for _, t := range types {
		if row.Type == t {
			return row, nil
		}
	}
	return row, fmt.Errorf("%w: %s is of type %s, expected %s", ErrInvalidArgument, row.ref(), row.Type, joinOr(types))
}

// resolveRes resolves res and, when typ is not empty, checks its type.
func (x *txn) resolveRes(ctx context.Context, res Resource, types ...string) (resourceRow, error) {
	row, err := x.resolve(ctx, res.key())
	if err != nil {
		return row, err
	}
	if len(types) > 0 {
		for _, t := range types {
			if row.Type == t {
				return row, nil
			}
		}
		return row, fmt.Errorf("%w: %s is of type %s, expected %s", ErrInvalidArgument, row.ref(), row.Type, joinOr(types))
	}
	return row, nil
}

func (r resourceRow) ref() string { return r.resource().Ref() }

func (x *txn) bySeq(ctx context.Context, seq int64) (resourceRow, error) {
	var row resourceRow
	err := x.get(ctx, &row, x.sql.ResourceBySeq, seq)
	if errors.Is(err, sql.ErrNoRows) {
		return row, fmt.Errorf("%w: resource #%d", ErrNotFound, seq)
	}
	return row, err
}

func joinOr(types []string) string {
	switch len(types) {
	case 1:
		return types[0]
	case 2:
		return types[0] + " or " + types[1]
	}
	s := ""
	for i, t := range types {
		if i > 0 {
			s += ", "
		}
		if i == len(types)-1 {
			s += "or "
		}
		s += t
	}
	return s
}

// Kinds of change recorded in the history table.
const (
	ChangeCreated    = "created"
	ChangeStatus     = "status"
	ChangeField      = "field"
	ChangeAttr       = "attr"
	ChangeTag        = "tag"
	ChangeMetadata   = "metadata"
	ChangeArtifact   = "artifact"
	ChangeVCInfo     = "vc_info"
	ChangeEdge       = "edge"
	ChangeDeployed   = "deployed"
	ChangeUndeployed = "undeployed"
)

// history appends one change of resource seq. oldV and newV are encoded as
// JSON; nil is stored as NULL (absent).
func (x *txn) history(ctx context.Context, seq int64, kind, key string, oldV, newV any) error {
	o, err := jsonOrNull(oldV)
	if err != nil {
		return err
	}
	n, err := jsonOrNull(newV)
	if err != nil {
		return err
	}
	_, err = x.exec(ctx, x.sql.InsertHistory, newID(), seq, x.now, x.runSeq(), kind, key, o, n, actorOf(ctx))
	return err
}

func jsonOrNull(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return string(v), nil
	case string:
		return jsonString(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonString is s as a JSON string, as json.Marshal writes it.
func jsonString(s string) string {
	if plainJSON(s) {
		return `"` + s + `"`
	}
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// plainJSON reports whether s is printable ASCII that json.Marshal writes
// between quotes as it is (no quote, backslash or character it escapes for
// HTML): the common tag value, encoded without json.Marshal's reflection
// and copies.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
