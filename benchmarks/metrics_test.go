package benchmarks

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/series"
)

// The metric series benchmarks use a file of their own (one model
// version, ten experiments), the same at every -scale, so they run at the
// 10k scale only. The baselines write and read the same tables and the
// same block encoding (package series) in hand-written SQL; ref-rows is a
// table of one plain row per point, for scale. The 10M-point memory run is
// behind -metrics.big:
//
//	go test -run '^$' -bench 'Metric' -benchmem ./benchmarks/
//	go test -run '^$' -bench 'MetricMemory' -benchmem ./benchmarks/ -metrics.big -timeout 30m
var metricsBig = flag.Bool("metrics.big", false, "also run the 10M-point memory benchmark of metric series")

const (
	metricSeriesPerBatch = 100
	metricPointsPerRound = metricSeriesPerBatch * 10000
)

var metricEnvL = lazy[*metricEnv]{}

type metricEnv struct {
	lib  *metatrack.Tracker
	bare *bareDB
	exps []metatrack.Resource
	seqs []int64
	// curve is a typical training curve of metricPointsPerRound points.
	curve []metatrack.MetricPoint
}

func (e *metricEnv) close() {
	e.lib.Close()
	e.bare.close()
}

// typicalCurve is a learning curve as a training loop logs it: steps
// 1..n, a point every 20-34 ms of wall-clock time, and a decreasing noisy
// loss of float32 precision (what PyTorch and TensorFlow compute in). With
// f64 the noise fills all 52 bits of the mantissa instead.
func typicalCurve(n int, seed uint64, f64 bool) []metatrack.MetricPoint {
	r := rand.New(rand.NewPCG(seed, 11))
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]metatrack.MetricPoint, n)
	for i := range out {
		t = t.Add(time.Duration(20+r.IntN(15)) * time.Millisecond)
		loss := 2.3*math.Exp(-4*float64(i)/float64(n)) + 0.1 + 0.05*r.Float64()
		if !f64 {
			loss = float64(float32(loss))
		}
		out[i] = metatrack.MetricPoint{Step: int64(i + 1), Value: loss, Time: t}
	}
	return out
}

func skipMetrics(b *testing.B) {
	if *scaleFlag != "10k" {
		b.Skip("metric series benchmarks run at the 10k scale only (they do not use the fixture)")
	}
}

func getMetricEnv(tb testing.TB) *metricEnv {
	tb.Helper()
	return metricEnvL.get(tb, func() (*metricEnv, error) {
		dir, err := tempDir()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "metrics.db")
		lib, err := metatrack.Open(ctx, path, metatrack.WithRunName("bench"))
		if err != nil {
			return nil, err
		}
		e := &metricEnv{lib: lib, curve: typicalCurve(metricPointsPerRound, 1, false)}
		mv, err := lib.CreateResource(ctx, metatrack.TypeModelVersion, "bench")
		if err != nil {
			return nil, err
		}
		for range 10 {
			exp, err := lib.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))
			if err != nil {
				return nil, err
			}
			e.exps = append(e.exps, exp)
		}
		if e.bare, err = openBare(ctx, path); err != nil {
			return nil, err
		}
		for _, exp := range e.exps {
			seq, err := e.bare.seqOf(exp.ID)
			if err != nil {
				return nil, err
			}
			e.seqs = append(e.seqs, seq)
		}
		return e, nil
	})
}

