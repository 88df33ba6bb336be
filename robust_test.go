package metatrack_test

// Robustness tests: the promises metatrack makes about the files it refuses,
// a full disk, read-only files, clean closes and hostile input. Each test
// names the promise it backs; README.md's "Guarantees" lists them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// rbFixture is what rbPopulate wrote, so that a full read can be checked
// against it.
type rbFixture struct {
	Resources map[string]metatrack.Resource           // by id
	Tags      map[string]map[string]string            // by resource id
	Metadata  map[string]map[string]any               // by resource id, as GetMetadata returns it
	Artifacts map[string]map[string][sha256.Size]byte // by resource id, then name
	Sizes     map[string]map[string]int64
	DV, MV    metatrack.Resource // a dataset version and a model version trained on it
}

func (fx *rbFixture) add(r metatrack.Resource) {
	fx.Resources[r.ID] = r
}

// rbPopulate fills tr with a little of everything: version chains, a child,
// tags (one long enough to overflow a page), typed metadata, lineage and
// artifacts (one of two chunks, one deduplicated), and returns what it wrote.
// Artifact source files go into srcDir.
func rbPopulate(tb testing.TB, ctx context.Context, tr *metatrack.Tracker, srcDir string, seed uint64) *rbFixture {
	tb.Helper()
	fx := &rbFixture{
		Resources: map[string]metatrack.Resource{},
		Tags:      map[string]map[string]string{},
		Metadata:  map[string]map[string]any{},
		Artifacts: map[string]map[string][sha256.Size]byte{},
		Sizes:     map[string]map[string]int64{},
	}
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	create := func(typ, name string, opts ...metatrack.CreateOption) metatrack.Resource {
		tb.Helper()
		r, err := tr.CreateResource(ctx, typ, name, opts...)
		check(err)
		fx.add(r)
		fx.Tags[r.ID] = map[string]string{}
		fx.Metadata[r.ID] = map[string]any{}
		return r
	}
	tag := func(r metatrack.Resource, k, v string) {
		tb.Helper()
		check(tr.LogTag(ctx, r, k, v))
		fx.Tags[r.ID][k] = v
	}
	meta := func(r metatrack.Resource, k string, v, want any) {
		tb.Helper()
		check(tr.LogMetadata(ctx, r, k, v))
		fx.Metadata[r.ID][k] = want
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	record := func(r metatrack.Resource, name string, sum [sha256.Size]byte, size int) {
		if fx.Artifacts[r.ID] == nil {
			fx.Artifacts[r.ID] = map[string][sha256.Size]byte{}
			fx.Sizes[r.ID] = map[string]int64{}
		}
		fx.Artifacts[r.ID][name] = sum
		fx.Sizes[r.ID][name] = int64(size)
	}
	artifact := func(r metatrack.Resource, name string, size int) string {
		tb.Helper()
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		p := filepath.Join(srcDir, fmt.Sprintf("src-%d-%s", len(fx.Sizes)+rng.IntN(1<<30), filepath.Base(name)))
		check(os.WriteFile(p, b, 0o644))
		_, err := tr.LogArtifact(ctx, r, name, p)
		check(err)
		record(r, name, sha256.Sum256(b), size)
		return p
	}

	dv1 := create(metatrack.TypeDatasetVersion, "titanic")
	dv2 := create(metatrack.TypeDatasetVersion, "titanic")
	mv := create(metatrack.TypeModelVersion, "survival")
	for _, head := range []string{dv1.ParentID, mv.ParentID} { // made by the chains
		fx.add(rbMust(tr.GetResource(ctx, head, "")).of(tb))
		fx.Tags[head] = map[string]string{}
		fx.Metadata[head] = map[string]any{}
	}
	exp := create(metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv.ID))
	check(tr.BuildModelLineage(ctx, mv, []metatrack.Resource{dv2}))
	fx.DV, fx.MV = dv2, mv

	tag(dv1, "source", "s3://bucket/titanic-1.csv")
	tag(dv2, "source", "s3://bucket/titanic-2.csv")
	tag(dv2, "notes", strings.Repeat("long tag value spilling onto an overflow page. ", 120))
	tag(mv, "framework", "sklearn")
	meta(dv2, "rows", 891, int64(891))
	meta(dv2, "columns", []string{"age", "fare", "sex"}, []any{"age", "fare", "sex"})
	meta(exp, "auc", 0.8731, 0.8731)
	meta(exp, "training_params", map[string]any{"lr": 0.01, "depth": 6, "balanced": true},
		map[string]any{"lr": 0.01, "depth": int64(6), "balanced": true})
	meta(mv, metatrack.MetadataWinningExperimentID, exp.ID, exp.ID)
	model := artifact(exp, "model.bin", 300<<10)
	artifact(exp, "weights/big.bin", metatrack.ChunkSize+50_000)
	artifact(dv2, "profile.json", 3000)
	artifact(mv, "notes.txt", 10)
	// The same bytes again: stored once, recorded twice.
	_, err := tr.LogArtifact(ctx, mv, "model-copy.bin", model)
	check(err)
	record(mv, "model-copy.bin", fx.Artifacts[exp.ID]["model.bin"], 300<<10)
	return fx
}

// rbResult carries a call's two results to of, which fails the test on
// error: v := rbMust(tr.GetResource(ctx, id, "")).of(t).
type rbResult[T any] struct {
	v   T
	err error
}

func rbMust[T any](v T, err error) rbResult[T] { return rbResult[T]{v, err} }

func (r rbResult[T]) of(tb testing.TB) T {
	tb.Helper()
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.v
}

// rbReadAll reads everything fx says tr holds: every resource found by
// Search and by id, its tags, metadata, history and artifacts (every byte,
// hash-verified by the reader), and the lineage around fx.MV. It stops at the
// first error and returns it; differences from fx are returned in diffs.
// Artifact bytes that come back without an error but differ from what was
// logged are returned in badBytes: the reader's SHA-256 check must make that
// impossible.
func rbReadAll(ctx context.Context, tr *metatrack.Tracker, fx *rbFixture) (diffs, badBytes []string, err error) {
	diff := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	all, err := tr.SearchAll(ctx, "")
	if err != nil {
		return diffs, nil, fmt.Errorf("search: %w", err)
	}
	found := map[string]bool{}
	for _, r := range all {
		found[r.ID] = true
		if _, ok := fx.Resources[r.ID]; !ok {
			diff("search found unknown resource %s %q", r.ID, r.Ref())
		}
	}
	ids := make([]string, 0, len(fx.Resources))
	for id := range fx.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		want := fx.Resources[id]
		if !found[id] {
			diff("search missed %s", want.Ref())
		}
		got, err := tr.GetResource(ctx, id, "")
		if err != nil {
			return diffs, badBytes, fmt.Errorf("get %s: %w", want.Ref(), err)
		}
		if got.Ref() != want.Ref() || got.ParentID != want.ParentID {
			diff("resource %s came back as %s (parent %s)", want.Ref(), got.Ref(), got.ParentID)
		}
		tags, err := tr.Tags(ctx, want)
		if err != nil {
			return diffs, badBytes, fmt.Errorf("tags of %s: %w", want.Ref(), err)
		}
		if !reflect.DeepEqual(tags, fx.Tags[id]) {
			diff("tags of %s differ", want.Ref())
		}
		for k, v := range fx.Tags[id] {
			got, err := tr.GetTag(ctx, want, k)
			if err != nil {
				return diffs, badBytes, fmt.Errorf("tag %s of %s: %w", k, want.Ref(), err)
			}
			if got != v {
				diff("tag %s of %s differs", k, want.Ref())
			}
		}
		md, err := tr.Metadata(ctx, want)
		if err != nil {
			return diffs, badBytes, fmt.Errorf("metadata of %s: %w", want.Ref(), err)
		}
		if !reflect.DeepEqual(md, fx.Metadata[id]) {
			diff("metadata of %s differs: %v", want.Ref(), md)
		}
		for k, v := range fx.Metadata[id] {
			got, err := tr.GetMetadata(ctx, want, k)
			if err != nil {
				return diffs, badBytes, fmt.Errorf("metadata %s of %s: %w", k, want.Ref(), err)
			}
			if !reflect.DeepEqual(got, v) {
				diff("metadata %s of %s differs", k, want.Ref())
			}
		}
		hist, err := tr.History(ctx, want)
		if err != nil {
			return diffs, badBytes, fmt.Errorf("history of %s: %w", want.Ref(), err)
		}
		if len(hist) == 0 {
			diff("history of %s is empty", want.Ref())
		}
		arts, err := tr.Artifacts(ctx, want, "")
		if err != nil {
			return diffs, badBytes, fmt.Errorf("artifacts of %s: %w", want.Ref(), err)
		}
		if len(arts) != len(fx.Artifacts[id]) {
			diff("%s has %d artifacts, want %d", want.Ref(), len(arts), len(fx.Artifacts[id]))
		}
		names := make([]string, 0, len(fx.Artifacts[id]))
		for name := range fx.Artifacts[id] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			_, rc, err := tr.GetArtifact(ctx, want, name)
			if err != nil {
				return diffs, badBytes, fmt.Errorf("artifact %s of %s: %w", name, want.Ref(), err)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil {
				return diffs, badBytes, fmt.Errorf("read artifact %s of %s: %w", name, want.Ref(), err)
			}
			if [sha256.Size]byte(h.Sum(nil)) != fx.Artifacts[id][name] || n != fx.Sizes[id][name] {
				badBytes = append(badBytes, fmt.Sprintf("artifact %s of %s: %d bytes read without error differ from those logged", name, want.Ref(), n))
			}
		}
	}
	up, err := tr.Upstream(ctx, fx.MV, 0)
	if err != nil {
		return diffs, badBytes, fmt.Errorf("upstream of %s: %w", fx.MV.Ref(), err)
	}
	down, err := tr.Downstream(ctx, fx.DV, 0)
	if err != nil {
		return diffs, badBytes, fmt.Errorf("downstream of %s: %w", fx.DV.Ref(), err)
	}
	has := func(g *lineage.Graph, id string) bool {
		for _, n := range g.Nodes {
			if n.ID == id {
				return true
			}
		}
		return false
	}
	if !has(up, fx.DV.ID) {
		diff("upstream of %s misses %s", fx.MV.Ref(), fx.DV.Ref())
	}
	if !has(down, fx.MV.ID) {
		diff("downstream of %s misses %s", fx.DV.Ref(), fx.MV.Ref())
	}
	return diffs, badBytes, nil
}

