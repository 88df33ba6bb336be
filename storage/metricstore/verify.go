package metricstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage"
)

// Verify checks every metric series read through q (best one read
// snapshot) with the engine's statements stmts, and adds what is wrong to
// report as storage.ProblemMetric problems: each block decodes to as many
// points as its row says, within its row's ranges and matching its stored
// summary; block numbers and the tail follow each other without gaps; and
// the series' summary and searchable columns agree with its points. One
// block is decoded at a time. The error is for failures to check.
func Verify(ctx context.Context, q DBTX, stmts *storage.MetricStatements, report *storage.Report) error {
	type seriesInfo struct {
		Seq       int64           `db:"seq"`
		Owner     string          `db:"owner"`
		Key       string          `db:"key"`
		Count     int64           `db:"count"`
		Tail      int64           `db:"tail"`
		LastStep  int64           `db:"last_step"`
		LastValue sql.NullFloat64 `db:"last_value"`
		MinValue  sql.NullFloat64 `db:"min_value"`
		MaxValue  sql.NullFloat64 `db:"max_value"`
		Summary   []byte          `db:"summary"`
	}
	var list []seriesInfo
	if err := q.Select(ctx, &list, stmts.AllMetricSeries); err != nil {
		return err
	}
	m := Store{Q: q, SQL: stmts}
	var pts []series.Point
	for _, s := range list {
		what := fmt.Sprintf("metric %q of %s", s.Key, s.Owner)
		bad := func(format string, args ...any) { report.Add(storage.ProblemMetric, what, format, args...) }
		var blocks []blockRow
		if err := q.Select(ctx, &blocks, stmts.MetricBlocksOfSeries, s.Seq); err != nil {
			return err
		}
		var total series.Summary
		ord := int64(0)
		for _, b := range blocks {
			if b.FirstOrd != ord {
				bad("a block starts at point %d, the one before ends at %d", b.FirstOrd, ord)
			}
			ord = b.FirstOrd + b.Count
			var err error
			if pts, err = m.Block(ctx, s.Seq, b.FirstOrd, pts[:0]); err != nil {
				if errors.Is(err, storage.ErrCorrupt) {
					bad("block at point %d: %v", b.FirstOrd, err)
					continue
				}
				return err
			}
			got := series.Summarize(pts)
			stored, err := series.ParseSummary(b.Summary)
			switch {
			case err != nil:
				bad("block at point %d: %v", b.FirstOrd, err)
			case !sameSummary(got, stored):
				bad("block at point %d: its stored summary disagrees with its points", b.FirstOrd)
			case got.MinStep != b.MinStep || got.MaxStep != b.MaxStep || got.MinTime != b.MinTime || got.MaxTime != b.MaxTime:
				bad("block at point %d: its step or time range disagrees with its points", b.FirstOrd)
			}
			total.Merge(got)
		}
		tail, err := m.Tail(ctx, s.Seq)
		if err != nil {
			return err
		}
		var firstTail sql.NullInt64
		if err := q.Get(ctx, &firstTail, stmts.MetricTailStart, s.Seq); err != nil {
			return err
		}
		if int64(len(tail)) != s.Tail {
			bad("%d points in its tail, its row says %d", len(tail), s.Tail)
		} else if len(tail) > 0 && firstTail.Int64 != ord {
			bad("its tail starts at point %d, its blocks end at %d", firstTail.Int64, ord)
		}
		for _, p := range tail {
			total.Add(p)
		}
		stored, err := series.ParseSummary(s.Summary)
		switch {
		case err != nil:
			bad("summary: %v", err)
			continue
		case total.Count != s.Count || stored.Count != s.Count:
			bad("%d points stored, its summary says %d and its row %d", total.Count, stored.Count, s.Count)
		case !sameSummary(total, stored):
			bad("its summary disagrees with its points")
		}
		col := func(v float64) sql.NullFloat64 {
			if math.IsNaN(v) {
				return sql.NullFloat64{} // stored as NULL, read back as the zero value
			}
			return sql.NullFloat64{Float64: v, Valid: true}
		}
		lo, hi := sql.NullFloat64{}, sql.NullFloat64{}
		if stored.HasRange {
			lo, hi = col(stored.Low.Value), col(stored.High.Value)
		}
		if s.LastStep != stored.Last.Step || s.LastValue != col(stored.Last.Value) || s.MinValue != lo || s.MaxValue != hi {
			bad("its searchable columns (last_step, last_value, min_value, max_value) disagree with its summary")
		}
	}
	return nil
}

// sameSummary compares what a summary promises: count, ranges, the last
// point and the lowest and highest values (not which of equal points holds
// them).
func sameSummary(a, b series.Summary) bool {
	return a.Count == b.Count && a.MinStep == b.MinStep && a.MaxStep == b.MaxStep && a.MinTime == b.MinTime &&
		a.MaxTime == b.MaxTime && a.HasRange == b.HasRange && series.Same(a.Last, b.Last) &&
		(!a.HasRange || a.Low.Value == b.Low.Value && a.High.Value == b.High.Value)
}
