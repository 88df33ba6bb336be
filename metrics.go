package metatrack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/metatrack/metatrack/series"
)

// TypeRun is the type of the Resource that stands for a run (see
// Run.Resource): metrics can be logged to the tracker's own run.
const TypeRun = "run"

// Resource returns the Resource that stands for run r, for LogMetric,
// MetricHistory and Metrics.
func (r Run) Resource() Resource { return Resource{ID: r.ID, Type: TypeRun, Name: r.Name} }

// MetricPoint is one point of a metric series: the value logged at a step
// and a time (UTC, millisecond precision).
type MetricPoint struct {
	Step  int64
	Value float64
	Time  time.Time
}

// MetricSummary describes one series of a resource: its last point (the
// one with the highest step; among points of one step, the one with the
// latest time, then the one logged last), its lowest and highest values
// (NaN values left out; NaN when every value is NaN) and its number of
// points.
type MetricSummary struct {
	Key      string
	Last     float64
	LastStep int64
	LastTime time.Time
	Min      float64
	Max      float64
	Count    int64
}

// MetricOption sets the step or time of a point logged with LogMetric.
type MetricOption func(*metricPointConfig)

type metricPointConfig struct {
	step    int64
	hasStep bool
	time    time.Time
}

// WithStep sets the point's step (>= 0). Without it, a point takes the
// step after the highest one of its series (0 for the first).
func WithStep(step int64) MetricOption {
	return func(c *metricPointConfig) { c.step, c.hasStep = step, true }
}

// WithTime sets the point's time (not before 1970, kept to the
// millisecond). Without it, a point is stamped with the tracker's clock.
func WithTime(t time.Time) MetricOption { return func(c *metricPointConfig) { c.time = t } }

// MetricHistoryOption narrows or thins what MetricHistory returns.
type MetricHistoryOption func(*metricQuery)

type metricQuery struct {
	fromStep, toStep int64
	fromTime, toTime int64
	maxPoints        int
}

func newMetricQuery(opts []MetricHistoryOption) (metricQuery, error) {
	q := metricQuery{fromStep: math.MinInt64, toStep: math.MaxInt64, fromTime: math.MinInt64, toTime: math.MaxInt64}
	for _, o := range opts {
		o(&q)
	}
	switch {
	case q.maxPoints < 0 || q.maxPoints > 0 && q.maxPoints < 3:
		return q, fmt.Errorf("%w: at most %d points: a downsampled view needs at least 3 (a bucket's min, max and last)", ErrInvalidArgument, q.maxPoints)
	case q.fromStep > q.toStep:
		return q, fmt.Errorf("%w: step range %d..%d is empty", ErrInvalidArgument, q.fromStep, q.toStep)
	case q.fromTime > q.toTime:
		return q, fmt.Errorf("%w: time range is empty (from after to)", ErrInvalidArgument)
	}
	return q, nil
}

// WithStepRange keeps the points with from <= step <= to.
func WithStepRange(from, to int64) MetricHistoryOption {
	return func(q *metricQuery) { q.fromStep, q.toStep = from, to }
}

// WithTimeRange keeps the points with from <= time <= to (to the
// millisecond). A zero from or to leaves that side open.
func WithTimeRange(from, to time.Time) MetricHistoryOption {
	return func(q *metricQuery) {
		if !from.IsZero() {
			q.fromTime = from.UnixMilli()
		}
		if !to.IsZero() {
			q.toTime = to.UnixMilli()
		}
	}
}

// WithMaxPoints caps the number of points returned (n >= 3). When more
// points are in range, MetricHistory returns a downsampled series instead:
// the step range is cut into n/3 buckets and each bucket keeps its points
// with the lowest and the highest value and its last point, so that a chart
// of it shows every peak and trough of the full series. Buckets follow the
// storage blocks where a block lies within one bucket's width, so their
// edges may shift by less than a block's span (1024 points).
func WithMaxPoints(n int) MetricHistoryOption { return func(q *metricQuery) { q.maxPoints = n } }

// Storage layout of series (see schema/sqlite/0005_metrics.up.sql): points
// are appended to a raw tail and sealed into compressed blocks of
// metricBlockPoints; a LogMetrics call of metricDirectPoints or more points
// is sealed into blocks at once.
const (
	metricBlockPoints  = 1024
	metricDirectPoints = 64
)