// rbBounded runs fn in its own goroutine with a context that ends after
// limit. A panic in fn fails the test (with its stack); so does fn not
// returning within limit plus a grace period: a hang fails the test instead
// of hanging it. It returns fn's error and how long fn took.
func rbBounded(tb testing.TB, limit time.Duration, what string, fn func(ctx context.Context) error) (error, time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	type outcome struct {
		err   error
		panic any
		stack []byte
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				buf := make([]byte, 64<<10)
				done <- outcome{panic: p, stack: buf[:runtime.Stack(buf, false)]}
			}
		}()
		done <- outcome{err: fn(ctx)}
	}()
	grace := time.NewTimer(limit + 10*time.Second)
	defer grace.Stop()
	select {
	case o := <-done:
		if o.panic != nil {
			tb.Fatalf("%s panicked: %v\n%s", what, o.panic, o.stack)
		}
		return o.err, time.Since(start)
	case <-grace.C:
		buf := make([]byte, 1<<20)
		tb.Fatalf("%s hung: no return %v after its context ended\n%s", what, 10*time.Second, buf[:runtime.Stack(buf, true)])
		return nil, 0
	}
}

// rbSameBytes fails the test when the database file or its -wal or -shm
// companion differs from before (fileBytes in open_test.go).
func rbSameBytes(tb testing.TB, what, path string, before [3][]byte) {
	tb.Helper()
	after := fileBytes(tb, path)
	for i, suffix := range []string{"", "-wal", "-shm"} {
		if !bytes.Equal(before[i], after[i]) {
			tb.Errorf("%s: the refused file's %q changed (%d bytes before, %d after)", what, "db"+suffix, len(before[i]), len(after[i]))
		}
	}
}

// rbCopy copies src to dst.
func rbCopy(tb testing.TB, src, dst string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// rbTyped reports whether err matches one of the sentinels a damaged or
// foreign file may give.
func rbTyped(err error) bool {
	return errors.Is(err, metatrack.ErrCorrupt) || errors.Is(err, metatrack.ErrNotDatabase) ||
		errors.Is(err, metatrack.ErrSchemaTooNew)
}

// rbMount runs mount(8) with args; the test is skipped when it cannot (not
// root, not Linux, no mount permission in a container). It unmounts target
// when the test ends.
func rbMount(t *testing.T, target string, args ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting needs root")
	}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Skipf("skipped: mount %s: %v: %s", strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", target).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", target, err, out)
		}
	})
}

// rbTmpfs mounts a tmpfs of size bytes on a new directory and returns it.
func rbTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rbMount(t, dir, "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir)
	return dir
}

// rbFree estimates the free bytes of the tmpfs of size fsSize mounted at
// dir: its size less the pages its files hold.
func rbFree(tb testing.TB, dir string, fsSize int64) int64 {
	tb.Helper()
	used := int64(0)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		used += (info.Size() + 4095) &^ 4095
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fsSize - used
}

// rbRandFile writes size pseudo-random bytes to a new file in dir and
// returns its path and SHA-256.
func rbRandFile(tb testing.TB, dir, name string, size int, seed uint64) (string, [sha256.Size]byte) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, size)
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p, sha256.Sum256(b)
}

