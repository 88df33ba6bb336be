package metatrack_test

// Cancellation: calls whose context is cancelled at a random moment, by a
// timer goroutine, while they run. Whatever the moment, a call that reports
// success has stored all it wrote, and a call that reports failure has
// stored nothing, checked after each call with fresh reads: a failed Batch
// leaves none of its writes, a failed CreateResource uses no version number
// (the chain stays gap-free), a failed LogArtifact leaves no record and no
// staged bytes, a failed Deploy changes no deployment and no status.
//
// The default size (1000 calls) takes a few seconds. The full size (20000
// calls):
//
//	METATRACK_SOAK=1 go test -run 'TestCancel' -timeout 60m -v .

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/sqlite"
)

const (
	cancelCallsQuick = 1000
	cancelCallsSoak  = 20000
	cancelCalibrate  = 20  // uncancelled calls of each kind to time it
	cancelPreFrac    = 0.1 // share of calls cancelled before they start
	cancelSpan       = 1.5 // other calls are cancelled within this many median durations
	cancelMaxFail    = 20  // broken promises reported before the test stops
	cancelChain      = "cancel-chain"
	cancelBatchChain = "cancel-batch"
	cancelModel      = "cancel-model"
	cancelModelVers  = 3
	cancelDedupKinds = 4 // contents logged again and again (the deduplicated path)
)

// cancelEnv is what the call kinds of TestCancelAtRandomPoints share.
type cancelEnv struct {
	t      *testing.T
	tr     *metatrack.Tracker
	conn   *sql.DB // a plain connection to the file, for counts the API has no call for
	dir    string
	rng    *rand.Rand
	target metatrack.Resource // the resource tags, metadata and artifacts go to
	mvs    []metatrack.Resource
	dedup  []string // paths of the contents logged again and again
	// arm is called by each kind right before the call under test: it
	// starts the timer that cancels the call's context.
	arm func()
}

// cancelKind is one kind of call. do reads what it needs to know of the
// state before (afresh, without ctx), calls e.arm, makes the call with ctx,
// and returns at once the call's error and a check that, reading afresh,
// returns what is wrong with the state after the call given that error.
type cancelKind struct {
	name string
	do   func(e *cancelEnv, ctx context.Context, i int) (check func() error, err error)
}

// cancelBG is the context of the checks' fresh reads.
var cancelBG = context.Background()

