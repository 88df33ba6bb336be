package portable

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/series"
	"github.com/metatrack/metatrack/storage/metricstore"
)

// KindMetric records carry the points of metric series: one record for
// each sealed block of a series and one for its unsealed tail.
const KindMetric = "metric"

// metricRec is a run of points of the series Key of a resource or a run.
// Points are [step, time, value] triples; value is a JSON number, or the
// string "NaN", "Inf" or "-Inf".
type metricRec struct {
	Kind     string       `json:"kind"`
	Resource string       `json:"resource,omitempty"`
	Run      string       `json:"run,omitempty"`
	Key      string       `json:"key"`
	Points   metricPoints `json:"points"`
}

type metricPoints []series.Point

// MarshalJSON writes the points as [step, time, value] triples.
func (ps metricPoints) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32*len(ps)+2)
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, p.Step, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, p.Time, 10)
		b = append(b, ',')
		switch v := p.Value; {
		case math.IsNaN(v):
			b = append(b, `"NaN"`...)
		case math.IsInf(v, 1):
			b = append(b, `"Inf"`...)
		case math.IsInf(v, -1):
			b = append(b, `"-Inf"`...)
		default:
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads what MarshalJSON writes: steps and times must be
// integers.
func (ps *metricPoints) UnmarshalJSON(b []byte) error {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("points: %v", err)
	}
	out := make(metricPoints, len(raw))
	for i, t := range raw {
		if len(t) != 3 {
			return fmt.Errorf("point %d: %d fields, want [step, time, value]", i, len(t))
		}
		p := &out[i]
		if err := json.Unmarshal(t[0], &p.Step); err != nil {
			return fmt.Errorf("point %d: step %s is not an integer", i, t[0])
		}
		if err := json.Unmarshal(t[1], &p.Time); err != nil {
			return fmt.Errorf("point %d: time %s is not an integer", i, t[1])
		}
		switch string(t[2]) {
		case `"NaN"`:
			p.Value = math.NaN()
		case `"Inf"`:
			p.Value = math.Inf(1)
		case `"-Inf"`:
			p.Value = math.Inf(-1)
		default:
			if len(t[2]) == 0 || t[2][0] == '"' || bytes.Equal(t[2], []byte("null")) {
				return fmt.Errorf("point %d: value %s is not a number, \"NaN\", \"Inf\" or \"-Inf\"", i, t[2])
			}
			if err := json.Unmarshal(t[2], &p.Value); err != nil {
				return fmt.Errorf("point %d: value %s: %v", i, t[2], err)
			}
		}
	}
	*ps = out
	return nil
}

// writeMetrics writes the metric records: each series' blocks in the
// order they were sealed, then its tail. One block is in memory at a time.
func (e *exporter) writeMetrics(query string, args []any) error {
	type seriesInfo struct {
		seq           int64
		resource, run string
		key           string
	}
	var list []seriesInfo
	err := e.each(query, args, func(rows *sql.Rows) error {
		var s seriesInfo
		if err := rows.Scan(&s.seq, &s.resource, &s.run, &s.key); err != nil {
			return err
		}
		list = append(list, s)
		return nil
	})
	if err != nil {
		return err
	}
	m := metricstore.Store{Q: e.tx, SQL: &e.d.SQL().MetricStatements}
	var pts []series.Point
	for _, s := range list {
		rec := metricRec{Kind: KindMetric, Resource: s.resource, Run: s.run, Key: s.key}
		var ords []int64
		if err := sqlx.SelectContext(e.ctx, e.tx, &ords, e.sql.MetricBlocks, s.seq); err != nil {
			return err
		}
		for _, ord := range ords {
			if pts, err = m.Block(e.ctx, s.seq, ord, pts[:0]); err != nil {
				return fmt.Errorf("metric %q of %s%s: %w", s.key, s.resource, s.run, err)
			}
			rec.Points = pts
			if err := e.emit(KindMetric, rec); err != nil {
				return err
			}
		}
		tail, err := m.Tail(e.ctx, s.seq)
		if err != nil {
			return err
		}
		if len(tail) > 0 {
			rec.Points = tail
			if err := e.emit(KindMetric, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// pointID is the identity of a point within its series: two points are
// the same point when their steps, times and values are equal, all NaN
// values counting as equal.
type pointID struct {
	step, time int64
	bits       uint64
}

func idOf(p series.Point) pointID {
	b := math.Float64bits(p.Value)
	if math.IsNaN(p.Value) {
		b = 0x7ff8000000000001
	}
	return pointID{p.Step, p.Time, b}
}

// metric adds the points of r that its series does not hold yet: a point
// is added unless the series holds as many points of the same identity
// (see pointID) as r does, so that importing a file twice changes nothing
// and two copies of a series that both grew merge to the union.
func (im *importer) metric(r metricRec) error {
	if err := rules.MetricKey(r.Key); err != nil {
		return im.ruleErr(fmt.Errorf("metric of %s%s: %w", r.Resource, r.Run, err))
	}
	if (r.Resource == "") == (r.Run == "") {
		return im.errf("a metric record names a resource or a run, and not both")
	}
	if len(r.Points) == 0 {
		return im.errf("a metric record needs points")
	}
	if len(r.Points) > series.MaxPoints {
		return im.errf("a metric record of %d points; at most %d", len(r.Points), series.MaxPoints)
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i, p := range r.Points {
		if err := rules.MetricPoint(r.Key, p.Step, p.Time); err != nil {
			return im.ruleErr(fmt.Errorf("point %d: %w", i, err))
		}
		lo, hi = min(lo, p.Step), max(hi, p.Step)
	}
	var own metricstore.Owner
	if r.Resource != "" {
		seq, err := im.resourceSeq(r.Resource, "resource")
		if err != nil {
			return err
		}
		own.Resource = seq
	} else {
		seq, err := im.runSeq(r.Run)
		if err != nil {
			return err
		}
		own.Run = seq.(int64)
	}
	m := metricstore.Store{Q: im.tx, SQL: &im.d.SQL().MetricStatements, Now: im.now().UnixMilli()}
	s, err := m.Find(im.ctx, own, r.Key)
	if err != nil {
		return err
	}
	fresh := []series.Point(r.Points)
	if s.Seq != 0 {
		rng := metricstore.AllPoints
		rng.FromStep, rng.ToStep = lo, hi
		have, err := m.Points(im.ctx, s, rng)
		if err != nil {
			return err
		}
		count := make(map[pointID]int, len(have))
		for _, p := range have {
			count[idOf(p)]++
		}
		fresh = fresh[:0:0]
		for _, p := range r.Points {
			if id := idOf(p); count[id] > 0 {
				count[id]--
				continue
			}
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := m.Append(im.ctx, own, r.Key, fresh, false); err != nil {
		return err
	}
	im.stats.Added++
	return nil
}