// validateMetricKey checks a metric key: the rules of tag and metadata
// keys, and no control characters (keys are printed in tables and charts).
func validateMetricKey(key string) error {
	if err := validateText("metric key", key, MaxKeyBytes, false); err != nil {
		return err
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: metric key %q contains a control character", ErrInvalidArgument, key)
		}
	}
	return nil
}

func validatePoint(key string, step int64, t time.Time) error {
	if step < 0 {
		return fmt.Errorf("%w: metric %q: step %d is negative", ErrInvalidArgument, key, step)
	}
	if !t.IsZero() && t.UnixMilli() < 0 {
		return fmt.Errorf("%w: metric %q: time %s is before 1970", ErrInvalidArgument, key, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// LogMetric appends one point to the series key of res: value at the next
// step and now, or at WithStep and WithTime. Every point is kept, equal
// values too; NaN and infinities are stored as they are. res may be any
// resource, or a run (Run.Resource). A resource or run that has ended
// (CleanResource, Stop) takes no more points: ErrResourceClosed.
func (t *Tracker) LogMetric(ctx context.Context, res Resource, key string, value float64, opts ...MetricOption) error {
	if err := validateMetricKey(key); err != nil {
		return err
	}
	var c metricPointConfig
	for _, o := range opts {
		o(&c)
	}
	if err := validatePoint(key, c.step, c.time); err != nil {
		return err
	}
	return t.write(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, true)
		if err != nil {
			return err
		}
		p := series.Point{Step: c.step, Time: x.now, Value: value}
		if !c.time.IsZero() {
			p.Time = c.time.UnixMilli()
		}
		return x.appendMetric(ctx, own, key, []series.Point{p}, !c.hasStep)
	})
}

// LogMetrics appends points to the series key of res in one write, in
// their order: a training loop's curve, or a whole series copied from
// elsewhere. Each point keeps its Step; a zero Time means now. Either all
// points are stored or, on any error, none.
func (t *Tracker) LogMetrics(ctx context.Context, res Resource, key string, points []MetricPoint) error {
	if err := validateMetricKey(key); err != nil {
		return err
	}
	for i, p := range points {
		if err := validatePoint(key, p.Step, p.Time); err != nil {
			return fmt.Errorf("point %d: %w", i, err)
		}
	}
	if len(points) == 0 {
		return nil
	}
	return t.write(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, true)
		if err != nil {
			return err
		}
		pts := make([]series.Point, len(points))
		for i, p := range points {
			pts[i] = series.Point{Step: p.Step, Time: x.now, Value: p.Value}
			if !p.Time.IsZero() {
				pts[i].Time = p.Time.UnixMilli()
			}
		}
		return x.appendMetric(ctx, own, key, pts, false)
	})
}

// MetricHistory returns the points of series key of res in step order
// (points of one step by time, then in the order they were logged),
// narrowed by WithStepRange and WithTimeRange and thinned by WithMaxPoints.
// It returns ErrNotFound when res has no series key.
func (t *Tracker) MetricHistory(ctx context.Context, res Resource, key string, opts ...MetricHistoryOption) ([]MetricPoint, error) {
	q, err := newMetricQuery(opts)
	if err != nil {
		return nil, err
	}
	var pts []series.Point
	err = t.read(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, false)
		if err != nil {
			return err
		}
		s, err := x.seriesOf(ctx, own, key)
		if err != nil {
			return err
		}
		if s.Seq == 0 {
			return fmt.Errorf("%w: metric %q of %s", ErrNotFound, key, own.ref)
		}
		pts, err = x.metricPoints(ctx, s, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]MetricPoint, len(pts))
	for i, p := range pts {
		out[i] = MetricPoint{Step: p.Step, Value: p.Value, Time: fromMillis(p.Time)}
	}
	return out, nil
}

// Metrics returns the summary of every series of res, by key.
func (t *Tracker) Metrics(ctx context.Context, res Resource) ([]MetricSummary, error) {
	var out []MetricSummary
	err := t.read(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, false)
		if err != nil {
			return err
		}
		var rows []struct {
			Key     string `db:"key"`
			Summary []byte `db:"summary"`
		}
		query, arg := sqlSummariesOfResource, own.resSeq
		if own.runSeq != 0 {
			query, arg = sqlSummariesOfRun, own.runSeq
		}
		if err := x.sel(ctx, &rows, query, arg); err != nil {
			return err
		}
		for _, r := range rows {
			s, err := series.ParseSummary(r.Summary)
			if err != nil {
				return fmt.Errorf("%w: metric %q of %s: %w", ErrCorrupt, r.Key, own.ref, err)
			}
			out = append(out, metricSummary(r.Key, s))
		}
		return nil
	})
	return out, err
}

