//go:build unix

package metatrack_test

// Many-writer tests: eight processes released at one barrier run mixed
// write transactions on one file (version creation on shared chains, tags,
// metadata, read-then-write increments in Batch, lineage edges, artifacts).
// No error may reach a caller, every acknowledged write must be in the file,
// and version numbers must be unique and gap-free. The children time every
// call; the parent reports throughput and latency percentiles.
//
// A second test shows that the settings behind this matter: the same kind
// of read-then-write load through plain database/sql with DEFERRED
// transactions, on the same driver with the same busy_timeout, makes
// callers see SQLITE_BUSY.
//
// Default size: 8 processes x 200 transactions each, a few seconds. Full
// size: 8 x 5000 (and 8 x 1000 deferred):
//
//	METATRACK_SOAK=1 go test -run 'TestWriters' -timeout 60m -v .

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// What the mixed writers write, and how much.
const (
	chaosSharedChain  = "shared"      // the dataset_version chain every writer appends to
	chaosModelChain   = "chaos-model" // the model_version chain every writer appends to
	chaosCounterKey   = "counter"     // metadata on the shared dataset, incremented in Batch
	chaosRelation     = "derived"     // the relation of the edges made with Link
	chaosSharedKinds  = 3             // distinct contents of shared.bin
	chaosSteps        = 10            // calls in one round of chaosMixed
	writersProcs      = 8
	writersTxsQuick   = 200
	writersTxsSoak    = 5000
	deferredTxsQuick  = 200
	deferredTxsSoak   = 1000
	writersMaxOwnSize = 4096 // own.bin is 1 to this many bytes
)

