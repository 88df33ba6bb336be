package benchmarks

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// The scale benchmarks. Each benchmark has sub-benchmarks named lib (the
// library call) and bare, bare-cte or bare-level (the same work in
// hand-written SQL on one connection with prepared statements); ref-*
// sub-benchmarks are reference figures outside the ratios. Run them with
//
//	go test -run '^$' -bench . -benchmem ./benchmarks/                # 10k resources
//	go test -run '^$' -bench . -benchmem ./benchmarks/ -scale=100k
//	go test -run '^$' -bench . -benchmem ./benchmarks/ -scale=1m -timeout=60m
//
// or all of them into benchmarks/RESULTS.md with go run ./benchmarks/report.
// The fixture is generated once per process (1m takes about a minute);
// -fixture.dir keeps it between runs.
var (
	scaleFlag   = flag.String("scale", "10k", "fixture size: 10k, 100k or 1m resources")
	fixtureFlag = flag.String("fixture.dir", "", "keep generated fixtures in this directory and reuse them")
	samplesFlag = flag.Int("samples", 5, "samples of each case, its library and baseline sub-benchmarks interleaved")
	enginesFlag = flag.String("engines", "sqlite,postgres", "engines of the engine benchmarks (Search, Lookup, Point, Lineage, "+
		"Concurrent and their PG/ twins): sqlite, postgres or both; PostgreSQL comes from pgtest")
)

// fixtureVersion names the generator's output in -fixture.dir; bump it when
// the generator changes.
const fixtureVersion = 1