func (e *cancelEnv) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.conn.QueryRowContext(cancelBG, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// chain returns how many versions the dataset chain holds, checking that
// they are numbered 1..N.
func (e *cancelEnv) chain(name string) (int, error) {
	var n, lo, hi int
	err := e.conn.QueryRowContext(cancelBG, `SELECT count(*), coalesce(min(version), 0), coalesce(max(version), 0)
		FROM resources WHERE type = ? AND name = ?`, metatrack.TypeDatasetVersion, name).Scan(&n, &lo, &hi)
	if err == nil && n > 0 && (lo != 1 || hi != n) {
		err = fmt.Errorf("chain %s: %d versions numbered %d..%d: a gap", name, n, lo, hi)
	}
	return n, err
}

// history counts the change-log entries of res under key.
func (e *cancelEnv) history(res metatrack.Resource, key string) int {
	return e.count(`SELECT count(*) FROM history h JOIN resources r ON r.seq = h.resource_seq WHERE r.id = ? AND h.key = ?`, res.ID, key)
}

var cancelKinds = []cancelKind{
	{"CreateResource", func(e *cancelEnv, ctx context.Context, i int) (func() error, error) {
		before, err := e.chain(cancelChain)
		if err != nil {
			return func() error { return err }, nil
		}
		e.arm()
		res, err := e.tr.CreateResource(ctx, metatrack.TypeDatasetVersion, cancelChain)
		return func() error {
			after, verr := e.chain(cancelChain)
			if verr != nil {
				return verr
			}
			if err != nil {
				if after != before {
					return fmt.Errorf("failed, the chain went from %d to %d versions", before, after)
				}
				return nil
			}
			got, gerr := e.tr.GetResource(cancelBG, res.ID, "")
			if after != before+1 || res.Version != after || gerr != nil || got.Version != res.Version {
				return fmt.Errorf("succeeded with version %d (%s), which reads back as %d, %v; the chain went from %d to %d versions",
					res.Version, res.ID, got.Version, gerr, before, after)
			}
			return nil
		}, err
	}},
	{"LogTag", func(e *cancelEnv, ctx context.Context, i int) (func() error, error) {
		key, value := fmt.Sprintf("tag-%d", i), fmt.Sprintf("value %d", i)
		e.arm()
		err := e.tr.LogTag(ctx, e.target, key, value)
		return func() error {
			got, gerr := e.tr.GetTag(cancelBG, e.target, key)
			h := e.history(e.target, key)
			if err == nil && (gerr != nil || got != value || h != 1) {
				return fmt.Errorf("succeeded; the tag reads %q, %v, with %d change-log entries", got, gerr, h)
			}
			if err != nil && (!errors.Is(gerr, metatrack.ErrNotFound) || h != 0) {
				return fmt.Errorf("failed; the tag reads %q, %v, with %d change-log entries", got, gerr, h)
			}
			return nil
		}, err
	}},
	{"LogMetadata", func(e *cancelEnv, ctx context.Context, i int) (func() error, error) {
		key := fmt.Sprintf("meta-%d", i)
		e.arm()
		err := e.tr.LogMetadata(ctx, e.target, key, map[string]any{"i": i, "loss": 1 / float64(i+1)})
		return func() error {
			got, gerr := e.tr.GetMetadata(cancelBG, e.target, key)
			m, _ := got.(map[string]any)
			h := e.history(e.target, key)
			if err == nil && (gerr != nil || m["i"] != int64(i) || h != 1) {
				return fmt.Errorf("succeeded; the value reads %v, %v, with %d change-log entries", got, gerr, h)
			}
			if err != nil && (!errors.Is(gerr, metatrack.ErrNotFound) || h != 0) {
				return fmt.Errorf("failed; the value reads %v, %v, with %d change-log entries", got, gerr, h)
			}
			return nil
		}, err
	}},
	{"Batch", func(e *cancelEnv, ctx context.Context, i int) (func() error, error) {
		before, err := e.chain(cancelBatchChain)
		if err != nil {
			return func() error { return err }, nil
		}
		key := fmt.Sprintf("batch-%d", i)
		var created metatrack.Resource
		e.arm()
		err = e.tr.Batch(ctx, func(tx *metatrack.Tracker) error {
			v, err := tx.CreateResource(ctx, metatrack.TypeDatasetVersion, cancelBatchChain)
			if err != nil {
				return err
			}
			created = v
			if err := tx.LogTag(ctx, v, "batch", key); err != nil {
				return err
			}
			if err := tx.LogMetadata(ctx, v, "i", i); err != nil {
				return err
			}
			return tx.LogTag(ctx, e.target, key, "in a batch")
		})
		return func() error {
			after, verr := e.chain(cancelBatchChain)
			if verr != nil {
				return verr
			}
			var parts []string // what of the batch is stored
			if after > before {
				parts = append(parts, fmt.Sprintf("%d more versions", after-before))
			}
			if created.ID != "" {
				if _, gerr := e.tr.GetResource(cancelBG, created.ID, ""); gerr == nil {
					parts = append(parts, "the version")
				}
				if v, gerr := e.tr.GetTag(cancelBG, created, "batch"); gerr == nil && v == key {
					parts = append(parts, "its tag")
				}
				if v, gerr := e.tr.GetMetadata(cancelBG, created, "i"); gerr == nil && v == int64(i) {
					parts = append(parts, "its metadata")
				}
			}
			if v, gerr := e.tr.GetTag(cancelBG, e.target, key); gerr == nil && v == "in a batch" {
				parts = append(parts, "the tag on the target")
			}
			if err == nil && (len(parts) != 5 || after != before+1) {
				return fmt.Errorf("succeeded; stored are only %q", parts)
			}
			if err != nil && len(parts) != 0 {
				return fmt.Errorf("failed; stored are %q", parts)
			}
			return nil
		}, err
	}},
	{"LogArtifact", func(e *cancelEnv, ctx context.Context, i int) (func() error, error) {
		name := fmt.Sprintf("artifact-%d.bin", i)
		var path string
		if e.rng.IntN(4) == 0 {
			path = e.dedup[e.rng.IntN(len(e.dedup))]
		} else {
			path = filepath.Join(e.dir, "fresh.bin")
			cancelWriteRandom(e.t, e.rng, path, 1+e.rng.IntN(20000))
		}
		want := cancelHash(e.t, path)
		e.arm()
		a, err := e.tr.LogArtifact(ctx, e.target, name, path)
		return func() error {
			staged := e.count(`SELECT count(*) FROM blobs WHERE sha256 IS NULL`)
			h := e.history(e.target, name)
			if err == nil {
				sum, rerr := cancelReadArtifact(e.tr, e.target, name)
				if rerr != nil || sum != want || a.SHA256 != want || h != 1 {
					return fmt.Errorf("succeeded with SHA-256 %s; reads back %s, %v, with %d change-log entries; the file has %s", a.SHA256, sum, rerr, h, want)
				}
			} else {
				_, rc, gerr := e.tr.GetArtifact(cancelBG, e.target, name)
				if rc != nil {
					rc.Close()
				}
				if !errors.Is(gerr, metatrack.ErrNotFound) || h != 0 {
					return fmt.Errorf("failed; the record reads %v, with %d change-log entries", gerr, h)
				}
			}
			if staged != 0 {
				return fmt.Errorf("%d staged blobs left behind (call error %v)", staged, err)
			}
			return nil
		}, err
	}},
	{"Deploy", func(e *cancelEnv, ctx context.Context, i int) (func() error, error) {
		before, err := cancelDeployState(e)
		if err != nil {
			return func() error { return err }, nil
		}
		mv := e.mvs[e.rng.IntN(len(e.mvs))]
		e.arm()
		_, err = e.tr.Deploy(ctx, mv)
		return func() error {
			after, serr := cancelDeployState(e)
			if serr != nil {
				return serr
			}
			if err != nil {
				if !reflect.DeepEqual(after, before) {
					return fmt.Errorf("failed to deploy %s, yet the deployments went from\n%s\nto\n%s", mv.Ref(), before, after)
				}
				return nil
			}
			want := cancelDeployed(before, mv)
			if !reflect.DeepEqual(after, want) {
				return fmt.Errorf("deployed %s, yet the deployments went from\n%s\nto\n%s\nwant\n%s", mv.Ref(), before, after, want)
			}
			return nil
		}, err
	}},
}

// cancelDeploys is the deployment state of the model: the status of each
// version, how many deployments were recorded, and the versions currently
// deployed.
type cancelDeploys struct {
	Status  []string
	Count   int
	Current []int
}

func (d cancelDeploys) String() string {
	return fmt.Sprintf("statuses %q, %d deployments, current %v", d.Status, d.Count, d.Current)
}

func cancelDeployState(e *cancelEnv) (cancelDeploys, error) {
	var s cancelDeploys
	for _, mv := range e.mvs {
		r, err := e.tr.GetResource(cancelBG, mv.ID, "")
		if err != nil {
			return s, err
		}
		s.Status = append(s.Status, r.Status)
	}
	s.Count = e.count(`SELECT count(*) FROM deployments`)
	rows, err := e.conn.QueryContext(cancelBG, `SELECT r.version FROM deployments d
		JOIN resources r ON r.seq = d.model_version_seq WHERE d.undeployed_at IS NULL ORDER BY d.seq`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return s, err
		}
		s.Current = append(s.Current, v)
	}
	return s, rows.Err()
}

