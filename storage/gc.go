package storage

import (
	"context"
	"time"
)

// GCStatements are the statements of the collection of artifact bytes that
// no record refers to (see CollectBlobs). A blob is removable when it is
// complete and no artifact uses it, or staged (unfinished) and created
// before the cutoff.
type GCStatements struct {
	// GCCandidates lists the removable blobs with whether each is staged,
	// its number of chunks and their bytes, in seq order. Args: cutoff.
	GCCandidates string
	// GCKeptStaged counts the staged blobs too young to remove. Args:
	// cutoff.
	GCKeptStaged string
	// GCDeleteChunks removes the chunks of a blob if it is still removable.
	// Args: seq, seq, cutoff.
	GCDeleteChunks string
	// GCDeleteBlob removes a blob if it is still removable. Args: seq,
	// cutoff.
	GCDeleteBlob string
}

// CollectBlobs removes the artifact bytes that no record refers to on e:
// complete blobs no artifact uses, and staged uploads older than
// opts.StagedAge. The candidates are read on one snapshot; each goes in its
// own write transaction, which checks again that nothing refers to it, so
// that writers go on between them. It fills the blob counts of the result;
// what else an engine collects (metric blocks, free pages) is its own.
func CollectBlobs(ctx context.Context, e Engine, opts GCOptions) (GCStats, error) {
	age := opts.StagedAge
	if age <= 0 {
		age = DefaultStagedAge
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	cutoff := now().Add(-age).UnixMilli()
	sql := e.SQL()
	type candidate struct {
		Seq    int64 `db:"seq"`
		Staged bool  `db:"staged"`
		Chunks int64 `db:"chunks"`
		Bytes  int64 `db:"bytes"`
	}
	var cands []candidate
	var st GCStats
	err := e.ReadTx(ctx, func(tx Tx) error {
		if err := tx.Select(ctx, &cands, sql.GCCandidates, cutoff); err != nil {
			return err
		}
		return tx.Get(ctx, &st.KeptStaged, sql.GCKeptStaged, cutoff)
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
			err := e.WriteTx(ctx, func(tx Tx) error {
				if _, err := tx.Exec(ctx, sql.GCDeleteChunks, c.Seq, c.Seq, cutoff); err != nil {
					return err
				}
				res, err := tx.Exec(ctx, sql.GCDeleteBlob, c.Seq, cutoff)
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
