package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const sample = `fixture 10k: 9916 resources, 10982 edges, 17520 tags, 40920 metadata, 8 MiB, built in 257ms
goos: linux
BenchmarkLineage/ancestors/depth=3/lib-2         	    3000	    339155 ns/op	        12.00 nodes	         1.234 peak-heap-MiB	        18.46 peak-rss-MiB	   18031 B/op	     421 allocs/op
BenchmarkLineage/ancestors/depth=3/bare-cte-2    	    3000	     80698 ns/op	         1.156 peak-heap-MiB	        18.67 peak-rss-MiB	   11232 B/op	     248 allocs/op
BenchmarkLineage/ancestors/depth=3/bare-level-2  	    3000	     87119 ns/op	         1.164 peak-heap-MiB	        18.62 peak-rss-MiB	   12932 B/op	     330 allocs/op
BenchmarkLineage/ancestors/depth=3/lib-2         	    3000	    300000 ns/op	        12.00 nodes	         1.234 peak-heap-MiB	        18.46 peak-rss-MiB	   18031 B/op	     421 allocs/op
BenchmarkLineage/ancestors/depth=3/lib-2         	    3000	    310000 ns/op	        12.00 nodes	         1.234 peak-heap-MiB	        18.46 peak-rss-MiB	   18031 B/op	     421 allocs/op
BenchmarkPoint/GetTag/lib-2                      	   70000	     17215 ns/op	         1.133 peak-heap-MiB	        21.50 peak-rss-MiB	     868 B/op	      28 allocs/op
BenchmarkPoint/GetTag/bare-2                     	   90000	     15000 ns/op	         1.133 peak-heap-MiB	        21.51 peak-rss-MiB	     953 B/op	      25 allocs/op
BenchmarkPoint/GetTag/lib#01-2                   	   70000	     18000 ns/op	         1.133 peak-heap-MiB	        21.50 peak-rss-MiB	     868 B/op	      28 allocs/op
BenchmarkPoint/GetTag/bare#01-2                  	   90000	     12000 ns/op	         1.133 peak-heap-MiB	        21.51 peak-rss-MiB	     953 B/op	      25 allocs/op
BenchmarkPoint/GetTag/lib#02-2                   	   70000	     16000 ns/op	         1.133 peak-heap-MiB	        21.50 peak-rss-MiB	     868 B/op	      28 allocs/op
BenchmarkPoint/GetTag/bare#02-2                  	   90000	     15000 ns/op	         1.133 peak-heap-MiB	        21.51 peak-rss-MiB	     953 B/op	      25 allocs/op
BenchmarkWrite/LogTag/lib-2                      	       1	 384000000 ns/op
BenchmarkWrite/LogTag/bare-2                     	    3000	     80000 ns/op
BenchmarkBatch/LogTag/lib-2                      	  100000	      4000 ns/op	         1.242 peak-heap-MiB	        27.89 peak-rss-MiB	    4943 B/op	     127 allocs/op
BenchmarkBatch/LogTag/bare-2                     	  100000	      3500 ns/op	         1.211 peak-heap-MiB	        27.90 peak-rss-MiB	    2662 B/op	      71 allocs/op
BenchmarkBatch/LogTag/ref-bulk-insert-2          	  100000	      2000 ns/op	         1.188 peak-heap-MiB	        27.94 peak-rss-MiB	     384 B/op	      13 allocs/op
PASS
`