var (
	tmpDir  string
	tmpOnce sync.Once

	fixture = lazy[*Fixture]{}
	readEnv = lazy[*env]{}
	// writeEnv works on a copy of the fixture, so that the writes leave
	// the read benchmarks' graph as generated.
	writeEnv = lazy[*env]{}
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := pgtest.Run(m)
	for _, e := range []*lazy[*env]{&readEnv, &writeEnv, &mlflowEnv, &metricSearchEnv} {
		if e.v != nil {
			e.v.close()
		}
	}
	if metricEnvL.v != nil {
		metricEnvL.v.close()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// runCase runs a case's sub-benchmarks (lib, bare*, ref-*) -samples times
// in turn, lib, bare, lib#01, bare#01, ..., so that the library and its
// baseline are sampled alternately under the same load of the machine; the
// report pairs the k-th samples and takes the median of their ratios.
func runCase(b *testing.B, name string, body func(b *testing.B)) bool {
	b.Helper()
	return b.Run(name, func(b *testing.B) {
		for range max(*samplesFlag, 1) {
			body(b)
		}
	})
}

// onEngine skips b unless -engines names engine (sqlite or postgres).
func onEngine(b *testing.B, engine string) {
	b.Helper()
	for _, e := range strings.Split(*enginesFlag, ",") {
		if strings.TrimSpace(strings.ToLower(e)) == engine {
			return
		}
	}
	b.Skipf("-engines=%s leaves out %s", *enginesFlag, engine)
}

// lazy is a value made once, on first use.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(tb testing.TB, make func() (T, error)) T {
	tb.Helper()
	l.once.Do(func() { l.v, l.err = make() })
	if l.err != nil {
		tb.Fatal(l.err)
	}
	return l.v
}

func tempDir() (string, error) {
	var err error
	tmpOnce.Do(func() { tmpDir, err = os.MkdirTemp("", "metatrack-bench-") })
	return tmpDir, err
}

// getFixture returns the fixture of -scale, generating it on first use.
func getFixture(tb testing.TB) *Fixture {
	tb.Helper()
	return fixture.get(tb, func() (*Fixture, error) {
		units, err := ScaleUnits(*scaleFlag)
		if err != nil {
			return nil, err
		}
		spec := SpecFor(units)
		ctx := context.Background()
		dir := *fixtureFlag
		if dir == "" {
			if dir, err = tempDir(); err != nil {
				return nil, err
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("fixture-%s-v%d.db", strings.ToLower(*scaleFlag), fixtureVersion))
		start := time.Now()
		var f *Fixture
		how := "loaded from -fixture.dir"
		if _, statErr := os.Stat(path); statErr == nil && *fixtureFlag != "" {
			f, err = Load(ctx, path, spec)
		} else {
			f, err = Build(ctx, path, spec)
			how = "built in " + time.Since(start).Round(time.Millisecond).String()
		}
		if err == nil {
			fmt.Fprintf(os.Stderr, "fixture %s: %d resources, %d edges, %d tags, %d metadata, %d MiB, %s\n",
				*scaleFlag, f.Resources, f.Edges, f.Tags, f.Metadata, f.Bytes>>20, how)
		}
		return f, err
	})
}

// env is a tracker and a bare connection on the same database file.
type env struct {
	fx   *Fixture
	lib  *metatrack.Tracker
	bare *bareDB
	// url is the store's URL on PostgreSQL, for more connections.
	url string
}

func (e *env) close() {
	e.lib.Close()
	e.bare.close()
}

// getReadEnv returns the tracker and bare connection on the fixture.
func getReadEnv(tb testing.TB) *env {
	tb.Helper()
	fx := getFixture(tb)
	return readEnv.get(tb, func() (*env, error) { return openEnv(fx, fx.Path, metatrack.WithoutRun()) })
}

// getWriteEnv returns the tracker and bare connection on a copy of the
// fixture.
func getWriteEnv(tb testing.TB) *env {
	tb.Helper()
	fx := getFixture(tb)
	return writeEnv.get(tb, func() (*env, error) {
		dir, err := tempDir()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "write.db")
		if err := copyFile(path, fx.Path); err != nil {
			return nil, err
		}
		return openEnv(fx, path, metatrack.WithRunName("bench"))
	})
}

func openEnv(fx *Fixture, path string, opts ...metatrack.Option) (*env, error) {
	ctx := context.Background()
	lib, err := metatrack.Open(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	bare, err := openBare(ctx, path)
	if err != nil {
		lib.Close()
		return nil, err
	}
	if id := lib.Run().ID; id != "" {
		if err := bare.conn.QueryRowContext(ctx, "SELECT seq FROM runs WHERE id = ?", id).Scan(&bare.runSeq); err != nil {
			return nil, err
		}
	}
	return &env{fx: fx, lib: lib, bare: bare}, nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// bareDB is the baseline: one connection to the same file with the same
// pragmas as the tracker, and statements prepared once on it. Its commits
// bound the write-ahead log as the tracker's do (see commit), so that
// neither side pays for the other's log.
type bareDB struct {
	db     *sql.DB
	conn   *sql.Conn
	stmts  map[string]*sql.Stmt
	runSeq any
	path   string

	// pg, when set, is a PostgreSQL connection of pgx in place of db and
	// conn (see openPGBare): the read baselines' texts are written for
	// SQLite and mapped to their PostgreSQL texts (pgText), prepared on
	// pg once each.
	pg      *pgx.Conn
	pgStmts map[string]string

	// commits counts write transactions; every checkpointEvery-th starts a
	// passive checkpoint on ckpt in the background, as the tracker's
	// checkpointer does.
	commits  int64
	ckpt     *sql.DB
	ckptBusy atomic.Bool
	ckptWG   sync.WaitGroup
}

// The tracker's write-ahead-log bounds (sqlite.Options.WALLimit's default and
// its checkpoint interval), which the bare side follows.
const (
	walLimit        = sqlite.DefaultWALLimit
	checkpointEvery = 128
)

// bareDSN is the tracker's own DSN (sqlite.DSN with default options): busy
// timeout, foreign keys, WAL, synchronous=NORMAL, BEGIN IMMEDIATE,
// journal_size_limit and wal_autocheckpoint(0).
func bareDSN(path string) string {
	return sqlite.DSN(path, sqlite.Options{}, false)
}

func openBare(ctx context.Context, path string) (*bareDB, error) {
	d, err := sql.Open("sqlite", bareDSN(path))
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	conn, err := d.Conn(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	ckpt, err := sql.Open("sqlite", bareDSN(path))
	if err != nil {
		conn.Close()
		d.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	return &bareDB{db: d, conn: conn, stmts: map[string]*sql.Stmt{}, path: path, ckpt: ckpt}, nil
}

func (d *bareDB) close() {
	if d.pg != nil {
		d.pg.Close(context.Background())
		return
	}
	d.ckptWG.Wait()
	for _, s := range d.stmts {
		s.Close()
	}
	d.conn.Close()
	d.db.Close()
	d.ckpt.Close()
}

// committed does after each commit what the tracker's WriteTx does: when
// the -wal file has grown past half the limit it checkpoints and truncates
// it in line; otherwise every checkpointEvery-th commit starts a passive
// checkpoint in the background.
func (d *bareDB) committed(ctx context.Context) {
	d.commits++
	if info, err := os.Stat(d.path + "-wal"); err == nil && info.Size() > walLimit/2 {
		d.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		return
	}
	if d.commits%checkpointEvery == 0 && d.ckptBusy.CompareAndSwap(false, true) {
		d.ckptWG.Add(1)
		go func() {
			defer d.ckptWG.Done()
			defer d.ckptBusy.Store(false)
			d.ckpt.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}()
	}
}

// stmt returns query prepared on the connection, preparing it on first use.
func (d *bareDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := d.stmts[query]; ok {
		return s, nil
	}
	s, err := d.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, query)
	}
	d.stmts[query] = s
	return s, nil
}

// rows are the rows of a query on either engine.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

func (d *bareDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	if d.pg != nil {
		return d.pgQuery(ctx, query, args...)
	}
	s, err := d.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// inRead runs fn's queries in one read transaction, for the baselines
// of calls that read one snapshot with several statements (a walk's nodes
// and the edges among them), as the tracker's reads do. BEGIN and ROLLBACK
// are prepared statements on the one connection, so fn's prepared
// statements run inside the transaction as they are (database/sql's
// Tx.Stmt would prepare a statement of a Conn again on every call).
//
// On PostgreSQL the transaction is REPEATABLE READ READ ONLY, as the
// tracker's read transactions are there.
func (d *bareDB) inRead(fn func() error) error {
	if d.pg != nil {
		return d.pgRead(fn)
	}
	if _, err := d.exec(ctx, "BEGIN"); err != nil {
		return err
	}
	err := fn()
	if _, rerr := d.exec(ctx, "ROLLBACK"); err == nil {
		err = rerr
	}
	return err
}

func (d *bareDB) queryRow(ctx context.Context, query string, args ...any) scanner {
	if d.pg != nil {
		return d.pgQueryRow(ctx, query, args...)
	}
	s, err := d.stmt(ctx, query)
	if err != nil {
		// A Row with this error: QueryRowContext of a closed statement
		// cannot be built by hand, so run the text and let it fail alike.
		return d.conn.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (d *bareDB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := d.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// tx runs fn between BEGIN IMMEDIATE and COMMIT, as the tracker's write
// transactions do.
func (d *bareDB) tx(ctx context.Context, fn func() error) error {
	if _, err := d.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		d.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := d.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	d.committed(ctx)
	return nil
}

// Resource columns as the tracker returns them, joined with the parent's
// and the run's ids, and the parent's reference for children that are not
// chain members (one level: in the fixture every such parent is a chain
// member or a root).
const (
	resCols = "r.seq, r.id, r.type, r.name, r.version, p.id, r.status, r.attrs, run.id, r.created_at, r.updated_at, r.started_at, r.ended_at, " +
		"CASE WHEN r.version IS NULL AND p.seq IS NOT NULL THEN p.type || '/' || p.name || CASE WHEN p.version IS NOT NULL THEN '@' || p.version ELSE '' END END"
	// bareParentRef is the parent's reference by a subquery, for r alone.
	bareParentRef = "(SELECT CASE WHEN r.version IS NULL THEN p.type || '/' || p.name || CASE WHEN p.version IS NOT NULL THEN '@' || p.version ELSE '' END END" +
		" FROM resources p WHERE p.seq = r.parent_seq)"
	resJoins = " LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq"
)

type scanner interface{ Scan(dest ...any) error }

// scanResource scans resCols into a Resource the way the tracker fills it.
func scanResource(s scanner) (int64, metatrack.Resource, error) {
	var (
		seq               int64
		r                 metatrack.Resource
		version           sql.NullInt64
		parent, run, pref sql.NullString
		attrs             string
		created, updated  int64
		started, ended    sql.NullInt64
	)
	if err := s.Scan(&seq, &r.ID, &r.Type, &r.Name, &version, &parent, &r.Status, &attrs, &run,
		&created, &updated, &started, &ended, &pref); err != nil {
		return 0, r, err
	}
	r.Version, r.ParentID, r.RunID, r.ParentRef = int(version.Int64), parent.String, run.String, pref.String
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if started.Valid {
		r.StartedAt = time.UnixMilli(started.Int64).UTC()
	}
	if ended.Valid {
		r.EndedAt = time.UnixMilli(ended.Int64).UTC()
	}
	if attrs != "" && attrs != "{}" {
		v, err := decodeJSON(attrs)
		if err != nil {
			return 0, r, err
		}
		r.Attrs, _ = v.(map[string]any)
	}
	return seq, r, nil
}

// decodeJSON decodes a stored JSON value as the tracker returns it:
// integers that fit as int64, other numbers as float64.
func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	}
	return v
}

// ints binds seqs as one argument: a JSON array for SQLite's json_each, an
// array of bigint for PostgreSQL's = ANY.
func (d *bareDB) ints(seqs []int64) any {
	if d.pg != nil {
		return seqs
	}
	return jsonInts(seqs)
}

// jsonInts encodes seqs as a JSON array, for json_each.
func jsonInts(seqs []int64) string {
	b := make([]byte, 0, 2+len(seqs)*8)
	b = append(b, '[')
	for i, s := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return string(append(b, ']'))
}

// bench runs op in a b.Loop, reporting allocations and peak memory.
func bench(b *testing.B, op func() error) {
	b.Helper()
	p := startPeak()
	b.ReportAllocs()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	p.report(b)
}

// benchBatched runs b.N items in batches of at most size, one call of op
// per batch, so that ns/op and allocs/op are per item.
func benchBatched(b *testing.B, size int, op func(n int) error) {
	b.Helper()
	p := startPeak()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(size, b.N-done)
		if err := op(n); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.StopTimer()
	p.report(b)
}

// peak samples the Go heap in use (runtime.MemStats.HeapInuse, read from
// runtime/metrics, which does not stop the world) every half millisecond
// while a benchmark runs, and resets the process's peak resident set size
// (VmHWM, which also counts SQLite's page cache, allocated outside the Go
// heap) at its start.
type peak struct {
	stop chan struct{}
	done chan struct{}
	max  uint64
	rss  bool
}

var heapInuse = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

func startPeak() *peak {
	runtime.GC()
	p := &peak{stop: make(chan struct{}), done: make(chan struct{})}
	p.rss = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	samples := make([]metrics.Sample, len(heapInuse))
	for i, n := range heapInuse {
		samples[i].Name = n
	}
	sample := func() {
		metrics.Read(samples)
		var v uint64
		for _, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				v += s.Value.Uint64()
			}
		}
		p.max = max(p.max, v)
	}
	sample()
	go func() {
		defer close(p.done)
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return p
}

func (p *peak) report(b *testing.B) {
	close(p.stop)
	<-p.done
	b.ReportMetric(float64(p.max)/(1<<20), "peak-heap-MiB")
	if p.rss {
		if kb, ok := vmHWM(); ok {
			b.ReportMetric(float64(kb)/1024, "peak-rss-MiB")
		}
	}
}

// vmHWM returns the peak resident set size of the process in KiB.
func vmHWM() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// ctx is the context of every benchmark call.
var ctx = context.Background()

// res is a Resource value that carries only an id, as callers pass them.
func res(p Pick) metatrack.Resource { return metatrack.Resource{ID: p.ID} }
