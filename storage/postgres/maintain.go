package postgres

import (
	"context"
	"fmt"
	"time"

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

var _ storage.Collector = (*Engine)(nil)

// gcCond is what makes blob b removable; ? is the staging cutoff.
const gcCond = `((b.sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_seq = b.seq))
	OR (b.sha256 IS NULL AND b.created_at < ?))`

// GC removes the artifact bytes that no record refers to: complete blobs
// no artifact uses, and staged uploads older than opts.StagedAge. Each blob
// goes in its own write transaction, which checks again that nothing
// refers to it, so writers go on between them. The room goes back to
// PostgreSQL's free space map for new rows (see Vacuum); FreeBytes stays
// 0, as the server does not say cheaply how much is free. Metric blocks
// are not compacted on PostgreSQL: MetricBlocks and MetricSeries stay 0.
func (e *Engine) GC(ctx context.Context, opts storage.GCOptions) (storage.GCStats, error) {
	age := opts.StagedAge
	if age <= 0 {
		age = storage.DefaultStagedAge
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	cutoff := now().Add(-age).UnixMilli()
	type candidate struct {
		Seq    int64 `db:"seq"`
		Staged bool  `db:"staged"`
		Chunks int64 `db:"chunks"`
		Bytes  int64 `db:"bytes"`
	}
	var cands []candidate
	var st storage.GCStats
	err := e.ReadTx(ctx, func(tx storage.Tx) error {
		if err := tx.Select(ctx, &cands, `SELECT b.seq, b.sha256 IS NULL AS staged,
			(SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq) AS chunks,
			(SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c WHERE c.blob_seq = b.seq) AS bytes
			FROM blobs b WHERE `+gcCond+` ORDER BY b.seq`, cutoff); err != nil {
			return err
		}
		return tx.Get(ctx, &st.KeptStaged, `SELECT count(*) FROM blobs WHERE sha256 IS NULL AND created_at >= ?`, cutoff)
	})
	if err != nil {
		return st, err
	}
	total := int64(len(cands))
	if opts.Progress != nil {
		opts.Progress(0, total)
	}
	for i, c := range cands {
		removed := true
		if !opts.DryRun {
			err := e.WriteTx(ctx, func(tx storage.Tx) error {
				if _, err := tx.Exec(ctx, `DELETE FROM blob_chunks WHERE blob_seq = ?
					AND EXISTS (SELECT 1 FROM blobs b WHERE b.seq = ? AND `+gcCond+`)`, c.Seq, c.Seq, cutoff); err != nil {
					return err
				}
				res, err := tx.Exec(ctx, `DELETE FROM blobs AS b WHERE b.seq = ? AND `+gcCond, c.Seq, cutoff)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				removed = n > 0
				return err
			})
			if err != nil {
				return st, err
			}
		}
		if removed {
			if c.Staged {
				st.Staged++
			} else {
				st.Blobs++
			}
			st.Chunks += c.Chunks
			st.Bytes += c.Bytes
		}
		if opts.Progress != nil {
			opts.Progress(int64(i+1), total)
		}
	}
	return st, nil
}