// chaosMixed is the mixed writer child. It opens the file, waits at the
// barrier, then makes METATRACK_CHAOS_TXS calls (until killed when 0), each
// one write transaction, going round these steps:
//
//	0 CreateResource dataset_version "shared" (a chain every process appends to)
//	1 CreateResource dataset_version "own-<process>"
//	2 LogTag on 0
//	3 LogMetadata on 1
//	4 Batch: read the counter on dataset "shared", write it +1, tag 1 with it
//	5 CreateResource model_version "chaos-model" (shared too)
//	6 BuildModelLineage: 5 trained on 0 and 1
//	7 Link 1 -derived-> 0
//	8 LogArtifact own.bin on 1: 1 to 4096 bytes of its own
//	9 LogArtifact shared.bin on 1: bytes every process logs too (dedup)
//
// It prints each write once acknowledged, and at the end a done record with
// the latency of every call.
func chaosMixed(ctx context.Context, enc *json.Encoder) error {
	id, err := procEnvInt(chaosIDEnv)
	if err != nil {
		return err
	}
	txs, err := procEnvInt(chaosTxsEnv)
	if err != nil {
		return err
	}
	path, scratch := os.Getenv(chaosDBEnv), filepath.Join(os.Getenv(chaosDirEnv), strconv.Itoa(id))
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	shared := make([]string, chaosSharedKinds)
	sharedSum := make([]string, chaosSharedKinds)
	for k := range shared {
		shared[k] = filepath.Join(scratch, fmt.Sprintf("shared-%d.bin", k))
		if sharedSum[k], err = procWriteRandom(shared[k], fmt.Sprintf("chaos-shared-%d", k), int64(100+k*1500)); err != nil {
			return err
		}
	}
	ownPath := filepath.Join(scratch, "own.bin")
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName(fmt.Sprintf("mixed-%d", id)))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer func() {
		if tr != nil {
			tr.Close()
		}
	}()
	if err := procBarrier(); err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	own := fmt.Sprintf("own-%d", id)
	lat := map[string][]int32{}
	n := 0
	// call makes one call, times it, and prints the acknowledged writes.
	call := func(kind string, fn func() error, acks ...func() chaosRecord) error {
		t0 := time.Now()
		err := fn()
		lat[kind] = append(lat[kind], int32(min(time.Since(t0).Microseconds(), math.MaxInt32)))
		if err != nil {
			return fmt.Errorf("call %d (%s): %w", n, kind, err)
		}
		for _, ack := range acks {
			r := ack()
			r.Proc, r.Seq = id, n
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		n++
		return nil
	}
	created := func(r *metatrack.Resource) func() chaosRecord {
		return func() chaosRecord {
			return chaosRecord{Kind: "create", Res: r.ID, Type: r.Type, Name: r.Name, Version: r.Version}
		}
	}

	start := time.Now()
	var sv, ov, mv metatrack.Resource
	for step := 0; txs == 0 || n < txs; step++ {
		round := step / chaosSteps
		var err error
		switch step % chaosSteps {
		case 0:
			err = call("create", func() (err error) {
				sv, err = tr.CreateResource(ctx, metatrack.TypeDatasetVersion, chaosSharedChain)
				return err
			}, created(&sv))
		case 1:
			err = call("create", func() (err error) {
				ov, err = tr.CreateResource(ctx, metatrack.TypeDatasetVersion, own)
				return err
			}, created(&ov))
		case 2:
			value := fmt.Sprintf("%d/%d", id, round)
			err = call("tag", func() error { return tr.LogTag(ctx, sv, "writer", value) },
				func() chaosRecord { return chaosRecord{Kind: "tag", Res: sv.ID, Key: "writer", Value: value} })
		case 3:
			step := map[string]any{"proc": id, "round": round, "loss": 1 / float64(round+1), "note": "écrit"}
			raw, jerr := json.Marshal(step)
			if jerr != nil {
				return jerr
			}
			err = call("metadata", func() error { return tr.LogMetadata(ctx, ov, "step", step) },
				func() chaosRecord { return chaosRecord{Kind: "metadata", Res: ov.ID, Key: "step", Value: string(raw)} })
		case 4:
			// Read-then-write: without Batch's one transaction two
			// processes could read the same value and lose an increment.
			head := metatrack.Resource{ID: sv.ParentID}
			var next int64
			err = call("batch", func() error {
				return tr.Batch(ctx, func(tx *metatrack.Tracker) error {
					var cur int64
					v, err := tx.GetMetadata(ctx, head, chaosCounterKey)
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
					if err := tx.LogMetadata(ctx, head, chaosCounterKey, next); err != nil {
						return err
					}
					return tx.LogTag(ctx, ov, chaosCounterKey, strconv.FormatInt(next, 10))
				})
			}, func() chaosRecord {
				return chaosRecord{Kind: "counter", Res: ov.ID, Key: chaosCounterKey, Value: strconv.FormatInt(next, 10)}
			})
		case 5:
			err = call("create", func() (err error) {
				mv, err = tr.CreateResource(ctx, metatrack.TypeModelVersion, chaosModelChain)
				return err
			}, created(&mv))
		case 6:
			err = call("lineage", func() error { return tr.BuildModelLineage(ctx, mv, []metatrack.Resource{sv, ov}) },
				func() chaosRecord {
					return chaosRecord{Kind: "edge", Src: sv.ID, Res: mv.ID, Key: metatrack.RelationInput}
				},
				func() chaosRecord {
					return chaosRecord{Kind: "edge", Src: ov.ID, Res: mv.ID, Key: metatrack.RelationInput}
				})
		case 7:
			err = call("link", func() error { return tr.Link(ctx, ov, sv, chaosRelation) },
				func() chaosRecord { return chaosRecord{Kind: "edge", Src: ov.ID, Res: sv.ID, Key: chaosRelation} })
		case 8:
			sum, werr := procWriteRandom(ownPath, fmt.Sprintf("own-%d-%d-%d", id, round, rng.Uint64()), 1+rng.Int64N(writersMaxOwnSize))
			if werr != nil {
				return werr
			}
			var a metatrack.Artifact
			err = call("artifact", func() (err error) {
				if a, err = tr.LogArtifact(ctx, ov, "own.bin", ownPath); err == nil && a.SHA256 != sum {
					err = fmt.Errorf("own.bin recorded with SHA-256 %s, the file has %s", a.SHA256, sum)
				}
				return err
			}, func() chaosRecord {
				return chaosRecord{Kind: "artifact", Res: ov.ID, Key: "own.bin", Value: a.SHA256, Size: a.Size}
			})
		case 9:
			k := round % chaosSharedKinds
			var a metatrack.Artifact
			err = call("artifact", func() (err error) {
				if a, err = tr.LogArtifact(ctx, ov, "shared.bin", shared[k]); err == nil && a.SHA256 != sharedSum[k] {
					err = fmt.Errorf("shared.bin recorded with SHA-256 %s, the file has %s", a.SHA256, sharedSum[k])
				}
				return err
			}, func() chaosRecord {
				return chaosRecord{Kind: "artifact", Res: ov.ID, Key: "shared.bin", Value: a.SHA256, Size: a.Size}
			})
		}
		if err != nil {
			return err
		}
	}
	seconds := time.Since(start).Seconds()
	err = tr.Close()
	tr = nil
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	var all []int32
	for _, s := range lat {
		all = append(all, s...)
	}
	slices.Sort(all)
	done := chaosRecord{Kind: "done", Proc: id, Txs: n, Seconds: seconds, LatUS: lat}
	if len(all) > 0 {
		done.P50US = all[len(all)/2]
		done.P99US = all[min(len(all)-1, len(all)*99/100)]
	}
	return enc.Encode(done)
}

