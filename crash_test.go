//go:build unix

package metatrack_test

// Crash tests: a child process writes resources, version chains, tags,
// metadata, lineage edges and artifacts, and prints every write it saw
// acknowledged; the parent kills it with SIGKILL after a random delay,
// reopens the file and checks it: PRAGMA integrity_check is ok, every
// acknowledged write is there, every artifact record reads back with its
// hash verified and none points to staged bytes, and chains stay numbered
// without gaps. It reports how long the reopen after each kill took.
//
// This file also holds the plumbing the other chaos tests share
// (writers_test.go, backup_load_test.go, migrate_crash_test.go,
// clock_test.go): TestChaosHelper, the entry point of their child
// processes, which are this test binary run again as in process_test.go;
// chaosStart, which starts them behind process_test.go's barrier and decodes
// what they print as it arrives; and the checks of acknowledged writes.
//
// The default size (30 kills) takes a few seconds. The full size (500
// kills):
//
//	METATRACK_SOAK=1 go test -run 'TestCrash' -timeout 60m -v .

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// Environment of a chaos child process. Only the children read it.
const (
	chaosRoleEnv = "METATRACK_CHAOS_ROLE" // mixed, deferred, migcrash, migopen or clock
	chaosDBEnv   = "METATRACK_CHAOS_DB"   // the database file
	chaosDirEnv  = "METATRACK_CHAOS_DIR"  // the child's scratch folder
	chaosIDEnv   = "METATRACK_CHAOS_ID"   // the child's number
	chaosTxsEnv  = "METATRACK_CHAOS_TXS"  // calls to make; 0: until killed
	chaosArgEnv  = "METATRACK_CHAOS_ARG"  // what else the role needs
)

// Sizes of the crash test.
const (
	crashKillsQuick = 30
	crashKillsSoak  = 500
	crashMinDelay   = 5 * time.Millisecond
	crashMaxDelay   = 80 * time.Millisecond
)

