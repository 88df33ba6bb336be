// Package benchmarks holds the scale benchmarks of metatrack: the tracker's
// lineage walks, lookups, point reads, searches and writes on generated,
// realistic lineage graphs of 10k, 100k and 1M resources, each measured
// beside a baseline that does the same work in hand-written SQL on the same
// driver and file (one connection, prepared statements, the same pragmas),
// so that the library's overhead shows as a ratio. The lineage baselines
// run their statements in one read transaction, as the tracker's walks do,
// and skip deleted resources as it does.
//
// The package itself is the fixture generator (Build, Load, SpecFor); the
// benchmarks are its tests:
//
//	go test ./benchmarks/                                              # checks, ~1s
//	go test -run '^$' -bench . -benchmem ./benchmarks/                 # 10k resources
//	go test -run '^$' -bench . -benchmem ./benchmarks/ -scale=100k
//	go test -run '^$' -bench . -benchmem ./benchmarks/ -scale=1m -timeout=60m
//	go run ./benchmarks/report -scale 10k,100k,1m                      # writes benchmarks/RESULTS.md
//
// BenchmarkPG runs the read cases on PostgreSQL (PG/Search/..., PG/Lineage/...,
// and PG/Concurrent, 8 writers at once, beside BenchmarkConcurrent on
// SQLite), on the same fixture copied row for row into a database of the
// server pgtest starts (or of METATRACK_TEST_POSTGRES_URL), against the same
// baselines on one pgx connection; -engines=sqlite or -engines=postgres
// runs one engine's rows alone.
//
// Flags of the package come after the package path. -fixture.dir keeps the
// generated databases between runs (the 1m one takes over a minute to
// build).
//
// Each case runs its sub-benchmarks -samples times in turn (lib, bare,
// lib#01, bare#01, ...), so that library and baseline are sampled under the
// same load; the report pairs the samples and gives the median ratio and its
// spread. The bare connection uses the tracker's own DSN and bounds the
// write-ahead log as the tracker's commits do.
//
// Sub-benchmarks are named lib (the library call), bare, bare-cte or
// bare-level (the baselines; the report divides by the fastest) and ref-*
// (bare SQL that does less than the call, for scale). TestBaselinesAgree
// checks that every baseline returns what the library returns;
// TestSearchPlans checks that selective search filters are answered from
// an index.
package benchmarks