// Hand-written SQL of the baselines, on the tracker's tables.
const (
	sqlBareSeries       = `SELECT seq, count, tail, summary FROM metric_series WHERE resource_seq = ? AND key = ?`
	sqlBareInsertSeries = `INSERT INTO metric_series (resource_seq, key, count, last_step, tail, summary, run_seq, created_at, updated_at)
		VALUES (?, ?, 0, 0, 0, x'', ?, ?, ?)`
	sqlBareUpdateSeries = `UPDATE metric_series SET count = ?, last_step = ?, last_value = ?, min_value = ?, max_value = ?,
		tail = ?, summary = ?, run_seq = ?, updated_at = ? WHERE seq = ?`
	sqlBareInsertBlock = `INSERT INTO metric_blocks (series_seq, first_ord, count, min_step, max_step, min_time, max_time, summary, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlBareInsertTail = `INSERT INTO metric_tail (series_seq, ord, step, time, value) VALUES (?, ?, ?, ?, ?)`
	sqlBareTail       = `SELECT step, time, value FROM metric_tail WHERE series_seq = ? ORDER BY ord`
	sqlBareDeleteTail = `DELETE FROM metric_tail WHERE series_seq = ?`
	sqlBareBlocks     = `SELECT data FROM metric_blocks WHERE series_seq = ? ORDER BY first_ord`
	sqlBareRowsTable  = `CREATE TABLE IF NOT EXISTS bench_points (series INTEGER NOT NULL, step INTEGER NOT NULL,
		time INTEGER NOT NULL, value REAL, PRIMARY KEY (series, step)) WITHOUT ROWID`
	sqlBareInsertRow = `INSERT INTO bench_points (series, step, time, value) VALUES (?, ?, ?, ?)`
)

func nullNaN(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// bareSaveSeries writes a series' summary row.
func (d *bareDB) bareSaveSeries(seq, count, tail int64, s series.Summary) error {
	var lo, hi any
	if s.HasRange {
		lo, hi = s.Low.Value, s.High.Value
	}
	_, err := d.exec(ctx, sqlBareUpdateSeries, count, s.Last.Step, nullNaN(s.Last.Value), lo, hi, tail,
		series.AppendSummary(nil, s), d.runSeq, time.Now().UnixMilli(), seq)
	return err
}

// bareSeal writes pts (in step order) as one block.
func (d *bareDB) bareSeal(seq, ord int64, pts []series.Point, buf []byte) ([]byte, error) {
	s := series.Summarize(pts)
	buf = series.Encode(buf[:0], pts)
	_, err := d.exec(ctx, sqlBareInsertBlock, seq, ord, len(pts), s.MinStep, s.MaxStep, s.MinTime, s.MaxTime,
		series.AppendSummary(nil, s), buf)
	return buf, err
}

// bareLogMetrics is LogMetrics of a new series in hand-written SQL: the
// series row, its blocks, its summary.
func (d *bareDB) bareLogMetrics(resSeq int64, key string, pts []metatrack.MetricPoint, conv []series.Point, buf []byte) ([]byte, error) {
	now := time.Now().UnixMilli()
	r, err := d.exec(ctx, sqlBareInsertSeries, resSeq, key, d.runSeq, now, now)
	if err != nil {
		return buf, err
	}
	seq, err := r.LastInsertId()
	if err != nil {
		return buf, err
	}
	conv = conv[:0]
	for _, p := range pts {
		conv = append(conv, series.Point{Step: p.Step, Time: p.Time.UnixMilli(), Value: p.Value})
	}
	var sum series.Summary
	for ord := 0; ord < len(conv); ord += 1024 {
		chunk := conv[ord:min(ord+1024, len(conv))]
		sum.Merge(series.Summarize(chunk))
		if buf, err = d.bareSeal(seq, int64(ord), chunk, buf); err != nil {
			return buf, err
		}
	}
	return buf, d.bareSaveSeries(seq, int64(len(conv)), 0, sum)
}

// bareLogMetric is one LogMetric in hand-written SQL: the resource by id,
// the series row, the point into the tail, the summary, and the seal of a
// full tail.
func (d *bareDB) bareLogMetric(resID, key string, value float64) error {
	resSeq, err := d.seqOf(resID)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	var seq, count, tail int64
	var raw []byte
	err = d.queryRow(ctx, sqlBareSeries, resSeq, key).Scan(&seq, &count, &tail, &raw)
	var sum series.Summary
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r, err := d.exec(ctx, sqlBareInsertSeries, resSeq, key, d.runSeq, now, now)
		if err != nil {
			return err
		}
		if seq, err = r.LastInsertId(); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if sum, err = series.ParseSummary(raw); err != nil {
			return err
		}
	}
	p := series.Point{Step: 0, Time: now, Value: value}
	if count > 0 {
		p.Step = sum.MaxStep + 1
	}
	if tail+1 >= 1024 {
		rows, err := d.query(ctx, sqlBareTail, seq)
		if err != nil {
			return err
		}
		var pts []series.Point
		for rows.Next() {
			var q series.Point
			var bits int64
			if err := rows.Scan(&q.Step, &q.Time, &bits); err != nil {
				rows.Close()
				return err
			}
			q.Value = math.Float64frombits(uint64(bits))
			pts = append(pts, q)
		}
		rows.Close()
		if _, err := d.exec(ctx, sqlBareDeleteTail, seq); err != nil {
			return err
		}
		pts = append(pts, p)
		if _, err := d.bareSeal(seq, count-tail, pts, nil); err != nil {
			return err
		}
		tail = 0
	} else {
		if _, err := d.exec(ctx, sqlBareInsertTail, seq, count, p.Step, p.Time, int64(math.Float64bits(p.Value))); err != nil {
			return err
		}
		tail++
	}
	sum.Add(p)
	return d.bareSaveSeries(seq, count+1, tail, sum)
}

// bareHistory reads every point of series seq: its blocks decoded, then
// its tail.
func (d *bareDB) bareHistory(seq int64) ([]metatrack.MetricPoint, error) {
	rows, err := d.query(ctx, sqlBareBlocks, seq)
	if err != nil {
		return nil, err
	}
	var pts []series.Point
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return nil, err
		}
		if pts, err = series.Decode(pts, data); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]metatrack.MetricPoint, len(pts))
	for i, p := range pts {
		out[i] = metatrack.MetricPoint{Step: p.Step, Value: p.Value, Time: time.UnixMilli(p.Time).UTC()}
	}
	return out, nil
}

func (e *metricEnv) seriesSeq(tb testing.TB, resSeq int64, key string) int64 {
	tb.Helper()
	var seq int64
	if err := e.bare.queryRow(ctx, `SELECT seq FROM metric_series WHERE resource_seq = ? AND key = ?`, resSeq, key).Scan(&seq); err != nil {
		tb.Fatal(err)
	}
	return seq
}

// ensureSeries logs the n-point typical curve to key of experiment i once.
func (e *metricEnv) ensureSeries(tb testing.TB, i int, key string, n int) {
	tb.Helper()
	if _, err := e.lib.MetricHistory(ctx, e.exps[i], key, metatrack.WithStepRange(1, 1)); err == nil {
		return
	}
	curve := typicalCurve(n, uint64(n), false)
	err := e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
		for len(curve) > 0 {
			k := min(len(curve), 10000)
			if err := tx.LogMetrics(ctx, e.exps[i], key, curve[:k]); err != nil {
				return err
			}
			curve = curve[k:]
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkMetricBatch logs 100 new series of 10,000 points in one
// transaction, one LogMetrics call each; ns/op is per point.
func BenchmarkMetricBatch(b *testing.B) {
	skipMetrics(b)
	e := getMetricEnv(b)
	split := func(n int, fn func(s int, pts []metatrack.MetricPoint) error) error {
		per := max(n/metricSeriesPerBatch, 1)
		for s, done := 0, 0; done < n; s++ {
			k := min(per, n-done)
			if s == metricSeriesPerBatch-1 {
				k = n - done
			}
			if err := fn(s, e.curve[done:done+k]); err != nil {
				return err
			}
			done += k
		}
		return nil
	}
	runCase(b, "100x10000", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			benchBatched(b, metricPointsPerRound, func(n int) error {
				round := next()
				return e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
					return split(n, func(s int, pts []metatrack.MetricPoint) error {
						return tx.LogMetrics(ctx, e.exps[s%10], fmt.Sprintf("batch_%d_%d", round, s), pts)
					})
				})
			})
		})
		b.Run("bare", func(b *testing.B) {
			var conv []series.Point
			var buf []byte
			benchBatched(b, metricPointsPerRound, func(n int) error {
				round := next()
				return e.bare.tx(ctx, func() error {
					return split(n, func(s int, pts []metatrack.MetricPoint) (err error) {
						buf, err = e.bare.bareLogMetrics(e.seqs[s%10], fmt.Sprintf("bare_%d_%d", round, s), pts, conv, buf)
						return err
					})
				})
			})
		})
		b.Run("ref-rows", func(b *testing.B) {
			if _, err := e.bare.conn.ExecContext(ctx, sqlBareRowsTable); err != nil {
				b.Fatal(err)
			}
			benchBatched(b, metricPointsPerRound, func(n int) error {
				round := next()
				return e.bare.tx(ctx, func() error {
					return split(n, func(s int, pts []metatrack.MetricPoint) error {
						id := round*1000 + int64(s)
						for _, p := range pts {
							if _, err := e.bare.exec(ctx, sqlBareInsertRow, id, p.Step, p.Time.UnixMilli(), p.Value); err != nil {
								return err
							}
						}
						return nil
					})
				})
			})
		})
	})
}

// BenchmarkMetricBatchCalls logs a training loop's points one LogMetric
// call each, 1000 to a batch, into a new series per batch; ns/op is per
// call. The baseline writes the same 1000 points to a new series in
// hand-written SQL.
func BenchmarkMetricBatchCalls(b *testing.B) {
	skipMetrics(b)
	e := getMetricEnv(b)
	const size = 1000
	runCase(b, "LogMetric", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			benchBatched(b, size, func(n int) error {
				key := fmt.Sprint("calls_", next())
				return e.lib.Batch(ctx, func(tx *metatrack.Tracker) error {
					for i := range n {
						p := e.curve[i]
						if err := tx.LogMetric(ctx, e.exps[7], key, p.Value, metatrack.WithStep(p.Step), metatrack.WithTime(p.Time)); err != nil {
							return err
						}
					}
					return nil
				})
			})
		})
		b.Run("bare", func(b *testing.B) {
			var conv []series.Point
			var buf []byte
			benchBatched(b, size, func(n int) error {
				key := fmt.Sprint("bare_calls_", next())
				return e.bare.tx(ctx, func() (err error) {
					buf, err = e.bare.bareLogMetrics(e.seqs[8], key, e.curve[:n], conv, buf)
					return err
				})
			})
		})
	})
}

// BenchmarkMetricWrite logs one point per durable transaction to a series
// that grows (its tail is sealed into a block every 1024 points), beside a
// LogTag of the library on the same file.
func BenchmarkMetricWrite(b *testing.B) {
	skipMetrics(b)
	e := getMetricEnv(b)
	runCase(b, "LogMetric", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error { return e.lib.LogMetric(ctx, e.exps[0], "single", float64(next())/7) })
		})
		b.Run("bare", func(b *testing.B) {
			bench(b, func() error {
				return e.bare.tx(ctx, func() error { return e.bare.bareLogMetric(e.exps[1].ID, "single", float64(next())/7) })
			})
		})
		b.Run("ref-LogTag", func(b *testing.B) {
			bench(b, func() error {
				n := next()
				return e.lib.LogTag(ctx, e.exps[2], "bench_tag", fmt.Sprint("v", n))
			})
		})
	})
}

// BenchmarkMetricRead reads a 100k-point series whole, and a 1M-point one
// downsampled to 1000 points.
func BenchmarkMetricRead(b *testing.B) {
	skipMetrics(b)
	e := getMetricEnv(b)
	e.ensureSeries(b, 3, "h100k", 100_000)
	e.ensureSeries(b, 4, "h1m", 1_000_000)
	runCase(b, "history-100k", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error {
				pts, err := e.lib.MetricHistory(ctx, e.exps[3], "h100k")
				if err == nil && len(pts) != 100_000 {
					err = fmt.Errorf("%d points", len(pts))
				}
				b.ReportMetric(float64(len(pts)), "rows")
				return err
			})
		})
		seq := e.seriesSeq(b, e.seqs[3], "h100k")
		b.Run("bare", func(b *testing.B) {
			bench(b, func() error {
				pts, err := e.bare.bareHistory(seq)
				if err == nil && len(pts) != 100_000 {
					err = fmt.Errorf("%d points", len(pts))
				}
				return err
			})
		})
	})
	runCase(b, "downsample-1m-to-1000", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error {
				pts, err := e.lib.MetricHistory(ctx, e.exps[4], "h1m", metatrack.WithMaxPoints(1000))
				if err == nil && (len(pts) > 1000 || len(pts) < 300) {
					err = fmt.Errorf("%d points", len(pts))
				}
				b.ReportMetric(float64(len(pts)), "rows")
				return err
			})
		})
		seq := e.seriesSeq(b, e.seqs[4], "h1m")
		b.Run("bare-full-decode", func(b *testing.B) {
			bench(b, func() error {
				pts, err := e.bare.bareHistory(seq)
				if err != nil {
					return err
				}
				// 333 buckets of min, max and last.
				width := (pts[len(pts)-1].Step-pts[0].Step)/333 + 1
				var out []metatrack.MetricPoint
				var lo, hi, last metatrack.MetricPoint
				bucket := int64(-1)
				for _, p := range pts {
					if k := (p.Step - pts[0].Step) / width; k != bucket {
						if bucket >= 0 {
							out = append(out, lo, hi, last)
						}
						bucket, lo, hi = k, p, p
					}
					if p.Value < lo.Value {
						lo = p
					}
					if p.Value > hi.Value {
						hi = p
					}
					last = p
				}
				out = append(out, lo, hi, last)
				if len(out) > 1000 {
					return fmt.Errorf("%d points", len(out))
				}
				return nil
			})
		})
	})
}

// BenchmarkMetricSize logs a 1M-point typical curve (100 LogMetrics calls
// of 10,000 points in one transaction) into a new file and reports the
// bytes a point takes in the file: its pages in use, less those of the
// same file before the curve. f64 fills every mantissa bit with noise.
func BenchmarkMetricSize(b *testing.B) {
	skipMetrics(b)
	for _, tc := range []struct {
		name string
		f64  bool
	}{{"typical-1m", false}, {"typical-f64-1m", true}} {
		curve := typicalCurve(1_000_000, 5, tc.f64)
		runCase(b, tc.name, func(b *testing.B) {
			b.Run("lib", func(b *testing.B) {
				var perPoint float64
				bench(b, func() error {
					dir, err := os.MkdirTemp("", "metatrack-size-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(dir)
					path := filepath.Join(dir, "size.db")
					tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
					if err != nil {
						return err
					}
					defer tr.Close()
					ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
					if err != nil {
						return err
					}
					before, err := pagesInUse(path)
					if err != nil {
						return err
					}
					err = tr.Batch(ctx, func(tx *metatrack.Tracker) error {
						for i := 0; i < len(curve); i += 10000 {
							if err := tx.LogMetrics(ctx, ds, "loss", curve[i:i+10000]); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						return err
					}
					after, err := pagesInUse(path)
					perPoint = float64(after-before) / float64(len(curve))
					return err
				})
				b.ReportMetric(perPoint, "B/point")
			})
		})
	}
}

// pagesInUse returns the bytes of the pages of the file at path that hold
// data (page_count less freelist_count, times page_size).
func pagesInUse(path string) (int64, error) {
	d, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	var pages, free, size int64
	err = d.QueryRow(`SELECT (SELECT page_count FROM pragma_page_count), (SELECT freelist_count FROM pragma_freelist_count),
		(SELECT page_size FROM pragma_page_size)`).Scan(&pages, &free, &size)
	return (pages - free) * size, err
}

// BenchmarkMetricMemory logs a 10M-point series in LogMetrics calls of
// 10,000 points and reads it back with MetricPoints; peak heap is what to
// look at (the series is 240 MB as a slice of points). Behind -metrics.big.
func BenchmarkMetricMemory(b *testing.B) {
	skipMetrics(b)
	if !*metricsBig {
		b.Skip("the 10M-point run is behind -metrics.big")
	}
	const n = 10_000_000
	b.Run("10m", func(b *testing.B) {
		b.Run("lib", func(b *testing.B) {
			bench(b, func() error {
				dir, err := os.MkdirTemp("", "metatrack-mem-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				tr, err := metatrack.Open(ctx, filepath.Join(dir, "mem.db"), metatrack.WithoutRun())
				if err != nil {
					return err
				}
				defer tr.Close()
				ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
				if err != nil {
					return err
				}
				chunk := make([]metatrack.MetricPoint, 10000)
				t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				for i := 0; i < n; i += len(chunk) {
					for j := range chunk {
						s := i + j + 1
						chunk[j] = metatrack.MetricPoint{Step: int64(s), Time: t0.Add(time.Duration(s) * 25 * time.Millisecond),
							Value: float64(float32(1 / math.Sqrt(float64(s))))}
					}
					if err := tr.LogMetrics(ctx, ds, "loss", chunk); err != nil {
						return err
					}
				}
				count := 0
				for _, err := range tr.MetricPoints(ctx, ds, "loss") {
					if err != nil {
						return err
					}
					count++
				}
				if count != n {
					return fmt.Errorf("read %d points of %d", count, n)
				}
				b.ReportMetric(float64(count), "rows")
				return nil
			})
		})
	})
}

// TestMetricBaselinesAgree checks that the hand-written baselines store and
// read what the library does.
func TestMetricBaselinesAgree(t *testing.T) {
	e := getMetricEnv(t)
	pts := typicalCurve(3000, 9, false)
	if err := e.lib.LogMetrics(ctx, e.exps[5], "agree", pts); err != nil {
		t.Fatal(err)
	}
	if err := e.bare.tx(ctx, func() error { _, err := e.bare.bareLogMetrics(e.seqs[6], "agree", pts, nil, nil); return err }); err != nil {
		t.Fatal(err)
	}
	for range 1500 {
		if err := e.lib.LogMetric(ctx, e.exps[5], "agree1", 0.5); err != nil {
			t.Fatal(err)
		}
		if err := e.bare.tx(ctx, func() error { return e.bare.bareLogMetric(e.exps[6].ID, "agree1", 0.5) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"agree", "agree1"} {
		lib, err := e.lib.MetricHistory(ctx, e.exps[5], key)
		if err != nil {
			t.Fatal(err)
		}
		bare, err := e.lib.MetricHistory(ctx, e.exps[6], key)
		if err != nil {
			t.Fatal(err)
		}
		viaBare, err := e.bare.bareHistory(e.seriesSeq(t, e.seqs[5], key))
		if err != nil {
			t.Fatal(err)
		}
		if len(lib) != len(bare) {
			t.Fatalf("%s: the library stored %d points, the baseline %d", key, len(lib), len(bare))
		}
		for i := range lib {
			if lib[i].Step != bare[i].Step || lib[i].Value != bare[i].Value {
				t.Fatalf("%s: point %d: library %+v, baseline %+v", key, i, lib[i], bare[i])
			}
		}
		if key == "agree" {
			if len(viaBare) != len(lib) {
				t.Fatalf("the baseline read %d points of %d", len(viaBare), len(lib))
			}
			for i := range lib {
				if lib[i] != viaBare[i] {
					t.Fatalf("read point %d: baseline %+v, library %+v", i, viaBare[i], lib[i])
				}
			}
		}
		ls, _ := e.lib.Metrics(ctx, e.exps[5])
		bs, _ := e.lib.Metrics(ctx, e.exps[6])
		if len(ls) != len(bs) {
			t.Fatalf("summaries: %+v and %+v", ls, bs)
		}
		for i := range ls {
			if ls[i].Count != bs[i].Count || ls[i].Last != bs[i].Last || ls[i].Min != bs[i].Min || ls[i].Max != bs[i].Max {
				t.Fatalf("summaries: library %+v, baseline %+v", ls[i], bs[i])
			}
		}
	}
	rep, err := e.lib.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after the baselines wrote: %v %+v", err, rep.Problems)
	}
}

// metricSearchTrials is the number of trials of the metric search file.
const metricSearchTrials = 100_000

var metricSearchEnv = lazy[*env]{}

// getMetricSearchEnv returns a file of 100k experiments, each with a loss
// series (one point: its summary row and tail row written in bulk), their
// last values spread evenly over 0..1.
func getMetricSearchEnv(tb testing.TB) *env {
	tb.Helper()
	return metricSearchEnv.get(tb, func() (*env, error) {
		dir, err := tempDir()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "metric-search.db")
		lib, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
		if err != nil {
			return nil, err
		}
		mv, err := lib.CreateResource(ctx, metatrack.TypeModelVersion, "sweep")
		if err != nil {
			return nil, err
		}
		if err := lib.Close(); err != nil {
			return nil, err
		}
		bare, err := openBare(ctx, path)
		if err != nil {
			return nil, err
		}
		var parent int64
		if parent, err = bare.seqOf(mv.ID); err != nil {
			return nil, err
		}
		r := rand.New(rand.NewPCG(3, 3))
		err = bare.tx(ctx, func() error {
			now := time.Now().UnixMilli()
			for i := range metricSearchTrials {
				res, err := bare.exec(ctx, `INSERT INTO resources (id, type, name, parent_seq, created_at, updated_at) VALUES (?, 'experiment', ?, ?, ?, ?)`,
					newID(), fmt.Sprint("t", i), parent, now, now)
				if err != nil {
					return err
				}
				seq, _ := res.LastInsertId()
				v := r.Float64()
				p := series.Point{Step: 100, Time: now, Value: v}
				sum := series.Summarize([]series.Point{p})
				res, err = bare.exec(ctx, `INSERT INTO metric_series (resource_seq, key, count, last_step, last_value, min_value, max_value,
					tail, summary, created_at, updated_at) VALUES (?, 'loss', 1, 100, ?, ?, ?, 1, ?, ?, ?)`,
					seq, v, v, v, series.AppendSummary(nil, sum), now, now)
				if err != nil {
					return err
				}
				ss, _ := res.LastInsertId()
				if _, err := bare.exec(ctx, sqlBareInsertTail, ss, 0, p.Step, p.Time, int64(math.Float64bits(v))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if _, err := bare.conn.ExecContext(ctx, "ANALYZE"); err != nil {
			return nil, err
		}
		if lib, err = metatrack.Open(ctx, path, metatrack.WithoutRun()); err != nil {
			return nil, err
		}
		return &env{lib: lib, bare: bare}, nil
	})
}

const sqlBareMetricBelow = "SELECT " + resCols + " FROM (SELECT ms.resource_seq AS seq FROM metric_series ms" +
	"   WHERE ms.key = ? AND ms.last_value < ? AND ms.resource_seq IS NOT NULL ORDER BY ms.resource_seq LIMIT ?) s" +
	" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.seq"

// BenchmarkMetricSearch finds the trials whose last loss is below a bound
// among 100k (about 50 of them), and the 100 best ordered by it.
func BenchmarkMetricSearch(b *testing.B) {
	skipMetrics(b)
	e := getMetricSearchEnv(b)
	for _, c := range []searchCase{
		{name: "selective-100k", filter: "metrics.loss < 0.0005", page: 100, bare: sqlBareMetricBelow, args: []any{"loss", 0.0005}},
		{name: "order-top100-100k", filter: "metrics.loss < 0.01 ORDER BY metrics.loss ASC", page: 100,
			bare: "SELECT " + resCols + " FROM metric_series ms JOIN resources r ON r.seq = ms.resource_seq" + resJoins +
				" WHERE ms.key = ? AND ms.last_value < ? AND ms.resource_seq IS NOT NULL ORDER BY ms.last_value, ms.resource_seq LIMIT ?",
			args: []any{"loss", 0.01}},
	} {
		runCase(b, c.name, func(b *testing.B) {
			b.Run("lib", func(b *testing.B) {
				run, err := c.lib(e.lib)
				if err != nil {
					b.Fatal(err)
				}
				var n int
				bench(b, func() error {
					p, err := run()
					n = len(p.Resources)
					return err
				})
				b.ReportMetric(float64(n), "rows")
			})
			b.Run("bare", func(b *testing.B) {
				run, err := c.bareRun(e.bare)
				if err != nil {
					b.Fatal(err)
				}
				bench(b, func() error { _, err := run(); return err })
			})
		})
	}
}