// rbRaw opens path with a plain read-only SQLite connection, for checks
// below the tracker's API.
func rbRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func rbCount(tb testing.TB, c *sql.DB, query string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := c.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestRobustDiskFull (promise 7) fills a small tmpfs through the tracker.
// Every failed write must match ErrDiskFull; an artifact larger than the
// free space (which is larger than one 16 MiB staging transaction, as on any
// real disk) must fail, leave no record and no staged bytes, and hold no
// space afterwards; reads go on; SaveArtifact onto the full disk fails with
// ErrDiskFull (the operating system's ENOSPC) and leaves no partial file;
// once a filler file is deleted writes resume; after reopening, every
// acknowledged write is there and no artifact refers to staged (invisible)
// bytes. Writes resume once enough is freed for SQLite to move its
// write-ahead log into the database file: the 12 MiB filler is more than
// the log's limit in this test (8 MiB).
func TestRobustDiskFull(t *testing.T) {
	const fsSize = 48 << 20
	mnt := rbTmpfs(t, fsSize)
	src := t.TempDir() // artifact sources live off the small disk
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	path := filepath.Join(mnt, "m.db")

	// A database that was written and closed cleanly, as most are.
	tr, err := metatrack.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	root, err := tr.CreateResource(ctx, metatrack.TypeDataset, "root")
	if err != nil {
		t.Fatal(err)
	}
	small, smallSum := rbRandFile(t, src, "small.bin", 64<<10, 1)
	if _, err := tr.LogArtifact(ctx, root, "small.bin", small); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	// The log is kept well below the filler's size, so that once the
	// filler is freed there is room to move it into the database file
	// (with the default limit of 64 MiB it reaches 30 MiB here, and Close
	// could not checkpoint it: rightly, it says so).
	tr, err = metatrack.Open(ctx, path, metatrack.WithWALLimit(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}

	type ackTag struct {
		res        metatrack.Resource
		key, value string
	}
	var (
		acked     = []metatrack.Resource{root}
		ackedTags []ackTag
		ackedMeta = map[string]int64{} // resource id -> value of "step"
		ackedArts = map[string][sha256.Size]byte{"small.bin": smallSum}
		failed    = map[string]int{}
	)
	// full reports whether err is a failure, which must be ErrDiskFull.
	full := func(what string, err error) bool {
		t.Helper()
		if err == nil {
			return false
		}
		failed[what]++
		if !errors.Is(err, metatrack.ErrDiskFull) {
			t.Errorf("%s on a full disk: %v, want ErrDiskFull", what, err)
		}
		return true
	}

	t.Run("ArtifactLargerThanFreeSpace", func(t *testing.T) {
		free := rbFree(t, mnt, fsSize)
		if free <= 16<<20 {
			t.Fatalf("only %d KiB free: the artifact would fail inside its first staging transaction", free>>10)
		}
		huge, _ := rbRandFile(t, src, "huge.bin", int(free)+(2<<20), 2)
		_, err := tr.LogArtifact(ctx, root, "huge.bin", huge)
		if !full("LogArtifact larger than the free space", err) {
			t.Fatal("an artifact larger than the free space was stored")
		}
		if _, _, err := tr.GetArtifact(ctx, root, "huge.bin"); !errors.Is(err, metatrack.ErrNotFound) {
			t.Errorf("GetArtifact of the failed artifact = %v, want ErrNotFound", err)
		}
		// Nothing of it holds the disk: no staged chunks (which a full disk
		// would leave no room to delete), no pages in the write-ahead log.
		if n := rbCount(t, rbRaw(t, path), `SELECT count(*) FROM blobs WHERE sha256 IS NULL`); n != 0 {
			t.Errorf("the failed artifact left %d staged blobs", n)
		}
		if after := rbFree(t, mnt, fsSize); after < free-(1<<20) {
			t.Errorf("free space %d KiB before the failed artifact, %d KiB after: its bytes still hold the disk", free>>10, after>>10)
		}
	})

	t.Run("Fill", func(t *testing.T) {
		value := strings.Repeat("v", 60<<10)
		fails := 0
		for i := 0; fails < 20 && i < 10000; i++ {
			r, err := tr.CreateResource(ctx, metatrack.TypeDataset, fmt.Sprintf("d%05d", i))
			if full("CreateResource", err) {
				fails++
				continue
			}
			acked = append(acked, r)
			key := fmt.Sprintf("k%d", i)
			if err := tr.LogTag(ctx, r, key, value); full("LogTag", err) {
				fails++
			} else {
				ackedTags = append(ackedTags, ackTag{r, key, value})
			}
			if err := tr.LogMetadata(ctx, r, "step", i); full("LogMetadata", err) {
				fails++
			} else {
				ackedMeta[r.ID] = int64(i)
			}
		}
		if fails == 0 {
			t.Fatalf("the %d MiB disk never filled up", fsSize>>20)
		}
		p, sum := rbRandFile(t, src, "mid.bin", 256<<10, 3)
		if _, err := tr.LogArtifact(ctx, root, "mid.bin", p); !full("LogArtifact on a full disk", err) {
			ackedArts["mid.bin"] = sum
		}
		if _, err := tr.UpdateResource(ctx, root, metatrack.Updates{"status": "FULL"}); !full("UpdateResource", err) {
			root.Status = "FULL"
		}
		t.Logf("failed writes: %v", failed)
	})

	t.Run("ReadsOnFullDisk", func(t *testing.T) {
		for _, r := range acked[:min(len(acked), 50)] {
			if _, err := tr.GetResource(ctx, r.ID, ""); err != nil {
				t.Fatalf("read on a full disk: %v", err)
			}
		}
		arts, err := tr.Artifacts(ctx, root, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			if _, ok := ackedArts[a.Name]; !ok {
				t.Errorf("failed artifact %s has a record", a.Name)
			}
		}
		// Saving an artifact onto the full disk fails with ErrDiskFull
		// (the operating system's ENOSPC) and leaves no partial file.
		dst := filepath.Join(mnt, "saved")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Skipf("no room left even for a directory: %v", err)
		}
		_, err = tr.SaveArtifact(ctx, root, "small.bin", dst)
		if err == nil {
			t.Logf("SaveArtifact found room for 64 KiB on the full disk")
		} else if !errors.Is(err, metatrack.ErrDiskFull) {
			t.Errorf("SaveArtifact onto a full disk = %v, want ErrDiskFull", err)
		}
		if err != nil {
			if left, _ := os.ReadDir(dst); len(left) != 0 {
				t.Errorf("failed SaveArtifact left %v", left)
			}
		}
	})

	t.Run("ResumeAfterFreeing", func(t *testing.T) {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		r, err := tr.CreateResource(ctx, metatrack.TypeDataset, "after")
		if err != nil {
			t.Fatalf("write after freeing space: %v", err)
		}
		acked = append(acked, r)
		if err := tr.LogTag(ctx, r, "resumed", "yes"); err != nil {
			t.Fatalf("tag after freeing space: %v", err)
		}
		ackedTags = append(ackedTags, ackTag{r, "resumed", "yes"})
		if err := tr.LogMetadata(ctx, r, "step", -1); err != nil {
			t.Fatalf("metadata after freeing space: %v", err)
		}
		ackedMeta[r.ID] = -1
		p, sum := rbRandFile(t, src, "resumed.bin", 1<<20, 4)
		if _, err := tr.LogArtifact(ctx, root, "resumed.bin", p); err != nil {
			t.Fatalf("artifact after freeing space: %v", err)
		}
		ackedArts["resumed.bin"] = sum
	})
	if err := tr.Close(); err != nil {
		t.Errorf("Close after the disk was full: %v", err)
	}

	// Reopen: every acknowledged write is there, nothing else is visible.
	tr2, err := metatrack.Open(ctx, path, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	for _, r := range acked {
		got, err := tr2.GetResource(ctx, r.ID, "")
		if err != nil || got.Ref() != r.Ref() {
			t.Errorf("acknowledged %s lost: %v", r.Ref(), err)
		}
	}
	for _, a := range ackedTags {
		if v, err := tr2.GetTag(ctx, a.res, a.key); err != nil || v != a.value {
			t.Errorf("acknowledged tag %s of %s lost: %v", a.key, a.res.Ref(), err)
		}
	}
	for id, want := range ackedMeta {
		if v, err := tr2.GetMetadata(ctx, metatrack.Resource{ID: id}, "step"); err != nil || v != want {
			t.Errorf("acknowledged metadata of %s: %v, %v; want %d", id, v, err, want)
		}
	}
	arts, err := tr2.Artifacts(ctx, root, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != len(ackedArts) {
		t.Errorf("after reopening: %d artifacts, want %d", len(arts), len(ackedArts))
	}
	for name, want := range ackedArts {
		_, rc, err := tr2.GetArtifact(ctx, root, name)
		if err != nil {
			t.Errorf("acknowledged artifact %s: %v", name, err)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil || [sha256.Size]byte(h.Sum(nil)) != want {
			t.Errorf("acknowledged artifact %s: %v (or its bytes differ)", name, err)
		}
	}
	raw := rbRaw(t, path)
	if n := rbCount(t, raw, `SELECT count(*) FROM artifacts a JOIN blobs b ON b.seq = a.blob_seq WHERE b.sha256 IS NULL`); n != 0 {
		t.Errorf("%d artifacts refer to staged bytes", n)
	}
	staged := rbCount(t, raw, `SELECT count(*) FROM blobs WHERE sha256 IS NULL`)
	t.Logf("acknowledged %d resources, %d tags, %d metadata, %d artifacts; %d staged blobs left for GC",
		len(acked), len(ackedTags), len(ackedMeta), len(ackedArts), staged)
}

// rbFixtureFile writes a populated metatrack database, closed cleanly (one
// file, no -wal), to dir/name and returns its path and contents.
func rbFixtureFile(tb testing.TB, dir, name string, seed uint64) (string, *rbFixture) {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, name)
	tr, err := metatrack.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	fx := rbPopulate(tb, ctx, tr, tb.TempDir(), seed)
	if err := tr.Close(); err != nil {
		tb.Fatal(err)
	}
	if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > 0 {
		tb.Fatalf("Close left a -wal of %d bytes", info.Size())
	}
	return path, fx
}

// rbTimes records how long each refusal took.
type rbTimes struct {
	n          int
	total, max time.Duration
	maxWhat    string
}

func (r *rbTimes) add(what string, d time.Duration) {
	r.n++
	r.total += d
	if d > r.max {
		r.max, r.maxWhat = d, what
	}
}

func (r *rbTimes) String() string {
	if r.n == 0 {
		return "none"
	}
	return fmt.Sprintf("%d opens, mean %v, max %v (%s)", r.n, (r.total / time.Duration(r.n)).Round(time.Microsecond), r.max.Round(time.Microsecond), r.maxWhat)
}

// rbRefused opens path (with opts) and checks that it is refused with an
// error matching one of want, in bounded time, without a panic, and without
// changing the database file or its -wal; the -shm too unless shmMayChange.
func rbRefused(t *testing.T, times *rbTimes, what, path string, shmMayChange bool, want []error, opts ...metatrack.Option) error {
	t.Helper()
	before := fileBytes(t, path)
	err, d := rbBounded(t, 30*time.Second, "Open of "+what, func(ctx context.Context) error {
		tr, err := metatrack.Open(ctx, path, opts...)
		if err == nil {
			tr.Close()
		}
		return err
	})
	times.add(what, d)
	if err == nil {
		t.Errorf("%s: opened, want a refusal", what)
		return nil
	}
	ok := false
	for _, w := range want {
		ok = ok || errors.Is(err, w)
	}
	if !ok {
		t.Errorf("%s: Open = %v, want one of %v", what, err, want)
	}
	after := fileBytes(t, path)
	for i, suffix := range []string{"", "-wal", "-shm"} {
		if i == 2 && shmMayChange {
			continue
		}
		if !bytes.Equal(before[i], after[i]) {
			t.Errorf("%s: refusing changed %q (%d bytes before, %d after)", what, "db"+suffix, len(before[i]), len(after[i]))
		}
	}
	return err
}

var (
	rbCorruptOrNotDB = []error{metatrack.ErrCorrupt, metatrack.ErrNotDatabase}
	rbNotDB          = []error{metatrack.ErrNotDatabase}
	rbTooNew         = []error{metatrack.ErrSchemaTooNew}
)

// TestRobustRefusesTruncated (promise 6) cuts a real metatrack file with
// data at 26 points, inside the header, at page boundaries and inside pages:
// each cut file is refused (ErrCorrupt or ErrNotDatabase), read-write and
// read-only, and left as it was. SQLite itself notices a cut at a page
// boundary (page 1 records the page count); a cut inside a page is caught by
// Open's whole-pages check, and a file shorter than one page is never a
// database (SQLite would take a 1-byte file for an empty one).
func TestRobustRefusesTruncated(t *testing.T) {
	dir := t.TempDir()
	src, _ := rbFixtureFile(t, dir, "src.db", 1)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	n := len(orig)
	const page = 4096
	cuts := []int{1, 16, 50, 99, 100, 101, 511, 512, 1000, page - 1, page, page + 1, page + 100, 2 * page,
		5*page + 2000, n / 4 / page * page, n/4/page*page + 777, n / 2 / page * page, n/2/page*page + 3000,
		3 * n / 4 / page * page, 3*n/4/page*page + 1, n - page, n - page + 1, n - 100, n - 2, n - 1}
	var times rbTimes
	for _, cut := range cuts {
		for _, ro := range []bool{false, true} {
			name := fmt.Sprintf("cut%d-ro%v", cut, ro)
			p := filepath.Join(dir, name+".db")
			if err := os.WriteFile(p, orig[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			var opts []metatrack.Option
			if ro {
				opts = append(opts, metatrack.WithReadOnly())
			}
			rbRefused(t, &times, fmt.Sprintf("file of %d bytes cut at %d (read-only %v)", n, cut, ro), p, false, rbCorruptOrNotDB, opts...)
		}
	}
	t.Logf("refusals of truncated files: %v", &times)
}

// TestRobustRefusesNonDatabases (promise 6, beyond open_test.go's
// TestOpenRefusesNonDatabases, whose cases it runs read-only only): files
// that are no metatrack database are refused with ErrNotDatabase (or
// ErrCorrupt), read-write and read-only, and left untouched. A file of one
// byte matters: SQLite takes it for an empty database, in which metatrack
// would start a new one.
func TestRobustRefusesNonDatabases(t *testing.T) {
	dir := t.TempDir()
	otherApp := func(name, journal string) []byte {
		p := filepath.Join(dir, name)
		c, err := sql.Open("sqlite", "file:"+p+"?_pragma=journal_mode("+journal+")")
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance REAL)`,
			`INSERT INTO accounts VALUES (1, 2.5)`} {
			if _, err := c.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rng := rand.New(rand.NewPCG(7, 7))
	garbage := make([]byte, 4*4096)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	csv := []byte(strings.Repeat("name,age,fare\nana,31,7.25\n", 400))
	cases := []struct {
		name    string
		content []byte
		covered bool // by TestOpenRefusesNonDatabases, read-write
	}{
		{"Empty", nil, true},
		{"OneByte", []byte("S"), false},
		{"SQLiteMagicOnly", []byte("SQLite format 3\x00"), false},
		{"ShortText", []byte("name,age\nana,31\n"), true},
		{"TextOfOnePage", csv[:4096], false},
		{"Text", csv, false},
		{"Garbage", garbage, false},
		{"OtherAppRollbackJournal", otherApp("app1.db", "DELETE"), true},
		{"OtherAppWAL", otherApp("app2.db", "WAL"), false},
	}
	var times rbTimes
	for _, tc := range cases {
		for _, ro := range []bool{false, true} {
			if tc.covered && !ro {
				continue
			}
			p := filepath.Join(dir, fmt.Sprintf("%s-ro%v.db", tc.name, ro))
			if err := os.WriteFile(p, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			var opts []metatrack.Option
			if ro {
				opts = append(opts, metatrack.WithReadOnly())
			}
			rbRefused(t, &times, fmt.Sprintf("%s (read-only %v)", tc.name, ro), p, false, rbCorruptOrNotDB, opts...)
		}
	}
	t.Logf("refusals of non-databases: %v", &times)
}

// rbPage is one page of a database file as the dbstat table describes it.
type rbPage struct {
	no         int
	btree, typ string // typ: leaf, internal or overflow
	ncell      int
	table      bool // btree is a table (its cells hold rows), not an index
}

// rbPages lists the pages of the database at path, by dbstat.
func rbPages(tb testing.TB, path string) []rbPage {
	tb.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Query(`SELECT d.pageno, d.name, d.pagetype, d.ncell, coalesce(m.type, 'table')
		FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name ORDER BY d.pageno`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var pages []rbPage
	for rows.Next() {
		var p rbPage
		var kind string
		if err := rows.Scan(&p.no, &p.btree, &p.typ, &p.ncell, &kind); err != nil {
			tb.Fatal(err)
		}
		p.table = kind == "table"
		pages = append(pages, p)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return pages
}

// rbIntegrity runs PRAGMA integrity_check on a damaged copy without
// changing it, and reports whether SQLite found it intact.
func rbIntegrity(tb testing.TB, path string) bool {
	tb.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	var res string
	err = c.QueryRow(`PRAGMA integrity_check(1)`).Scan(&res)
	return err == nil && res == "ok"
}

// TestRobustFlippedBytes (promise 6) inverts one byte of a real metatrack
// file, on a fresh copy each time, at 100+ positions: the header fields, and
// on one page of every kind (each table's and index's leaf, interior and
// overflow pages) the page type, cell count, content offset, a cell pointer
// and cell content, plus positions spread evenly over the file. Then it
// opens the copy and reads everything (Search, every resource, tag,
// metadata, history, artifact byte and the lineage).
//
// What is asserted, for every position:
//   - no panic and no hang (a watchdog fails the test);
//   - when Open refuses, the error is ErrCorrupt, ErrNotDatabase or
//     ErrSchemaTooNew and the file is unchanged;
//   - when Open succeeds, the full read either succeeds or fails with
//     ErrCorrupt or ErrNotDatabase: any other error (a scan error, a failed
//     migration) is a bug;
//   - artifact bytes never come back different without an error: they are
//     hash-verified;
//   - other values may come back altered, or a lookup may miss (ErrNotFound)
//     only where SQLite cannot tell: either integrity_check finds the damage
//     (what Verify will run), or the byte was a value inside a table row
//     (leaf or overflow page), which no checksum covers.
//
// A flip in unused space, or in a header field SQLite recomputes, opens
// and reads as if nothing happened.
func TestRobustFlippedBytes(t *testing.T) {
	dir := t.TempDir()
	src, fx := rbFixtureFile(t, dir, "src.db", 1)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	pages := rbPages(t, src)
	pageOf := map[int]rbPage{}
	for _, p := range pages {
		pageOf[p.no] = p
	}
	type flip struct {
		off  int
		what string
	}
	var flips []flip
	// The header: magic, page size, format versions, reserved space,
	// payload fractions, change counter, page count, freelist, schema
	// cookie and format, cache size, vacuum, encoding, user version,
	// application id, version-valid-for, SQLite version.
	for _, off := range []int{0, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 28, 31, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 92, 96} {
		flips = append(flips, flip{off, fmt.Sprintf("header byte %d", off)})
	}
	seen := map[string]bool{}
	for _, p := range pages {
		kind := p.btree + " " + p.typ
		if seen[kind] {
			continue
		}
		seen[kind] = true
		base := (p.no - 1) * pageSize
		what := fmt.Sprintf("%s page %d", kind, p.no)
		if p.typ == "overflow" {
			flips = append(flips, flip{base + 3, what + ", next-page pointer"}, flip{base + 2000, what + ", payload"})
			continue
		}
		hdr := base
		if p.no == 1 {
			hdr += 100
		}
		flips = append(flips, flip{hdr, what + ", page type"}, flip{hdr + 4, what + ", cell count"})
		ptrs := hdr + 8
		if p.typ == "internal" {
			ptrs = hdr + 12
			flips = append(flips, flip{hdr + 11, what + ", right child"})
		}
		if p.ncell > 0 {
			content := int(orig[hdr+5])<<8 | int(orig[hdr+6])
			flips = append(flips, flip{ptrs + 1, what + ", first cell pointer"},
				flip{base + content + 2, what + ", first cell"},
				flip{base + content + (pageSize-content)*2/3, what + ", cell content"})
		}
	}
	for i := 0; i < 30; i++ {
		off := 100 + i*(len(orig)-100)/30 + i*131%pageSize
		p := pageOf[off/pageSize+1]
		flips = append(flips, flip{off, fmt.Sprintf("spread #%d in %s %s page %d", i, p.btree, p.typ, off/pageSize+1)})
	}

	var times rbTimes
	outcomes := map[string]int{}
	for i, f := range flips {
		p := filepath.Join(dir, fmt.Sprintf("flip%03d.db", i))
		b := bytes.Clone(orig)
		b[f.off] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		intact := rbIntegrity(t, p)
		pg := pageOf[f.off/pageSize+1]
		valueByte := pg.table && (pg.typ == "leaf" || pg.typ == "overflow")
		before := fileBytes(t, p)
		var opened bool
		var diffs, badBytes []string
		err, d := rbBounded(t, 30*time.Second, f.what, func(ctx context.Context) error {
			tr, err := metatrack.Open(ctx, p)
			if err != nil {
				return err
			}
			defer tr.Close()
			opened = true
			diffs, badBytes, err = rbReadAll(ctx, tr, fx)
			return err
		})
		times.add(f.what, d)
		label := fmt.Sprintf("%s (offset %d, integrity_check ok %v)", f.what, f.off, intact)
		switch {
		case !opened:
			outcomes["refused by Open"]++
			if !rbTyped(err) {
				t.Errorf("%s: Open = %v, want ErrCorrupt, ErrNotDatabase or ErrSchemaTooNew", label, err)
			}
			rbSameBytes(t, label, p, before)
		case err != nil && (errors.Is(err, metatrack.ErrCorrupt) || errors.Is(err, metatrack.ErrNotDatabase)):
			outcomes["opened, read failed with ErrCorrupt"]++
		case err != nil && !errors.Is(err, metatrack.ErrNotFound):
			outcomes["opened, read failed untyped"]++
			t.Errorf("%s: read failed with an untyped error: %v", label, err)
		case err != nil || len(diffs) > 0:
			outcomes["opened, values altered or missing"]++
			if intact && !valueByte {
				t.Errorf("%s: values altered or missing (%v, %v) though integrity_check finds nothing and the byte is not a row's value", label, err, diffs)
			}
		default:
			outcomes["opened, read back intact"]++
		}
		if len(badBytes) > 0 {
			t.Errorf("%s: %v", label, badBytes)
		}
	}
	t.Logf("%d flipped positions: %v", len(flips), outcomes)
	t.Logf("open and full read of flipped files: %v", &times)
}

// rbLiveCopy runs stmts on the database at src through a connection that
// does not checkpoint, and copies the file with its -wal and -shm to dst
// while that connection is still open: dst then looks like a database whose
// writer died with those commits in its write-ahead log.
func rbLiveCopy(tb testing.TB, src, dst string, stmts ...string) {
	tb.Helper()
	c, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	for _, q := range append([]string{"PRAGMA wal_autocheckpoint = 0", "PRAGMA journal_mode = WAL"}, stmts...) {
		if _, err := c.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		rbCopy(tb, src+suffix, dst+suffix)
	}
}

// TestRobustRefusesNewerSchema (promise 6, beyond open_test.go's
// TestOpenRefusesNewerSchema): a newer schema is refused with
// ErrSchemaTooNew also when the newer version is only in the -wal of a
// writer that died, when only schema_applied knows it, read-only as well as
// read-write; and a file whose SQLite file format this library may read but
// not write is refused for writing and served read-only. Refused files keep
// their bytes; reading a -wal may update the read marks in its -shm, as
// every SQLite reader does.
func TestRobustRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var times rbTimes
	both := func(name string, mk func(p string), shmMayChange bool) {
		for _, ro := range []bool{false, true} {
			p := filepath.Join(dir, fmt.Sprintf("%s-ro%v.db", name, ro))
			mk(p)
			var opts []metatrack.Option
			if ro {
				opts = append(opts, metatrack.WithReadOnly())
			}
			rbRefused(t, &times, fmt.Sprintf("%s (read-only %v)", name, ro), p, shmMayChange, rbTooNew, opts...)
		}
	}
	src, fx := rbFixtureFile(t, dir, "src.db", 1)
	both("NewerInWAL", func(p string) {
		tmp := filepath.Join(t.TempDir(), "live.db")
		rbCopy(t, src, tmp)
		rbLiveCopy(t, tmp, p, `INSERT INTO schema_applied VALUES (99, 0)`,
			`UPDATE schema_migrations SET version = 99`, `CREATE TABLE from_the_future (x)`)
	}, false)
	both("NewerInSchemaAppliedOnly", func(p string) {
		rbCopy(t, src, p)
		c, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Exec(`INSERT INTO schema_applied VALUES (99, 0)`); err != nil {
			t.Fatal(err)
		}
	}, false)

	// SQLite file format write version 3: readable, not writable.
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b[18] = 3
	p := filepath.Join(dir, "format3.db")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rbRefused(t, &times, "file format write version 3", p, false, rbTooNew)
	tr, err := metatrack.Open(ctx, p, metatrack.WithReadOnly())
	if err != nil {
		t.Fatalf("read-only open of file format write version 3: %v", err)
	}
	defer tr.Close()
	diffs, bad, err := rbReadAll(ctx, tr, fx)
	if err != nil || len(diffs) > 0 || len(bad) > 0 {
		t.Errorf("read-only read of file format write version 3: %v %v %v", err, diffs, bad)
	}
	t.Logf("refusals of newer files: %v", &times)
}

// TestRobustMismatchedWAL (promise 6) puts a -wal that does not belong to
// the database beside it. SQLite's write-ahead log names no database: its
// frames carry page numbers and checksums of their own, so SQLite replays
// any well-formed log over any file of the same page size. What can be
// asserted per case:
//   - a log of another application's database: the pages it replaces make
//     the file another application's, refused with ErrNotDatabase; the
//     database file and the -wal keep their bytes, and so does the -shm
//     when there is one (without one SQLite must create it to read the log);
//   - a log of another page size replaces the file's pages all the same
//     (SQLite takes the log's page size): refused like the above;
//   - a log that is not a log at all (random bytes, a cut or damaged
//     header): SQLite ignores it, and the file opens with its own data,
//     intact;
//   - a log of another metatrack database (or of another copy of this one,
//     the usual way to get here: a file restored beside its old -wal) cannot
//     be told from the database's own log: what it holds is served. Then
//     only the general promises hold: no panic, no hang, every error typed,
//     artifact bytes never silently wrong. Open refuses it when its pages
//     contradict the file's schema bookkeeping (checkBookkeeping in db).
func TestRobustMismatchedWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	target, fx := rbFixtureFile(t, dir, "target.db", 1)
	var times rbTimes

	// logOf returns the -wal (and -shm) that stmts leave beside a copy of
	// db when its writer dies.
	logOf := func(db string, stmts ...string) (wal, shm []byte) {
		tmp := filepath.Join(t.TempDir(), "src.db")
		if db != "" {
			rbCopy(t, db, tmp)
		}
		dst := filepath.Join(t.TempDir(), "copy.db")
		rbLiveCopy(t, tmp, dst, stmts...)
		return rbMust(os.ReadFile(dst + "-wal")).of(t), rbMust(os.ReadFile(dst + "-shm")).of(t)
	}
	place := func(name string, wal, shm []byte) string {
		p := filepath.Join(dir, name+".db")
		rbCopy(t, target, p)
		if err := os.WriteFile(p+"-wal", wal, 0o644); err != nil {
			t.Fatal(err)
		}
		if shm != nil {
			if err := os.WriteFile(p+"-shm", shm, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	// opensIntact opens p and reads everything: no error, fx's data.
	opensIntact := func(name, p string) {
		t.Helper()
		err, d := rbBounded(t, 30*time.Second, name, func(ctx context.Context) error {
			tr, err := metatrack.Open(ctx, p)
			if err != nil {
				return err
			}
			defer tr.Close()
			diffs, bad, err := rbReadAll(ctx, tr, fx)
			if err == nil && len(diffs)+len(bad) > 0 {
				err = fmt.Errorf("data differs: %v %v", diffs, bad)
			}
			return err
		})
		times.add(name, d)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	t.Run("OtherApplication", func(t *testing.T) {
		wal, shm := logOf("", `CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance REAL)`,
			`INSERT INTO accounts VALUES (1, 2.5)`)
		for _, ro := range []bool{false, true} {
			var opts []metatrack.Option
			if ro {
				opts = append(opts, metatrack.WithReadOnly())
			}
			p := place(fmt.Sprintf("app-shm-ro%v", ro), wal, shm)
			rbRefused(t, &times, fmt.Sprintf("another application's -wal and -shm (read-only %v)", ro), p, false, rbNotDB, opts...)
			p = place(fmt.Sprintf("app-ro%v", ro), wal, nil)
			rbRefused(t, &times, fmt.Sprintf("another application's -wal (read-only %v)", ro), p, true, rbNotDB, opts...)
		}
	})

	t.Run("NotALog", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		garbage := make([]byte, 3*4096)
		for i := range garbage {
			garbage[i] = byte(rng.Uint32())
		}
		opensIntact("random bytes as -wal", place("garbage", garbage, nil))
		wal, _ := logOf(target, `UPDATE tags SET value = 'changed'`)
		opensIntact("-wal with a cut header", place("cut-header", wal[:20], nil))
		// A log whose header was damaged: its checksum fails.
		bad := bytes.Clone(wal)
		bad[12] ^= 0xff
		opensIntact("-wal with a damaged header", place("bad-header", bad, nil))
	})

	t.Run("OtherPageSize", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "big-pages.db")
		c, err := sql.Open("sqlite", "file:"+p+"?_pragma=page_size(8192)")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(`CREATE TABLE tags (x)`); err != nil {
			t.Fatal(err)
		}
		c.Close()
		wal, _ := logOf(p, `INSERT INTO tags VALUES ('x')`, `CREATE TABLE more (y)`)
		// SQLite takes the log's page size: the file becomes the other
		// database.
		rbRefused(t, &times, "-wal of 8 KiB pages", place("pagesize", wal, nil), true, rbCorruptOrNotDB)
	})

	t.Run("OtherMetatrackDatabase", func(t *testing.T) {
		other, _ := rbFixtureFile(t, t.TempDir(), "other.db", 2)
		small := filepath.Join(t.TempDir(), "small.db")
		tr, err := metatrack.Open(ctx, small)
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
		cases := map[string]string{
			// The same layout: another copy of this database, changed.
			"SameLayout": target,
			// Another metatrack database with other data.
			"OtherData": other,
			// A new, small metatrack database.
			"Small": small,
		}
		for name, db := range cases {
			wal, _ := logOf(db, `UPDATE tags SET value = 'from the other database'`,
				`INSERT INTO resources (id, type, name, created_at, updated_at) VALUES ('intruder', 'dataset', 'intruder', 0, 0)`)
			p := place("metatrack-"+name, wal, nil)
			var diffs, badBytes []string
			opened := false
			err, d := rbBounded(t, 30*time.Second, name, func(ctx context.Context) error {
				tr, err := metatrack.Open(ctx, p)
				if err != nil {
					return err
				}
				defer tr.Close()
				opened = true
				diffs, badBytes, err = rbReadAll(ctx, tr, fx)
				return err
			})
			times.add("another metatrack database's -wal: "+name, d)
			switch {
			case !opened && !rbTyped(err):
				t.Errorf("%s: Open = %v, want a typed refusal", name, err)
			case opened && err != nil && !errors.Is(err, metatrack.ErrCorrupt) && !errors.Is(err, metatrack.ErrNotDatabase) &&
				!errors.Is(err, metatrack.ErrNotFound):
				t.Errorf("%s: read failed with an untyped error: %v", name, err)
			}
			if len(badBytes) > 0 {
				t.Errorf("%s: %v", name, badBytes)
			}
			t.Logf("%s: opened %v, error %v, %d values from the other database", name, opened, err, len(diffs))
		}
	})
	t.Logf("opens with a mismatched -wal: %v", &times)
}

// rbReadOnlyBind bind-mounts dir read-only on a new directory and returns
// it: as root, permission bits do not stop writes, a read-only mount does.
func rbReadOnlyBind(t *testing.T, dir string) string {
	t.Helper()
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	rbMount(t, ro, "--bind", dir, ro)
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot remount %s read-only: %v: %s", ro, err, out)
	}
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o644); err == nil {
		t.Fatalf("%s is writable after a read-only remount", ro)
	}
	return ro
}

// rbWrites tries every kind of write on tr and checks that each fails with
// ErrReadOnly.
func rbWrites(t *testing.T, ctx context.Context, tr *metatrack.Tracker, fx *rbFixture) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(src, []byte("artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	var exp metatrack.Resource
	for _, r := range fx.Resources {
		if r.Type == metatrack.TypeExperiment {
			exp = r
		}
	}
	writes := map[string]func() error{
		"CreateResource": func() error { _, err := tr.CreateResource(ctx, metatrack.TypeDataset, "new"); return err },
		"CreateVersion":  func() error { _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic"); return err },
		"LogTag":         func() error { return tr.LogTag(ctx, fx.DV, "k", "v") },
		"DeleteTag":      func() error { return tr.DeleteTag(ctx, fx.DV, "source") },
		"LogMetadata":    func() error { return tr.LogMetadata(ctx, fx.DV, "k", 1) },
		"LogArtifact":    func() error { _, err := tr.LogArtifact(ctx, fx.DV, "a.txt", src); return err },
		"LogDataProfile": func() error { _, err := tr.LogDataProfile(ctx, fx.DV, src); return err },
		"UpdateResource": func() error {
			_, err := tr.UpdateResource(ctx, fx.MV, metatrack.Updates{"status": metatrack.StatusRegistered})
			return err
		},
		"CleanResource":        func() error { return tr.CleanResource(ctx, exp, "") },
		"BuildModelLineage":    func() error { return tr.BuildModelLineage(ctx, fx.MV, []metatrack.Resource{fx.DV}) },
		"SetWinningExperiment": func() error { return tr.SetWinningExperiment(ctx, fx.MV, exp) },
		"RegisterVCResource": func() error {
			return tr.RegisterVCResource(ctx, fx.DV, map[string]any{"hexsha": "9fceb02"})
		},
		"Deploy":  func() error { _, err := tr.Deploy(ctx, fx.MV); return err },
		"Promote": func() error { _, err := tr.Promote(ctx, fx.MV, metatrack.Promotion{Reason: "UPLIFT"}); return err },
		"Batch": func() error {
			return tr.Batch(ctx, func(b *metatrack.Tracker) error { return b.LogTag(ctx, fx.DV, "k", "v") })
		},
	}
	names := make([]string, 0, len(writes))
	for name := range writes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writes[name](); !errors.Is(err, metatrack.ErrReadOnly) {
			t.Errorf("%s on a read-only tracker = %v, want ErrReadOnly", name, err)
		}
	}
}

// rbReads runs, besides rbReadAll, the reads rbReadAll does not: previous
// versions, the winning experiment, impact and provenance walks, runs,
// state at a time, and saving an artifact to a writable directory.
func rbReads(t *testing.T, ctx context.Context, tr *metatrack.Tracker, fx *rbFixture) {
	t.Helper()
	diffs, bad, err := rbReadAll(ctx, tr, fx)
	if err != nil || len(diffs)+len(bad) > 0 {
		t.Fatalf("full read: %v %v %v", err, diffs, bad)
	}
	if prev, err := tr.GetPrevResourceVersion(ctx, fx.DV); err != nil || prev.Version != 1 {
		t.Errorf("GetPrevResourceVersion: %v, %v", prev, err)
	}
	if _, err := tr.GetWinningExperiment(ctx, fx.MV); err != nil {
		t.Errorf("GetWinningExperiment: %v", err)
	}
	if _, err := tr.Impact(ctx, fx.DV); err != nil {
		t.Errorf("Impact: %v", err)
	}
	if _, err := tr.Provenance(ctx, fx.MV); err != nil {
		t.Errorf("Provenance: %v", err)
	}
	if _, err := tr.Runs(ctx); err != nil {
		t.Errorf("Runs: %v", err)
	}
	if _, err := tr.StateAt(ctx, fx.DV, time.Now()); err != nil {
		t.Errorf("StateAt: %v", err)
	}
	if _, err := tr.SaveArtifact(ctx, fx.DV, "profile.json", t.TempDir()); err != nil {
		t.Errorf("SaveArtifact: %v", err)
	}
	page, err := tr.Search(ctx, `type = 'dataset_version' AND tags.source LIKE 's3://%'`)
	if err != nil || len(page.Resources) != 2 {
		t.Errorf("Search: %d resources, %v", len(page.Resources), err)
	}
}

// TestRobustReadOnly (promise 8): a file opened WithReadOnly, and a file
// the process cannot write (a read-only mount; as root, permission bits do
// not stop writes), serves every read, and every write fails with
// ErrReadOnly. The file keeps its bytes.
func TestRobustReadOnly(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, path string, fx *rbFixture, opts ...metatrack.Option) {
		t.Helper()
		before := fileBytes(t, path)
		tr, err := metatrack.Open(ctx, path, opts...)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		rbReads(t, ctx, tr, fx)
		rbWrites(t, ctx, tr, fx)
		if err := tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if after := fileBytes(t, path); !bytes.Equal(before[0], after[0]) || !bytes.Equal(before[1], after[1]) {
			t.Errorf("a read-only tracker changed the file or its -wal")
		}
	}
	t.Run("WithReadOnly", func(t *testing.T) {
		path, fx := rbFixtureFile(t, t.TempDir(), "m.db", 1)
		check(t, path, fx, metatrack.WithReadOnly())
	})
	t.Run("ReadOnlyMountWithReadOnly", func(t *testing.T) {
		dir := t.TempDir()
		_, fx := rbFixtureFile(t, dir, "m.db", 1)
		check(t, filepath.Join(rbReadOnlyBind(t, dir), "m.db"), fx, metatrack.WithReadOnly())
	})
	t.Run("ReadOnlyMount", func(t *testing.T) {
		// Opened as for writing: the tracker finds it cannot write, serves
		// reads, starts no run and fails writes with ErrReadOnly.
		dir := t.TempDir()
		_, fx := rbFixtureFile(t, dir, "m.db", 1)
		check(t, filepath.Join(rbReadOnlyBind(t, dir), "m.db"), fx)
	})
	t.Run("ReadOnlyMountAfterCrash", func(t *testing.T) {
		// A writer died with commits in its -wal, then the disk was made
		// read-only: the commits in the log are served.
		dir := t.TempDir()
		src, fx := rbFixtureFile(t, t.TempDir(), "src.db", 1)
		path := filepath.Join(dir, "m.db")
		rbLiveCopy(t, src, path, `UPDATE tags SET value = 'in the log' WHERE key = 'framework'`)
		fx.Tags[fx.MV.ID]["framework"] = "in the log"
		check(t, filepath.Join(rbReadOnlyBind(t, dir), "m.db"), fx, metatrack.WithReadOnly())
	})
	t.Run("ReadOnlyMountLogWithoutShm", func(t *testing.T) {
		// A -wal without its -shm on a read-only disk: SQLite cannot read
		// the log there, and serving the file without it would lose its
		// commits. Refused with ErrReadOnly, saying what to do.
		dir := t.TempDir()
		src, _ := rbFixtureFile(t, t.TempDir(), "src.db", 1)
		path := filepath.Join(dir, "m.db")
		rbLiveCopy(t, src, path, `UPDATE tags SET value = 'in the log'`)
		if err := os.Remove(path + "-shm"); err != nil {
			t.Fatal(err)
		}
		ro := filepath.Join(rbReadOnlyBind(t, dir), "m.db")
		var times rbTimes
		rbRefused(t, &times, "-wal without -shm on a read-only disk", ro, false, []error{metatrack.ErrReadOnly}, metatrack.WithReadOnly())
	})
}

// TestRobustCleanClose (promise 10): after Close no -wal or -shm content is
// needed. Two trackers write the same file at once, with artifacts and
// enough writes that SQLite checkpoints on its own in between; one closes
// first (while the other still writes), the other last. Then only the main
// file is copied to another directory, and everything both wrote is there:
// opened read-only and read-write.
func TestRobustCleanClose(t *testing.T) {
	for _, firstToClose := range []string{"A", "B"} {
		t.Run("ClosesFirst"+firstToClose, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			path := filepath.Join(dir, "m.db")
			a, err := metatrack.Open(ctx, path, metatrack.WithRunName("A"))
			if err != nil {
				t.Fatal(err)
			}
			srcDir := t.TempDir()
			fx := rbPopulate(t, ctx, a, srcDir, 1)
			b, err := metatrack.Open(ctx, path, metatrack.WithRunName("B"))
			if err != nil {
				t.Fatal(err)
			}
			runs := []string{a.Run().ID, b.Run().ID}
			trackers := map[string]*metatrack.Tracker{"A": a, "B": b}
			var mu sync.Mutex // guards fx while both trackers write
			// write makes n resources with a tag each through the tracker
			// name, half of them in one batch, and an artifact, and records
			// them in fx.
			write := func(name, phase string, n int) error {
				tr := trackers[name]
				one := func(tr *metatrack.Tracker, i int) error {
					r, err := tr.CreateResource(ctx, metatrack.TypeDataset, fmt.Sprintf("%s-%s-%d", name, phase, i))
					if err != nil {
						return err
					}
					v := fmt.Sprintf("%s wrote %d %s", name, i, strings.Repeat(".", 500))
					if err := tr.LogTag(ctx, r, "by", v); err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					fx.add(r)
					fx.Tags[r.ID] = map[string]string{"by": v}
					fx.Metadata[r.ID] = map[string]any{}
					return nil
				}
				err := tr.Batch(ctx, func(tx *metatrack.Tracker) error {
					for i := 0; i < n/2; i++ {
						if err := one(tx, i); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				for i := n / 2; i < n; i++ {
					if err := one(tr, i); err != nil {
						return err
					}
				}
				art := fmt.Sprintf("%s-%s.bin", name, phase)
				p, sum := rbRandFile(t, srcDir, art, 200<<10, uint64(len(art)+n))
				if _, err := tr.LogArtifact(ctx, fx.MV, art, p); err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				fx.Artifacts[fx.MV.ID][art] = sum
				fx.Sizes[fx.MV.ID][art] = 200 << 10
				return nil
			}
			errB := make(chan error, 1)
			go func() { errB <- write("B", "together", 400) }()
			if err := write("A", "together", 400); err != nil {
				t.Fatal(err)
			}
			if err := <-errB; err != nil {
				t.Fatal(err)
			}

			first, last := trackers[firstToClose], trackers[map[string]string{"A": "B", "B": "A"}[firstToClose]]
			lastName := map[string]string{"A": "B", "B": "A"}[firstToClose]
			if err := first.Close(); err != nil {
				t.Fatalf("first Close: %v", err)
			}
			// The other goes on writing after the first closed.
			if err := write(lastName, "alone", 200); err != nil {
				t.Fatal(err)
			}
			if err := last.Close(); err != nil {
				t.Fatalf("last Close: %v", err)
			}
			for _, suffix := range []string{"-wal", "-shm"} {
				if info, err := os.Stat(path + suffix); err == nil && info.Size() > 0 {
					t.Errorf("after the last Close, %s holds %d bytes", suffix, info.Size())
				}
			}

			// Only the main file travels.
			moved := filepath.Join(t.TempDir(), "moved.db")
			rbCopy(t, path, moved)
			for _, opts := range [][]metatrack.Option{{metatrack.WithReadOnly()}, {metatrack.WithoutRun()}} {
				tr, err := metatrack.Open(ctx, moved, opts...)
				if err != nil {
					t.Fatal(err)
				}
				diffs, bad, err := rbReadAll(ctx, tr, fx)
				if err != nil || len(diffs)+len(bad) > 0 {
					t.Errorf("the moved file: %v; %d differences, first %v; %v", err, len(diffs), diffs[:min(1, len(diffs))], bad)
				}
				for _, id := range runs {
					if run, err := tr.GetRun(ctx, id); err != nil || run.Status != metatrack.RunFinished {
						t.Errorf("run %s in the moved file: %+v, %v", id, run, err)
					}
				}
				if err := tr.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if n := rbCount(t, rbRaw(t, moved), `SELECT count(*) FROM resources`); n != int64(len(fx.Resources)) {
				t.Errorf("moved file has %d resources, want %d", n, len(fx.Resources))
			}
		})
	}
}

// rbTree lists every path under root (relative, with a trailing / for
// directories and -> for symlinks) and each regular file's size.
func rbTree(tb testing.TB, root string) map[string]int64 {
	tb.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel+" -> "+target] = 0
		case d.IsDir():
			out[rel+"/"] = 0
		default:
			info, err := d.Info()
			if err != nil {
				return err
			}
			out[rel] = info.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// rbTreeDiff describes how after differs from before.
func rbTreeDiff(before, after map[string]int64) []string {
	var d []string
	for p, n := range after {
		if m, ok := before[p]; !ok {
			d = append(d, "new "+p)
		} else if m != n {
			d = append(d, "changed "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			d = append(d, "gone "+p)
		}
	}
	sort.Strings(d)
	return d
}

// TestRobustHostileArtifactNames (promise 12): artifact names that are not
// clean relative paths are rejected with ErrInvalidArgument when stored;
// names that are accepted are saved inside the directory SaveArtifact is
// given and nowhere else. Windows reserved names (CON, NUL, COM1, aux.txt)
// and names ending in a dot or a space are ordinary file names on Unix:
// there they are accepted and kept inside the directory; on Windows
// filepath.IsLocal rejects them when stored.
func TestRobustHostileArtifactNames(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", metatrack.MaxNameBytes+1)
	rejected := []string{
		".", "..", "../x", "../../etc/passwd", "a/../../x", "a/..", "./a", "a/./b", "a//b", "a/",
		"/etc/passwd", "/abs", "//host/share", `..\x`, `a\b`, `C:\x`, "a\x00b", "\x00",
		"bad\xffutf8", long, "dir/" + long,
	}
	// An empty name takes the file's base name; without a file it is
	// refused.
	if _, err := tr.LogArtifact(ctx, res, "", "", metatrack.WithExternalURI("s3://b/k")); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("LogArtifact without name or file = %v, want ErrInvalidArgument", err)
	}
	for _, name := range rejected {
		_, err := tr.LogArtifact(ctx, res, name, src)
		if !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Errorf("LogArtifact(%q) = %v, want ErrInvalidArgument", name, err)
		}
		if _, err := tr.LogArtifact(ctx, res, name, "", metatrack.WithExternalURI("s3://b/k")); !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Errorf("LogArtifact(%q) external = %v, want ErrInvalidArgument", name, err)
		}
	}
	if arts, err := tr.Artifacts(ctx, res, ""); err != nil || len(arts) != 0 {
		t.Errorf("rejected names left records: %v, %v", arts, err)
	}

	accepted := []string{
		"CON", "NUL", "COM1", "aux.txt", "LPT1.log", "con/x", "name.", "name ", " lead", "..x", "x..", "...", "C:x",
		"a b/c d.json", "日本語/モデル.bin", strings.Repeat("n", 200), "deep/" + strings.Repeat("d/", 100) + "f",
	}
	sandbox := t.TempDir()
	out := filepath.Join(sandbox, "out")
	for _, name := range accepted {
		_, err := tr.LogArtifact(ctx, res, name, src)
		if errors.Is(err, metatrack.ErrInvalidArgument) {
			continue // refused: also keeps it inside
		}
		if err != nil {
			t.Errorf("LogArtifact(%q): %v", name, err)
			continue
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		before := rbTree(t, sandbox)
		a, err := tr.SaveArtifact(ctx, res, name, out)
		after := rbTree(t, sandbox)
		diff := rbTreeDiff(before, after)
		want := "new out/" + filepath.Base(filepath.FromSlash(name))
		switch {
		case err != nil && len(diff) > 0:
			t.Errorf("SaveArtifact(%q) failed (%v) and left %v", name, err, diff)
		case err == nil && (len(diff) != 1 || diff[0] != want):
			t.Errorf("SaveArtifact(%q) changed %v, want only %s", name, diff, want)
		case err == nil && a.Name != name:
			t.Errorf("artifact %q came back as %q", name, a.Name)
		}
		if err := os.RemoveAll(out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRobustSaveArtifactSymlinks (promise 12): SaveArtifact into a
// directory that holds a symlink named like the artifact replaces the
// symlink with the file (the bytes go to a temporary file that is renamed
// over it, and rename never follows a symlink): what the symlink pointed to,
// a file or a directory outside, is left untouched.
func TestRobustSaveArtifactSymlinks(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(src, []byte("the artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, res, "models/model.bin", src); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"file", "dir", "missing"} {
		t.Run("To"+strings.ToUpper(target[:1])+target[1:], func(t *testing.T) {
			sandbox := t.TempDir()
			out := filepath.Join(sandbox, "out")
			outside := filepath.Join(sandbox, "outside")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			var victim string
			switch target {
			case "file":
				victim = filepath.Join(sandbox, "victim.txt")
				if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
					t.Fatal(err)
				}
			case "dir":
				victim = outside
				if err := os.Mkdir(outside, 0o755); err != nil {
					t.Fatal(err)
				}
			case "missing":
				victim = filepath.Join(sandbox, "not-yet")
			}
			link := filepath.Join(out, "model.bin")
			if err := os.Symlink(victim, link); err != nil {
				t.Skipf("skipped: cannot make a symlink: %v", err)
			}
			before := rbTree(t, sandbox)
			if _, err := tr.SaveArtifact(ctx, res, "models/model.bin", out); err != nil {
				t.Fatal(err)
			}
			diff := rbTreeDiff(before, rbTree(t, sandbox))
			want := []string{"gone out/model.bin -> " + victim, "new out/model.bin"}
			if !reflect.DeepEqual(diff, want) {
				t.Errorf("SaveArtifact over a symlink changed %v, want %v", diff, want)
			}
			info, err := os.Lstat(link)
			if err != nil || !info.Mode().IsRegular() {
				t.Fatalf("out/model.bin is not a regular file: %v, %v", info, err)
			}
			if b, _ := os.ReadFile(link); string(b) != "the artifact" {
				t.Errorf("out/model.bin holds %q", b)
			}
			if target == "file" {
				if b, _ := os.ReadFile(victim); string(b) != "keep me" {
					t.Errorf("the symlink's target was overwritten: %q", b)
				}
			}
		})
	}
}

// TestRobustHostileStoredNames (promise 12): a database file from
// elsewhere may hold artifact names no metatrack wrote (edited with sqlite3,
// or crafted). SaveArtifact must still write only inside the directory it is
// given: a stored name that is not a valid artifact name is refused with
// ErrCorrupt (the file is damaged or forged), before any byte is written.
func TestRobustHostileStoredNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	hostile := []string{"../escape.bin", "../../escape.bin", "..", ".", "/", "", "/abs/escape.bin", "a/../../escape.bin",
		`..\..\escape.bin`, `sub\..\..\win.txt`, `C:\escape.bin`, "a//b", "x\x00y"}
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range hostile {
		if _, err := tr.LogArtifact(ctx, res, fmt.Sprintf("h%d", i), src); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range hostile {
		if _, err := raw.Exec(`UPDATE artifacts SET name = ? WHERE name = ?`, name, fmt.Sprintf("h%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	tr, err = metatrack.Open(ctx, path, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// sandbox/a/b/out: escapes one and two levels up stay in the sandbox,
	// where the tree check sees them.
	sandbox := t.TempDir()
	out := filepath.Join(sandbox, "a", "b", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range hostile {
		before := rbTree(t, sandbox)
		_, err := tr.SaveArtifact(ctx, res, name, out)
		diff := rbTreeDiff(before, rbTree(t, sandbox))
		if !errors.Is(err, metatrack.ErrCorrupt) {
			t.Errorf("SaveArtifact of stored name %q = %v (changed %v), want ErrCorrupt", name, err, diff)
		}
		if len(diff) > 0 {
			t.Errorf("SaveArtifact of stored name %q changed %v", name, diff)
		}
	}
}

// TestRobustInvalidText (promise 12): invalid UTF-8 and NUL bytes in
// resource names and types, tag keys and values, metadata keys, statuses,
// attribute and version-control keys, and references are rejected at the
// boundary with ErrInvalidArgument, and nothing is written.
func TestRobustInvalidText(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"caf\xe9", "\xff\xfe", "a\x00b", "\x00", "trunc\xe2\x82", "\xc0\xaf"} {
		calls := map[string]func() error{
			"resource name": func() error { _, err := tr.CreateResource(ctx, metatrack.TypeDataset, bad); return err },
			"version name":  func() error { _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, bad); return err },
			"resource type": func() error { _, err := tr.CreateResource(ctx, "data"+bad, "x"); return err },
			"status": func() error {
				_, err := tr.CreateResource(ctx, metatrack.TypeDataset, "s", metatrack.WithStatus(bad))
				return err
			},
			"attribute key": func() error {
				_, err := tr.CreateResource(ctx, metatrack.TypeDataset, "a", metatrack.WithAttr(bad, 1))
				return err
			},
			"updated status": func() error {
				_, err := tr.UpdateResource(ctx, res, metatrack.Updates{"status": bad})
				return err
			},
			"updated attribute key": func() error {
				_, err := tr.UpdateResource(ctx, res, metatrack.Updates{"attrs." + bad: 1})
				return err
			},
			"tag key":      func() error { return tr.LogTag(ctx, res, bad, "v") },
			"tag value":    func() error { return tr.LogTag(ctx, res, "k", bad) },
			"metadata key": func() error { return tr.LogMetadata(ctx, res, bad, 1) },
			"vc key": func() error {
				return tr.RegisterVCResource(ctx, res, map[string]any{"hexsha": "1"}, metatrack.WithVCKey(bad))
			},
		}
		for what, call := range calls {
			if err := call(); !errors.Is(err, metatrack.ErrInvalidArgument) {
				t.Errorf("%s %q: %v, want ErrInvalidArgument", what, bad, err)
			}
		}
		// Lookups with such text find nothing, or refuse it; they never fail
		// otherwise.
		for what, call := range map[string]func() error{
			"GetResource": func() error { _, err := tr.GetResource(ctx, bad, ""); return err },
			"GetTag":      func() error { _, err := tr.GetTag(ctx, res, bad); return err },
			"GetMetadata": func() error { _, err := tr.GetMetadata(ctx, res, bad); return err },
			"GetArtifact": func() error { _, _, err := tr.GetArtifact(ctx, res, bad); return err },
		} {
			if err := call(); !errors.Is(err, metatrack.ErrNotFound) && !errors.Is(err, metatrack.ErrInvalidArgument) {
				t.Errorf("%s %q: %v, want ErrNotFound or ErrInvalidArgument", what, bad, err)
			}
		}
	}
	all, err := tr.SearchAll(ctx, "")
	if err != nil || len(all) != 1 {
		t.Errorf("after rejected writes: %d resources, %v", len(all), err)
	}
	if tags, _ := tr.Tags(ctx, res); len(tags) != 0 {
		t.Errorf("rejected tags were stored: %v", tags)
	}
}

// TestRobustMetadataValueUTF8 (promise 12): encoding/json replaces invalid
// UTF-8 inside strings with U+FFFD without a word, so a metadata value
// would come back different from what was logged. Such values, at any depth
// (a string, a map value or key, a slice element, a struct field), are
// rejected with ErrInvalidArgument instead; valid text, including U+FFFD
// itself, is stored and returned exactly.
func TestRobustMetadataValueUTF8(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	type params struct {
		Name string
		Tags []string
	}
	for name, v := range map[string]any{
		"String":       "caf\xe9",
		"MapValue":     map[string]any{"a": "ok", "b": "\xff"},
		"MapKey":       map[string]any{"k\xff": 1},
		"Slice":        []string{"ok", "bad\xc0"},
		"NestedSlice":  []any{1, []any{"x", map[string]any{"y": "\xfe"}}},
		"StructField":  params{Name: "n", Tags: []string{"\xff"}},
		"PointerValue": &params{Name: "\xe2\x82"},
	} {
		if err := tr.LogMetadata(ctx, res, name, v); !errors.Is(err, metatrack.ErrInvalidArgument) {
			got, _ := tr.GetMetadata(ctx, res, name)
			t.Errorf("LogMetadata(%s) = %v, want ErrInvalidArgument (stored %q)", name, err, fmt.Sprint(got))
		}
	}
	for name, v := range map[string]any{
		"Replacement": "\ufffd is a character",
		"Unicode":     map[string]any{"名前": "値", "emoji": "🙂"},
	} {
		if err := tr.LogMetadata(ctx, res, name, v); err != nil {
			t.Fatalf("LogMetadata(%s): %v", name, err)
		}
		got, err := tr.GetMetadata(ctx, res, name)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("GetMetadata(%s) = %v, %v; want %v", name, got, err, v)
		}
	}
}

// TestRobustLimits (promise 12): a value at each documented limit is
// accepted and comes back whole; one byte more is rejected with
// ErrInvalidArgument. Limits count bytes, not characters.
func TestRobustLimits(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// text of n bytes, mostly two-byte characters.
	text := func(n int) string { return strings.Repeat("é", n/2) + strings.Repeat("a", n%2) }
	cases := []struct {
		name  string
		limit int
		try   func(s string) error // stores s and reads it back
	}{
		{"MaxNameBytes/resource", metatrack.MaxNameBytes, func(s string) error {
			r, err := tr.CreateResource(ctx, metatrack.TypeDataset, s)
			if err == nil {
				var got metatrack.Resource
				if got, err = tr.GetResource(ctx, r.ID, ""); err == nil && got.Name != s {
					err = errors.New("name differs")
				}
			}
			return err
		}},
		{"MaxNameBytes/version", metatrack.MaxNameBytes, func(s string) error {
			_, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, s)
			return err
		}},
		{"MaxNameBytes/artifact", metatrack.MaxNameBytes, func(s string) error {
			_, err := tr.LogArtifact(ctx, res, s, src)
			if err == nil {
				var a metatrack.Artifact
				var rc io.ReadCloser
				if a, rc, err = tr.GetArtifact(ctx, res, s); err == nil {
					rc.Close()
					if a.Name != s {
						err = errors.New("name differs")
					}
				}
			}
			return err
		}},
		{"MaxKeyBytes/tag", metatrack.MaxKeyBytes, func(s string) error {
			if err := tr.LogTag(ctx, res, s, "v"); err != nil {
				return err
			}
			_, err := tr.GetTag(ctx, res, s)
			return err
		}},
		{"MaxKeyBytes/metadata", metatrack.MaxKeyBytes, func(s string) error {
			if err := tr.LogMetadata(ctx, res, s, 1); err != nil {
				return err
			}
			_, err := tr.GetMetadata(ctx, res, s)
			return err
		}},
		{"MaxKeyBytes/attribute", metatrack.MaxKeyBytes, func(s string) error {
			_, err := tr.UpdateResource(ctx, res, metatrack.Updates{"attrs." + s: 1})
			return err
		}},
		{"MaxTagValueBytes", metatrack.MaxTagValueBytes, func(s string) error {
			if err := tr.LogTag(ctx, res, "big", s); err != nil {
				return err
			}
			got, err := tr.GetTag(ctx, res, "big")
			if err == nil && got != s {
				err = errors.New("value differs")
			}
			return err
		}},
		{"MaxStatusBytes/create", metatrack.MaxStatusBytes, func(s string) error {
			_, err := tr.CreateResource(ctx, metatrack.TypeDataset, "st"+fmt.Sprint(len(s)), metatrack.WithStatus(s))
			return err
		}},
		{"MaxStatusBytes/update", metatrack.MaxStatusBytes, func(s string) error {
			r, err := tr.UpdateResource(ctx, res, metatrack.Updates{"status": s})
			if err == nil && r.Status != s {
				err = errors.New("status differs")
			}
			return err
		}},
		{"MaxMetadataBytes", metatrack.MaxMetadataBytes, func(s string) error {
			// The limit is on the JSON encoding: the string and its quotes.
			v := s[2:]
			if err := tr.LogMetadata(ctx, res, "huge", v); err != nil {
				return err
			}
			got, err := tr.GetMetadata(ctx, res, "huge")
			if err == nil && got != v {
				err = errors.New("value differs")
			}
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mk := text
			if tc.name == "MaxMetadataBytes" {
				mk = func(n int) string { return strings.Repeat("m", n) } // no JSON escapes
			}
			if err := tc.try(mk(tc.limit)); err != nil {
				t.Errorf("at the limit of %d bytes: %v", tc.limit, err)
			}
			if err := tc.try(mk(tc.limit + 1)); !errors.Is(err, metatrack.ErrInvalidArgument) {
				t.Errorf("one byte over the limit of %d: %v, want ErrInvalidArgument", tc.limit, err)
			}
		})
	}
}

// TestRobustSQLInjection (promise 12): text that would break SQL built by
// concatenation, used as every kind of value and identifier a caller
// names, is stored and returned verbatim (or rejected where the value has a
// grammar, as resource types do), breaks no later call, and leaves the file
// intact by SQLite's integrity check.
func TestRobustSQLInjection(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	tr, err := metatrack.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	hostile := []string{
		`'; DROP TABLE resources; --`, `" OR 1=1 --`, `Robert'); DROP TABLE tags;--`, `x' UNION SELECT sql FROM sqlite_schema --`,
		`%`, `_`, `\`, `?`, `?1`, `:name`, `@p`, `$1`, `/*`, `*/ --`, "`ident`", `[x]`, `'`, `''`, `"`, `;`,
		`json_extract('{}', '$')`, `) OR (1=1`, "line\nbreak", "tab\tchar",
	}
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	var made []metatrack.Resource
	for i, s := range hostile {
		if _, err := tr.CreateResource(ctx, s, "x"); !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Errorf("resource type %q: %v, want ErrInvalidArgument", s, err)
		}
		r, err := tr.CreateResource(ctx, metatrack.TypeDataset, s, metatrack.WithStatus(s[:min(len(s), metatrack.MaxStatusBytes)]),
			metatrack.WithAttr(s, s))
		if err != nil {
			t.Fatalf("resource named %q: %v", s, err)
		}
		made = append(made, r)
		if err := tr.LogTag(ctx, r, s, s); err != nil {
			t.Fatalf("tag %q: %v", s, err)
		}
		if err := tr.LogMetadata(ctx, r, s, map[string]any{s: s}); err != nil {
			t.Fatalf("metadata %q: %v", s, err)
		}
		v, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, s)
		if err != nil {
			t.Fatalf("model version named %q: %v", s, err)
		}
		made = append(made, v)
		if name := fmt.Sprintf("%d %s", i, strings.ReplaceAll(s, "/", "_")); !strings.ContainsAny(name, "\\") {
			if _, err := tr.LogArtifact(ctx, r, name, src); err != nil {
				t.Errorf("artifact named %q: %v", name, err)
			} else if _, rc, err := tr.GetArtifact(ctx, r, name); err != nil {
				t.Errorf("artifact named %q: %v", name, err)
			} else {
				rc.Close()
			}
		}
	}
	for i, s := range hostile {
		r := made[2*i]
		got, err := tr.GetResource(ctx, r.ID, "")
		if err != nil || got.Name != s || got.Attrs[s] != s {
			t.Errorf("resource %q came back as %q, %v (%v)", s, got.Name, got.Attrs, err)
		}
		byRef, err := tr.GetResource(ctx, "dataset/"+s, "")
		if !strings.Contains(s, "@") && (err != nil || byRef.ID != r.ID) {
			t.Errorf("reference dataset/%s: %v", s, err)
		}
		if v, err := tr.GetTag(ctx, r, s); err != nil || v != s {
			t.Errorf("tag %q came back as %q, %v", s, v, err)
		}
		if v, err := tr.GetMetadata(ctx, r, s); err != nil || !reflect.DeepEqual(v, map[string]any{s: s}) {
			t.Errorf("metadata %q came back as %v, %v", s, v, err)
		}
		if prev, err := tr.GetPrevResourceVersion(ctx, made[2*i+1]); !errors.Is(err, metatrack.ErrNotFound) {
			t.Errorf("previous version of the first %q: %v, %v", s, prev, err)
		}
		// As a value inside a filter, quoted by the query language.
		q := fmt.Sprintf(`type = 'dataset' AND name = '%s'`, strings.ReplaceAll(s, `'`, `''`))
		if page, err := tr.Search(ctx, q); err != nil {
			if !errors.Is(err, metatrack.ErrInvalidArgument) {
				t.Errorf("Search(%q): %v", q, err)
			}
		} else if len(page.Resources) != 1 || page.Resources[0].ID != r.ID {
			t.Errorf("Search(%q) found %d resources", q, len(page.Resources))
		}
	}
	all, err := tr.SearchAll(ctx, "")
	if err != nil || len(all) != 3*len(hostile) { // dataset, model, model version each
		t.Errorf("SearchAll: %d resources, want %d: %v", len(all), 3*len(hostile), err)
	}
	raw := rbRaw(t, path)
	var ic string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Errorf("integrity_check: %q, %v", ic, err)
	}
	if n := rbCount(t, raw, `SELECT count(*) FROM sqlite_schema WHERE type = 'table'`); n < 10 {
		t.Errorf("only %d tables left", n)
	}
}

