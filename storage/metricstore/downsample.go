package metricstore

// Downsampling: a view of at most MaxPoints points of a series that
// keeps every peak and trough, computed from block summaries where blocks
// allow.

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage"
)

// buckets cuts the steps lo..hi into n buckets of equal width.
type buckets struct {
	lo    int64
	width uint64
	acc   []bucketAcc
}

type bucketAcc struct {
	low, high, last series.Point
	hasRange, any   bool
}

func newBuckets(lo, hi int64, n int) *buckets {
	span := uint64(hi) - uint64(lo) // hi >= lo
	width := span/uint64(n) + 1
	return &buckets{lo: lo, width: width, acc: make([]bucketAcc, n)}
}

func (b *buckets) index(step int64) int {
	i := int((uint64(step) - uint64(b.lo)) / b.width)
	return min(max(i, 0), len(b.acc)-1)
}

// add folds a point, added after those already folded in, into its bucket.
func (b *buckets) add(p series.Point) {
	b.addSummary(b.index(p.Step), series.Summarize([]series.Point{p}))
}

func (b *buckets) addSummary(i int, s series.Summary) {
	a := &b.acc[i]
	if !a.any || series.Compare(s.Last, a.last) >= 0 {
		a.last = s.Last
	}
	a.any = true
	if s.HasRange {
		if !a.hasRange || s.Low.Value < a.low.Value {
			a.low = s.Low
		}
		if !a.hasRange || s.High.Value > a.high.Value {
			a.high = s.High
		}
		a.hasRange = true
	}
}

// points returns each bucket's lowest, highest and last points, once each,
// in step order.
func (b *buckets) points() []series.Point {
	out := make([]series.Point, 0, 3*len(b.acc))
	for _, a := range b.acc {
		if !a.any {
			continue
		}
		n := len(out)
		out = append(out, a.last)
		for _, p := range []series.Point{a.low, a.high} {
			if a.hasRange && !slices.ContainsFunc(out[n:], func(o series.Point) bool { return series.Same(o, p) }) {
				out = append(out, p)
			}
		}
		series.Sort(out[n:])
	}
	return out
}

// bucketPoints downsamples pts (in step order) to at most max points.
func bucketPoints(pts []series.Point, maxPoints int) []series.Point {
	b := newBuckets(pts[0].Step, pts[len(pts)-1].Step, maxPoints/3)
	for _, p := range pts {
		b.add(p)
	}
	return b.points()
}

// downsample returns the downsampled view of the points of s that q
// selects, summarising from their stored summaries the blocks that lie
// within one bucket and decoding only the others.
func (m Store) downsample(ctx context.Context, s Series, q Range) ([]series.Point, error) {
	var blocks []blockRow
	if err := m.Q.Select(ctx, &blocks, m.SQL.MetricBlocksIn, q.args(s.Seq)...); err != nil {
		return nil, err
	}
	var tail []series.Point
	if s.Tail > 0 {
		var err error
		if tail, err = m.Tail(ctx, s.Seq); err != nil {
			return nil, err
		}
		tail = filterPoints(tail, q)
	}
	// Blocks at the edges of the range are decoded and trimmed; the others
	// count as a whole.
	var edge []series.Point
	decoded := map[int64][]series.Point{}
	var count int64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, b := range blocks {
		if q.holds(b) {
			count += b.Count
			lo, hi = min(lo, b.MinStep), max(hi, b.MaxStep)
			continue
		}
		if err := m.Q.Get(ctx, &b.Data, m.SQL.MetricBlockData, s.Seq, b.FirstOrd); err != nil {
			return nil, err
		}
		pts, err := decodeBlock(nil, b)
		if err != nil {
			return nil, err
		}
		pts = filterPoints(pts, q)
		decoded[b.FirstOrd] = pts
		edge = append(edge, pts...)
	}
	edge = append(edge, tail...)
	for _, p := range edge {
		lo, hi = min(lo, p.Step), max(hi, p.Step)
	}
	count += int64(len(edge))
	if count <= int64(q.MaxPoints) {
		// Few enough in range after all: every point.
		all := q
		all.MaxPoints = 0
		return m.Points(ctx, s, all)
	}
	b := newBuckets(lo, hi, q.MaxPoints/3)
	for _, blk := range blocks {
		if pts, ok := decoded[blk.FirstOrd]; ok {
			for _, p := range pts {
				b.add(p)
			}
			continue
		}
		// A block narrower than a bucket counts whole in the bucket of its
		// last step: bucket edges shift by less than a block's span, and
		// the block need not be decoded.
		if uint64(blk.MaxStep)-uint64(blk.MinStep) < b.width {
			i := b.index(blk.MaxStep)
			sum, err := series.ParseSummary(blk.Summary)
			if err != nil {
				return nil, fmt.Errorf("%w: metric block %d: %w", storage.ErrCorrupt, blk.FirstOrd, err)
			}
			b.addSummary(i, sum)
			continue
		}
		// A block wider than a bucket: its points one by one.
		if err := m.Q.Get(ctx, &blk.Data, m.SQL.MetricBlockData, s.Seq, blk.FirstOrd); err != nil {
			return nil, err
		}
		pts, err := decodeBlock(nil, blk)
		if err != nil {
			return nil, err
		}
		for _, p := range pts {
			b.add(p)
		}
	}
	for _, p := range tail {
		b.add(p)
	}
	return b.points(), nil
}
