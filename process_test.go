//go:build unix

package metatrack_test

// Multi-process tests: real OS processes, released together at a barrier,
// open one brand-new database file and write to it at once; the parent then
// checks that every write a child saw acknowledged is in the file.
//
// The children are this test binary run again with -test.run selecting
// TestProcessHelper and METATRACK_TEST_ROLE naming what to do, so they
// run exactly the library code under test and nothing has to be built.
//
// The default size keeps `go test ./...` to a few seconds. The soak size
// (8 processes x 5000 iterations, and 50 rounds of concurrent first opens):
//
//	METATRACK_SOAK=1 go test -run 'TestProcess' -timeout 60m -v .

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// Environment of a child process. Only the children read it.
const (
	procRoleEnv  = "METATRACK_TEST_ROLE"  // writer, opener, reader or bigartifact
	procDBEnv    = "METATRACK_TEST_DB"    // the database file
	procDirEnv   = "METATRACK_TEST_DIR"   // the child's scratch folder
	procIDEnv    = "METATRACK_TEST_ID"    // the child's number
	procItersEnv = "METATRACK_TEST_ITERS" // writer iterations
	procSizeEnv  = "METATRACK_TEST_SIZE"  // bigartifact file size in bytes
	// procBigEveryEnv makes a writer log a procMediumSize artifact of its own
	// every so many iterations.
	procBigEveryEnv = "METATRACK_TEST_BIG_EVERY"
)

// What the writers do, and how much.
const (
	procSharedChain = "shared"     // the dataset_version chain every writer appends to
	procCounterKey  = "counter"    // metadata on the shared dataset, incremented in Batch
	procSharedName  = "shared.bin" // an artifact whose bytes every writer also logs
	procOwnName     = "own.bin"    // an artifact with bytes of its own
	procMediumName  = "medium.bin" // a multi-transaction artifact, same bytes everywhere
	procMediumSize  = 17<<20 + 5   // > chunksPerTx chunks: staged over several transactions
	procSharedKinds = 5            // distinct contents of shared.bin
	procSharedBase  = 1024         // size of the smallest shared.bin
	procSharedStep  = 700          // size step between shared.bin contents
	procRoundsSoak  = 50           // opener rounds with METATRACK_SOAK=1
	procRoundsQuick = 3            // opener rounds by default
	procNumProcs    = 8            // processes in every test
	procItersQuick  = 50           // writer iterations by default
	procItersSoak   = 5000         // writer iterations with METATRACK_SOAK=1
	procSoakEnv     = "METATRACK_SOAK"
	procKillAfter   = time.Second // how long the killed writers run
	procBigEvery    = 5           // killed writers log a big artifact of their own this often
)

// procSoak reports whether the soak size was asked for.
func procSoak() bool { return os.Getenv(procSoakEnv) == "1" }