// TestRobustArtifactFilePathPortable: the check a stored name passes before
// it names a file is the same on every operating system, so the Windows
// rules are tested here too. A name the API accepts but whose base name
// Windows would not take as a plain file (a device name in any directory,
// a colon that names a drive or a data stream, a trailing dot or space that
// Windows drops) is refused with ErrInvalidArgument when it would name the
// file, and writes nothing; given a file path, the same artifact saves.
func TestRobustArtifactFilePathPortable(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := []string{"CON", "con.txt", "dir/NUL", "Aux.tar.gz", "PRN", "COM1", "lpt9.log", "COM\u00b9", "CONIN$", "conout$.x",
		"NUL .txt", "C:x", "d/x:stream", "name.", "name ", "...", "a|b", "q?", "st*r", "<x>", `say"hi"`, "tab\there"}
	for _, name := range refused {
		if _, err := tr.LogArtifact(ctx, res, name, src); err != nil {
			t.Fatalf("LogArtifact(%q): %v", name, err)
		}
		out := t.TempDir()
		if _, err := tr.SaveArtifact(ctx, res, name, out); !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Errorf("SaveArtifact(%q) into a directory = %v, want ErrInvalidArgument", name, err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("SaveArtifact(%q) left %v", name, entries)
		}
		if _, err := metatrack.ArtifactFilePath(out, name); !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Errorf("ArtifactFilePath(%q) = %v, want ErrInvalidArgument", name, err)
		}
		file := filepath.Join(out, "chosen.bin")
		if _, err := tr.SaveArtifact(ctx, res, name, file); err != nil {
			t.Errorf("SaveArtifact(%q) to a file path: %v", name, err)
		}
	}
	accepted := []string{"CONSOLE", "COM0", "COM10", "LPT", "nul_x", "con-x.txt", "x..y", "..x", "a b/c d.json", "日本語/モデル.bin"}
	for _, name := range accepted {
		if _, err := tr.LogArtifact(ctx, res, name, src); err != nil {
			t.Fatalf("LogArtifact(%q): %v", name, err)
		}
		out := t.TempDir()
		p, err := tr.SaveArtifact(ctx, res, name, out)
		if err != nil {
			t.Errorf("SaveArtifact(%q): %v", name, err)
			continue
		}
		got, err := metatrack.ArtifactFilePath(out, p.Name)
		if err != nil || got != filepath.Join(out, path.Base(name)) {
			t.Errorf("ArtifactFilePath(%q) = %q, %v", name, got, err)
		}
		if b, err := os.ReadFile(got); err != nil || string(b) != "payload" {
			t.Errorf("saved %q as %q, %v", name, b, err)
		}
	}
}

