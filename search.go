package metatrack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/metatrack/metatrack/query"
)

// dialect is the SQL of the query language on the store's engine.
func (t *Tracker) dialect() query.Dialect { return t.db.Dialect() }

// ErrInvalidQuery is matched, besides ErrInvalidArgument, by every error of
// a malformed filter; errors.As with *query.Error gives its position.
var ErrInvalidQuery = query.ErrInvalid

// DefaultPageSize is how many resources Search returns when neither the
// query's LIMIT nor WithPageSize says.
const DefaultPageSize = 100

// SearchOption configures Search.
type SearchOption func(*searchConfig)

type searchConfig struct {
	pageSize int64
	cursor   string
	columns  []string
	deleted  bool
}

// WithPageSize sets how many resources one page holds. A query's LIMIT is
// the total over all pages: the page that reaches it is the last.
func WithPageSize(n int) SearchOption { return func(c *searchConfig) { c.pageSize = int64(n) } }

// WithCursor continues a search after the page whose Next it was.
func WithCursor(cursor string) SearchOption { return func(c *searchConfig) { c.cursor = cursor } }

// Page is one page of search results.
type Page struct {
	Resources []Resource `json:"resources"`
	// Columns are the columns WithColumns asked for, parsed, in the order
	// given; Rows holds their values, one Row for each of Resources.
	// Both are nil without WithColumns.
	Columns []query.Column `json:"columns"`
	Rows    []Row          `json:"rows"`
	// Next is the cursor of the following page, "" on the last one.
	Next string `json:"next"`
}

