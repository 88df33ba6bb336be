// Package metricstore stores metric series on any engine behind package
// storage, written once: the engines supply only the texts of its
// statements (storage.MetricStatements).
//
// A series' points are appended to a raw tail (metric_tail) and sealed
// into compressed blocks (metric_blocks, package series) of BlockPoints; an
// append of DirectPoints or more is sealed into blocks at once. Appends
// never rewrite a block; gc merges small blocks into bigger ones (Compact),
// which a stream of the series (the root's MetricPoints) notices and
// resumes across. metric_series keeps each series' summary current on every
// write. Readers pick blocks by their step and time ranges, summarise whole
// blocks from their stored summaries when they downsample (Points with
// MaxPoints, SummariesAt), and decode only the blocks they must. Verify
// checks that all of this agrees.
package metricstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage"
)

const (
	// BlockPoints is the number of points sealed into one block.
	BlockPoints = 1024
	// DirectPoints is the smallest append sealed into blocks at once
	// instead of going through the tail.
	DirectPoints = 64
)

// ErrNoNextStep: a point without a step was logged to a series whose
// highest step is the largest int64.
var ErrNoNextStep = errors.New("no step after the highest")

// DBTX runs the metric store's fixed statements: a storage.Tx (a write
// transaction, a read snapshot or an engine's Reader), or any handle with
// these methods that binds the engine's placeholders.
type DBTX interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Get(ctx context.Context, dest any, query string, args ...any) error
	Select(ctx context.Context, dest any, query string, args ...any) error
}

var _ DBTX = storage.Tx(nil)

// Store reads and writes metric series through Q, with the engine's
// statements SQL. RunSeq (the run that writes, or nil) and Now (Unix
// milliseconds) stamp what it writes.
type Store struct {
	Q      DBTX
	SQL    *storage.MetricStatements
	RunSeq any
	Now    int64
}

// Owner is what a series belongs to: a resource or a run (by seq; the
// other is 0).
type Owner struct {
	Resource, Run int64
}

// Series is a metric_series row; Seq is 0 when the series does not
// exist yet.
type Series struct {
	Seq     int64  `db:"seq"`
	Count   int64  `db:"count"`
	Tail    int64  `db:"tail"`
	Summary []byte `db:"summary"`
	// Sum is Summary decoded.
	Sum series.Summary `db:"-"`
}

// Find returns series key of own, or a Series with Seq 0 when there is none.
func (m Store) Find(ctx context.Context, own Owner, key string) (Series, error) {
	var s Series
	query, arg := m.SQL.MetricSeriesOfResource, own.Resource
	if own.Run != 0 {
		query, arg = m.SQL.MetricSeriesOfRun, own.Run
	}
	err := m.Q.Get(ctx, &s, query, arg, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Series{}, nil
	}
	if err != nil {
		return s, err
	}
	if s.Count > 0 {
		if s.Sum, err = series.ParseSummary(s.Summary); err != nil {
			return s, fmt.Errorf("%w: metric %q: %w", storage.ErrCorrupt, key, err)
		}
	}
	return s, nil
}

func nullableOwner(seq int64) any {
	if seq == 0 {
		return nil
	}
	return seq
}

