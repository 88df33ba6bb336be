package lineage

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/lineage/lineagetest"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// Benchmarks walk a generated graph (lineagetest.DefaultSpec: about 10k
// resources, 11k edges, 60 levels deep) with each strategy, at depth 1, 3,
// 10 and unlimited, downstream from a raw dataset version and upstream from
// the last prediction job:
//
//	go test -run '^$' -bench . -benchmem ./lineage/
//
// -lineage.scale=N generates N times the datasets and models (N x 10k
// resources); scale runs of the whole tracker belong in benchmarks/.
//
// Medians of -count=5 -benchtime=500ms on a 2-core Xeon VM (the numbers
// chooseStrategy is based on), with the number of nodes returned:
//
//	                                  nodes    CTE       level walk
//	Walk downstream depth=1               8    93 us     78 us
//	Walk downstream depth=3             342    1.60 ms   1.46 ms
//	Walk downstream depth=10            835    4.05 ms   3.76 ms
//	Walk downstream full               1906    17.8 ms   9.3 ms
//	Walk upstream depth=1                 2    64 us     54 us
//	Walk upstream depth=3                12    112 us    107 us
//	Walk upstream depth=10               33    218 us    239 us
//	Walk upstream full                  163    1.60 ms   1.18 ms
//	WalkCycle depth=10                  835    5.47 ms   3.73 ms
//	WalkCycle full                     1906    92 ms     9.3 ms
//	WalkManyStarts (25) depth=1         145    847 us    717 us
//	WalkManyStarts (25) depth=3        5899    33.7 ms   30.5 ms
//	WalkManyStarts (25) full           9521    185 ms    52 ms
//
// A one-off run of upstream walks at more caps gave, CTE against level
// walk: depth 5, 149 against 165 us; 20, 463 against 470 us; 40, 1.04
// against 1.06 ms. ShortestPath down the 58-edge stacked chain takes 1.9 ms,
// Impact of the downstream start 5.2 ms, Generate of the whole graph 131 ms.
var benchScale = flag.Int("lineage.scale", 1, "size of the benchmark graph, in units of lineagetest.DefaultSpec (10k resources)")

// benchDB is a generated benchmark database, made once per test binary.
type benchDB struct {
	once sync.Once
	db   *sqlx.DB
	gen  *lineagetest.Generated
	err  error
}

var (
	benchDir string
	// benchDAG is the generated graph; benchCyclic is the same graph with
	// one edge more, from the last prediction job back to the first raw
	// input of the first model version, which closes a cycle through every
	// stacked model.
	benchDAG, benchCyclic benchDB
)

// TestMain starts PostgreSQL for the tests that run on every engine, and
// removes the benchmark databases at the end.
func TestMain(m *testing.M) {
	flag.Parse()
	code := pgtest.Run(m)
	for _, b := range []*benchDB{&benchDAG, &benchCyclic} {
		if b.db != nil {
			b.db.Close()
		}
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchGraph returns the benchmark database, generating it on first use.
func benchGraph(b *testing.B) (*sqlx.DB, *lineagetest.Generated) {
	b.Helper()
	return benchDAG.open(b, "dag.db", false)
}

// benchCycleGraph returns the cyclic benchmark database.
func benchCycleGraph(b *testing.B) (*sqlx.DB, *lineagetest.Generated) {
	b.Helper()
	return benchCyclic.open(b, "cyclic.db", true)
}

func (d *benchDB) open(b *testing.B, name string, cycle bool) (*sqlx.DB, *lineagetest.Generated) {
	b.Helper()
	d.once.Do(func() {
		if benchDir == "" {
			if benchDir, d.err = os.MkdirTemp("", "lineage-bench-"); d.err != nil {
				return
			}
		}
		// The engine writes the graph; the walks read the file through
		// database/sql directly, as they always have here.
		path := filepath.Join(benchDir, name)
		ctx := context.Background()
		e, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			d.err = err
			return
		}
		d.gen, d.err = lineagetest.Generate(ctx, e, lineagetest.DefaultSpec().Scaled(*benchScale))
		if err := e.Close(); d.err == nil {
			d.err = err
		}
		if d.err != nil {
			return
		}
		if d.db, d.err = sqlx.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)"); d.err != nil || !cycle {
			return
		}
		down, up := benchStarts(b, d.db, d.gen)
		_, d.err = d.db.ExecContext(ctx, "INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES (?, ?, 'output', 1)", up, down)
	})
	if d.err != nil {
		b.Fatal(d.err)
	}
	return d.db, d.gen
}

