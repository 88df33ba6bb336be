package main

import (
	"bufio"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is one benchmark's figures, the medians over its runs.
type Result struct {
	Name    string             // without the Benchmark prefix, the #NN sample suffix and the -GOMAXPROCS suffix
	NsPerOp float64            // ns/op
	Metrics map[string]float64 // every other unit: B/op, allocs/op, peak-heap-MiB, nodes, ...
	// Samples are its runs in the order they ran: the benchmarks run a
	// case's lib and bare sub-benchmarks in turn (lib, bare, lib#01,
	// bare#01, ...), so the k-th samples of a row ran side by side.
	Samples []Sample
}

// Sample is one run of a benchmark.
type Sample struct {
	NsPerOp float64
	N       int // iterations
}

// SingleIteration reports whether any sample timed a single iteration: a
// figure that says little about the call.
func (r *Result) SingleIteration() bool {
	for _, s := range r.Samples {
		if s.N <= 1 {
			return true
		}
	}
	return false
}

// ScaleResults are the results of one scale's run.
type ScaleResults struct {
	Scale   string
	Fixture string // the fixture line the benchmarks print
	// PGFixture is the line of the fixture's copy into PostgreSQL, when
	// the PG rows ran.
	PGFixture string
	Results   []Result
	Elapsed   time.Duration
	Load      string // the machine's load averages before and after
	Err       string
}

var (
	benchLine     = regexp.MustCompile(`^Benchmark(\S+?)(?:#\d+)?(?:-\d+)?\s+(\d+)\s+(.*)$`)
	fixtureLine   = regexp.MustCompile(`^fixture \S+: (.*)$`)
	pgFixtureLine = regexp.MustCompile(`^fixture \S+ on PostgreSQL: (.*)$`)
)

// Parse reads the output of go test -bench. Repeated runs of a benchmark
// (-count) are reduced to the median of each unit.
func Parse(scale, out string) ScaleResults {
	sr := ScaleResults{Scale: scale}
	runs := map[string][]map[string]float64{}
	samples := map[string][]Sample{}
	var order []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := pgFixtureLine.FindStringSubmatch(line); m != nil {
			sr.PGFixture = m[1]
			continue
		}
		if m := fixtureLine.FindStringSubmatch(line); m != nil {
			sr.Fixture = m[1]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		vals := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			vals[f[i+1]] = v
		}
		if _, ok := vals["ns/op"]; !ok {
			continue
		}
		if _, ok := runs[m[1]]; !ok {
			order = append(order, m[1])
		}
		runs[m[1]] = append(runs[m[1]], vals)
		n, _ := strconv.Atoi(m[2])
		samples[m[1]] = append(samples[m[1]], Sample{NsPerOp: vals["ns/op"], N: n})
	}
	for _, name := range order {
		r := Result{Name: name, Metrics: map[string]float64{}, Samples: samples[name]}
		units := map[string][]float64{}
		for _, vals := range runs[name] {
			for u, v := range vals {
				units[u] = append(units[u], v)
			}
		}
		for u, vs := range units {
			if u == "ns/op" {
				r.NsPerOp = median(vs)
			} else {
				r.Metrics[u] = median(vs)
			}
		}
		sr.Results = append(sr.Results, r)
	}
	return sr
}

func median(vs []float64) float64 { return quantile(vs, 0.5) }

// quantile returns the q-quantile of vs, interpolating linearly between
// the nearest ranks; 0 for no values.
func quantile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

// Spread is a figure's median and interquartile range over its samples.
type Spread struct {
	Median, Q1, Q3 float64
	N              int // samples
}

func spreadOf(vs []float64) Spread {
	return Spread{Median: median(vs), Q1: quantile(vs, 0.25), Q3: quantile(vs, 0.75), N: len(vs)}
}

// Rel is half the interquartile range relative to the median: ±Rel.
func (s Spread) Rel() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Q3 - s.Q1) / 2 / s.Median
}

// Straddles reports whether limit lies within the interquartile range: a
// pass or miss against it is too close to call from these samples.
func (s Spread) Straddles(limit float64) bool { return s.N > 1 && s.Q1 <= limit && limit <= s.Q3 }

// Ratio is the row's library/baseline ratio: the median of the ratios of
// the samples that ran side by side (the k-th lib and k-th baseline
// sample), or of the medians when the samples do not pair.
func (row *Row) Ratio() Spread {
	if row.Lib == nil || row.Baseline == nil {
		return Spread{}
	}
	n := len(row.Lib.Samples)
	if n == 0 || n != len(row.Baseline.Samples) {
		return Spread{Median: row.Lib.NsPerOp / row.Baseline.NsPerOp, Q1: row.Lib.NsPerOp / row.Baseline.NsPerOp,
			Q3: row.Lib.NsPerOp / row.Baseline.NsPerOp, N: 1}
	}
	rs := make([]float64, n)
	for i := range n {
		rs[i] = row.Lib.Samples[i].NsPerOp / row.Baseline.Samples[i].NsPerOp
	}
	return spreadOf(rs)
}

// Time is the spread of the library's ns/op over its samples.
func (row *Row) Time() Spread {
	if row.Lib == nil {
		return Spread{}
	}
	vs := make([]float64, len(row.Lib.Samples))
	for i, s := range row.Lib.Samples {
		vs[i] = s.NsPerOp
	}
	if len(vs) == 0 {
		vs = []float64{row.Lib.NsPerOp}
	}
	return spreadOf(vs)
}

// Row is a library figure and its baselines: the benchmark's case (its name
// without the last element) and its sub-benchmarks lib, bare* and ref-*.
type Row struct {
	Case     string
	Lib      *Result
	Baseline *Result // the fastest bare*
	BaseImpl string  // its name: bare, bare-cte, bare-level
	Refs     []Result
}

// Rows groups results by case, in the order they ran.
func Rows(results []Result) []*Row {
	var rows []*Row
	byCase := map[string]*Row{}
	for i := range results {
		r := &results[i]
		i := strings.LastIndexByte(r.Name, '/')
		if i < 0 {
			continue
		}
		c, impl := r.Name[:i], r.Name[i+1:]
		row := byCase[c]
		if row == nil {
			row = &Row{Case: c}
			byCase[c] = row
			rows = append(rows, row)
		}
		switch {
		case impl == "lib":
			row.Lib = r
		case strings.HasPrefix(impl, "bare"):
			if row.Baseline == nil || r.NsPerOp < row.Baseline.NsPerOp {
				row.Baseline, row.BaseImpl = r, impl
			}
		case strings.HasPrefix(impl, "ref-"):
			row.Refs = append(row.Refs, *r)
		}
	}
	return rows
}
