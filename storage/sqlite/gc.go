package sqlite

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
)

// gcCond is what makes blob b removable; ? is the staging cutoff.
const gcCond = `((b.sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_seq = b.seq))
	OR (b.sha256 IS NULL AND b.created_at < ?))`

// GC removes the artifact bytes that no record refers to (see
// storage.CollectBlobs), merges small metric blocks (metricstore.Compact),
// and reports the free pages of the file. The file does not shrink: its
// free pages are reused by later writes, or returned by Vacuum.
func GC(ctx context.Context, d *DB, opts GCOptions) (GCStats, error) {
	st, err := storage.CollectBlobs(ctx, d, opts)
	if err != nil {
		return st, err
	}
	if err := metricstore.Compact(ctx, d, opts.DryRun, &st); err != nil {
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
	// The write connection keeps temporary files in memory (see
	// openWriter): VACUUM's copy of the database goes to disk.
	if _, err := c.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return Classify(err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`)
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

// gcSQL holds the SQLite texts of the statements of CollectBlobs.
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