func TestParseAndMarkdown(t *testing.T) {
	sr := Parse("10k", sample)
	if !strings.HasPrefix(sr.Fixture, "9916 resources") {
		t.Errorf("fixture %q", sr.Fixture)
	}
	rows := Rows(sr.Results)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	lin := rows[0]
	if lin.Case != "Lineage/ancestors/depth=3" || lin.Lib.NsPerOp != 310000 || lin.BaseImpl != "bare-cte" {
		t.Errorf("lineage row: %s lib %v (median of 3) baseline %s", lin.Case, lin.Lib.NsPerOp, lin.BaseImpl)
	}
	if got := verdict(lin, targetFor(lin.Case)); got != "**miss** (ratio 3.84x)" {
		t.Errorf("lineage verdict %q", got)
	}
	// GetTag's paired ratios are 1.15, 1.5 and 1.07: median 1.15, the
	// target 1.3 within the interquartile range 1.11-1.32.
	tag := rows[1]
	if len(tag.Lib.Samples) != 3 || tag.Lib.NsPerOp != 17215 {
		t.Errorf("GetTag samples %v, median %v", tag.Lib.Samples, tag.Lib.NsPerOp)
	}
	if r := tag.Ratio(); r.N != 3 || r.Median < 1.147 || r.Median > 1.148 {
		t.Errorf("GetTag ratio %+v", r)
	}
	if got := verdict(tag, targetFor(tag.Case)); got != "*unclear* (ratio 1.11–1.32x)" {
		t.Errorf("GetTag verdict %q", got)
	}
	if got := verdict(rows[2], targetFor(rows[2].Case)); got != "**miss** (ratio 4800.00x); **single iteration**" {
		t.Errorf("Write verdict %q", got)
	}
	if len(rows[3].Refs) != 1 {
		t.Errorf("batch refs %v", rows[3].Refs)
	}
	var b bytes.Buffer
	(&Report{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Command: "go run ./benchmarks/report",
		Machine: []string{"CPU: test"}, Scales: []ScaleResults{sr}}).Markdown(&b)
	for _, want := range []string{
		"| Lineage/ancestors/depth=3 | 10k | 12 nodes | 310 µs | 80.7 µs (cte) | 3.84x | ±0% (1) | 421 / 248 |",
		"| Point/GetTag | 10k |  | 17.2 µs | 15.0 µs | 1.15x | ±9% (3) |",
		"| Batch/LogTag | 10k |  | 4.00 µs (250k/s) | 3.50 µs | 1.14x |",
		"- 10k: 2 targets missed",
		"| Batch/LogTag | 10k | ref-bulk-insert | 2.00 µs (500k/s) | 2.00x |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestPGTargets: PostgreSQL's rows are held to their SQLite rows' ratios,
// without the absolute bounds.
func TestPGTargets(t *testing.T) {
	for c, want := range map[string]Target{
		"PG/Search/tag-selective":      {Ratio: 1.5},
		"PG/Lineage/ancestors/depth=3": {Ratio: 1.25},
		"PG/Lookup/GetTag":             {Ratio: 1.3},
		"PG/Point/GetResource":         {Ratio: 1.3},
		"PG/Concurrent/CreateTag-x8":   {},
	} {
		if got := targetFor(c); got != want {
			t.Errorf("targetFor(%q) = %+v, want %+v", c, got, want)
		}
	}
	sr := Parse("10k", "fixture 10k: 9916 resources\nfixture 10k on PostgreSQL: copied in 1.6s\n")
	if sr.Fixture != "9916 resources" || sr.PGFixture != "copied in 1.6s" {
		t.Errorf("fixture %q, on PostgreSQL %q", sr.Fixture, sr.PGFixture)
	}
}

func TestEnginesAt(t *testing.T) {
	for _, tc := range []struct{ engines, pgScales, scale, want string }{
		{"sqlite,postgres", "10k,100k", "10k", "sqlite,postgres"},
		{"sqlite,postgres", "10k,100k", "1m", "sqlite"},
		{"sqlite, postgres", "10k, 1M", "1m", "sqlite, postgres"},
		{"sqlite", "10k", "1m", "sqlite"},
	} {
		if got := enginesAt(tc.engines, tc.pgScales, tc.scale); got != tc.want {
			t.Errorf("enginesAt(%q, %q, %q) = %q, want %q", tc.engines, tc.pgScales, tc.scale, got, tc.want)
		}
	}
}