func metricSummary(key string, s series.Summary) MetricSummary {
	m := MetricSummary{Key: key, Last: s.Last.Value, LastStep: s.Last.Step, LastTime: fromMillis(s.Last.Time),
		Min: math.NaN(), Max: math.NaN(), Count: s.Count}
	if s.HasRange {
		m.Min, m.Max = s.Low.Value, s.High.Value
	}
	return m
}

// seriesOwner is what a series belongs to: a resource or a run.
type seriesOwner struct {
	resSeq, runSeq int64
	ref            string
	closed         bool
}

// metricOwner resolves res, a resource or a run. forWrite refuses an
// owner that has ended.
func (x *txn) metricOwner(ctx context.Context, res Resource, forWrite bool) (seriesOwner, error) {
	if res.Type != TypeRun {
		row, err := x.target(ctx, res)
		if err == nil {
			own := seriesOwner{resSeq: row.Seq, ref: row.ref(), closed: row.EndedAt.Valid}
			if forWrite && own.closed {
				return own, fmt.Errorf("%w: %s ended at %s (CleanResource); log its metrics before closing it",
					ErrResourceClosed, own.ref, fromMillis(row.EndedAt.Int64).Format(time.RFC3339Nano))
			}
			return own, nil
		}
		if !errors.Is(err, ErrNotFound) || res.ID == "" || res.Type != "" {
			return seriesOwner{}, err
		}
	}
	var run runRow
	var err error
	if res.ID != "" {
		err = x.get(ctx, &run, sqlRunByID, res.ID)
	} else {
		err = x.get(ctx, &run, sqlRunByName, res.Name)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return seriesOwner{}, fmt.Errorf("%w: run %q", ErrNotFound, res.key())
	}
	if err != nil {
		return seriesOwner{}, err
	}
	own := seriesOwner{runSeq: run.Seq, ref: "run/" + run.ID, closed: run.Status != RunRunning}
	if forWrite && own.closed {
		return own, fmt.Errorf("%w: run %s (%s) is %s", ErrResourceClosed, run.Name, run.ID, run.Status)
	}
	return own, nil
}

// seriesRow is a metric_series row; Seq is 0 when the series does not
// exist yet.
type seriesRow struct {
	Seq     int64  `db:"seq"`
	Count   int64  `db:"count"`
	Tail    int64  `db:"tail"`
	Summary []byte `db:"summary"`
	sum     series.Summary
}

