package metatrack

import (
	"context"
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
	err = t.read(ctx, func(x *txn) error {
		deletion := query.NotDeleted
		if cfg.deleted {
			deletion = query.OnlyDeleted
		}
		q, c, err := t.shared.plans.Compile(filter, query.Options{Dialect: t.dialect(), Now: t.cfg.now, Resolve: x.resolveSeq(ctx),
			Limit: cfg.pageSize, Cursor: cfg.cursor, Deleted: deletion})
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
		seqs, next, err := c.Seqs(ctx, x.planned())
		if err != nil {
			return err
		}
		if late && len(seqs) == 0 {
			if err := x.checkQuery(ctx, q); err != nil {
				return invalidQuery(err)
			}
		}
		page.Next = next
		if cfg.columns == nil {
			page.Resources, err = x.resourcesBySeq(ctx, seqs)
			return err
		}
		page.Rows, err = x.rowsBySeq(ctx, seqs, want)
		page.Resources = make([]Resource, len(page.Rows))
		for i, r := range page.Rows {
			page.Resources[i] = r.Resource
		}
		return err
	})
	return page, err
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

// resourcesBySeq loads the resources with the given seqs, in that order,
// with one cached statement (the seqs travel as one JSON array).
func (x *txn) resourcesBySeq(ctx context.Context, seqs []int64) ([]Resource, error) {
	rows, err := x.rowsOfSeqs(ctx, seqs)
	out := make([]Resource, len(rows))
	for i, r := range rows {
		out[i] = r.resource()
	}
	return out, err
}

// resourceColumnOrder is the order of the columns of a statement that
// reads resource rows (see storage.ResourceStatements), which resourceRows
// scans by position.
var resourceColumnOrder = []string{"seq", "id", "type", "name", "version", "parent_seq", "parent_id", "status", "attrs",
	"run_id", "created_at", "updated_at", "started_at", "ended_at", "deleted_at", "parent_ref"}

// resourceRows runs a statement that reads resource rows and scans them by
// position, without the reflection of a struct scan (a search's page of
// 1,000 rows took 4.9 ms instead of 5.3). A statement whose columns are
// not resourceColumnOrder is an error, never a silent mix-up.
func (x *txn) resourceRows(ctx context.Context, query string, args ...any) ([]resourceRow, error) {
	rows, err := x.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !slices.Equal(cols, resourceColumnOrder) {
		return nil, fmt.Errorf("resource rows: the statement's columns are %v, want %v", cols, resourceColumnOrder)
	}
	var out []resourceRow
	for rows.Next() {
		var r resourceRow
		if err := rows.Scan(&r.Seq, &r.ID, &r.Type, &r.Name, &r.Version, &r.ParentSeq, &r.ParentID, &r.Status, &r.Attrs,
			&r.RunID, &r.CreatedAt, &r.UpdatedAt, &r.StartedAt, &r.EndedAt, &r.DeletedAt, &r.ParentRef); err != nil {
			// As the engines' Get and Select say: a stored row that does
			// not scan (a NULL id) is a damaged store.
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// rowsOfSeqs loads the rows with the given seqs, in that order, skipping
// seqs that name no resource.
func (x *txn) rowsOfSeqs(ctx context.Context, seqs []int64) ([]resourceRow, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	arr, err := json.Marshal(seqs)
	if err != nil {
		return nil, err
	}
	rows, err := x.resourceRows(ctx, x.sql.ResourcesBySeqs, string(arr))
	if err != nil {
		return nil, err
	}
	bySeq := make(map[int64]resourceRow, len(rows))
	for _, r := range rows {
		bySeq[r.Seq] = r
	}
	out := make([]resourceRow, 0, len(seqs))
	for _, s := range seqs {
		if r, ok := bySeq[s]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}
