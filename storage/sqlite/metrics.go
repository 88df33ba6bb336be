package sqlite

// Metric series: their storage (schema/sqlite/0005_metrics.up.sql) and
// every statement that reads or writes it, in one place. A series' points
// are appended to a raw tail (metric_tail) and sealed into compressed blocks
// (metric_blocks, package series) of MetricBlockPoints; an append of
// MetricDirectPoints or more is sealed into blocks at once. Appends never
// rewrite a block; gc merges small blocks into bigger ones (compactMetrics),
// which a stream of the series (MetricPoints) notices and resumes across.
// metric_series keeps each series' summary current on every write.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage"
)

const (
	// MetricBlockPoints is the number of points sealed into one block.
	MetricBlockPoints = 1024
	// MetricDirectPoints is the smallest append sealed into blocks at once
	// instead of going through the tail.
	MetricDirectPoints = 64
)

// ErrNoNextStep: a point without a step was logged to a series whose
// highest step is the largest int64.
var ErrNoNextStep = errors.New("no step after the highest")

// MetricSQL runs the fixed statements of metric series: a tracker's
// transaction (with its cached prepared statements), an import's, or any
// sqlx handle (SQLOf).
type MetricSQL interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Get(ctx context.Context, dest any, query string, args ...any) error
	Select(ctx context.Context, dest any, query string, args ...any) error
}

// SQLOf returns the MetricSQL of a sqlx handle (a transaction or a pool),
// running statements as text.
func SQLOf(q sqlx.ExtContext) MetricSQL { return extSQL{q} }

type extSQL struct{ q sqlx.ExtContext }

func (e extSQL) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return e.q.ExecContext(ctx, query, args...)
}

func (e extSQL) Get(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, e.q, dest, query, args...)
}

func (e extSQL) Select(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, e.q, dest, query, args...)
}

// MetricSQL returns the MetricSQL of tx, on its cached prepared statements.
func (tx *Tx) MetricSQL() MetricSQL { return txSQL{tx} }

type txSQL struct{ tx *Tx }

func (t txSQL) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.tx.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (t txSQL) Get(ctx context.Context, dest any, query string, args ...any) error {
	s, err := t.tx.Stmt(ctx, query)
	if err != nil {
		return err
	}
	return s.GetContext(ctx, dest, args...)
}

func (t txSQL) Select(ctx context.Context, dest any, query string, args ...any) error {
	s, err := t.tx.Stmt(ctx, query)
	if err != nil {
		return err
	}
	return s.SelectContext(ctx, dest, args...)
}

// Metrics reads and writes metric series through Q. RunSeq (the run that
// writes, or nil) and Now (Unix milliseconds) stamp what it writes.
type Metrics struct {
	Q      MetricSQL
	RunSeq any
	Now    int64
	// SQL holds the engine's texts of the statements that differ between
	// engines; nil stands for SQLite's.
	SQL *storage.MetricStatements
}

// metricSQL holds the SQLite texts of storage.MetricStatements.
var metricSQL = storage.MetricStatements{
	SummariesOfSet:     sqlSummariesOfSet,
	SummariesOfSetKeys: sqlSummariesOfSetKeys,
}

// sql returns the engine's texts of the statements that differ.
func (m Metrics) sql() *storage.MetricStatements {
	if m.SQL == nil {
		return &metricSQL
	}
	return m.SQL
}

// SeriesOwner is what a series belongs to: a resource or a run (by seq;
// the other is 0).
type SeriesOwner struct {
	Resource, Run int64
}

// MetricRange selects points: FromStep <= step <= ToStep and FromTime <=
// time <= ToTime, at most MaxPoints of them (0: all), downsampled above.
type MetricRange struct {
	FromStep, ToStep int64
	FromTime, ToTime int64
	MaxPoints        int
}

// AllPoints is the MetricRange of every point.
var AllPoints = MetricRange{FromStep: math.MinInt64, ToStep: math.MaxInt64, FromTime: math.MinInt64, ToTime: math.MaxInt64}

