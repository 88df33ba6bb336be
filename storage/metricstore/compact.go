package metricstore

import (
	"context"

	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage"
)

// Compact merges, on e, runs of consecutive small blocks of a series (in
// the order they were sealed) into blocks of up to BlockPoints: the
// points, their order and the series' summary stay as they are. Each series
// is compacted in its own write transaction, so writers go on meanwhile; a
// reader streaming the series (the root's MetricPoints) notices and
// restarts where it was. With dryRun it only counts. It adds the blocks
// merged, and the series they belong to, to st.
func Compact(ctx context.Context, e storage.Engine, dryRun bool, st *storage.GCStats) error {
	stmts := &e.SQL().MetricStatements
	var seqs []int64
	if err := e.Reader().Select(ctx, &seqs, stmts.CompactableMetricSeries, BlockPoints-1, BlockPoints); err != nil {
		return e.Classify(err)
	}
	for _, seq := range seqs {
		var merged int64
		// compact may run more than once (WriteTx retries on a conflict):
		// it counts afresh each time.
		compact := func(tx storage.Tx) error {
			merged = 0
			var blocks []blockRow
			if err := tx.Select(ctx, &blocks, stmts.MetricBlocksOfSeries, seq); err != nil {
				return err
			}
			m := Store{Q: tx, SQL: stmts}
			for i := 0; i < len(blocks); {
				j, total := i, int64(0)
				for j < len(blocks) && total+blocks[j].Count <= BlockPoints && (j == i || blocks[j].FirstOrd == blocks[j-1].FirstOrd+blocks[j-1].Count) {
					total += blocks[j].Count
					j++
				}
				if j-i < 2 {
					i = max(j, i+1)
					continue
				}
				merged += int64(j - i)
				if !dryRun {
					var pts []series.Point
					for _, b := range blocks[i:j] {
						var err error
						if pts, err = m.Block(ctx, seq, b.FirstOrd, pts); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, stmts.DeleteMetricBlock, seq, b.FirstOrd); err != nil {
							return err
						}
					}
					// The blocks' points in the order they were added: each
					// block is sorted, and their summaries merge in order.
					if err := m.sealBlock(ctx, seq, blocks[i].FirstOrd, pts); err != nil {
						return err
					}
				}
				i = j
			}
			return nil
		}
		var err error
		if dryRun {
			err = e.ReadTx(ctx, compact)
		} else {
			err = e.WriteTx(ctx, compact)
		}
		if err != nil {
			return err
		}
		if merged > 0 {
			st.MetricBlocks += merged
			st.MetricSeries++
		}
	}
	return nil
}