func (x *txn) seriesOf(ctx context.Context, own seriesOwner, key string) (seriesRow, error) {
	var s seriesRow
	query, arg := sqlSeriesOfResource, own.resSeq
	if own.runSeq != 0 {
		query, arg = sqlSeriesOfRun, own.runSeq
	}
	err := x.get(ctx, &s, query, arg, key)
	if errors.Is(err, sql.ErrNoRows) {
		return seriesRow{}, nil
	}
	if err != nil {
		return s, err
	}
	if s.Count > 0 {
		if s.sum, err = series.ParseSummary(s.Summary); err != nil {
			return s, fmt.Errorf("%w: metric %q of %s: %w", ErrCorrupt, key, own.ref, err)
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

// realOrNull is v for a REAL column; NaN, which SQLite cannot store, is
// NULL.
func realOrNull(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// appendMetric appends pts to series key of own, creating it if needed.
// With nextStep, the one point in pts takes the step after the series'
// highest.
func (x *txn) appendMetric(ctx context.Context, own seriesOwner, key string, pts []series.Point, nextStep bool) error {
	s, err := x.seriesOf(ctx, own, key)
	if err != nil {
		return err
	}
	if s.Seq == 0 {
		res, err := x.exec(ctx, sqlInsertSeries, nullableOwner(own.resSeq), nullableOwner(own.runSeq), key, x.runSeq(), x.now, x.now)
		if err != nil {
			return err
		}
		if s.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	if nextStep {
		pts[0].Step = 0
		if s.Count > 0 {
			if s.sum.MaxStep == math.MaxInt64 {
				return fmt.Errorf("%w: metric %q of %s: no step after %d", ErrInvalidArgument, key, own.ref, s.sum.MaxStep)
			}
			pts[0].Step = s.sum.MaxStep + 1
		}
	}
	if int64(len(pts)) >= metricDirectPoints || s.Tail+int64(len(pts)) >= metricBlockPoints {
		all := pts
		if s.Tail > 0 {
			tail, err := x.metricTail(ctx, s.Seq)
			if err != nil {
				return err
			}
			if int64(len(tail)) != s.Tail {
				return fmt.Errorf("%w: metric %q of %s: %d points in its tail, its summary says %d", ErrCorrupt, key, own.ref, len(tail), s.Tail)
			}
			all = append(tail, pts...)
			if _, err := x.exec(ctx, sqlDeleteTail, s.Seq); err != nil {
				return err
			}
		}
		ord := s.Count - s.Tail
		for len(all) > 0 {
			n := min(len(all), metricBlockPoints)
			if err := x.sealBlock(ctx, s.Seq, ord, all[:n]); err != nil {
				return err
			}
			all, ord = all[n:], ord+int64(n)
		}
		s.Tail = 0
	} else {
		for i, p := range pts {
			if _, err := x.exec(ctx, sqlInsertTail, s.Seq, s.Count+int64(i), p.Step, p.Time, int64(math.Float64bits(p.Value))); err != nil {
				return err
			}
		}
		s.Tail += int64(len(pts))
	}
	for _, p := range pts {
		s.sum.Add(p)
	}
	s.Count += int64(len(pts))
	return x.saveSeries(ctx, s)
}

func (x *txn) saveSeries(ctx context.Context, s seriesRow) error {
	sum := s.sum
	var lo, hi any
	if sum.HasRange {
		lo, hi = sum.Low.Value, sum.High.Value
	}
	_, err := x.exec(ctx, sqlUpdateSeries, s.Count, sum.Last.Step, realOrNull(sum.Last.Value), lo, hi, s.Tail,
		series.AppendSummary(nil, sum), x.runSeq(), x.now, s.Seq)
	return err
}

// sealBlock stores pts (in the order they were added) as one block whose
// first point has number ord.
func (x *txn) sealBlock(ctx context.Context, seq, ord int64, pts []series.Point) error {
	sum := series.Summarize(pts)
	sorted := pts
	if !slices.IsSortedFunc(pts, series.Compare) {
		sorted = slices.Clone(pts)
		series.Sort(sorted)
	}
	_, err := x.exec(ctx, sqlInsertBlock, seq, ord, len(pts), sum.MinStep, sum.MaxStep, sum.MinTime, sum.MaxTime,
		series.AppendSummary(nil, sum), series.Encode(nil, sorted))
	return err
}

type tailRow struct {
	Step  int64 `db:"step"`
	Time  int64 `db:"time"`
	Value int64 `db:"value"`
}

// metricTail returns the unsealed points of series seq, in the order they
// were added.
func (x *txn) metricTail(ctx context.Context, seq int64) ([]series.Point, error) {
	var rows []tailRow
	if err := x.sel(ctx, &rows, sqlTailOf, seq); err != nil {
		return nil, err
	}
	pts := make([]series.Point, len(rows), len(rows)+metricBlockPoints)
	for i, r := range rows {
		pts[i] = series.Point{Step: r.Step, Time: r.Time, Value: math.Float64frombits(uint64(r.Value))}
	}
	return pts, nil
}

type blockRow struct {
	FirstOrd int64  `db:"first_ord"`
	Count    int64  `db:"count"`
	MinStep  int64  `db:"min_step"`
	MaxStep  int64  `db:"max_step"`
	MinTime  int64  `db:"min_time"`
	MaxTime  int64  `db:"max_time"`
	Summary  []byte `db:"summary"`
	Data     []byte `db:"data"`
}

func (q metricQuery) within(p series.Point) bool {
	return p.Step >= q.fromStep && p.Step <= q.toStep && p.Time >= q.fromTime && p.Time <= q.toTime
}

func (q metricQuery) holds(b blockRow) bool {
	return b.MinStep >= q.fromStep && b.MaxStep <= q.toStep && b.MinTime >= q.fromTime && b.MaxTime <= q.toTime
}

func (q metricQuery) args(seq int64) []any {
	return []any{seq, q.fromStep, q.toStep, q.fromTime, q.toTime}
}

// decodeBlock decodes the points of b, checking them against its row.
func decodeBlock(dst []series.Point, b blockRow) ([]series.Point, error) {
	n := len(dst)
	dst, err := series.Decode(dst, b.Data)
	if err == nil && int64(len(dst)-n) != b.Count {
		err = fmt.Errorf("%d points in a block of %d", len(dst)-n, b.Count)
	}
	if err != nil {
		return dst[:n], fmt.Errorf("%w: metric block %d: %w", ErrCorrupt, b.FirstOrd, err)
	}
	return dst, nil
}

// metricPoints returns the points of series s that q selects, in order.
func (x *txn) metricPoints(ctx context.Context, s seriesRow, q metricQuery) ([]series.Point, error) {
	if q.maxPoints > 0 && s.Count > int64(q.maxPoints) {
		return x.downsample(ctx, s, q)
	}
	var blocks []blockRow
	if err := x.sel(ctx, &blocks, sqlBlocksWithData, q.args(s.Seq)...); err != nil {
		return nil, err
	}
	var total int64
	for _, b := range blocks {
		total += b.Count
	}
	pts := make([]series.Point, 0, total+s.Tail)
	for _, b := range blocks {
		n := len(pts)
		var err error
		if pts, err = decodeBlock(pts, b); err != nil {
			return nil, err
		}
		if !q.holds(b) {
			pts = append(pts[:n], filterPoints(pts[n:], q)...)
		}
	}
	if s.Tail > 0 {
		tail, err := x.metricTail(ctx, s.Seq)
		if err != nil {
			return nil, err
		}
		pts = append(pts, filterPoints(tail, q)...)
	}
	series.Sort(pts)
	if q.maxPoints > 0 && len(pts) > q.maxPoints {
		return bucketPoints(pts, q.maxPoints), nil
	}
	return pts, nil
}

// filterPoints keeps the points of pts that q selects, in place.
func filterPoints(pts []series.Point, q metricQuery) []series.Point {
	out := pts[:0]
	for _, p := range pts {
		if q.within(p) {
			out = append(out, p)
		}
	}
	return out
}

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
func (x *txn) downsample(ctx context.Context, s seriesRow, q metricQuery) ([]series.Point, error) {
	var blocks []blockRow
	if err := x.sel(ctx, &blocks, sqlBlocksIn, q.args(s.Seq)...); err != nil {
		return nil, err
	}
	var tail []series.Point
	if s.Tail > 0 {
		var err error
		if tail, err = x.metricTail(ctx, s.Seq); err != nil {
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
		if err := x.get(ctx, &b.Data, sqlBlockData, s.Seq, b.FirstOrd); err != nil {
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
	if count <= int64(q.maxPoints) {
		// Few enough in range after all: every point.
		all := q
		all.maxPoints = 0
		return x.metricPoints(ctx, s, all)
	}
	b := newBuckets(lo, hi, q.maxPoints/3)
	for _, blk := range blocks {
		if pts, ok := decoded[blk.FirstOrd]; ok {
			for _, p := range pts {
				b.add(p)
			}
			continue
		}
		if i := b.index(blk.MinStep); i == b.index(blk.MaxStep) {
			sum, err := series.ParseSummary(blk.Summary)
			if err != nil {
				return nil, fmt.Errorf("%w: metric block %d: %w", ErrCorrupt, blk.FirstOrd, err)
			}
			b.addSummary(i, sum)
			continue
		}
		// A block wider than a bucket: its points one by one.
		if err := x.get(ctx, &blk.Data, sqlBlockData, s.Seq, blk.FirstOrd); err != nil {
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

// metricSummariesOf returns the summaries of the series of the resources
// seqs, by resource seq and key, read in one statement: for listings that
// show metric columns. With keys, only those series are read.
func (x *txn) metricSummariesOf(ctx context.Context, seqs []int64, keys []string) (map[int64]map[string]MetricSummary, error) {
	out := map[int64]map[string]MetricSummary{}
	if len(seqs) == 0 {
		return out, nil
	}
	set, err := json.Marshal(seqs)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Seq     int64  `db:"resource_seq"`
		Key     string `db:"key"`
		Summary []byte `db:"summary"`
	}
	if keys == nil {
		err = x.sel(ctx, &rows, sqlSummariesOfSet, string(set))
	} else {
		var ks []byte
		if ks, err = json.Marshal(keys); err == nil {
			err = x.sel(ctx, &rows, sqlSummariesOfSetKeys, string(set), string(ks))
		}
	}
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		s, err := series.ParseSummary(r.Summary)
		if err != nil {
			return nil, fmt.Errorf("%w: metric %q of resource #%d: %w", ErrCorrupt, r.Key, r.Seq, err)
		}
		if out[r.Seq] == nil {
			out[r.Seq] = map[string]MetricSummary{}
		}
		out[r.Seq][r.Key] = metricSummary(r.Key, s)
	}
	return out, nil
}