// chaosDeferred is the child of TestWritersDeferredTransactionsSeeBusy: the
// read-then-write transactions of chaosMixed (an increment of the shared
// counter; a new version numbered max+1 on the shared chain), through plain
// database/sql with deferred transactions on the library's own DSN but for
// _txlock. It does not retry: a call that fails is counted and the next one
// made. It prints one done record with the counts.
func chaosDeferred(ctx context.Context, enc *json.Encoder) error {
	id, err := procEnvInt(chaosIDEnv)
	if err != nil {
		return err
	}
	txs, err := procEnvInt(chaosTxsEnv)
	if err != nil {
		return err
	}
	path := os.Getenv(chaosDBEnv)
	dsn := sqlite.DSN(path, sqlite.Options{}, false)
	deferred := strings.Replace(dsn, "_txlock=immediate", "_txlock=deferred", 1)
	if deferred == dsn {
		return fmt.Errorf("the library's DSN %q no longer sets _txlock=immediate", dsn)
	}
	conn, err := sql.Open("sqlite", deferred)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	var head int64
	err = conn.QueryRowContext(ctx, `SELECT seq FROM resources WHERE type = ? AND name = ? AND parent_seq IS NULL`,
		metatrack.TypeDataset, chaosSharedChain).Scan(&head)
	if err != nil {
		return fmt.Errorf("find the shared dataset: %w", err)
	}
	if err := procBarrier(); err != nil {
		return err
	}
	start := time.Now()
	done := chaosRecord{Kind: "done", Proc: id}
	for i := range txs {
		var err error
		if i%2 == 0 {
			err = deferredIncrement(ctx, conn, head)
		} else {
			err = deferredVersion(ctx, conn, head)
		}
		var se *sqlitedrv.Error
		switch {
		case err == nil:
			done.Txs++
			if i%2 == 0 {
				done.Counter++
			}
		case sqlite.IsBusy(err) && errors.As(err, &se):
			done.Busy++
			if se.Code() == sqlite3.SQLITE_BUSY_SNAPSHOT {
				done.BusySnapshot++
			}
		default:
			return fmt.Errorf("transaction %d: %w", i, err)
		}
	}
	done.Seconds = time.Since(start).Seconds()
	return enc.Encode(done)
}

// deferredIncrement reads the shared counter and writes it +1 in one
// deferred transaction.
func deferredIncrement(ctx context.Context, conn *sql.DB, head int64) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var cur int64
	err = tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM metadata WHERE resource_seq = ? AND key = ?`,
		head, chaosCounterKey).Scan(&cur)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE metadata SET value = ?, num = ?, updated_at = ? WHERE resource_seq = ? AND key = ?`,
		strconv.FormatInt(cur+1, 10), float64(cur+1), time.Now().UnixMilli(), head, chaosCounterKey)
	if err != nil {
		return err
	}
	return tx.Commit()
}

