package metricstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage"
)

// Range selects points: FromStep <= step <= ToStep and FromTime <= time
// <= ToTime, at most MaxPoints of them (0: all), downsampled above.
type Range struct {
	FromStep, ToStep int64
	FromTime, ToTime int64
	MaxPoints        int
}

// AllPoints is the Range of every point.
var AllPoints = Range{FromStep: math.MinInt64, ToStep: math.MaxInt64, FromTime: math.MinInt64, ToTime: math.MaxInt64}

// Within reports whether p is in q's ranges.
func (q Range) Within(p series.Point) bool {
	return p.Step >= q.FromStep && p.Step <= q.ToStep && p.Time >= q.FromTime && p.Time <= q.ToTime
}

// holds reports whether every point of b is in q's ranges.
func (q Range) holds(b blockRow) bool {
	return b.MinStep >= q.FromStep && b.MaxStep <= q.ToStep && b.MinTime >= q.FromTime && b.MaxTime <= q.ToTime
}

// args are the arguments of the statements of blocks in a range.
func (q Range) args(seq int64) []any {
	return []any{seq, q.FromStep, q.ToStep, q.FromTime, q.ToTime}
}

// Points returns the points of series s that q selects, in order.
func (m Store) Points(ctx context.Context, s Series, q Range) ([]series.Point, error) {
	if q.MaxPoints > 0 && s.Count > int64(q.MaxPoints) {
		return m.downsample(ctx, s, q)
	}
	var blocks []blockRow
	if err := m.Q.Select(ctx, &blocks, m.SQL.MetricBlocksWithDataIn, q.args(s.Seq)...); err != nil {
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
		tail, err := m.Tail(ctx, s.Seq)
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
func filterPoints(pts []series.Point, q Range) []series.Point {
	out := pts[:0]
	for _, p := range pts {
		if q.Within(p) {
			out = append(out, p)
		}
	}
	return out
}

// NamedSummary is the summary of the series Key.
type NamedSummary struct {
	Key string
	series.Summary
}

// Summaries returns the summaries of every series of own, by key.
func (m Store) Summaries(ctx context.Context, own Owner) ([]NamedSummary, error) {
	var rows []struct {
		Key     string `db:"key"`
		Summary []byte `db:"summary"`
	}
	query, arg := m.SQL.MetricSummariesOfResource, own.Resource
	if own.Run != 0 {
		query, arg = m.SQL.MetricSummariesOfRun, own.Run
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
func (m Store) SummariesOf(ctx context.Context, seqs []int64, keys []string) (map[int64][]NamedSummary, error) {
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
		err = m.Q.Select(ctx, &rows, m.SQL.SummariesOfSet, string(set))
	} else {
		var ks []byte
		if ks, err = json.Marshal(keys); err == nil {
			err = m.Q.Select(ctx, &rows, m.SQL.SummariesOfSetKeys, string(set), string(ks))
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

// SummariesAt returns the summaries of the series of own as they were at
// time at (Unix milliseconds): of their points whose time is at or before
// it. Blocks entirely before it count by their stored summaries; only a
// block that straddles it is decoded.
func (m Store) SummariesAt(ctx context.Context, own Owner, at int64) ([]NamedSummary, error) {
	var list []struct {
		Seq int64  `db:"seq"`
		Key string `db:"key"`
	}
	query, arg := m.SQL.MetricKeysOfResource, own.Resource
	if own.Run != 0 {
		query, arg = m.SQL.MetricKeysOfRun, own.Run
	}
	if err := m.Q.Select(ctx, &list, query, arg); err != nil {
		return nil, err
	}
	var out []NamedSummary
	var pts []series.Point
	for _, s := range list {
		var blocks []blockRow
		if err := m.Q.Select(ctx, &blocks, m.SQL.MetricBlocksIn, s.Seq, int64(math.MinInt64), int64(math.MaxInt64), int64(math.MinInt64), at); err != nil {
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
		tail, err := m.Tail(ctx, s.Seq)
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
