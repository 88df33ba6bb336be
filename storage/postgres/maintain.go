package postgres

import (
	"context"
	"fmt"

	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
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

var _ storage.Collector = (*Engine)(nil)

// gcCond is what makes blob b removable; ? is the staging cutoff.
const gcCond = `((b.sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_seq = b.seq))
	OR (b.sha256 IS NULL AND b.created_at < ?))`

// GC removes the artifact bytes that no record refers to (see
// storage.CollectBlobs) and merges small metric blocks
// (metricstore.Compact). The room goes back to PostgreSQL's free space map
// for new rows (see Vacuum); FreeBytes stays 0, as the server does not say
// cheaply how much is free.
func (e *Engine) GC(ctx context.Context, opts storage.GCOptions) (storage.GCStats, error) {
	st, err := storage.CollectBlobs(ctx, e, opts)
	if err != nil {
		return st, err
	}
	err = metricstore.Compact(ctx, e, opts.DryRun, &st)
	return st, err
}

// gcSQL holds the PostgreSQL texts of the statements of CollectBlobs.
var gcSQL = storage.GCStatements{
	GCCandidates: `SELECT b.seq, b.sha256 IS NULL AS staged,
		(SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq) AS chunks,
		(SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c WHERE c.blob_seq = b.seq) AS bytes
		FROM blobs b WHERE ` + gcCond + ` ORDER BY b.seq`,
	GCKeptStaged: `SELECT count(*) FROM blobs WHERE sha256 IS NULL AND created_at >= ?`,
	GCDeleteChunks: `DELETE FROM blob_chunks WHERE blob_seq = ?
		AND EXISTS (SELECT 1 FROM blobs b WHERE b.seq = ? AND ` + gcCond + `)`,
	GCDeleteBlob: `DELETE FROM blobs AS b WHERE b.seq = ? AND ` + gcCond,
}