// benchStarts returns the start of the downstream benchmarks, a raw dataset
// version read by the first model version (so that its downstream runs
// through every stacked model), and that of the upstream ones, the last
// prediction job.
func benchStarts(b *testing.B, db *sqlx.DB, gen *lineagetest.Generated) (down, up int64) {
	b.Helper()
	if err := db.Get(&down, "SELECT min(src_seq) FROM edges WHERE dst_seq = ? AND relation = 'input'", gen.ModelVersions[0]); err != nil {
		b.Fatal(err)
	}
	return down, gen.PredictionJobs[len(gen.PredictionJobs)-1]
}

func BenchmarkWalk(b *testing.B) {
	db, gen := benchGraph(b)
	down, up := benchStarts(b, db, gen)
	ctx := context.Background()
	for _, dir := range []struct {
		d     Direction
		start int64
	}{{Downstream, down}, {Upstream, up}} {
		for _, depth := range []int{1, 3, 10, 0} {
			for _, s := range []Strategy{CTE, LevelWalk} {
				name := fmt.Sprintf("%v/depth=%d/%v", dir.d, depth, s)
				if depth == 0 {
					name = fmt.Sprintf("%v/depth=full/%v", dir.d, s)
				}
				b.Run(name, func(b *testing.B) {
					opts := Options{Direction: dir.d, MaxDepth: depth, Strategy: s}
					b.ReportAllocs()
					var nodes int
					for b.Loop() {
						g, err := Walk(ctx, on(db), []int64{dir.start}, opts)
						if err != nil {
							b.Fatal(err)
						}
						nodes = len(g.Nodes)
					}
					b.ReportMetric(float64(nodes), "nodes")
				})
			}
		}
	}
}

// BenchmarkWalkCycle walks the graph with one cycle through every stacked
// model: unlimited, the depth-tracking CTE expands each resource once for
// every length of path that reaches it, up to the number of reachable
// resources.
func BenchmarkWalkCycle(b *testing.B) {
	db, gen := benchCycleGraph(b)
	down, _ := benchStarts(b, db, gen)
	ctx := context.Background()
	for _, depth := range []int{10, 0} {
		for _, s := range []Strategy{CTE, LevelWalk} {
			b.Run(fmt.Sprintf("depth=%d/%v", depth, s), func(b *testing.B) {
				opts := Options{Direction: Downstream, MaxDepth: depth, Strategy: s}
				b.ReportAllocs()
				var nodes int
				for b.Loop() {
					g, err := Walk(ctx, on(db), []int64{down}, opts)
					if err != nil {
						b.Fatal(err)
					}
					nodes = len(g.Nodes)
				}
				b.ReportMetric(float64(nodes), "nodes")
			})
		}
	}
}

// BenchmarkWalkManyStarts walks from every raw dataset version of the first
// five datasets at once.
func BenchmarkWalkManyStarts(b *testing.B) {
	db, gen := benchGraph(b)
	ctx := context.Background()
	starts := gen.DatasetVersions[:5*lineagetest.DefaultSpec().VersionsPerDataset]
	for _, depth := range []int{1, 3, 0} {
		for _, s := range []Strategy{CTE, LevelWalk} {
			b.Run(fmt.Sprintf("depth=%d/%v", depth, s), func(b *testing.B) {
				opts := Options{Direction: Downstream, MaxDepth: depth, Strategy: s}
				b.ReportAllocs()
				var nodes int
				for b.Loop() {
					g, err := Walk(ctx, on(db), starts, opts)
					if err != nil {
						b.Fatal(err)
					}
					nodes = len(g.Nodes)
				}
				b.ReportMetric(float64(nodes), "nodes")
			})
		}
	}
}

// BenchmarkShortestPath finds the path from the last version of the first
// model down the stacked chain to the last prediction job of the last
// model, 58 edges long.
func BenchmarkShortestPath(b *testing.B) {
	db, gen := benchGraph(b)
	from := gen.ModelVersions[lineagetest.DefaultSpec().VersionsPerModel-1]
	to := gen.PredictionJobs[len(gen.PredictionJobs)-1]
	ctx := context.Background()
	b.ReportAllocs()
	var length int
	for b.Loop() {
		p, err := ShortestPath(ctx, on(db), from, to, PathOptions{Direction: Downstream})
		if err != nil {
			b.Fatal(err)
		}
		length = len(p.Edges)
	}
	b.ReportMetric(float64(length), "edges")
}

func BenchmarkImpact(b *testing.B) {
	db, gen := benchGraph(b)
	down, _ := benchStarts(b, db, gen)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Impact(ctx, on(db), down, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	spec := lineagetest.DefaultSpec()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e := engines[0].open(b)
		b.StartTimer()
		if _, err := lineagetest.Generate(context.Background(), e, spec); err != nil {
			b.Fatal(err)
		}
	}
}