// TestRobustDuplicateJSONNames: a JSON value whose object names a member
// twice is refused wherever it enters (metadata, attributes, an import):
// SQLite's JSON functions would read the first of the two and PostgreSQL's
// and Go's the last, so queries and reads would disagree.
func TestRobustDuplicateJSONNames(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	res, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	dup := json.RawMessage(`{"rows":1,"rows":2}`)
	if err := tr.LogMetadata(ctx, res, "profile", dup); !errors.Is(err, metatrack.ErrInvalidArgument) || !strings.Contains(err.Error(), `duplicate object member name "rows"`) {
		t.Errorf("LogMetadata(%s) = %v, want ErrInvalidArgument naming rows", dup, err)
	}
	if _, err := tr.CreateResource(ctx, metatrack.TypeDataset, "e", metatrack.WithAttrs(map[string]any{"shape": dup})); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("CreateResource with attribute %s = %v, want ErrInvalidArgument", dup, err)
	}
	if err := tr.LogMetadata(ctx, res, "profile", json.RawMessage(`{"rows":1,"cols":2}`)); err != nil {
		t.Fatal(err)
	}
	var export bytes.Buffer
	if _, err := tr.Export(ctx, &export); err != nil {
		t.Fatal(err)
	}
	hostile := strings.Replace(export.String(), `{"rows":1,"cols":2}`, `{"rows":1,"rows":2}`, 1)
	if hostile == export.String() {
		t.Fatalf("the export does not hold the metadata value as written:\n%s", export.String())
	}
	other := MustOpen(t)
	if _, err := other.Import(ctx, strings.NewReader(hostile)); !errors.Is(err, metatrack.ErrInvalidArgument) || !strings.Contains(err.Error(), "names a member twice") {
		t.Fatalf("Import of a duplicate member name = %v, want ErrInvalidArgument", err)
	}
	if _, err := other.GetResource(ctx, metatrack.TypeDataset, "d"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("the refused import left dataset d behind: %v", err)
	}
}