// realOrNull is v for a floating-point column; NaN, which SQLite cannot
// store, is NULL on every engine.
func realOrNull(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// Append appends pts to series key of own, creating it if needed.
// With nextStep, the one point in pts takes the step after the series'
// highest.
func (m Store) Append(ctx context.Context, own Owner, key string, pts []series.Point, nextStep bool) error {
	s, err := m.Find(ctx, own, key)
	if err != nil {
		return err
	}
	if s.Seq == 0 {
		if err := m.Q.Get(ctx, &s.Seq, m.SQL.InsertMetricSeries, nullableOwner(own.Resource), nullableOwner(own.Run), key, []byte{}, m.RunSeq, m.Now, m.Now); err != nil {
			return err
		}
	}
	if nextStep {
		pts[0].Step = 0
		if s.Count > 0 {
			if s.Sum.MaxStep == math.MaxInt64 {
				return fmt.Errorf("%w: metric %q: no step after %d", ErrNoNextStep, key, s.Sum.MaxStep)
			}
			pts[0].Step = s.Sum.MaxStep + 1
		}
	}
	if int64(len(pts)) >= DirectPoints || s.Tail+int64(len(pts)) >= BlockPoints {
		all := pts
		if s.Tail > 0 {
			tail, err := m.Tail(ctx, s.Seq)
			if err != nil {
				return err
			}
			if int64(len(tail)) != s.Tail {
				return fmt.Errorf("%w: metric %q: %d points in its tail, its series row says %d", storage.ErrCorrupt, key, len(tail), s.Tail)
			}
			all = append(tail, pts...)
			if _, err := m.Q.Exec(ctx, m.SQL.DeleteMetricTail, s.Seq); err != nil {
				return err
			}
		}
		ord := s.Count - s.Tail
		for len(all) > 0 {
			n := min(len(all), BlockPoints)
			if err := m.sealBlock(ctx, s.Seq, ord, all[:n]); err != nil {
				return err
			}
			all, ord = all[n:], ord+int64(n)
		}
		s.Tail = 0
	} else {
		for i, p := range pts {
			if _, err := m.Q.Exec(ctx, m.SQL.InsertMetricTail, s.Seq, s.Count+int64(i), p.Step, p.Time, int64(math.Float64bits(p.Value))); err != nil {
				return err
			}
		}
		s.Tail += int64(len(pts))
	}
	for _, p := range pts {
		s.Sum.Add(p)
	}
	s.Count += int64(len(pts))
	return m.saveSeries(ctx, s)
}

func (m Store) saveSeries(ctx context.Context, s Series) error {
	sum := s.Sum
	var lo, hi any
	if sum.HasRange {
		lo, hi = sum.Low.Value, sum.High.Value
	}
	_, err := m.Q.Exec(ctx, m.SQL.UpdateMetricSeries, s.Count, sum.Last.Step, realOrNull(sum.Last.Value), lo, hi, s.Tail,
		series.AppendSummary(nil, sum), m.RunSeq, m.Now, s.Seq)
	return err
}

// sealBlock stores pts (in the order they were added) as one block whose
// first point has number ord.
func (m Store) sealBlock(ctx context.Context, seq, ord int64, pts []series.Point) error {
	sum := series.Summarize(pts)
	sorted := pts
	if !slices.IsSortedFunc(pts, series.Compare) {
		sorted = slices.Clone(pts)
		series.Sort(sorted)
	}
	_, err := m.Q.Exec(ctx, m.SQL.InsertMetricBlock, seq, ord, len(pts), sum.MinStep, sum.MaxStep, sum.MinTime, sum.MaxTime,
		series.AppendSummary(nil, sum), series.Encode(nil, sorted))
	return err
}

type tailRow struct {
	Step  int64 `db:"step"`
	Time  int64 `db:"time"`
	Value int64 `db:"value"`
}

// Tail returns the unsealed points of series seq, in the order they were
// added, with room to append a block's worth.
func (m Store) Tail(ctx context.Context, seq int64) ([]series.Point, error) {
	var rows []tailRow
	if err := m.Q.Select(ctx, &rows, m.SQL.MetricTailOf, seq); err != nil {
		return nil, err
	}
	pts := make([]series.Point, len(rows), len(rows)+BlockPoints)
	for i, r := range rows {
		pts[i] = series.Point{Step: r.Step, Time: r.Time, Value: math.Float64frombits(uint64(r.Value))}
	}
	return pts, nil
}

// blockRow is a metric_blocks row: where the block is and what it covers,
// its summary, and its data, read only where needed.
type blockRow struct {
	BlockRef
	Summary []byte `db:"summary"`
	Data    []byte `db:"data"`
}

// decodeBlock decodes the points of b, checking them against its row.
func decodeBlock(dst []series.Point, b blockRow) ([]series.Point, error) {
	n := len(dst)
	dst, err := series.Decode(dst, b.Data)
	if err == nil && int64(len(dst)-n) != b.Count {
		err = fmt.Errorf("%d points in a block of %d", len(dst)-n, b.Count)
	}
	if err != nil {
		return dst[:n], fmt.Errorf("%w: metric block %d: %w", storage.ErrCorrupt, b.FirstOrd, err)
	}
	return dst, nil
}

// Block appends the points of the block of series seq whose first point
// has number ord to dst, in the block's (step) order; sql.ErrNoRows when
// there is no such block (any more).
func (m Store) Block(ctx context.Context, seq, ord int64, dst []series.Point) ([]series.Point, error) {
	b := blockRow{BlockRef: BlockRef{FirstOrd: ord}}
	if err := m.Q.Get(ctx, &b, m.SQL.MetricBlock, seq, ord); err != nil {
		return dst, err
	}
	return decodeBlock(dst, b)
}

// BlockRef is where a block is and what range it covers, without its data.
type BlockRef struct {
	FirstOrd int64 `db:"first_ord"`
	Count    int64 `db:"count"`
	MinStep  int64 `db:"min_step"`
	MaxStep  int64 `db:"max_step"`
	MinTime  int64 `db:"min_time"`
	MaxTime  int64 `db:"max_time"`
}

// BlocksIn lists the blocks of series seq that may hold points of q, in
// the order they were sealed.
func (m Store) BlocksIn(ctx context.Context, seq int64, q Range) ([]BlockRef, error) {
	var out []BlockRef
	err := m.Q.Select(ctx, &out, m.SQL.MetricBlockRefsIn, q.args(seq)...)
	return out, err
}