// cancelDeployed returns the state after deploying mv in state before: the
// current deployment, if of another version, ended and that version
// DEMOTED; mv deployed (a new deployment unless it was the current one) and
// DEPLOYED.
func cancelDeployed(before cancelDeploys, mv metatrack.Resource) cancelDeploys {
	after := cancelDeploys{Status: slices.Clone(before.Status), Count: before.Count, Current: []int{mv.Version}}
	if !slices.Equal(before.Current, []int{mv.Version}) {
		after.Count++
		for _, v := range before.Current {
			after.Status[v-1] = metatrack.StatusDemoted
		}
	}
	after.Status[mv.Version-1] = metatrack.StatusDeployed
	return after
}

func cancelWriteRandom(tb testing.TB, rng *rand.Rand, path string, size int) {
	tb.Helper()
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func cancelHash(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func cancelReadArtifact(tr *metatrack.Tracker, res metatrack.Resource, name string) (string, error) {
	_, rc, err := tr.GetArtifact(cancelBG, res, name)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestCancelAtRandomPoints makes 1000 calls (20000 with METATRACK_SOAK=1)
// of six kinds, round-robin: CreateResource of a chain version, LogTag,
// LogMetadata, a Batch of four calls (a chain version, its tag and
// metadata, a tag elsewhere), LogArtifact of a small file (new bytes, or
// bytes stored before), and Deploy of one of three model versions. Each
// call's context is cancelled by a timer (a goroutine) after a random delay
// spread over the call's usual duration, measured beforehand; one call in
// ten is cancelled before it starts. After each call, fresh reads must show
// all of its writes if it succeeded and none if it failed, and a failure
// must be the context's error. Each kind must have both succeeded and
// failed. Finally PRAGMA integrity_check must be ok.
func TestCancelAtRandomPoints(t *testing.T) {
	calls := cancelCallsQuick
	if os.Getenv("METATRACK_SOAK") == "1" {
		calls = cancelCallsSoak
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cancel.db")
	tr, err := metatrack.Open(cancelBG, path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	conn, err := sql.Open("sqlite", sqlite.DSN(path, sqlite.Options{}, false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	e := &cancelEnv{t: t, tr: tr, conn: conn, dir: dir, rng: rand.New(rand.NewPCG(seed, 4))}
	if e.target, err = tr.CreateResource(cancelBG, metatrack.TypeDataset, "cancel-target"); err != nil {
		t.Fatal(err)
	}
	for range cancelModelVers {
		mv, err := tr.CreateResource(cancelBG, metatrack.TypeModelVersion, cancelModel)
		if err != nil {
			t.Fatal(err)
		}
		e.mvs = append(e.mvs, mv)
	}
	for k := range cancelDedupKinds {
		p := filepath.Join(dir, fmt.Sprintf("dedup-%d.bin", k))
		cancelWriteRandom(t, e.rng, p, 100+k*3000)
		e.dedup = append(e.dedup, p)
	}

	// How long each call takes when not cancelled, from arm to its return;
	// the checks run too.
	median := make([]time.Duration, len(cancelKinds))
	for k, kind := range cancelKinds {
		var ds []time.Duration
		for j := range cancelCalibrate {
			var t0 time.Time
			e.arm = func() { t0 = time.Now() }
			check, err := kind.do(e, cancelBG, -1-j-k*cancelCalibrate)
			ds = append(ds, time.Since(t0))
			if err != nil {
				t.Fatalf("%s, not cancelled: %v", kind.name, err)
			}
			if err := check(); err != nil {
				t.Fatalf("%s, not cancelled: %v", kind.name, err)
			}
		}
		slices.Sort(ds)
		median[k] = ds[len(ds)/2]
	}

	type tally struct{ ok, failed, pre int }
	tallies := make([]tally, len(cancelKinds))
	broken := 0
	for i := range calls {
		k := i % len(cancelKinds)
		kind := cancelKinds[k]
		ctx, cancel := context.WithCancel(cancelBG)
		var timer *time.Timer
		pre := e.rng.Float64() < cancelPreFrac
		var delay time.Duration
		if pre {
			cancel()
			tallies[k].pre++
			e.arm = func() {}
		} else {
			delay = time.Duration(e.rng.Int64N(int64(float64(median[k]) * cancelSpan)))
			e.arm = func() { timer = time.AfterFunc(delay, cancel) }
		}
		check, err := kind.do(e, ctx, i)
		if timer != nil {
			timer.Stop()
		}
		cancel()
		if err == nil {
			tallies[k].ok++
		} else {
			tallies[k].failed++
		}
		problem := check()
		if problem == nil && err != nil && !errors.Is(err, context.Canceled) {
			problem = fmt.Errorf("failed with %v, not the context's error", err)
		}
		if problem != nil {
			broken++
			t.Errorf("call %d, %s cancelled after %v (pre-cancelled %v): %v", i, kind.name, delay, pre, problem)
			if broken >= cancelMaxFail {
				t.Fatalf("stopping after %d broken promises", broken)
			}
		}
	}
	for k, kind := range cancelKinds {
		c := tallies[k]
		t.Logf("%-14s median %8v: %4d succeeded, %4d failed (%d cancelled before the call)", kind.name, median[k], c.ok, c.failed, c.pre)
		if c.ok == 0 || c.failed == 0 {
			t.Errorf("%s: %d succeeded and %d failed: the cancellations did not hit both sides", kind.name, c.ok, c.failed)
		}
	}
	var res string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check: %s, %v", res, err)
	}
}
