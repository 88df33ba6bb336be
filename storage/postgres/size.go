package postgres

import (
	"context"

	"github.com/metatrack/metatrack/storage"
)

var _ storage.Sizer = (*Engine)(nil)

// sqlSchemaBytes sums what the tables of one schema take on disk, their
// indexes and TOAST data included (pg_total_relation_size).
const sqlSchemaBytes = `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relkind IN ('r', 'm', 'p')`

// Bytes reports the bytes the store's tables take in the database: the
// sum of pg_total_relation_size over the tables of its schema (data,
// indexes and TOAST), so not the other schemas' stores of the same
// database, nor the server's write-ahead log.
func (e *Engine) Bytes(ctx context.Context) (int64, error) {
	var n int64
	if err := e.db.QueryRowContext(ctx, sqlSchemaBytes, e.loc.Schema).Scan(&n); err != nil {
		return 0, classify(err, e.loc.Redacted)
	}
	return n, nil
}