// procRecord is one line a child prints: one acknowledged write, or the
// child's closing summary.
type procRecord struct {
	// Kind is create, tag, metadata, counter, artifact, opened or done.
	Kind string `json:"kind"`
	Proc int    `json:"proc"`
	Iter int    `json:"iter"`
	// Res is the id of the resource written to (of the new resource for a
	// create).
	Res     string `json:"res,omitempty"`
	Chain   string `json:"chain,omitempty"`
	Version int    `json:"version,omitempty"`
	Key     string `json:"key,omitempty"`
	// Value is the tag value, the metadata JSON, the counter value written,
	// or the artifact's hex SHA-256.
	Value string `json:"value,omitempty"`
	Size  int64  `json:"size,omitempty"`
	// Summary of a done record.
	Writes  int     `json:"writes,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	CloseMS float64 `json:"close_ms,omitempty"`
}

// TestProcessHelper is the entry point of the child processes; run
// normally, it does nothing.
func TestProcessHelper(t *testing.T) {
	role := os.Getenv(procRoleEnv)
	if role == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// Unbuffered: each record is one write, so a killed child's
	// acknowledgements are not lost with it.
	enc := json.NewEncoder(os.Stdout)
	var err error
	switch role {
	case "writer":
		err = procWriter(ctx, enc)
	case "opener":
		err = procOpener(ctx, enc)
	case "bigartifact":
		err = bigArtifactChild(ctx, enc)
	case "backup":
		err = backupChild(ctx, enc)
	case "importmem":
		err = importMemChild(ctx, enc)
	case "reader":
		err = procReader(ctx, enc)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "child %s %s: %v\n", role, os.Getenv(procIDEnv), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// procBarrier tells the parent this child is ready (a byte on descriptor
// 4) and waits until the parent closes the other end of descriptor 3.
func procBarrier() error {
	ready := os.NewFile(4, "ready")
	if _, err := ready.Write([]byte{1}); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	ready.Close()
	gate := os.NewFile(3, "gate")
	defer gate.Close()
	if _, err := io.Copy(io.Discard, gate); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	return nil
}

func procEnvInt(name string) (int, error) {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

// procWriter is the writer child: see TestProcessConcurrentWriters.
func procWriter(ctx context.Context, enc *json.Encoder) (err error) {
	id, err := procEnvInt(procIDEnv)
	if err != nil {
		return err
	}
	iters, err := procEnvInt(procItersEnv)
	if err != nil {
		return err
	}
	bigEvery := 0
	if os.Getenv(procBigEveryEnv) != "" {
		if bigEvery, err = procEnvInt(procBigEveryEnv); err != nil {
			return err
		}
	}
	path, scratch := os.Getenv(procDBEnv), os.Getenv(procDirEnv)
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	// Prepare the files before the barrier, so the processes race on the
	// database and not on the generator.
	shared := make([]string, procSharedKinds)
	sharedSum := make([]string, procSharedKinds)
	for k := range shared {
		shared[k] = filepath.Join(scratch, fmt.Sprintf("shared-%d.bin", k))
		if sharedSum[k], err = procWriteRandom(shared[k], fmt.Sprintf("shared-%d", k), int64(procSharedBase+k*procSharedStep)); err != nil {
			return err
		}
	}
	medium := filepath.Join(scratch, procMediumName)
	mediumSum, err := procWriteRandom(medium, "medium", procMediumSize)
	if err != nil {
		return err
	}

	if err := procBarrier(); err != nil {
		return err
	}
	start := time.Now()
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName(fmt.Sprintf("writer-%d", id)))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer func() {
		if tr != nil {
			tr.Close()
		}
	}()
	writes := 0
	emit := func(r procRecord) error {
		r.Proc = id
		writes++
		return enc.Encode(r)
	}
	own := fmt.Sprintf("own-%d", id)
	for i := range iters {
		sv, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, procSharedChain)
		if err != nil {
			return fmt.Errorf("iteration %d: create shared version: %w", i, err)
		}
		if err := emit(procRecord{Kind: "create", Iter: i, Res: sv.ID, Chain: procSharedChain, Version: sv.Version}); err != nil {
			return err
		}
		ov, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, own)
		if err != nil {
			return fmt.Errorf("iteration %d: create own version: %w", i, err)
		}
		if err := emit(procRecord{Kind: "create", Iter: i, Res: ov.ID, Chain: own, Version: ov.Version}); err != nil {
			return err
		}

		tag := fmt.Sprintf("%d/%d", id, i)
		if err := tr.LogTag(ctx, sv, "writer", tag); err != nil {
			return fmt.Errorf("iteration %d: tag: %w", i, err)
		}
		if err := emit(procRecord{Kind: "tag", Iter: i, Res: sv.ID, Key: "writer", Value: tag}); err != nil {
			return err
		}

		step := map[string]any{"proc": id, "iter": i, "loss": 1 / float64(i+1), "note": "écrit"}
		if err := tr.LogMetadata(ctx, ov, "step", step); err != nil {
			return fmt.Errorf("iteration %d: metadata: %w", i, err)
		}
		stepJSON, err := json.Marshal(step)
		if err != nil {
			return err
		}
		if err := emit(procRecord{Kind: "metadata", Iter: i, Res: ov.ID, Key: "step", Value: string(stepJSON)}); err != nil {
			return err
		}

		// Read-then-write: without Batch's one transaction two processes
		// could read the same value and lose an increment.
		head := metatrack.Resource{ID: sv.ParentID}
		var next int64
		err = tr.Batch(ctx, func(tx *metatrack.Tracker) error {
			var cur int64
			v, err := tx.GetMetadata(ctx, head, procCounterKey)
			switch {
			case errors.Is(err, metatrack.ErrNotFound):
			case err != nil:
				return err
			default:
				n, ok := v.(int64)
				if !ok {
					return fmt.Errorf("counter is %T %v, not int64", v, v)
				}
				cur = n
			}
			next = cur + 1
			if err := tx.LogMetadata(ctx, head, procCounterKey, next); err != nil {
				return err
			}
			return tx.LogTag(ctx, ov, procCounterKey, strconv.FormatInt(next, 10))
		})
		if err != nil {
			return fmt.Errorf("iteration %d: counter batch: %w", i, err)
		}
		if err := emit(procRecord{Kind: "counter", Iter: i, Res: ov.ID, Key: procCounterKey, Value: strconv.FormatInt(next, 10)}); err != nil {
			return err
		}

		// The same bytes from every process: dedup under concurrency.
		k := i % procSharedKinds
		a, err := tr.LogArtifact(ctx, ov, procSharedName, shared[k])
		if err != nil {
			return fmt.Errorf("iteration %d: shared artifact: %w", i, err)
		}
		if a.SHA256 != sharedSum[k] {
			return fmt.Errorf("iteration %d: shared artifact recorded SHA-256 %s, the file has %s", i, a.SHA256, sharedSum[k])
		}
		if err := emit(procRecord{Kind: "artifact", Iter: i, Res: ov.ID, Key: procSharedName, Value: a.SHA256, Size: a.Size}); err != nil {
			return err
		}
		// Bytes of its own.
		ownPath := filepath.Join(scratch, procOwnName)
		ownSum, err := procWriteRandom(ownPath, fmt.Sprintf("own-%d-%d", id, i), int64(1+i%4096))
		if err != nil {
			return err
		}
		if a, err = tr.LogArtifact(ctx, ov, procOwnName, ownPath); err != nil {
			return fmt.Errorf("iteration %d: own artifact: %w", i, err)
		}
		if a.SHA256 != ownSum {
			return fmt.Errorf("iteration %d: own artifact recorded SHA-256 %s, the file has %s", i, a.SHA256, ownSum)
		}
		if err := emit(procRecord{Kind: "artifact", Iter: i, Res: ov.ID, Key: procOwnName, Value: a.SHA256, Size: a.Size}); err != nil {
			return err
		}
		// Once per run, at the same iteration everywhere: a file staged
		// over several transactions by all processes at once.
		if i == iters/2 {
			if a, err = tr.LogArtifact(ctx, ov, procMediumName, medium); err != nil {
				return fmt.Errorf("iteration %d: medium artifact: %w", i, err)
			}
			if a.SHA256 != mediumSum {
				return fmt.Errorf("iteration %d: medium artifact recorded SHA-256 %s, the file has %s", i, a.SHA256, mediumSum)
			}
			if err := emit(procRecord{Kind: "artifact", Iter: i, Res: ov.ID, Key: procMediumName, Value: a.SHA256, Size: a.Size}); err != nil {
				return err
			}
		}
		// Big bytes of its own, staged over several transactions.
		if bigEvery > 0 && i%bigEvery == bigEvery-1 {
			bigPath := filepath.Join(scratch, "big-own.bin")
			sum, err := procWriteRandom(bigPath, fmt.Sprintf("big-own-%d-%d", id, i), procMediumSize)
			if err != nil {
				return err
			}
			if a, err = tr.LogArtifact(ctx, ov, "big-own.bin", bigPath); err != nil {
				return fmt.Errorf("iteration %d: big artifact: %w", i, err)
			}
			if a.SHA256 != sum {
				return fmt.Errorf("iteration %d: big artifact recorded SHA-256 %s, the file has %s", i, a.SHA256, sum)
			}
			if err := emit(procRecord{Kind: "artifact", Iter: i, Res: ov.ID, Key: "big-own.bin", Value: a.SHA256, Size: a.Size}); err != nil {
				return err
			}
		}
	}
	elapsed := time.Since(start)
	closeStart := time.Now()
	err = tr.Close()
	tr = nil
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return enc.Encode(procRecord{Kind: "done", Proc: id, Writes: writes, Seconds: elapsed.Seconds(),
		CloseMS: float64(time.Since(closeStart).Microseconds()) / 1000})
}

// procOpener is the opener child: see TestProcessOpenNewFile.
func procOpener(ctx context.Context, enc *json.Encoder) error {
	id, err := procEnvInt(procIDEnv)
	if err != nil {
		return err
	}
	if err := procBarrier(); err != nil {
		return err
	}
	var opts []metatrack.Option
	if id%2 == 1 {
		opts = append(opts, metatrack.WithoutRun())
	}
	tr, err := metatrack.Open(ctx, os.Getenv(procDBEnv), opts...)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	v, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "opened")
	if err != nil {
		tr.Close()
		return fmt.Errorf("create: %w", err)
	}
	if err := tr.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return enc.Encode(procRecord{Kind: "opened", Proc: id, Res: v.ID, Chain: "opened", Version: v.Version})
}

// procWriteRandom writes size pseudo-random bytes determined by seed to
// path, streaming, and returns their hex SHA-256.
func procWriteRandom(path, seed string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	_, err = io.CopyN(w, rand.NewChaCha8(sha256.Sum256([]byte(seed))), size)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// procChild is one started child process.
type procChild struct {
	id     int
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	killed bool // by the parent, on purpose
}

// kill kills the child with SIGKILL: no deferred call or Close runs.
func (c *procChild) kill() {
	c.killed = true
	c.cmd.Process.Kill()
}

// procGroup is a set of children held at a barrier until release.
type procGroup struct {
	children []*procChild
	gate     *os.File // closing it releases the children
	ready    *os.File // each child writes one byte when it waits at the gate
}

// procStart starts n children of role, each with the environment env(i)
// added, and leaves them waiting at the barrier.
func procStart(tb testing.TB, ctx context.Context, n int, role string, env func(i int) []string) *procGroup {
	tb.Helper()
	gateR, gateW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	g := &procGroup{gate: gateW, ready: readyR}
	tb.Cleanup(func() {
		// Normally already done by release and wait; this covers a failed
		// start, so that no child is left behind.
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
		c.cmd = exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProcessHelper$")
		c.cmd.Env = append(os.Environ(), procRoleEnv+"="+role, procIDEnv+"="+strconv.Itoa(i))
		c.cmd.Env = append(c.cmd.Env, env(i)...)
		c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
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

// waitReady returns once every child waits at the barrier.
func (g *procGroup) waitReady(tb testing.TB) {
	tb.Helper()
	buf := make([]byte, len(g.children))
	if _, err := io.ReadFull(g.ready, buf); err != nil {
		tb.Fatalf("children did not reach the barrier: %v\n%s", err, g.stderrs())
	}
}

// release lets every child go at once.
func (g *procGroup) release() { g.gate.Close() }

// wait waits for every child and fails tb for each that failed, with what
// it printed on stderr.
func (g *procGroup) wait(tb testing.TB) {
	tb.Helper()
	for _, c := range g.children {
		err := c.cmd.Wait()
		var exit *exec.ExitError
		if c.killed && errors.As(err, &exit) && c.stderr.Len() == 0 {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				continue
			}
		}
		if err != nil || c.killed {
			tb.Errorf("child %d (killed by the test: %v): %v\nstderr:\n%s", c.id, c.killed, err, c.stderr.String())
		}
	}
}

func (g *procGroup) stderrs() string {
	var b strings.Builder
	for _, c := range g.children {
		if c.stderr.Len() > 0 {
			fmt.Fprintf(&b, "child %d: %s\n", c.id, c.stderr.String())
		}
	}
	return b.String()
}

// records decodes the lines every child printed.
func (g *procGroup) records(tb testing.TB) []procRecord {
	tb.Helper()
	var out []procRecord
	for _, c := range g.children {
		d := json.NewDecoder(&c.stdout)
		for {
			var r procRecord
			err := d.Decode(&r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				tb.Fatalf("child %d printed a line that is not a record: %v", c.id, err)
			}
			out = append(out, r)
		}
	}
	return out
}

// procContext returns a context that ends a little before the test's
// deadline, so that hung children are killed while the test can still
// report them.
func procContext(t *testing.T) context.Context {
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-15*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// procSQL opens the database file directly, without the library, for the
// checks that look at tables. It holds one connection, so that PRAGMA
// data_version compares between calls.
func procSQL(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	conn, err := sql.Open("sqlite", sqlite.DSN(path, sqlite.Options{}, false))
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func procCount(tb testing.TB, conn *sql.DB, query string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := conn.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// procIntegrity fails tb unless PRAGMA integrity_check and
// foreign_key_check find nothing.
func procIntegrity(tb testing.TB, conn *sql.DB) {
	tb.Helper()
	var res string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		tb.Fatal(err)
	}
	if res != "ok" {
		tb.Errorf("integrity_check: %s", res)
	}
	rows, err := conn.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			tb.Fatal(err)
		}
		tb.Errorf("foreign_key_check: %s row %v points to a missing %s", table, rowid.Int64, parent)
	}
}

// TestProcessConcurrentWriters starts procNumProcs processes at one
// barrier on a database file that does not exist yet. Each opens it and, in
// a loop, appends a version to the shared dataset_version chain and one to
// its own chain, tags the shared one, logs metadata on its own, increments
// a counter on the shared dataset by read-then-write inside Batch, and logs
// two small artifacts (one whose bytes every process logs too, one of its
// own); once, at the same iteration everywhere, a 17 MiB artifact with the
// same bytes in every process, which each stages over several transactions.
// Each child prints every acknowledged write. Then the parent checks that
// no child failed, that every acknowledged write is in the file with its
// value, that the shared chain is numbered 1..N without gap or repeat for
// its N acknowledged creates, that the counter lost no increment, that every
// artifact reads back with its hash verified and equal bytes are stored
// once, that no staged blob or orphan chunk is left, that every run ended
// FINISHED, that the last Close left no WAL behind, and that PRAGMA
// integrity_check is ok.
func TestProcessConcurrentWriters(t *testing.T) {
	procRunWriters(t, 0)
}

// TestProcessKilledWriters is TestProcessConcurrentWriters with half the
// processes killed (SIGKILL) procKillAfter after the release, in the middle
// of their writes; each of them also logs a 17 MiB artifact of its own every
// procBigEvery iterations, so that some die while staging one. The others
// finish. The parent checks the same, allowing each killed process one
// committed write it did not live to acknowledge, and checks that what a
// killed process staged is invisible: no artifact points to it.
func TestProcessKilledWriters(t *testing.T) {
	procRunWriters(t, procNumProcs/2)
}

// procRunWriters runs procNumProcs writers, kills the first kill of them
// after procKillAfter, and checks the file.
func procRunWriters(t *testing.T, kill int) {
	iters := procItersQuick
	if procSoak() {
		iters = procItersSoak
	}
	ctx := procContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.db")

	g := procStart(t, ctx, procNumProcs, "writer", func(i int) []string {
		env := []string{procDBEnv + "=" + path, procDirEnv + "=" + filepath.Join(dir, fmt.Sprintf("proc-%d", i))}
		if i < kill {
			return append(env, procItersEnv+"="+strconv.Itoa(math.MaxInt32), procBigEveryEnv+"="+strconv.Itoa(procBigEvery))
		}
		return append(env, procItersEnv+"="+strconv.Itoa(iters))
	})
	g.waitReady(t)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the database file must not exist before the children open it: %v", err)
	}
	start := time.Now()
	g.release()
	if kill > 0 {
		select {
		case <-time.After(procKillAfter):
		case <-ctx.Done():
		}
		for _, c := range g.children[:kill] {
			c.kill()
		}
	}
	g.wait(t)
	elapsed := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	recs := g.records(t)

	// What the children said.
	var (
		writes, dones int
		maxClose      float64
		byKind        = map[string][]procRecord{}
	)
	for _, r := range recs {
		if r.Kind == "done" {
			dones++
			writes += r.Writes
			maxClose = max(maxClose, r.CloseMS)
			continue
		}
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	if dones != procNumProcs-kill {
		t.Fatalf("%d children reported done, want %d", dones, procNumProcs-kill)
	}
	t.Logf("%d processes (%d killed) x %d iterations: %d acknowledged writes in %v (%.0f/s); slowest Close %.1f ms",
		procNumProcs, kill, iters, len(recs)-dones, elapsed.Round(time.Millisecond), float64(len(recs)-dones)/elapsed.Seconds(), maxClose)

	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("after every process closed, %s-wal holds %d bytes: Close promises the file alone holds everything",
			filepath.Base(path), fi.Size())
	}

	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatalf("open for checking: %v", err)
	}
	defer tr.Close()
	conn := procSQL(t, path)

	t.Run("Chains", func(t *testing.T) {
		procCheckChains(t, ctx, tr, byKind["create"], iters, kill)
	})
	t.Run("Tags", func(t *testing.T) {
		for _, r := range byKind["tag"] {
			got, err := tr.GetTag(ctx, metatrack.Resource{ID: r.Res}, r.Key)
			if err != nil || got != r.Value {
				t.Errorf("tag %s of %s (process %d, iteration %d) = %q, %v; acknowledged %q", r.Key, r.Res, r.Proc, r.Iter, got, err, r.Value)
			}
		}
	})
	t.Run("Metadata", func(t *testing.T) {
		for _, r := range byKind["metadata"] {
			raw, err := tr.GetMetadataJSON(ctx, metatrack.Resource{ID: r.Res}, r.Key)
			if err != nil {
				t.Errorf("metadata %s of %s (process %d, iteration %d): %v", r.Key, r.Res, r.Proc, r.Iter, err)
				continue
			}
			if !procJSONEqual(raw, []byte(r.Value)) {
				t.Errorf("metadata %s of %s (process %d, iteration %d) = %s; acknowledged %s", r.Key, r.Res, r.Proc, r.Iter, raw, r.Value)
			}
		}
	})
	t.Run("Counter", func(t *testing.T) {
		procCheckCounter(t, ctx, tr, conn, byKind["counter"], kill)
	})
	t.Run("Artifacts", func(t *testing.T) {
		procCheckArtifacts(t, ctx, tr, conn, byKind["artifact"], kill)
	})
	t.Run("Runs", func(t *testing.T) {
		// A killed process cannot end its run: it stays RUNNING.
		if n := procCount(t, conn, `SELECT count(*) FROM runs WHERE status = ? AND ended_at IS NOT NULL`, metatrack.RunFinished); n != int64(procNumProcs-kill) {
			t.Errorf("%d runs FINISHED, want %d (one per process that closed)", n, procNumProcs-kill)
		}
		// Every process that acknowledged a write had opened the file and
		// has a run; a process killed before its first acknowledgement (a
		// loaded machine may not schedule it within procKillAfter) may or
		// may not have one.
		opened := map[int]bool{}
		for _, r := range recs {
			opened[r.Proc] = true
		}
		if n := procCount(t, conn, `SELECT count(*) FROM runs`); n < int64(len(opened)) || n > procNumProcs {
			t.Errorf("%d runs, want %d to %d (%d processes acknowledged writes)", n, len(opened), procNumProcs, len(opened))
		}
	})
	t.Run("Integrity", func(t *testing.T) {
		procIntegrity(t, conn)
	})
}

// procCheckChains checks every acknowledged create, the shared chain's
// numbering and each process's own chain. Each of the kill killed processes
// may have created one version it did not acknowledge.
func procCheckChains(t *testing.T, ctx context.Context, tr *metatrack.Tracker, creates []procRecord, iters, kill int) {
	acked := map[string][]procRecord{} // chain -> acknowledged creates
	survivors := 0
	for _, r := range creates {
		acked[r.Chain] = append(acked[r.Chain], r)
		if r.Chain == procSharedChain && r.Proc >= kill {
			survivors++
		}
	}
	if want := (procNumProcs - kill) * iters; survivors != want {
		t.Errorf("%d creates acknowledged on the shared chain by the processes that finished, want %d", survivors, want)
	}
	for chain, recs := range acked {
		slack := 0 // versions created but not acknowledged
		switch {
		case chain == procSharedChain:
			slack = kill
		case recs[0].Proc < kill:
			slack = 1
		}
		versions, err := tr.Versions(ctx, metatrack.Resource{Type: metatrack.TypeDataset, Name: chain})
		if err != nil {
			t.Errorf("versions of %s: %v", chain, err)
			continue
		}
		// Unique and gap-free: the stored versions are exactly 1..N, N the
		// number of acknowledged creates (plus those the killed processes
		// made and did not live to acknowledge).
		if len(versions) < len(recs) || len(versions) > len(recs)+slack {
			t.Errorf("chain %s holds %d versions, %d creates were acknowledged (%d more allowed for killed processes)",
				chain, len(versions), len(recs), slack)
		}
		byID := map[string]metatrack.Resource{}
		for i, v := range versions {
			if v.Version != i+1 {
				t.Errorf("chain %s: version #%d is numbered %d", chain, i+1, v.Version)
			}
			byID[v.ID] = v
		}
		seen := map[int]int{} // version -> process that was told it
		for _, r := range recs {
			v, ok := byID[r.Res]
			switch {
			case !ok:
				t.Errorf("chain %s: acknowledged version %d (%s, process %d) is missing", chain, r.Version, r.Res, r.Proc)
			case v.Version != r.Version:
				t.Errorf("chain %s: %s was acknowledged as version %d, stored as %d", chain, r.Res, r.Version, v.Version)
			}
			if p, dup := seen[r.Version]; dup {
				t.Errorf("chain %s: version %d acknowledged to processes %d and %d", chain, r.Version, p, r.Proc)
			}
			seen[r.Version] = r.Proc
		}
	}
}

// procCheckCounter checks that the increments, each made by read-then-write
// in one Batch, wrote 1..N exactly once each (N the final counter: the
// acknowledged increments plus at most one per killed process), and that
// each batch's second write holds what was acknowledged.
func procCheckCounter(t *testing.T, ctx context.Context, tr *metatrack.Tracker, conn *sql.DB, recs []procRecord, kill int) {
	got, err := tr.GetMetadata(ctx, metatrack.Resource{Type: metatrack.TypeDataset, Name: procSharedChain}, procCounterKey)
	final, ok := got.(int64)
	if err != nil || !ok || final < int64(len(recs)) || final > int64(len(recs)+kill) {
		t.Fatalf("counter = %v (%T), %v; want %d acknowledged increments (%d more allowed for killed processes)",
			got, got, err, len(recs), kill)
	}
	seen := map[int64]int{} // value -> process that wrote it
	for _, r := range recs {
		v, err := strconv.ParseInt(r.Value, 10, 64)
		if err != nil {
			t.Fatalf("counter record %+v: %v", r, err)
		}
		if p, dup := seen[v]; dup {
			t.Errorf("counter value %d written by processes %d and %d: a lost increment", v, p, r.Proc)
		}
		seen[v] = r.Proc
		if v < 1 || v > final {
			t.Errorf("counter value %d acknowledged to process %d, outside 1..%d", v, r.Proc, final)
		}
		// The tag written in the same Batch.
		if got, err := tr.GetTag(ctx, metatrack.Resource{ID: r.Res}, procCounterKey); err != nil || got != r.Value {
			t.Errorf("tag %s of %s = %q, %v; the batch that wrote counter %s was acknowledged", procCounterKey, r.Res, got, err, r.Value)
		}
	}
	n := procCount(t, conn, `SELECT count(*) FROM history WHERE kind = 'metadata' AND key = ?`, procCounterKey)
	if n != final {
		t.Errorf("history records %d counter changes, want %d", n, final)
	}
}

// procCheckArtifacts reads every acknowledged artifact back through the
// verifying reader and checks how the bytes are stored: each finished blob
// whole, no orphan chunk, no record pointing to a staged blob, and equal
// bytes stored once. Each killed process may have left one staged blob and
// one artifact it did not acknowledge.
func procCheckArtifacts(t *testing.T, ctx context.Context, tr *metatrack.Tracker, conn *sql.DB, recs []procRecord, kill int) {
	distinct := map[string]int64{} // sha256 -> size
	for _, r := range recs {
		distinct[r.Value] = r.Size
		a, rc, err := tr.GetArtifact(ctx, metatrack.Resource{ID: r.Res}, r.Key)
		if err != nil {
			t.Errorf("artifact %s of %s (process %d, iteration %d): %v", r.Key, r.Res, r.Proc, r.Iter, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		sum := hex.EncodeToString(h.Sum(nil))
		if err != nil || sum != r.Value || a.SHA256 != r.Value || n != r.Size || a.Size != r.Size {
			t.Errorf("artifact %s of %s (process %d, iteration %d): read %d bytes with SHA-256 %s (record %s, %d bytes), err %v; acknowledged %s, %d bytes",
				r.Key, r.Res, r.Proc, r.Iter, n, sum, a.SHA256, a.Size, err, r.Value, r.Size)
		}
	}
	within := func(what string, n int64, want, slack int) {
		t.Helper()
		if n < int64(want) || n > int64(want+slack) {
			t.Errorf("%d %s, want %d (%d more allowed for killed processes)", n, what, want, slack)
		}
	}
	within("finished blobs for the distinct acknowledged contents",
		procCount(t, conn, `SELECT count(*) FROM blobs WHERE sha256 IS NOT NULL`), len(distinct), kill)
	within("artifact records for the acknowledged ones", procCount(t, conn, `SELECT count(*) FROM artifacts`), len(recs), kill)
	staged := procCount(t, conn, `SELECT count(*) FROM blobs WHERE sha256 IS NULL`)
	within("staged blobs left behind", staged, 0, kill)
	if staged > 0 {
		t.Logf("%d staged blobs (%d chunks) left by killed processes: nothing removes them", staged,
			procCount(t, conn, `SELECT count(*) FROM blob_chunks WHERE blob_seq IN (SELECT seq FROM blobs WHERE sha256 IS NULL)`))
	}
	if n := procCount(t, conn, `SELECT count(*) FROM blobs b WHERE b.sha256 IS NOT NULL AND (
		(SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq) != (b.size + b.chunk_size - 1) / b.chunk_size OR
		(SELECT coalesce(sum(length(c.data)), 0) FROM blob_chunks c WHERE c.blob_seq = b.seq) != b.size)`); n != 0 {
		t.Errorf("%d finished blobs do not have all their chunks", n)
	}
	if n := procCount(t, conn, `SELECT count(*) FROM blob_chunks WHERE blob_seq NOT IN (SELECT seq FROM blobs)`); n != 0 {
		t.Errorf("%d chunks of deleted blobs left behind", n)
	}
	if n := procCount(t, conn, `SELECT count(*) FROM artifacts a JOIN blobs b ON b.seq = a.blob_seq
		WHERE b.sha256 IS NULL OR b.sha256 != a.sha256 OR b.size != a.size`); n != 0 {
		t.Errorf("%d artifact records point to a staged blob or one of other bytes", n)
	}
	if kill == 0 {
		var wantChunks int64
		for _, size := range distinct {
			wantChunks += (size + metatrack.ChunkSize - 1) / metatrack.ChunkSize
		}
		if n := procCount(t, conn, `SELECT count(*) FROM blob_chunks`); n != wantChunks {
			t.Errorf("%d chunks stored, want %d for the distinct contents", n, wantChunks)
		}
	}
}

func procJSONEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestProcessOpenNewFile starts procNumProcs processes at one barrier that
// all open the same database file, which does not exist yet, write one
// chain version and close. Every open must succeed, and the schema must end
// at the latest version and clean, read directly from golang-migrate's
// table. It runs a few rounds, each on a new file (50 with METATRACK_SOAK=1).
func TestProcessOpenNewFile(t *testing.T) {
	rounds := procRoundsQuick
	if procSoak() {
		rounds = procRoundsSoak
	}
	latest, err := schema.Latest(schema.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	versions, err := schema.Versions(schema.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	ctx := procContext(t)
	for round := range rounds {
		dir := t.TempDir()
		path := filepath.Join(dir, "new.db")
		g := procStart(t, ctx, procNumProcs, "opener", func(int) []string { return []string{procDBEnv + "=" + path} })
		g.waitReady(t)
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("round %d: the database file must not exist before the children open it: %v", round, err)
		}
		g.release()
		g.wait(t)
		if t.Failed() {
			t.FailNow()
		}
		recs := g.records(t)
		if len(recs) != procNumProcs {
			t.Fatalf("round %d: %d children reported, want %d", round, len(recs), procNumProcs)
		}
		var got []int
		for _, r := range recs {
			got = append(got, r.Version)
		}
		slices.Sort(got)
		for i, v := range got {
			if v != i+1 {
				t.Errorf("round %d: versions acknowledged %v, want 1..%d", round, got, procNumProcs)
				break
			}
		}

		conn, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, `SELECT version, dirty FROM `+schema.MigrationsTable)
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for rows.Next() {
			var v int64
			var dirty bool
			if err := rows.Scan(&v, &dirty); err != nil {
				t.Fatal(err)
			}
			states = append(states, fmt.Sprintf("version %d dirty %v", v, dirty))
		}
		rows.Close()
		if want := fmt.Sprintf("version %d dirty false", latest); len(states) != 1 || states[0] != want {
			t.Errorf("round %d: %s holds %q, want one row %q", round, schema.MigrationsTable, states, want)
		}
		var applied []uint
		rows, err = conn.QueryContext(ctx, `SELECT version FROM schema_applied ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v uint
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			applied = append(applied, v)
		}
		rows.Close()
		if !slices.Equal(applied, versions) {
			t.Errorf("round %d: schema_applied holds %v, want each migration once: %v", round, applied, versions)
		}
		if n := procCount(t, conn, `SELECT count(*) FROM runs`); n != procNumProcs/2 {
			t.Errorf("round %d: %d runs, want %d (the openers without WithoutRun)", round, n, procNumProcs/2)
		}
		procIntegrity(t, conn)
		conn.Close()
	}
}
