package postgres

import (
	"context"
	"fmt"

	"github.com/metatrack/metatrack/storage"
)

var (
	_ storage.Sizer    = (*Engine)(nil)
	_ storage.Vacuumer = (*Engine)(nil)
)

// Bytes reports the bytes the store's tables take on the server, their
// indexes and TOAST data included (pg_total_relation_size).
func (e *Engine) Bytes(ctx context.Context) (int64, error) {
	var n int64
	err := e.Reader().Get(ctx, &n, `
		SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = ? AND c.relkind IN ('r', 'p', 'm')`, e.loc.Schema)
	return n, e.Classify(err)
}

// Vacuum runs VACUUM (ANALYZE) on each of the store's tables: the room of
// deleted rows (after GC, say) becomes free for new rows, empty pages at a
// table's end go back to the file system, and the planner's statistics are
// renewed. It is not VACUUM FULL, which would lock readers out while it
// rewrote every table; readers and writers go on meanwhile.
func (e *Engine) Vacuum(ctx context.Context) error {
	if e.opts.ReadOnly {
		return fmt.Errorf("%w: %s was opened read-only", storage.ErrReadOnly, e.loc.Redacted)
	}
	var tables []string
	err := e.Reader().Select(ctx, &tables, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = ? AND c.relkind IN ('r', 'm') ORDER BY c.relname`, e.loc.Schema)
	if err != nil {
		return err
	}
	for _, t := range tables {
		// VACUUM runs outside a transaction: straight on the pool.
		if _, err := e.db.ExecContext(ctx, `VACUUM (ANALYZE) `+quoteIdent(e.loc.Schema)+`.`+quoteIdent(t)); err != nil {
			return ctxErr(ctx, e.Classify(fmt.Errorf("postgres: vacuum %s: %w", t, err)))
		}
	}
	return nil
}