// deferredVersion appends a version to the shared chain, numbered one more
// than the highest it reads, in one deferred transaction.
func deferredVersion(ctx context.Context, conn *sql.DB, head int64) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var last int64
	err = tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM resources WHERE type = ? AND name = ?`,
		metatrack.TypeDatasetVersion, chaosSharedChain).Scan(&last)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	_, err = tx.ExecContext(ctx, `INSERT INTO resources (id, type, name, version, parent_seq, created_at, updated_at)
		VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, ?, ?)`,
		metatrack.TypeDatasetVersion, chaosSharedChain, last+1, head, now, now)
	if err != nil {
		return err
	}
	return tx.Commit()
}

// writersLatencies merges the children's latency samples by kind (all
// kinds under "all") and returns them sorted.
func writersLatencies(recs []chaosRecord) map[string][]int32 {
	out := map[string][]int32{}
	for _, r := range recs {
		for kind, s := range r.LatUS {
			out[kind] = append(out[kind], s...)
			out["all"] = append(out["all"], s...)
		}
	}
	for _, s := range out {
		slices.Sort(s)
	}
	return out
}

func writersPercentile(sorted []int32, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return time.Duration(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]) * time.Microsecond
}

// TestWritersManyProcesses starts 8 mixed writers (see chaosMixed) at one
// barrier on one file, each making 200 calls (5000 with METATRACK_SOAK=1).
// Every call must succeed: a child exits with an error at the first one
// that fails, and the test fails with it. Then every acknowledged write must
// be in the file with its value, the shared chains must be numbered 1..N for
// their N acknowledged creates without a number acknowledged twice, the
// counter incremented by read-then-write in Batch must have lost nothing,
// artifact storage must be whole and PRAGMA integrity_check ok. It logs the
// throughput and the latency percentiles of the calls.
func TestWritersManyProcesses(t *testing.T) {
	txs := writersTxsQuick
	if procSoak() {
		txs = writersTxsSoak
	}
	ctx := procContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "writers.db")
	chaosNewFile(t, ctx, path)
	g := chaosStart(t, ctx, writersProcs, "mixed", func(int) []string {
		return []string{chaosDBEnv + "=" + path, chaosDirEnv + "=" + filepath.Join(dir, "scratch"), chaosTxsEnv + "=" + strconv.Itoa(txs)}
	})
	g.waitReady(t)
	start := time.Now()
	g.release()
	g.wait(t)
	elapsed := time.Since(start)
	g.checkLines(t)
	if t.Failed() {
		t.FailNow()
	}
	recs := g.snapshot()

	var dones []chaosRecord
	var total int
	var slowest float64
	for _, r := range recs {
		if r.Kind == "done" {
			dones = append(dones, r)
			total += r.Txs
			slowest = max(slowest, r.Seconds)
		}
	}
	if len(dones) != writersProcs {
		t.Fatalf("%d children reported done, want %d", len(dones), writersProcs)
	}
	if total != writersProcs*txs {
		t.Errorf("%d calls succeeded, want %d", total, writersProcs*txs)
	}
	lat := writersLatencies(dones)
	var p99s []time.Duration
	for _, d := range dones {
		p99s = append(p99s, time.Duration(d.P99US)*time.Microsecond)
	}
	slices.Sort(p99s)
	t.Logf("p99 latency of each process, as it measured it: from %v to %v", p99s[0], p99s[len(p99s)-1])
	t.Logf("%d processes x %d transactions: %d in %.2fs of writing (%.0f tx/s; %.0f tx/s counting start and close), %d writes acknowledged",
		writersProcs, txs, total, slowest, float64(total)/slowest, float64(total)/elapsed.Seconds(), len(recs)-len(dones))
	kinds := make([]string, 0, len(lat))
	for k := range lat {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		s := lat[k]
		t.Logf("latency %-8s p50 %8v  p99 %8v  max %8v  (%d calls)", k, writersPercentile(s, 0.5),
			writersPercentile(s, 0.99), writersPercentile(s, 1), len(s))
	}

	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	conn := chaosConn(t, path)
	defer conn.Close()
	chaosCheck(t, ctx, tr, conn, recs)
	chaosInvariants(t, ctx, conn, recs, 0)
	procIntegrity(t, conn)
	// Each process appended its share to the shared chains.
	perChain := map[string]int{}
	for _, r := range recs {
		if r.Kind == "create" {
			perChain[r.Type+"/"+r.Name]++
		}
	}
	rounds := txs / chaosSteps
	if n := perChain[metatrack.TypeDatasetVersion+"/"+chaosSharedChain]; n < writersProcs*rounds {
		t.Errorf("%d versions of the shared dataset chain acknowledged, want at least %d", n, writersProcs*rounds)
	}
	if n := perChain[metatrack.TypeModelVersion+"/"+chaosModelChain]; n < writersProcs*rounds {
		t.Errorf("%d versions of the shared model chain acknowledged, want at least %d", n, writersProcs*rounds)
	}
}

// TestWritersDeferredTransactionsSeeBusy is a test of the test above: it
// shows that the library's settings are what keeps "database is locked"
// from its callers. 8 processes run the read-then-write transactions of
// chaosMixed (increment the counter; append version max+1 to the shared
// chain) on one file through plain database/sql, with the modernc driver
// and the library's own DSN (same busy_timeout, WAL) except that
// transactions are DEFERRED, as database/sql's BEGIN is by default. At
// least one of them must fail with SQLITE_BUSY.
//
// Why the busy timeout does not help: a deferred transaction starts as a
// read transaction at its first SELECT, on a snapshot of the database. Its
// first write must upgrade it to a write transaction. If another connection
// holds the write lock, or has committed since the snapshot was taken,
// waiting cannot help: the snapshot the reads were made on is (or will be)
// stale, and writing on top of it would lose the other transaction's write.
// So SQLite returns SQLITE_BUSY at once, without calling the busy handler
// (sqlite3BtreeBeginTrans calls it only while no read transaction is
// open), and SQLITE_BUSY_SNAPSHOT when the snapshot is already stale. Only
// the caller can recover, by rolling back and starting over. The library's
// BEGIN IMMEDIATE takes the write lock before the first read, while no
// snapshot is held, so there the busy handler does wait, and WriteTx
// retries past busy_timeout until the context ends.
//
// The counter must still have lost no increment: the failures are errors,
// never lost updates.
func TestWritersDeferredTransactionsSeeBusy(t *testing.T) {
	txs := deferredTxsQuick
	if procSoak() {
		txs = deferredTxsSoak
	}
	ctx := procContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "deferred.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	v, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, chaosSharedChain)
	if err == nil {
		err = tr.LogMetadata(ctx, metatrack.Resource{ID: v.ParentID}, chaosCounterKey, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}

	g := chaosStart(t, ctx, writersProcs, "deferred", func(int) []string {
		return []string{chaosDBEnv + "=" + path, chaosTxsEnv + "=" + strconv.Itoa(txs)}
	})
	g.waitReady(t)
	g.release()
	g.wait(t)
	g.checkLines(t)
	if t.Failed() {
		t.FailNow()
	}
	var ok, busy, snapshot, counter int
	var slowest float64
	for _, r := range g.snapshot() {
		ok += r.Txs
		busy += r.Busy
		snapshot += r.BusySnapshot
		counter += r.Counter
		slowest = max(slowest, r.Seconds)
	}
	t.Logf("deferred transactions: %d processes x %d: %d committed (%.0f tx/s), %d failed with SQLITE_BUSY (%d of them SQLITE_BUSY_SNAPSHOT)",
		writersProcs, txs, ok, float64(ok)/slowest, busy, snapshot)
	if ok+busy != writersProcs*txs {
		t.Errorf("%d committed and %d busy, want %d transactions in all", ok, busy, writersProcs*txs)
	}
	if busy == 0 {
		t.Errorf("no deferred transaction failed with SQLITE_BUSY: the test no longer shows why the library uses BEGIN IMMEDIATE")
	}
	conn := chaosConn(t, path)
	defer conn.Close()
	var final int
	err = conn.QueryRowContext(ctx, `SELECT CAST(m.value AS INTEGER) FROM metadata m JOIN resources r ON r.seq = m.resource_seq
		WHERE r.type = 'dataset' AND r.name = ? AND m.key = ?`, chaosSharedChain, chaosCounterKey).Scan(&final)
	if err != nil {
		t.Fatal(err)
	}
	if final != counter {
		t.Errorf("counter = %d after %d committed increments", final, counter)
	}
	procIntegrity(t, conn)
}