// chaosRecord is one line a chaos child prints: one acknowledged write, or
// the child's closing summary.
type chaosRecord struct {
	// Kind is create, tag, metadata, counter, edge or artifact for a write;
	// done for the summary.
	Kind string `json:"kind"`
	Proc int    `json:"proc"`
	// Seq is the number of the call in its process.
	Seq int `json:"seq"`
	// Res is the resource written to: the new one for a create, the
	// destination of an edge.
	Res string `json:"res,omitempty"`
	// Src is the source of an edge.
	Src string `json:"src,omitempty"`
	// Type, Name and Version describe a created resource.
	Type    string `json:"type,omitempty"`
	Name    string `json:"name,omitempty"`
	Version int    `json:"version,omitempty"`
	// Key is the tag or metadata key, the edge relation or the artifact
	// name.
	Key string `json:"key,omitempty"`
	// Value is the tag value, the metadata JSON, the counter value written,
	// the artifact's hex SHA-256, or a created resource's creation time.
	Value string `json:"value,omitempty"`
	Size  int64  `json:"size,omitempty"`

	// Summary of a done record.
	Txs     int     `json:"txs,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	// LatUS holds the latency of every call, in microseconds, by kind, so
	// that the parent computes exact percentiles over all processes (those
	// of the processes cannot be combined); P50US and P99US are the
	// process's own.
	LatUS map[string][]int32 `json:"lat_us,omitempty"`
	P50US int32              `json:"p50_us,omitempty"`
	P99US int32              `json:"p99_us,omitempty"`
	// Busy counts calls that failed with SQLITE_BUSY, BusySnapshot those of
	// them with the extended code SQLITE_BUSY_SNAPSHOT; Counter the
	// increments that committed (writers_test.go's deferred role).
	Busy         int `json:"busy,omitempty"`
	BusySnapshot int `json:"busy_snapshot,omitempty"`
	Counter      int `json:"counter,omitempty"`
}

// TestChaosHelper is the entry point of the chaos child processes; run
// normally, it does nothing.
func TestChaosHelper(t *testing.T) {
	role := os.Getenv(chaosRoleEnv)
	if role == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// Unbuffered: each record is one write(2) of less than a pipe buffer,
	// so a killed child's acknowledgements are whole and not lost with it.
	enc := json.NewEncoder(os.Stdout)
	var err error
	switch role {
	case "mixed":
		err = chaosMixed(ctx, enc)
	case "deferred":
		err = chaosDeferred(ctx, enc)
	case "migcrash":
		err = migCrashChild(ctx)
	case "migopen":
		err = migOpenChild(ctx, enc)
	case "clock":
		err = clockChild(ctx, enc)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos child %s %s: %v\n", role, os.Getenv(chaosIDEnv), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// chaosGroup is a procGroup whose children's records are decoded as they
// arrive, so that the parent can act on what was acknowledged so far.
type chaosGroup struct {
	*procGroup
	mu   sync.Mutex
	recs []chaosRecord
	bad  []string // lines that are not records
}

// chaosStart starts n children of role, each with the environment env(i)
// added, and leaves them waiting at process_test.go's barrier.
func chaosStart(tb testing.TB, ctx context.Context, n int, role string, env func(i int) []string) *chaosGroup {
	tb.Helper()
	gateR, gateW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	g := &chaosGroup{procGroup: &procGroup{gate: gateW, ready: readyR}}
	tb.Cleanup(func() {
		g.gate.Close()
		g.ready.Close()
		for _, c := range g.children {
			if c.cmd.ProcessState == nil {
				c.cmd.Process.Kill()
				c.cmd.Wait()
			}
		}
	})
	for i := range n {
		c := &procChild{id: i}
		c.cmd = exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChaosHelper$")
		c.cmd.Env = append(os.Environ(), chaosRoleEnv+"="+role, chaosIDEnv+"="+strconv.Itoa(i))
		c.cmd.Env = append(c.cmd.Env, env(i)...)
		c.cmd.Stdout = &chaosLines{g: g}
		c.cmd.Stderr = &c.stderr
		c.cmd.ExtraFiles = []*os.File{gateR, readyW} // descriptors 3 and 4
		if err := c.cmd.Start(); err != nil {
			tb.Fatalf("start child %d: %v", i, err)
		}
		g.children = append(g.children, c)
	}
	gateR.Close()
	readyW.Close()
	return g
}

// snapshot returns the records decoded so far.
func (g *chaosGroup) snapshot() []chaosRecord {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.recs)
}

// checkLines fails tb if a child printed a line that is not a record.
func (g *chaosGroup) checkLines(tb testing.TB) {
	tb.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.bad {
		tb.Errorf("a child printed a line that is not a record: %q", l)
	}
}

// chaosLines decodes one child's standard output line by line. A last line
// without its newline (a child killed while printing) is never decoded.
type chaosLines struct {
	g   *chaosGroup
	buf []byte
}

func (w *chaosLines) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		var r chaosRecord
		err := json.Unmarshal(w.buf[:i], &r)
		w.g.mu.Lock()
		if err != nil {
			w.g.bad = append(w.g.bad, string(w.buf[:i]))
		} else {
			w.g.recs = append(w.g.recs, r)
		}
		w.g.mu.Unlock()
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// chaosNewFile creates a database file with its schema, as the children
// find it: they open it before their barrier, so that they race on writes.
func chaosNewFile(tb testing.TB, ctx context.Context, path string) {
	tb.Helper()
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		tb.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		tb.Fatal(err)
	}
}

// chaosConn opens a plain connection to the file (one, so that what it
// reads is one view), which the caller closes.
func chaosConn(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	conn, err := sql.Open("sqlite", sqlite.DSN(path, sqlite.Options{}, false))
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	return conn
}

// chaosErrs limits how many individual failures a check reports.
type chaosErrs struct {
	tb testing.TB
	n  int
}

func (e *chaosErrs) errorf(format string, args ...any) {
	e.tb.Helper()
	e.n++
	if e.n <= 20 {
		e.tb.Errorf(format, args...)
	}
}

func (e *chaosErrs) done(what string) {
	e.tb.Helper()
	if e.n > 20 {
		e.tb.Errorf("%s: %d failures in all, the first 20 shown", what, e.n)
	}
}

// chaosCheck checks that every acknowledged write in recs is in the database
// behind tr, each artifact read back through the verifying reader. conn, a
// plain connection to the same file, answers for the edges, which the API
// reads only through graph walks.
func chaosCheck(tb testing.TB, ctx context.Context, tr *metatrack.Tracker, conn *sql.DB, recs []chaosRecord) {
	tb.Helper()
	e := &chaosErrs{tb: tb}
	for _, r := range recs {
		where := fmt.Sprintf("process %d, call %d", r.Proc, r.Seq)
		res := metatrack.Resource{ID: r.Res}
		switch r.Kind {
		case "create":
			got, err := tr.GetResource(ctx, r.Res, "")
			if err != nil || got.Type != r.Type || got.Name != r.Name || got.Version != r.Version {
				e.errorf("%s: created %s %s@%d (%s) reads back as %s@%d, %v", where, r.Type, r.Name, r.Version, r.Res, got.Ref(), got.Version, err)
			}
		case "tag", "counter":
			if got, err := tr.GetTag(ctx, res, r.Key); err != nil || got != r.Value {
				e.errorf("%s: tag %s of %s = %q, %v; acknowledged %q", where, r.Key, r.Res, got, err, r.Value)
			}
		case "metadata":
			got, err := tr.GetMetadataJSON(ctx, res, r.Key)
			if err != nil || !procJSONEqual(got, []byte(r.Value)) {
				e.errorf("%s: metadata %s of %s = %s, %v; acknowledged %s", where, r.Key, r.Res, got, err, r.Value)
			}
		case "edge":
			var n int
			err := conn.QueryRowContext(ctx, `SELECT count(*) FROM edges e
				JOIN resources s ON s.seq = e.src_seq JOIN resources d ON d.seq = e.dst_seq
				WHERE s.id = ? AND e.relation = ? AND d.id = ?`, r.Src, r.Key, r.Res).Scan(&n)
			if err != nil || n != 1 {
				e.errorf("%s: edge %s -%s-> %s stored %d times, %v", where, r.Src, r.Key, r.Res, n, err)
			}
		case "artifact":
			sum, size, err := chaosReadArtifact(ctx, tr, res, r.Key)
			if err != nil || sum != r.Value || size != r.Size {
				e.errorf("%s: artifact %s of %s read back %d bytes with SHA-256 %s, %v; acknowledged %d bytes, %s",
					where, r.Key, r.Res, size, sum, err, r.Size, r.Value)
			}
		case "done":
		default:
			e.errorf("%s: unknown record kind %q", where, r.Kind)
		}
	}
	e.done("acknowledged writes")
}

// chaosReadArtifact reads artifact name of res through the verifying
// reader and returns the SHA-256 of what it read.
func chaosReadArtifact(ctx context.Context, tr *metatrack.Tracker, res metatrack.Resource, name string) (string, int64, error) {
	a, rc, err := tr.GetArtifact(ctx, res, name)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	sum := hex.EncodeToString(h.Sum(nil))
	if err == nil && (sum != a.SHA256 || n != a.Size) {
		err = fmt.Errorf("the record says %d bytes with SHA-256 %s", a.Size, a.SHA256)
	}
	return sum, n, err
}

// chaosInvariants checks what must hold of the whole file whatever was
// acknowledged: every chain is numbered 1..N, N at least the acknowledged
// creates of the chain and at most slack more (any number more with slack
// negative: a backup holds writes acknowledged after it began); no version
// number, and no counter value, was acknowledged twice; the counter the
// writers increment in Batch lost no increment; and artifact storage is
// whole: no record points to a staged blob or to other bytes, every
// finished blob has all its chunks, no chunk is orphaned.
func chaosInvariants(tb testing.TB, ctx context.Context, conn *sql.DB, recs []chaosRecord, slack int) {
	tb.Helper()
	e := &chaosErrs{tb: tb}
	acked := map[string]map[int]int{} // type/name -> version -> process
	var counters []int64
	for _, r := range recs {
		switch r.Kind {
		case "create":
			chain := r.Type + "/" + r.Name
			if acked[chain] == nil {
				acked[chain] = map[int]int{}
			}
			if p, dup := acked[chain][r.Version]; dup {
				e.errorf("%s@%d acknowledged to processes %d and %d", chain, r.Version, p, r.Proc)
			}
			acked[chain][r.Version] = r.Proc
		case "counter":
			v, err := strconv.ParseInt(r.Value, 10, 64)
			if err != nil {
				e.errorf("counter record %+v: %v", r, err)
			}
			counters = append(counters, v)
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT type, name, count(*), min(version), max(version)
		FROM resources WHERE version IS NOT NULL GROUP BY type, name`)
	if err != nil {
		tb.Fatal(err)
	}
	stored := map[string]int{}
	for rows.Next() {
		var typ, name string
		var n, lo, hi int
		if err := rows.Scan(&typ, &name, &n, &lo, &hi); err != nil {
			tb.Fatal(err)
		}
		chain := typ + "/" + name
		stored[chain] = n
		if lo != 1 || hi != n {
			e.errorf("chain %s holds %d versions numbered %d..%d: not 1..%d", chain, n, lo, hi, n)
		}
	}
	if err := rows.Close(); err != nil {
		tb.Fatal(err)
	}
	for chain, vs := range acked {
		n := stored[chain]
		if n < len(vs) || (slack >= 0 && n > len(vs)+slack) {
			e.errorf("chain %s holds %d versions, %d were acknowledged (%d more allowed)", chain, n, len(vs), slack)
		}
	}

	if len(counters) > 0 {
		slices.Sort(counters)
		for i := 1; i < len(counters); i++ {
			if counters[i] == counters[i-1] {
				e.errorf("counter value %d acknowledged twice: a lost increment", counters[i])
			}
		}
		var final, changes int64
		err := conn.QueryRowContext(ctx, `SELECT CAST(m.value AS INTEGER),
			(SELECT count(*) FROM history h WHERE h.resource_seq = r.seq AND h.kind = 'metadata' AND h.key = m.key)
			FROM metadata m JOIN resources r ON r.seq = m.resource_seq
			WHERE r.type = 'dataset' AND r.name = ? AND r.parent_seq IS NULL AND m.key = ?`,
			chaosSharedChain, chaosCounterKey).Scan(&final, &changes)
		if err != nil {
			tb.Fatalf("read the counter: %v", err)
		}
		hi := counters[len(counters)-1]
		if final < hi || final < int64(len(counters)) || (slack >= 0 && final > int64(len(counters)+slack)) {
			e.errorf("counter = %d; %d increments were acknowledged, the highest %d (%d more allowed)", final, len(counters), hi, slack)
		}
		if changes != final {
			e.errorf("history records %d counter changes, the counter is %d", changes, final)
		}
	}

	for _, c := range []struct{ what, query string }{
		{"artifact records point to a staged blob or to other bytes", `SELECT count(*) FROM artifacts a
			LEFT JOIN blobs b ON b.seq = a.blob_seq
			WHERE a.uri = '' AND (b.seq IS NULL OR b.sha256 IS NULL OR b.sha256 != a.sha256 OR b.size != a.size)`},
		{"finished blobs miss chunks", `SELECT count(*) FROM blobs b WHERE b.sha256 IS NOT NULL AND (
			(SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq) != (b.size + b.chunk_size - 1) / b.chunk_size OR
			(SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c WHERE c.blob_seq = b.seq) != b.size)`},
		{"chunks belong to no blob", `SELECT count(*) FROM blob_chunks WHERE blob_seq NOT IN (SELECT seq FROM blobs)`},
	} {
		var n int
		if err := conn.QueryRowContext(ctx, c.query).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n != 0 {
			e.errorf("%d %s", n, c.what)
		}
	}
	e.done("invariants")
}

