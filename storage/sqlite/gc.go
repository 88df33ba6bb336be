package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
)

// DefaultStagedAge is how old an unfinished upload must be before GC
// removes it. An upload is staged from its first chunk to the transaction
// that records its artifact, which for a very large file on a slow disk
// takes long; a day leaves uploads in progress, in any process, alone.
const DefaultStagedAge = 24 * time.Hour

// GCOptions configure GC.
type GCOptions struct {
	// DryRun counts what GC would remove and removes nothing.
	DryRun bool
	// StagedAge: staged (unfinished) uploads begun longer ago than this
	// are abandoned and removed. Zero means DefaultStagedAge.
	StagedAge time.Duration
	// Now is the clock StagedAge is measured with. Nil means time.Now.
	Now func() time.Time
	// Progress, if set, is called after each blob with the number of
	// blobs handled and the number to handle.
	Progress func(done, total int64)
}

// GCStats say what GC removed, or would remove in a dry run.
type GCStats struct {
	// Blobs counts stored artifact contents no artifact refers to any
	// more (an artifact logged again under its name leaves its old bytes).
	Blobs int64
	// Staged counts abandoned uploads; KeptStaged those younger than
	// StagedAge, left alone.
	Staged, KeptStaged int64
	// Chunks and Bytes are the chunks and bytes of both.
	Chunks, Bytes int64
	// FreeBytes is the size of the free pages in the file after GC (before
	// it, in a dry run): what Vacuum would give back to the file system.
	FreeBytes int64
	// MetricBlocks counts the metric blocks merged into fuller ones (many
	// small LogMetrics calls leave small blocks); MetricSeries the series
	// they belong to.
	MetricBlocks, MetricSeries int64
}

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
	err := d.ReadTx(ctx, func(tx *sqlx.Tx) error {
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
			err := d.WriteTx(ctx, func(tx *Tx) error {
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
	if err := d.Reader.GetContext(ctx, &free, `PRAGMA freelist_count`); err != nil {
		return st, Classify(err)
	}
	if err := d.Reader.GetContext(ctx, &pageSize, `PRAGMA page_size`); err != nil {
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
	if d.ReadOnly {
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