// Search returns the resources that match filter, a query in the language of
// package query (for example `type = 'model_version' AND metadata.auc > 0.9
// ORDER BY metadata.auc DESC`), one page at a time: pass Page.Next back with
// WithCursor for the next. Pages are stable: a resource created while paging
// does not shift the later pages. An empty filter matches everything.
func (t *Tracker) Search(ctx context.Context, filter string, opts ...SearchOption) (Page, error) {
	cfg := searchConfig{pageSize: DefaultPageSize}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.pageSize <= 0 {
		return Page{}, fmt.Errorf("%w: page size must be positive", ErrInvalidArgument)
	}
	var page Page
	var want columnSet
	var err error
	if cfg.columns != nil {
		if page.Columns, want, err = parseColumns(cfg.columns); err != nil {
			return Page{}, err
		}
	}
	deletion := query.NotDeleted
	if cfg.deleted {
		deletion = query.OnlyDeleted
	}
	copts := query.Options{Dialect: t.dialect(), Now: t.cfg.now, Limit: cfg.pageSize, Cursor: cfg.cursor, Deleted: deletion}
	if cfg.columns == nil {
		if page, ok, err := t.searchOne(ctx, filter, copts); ok {
			return page, err
		}
	}
	err = t.read(ctx, func(x *txn) error {
		opts := copts
		opts.Resolve = x.resolveSeq(ctx)
		q, c, err := t.shared.plans.Compile(filter, opts)
		if q == nil {
			return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		// A cursor comes from a first page that passed the checks. A
		// first page of a query whose every predicate its rows satisfy
		// is checked only when it is empty: a row shows that each could
		// match.
		check := cfg.cursor == ""
		late := check && err == nil && satisfiedByRows(q)
		if check && !late {
			if err := x.checkQuery(ctx, q); err != nil {
				return invalidQuery(err)
			}
		}
		if err != nil {
			return invalidQuery(err)
		}
		rows, next, err := x.pageRows(ctx, c)
		if err != nil {
			return err
		}
		if late && len(rows) == 0 {
			if err := x.checkQuery(ctx, q); err != nil {
				return invalidQuery(err)
			}
		}
		page.Next = next
		if cfg.columns == nil {
			page.Resources = resourcesOf(rows)
			return nil
		}
		page.Rows, err = x.columnsOf(ctx, rows, want)
		page.Resources = make([]Resource, len(page.Rows))
		for i, r := range page.Rows {
			page.Resources[i] = r.Resource
		}
		return err
	})
	return page, err
}

// errNeedsStatements is what searchOne's resolver returns: the query
// names a resource, which only a statement can resolve.
var errNeedsStatements = errors.New("a reference to resolve")

// searchOne runs a search without WithColumns outside a transaction, in one
// statement on the engine's Reader (a single statement is its own
// consistent snapshot), when it can: the query compiles without resolving
// a reference (a cached query always does) and needs no check before its
// page (see Search). A query that chooses between two forms by a count may
// count first, in a statement of its own; a first page that comes back
// empty is checked after it. ok is false when the search needs a
// transaction, and then nothing has run.
func (t *Tracker) searchOne(ctx context.Context, filter string, opts query.Options) (page Page, ok bool, err error) {
	refs := false
	opts.Resolve = func(string) (int64, error) { refs = true; return 0, errNeedsStatements }
	q, c, err := t.shared.plans.Compile(filter, opts)
	if q == nil {
		return Page{}, true, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	check := opts.Cursor == ""
	if err != nil || refs || (check && !satisfiedByRows(q)) {
		// Errors too are reported by the transaction's path, which runs
		// the checks first.
		return Page{}, false, nil
	}
	err = t.readOne(ctx, func(x *txn) error {
		rows, next, err := x.pageRows(ctx, c)
		if err != nil {
			return err
		}
		if check && len(rows) == 0 {
			if err := x.checkQuery(ctx, q); err != nil {
				return invalidQuery(err)
			}
		}
		page.Resources, page.Next = resourcesOf(rows), next
		return nil
	})
	return page, true, err
}

// satisfiedByRows reports whether every row of q satisfies each predicate
// that checkQuery checks, in the sense that makes the check pass: the
// filter is an AND of positive comparisons with one value each (no OR,
// NOT, !=, NOT IN, NOT LIKE, IN of several values) and no tag is compared
// with a number (tags match numbers by a rule
// of their own).
func satisfiedByRows(q *query.Query) bool {
	if !q.Conjunctive() {
		return false
	}
	for _, term := range q.Terms() {
		switch term.Op {
		case "=", "<", "<=", ">", ">=", "IN", "LIKE", "ILIKE", "ORDER BY", "EXISTS", "IS NULL", "IS NOT NULL":
		default:
			return false
		}
		if term.Op == "IN" && len(term.Values) > 1 {
			return false // a row satisfies one of the values
		}
		if term.Field == "tags" {
			for _, v := range term.Values {
				if v.Kind == "number" {
					return false
				}
			}
		}
	}
	return true
}

// SearchAll returns every resource that matches filter, walking all pages,
// up to the query's LIMIT if it has one. Of opts, only WithDeleted applies.
func (t *Tracker) SearchAll(ctx context.Context, filter string, opts ...SearchOption) ([]Resource, error) {
	var all []Resource
	var cursor string
	for {
		page, err := t.Search(ctx, filter, append(opts, WithCursor(cursor), WithPageSize(1000))...)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Resources...)
		if page.Next == "" {
			return all, nil
		}
		cursor = page.Next
	}
}

// invalidQuery marks query errors as ErrInvalidArgument too; errors of a
// reference inside the query (ErrNotFound) keep their own sentinel.
func invalidQuery(err error) error {
	if errors.Is(err, query.ErrInvalid) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return err
}

// resolveSeq adapts resolve to the query and lineage packages.
func (x *txn) resolveSeq(ctx context.Context) func(ref string) (int64, error) {
	return func(ref string) (int64, error) {
		row, err := x.resolve(ctx, ref)
		return row.Seq, err
	}
}

// resourcesOf returns the resources of rows.
func resourcesOf(rows []resourceRow) []Resource {
	out := make([]Resource, len(rows))
	for i, r := range rows {
		out[i] = r.resource()
	}
	return out
}

// resourceJoin is how a page of a search reads its resource rows: the
// engine's resource columns (storage.ResourceStatements), in the order
// resourceColumnOrder.
func (x *txn) resourceJoin() query.Join {
	return query.Join{Columns: x.sql.ResourceSelect, From: x.sql.ResourceJoins, Names: resourceColumnOrder}
}

// pageRows runs the page of c in one statement that returns its resource
// rows, in order (query.Compiled.Rows), and returns them with the cursor
// of the next page.
func (x *txn) pageRows(ctx context.Context, c *query.Compiled) ([]resourceRow, string, error) {
	var out []resourceRow
	_, next, err := c.Rows(ctx, x.planned(), x.resourceJoin(), func() []any {
		out = append(out, resourceRow{})
		return out[len(out)-1].dests()
	})
	if errors.Is(err, query.ErrScan) {
		// As the engines' Get and Select say: a stored row that does not scan is a
		// damaged store.
		return nil, "", fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err == nil {
		err = x.fillParentRefs(ctx, out)
	}
	return out, next, err
}

// fillParentRefs reads, in one statement, the parents' references that
// the engine's ResourceSelect leaves NULL (ResourceStatements.ParentRefs):
// those of unversioned children of nested children.
func (x *txn) fillParentRefs(ctx context.Context, rows []resourceRow) error {
	if x.sql.ParentRefs == "" {
		return nil
	}
	var parents []int64
	for _, r := range rows {
		if r.lacksParentRef() {
			parents = append(parents, r.ParentSeq.Int64)
		}
	}
	if len(parents) == 0 {
		return nil
	}
	slices.Sort(parents)
	seqs, err := json.Marshal(slices.Compact(parents))
	if err != nil {
		return err
	}
	var refs []struct {
		Seq int64  `db:"seq"`
		Ref string `db:"ref"`
	}
	if err := x.sel(ctx, &refs, x.sql.ParentRefs, string(seqs)); err != nil {
		return err
	}
	bySeq := make(map[int64]string, len(refs))
	for _, r := range refs {
		bySeq[r.Seq] = r.Ref
	}
	for i := range rows {
		r := &rows[i]
		if ref, ok := bySeq[r.ParentSeq.Int64]; ok && r.lacksParentRef() {
			r.ParentRef = sql.NullString{String: ref, Valid: true}
		}
	}
	return nil
}

// lacksParentRef reports whether r is an unversioned child whose row came
// without its parent's reference.
func (r resourceRow) lacksParentRef() bool {
	return !r.Version.Valid && r.ParentSeq.Valid && !r.ParentRef.Valid
}

// resourceColumnOrder is the order of the columns of a resource row as
// the engine selects them (storage.ResourceStatements.ResourceSelect and
// every statement that reads resource rows), which pageRows and
// resourceRows scan by position.
var resourceColumnOrder = []string{"seq", "id", "type", "name", "version", "parent_seq", "parent_id", "status", "attrs",
	"run_id", "created_at", "updated_at", "started_at", "ended_at", "deleted_at", "parent_ref"}