// chaosDurations summarises durations: median, 99th percentile, maximum.
func chaosDurations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("p50 %v, p99 %v, max %v (%d samples)", at(0.5).Round(10*time.Microsecond),
		at(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond), len(s))
}

// TestCrashKilledDuringWrites kills a mixed writer (see chaosMixed) with
// SIGKILL at a random moment, 5 to 80 ms after it starts writing, again and
// again on one file. After each kill the parent reopens the file (timing
// it) and checks: PRAGMA integrity_check and foreign_key_check find
// nothing; every write the killed process acknowledged is there; every
// artifact record written since the last kill, acknowledged or not, reads
// back whole with its hash verified; no record points to a staged blob;
// every chain is numbered 1..N with at most one unacknowledged version per
// kill; the counter incremented in Batch lost nothing. At the end every
// write acknowledged over all kills is checked once more.
func TestCrashKilledDuringWrites(t *testing.T) {
	kills := crashKillsQuick
	if procSoak() {
		kills = crashKillsSoak
	}
	ctx := procContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.db")
	chaosNewFile(t, ctx, path)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)

	var (
		all        []chaosRecord
		reopens    []time.Duration
		lastArt    int64 // artifacts up to this seq have been read back
		readBack   int
		staged     int
		acksByKill []int
	)
	start := time.Now()
	for k := range kills {
		g := chaosStart(t, ctx, 1, "mixed", func(int) []string {
			return []string{chaosDBEnv + "=" + path, chaosDirEnv + "=" + filepath.Join(dir, "scratch"),
				chaosTxsEnv + "=0", chaosIDEnv + "=" + strconv.Itoa(k)}
		})
		g.waitReady(t)
		delay := crashMinDelay + time.Duration(rng.Int64N(int64(crashMaxDelay-crashMinDelay)))
		g.release()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		g.children[0].kill()
		g.wait(t)
		g.checkLines(t)
		if t.Failed() {
			t.FailNow()
		}
		recs := g.snapshot()
		all = append(all, recs...)
		acksByKill = append(acksByKill, len(recs))

		t0 := time.Now()
		tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
		reopens = append(reopens, time.Since(t0))
		if err != nil {
			t.Fatalf("kill %d (after %v, %d writes acknowledged): reopen: %v", k, delay, len(recs), err)
		}
		conn := chaosConn(t, path)
		procIntegrity(t, conn)
		chaosCheck(t, ctx, tr, conn, recs)
		chaosInvariants(t, ctx, conn, all, k+1)
		// Every artifact recorded since the last kill, acknowledged or not.
		rows, err := conn.QueryContext(ctx, `SELECT a.seq, r.id, a.name FROM artifacts a
			JOIN resources r ON r.seq = a.resource_seq WHERE a.seq > ? ORDER BY a.seq`, lastArt)
		if err != nil {
			t.Fatal(err)
		}
		type art struct {
			seq       int64
			res, name string
		}
		var arts []art
		for rows.Next() {
			var a art
			if err := rows.Scan(&a.seq, &a.res, &a.name); err != nil {
				t.Fatal(err)
			}
			arts = append(arts, a)
		}
		rows.Close()
		for _, a := range arts {
			if _, _, err := chaosReadArtifact(ctx, tr, metatrack.Resource{ID: a.res}, a.name); err != nil {
				t.Errorf("kill %d: artifact %s of %s: %v", k, a.name, a.res, err)
			}
			lastArt = a.seq
			readBack++
		}
		staged = int(procCount(t, conn, `SELECT count(*) FROM blobs WHERE sha256 IS NULL`))
		conn.Close()
		if err := tr.Close(); err != nil {
			t.Fatalf("kill %d: close: %v", k, err)
		}
		if t.Failed() {
			t.Fatalf("kill %d after %v failed the checks", k, delay)
		}
	}
	elapsed := time.Since(start)

	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	conn := chaosConn(t, path)
	defer conn.Close()
	chaosCheck(t, ctx, tr, conn, all)
	chaosInvariants(t, ctx, conn, all, kills)
	procIntegrity(t, conn)

	slices.Sort(acksByKill)
	t.Logf("%d kills in %v: %d writes acknowledged (per kill: min %d, median %d, max %d), %d artifacts read back, %d staged blobs left by killed processes",
		kills, elapsed.Round(time.Millisecond), len(all), acksByKill[0], acksByKill[len(acksByKill)/2], acksByKill[len(acksByKill)-1], readBack, staged)
	t.Logf("reopen after SIGKILL: %s", chaosDurations(reopens))
}
