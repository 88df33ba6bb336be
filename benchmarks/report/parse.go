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
	Name    string             // without the Benchmark prefix and the -GOMAXPROCS suffix
	NsPerOp float64            // ns/op
	Metrics map[string]float64 // every other unit: B/op, allocs/op, peak-heap-MiB, nodes, ...
}

// ScaleResults are the results of one scale's run.
type ScaleResults struct {
	Scale   string
	Fixture string // the fixture line the benchmarks print
	Results []Result
	Elapsed time.Duration
	Load    string // the machine's load averages before and after
	Err     string
}

var (
	benchLine   = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)
	fixtureLine = regexp.MustCompile(`^fixture \S+: (.*)$`)
)

// Parse reads the output of go test -bench. Repeated runs of a benchmark
// (-count) are reduced to the median of each unit.
func Parse(scale, out string) ScaleResults {
	sr := ScaleResults{Scale: scale}
	runs := map[string][]map[string]float64{}
	var order []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
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
	}
	for _, name := range order {
		r := Result{Name: name, Metrics: map[string]float64{}}
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

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
