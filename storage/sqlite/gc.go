package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
)

// gcCond is what makes blob b removable; ? is the staging cutoff.
const gcCond = `((b.sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_seq = b.seq))
	OR (b.sha256 IS NULL AND b.created_at < ?))`

// GC removes the artifact bytes that no record refers to: complete blobs
// no artifact uses, and staged uploads older than opts.StagedAge. Each blob
// goes in its own transaction, which checks again that nothing refers to
// it, so writers in this and other processes go on meanwhile. The file does
// not shrink: its free pages are reused by later writes, or returned by
// Vacuum.
func GC(ctx context.Context, d *DB, opts GCOptions) (GCStats, error) {
	age := opts.StagedAge
	if age <= 0 {
		age = DefaultStagedAge
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
	var st GCStats
	err := d.ReadSnapshot(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &cands, `SELECT b.seq, b.sha256 IS NULL AS staged,
			(SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq) AS chunks,
			(SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c WHERE c.blob_seq = b.seq) AS bytes
			FROM blobs b WHERE `+gcCond+` ORDER BY b.seq`, cutoff); err != nil {
			return err
		}
		return tx.GetContext(ctx, &st.KeptStaged, `SELECT count(*) FROM blobs WHERE sha256 IS NULL AND created_at >= ?`, cutoff)
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
			err := d.WriteConn(ctx, func(tx *Tx) error {
				if _, err := tx.ExecContext(ctx, `DELETE FROM blob_chunks WHERE blob_seq = ?
					AND EXISTS (SELECT 1 FROM blobs b WHERE b.seq = ? AND `+gcCond+`)`, c.Seq, c.Seq, cutoff); err != nil {
					return err
				}
				res, err := tx.ExecContext(ctx, `DELETE FROM blobs AS b WHERE b.seq = ? AND `+gcCond, c.Seq, cutoff)
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
	if err := compactMetrics(ctx, d, opts.DryRun, &st); err != nil {
		return st, err
	}
	var free, pageSize int64
	if err := d.Readers.GetContext(ctx, &free, `PRAGMA freelist_count`); err != nil {
		return st, Classify(err)
	}
	if err := d.Readers.GetContext(ctx, &pageSize, `PRAGMA page_size`); err != nil {
		return st, Classify(err)
	}
	st.FreeBytes = free * pageSize
	return st, nil
}

// Vacuum rebuilds the database file without its free pages, returning them
// to the file system, and truncates the write-ahead log. It holds the
// write lock for as long as it runs (about the time to copy the file);
// readers go on.
func (d *DB) Vacuum(ctx context.Context) error {
	if d.readOnly {
		return fmt.Errorf("db: %s: %w", d.Path, storage.ErrReadOnly)
	}
	var c *sqlx.Conn
	select {
	case c = <-d.writeSlot:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { d.writeSlot <- c }()
	if c == nil {
		return fmt.Errorf("db: %s is closed", d.Path)
	}
	err := retry(ctx, func() error {
		_, err := c.ExecContext(ctx, `VACUUM`)
		return err
	})
	if err != nil {
		return Classify(err)
	}
	err = retry(ctx, func() error {
		_, err := c.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		return err
	})
	return Classify(err)
}
