package metatrack

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage/metricstore"
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
	Step  int64     `json:"step"`
	Value float64   `json:"value"`
	Time  time.Time `json:"time"`
}

// MetricSummary describes one series of a resource: its last point (the
// one with the highest step; among points of one step, the one with the
// latest time, then the highest value), its lowest and highest values
// (NaN values left out; NaN when every value is NaN) and its number of
// points.
type MetricSummary struct {
	Key      string    `json:"key"`
	Last     float64   `json:"last"`
	LastStep int64     `json:"last_step"`
	LastTime time.Time `json:"last_time"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	Count    int64     `json:"count"`
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
type MetricHistoryOption func(*metricstore.Range)

func newMetricQuery(opts []MetricHistoryOption) (metricstore.Range, error) {
	q := metricstore.AllPoints
	for _, o := range opts {
		o(&q)
	}
	switch {
	case q.MaxPoints < 0 || q.MaxPoints > 0 && q.MaxPoints < 3:
		return q, fmt.Errorf("%w: at most %d points: a downsampled view needs at least 3 (a bucket's min, max and last)", ErrInvalidArgument, q.MaxPoints)
	case q.FromStep > q.ToStep:
		return q, fmt.Errorf("%w: step range %d..%d is empty", ErrInvalidArgument, q.FromStep, q.ToStep)
	case q.FromTime > q.ToTime:
		return q, fmt.Errorf("%w: time range is empty (from after to)", ErrInvalidArgument)
	}
	return q, nil
}

// WithStepRange keeps the points with from <= step <= to.
func WithStepRange(from, to int64) MetricHistoryOption {
	return func(q *metricstore.Range) { q.FromStep, q.ToStep = from, to }
}

// WithTimeRange keeps the points with from <= time <= to (to the
// millisecond). A zero from or to leaves that side open.
func WithTimeRange(from, to time.Time) MetricHistoryOption {
	return func(q *metricstore.Range) {
		if !from.IsZero() {
			q.FromTime = from.UnixMilli()
		}
		if !to.IsZero() {
			q.ToTime = to.UnixMilli()
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
func WithMaxPoints(n int) MetricHistoryOption { return func(q *metricstore.Range) { q.MaxPoints = n } }

func validatePoint(key string, step int64, t time.Time) error {
	ms := int64(0)
	if !t.IsZero() {
		ms = t.UnixMilli()
	}
	return rules.MetricPoint(key, step, ms)
}

// LogMetric appends one point to the series key of res: value at the next
// step and now, or at WithStep and WithTime. Every point is kept, equal
// values too; NaN and infinities are stored as they are. res may be any
// resource, or a run (Run.Resource). A resource or run that has ended
// (CleanResource, Stop) takes no more points: ErrResourceClosed.
func (t *Tracker) LogMetric(ctx context.Context, res Resource, key string, value float64, opts ...MetricOption) error {
	if err := rules.MetricKey(key); err != nil {
		return err
	}
	var c metricPointConfig
	for _, o := range opts {
		o(&c)
	}
	if err := validatePoint(key, c.step, c.time); err != nil {
		return err
	}
	return t.writeBuffered(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, true)
		if err != nil {
			return err
		}
		p := series.Point{Step: c.step, Time: x.now, Value: value}
		if !c.time.IsZero() {
			p.Time = c.time.UnixMilli()
		}
		if t.metrics != nil {
			return t.metrics.add(ctx, x, own, key, []series.Point{p}, !c.hasStep)
		}
		return x.appendMetric(ctx, own, key, []series.Point{p}, !c.hasStep)
	})
}

// LogMetrics appends points to the series key of res in one write, in
// their order: a training loop's curve, or a whole series copied from
// elsewhere. Each point keeps its Step; a zero Time means now. Either all
// points are stored or, on any error, none.
func (t *Tracker) LogMetrics(ctx context.Context, res Resource, key string, points []MetricPoint) error {
	if err := rules.MetricKey(key); err != nil {
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
	return t.writeBuffered(ctx, func(x *txn) error {
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
		if t.metrics != nil {
			return t.metrics.add(ctx, x, own, key, pts, false)
		}
		return x.appendMetric(ctx, own, key, pts, false)
	})
}

// MetricHistory returns the points of series key of res in step order
// (points of one step by time, then by value),
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
		m := x.metrics()
		s, err := m.Find(ctx, own.Owner, key)
		if err != nil {
			return fmt.Errorf("%s: %w", own.ref(), err)
		}
		if s.Seq == 0 {
			return fmt.Errorf("%w: metric %q of %s", ErrNotFound, key, own.ref())
		}
		pts, err = m.Points(ctx, s, q)
		if err != nil {
			return fmt.Errorf("%s: %w", own.ref(), err)
		}
		return nil
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
		sums, err := x.metrics().Summaries(ctx, own.Owner)
		if err != nil {
			return fmt.Errorf("%s: %w", own.ref(), err)
		}
		for _, s := range sums {
			out = append(out, metricSummary(s.Key, s.Summary))
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
	metricstore.Owner
	row    resourceRow // the resource, when Resource is set
	runID  string      // the run's id, when Run is set
	closed bool
}

// ref names the owner in errors.
func (o seriesOwner) ref() string {
	if o.Run != 0 {
		return "run/" + o.runID
	}
	return o.row.ref()
}

// metricOwner resolves res, a resource or a run. forWrite refuses an
// owner that has ended.
func (x *txn) metricOwner(ctx context.Context, res Resource, forWrite bool) (seriesOwner, error) {
	if res.Type != TypeRun {
		row, err := x.target(ctx, res)
		if err == nil {
			own := seriesOwner{Owner: metricstore.Owner{Resource: row.Seq}, row: row, closed: row.EndedAt.Valid}
			if forWrite && own.closed {
				return own, fmt.Errorf("%w: %s ended at %s (CleanResource); log its metrics before closing it",
					ErrResourceClosed, own.ref(), fromMillis(row.EndedAt.Int64).Format(time.RFC3339Nano))
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
		err = x.get(ctx, &run, x.sql.RunByID, res.ID)
	} else {
		err = x.get(ctx, &run, x.sql.RunByName, res.Name)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return seriesOwner{}, fmt.Errorf("%w: run %q", ErrNotFound, res.key())
	}
	if err != nil {
		return seriesOwner{}, err
	}
	own := seriesOwner{Owner: metricstore.Owner{Run: run.Seq}, runID: run.ID, closed: run.Status != RunRunning}
	if forWrite && own.closed {
		return own, fmt.Errorf("%w: run %s (%s) is %s", ErrResourceClosed, run.Name, run.ID, run.Status)
	}
	return own, nil
}

// metricSummariesOf returns the summaries of the series of the resources
// seqs, by resource seq and key, read in one statement: for listings that
// show metric columns. With keys, only those series are read.
func (x *txn) metricSummariesOf(ctx context.Context, seqs []int64, keys []string) (map[int64]map[string]MetricSummary, error) {
	sums, err := x.metrics().SummariesOf(ctx, seqs, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]map[string]MetricSummary, len(sums))
	for seq, list := range sums {
		m := make(map[string]MetricSummary, len(list))
		for _, s := range list {
			m[s.Key] = metricSummary(s.Key, s.Summary)
		}
		out[seq] = m
	}
	return out, nil
}

// metrics returns the metric series store on x.
func (x *txn) metrics() metricstore.Store {
	return metricstore.Store{Q: x.tx, RunSeq: x.runSeq(), Now: x.now, SQL: &x.sql.MetricStatements}
}

// appendMetric appends pts to the series key of own.
func (x *txn) appendMetric(ctx context.Context, own seriesOwner, key string, pts []series.Point, nextStep bool) error {
	err := x.metrics().Append(ctx, own.Owner, key, pts, nextStep)
	if errors.Is(err, metricstore.ErrNoNextStep) {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArgument, own.ref(), err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", own.ref(), err)
	}
	return nil
}

// metricsAt returns the summaries of the series of res over their points
// with a time at or before at.
func (t *Tracker) metricsAt(ctx context.Context, res Resource, at time.Time) (map[string]MetricSummary, error) {
	out := map[string]MetricSummary{}
	err := t.read(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, false)
		if err != nil {
			return err
		}
		sums, err := x.metrics().SummariesAt(ctx, own.Owner, at.UnixMilli())
		if err != nil {
			return fmt.Errorf("%s: %w", own.ref(), err)
		}
		for _, s := range sums {
			out[s.Key] = metricSummary(s.Key, s.Summary)
		}
		return nil
	})
	return out, err
}

// MetricPoints returns the points of series key of res as MetricHistory
// does (without WithMaxPoints), one stored block at a time, so that a
// series of any length is read in bounded memory: for exports of curves,
// and for series too long to hold as a slice. The list of blocks is read
// at the start; each block is read when it is reached, each in its own
// short read, so that a long iteration holds no snapshot open. When gc
// merges the series' blocks meanwhile, the iteration lists them again and
// goes on from the point it had reached.
func (t *Tracker) MetricPoints(ctx context.Context, res Resource, key string, opts ...MetricHistoryOption) iter.Seq2[MetricPoint, error] {
	return func(yield func(MetricPoint, error) bool) {
		q, err := newMetricQuery(opts)
		if err == nil && q.MaxPoints > 0 {
			err = fmt.Errorf("%w: MetricPoints does not downsample; use MetricHistory with WithMaxPoints", ErrInvalidArgument)
		}
		if err != nil {
			yield(MetricPoint{}, err)
			return
		}
		// A pass that restarts goes on after the last point it yielded, in
		// the series' order (series.Compare), past as many points equal to
		// it as were yielded: points appended meanwhile before it are not
		// yielded, none after it is skipped.
		var (
			last    series.Point
			lastN   int // points equal to last yielded so far
			started bool
		)
		for restarts := 0; ; restarts++ {
			mg, err := t.openPointMerge(ctx, res, key, q)
			if err != nil {
				yield(MetricPoint{}, err)
				return
			}
			seen := 0 // points equal to last met in this pass
			for {
				p, ok, err := mg.next()
				if errors.Is(err, errStaleBlock) {
					if restarts < 10 {
						break
					}
					err = fmt.Errorf("%w: metric %q: %w (it changed on every one of %d reads)", ErrConflict, key, err, restarts+1)
				}
				if err != nil {
					yield(MetricPoint{}, err)
					return
				}
				if !ok {
					return
				}
				if !q.Within(p) {
					continue
				}
				if started {
					c := series.Compare(p, last)
					if c < 0 {
						continue
					}
					if c == 0 && seen < lastN {
						seen++
						continue
					}
				}
				if started && series.Compare(p, last) == 0 {
					lastN++
					seen++
				} else {
					last, lastN, seen, started = p, 1, 1, true
				}
				if !yield(MetricPoint{Step: p.Step, Value: p.Value, Time: fromMillis(p.Time)}, nil) {
					return
				}
			}
		}
	}
}

// errStaleBlock: a block listed at the start of MetricPoints was merged
// into another (by gc) before it was read.
var errStaleBlock = errors.New("metric block changed while it was read")

// openPointMerge lists the blocks and reads the tail of series key of res
// in one snapshot.
func (t *Tracker) openPointMerge(ctx context.Context, res Resource, key string, q metricstore.Range) (*pointMerge, error) {
	var s metricstore.Series
	var blocks []metricstore.BlockRef
	var tail []series.Point
	err := t.read(ctx, func(x *txn) error {
		own, err := x.metricOwner(ctx, res, false)
		if err != nil {
			return err
		}
		m := x.metrics()
		if s, err = m.Find(ctx, own.Owner, key); err != nil {
			return fmt.Errorf("%s: %w", own.ref(), err)
		}
		if s.Seq == 0 {
			return fmt.Errorf("%w: metric %q of %s", ErrNotFound, key, own.ref())
		}
		if blocks, err = m.BlocksIn(ctx, s.Seq, q); err != nil {
			return err
		}
		if s.Tail > 0 {
			tail, err = m.Tail(ctx, s.Seq)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	kept := tail[:0]
	for _, p := range tail {
		if q.Within(p) {
			kept = append(kept, p)
		}
	}
	series.Sort(kept)
	return &pointMerge{blocks: blocks, tail: kept, load: func(b metricstore.BlockRef) ([]series.Point, error) {
		var pts []series.Point
		err := t.readOne(ctx, func(x *txn) error {
			var err error
			pts, err = x.metrics().Block(ctx, s.Seq, b.FirstOrd, nil)
			if errors.Is(err, sql.ErrNoRows) || err == nil && int64(len(pts)) != b.Count {
				return errStaleBlock
			}
			return err
		})
		return pts, err
	}}, nil
}

// pointMerge yields the points of blocks (each in step order) and of tail
// (sorted) in series order, decoding a block only when its first step is
// reached: a series logged in step order has one block decoded at a time.
type pointMerge struct {
	blocks []metricstore.BlockRef // sorted by MinStep on first use
	tail   []series.Point
	load   func(metricstore.BlockRef) ([]series.Point, error)
	sorted bool
	next_  int
	active []mergeCursor
}

type mergeCursor struct {
	pts []series.Point
	ord int64
}

func (m *pointMerge) next() (series.Point, bool, error) {
	if !m.sorted {
		slices.SortStableFunc(m.blocks, func(a, b metricstore.BlockRef) int { return cmp.Compare(a.MinStep, b.MinStep) })
		if len(m.tail) > 0 {
			m.active = append(m.active, mergeCursor{pts: m.tail, ord: math.MaxInt64})
		}
		m.sorted = true
	}
	for {
		head := -1
		for i, c := range m.active {
			if head < 0 || series.Compare(c.pts[0], m.active[head].pts[0]) < 0 ||
				series.Compare(c.pts[0], m.active[head].pts[0]) == 0 && c.ord < m.active[head].ord {
				head = i
			}
		}
		if m.next_ < len(m.blocks) && (head < 0 || m.blocks[m.next_].MinStep <= m.active[head].pts[0].Step) {
			b := m.blocks[m.next_]
			m.next_++
			pts, err := m.load(b)
			if err != nil {
				return series.Point{}, false, err
			}
			if len(pts) > 0 {
				m.active = append(m.active, mergeCursor{pts: pts, ord: b.FirstOrd})
			}
			continue
		}
		if head < 0 {
			return series.Point{}, false, nil
		}
		c := &m.active[head]
		p := c.pts[0]
		if c.pts = c.pts[1:]; len(c.pts) == 0 {
			m.active = slices.Delete(m.active, head, head+1)
		}
		return p, true, nil
	}
}

// metricBuffer holds the points a batch logs until it ends, so that a
// training loop's LogMetric calls inside Batch cost no statement each: at
// the end, each series' points are written as one LogMetrics would write
// them. Anything else that reads or writes in the batch writes them first,
// and a series that gathers metricBufferPoints is written at once, so the
// buffer stays small.
type metricBuffer struct {
	order []*pendingSeries
	byKey map[pendingKey]*pendingSeries
}

const metricBufferPoints = 1 << 16

type pendingKey struct {
	own metricstore.Owner
	key string
}

// pendingSeries is the points of one series logged in the batch, and its
// highest step (stored or buffered) for the default step.
type pendingSeries struct {
	own     seriesOwner
	key     string
	maxStep int64
	any     bool
	pts     []series.Point
}

// add buffers pts for series key of own. With nextStep, the one point
// takes the step after the series' highest.
func (b *metricBuffer) add(ctx context.Context, x *txn, own seriesOwner, key string, pts []series.Point, nextStep bool) error {
	k := pendingKey{own.Owner, key}
	ps := b.byKey[k]
	if ps == nil {
		s, err := x.metrics().Find(ctx, own.Owner, key)
		if err != nil {
			return fmt.Errorf("%s: %w", own.ref(), err)
		}
		ps = &pendingSeries{own: own, key: key, maxStep: s.Sum.MaxStep, any: s.Count > 0}
		if b.byKey == nil {
			b.byKey = map[pendingKey]*pendingSeries{}
		}
		b.byKey[k] = ps
		b.order = append(b.order, ps)
	}
	if nextStep {
		switch {
		case !ps.any:
			pts[0].Step = 0
		case ps.maxStep == math.MaxInt64:
			return fmt.Errorf("%w: %s: metric %q: %w after %d", ErrInvalidArgument, own.ref(), key, metricstore.ErrNoNextStep, ps.maxStep)
		default:
			pts[0].Step = ps.maxStep + 1
		}
	}
	for _, p := range pts {
		if !ps.any || p.Step > ps.maxStep {
			ps.maxStep = p.Step
		}
		ps.any = true
	}
	ps.pts = append(ps.pts, pts...)
	if len(ps.pts) >= metricBufferPoints {
		if err := x.appendMetric(ctx, ps.own, ps.key, ps.pts, false); err != nil {
			return err
		}
		ps.pts = ps.pts[:0]
	}
	return nil
}

// flushMetrics writes the points the batch has buffered and forgets what
// it knew of their series (the write that follows may change them).
func (t *Tracker) flushMetrics(ctx context.Context) error {
	b := t.metrics
	if b == nil || len(b.order) == 0 {
		return nil
	}
	x := &txn{t: t, sql: t.sql, tx: t.tx, now: t.now().UnixMilli()}
	for _, ps := range b.order {
		if len(ps.pts) == 0 {
			continue
		}
		if err := x.appendMetric(ctx, ps.own, ps.key, ps.pts, false); err != nil {
			return err
		}
	}
	b.order, b.byKey = b.order[:0], nil
	return nil
}