var (
	sqlSeriesOfResource = `SELECT seq, count, tail, summary FROM metric_series WHERE resource_seq = ? AND key = ?`
	sqlSeriesOfRun      = `SELECT seq, count, tail, summary FROM metric_series WHERE owner_run_seq = ? AND key = ?`
	sqlInsertSeries     = `INSERT INTO metric_series (resource_seq, owner_run_seq, key, count, last_step, last_value,
		min_value, max_value, tail, summary, run_seq, created_at, updated_at) VALUES (?, ?, ?, 0, 0, NULL, NULL, NULL, 0, ?, ?, ?, ?) RETURNING seq`
	sqlUpdateSeries = `UPDATE metric_series SET count = ?, last_step = ?, last_value = ?, min_value = ?, max_value = ?,
		tail = ?, summary = ?, run_seq = ?, updated_at = ? WHERE seq = ?`
	sqlSummariesOfResource  = `SELECT key, summary FROM metric_series WHERE resource_seq = ? ORDER BY key`
	sqlSummariesOfRun       = `SELECT key, summary FROM metric_series WHERE owner_run_seq = ? ORDER BY key`
	sqlSeriesKeysOfResource = `SELECT seq, key FROM metric_series WHERE resource_seq = ? ORDER BY key`
	sqlSeriesKeysOfRun      = `SELECT seq, key FROM metric_series WHERE owner_run_seq = ? ORDER BY key`

	sqlInsertTail = `INSERT INTO metric_tail (series_seq, ord, step, time, value) VALUES (?, ?, ?, ?, ?)`
	sqlTailOf     = `SELECT step, time, value FROM metric_tail WHERE series_seq = ? ORDER BY ord`
	sqlDeleteTail = `DELETE FROM metric_tail WHERE series_seq = ?`

	sqlInsertBlock = `INSERT INTO metric_blocks (series_seq, first_ord, count, min_step, max_step, min_time, max_time,
		summary, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// sqlBlocksIn lists the blocks of a series that may hold points in a
	// step and time range, in the order they were sealed, without their data.
	sqlBlocksIn = `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary FROM metric_blocks
		WHERE series_seq = ? AND max_step >= ? AND min_step <= ? AND max_time >= ? AND min_time <= ? ORDER BY first_ord`
	// sqlBlocksWithData is sqlBlocksIn with each block's data.
	sqlBlocksWithData = `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary, data FROM metric_blocks
		WHERE series_seq = ? AND max_step >= ? AND min_step <= ? AND max_time >= ? AND min_time <= ? ORDER BY first_ord`
	sqlBlockData   = `SELECT data FROM metric_blocks WHERE series_seq = ? AND first_ord = ?`
	sqlBlockRefsIn = `SELECT first_ord, count, min_step, max_step, min_time, max_time FROM metric_blocks
		WHERE series_seq = ? AND max_step >= ? AND min_step <= ? AND max_time >= ? AND min_time <= ? ORDER BY first_ord`
	sqlBlockRow = `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary, data FROM metric_blocks
		WHERE series_seq = ? AND first_ord = ?`
)

var (
	// sqlSummariesOfSet reads the series of many resources (a JSON array of
	// seqs) in one statement; sqlSummariesOfSetKeys only those keys (a JSON
	// array of strings).
	sqlSummariesOfSet = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value FROM json_each(?)) ORDER BY resource_seq, key`
	sqlSummariesOfSetKeys = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?)) ORDER BY resource_seq, key`
)

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
func (m Metrics) Find(ctx context.Context, own SeriesOwner, key string) (Series, error) {
	var s Series
	query, arg := sqlSeriesOfResource, own.Resource
	if own.Run != 0 {
		query, arg = sqlSeriesOfRun, own.Run
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

// realOrNull is v for a REAL column; NaN, which SQLite cannot store, is
// NULL.
func realOrNull(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// Append appends pts to series key of own, creating it if needed.
// With nextStep, the one point in pts takes the step after the series'
// highest.
func (m Metrics) Append(ctx context.Context, own SeriesOwner, key string, pts []series.Point, nextStep bool) error {
	s, err := m.Find(ctx, own, key)
	if err != nil {
		return err
	}
	if s.Seq == 0 {
		// RETURNING and a bound empty summary rather than LastInsertId
		// and x'': the statement runs on PostgreSQL too, which has neither.
		if err := m.Q.Get(ctx, &s.Seq, sqlInsertSeries, nullableOwner(own.Resource), nullableOwner(own.Run), key, []byte{}, m.RunSeq, m.Now, m.Now); err != nil {
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
	if int64(len(pts)) >= MetricDirectPoints || s.Tail+int64(len(pts)) >= MetricBlockPoints {
		all := pts
		if s.Tail > 0 {
			tail, err := m.tail(ctx, s.Seq)
			if err != nil {
				return err
			}
			if int64(len(tail)) != s.Tail {
				return fmt.Errorf("%w: metric %q: %d points in its tail, its series row says %d", storage.ErrCorrupt, key, len(tail), s.Tail)
			}
			all = append(tail, pts...)
			if _, err := m.Q.Exec(ctx, sqlDeleteTail, s.Seq); err != nil {
				return err
			}
		}
		ord := s.Count - s.Tail
		for len(all) > 0 {
			n := min(len(all), MetricBlockPoints)
			if err := m.sealBlock(ctx, s.Seq, ord, all[:n]); err != nil {
				return err
			}
			all, ord = all[n:], ord+int64(n)
		}
		s.Tail = 0
	} else {
		for i, p := range pts {
			if _, err := m.Q.Exec(ctx, sqlInsertTail, s.Seq, s.Count+int64(i), p.Step, p.Time, int64(math.Float64bits(p.Value))); err != nil {
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

func (m Metrics) saveSeries(ctx context.Context, s Series) error {
	sum := s.Sum
	var lo, hi any
	if sum.HasRange {
		lo, hi = sum.Low.Value, sum.High.Value
	}
	_, err := m.Q.Exec(ctx, sqlUpdateSeries, s.Count, sum.Last.Step, realOrNull(sum.Last.Value), lo, hi, s.Tail,
		series.AppendSummary(nil, sum), m.RunSeq, m.Now, s.Seq)
	return err
}

// sealBlock stores pts (in the order they were added) as one block whose
// first point has number ord.
func (m Metrics) sealBlock(ctx context.Context, seq, ord int64, pts []series.Point) error {
	sum := series.Summarize(pts)
	sorted := pts
	if !slices.IsSortedFunc(pts, series.Compare) {
		sorted = slices.Clone(pts)
		series.Sort(sorted)
	}
	_, err := m.Q.Exec(ctx, sqlInsertBlock, seq, ord, len(pts), sum.MinStep, sum.MaxStep, sum.MinTime, sum.MaxTime,
		series.AppendSummary(nil, sum), series.Encode(nil, sorted))
	return err
}

type tailRow struct {
	Step  int64 `db:"step"`
	Time  int64 `db:"time"`
	Value int64 `db:"value"`
}

// tail returns the unsealed points of series seq, in the order they
// were added.
func (m Metrics) tail(ctx context.Context, seq int64) ([]series.Point, error) {
	var rows []tailRow
	if err := m.Q.Select(ctx, &rows, sqlTailOf, seq); err != nil {
		return nil, err
	}
	pts := make([]series.Point, len(rows), len(rows)+MetricBlockPoints)
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

func (q MetricRange) within(p series.Point) bool {
	return p.Step >= q.FromStep && p.Step <= q.ToStep && p.Time >= q.FromTime && p.Time <= q.ToTime
}

func (q MetricRange) holds(b blockRow) bool {
	return b.MinStep >= q.FromStep && b.MaxStep <= q.ToStep && b.MinTime >= q.FromTime && b.MaxTime <= q.ToTime
}

func (q MetricRange) args(seq int64) []any {
	return []any{seq, q.FromStep, q.ToStep, q.FromTime, q.ToTime}
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

// Points returns the points of series s that q selects, in order.
func (m Metrics) Points(ctx context.Context, s Series, q MetricRange) ([]series.Point, error) {
	if q.MaxPoints > 0 && s.Count > int64(q.MaxPoints) {
		return m.downsample(ctx, s, q)
	}
	var blocks []blockRow
	if err := m.Q.Select(ctx, &blocks, sqlBlocksWithData, q.args(s.Seq)...); err != nil {
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
		tail, err := m.tail(ctx, s.Seq)
		if err != nil {
			return nil, err
		}
		pts = append(pts, filterPoints(tail, q)...)
	}
	series.Sort(pts)
	if q.MaxPoints > 0 && len(pts) > q.MaxPoints {
		return bucketPoints(pts, q.MaxPoints), nil
	}
	return pts, nil
}

// filterPoints keeps the points of pts that q selects, in place.
func filterPoints(pts []series.Point, q MetricRange) []series.Point {
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
func (m Metrics) downsample(ctx context.Context, s Series, q MetricRange) ([]series.Point, error) {
	var blocks []blockRow
	if err := m.Q.Select(ctx, &blocks, sqlBlocksIn, q.args(s.Seq)...); err != nil {
		return nil, err
	}
	var tail []series.Point
	if s.Tail > 0 {
		var err error
		if tail, err = m.tail(ctx, s.Seq); err != nil {
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
		if err := m.Q.Get(ctx, &b.Data, sqlBlockData, s.Seq, b.FirstOrd); err != nil {
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
		if err := m.Q.Get(ctx, &blk.Data, sqlBlockData, s.Seq, blk.FirstOrd); err != nil {
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

// NamedSummary is the summary of the series Key.
type NamedSummary struct {
	Key string
	series.Summary
}

// Summaries returns the summaries of every series of own, by key.
func (m Metrics) Summaries(ctx context.Context, own SeriesOwner) ([]NamedSummary, error) {
	var rows []struct {
		Key     string `db:"key"`
		Summary []byte `db:"summary"`
	}
	query, arg := sqlSummariesOfResource, own.Resource
	if own.Run != 0 {
		query, arg = sqlSummariesOfRun, own.Run
	}
	if err := m.Q.Select(ctx, &rows, query, arg); err != nil {
		return nil, err
	}
	out := make([]NamedSummary, 0, len(rows))
	for _, r := range rows {
		s, err := series.ParseSummary(r.Summary)
		if err != nil {
			return nil, fmt.Errorf("%w: metric %q: %w", storage.ErrCorrupt, r.Key, err)
		}
		out = append(out, NamedSummary{Key: r.Key, Summary: s})
	}
	return out, nil
}

// SummariesOf returns the summaries of the series of the resources seqs
// (with keys, only those series), by resource seq, in one statement.
func (m Metrics) SummariesOf(ctx context.Context, seqs []int64, keys []string) (map[int64][]NamedSummary, error) {
	out := map[int64][]NamedSummary{}
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
		err = m.Q.Select(ctx, &rows, m.sql().SummariesOfSet, string(set))
	} else {
		var ks []byte
		if ks, err = json.Marshal(keys); err == nil {
			err = m.Q.Select(ctx, &rows, m.sql().SummariesOfSetKeys, string(set), string(ks))
		}
	}
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		s, err := series.ParseSummary(r.Summary)
		if err != nil {
			return nil, fmt.Errorf("%w: metric %q of resource #%d: %w", storage.ErrCorrupt, r.Key, r.Seq, err)
		}
		out[r.Seq] = append(out[r.Seq], NamedSummary{Key: r.Key, Summary: s})
	}
	return out, nil
}

// Block appends the points of the block of series seq whose first point
// has number ord to dst, in the block's (step) order.
func (m Metrics) Block(ctx context.Context, seq, ord int64, dst []series.Point) ([]series.Point, error) {
	b := blockRow{FirstOrd: ord}
	if err := m.Q.Get(ctx, &b, sqlBlockRow, seq, ord); err != nil {
		return dst, err
	}
	return decodeBlock(dst, b)
}

// Tail returns the unsealed points of series seq, in the order they were
// added.
func (m Metrics) Tail(ctx context.Context, seq int64) ([]series.Point, error) {
	return m.tail(ctx, seq)
}

// metrics checks every metric series: each block decodes to as many
// points as its row says, within its row's ranges and matching its stored
// summary; block numbers and the tail follow each other without gaps; and
// the series' summary and indexed columns agree with its points. One block
// is decoded at a time.
func (v *verifier) metrics() error {
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
	err := v.tx.SelectContext(v.ctx, &list, `SELECT ms.seq, coalesce('resource '||r.id, 'run '||run.id, '?') AS owner, ms.key,
		ms.count, ms.tail, ms.last_step, ms.last_value, ms.min_value, ms.max_value, ms.summary
		FROM metric_series ms LEFT JOIN resources r ON r.seq = ms.resource_seq LEFT JOIN runs run ON run.seq = ms.owner_run_seq
		ORDER BY ms.seq`)
	if err != nil {
		return err
	}
	m := Metrics{Q: SQLOf(v.tx)}
	var pts []series.Point
	for _, s := range list {
		what := fmt.Sprintf("metric %q of %s", s.Key, s.Owner)
		bad := func(format string, args ...any) { v.report.Add(ProblemMetric, what, format, args...) }
		var blocks []blockRow
		if err := v.tx.SelectContext(v.ctx, &blocks, `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary
			FROM metric_blocks WHERE series_seq = ? ORDER BY first_ord`, s.Seq); err != nil {
			return err
		}
		var total series.Summary
		ord := int64(0)
		for _, b := range blocks {
			if b.FirstOrd != ord {
				bad("a block starts at point %d, the one before ends at %d", b.FirstOrd, ord)
			}
			ord = b.FirstOrd + b.Count
			if pts, err = m.Block(v.ctx, s.Seq, b.FirstOrd, pts[:0]); err != nil {
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
		tail, err := m.Tail(v.ctx, s.Seq)
		if err != nil {
			return err
		}
		var firstTail sql.NullInt64
		if err := v.tx.GetContext(v.ctx, &firstTail, `SELECT min(ord) FROM metric_tail WHERE series_seq = ?`, s.Seq); err != nil {
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

// SummariesAt returns the summaries of the series of own as they were at
// time at (Unix milliseconds): of their points whose time is at or before
// it. Blocks entirely before it count by their stored summaries; only a
// block that straddles it is decoded.
func (m Metrics) SummariesAt(ctx context.Context, own SeriesOwner, at int64) ([]NamedSummary, error) {
	var list []struct {
		Seq int64  `db:"seq"`
		Key string `db:"key"`
	}
	query, arg := sqlSeriesKeysOfResource, own.Resource
	if own.Run != 0 {
		query, arg = sqlSeriesKeysOfRun, own.Run
	}
	if err := m.Q.Select(ctx, &list, query, arg); err != nil {
		return nil, err
	}
	var out []NamedSummary
	var pts []series.Point
	for _, s := range list {
		var blocks []blockRow
		if err := m.Q.Select(ctx, &blocks, sqlBlocksIn, s.Seq, int64(math.MinInt64), int64(math.MaxInt64), int64(math.MinInt64), at); err != nil {
			return nil, err
		}
		var sum series.Summary
		for _, b := range blocks {
			if b.MaxTime <= at {
				bs, err := series.ParseSummary(b.Summary)
				if err != nil {
					return nil, fmt.Errorf("%w: metric %q: block %d: %w", storage.ErrCorrupt, s.Key, b.FirstOrd, err)
				}
				sum.Merge(bs)
				continue
			}
			var err error
			if pts, err = m.Block(ctx, s.Seq, b.FirstOrd, pts[:0]); err != nil {
				return nil, fmt.Errorf("metric %q: %w", s.Key, err)
			}
			for _, p := range pts {
				if p.Time <= at {
					sum.Add(p)
				}
			}
		}
		tail, err := m.tail(ctx, s.Seq)
		if err != nil {
			return nil, err
		}
		for _, p := range tail {
			if p.Time <= at {
				sum.Add(p)
			}
		}
		if sum.Count > 0 {
			out = append(out, NamedSummary{Key: s.Key, Summary: sum})
		}
	}
	return out, nil
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
func (m Metrics) BlocksIn(ctx context.Context, seq int64, q MetricRange) ([]BlockRef, error) {
	var out []BlockRef
	err := m.Q.Select(ctx, &out, sqlBlockRefsIn, q.args(seq)...)
	return out, err
}

// Within reports whether p is in q's ranges.
func (q MetricRange) Within(p series.Point) bool { return q.within(p) }

// compactMetrics merges runs of consecutive small blocks of a series (in
// the order they were sealed) into blocks of up to MetricBlockPoints: the
// points, their order and the series' summary stay as they are. Each
// series is compacted in its own write transaction, so writers go on
// meanwhile; a reader streaming the series (MetricPoints) notices and
// restarts where it was.
func compactMetrics(ctx context.Context, d *DB, dryRun bool, st *GCStats) error {
	var seqs []int64
	if err := d.Readers.SelectContext(ctx, &seqs, `SELECT series_seq FROM metric_blocks GROUP BY series_seq
		HAVING count(*) > (sum(count) + ?) / ? ORDER BY series_seq`, MetricBlockPoints-1, MetricBlockPoints); err != nil {
		return Classify(err)
	}
	for _, seq := range seqs {
		var merged int64
		run := func(q MetricSQL, write bool) error {
			var blocks []BlockRef
			if err := q.Select(ctx, &blocks, `SELECT first_ord, count, min_step, max_step, min_time, max_time FROM metric_blocks
				WHERE series_seq = ? ORDER BY first_ord`, seq); err != nil {
				return err
			}
			m := Metrics{Q: q}
			for i := 0; i < len(blocks); {
				j, total := i, int64(0)
				for j < len(blocks) && total+blocks[j].Count <= MetricBlockPoints && (j == i || blocks[j].FirstOrd == blocks[j-1].FirstOrd+blocks[j-1].Count) {
					total += blocks[j].Count
					j++
				}
				if j-i < 2 {
					i = max(j, i+1)
					continue
				}
				merged += int64(j - i)
				if write {
					var pts []series.Point
					for _, b := range blocks[i:j] {
						var err error
						if pts, err = m.Block(ctx, seq, b.FirstOrd, pts); err != nil {
							return err
						}
						if _, err := q.Exec(ctx, `DELETE FROM metric_blocks WHERE series_seq = ? AND first_ord = ?`, seq, b.FirstOrd); err != nil {
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
			err = run(SQLOf(d.Readers), false)
		} else {
			err = d.WriteConn(ctx, func(tx *Tx) error { return run(tx.MetricSQL(), true) })
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

// ScanSummaries reads the rows of a SummariesOfSet statement, by
// resource seq, in key order, and closes them.
func ScanSummaries(rows *sql.Rows) (map[int64][]NamedSummary, error) {
	defer rows.Close()
	out := map[int64][]NamedSummary{}
	var (
		seq int64
		key string
		b   []byte
	)
	for rows.Next() {
		if err := rows.Scan(&seq, &key, &b); err != nil {
			return nil, err
		}
		s, err := series.ParseSummary(b)
		if err != nil {
			return nil, fmt.Errorf("%w: metric %q of resource #%d: %w", storage.ErrCorrupt, key, seq, err)
		}
		out[seq] = append(out[seq], NamedSummary{Key: key, Summary: s})
	}
	return out, rows.Err()
}
