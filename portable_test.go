package metatrack_test

// Tests of Export, Import, Merge, Verify and GC on real files. The
// diverged-copies test runs its writers as child processes: this test
// binary run again with -test.run selecting TestPortableChild and
// METATRACK_PORTABLE_ROLE naming what to write.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// portT0 is the fixtures' epoch; every clock counts from it, so that
// files built by different trackers and processes order deterministically.
var portT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// portClock returns a clock that starts at start and advances step on
// every reading.
func portClock(start time.Time, step time.Duration) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * step) }
}

// portOpen opens a tracker for maintenance (no run of its own, so that it
// adds nothing to the file's content) and closes it when the test ends.
func portOpen(tb testing.TB, path string, opts ...metatrack.Option) *metatrack.Tracker {
	tb.Helper()
	tr, err := metatrack.Open(context.Background(), path, append([]metatrack.Option{metatrack.WithoutRun()}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	return tr
}

// portWriteFile writes a file of n pseudo-random bytes (seeded) and returns
// its path.
func portWriteFile(tb testing.TB, dir, name string, n int, seed uint64) string {
	tb.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func portMust[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func portCheck(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// portFixture builds a database at path through the public API: chains,
// tags, metadata of several types, version-control records, artifacts (one
// of several chunks, one replaced, one external, reports), experiments with
// a winner, deployments in two environments with their history, a
// promotion and prediction jobs.
func portFixture(tb testing.TB, path string) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	tr, err := metatrack.Open(ctx, path, metatrack.WithClock(portClock(portT0, time.Millisecond)), metatrack.WithRunName("fixture"))
	portCheck(tb, err)
	res := portMust[metatrack.Resource](tb)
	art := portMust[metatrack.Artifact](tb)

	var dvs []metatrack.Resource
	for i := range 3 {
		dv := res(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic", metatrack.WithAttr("rows", 800+i)))
		portCheck(tb, tr.LogTag(ctx, dv, "source", fmt.Sprintf("s3://bucket/titanic-%d.csv", i)))
		portCheck(tb, tr.LogMetadata(ctx, dv, "rows", 800+i))
		portCheck(tb, tr.RegisterVCResource(ctx, dv, map[string]any{"hexsha": fmt.Sprintf("%040d", i), "uri": "git://repo"},
			metatrack.WithAdditionalMetadata(map[string]any{"split": 0.8})))
		dvs = append(dvs, dv)
	}
	portCheck(tb, tr.LogTag(ctx, dvs[0], "quality", "bronze"))
	portCheck(tb, tr.LogTag(ctx, dvs[0], "obsolete", "yes"))
	portCheck(tb, tr.DeleteTag(ctx, dvs[0], "obsolete"))
	_, err = tr.LogDataProfile(ctx, dvs[2], portWriteFile(tb, dir, "profile.html", 3000, 1))
	portCheck(tb, err)

	var mvs []metatrack.Resource
	for i := range 3 {
		mv := res(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model", metatrack.WithStatus(metatrack.StatusRegistered)))
		portCheck(tb, tr.BuildModelLineage(ctx, mv, []metatrack.Resource{dvs[i]}))
		portCheck(tb, tr.LogMetadata(ctx, mv, "auc", 0.8+float64(i)/100))
		portCheck(tb, tr.LogMetadata(ctx, mv, "params", map[string]any{"lr": 0.01, "layers": []int{64, 32}, "name": "<mlp> & co"}))
		portCheck(tb, tr.LogMetadata(ctx, mv, "calibrated", i%2 == 0))
		portCheck(tb, tr.LogMetadata(ctx, mv, "notes", nil))
		portCheck(tb, tr.LogMetadata(ctx, mv, "trainer", "xgboost"))
		var exps []metatrack.Resource
		for j := range 2 {
			exp := res(tr.CreateResource(ctx, metatrack.TypeExperiment, fmt.Sprintf("lr=%d", j), metatrack.WithParent(mv.ID),
				metatrack.WithStatus(metatrack.StatusRunning)))
			portCheck(tb, tr.LogMetadata(ctx, exp, "score", 0.5+float64(j)/10))
			portCheck(tb, tr.CleanResource(ctx, exp, metatrack.TypeExperiment))
			exps = append(exps, exp)
		}
		portCheck(tb, tr.SetWinningExperiment(ctx, mv, exps[0]))
		portCheck(tb, tr.SetWinningExperiment(ctx, mv, exps[1]))
		art(tr.LogArtifact(ctx, exps[1], "model.json", portWriteFile(tb, dir, fmt.Sprintf("model%d.json", i), 200+i, uint64(10+i))))
		mvs = append(mvs, mv)
	}
	// A model of several chunks, and one replaced (its old bytes become
	// garbage).
	art(tr.LogArtifact(ctx, mvs[1], "weights.bin", portWriteFile(tb, dir, "weights.bin", 2*metatrack.ChunkSize+12345, 99)))
	art(tr.LogArtifact(ctx, mvs[2], "weights.bin", portWriteFile(tb, dir, "w-old.bin", 5000, 7)))
	art(tr.LogArtifact(ctx, mvs[2], "weights.bin", portWriteFile(tb, dir, "w-new.bin", 6000, 8)))
	art(tr.LogArtifact(ctx, mvs[2], "remote.onnx", "", metatrack.WithExternalURI("s3://bucket/model.onnx"),
		metatrack.WithSize(1234), metatrack.WithSHA256(strings.Repeat("ab", 32))))
	art(tr.LogChecks(ctx, mvs[2], portWriteFile(tb, dir, "checks.json", 400, 3), "model"))
	art(tr.LogDataComparison(ctx, dvs[2], portWriteFile(tb, dir, "cmp.json", 500, 4)))

	_, err = tr.Deploy(ctx, mvs[0])
	portCheck(tb, err)
	_, err = tr.Deploy(ctx, mvs[1])
	portCheck(tb, err)
	_, err = tr.Deploy(ctx, mvs[1], metatrack.WithEnvironment("staging"))
	portCheck(tb, err)
	portCheck(tb, tr.Undeploy(ctx, mvs[1], metatrack.WithEnvironment("staging")))
	promo := res(tr.Promote(ctx, mvs[2], metatrack.Promotion{Reason: "UPLIFT", Metric: "auc", Value: 0.82, Baseline: 0.81}))
	res(tr.ApprovePromotion(ctx, promo))
	for i := range 2 {
		job := res(tr.CreateResource(ctx, metatrack.TypePredictionJob, "", metatrack.WithParent(mvs[1].ID),
			metatrack.WithAttr("prediction_count", 100*i)))
		res(tr.UpdateResource(ctx, job, metatrack.Updates{"status": "DONE", "ended_at": portT0.Add(time.Hour), "attrs.batch": i}))
	}
	feat := res(tr.CreateResource(ctx, "feature_set", "titanic_features"))
	portCheck(tb, tr.Link(ctx, dvs[1], feat, "derived"))
	portCheck(tb, tr.Stop(ctx, nil))
}

// portDump returns the content of the database file at path in a
// canonical form: every table, seqs replaced by the ids they stand for,
// artifact bytes as the SHA-256 of each chunk, sorted.
func portDump(tb testing.TB, path string) []string {
	tb.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	portCheck(tb, err)
	defer conn.Close()
	tables := map[string]string{
		"run": `SELECT quote(id), quote(name), quote(host), quote(username), pid, quote(status), quote(error), started_at, quote(ended_at) FROM runs`,
		"resource": `SELECT quote(r.id), quote(r.type), quote(r.name), quote(r.version), quote(p.id), quote(r.status), quote(r.attrs),
			quote(run.id), r.created_at, r.updated_at, quote(r.started_at), quote(r.ended_at), quote(r.deleted_at)
			FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq`,
		"tag": `SELECT quote(r.id), quote(t.key), quote(t.value), quote(run.id), t.updated_at
			FROM tags t JOIN resources r ON r.seq = t.resource_seq LEFT JOIN runs run ON run.seq = t.run_seq`,
		"metadata": `SELECT quote(r.id), quote(m.key), quote(m.value), quote(m.num), quote(m.str), quote(run.id), m.updated_at
			FROM metadata m JOIN resources r ON r.seq = m.resource_seq LEFT JOIN runs run ON run.seq = m.run_seq`,
		"vc_info": `SELECT quote(r.id), quote(v.key), quote(v.info), quote(v.extra), quote(run.id), v.updated_at
			FROM vc_info v JOIN resources r ON r.seq = v.resource_seq LEFT JOIN runs run ON run.seq = v.run_seq`,
		"blob": `SELECT quote(sha256), size, chunk_size, created_at FROM blobs`,
		"artifact": `SELECT quote(a.id), quote(r.id), quote(a.name), quote(a.kind), quote(a.check_type), quote(a.media_type), a.size,
			quote(a.sha256), quote(b.sha256), quote(a.uri), quote(a.source_path), quote(run.id), a.created_at
			FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq LEFT JOIN runs run ON run.seq = a.run_seq`,
		"edge": `SELECT quote(s.id), quote(e.relation), quote(d.id), quote(run.id), e.created_at
			FROM edges e JOIN resources s ON s.seq = e.src_seq JOIN resources d ON d.seq = e.dst_seq LEFT JOIN runs run ON run.seq = e.run_seq`,
		"deployment": `SELECT quote(dp.id), quote(m.id), quote(mv.id), quote(dp.environment), dp.deployed_at, quote(dp.undeployed_at), quote(run.id)
			FROM deployments dp JOIN resources m ON m.seq = dp.model_seq JOIN resources mv ON mv.seq = dp.model_version_seq LEFT JOIN runs run ON run.seq = dp.run_seq`,
		"alias": `SELECT quote(h.id), quote(a.name), quote(v.id), quote(run.id), a.updated_at
			FROM aliases a JOIN resources h ON h.seq = a.head_seq JOIN resources v ON v.seq = a.version_seq LEFT JOIN runs run ON run.seq = a.run_seq`,
		"purged": `SELECT quote(pg.id), quote(pg.type), quote(pg.name), quote(pg.version), quote(pg.parent_id), pg.created_at, pg.deleted_at, pg.purged_at, quote(run.id)
			FROM purged pg LEFT JOIN runs run ON run.seq = pg.run_seq`,
		"history": `SELECT quote(h.id), quote(r.id), h.at, quote(run.id), quote(h.kind), quote(h.key), quote(h.old_value), quote(h.new_value)
			FROM history h JOIN resources r ON r.seq = h.resource_seq LEFT JOIN runs run ON run.seq = h.run_seq`,
	}
	var out []string
	for name, q := range tables {
		rows, err := conn.Query(q)
		portCheck(tb, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			portCheck(tb, rows.Scan(ptrs...))
			parts := []string{name}
			for _, v := range vals {
				parts = append(parts, fmt.Sprint(v))
			}
			out = append(out, strings.Join(parts, "|"))
		}
		portCheck(tb, rows.Err())
		rows.Close()
	}
	rows, err := conn.Query(`SELECT quote(b.sha256), c.idx, c.data FROM blob_chunks c JOIN blobs b ON b.seq = c.blob_seq`)
	portCheck(tb, err)
	for rows.Next() {
		var sha string
		var idx int64
		var data []byte
		portCheck(tb, rows.Scan(&sha, &idx, &data))
		sum := sha256.Sum256(data)
		out = append(out, fmt.Sprintf("chunk|%s|%d|%d|%s", sha, idx, len(data), hex.EncodeToString(sum[:])))
	}
	portCheck(tb, rows.Err())
	rows.Close()
	slices.Sort(out)
	return out
}

// portSameDump fails the test when two dumps differ, showing how.
func portSameDump(tb testing.TB, what string, a, b []string) {
	tb.Helper()
	if slices.Equal(a, b) {
		return
	}
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	var diff []string
	for _, x := range a {
		if !inb[x] {
			diff = append(diff, "- "+x)
		}
	}
	for _, x := range b {
		if !ina[x] {
			diff = append(diff, "+ "+x)
		}
	}
	if len(diff) > 40 {
		diff = append(diff[:40], fmt.Sprintf("... %d more", len(diff)-40))
	}
	tb.Fatalf("%s: contents differ (%d vs %d rows):\n%s", what, len(a), len(b), strings.Join(diff, "\n"))
}

func portCopy(tb testing.TB, src, dst string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	portCheck(tb, err)
	portCheck(tb, os.WriteFile(dst, b, 0o644))
}

func portCount(tb testing.TB, dump []string, prefix string) int {
	n := 0
	for _, l := range dump {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func portExport(tb testing.TB, path string, opts ...metatrack.MaintenanceOption) []byte {
	tb.Helper()
	tr := portOpen(tb, path)
	var buf bytes.Buffer
	_, err := tr.Export(context.Background(), &buf, opts...)
	portCheck(tb, err)
	portCheck(tb, tr.Close())
	return buf.Bytes()
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portFixture(t, src)
	want := portDump(t, src)

	var calls, last, total int64
	tr := portOpen(t, src)
	var buf bytes.Buffer
	stats, err := tr.Export(ctx, &buf, metatrack.WithProgress(func(done, tot int64) { calls++; last, total = done, tot }))
	portCheck(t, err)
	portCheck(t, tr.Close())
	if calls == 0 || last != total || total != stats.Records {
		t.Errorf("progress: %d calls, last %d of %d; %d records", calls, last, total, stats.Records)
	}
	if stats.Kinds[portable.KindChunk] < 3 || stats.Kinds[portable.KindResource] == 0 || stats.Kinds[portable.KindHistory] == 0 {
		t.Errorf("export stats: %+v", stats)
	}
	// The header comes first and names the format; a chunk is one line.
	first, _, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	if !bytes.HasPrefix(first, []byte(`{"format":"metatrack-export","version":3,"schema":`)) {
		t.Errorf("header: %s", first)
	}

	dst := filepath.Join(dir, "dst.db")
	imp := portOpen(t, dst)
	istats, err := imp.Import(ctx, bytes.NewReader(buf.Bytes()))
	portCheck(t, err)
	if istats.Records != stats.Records || istats.Bytes != stats.Bytes || istats.Added == 0 {
		t.Errorf("import stats %+v, export stats %+v", istats, stats)
	}
	portCheck(t, imp.Close())
	portSameDump(t, "export then import", want, portDump(t, dst))

	// The imported file works through the API, bytes included.
	tr = portOpen(t, dst)
	w := portMust[metatrack.Artifact](t)
	_, rc, err := tr.GetArtifact(ctx, metatrack.Resource{ID: "model_version/titanic_model@2"}, "weights.bin")
	portCheck(t, err)
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != 2*metatrack.ChunkSize+12345 {
		t.Errorf("weights.bin: %d bytes, %v", n, err)
	}
	_ = w
	if rep, err := tr.Verify(ctx); err != nil {
		t.Errorf("verify of the import: %v %v", err, rep.Problems)
	}
}

func TestImportTwiceIsNoOp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portFixture(t, src)
	exp := portExport(t, src)

	dst := filepath.Join(dir, "dst.db")
	tr := portOpen(t, dst)
	_, err := tr.Import(ctx, bytes.NewReader(exp))
	portCheck(t, err)
	portCheck(t, tr.Close())
	once := portDump(t, dst)

	tr = portOpen(t, dst)
	stats, err := tr.Import(ctx, bytes.NewReader(exp))
	portCheck(t, err)
	portCheck(t, tr.Close())
	if stats.Added != 0 || stats.Updated != 0 || stats.Renumbered != 0 || stats.Closed != 0 {
		t.Errorf("second import changed something: %+v", stats)
	}
	twice := portDump(t, dst)
	portSameDump(t, "import twice", once, twice)
	if portCount(t, once, "history|") != portCount(t, twice, "history|") {
		t.Error("the second import added history")
	}
}

func TestExportFilter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portFixture(t, src)
	exp := portExport(t, src, metatrack.WithExportFilter(`type = 'model_version' AND version = 3`))

	dst := filepath.Join(dir, "dst.db")
	tr := portOpen(t, dst)
	_, err := tr.Import(ctx, bytes.NewReader(exp))
	portCheck(t, err)
	// The selected version, with its chain head, and the earlier versions
	// bare so that the chain is numbered from 1.
	mv3, err := tr.GetResource(ctx, "model_version/titanic_model@3", "")
	portCheck(t, err)
	if mv3.Status != metatrack.StatusPromoted {
		t.Errorf("mv3 status %q", mv3.Status)
	}
	if _, err := tr.GetResource(ctx, "model/titanic_model", ""); err != nil {
		t.Error(err)
	}
	versions, err := tr.Versions(ctx, mv3)
	portCheck(t, err)
	if len(versions) != 3 {
		t.Errorf("%d versions", len(versions))
	}
	if md, err := tr.Metadata(ctx, mv3); err != nil || md["trainer"] != "xgboost" {
		t.Errorf("metadata of mv3: %v %v", md, err)
	}
	if md, _ := tr.Metadata(ctx, versions[0]); len(md) != 0 {
		t.Errorf("the bare version 1 came with metadata %v", md)
	}
	if arts, err := tr.Artifacts(ctx, mv3, ""); err != nil || len(arts) != 3 {
		t.Errorf("artifacts of mv3: %v %v", arts, err)
	}
	// What it was made from comes along: the dataset version it was
	// trained on (with its tags; its earlier versions bare), and its
	// winning experiment; not the other experiment.
	ins, err := tr.Inputs(ctx, mv3)
	portCheck(t, err)
	if len(ins) != 1 || ins[0].Ref() != "dataset_version/titanic@3" {
		t.Fatalf("the imported model version lost the dataset it was trained on: inputs %v", ins)
	}
	if tags, err := tr.Tags(ctx, ins[0]); err != nil || tags["source"] == "" {
		t.Errorf("tags of its dataset version: %v %v", tags, err)
	}
	if win, err := tr.GetWinningExperiment(ctx, mv3); err != nil || win.Name != "lr=1" {
		t.Errorf("winning experiment: %v %v", win, err)
	}
	if page, err := tr.Search(ctx, "type = 'experiment'"); err != nil || len(page.Resources) != 1 {
		t.Errorf("experiments: %v %v", page.Resources, err)
	}
	if rep, err := tr.Verify(ctx); err != nil {
		t.Errorf("verify: %v %v", err, rep.Problems)
	}
	// WithoutLineage: the selection and its ancestors only.
	bare := filepath.Join(dir, "bare.db")
	btr := portOpen(t, bare)
	_, err = btr.Import(ctx, bytes.NewReader(portExport(t, src,
		metatrack.WithExportFilter(`type = 'model_version' AND version = 3`), metatrack.WithoutLineage())))
	portCheck(t, err)
	if _, err := btr.GetResource(ctx, "dataset/titanic", ""); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("without lineage, dataset/titanic came along: %v", err)
	}
	if page, err := btr.Search(ctx, "type = 'experiment'"); err != nil || len(page.Resources) != 0 {
		t.Errorf("without lineage, experiments came along: %v %v", page.Resources, err)
	}

	// The rest merges in without conflicts.
	st, err := tr.Merge(ctx, src)
	portCheck(t, err)
	if st.Renumbered != 0 || st.Unified != 0 {
		t.Errorf("merge after a partial import: %+v", st)
	}
	portCheck(t, tr.Close())
	portSameDump(t, "partial import then merge", portDump(t, src), portDump(t, dst))

	tr = portOpen(t, src)
	if _, err := tr.Export(ctx, io.Discard, metatrack.WithExportFilter(`type = `)); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("bad filter: %v", err)
	}
	// A lineage filter: what model version 2 was trained on, with the
	// chain head and the earlier version of that chain.
	st, err = tr.Export(ctx, io.Discard, metatrack.WithExportFilter(`upstream_of('model_version/titanic_model@2', 1) AND type = 'dataset_version'`))
	portCheck(t, err)
	if n := st.Kinds[portable.KindResource]; n != 3 {
		t.Errorf("upstream_of exported %d resources, want 3 (titanic@2, titanic@1 bare, dataset/titanic)", n)
	}
}

func TestMergeIdempotentAndSymmetric(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.db")
	b := filepath.Join(dir, "b.db")
	portFixture(t, a)
	// B: a file of its own, with chains of the same names.
	tr, err := metatrack.Open(ctx, b, metatrack.WithClock(portClock(portT0.Add(1500*time.Microsecond), 2*time.Millisecond)), metatrack.WithRunName("other"))
	portCheck(t, err)
	for i := range 2 {
		mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		portCheck(t, err)
		portCheck(t, tr.LogMetadata(ctx, mv, "auc", 0.7+float64(i)/10))
		dv, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic")
		portCheck(t, err)
		portCheck(t, tr.LogTag(ctx, dv, "source", "local"))
		_, err = tr.LogArtifact(ctx, mv, "weights.bin", portWriteFile(t, t.TempDir(), "w.bin", 5000+i, uint64(7+i)))
		portCheck(t, err)
		_, err = tr.Deploy(ctx, mv)
		portCheck(t, err)
	}
	portCheck(t, tr.Stop(ctx, nil))

	ab := filepath.Join(dir, "ab.db") // B merged into A
	ba := filepath.Join(dir, "ba.db") // A merged into B
	portCopy(t, a, ab)
	portCopy(t, b, ba)
	tab := portOpen(t, ab)
	st, err := tab.Merge(ctx, b)
	portCheck(t, err)
	if st.Renumbered == 0 || st.Unified == 0 || st.Closed == 0 {
		t.Errorf("merge of chains both files extended: %+v", st)
	}
	portCheck(t, tab.Close())
	tba := portOpen(t, ba)
	_, err = tba.Merge(ctx, a)
	portCheck(t, err)
	portCheck(t, tba.Close())
	once := portDump(t, ab)
	portSameDump(t, "A+B vs B+A", once, portDump(t, ba))

	tab = portOpen(t, ab)
	st, err = tab.Merge(ctx, b)
	portCheck(t, err)
	if st.Added != 0 || st.Updated != 0 {
		t.Errorf("second merge changed something: %+v", st)
	}
	_, err = tab.Merge(ctx, a)
	portCheck(t, err)
	if rep, err := tab.Verify(ctx); err != nil {
		t.Errorf("verify after merges: %v %v", err, rep.Problems)
	}
	portCheck(t, tab.Close())
	portSameDump(t, "merge twice", once, portDump(t, ab))

	if _, err := portOpen(t, ab).Merge(ctx, ab); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("merge into itself: %v", err)
	}
}

// Two copies of a file both recorded a new version 2 of a model; after the
// merge both versions are there, numbered in the order they were created.
func ExampleTracker_Merge() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "metatrack-merge")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	clock := func(min int) metatrack.Option {
		return metatrack.WithClock(func() time.Time { return portT0.Add(time.Duration(min) * time.Minute) })
	}
	write := func(path string, min int, author string, opts ...metatrack.Option) {
		tr, err := metatrack.Open(ctx, path, append(opts, clock(min))...)
		if err != nil {
			panic(err)
		}
		mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "churn")
		if err != nil {
			panic(err)
		}
		if err := tr.LogTag(ctx, mv, "author", author); err != nil {
			panic(err)
		}
		if err := tr.Close(); err != nil {
			panic(err)
		}
	}
	write(a, 0, "ann")
	copied, err := os.ReadFile(a)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(b, copied, 0o644); err != nil {
		panic(err)
	}
	write(a, 20, "ann") // churn@2 in a, at minute 20
	write(b, 10, "bob") // churn@2 in b, at minute 10

	tr, err := metatrack.Open(ctx, a, metatrack.WithoutRun())
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	st, err := tr.Merge(ctx, b)
	if err != nil {
		panic(err)
	}
	fmt.Println("renumbered:", st.Renumbered)
	versions, err := tr.Versions(ctx, metatrack.Resource{ID: "model/churn"})
	if err != nil {
		panic(err)
	}
	for _, v := range versions {
		author, _ := tr.GetTag(ctx, v, "author")
		fmt.Println(v.Ref(), author, v.CreatedAt.Format("15:04"))
	}
	// Output:
	// renumbered: 1
	// model_version/churn@1 ann 12:00
	// model_version/churn@2 bob 12:10
	// model_version/churn@3 ann 12:20
}

// Child processes of TestMergeDivergedCopies.
const (
	portRoleEnv  = "METATRACK_PORTABLE_ROLE"
	portDBEnv    = "METATRACK_PORTABLE_DB"
	portStartEnv = "METATRACK_PORTABLE_START_MS"
)

// TestPortableChild is the entry point of the child processes; run
// normally, it does nothing.
func TestPortableChild(t *testing.T) {
	role := os.Getenv(portRoleEnv)
	if role == "" {
		return
	}
	if err := portChild(role, os.Getenv(portDBEnv)); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// portChild is one of two writers that extend copies of the same file:
// both add versions to the same chains, set the same tag and metadata
// key, deploy and create a new dataset of the same name. Their clocks
// interleave (a on even milliseconds, b on odd ones).
func portChild(role, path string) error {
	ctx := context.Background()
	ms, err := strconv.ParseInt(os.Getenv(portStartEnv), 10, 64)
	if err != nil {
		return err
	}
	tr, err := metatrack.Open(ctx, path, metatrack.WithClock(portClock(time.UnixMilli(ms), 2*time.Millisecond)), metatrack.WithRunName("child-"+role))
	if err != nil {
		return err
	}
	dv1, err := tr.GetResource(ctx, "dataset_version/titanic@1", "")
	if err != nil {
		return err
	}
	mv2, err := tr.GetResource(ctx, "model_version/titanic_model@2", "")
	if err != nil {
		return err
	}
	for i := range 2 {
		mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		if err != nil {
			return err
		}
		if err := tr.LogMetadata(ctx, mv, "author", role); err != nil {
			return err
		}
		if err := tr.BuildModelLineage(ctx, mv, nil); err != nil {
			return err
		}
		if i == 1 {
			if _, err := tr.Deploy(ctx, mv); err != nil {
				return err
			}
		}
		dv, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "iris")
		if err != nil {
			return err
		}
		if err := tr.LogTag(ctx, dv, "by", role); err != nil {
			return err
		}
	}
	if err := tr.LogTag(ctx, dv1, "quality", "checked-by-"+role); err != nil {
		return err
	}
	if err := tr.LogMetadata(ctx, mv2, "reviewed_by", role); err != nil {
		return err
	}
	// The same artifact name on a resource both files hold.
	review := filepath.Join(filepath.Dir(path), "review-"+role+".json")
	if err := os.WriteFile(review, []byte(`{"reviewer":"`+role+`"}`), 0o644); err != nil {
		return err
	}
	if _, err := tr.LogArtifact(ctx, dv1, "review.json", review); err != nil {
		return err
	}
	if role == "a" {
		if err := tr.DeleteTag(ctx, dv1, "source"); err != nil {
			return err
		}
	}
	return tr.Stop(ctx, nil)
}

func TestMergeDivergedCopies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	portFixture(t, base)
	a := filepath.Join(dir, "a.db")
	b := filepath.Join(dir, "b.db")
	portCopy(t, base, a)
	portCopy(t, base, b)
	start := portT0.Add(time.Hour).UnixMilli()
	for i, role := range []string{"a", "b"} {
		path := []string{a, b}[i]
		cmd := exec.Command(os.Args[0], "-test.run=^TestPortableChild$")
		cmd.Env = append(os.Environ(), portRoleEnv+"="+role, portDBEnv+"="+path, portStartEnv+"="+strconv.FormatInt(start+int64(i), 10))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child %s: %v\n%s", role, err, out)
		}
	}
	dumpA, dumpB := portDump(t, a), portDump(t, b)

	ab := filepath.Join(dir, "ab.db")
	ba := filepath.Join(dir, "ba.db")
	portCopy(t, a, ab)
	portCopy(t, b, ba)
	tr := portOpen(t, ab)
	st, err := tr.Merge(ctx, b)
	portCheck(t, err)
	t.Logf("B into A: %+v", st)
	portCheck(t, tr.Close())
	tr = portOpen(t, ba)
	_, err = tr.Merge(ctx, a)
	portCheck(t, err)
	portCheck(t, tr.Close())
	merged := portDump(t, ab)
	portSameDump(t, "A+B vs B+A", merged, portDump(t, ba))

	// Everything of both is there: every history entry, run, artifact,
	// deployment and edge (by id or key), and every resource but the
	// dataset iris that B created as well.
	have := map[string]bool{}
	ids := map[string]bool{}
	for _, l := range merged {
		f := strings.Split(l, "|")
		switch f[0] {
		case "history", "run", "artifact", "deployment", "resource":
			ids[f[0]+"|"+f[1]] = true
		case "edge":
			have[strings.Join(f[:4], "|")] = true
		}
	}
	for _, dump := range [][]string{dumpA, dumpB} {
		for _, l := range dump {
			f := strings.Split(l, "|")
			switch f[0] {
			case "history", "run", "deployment":
				if !ids[f[0]+"|"+f[1]] {
					t.Errorf("lost: %s", l)
				}
			case "artifact":
				// review.json: one name on one resource, the later wins.
				if !ids[f[0]+"|"+f[1]] && f[3] != "'review.json'" {
					t.Errorf("lost: %s", l)
				}
			case "resource":
				if !ids[f[0]+"|"+f[1]] && !(f[2] == "'dataset'" && f[3] == "'iris'") {
					t.Errorf("lost: %s", l)
				}
			case "edge":
				// Edges of the iris head that gave up its id now start at
				// the head it was unified with.
				unified := !ids["resource|"+f[1]] || !ids["resource|"+f[3]]
				if !have[strings.Join(f[:4], "|")] && !unified {
					t.Errorf("lost: %s", l)
				}
			}
		}
	}

	tr = portOpen(t, ab)
	// The chains both extended hold every version, numbered by creation:
	// a's and b's new versions alternate.
	versions, err := tr.Versions(ctx, metatrack.Resource{ID: "model/titanic_model"})
	portCheck(t, err)
	var authors []string
	for i, v := range versions {
		if v.Version != i+1 {
			t.Errorf("version %d numbered %d", i+1, v.Version)
		}
		if i > 0 && v.CreatedAt.Before(versions[i-1].CreatedAt) {
			t.Errorf("version %d is older than version %d", v.Version, i)
		}
		if author, err := tr.GetMetadata(ctx, v, "author"); err == nil {
			authors = append(authors, author.(string))
		}
	}
	if got := strings.Join(authors, ","); got != "a,b,a,b" {
		t.Errorf("new versions by %s", got)
	}
	hist, err := tr.History(ctx, versions[4])
	portCheck(t, err)
	renumbered := false
	for _, c := range hist {
		if c.Kind == metatrack.ChangeRenumbered && c.New == int64(5) {
			renumbered = true
		}
	}
	if !renumbered {
		t.Errorf("no renumbering in the history of %s: %+v", versions[4].Ref(), hist)
	}
	// iris: one dataset, four versions.
	iris, err := tr.Versions(ctx, metatrack.Resource{ID: "dataset/iris"})
	portCheck(t, err)
	if len(iris) != 4 {
		t.Errorf("iris has %d versions", len(iris))
	}
	// Later writes win: b wrote after a.
	dv1 := metatrack.Resource{ID: "dataset_version/titanic@1"}
	if q, _ := tr.GetTag(ctx, dv1, "quality"); q != "checked-by-b" {
		t.Errorf("quality = %q", q)
	}
	if _, err := tr.GetTag(ctx, dv1, "source"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("the tag a deleted came back: %v", err)
	}
	if r, _ := tr.GetMetadata(ctx, metatrack.Resource{ID: "model_version/titanic_model@2"}, "reviewed_by"); r != "b" {
		t.Errorf("reviewed_by = %v", r)
	}
	// One deployment open: b's, the later; a's ended when b's began.
	deps, err := tr.Deployments(ctx, metatrack.Resource{ID: "model/titanic_model"})
	portCheck(t, err)
	open := 0
	for _, d := range deps {
		if d.Current() && d.Environment == metatrack.DefaultEnvironment {
			open++
			if v, _ := tr.GetMetadata(ctx, d.ModelVersion, "author"); v != "b" {
				t.Errorf("the open deployment is %s's", v)
			}
		}
	}
	if open != 1 {
		t.Errorf("%d open deployments", open)
	}
	// a's deployed version was demoted when b's deployment closed a's.
	if v := versions[len(versions)-2]; v.Status != metatrack.StatusDemoted {
		t.Errorf("%s (by a, undeployed by the merge) is %s", v.Ref(), v.Status)
	}
	if v := versions[len(versions)-1]; v.Status != metatrack.StatusDeployed {
		t.Errorf("%s (by b) is %s", v.Ref(), v.Status)
	}
	_, rc, err := tr.GetArtifact(ctx, dv1, "review.json")
	portCheck(t, err)
	review, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(review) != `{"reviewer":"b"}` {
		t.Errorf("review.json: %s %v", review, err)
	}
	if rep, err := tr.Verify(ctx); err != nil {
		t.Errorf("verify: %v %v", err, rep.Problems)
	}
}

// TestMergeConflictRules checks each rule on two small files whose
// timestamps are chosen.
func TestMergeConflictRules(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	tr, err := metatrack.Open(ctx, base, metatrack.WithClock(portClock(portT0, time.Millisecond)))
	portCheck(t, err)
	dv, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")
	portCheck(t, err)
	portCheck(t, tr.LogTag(ctx, dv, "k", "base"))
	portCheck(t, tr.Stop(ctx, nil))

	write := func(path string, at time.Time, fn func(tr *metatrack.Tracker)) {
		portCopy(t, base, path)
		tr, err := metatrack.Open(ctx, path, metatrack.WithClock(func() time.Time { return at }))
		portCheck(t, err)
		fn(tr)
		portCheck(t, tr.Stop(ctx, nil))
	}
	t.Run("TieBrokenByValue", func(t *testing.T) {
		at := portT0.Add(time.Minute)
		a, b := filepath.Join(dir, "tie-a.db"), filepath.Join(dir, "tie-b.db")
		write(a, at, func(tr *metatrack.Tracker) { portCheck(t, tr.LogTag(ctx, dv, "k", "apple")) })
		write(b, at, func(tr *metatrack.Tracker) { portCheck(t, tr.LogTag(ctx, dv, "k", "banana")) })
		for _, pair := range [][2]string{{a, b}, {b, a}} {
			dst := filepath.Join(t.TempDir(), "m.db")
			portCopy(t, pair[0], dst)
			m := portOpen(t, dst)
			_, err := m.Merge(ctx, pair[1])
			portCheck(t, err)
			if v, _ := m.GetTag(ctx, dv, "k"); v != "banana" {
				t.Errorf("merging %s into %s: k = %q", filepath.Base(pair[1]), filepath.Base(pair[0]), v)
			}
		}
	})
	t.Run("RunEndBeatsRunning", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "src.db")
		tr, err := metatrack.Open(ctx, src, metatrack.WithRunName("long"))
		portCheck(t, err)
		_, err = tr.CreateResource(ctx, "thing", "x")
		portCheck(t, err)
		var running bytes.Buffer // exported while the run is RUNNING
		_, err = tr.Export(ctx, &running)
		portCheck(t, err)
		run := tr.Run()
		portCheck(t, tr.Stop(ctx, errors.New("boom")))
		m := portOpen(t, src)
		_, err = m.Import(ctx, &running)
		portCheck(t, err)
		got, err := m.GetRun(ctx, run.ID)
		portCheck(t, err)
		if got.Status != metatrack.RunFailed || got.Error != "boom" {
			t.Errorf("run after import of its running state: %+v", got)
		}
	})
	t.Run("IdentityConflict", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "src.db")
		portCopy(t, base, src)
		exp := portExport(t, src)
		// The same id naming another resource.
		bad := bytes.Replace(exp, []byte(`"type":"dataset","name":"d"`), []byte(`"type":"dataset","name":"e"`), 1)
		m := portOpen(t, src)
		before := portDump(t, src)
		_, err := m.Import(ctx, bytes.NewReader(bad))
		if !errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Fatalf("import of a conflicting resource: %v", err)
		}
		portSameDump(t, "after a refused import", before, portDump(t, src))

		// The same through Merge: the import's error, not the export's.
		other := filepath.Join(t.TempDir(), "other.db")
		portCopy(t, src, other)
		conn, err := sql.Open("sqlite", "file:"+other)
		portCheck(t, err)
		_, err = conn.Exec(`UPDATE resources SET name = 'e' WHERE type = 'dataset' AND name = 'd'`)
		portCheck(t, err)
		portCheck(t, conn.Close())
		_, err = m.Merge(ctx, other)
		if !errors.Is(err, metatrack.ErrInvalidArgument) || errors.Is(err, metatrack.ErrCorrupt) {
			t.Fatalf("merge of a conflicting resource: %v", err)
		}
		portSameDump(t, "after a refused merge", before, portDump(t, src))
	})
}

// TestMergeMigratedHistoryIDs: copies of a file made before history
// entries had ids got different random ids for the same entries from
// migration 0002; a merge keeps one of each.
func TestMergeMigratedHistoryIDs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	portFixture(t, base)
	var paths []string
	for _, name := range []string{"a.db", "b.db"} {
		p := filepath.Join(dir, name)
		portCopy(t, base, p)
		conn, err := sql.Open("sqlite", "file:"+p)
		portCheck(t, err)
		_, err = conn.Exec(`UPDATE history SET id = lower(hex(randomblob(16)))`)
		portCheck(t, err)
		portCheck(t, conn.Close())
		paths = append(paths, p)
	}
	before := portCount(t, portDump(t, paths[0]), "history|")
	tr := portOpen(t, paths[0])
	_, err := tr.Merge(ctx, paths[1])
	portCheck(t, err)
	portCheck(t, tr.Close())
	if after := portCount(t, portDump(t, paths[0]), "history|"); after != before {
		t.Errorf("history entries: %d before the merge, %d after", before, after)
	}
}

// TestMergeOlderSchema: a file of an older schema is merged through a
// migrated copy and is itself left byte for byte as it was.
func TestMergeOlderSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.db")
	portFixture(t, old)
	conn, err := sql.Open("sqlite", "file:"+old)
	portCheck(t, err)
	for _, name := range []string{"0007_history_indexes.down.sql", "0006_server.down.sql", "0005_metrics.down.sql", "0004_aliases_deletion.down.sql", "0003_attr_values.down.sql", "0002_history_ids.down.sql"} {
		down, err := fs.ReadFile(schema.SQLite(), name)
		portCheck(t, err)
		_, err = conn.Exec(string(down))
		portCheck(t, err)
	}
	_, err = conn.Exec(`UPDATE schema_migrations SET version = 1`)
	portCheck(t, err)
	portCheck(t, conn.Close())
	before, err := os.ReadFile(old)
	portCheck(t, err)

	dst := filepath.Join(dir, "dst.db")
	tr := portOpen(t, dst)
	st, err := tr.Merge(ctx, old)
	portCheck(t, err)
	if st.Kinds[portable.KindHistory] == 0 || st.Kinds[portable.KindResource] == 0 {
		t.Errorf("merge of an older file: %+v", st)
	}
	portCheck(t, tr.Close())
	after, err := os.ReadFile(old)
	portCheck(t, err)
	if !bytes.Equal(before, after) {
		t.Error("the merge changed the other file")
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(old + suffix); err == nil {
			t.Errorf("the merge left %s", suffix)
		}
	}
	entries, err := os.ReadDir(dir)
	portCheck(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".metatrack-merge") {
			t.Errorf("the merge left %s", e.Name())
		}
	}
}

// TestMergeStopsExport: when the import side of a merge fails while the
// export side is still writing, the merge reports the import's error.
func TestMergeStopsExport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portFixture(t, src)
	other := filepath.Join(dir, "other.db")
	portCopy(t, src, other)
	conn, err := sql.Open("sqlite", "file:"+other)
	portCheck(t, err)
	_, err = conn.Exec(`UPDATE resources SET name = 'renamed' WHERE type = 'dataset' AND name = 'titanic'`)
	portCheck(t, err)
	// Megabytes of records after the conflicting one, so that the export
	// is still writing when the import fails.
	_, err = conn.Exec(`UPDATE metadata SET value = '"' || hex(zeroblob(3000000)) || '"'`)
	portCheck(t, err)
	portCheck(t, conn.Close())
	before := portDump(t, src)
	_, err = portOpen(t, src).Merge(ctx, other)
	var le *portable.LineError
	if !errors.Is(err, metatrack.ErrInvalidArgument) || errors.Is(err, metatrack.ErrCorrupt) || !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	portSameDump(t, "after a refused merge", before, portDump(t, src))
}

func TestImportMalformed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portFixture(t, src)
	exp := portExport(t, src)
	lines := bytes.SplitAfter(exp, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty string after the last newline
	find := func(prefix string) int {
		for i, l := range lines {
			if bytes.HasPrefix(l, []byte(prefix)) {
				return i
			}
		}
		t.Fatalf("no line %s", prefix)
		return 0
	}
	join := func(ls [][]byte) []byte { return bytes.Join(ls, nil) }
	with := func(i int, l string) []byte {
		c := slices.Clone(lines)
		c[i] = []byte(l + "\n")
		return join(c)
	}
	chunk := find(`{"kind":"chunk"`)
	tag := find(`{"kind":"tag"`)
	res := find(`{"kind":"resource"`)
	flipped := slices.Clone(lines[chunk])
	flipped[len(flipped)-10] ^= 'A' ^ 'B'
	if flipped[len(flipped)-10] == '"' {
		t.Fatal("flipped the wrong byte")
	}

	for _, tc := range []struct {
		name  string
		input []byte
		line  int // 0: any
		want  string
	}{
		{"Empty", nil, 1, "empty"},
		{"NotJSON", []byte("hello\n"), 1, "header"},
		{"OtherFormat", []byte(`{"format":"other","version":1,"schema":2,"created_at":0,"records":0}` + "\n"), 1, "format"},
		{"NewerVersion", []byte(`{"format":"metatrack-export","version":99,"schema":2,"created_at":0,"records":0}` + "\n"), 1, "version"},
		{"TruncatedAtLine", join(lines[:len(lines)-1]), len(lines) - 1, "truncated"},
		{"TruncatedInBlobs", join(lines[:chunk+1]), chunk + 1, "truncated"},
		{"TruncatedMidLine", join(lines[:res+3])[:len(join(lines[:res+3]))-20], res + 3, "malformed"},
		{"FlippedChunk", with(chunk, string(bytes.TrimSpace(flipped))), 0, "SHA-256"},
		{"UnknownKind", with(tag, `{"kind":"gizmo"}`), tag + 1, "unknown record kind"},
		{"UnknownField", with(tag, strings.Replace(string(bytes.TrimSpace(lines[tag])), `"key"`, `"color":1,"key"`, 1)), tag + 1, "unknown field"},
		{"OutOfOrder", with(res, string(bytes.TrimSpace(lines[tag]))), res + 2, "order"},
		{"UnknownResource", with(tag, `{"kind":"tag","resource":"0000","key":"k","value":"v","updated_at":1}`), tag + 1, "neither in the file"},
		{"AfterEnd", append(slices.Clone(exp), []byte(`{"kind":"run"}`+"\n")...), len(lines) + 1, "after the end"},
		{"CountMismatch", join(append(slices.Clone(lines[:tag]), lines[tag+1:]...)), 0, "records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst.db")
			portCopy(t, filepath.Join(dir, "src.db"), dst)
			before := portDump(t, dst)
			tr := portOpen(t, dst)
			// A target that already holds data: nothing of it may change.
			_, err := tr.CreateResource(ctx, "thing", "kept")
			portCheck(t, err)
			portCheck(t, tr.Close())
			before = portDump(t, dst)

			tr = portOpen(t, dst)
			_, err = tr.Import(ctx, bytes.NewReader(tc.input))
			portCheck(t, tr.Close())
			if !errors.Is(err, metatrack.ErrInvalidArgument) || !errors.Is(err, portable.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			var le *portable.LineError
			if !errors.As(err, &le) || (tc.line != 0 && le.Line != tc.line) {
				t.Errorf("err = %v; want line %d", err, tc.line)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), fmt.Sprintf("line %d", le.Line)) {
				t.Errorf("err = %v; want it to say %q", err, tc.want)
			}
			portSameDump(t, "after a failed import", before, portDump(t, dst))
			conn, err := sql.Open("sqlite", "file:"+dst+"?mode=ro")
			portCheck(t, err)
			defer conn.Close()
			var staged int
			portCheck(t, conn.QueryRow(`SELECT count(*) FROM blobs WHERE sha256 IS NULL`).Scan(&staged))
			if staged != 0 {
				t.Errorf("%d staged blobs left", staged)
			}
		})
	}
	t.Run("FlippedChunkIsCorrupt", func(t *testing.T) {
		tr := portOpen(t, filepath.Join(t.TempDir(), "x.db"))
		_, err := tr.Import(ctx, bytes.NewReader(with(chunk, string(bytes.TrimSpace(flipped)))))
		if !errors.Is(err, metatrack.ErrCorrupt) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestImportCancelled: an import stopped by its context is not an error
// of the input, and leaves nothing behind.
func TestImportCancelled(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	portFixture(t, src)
	exp := portExport(t, src)
	dst := filepath.Join(dir, "dst.db")
	tr := portOpen(t, dst)
	portCheck(t, tr.Close())
	before := portDump(t, dst)
	for _, at := range []int64{3, 100} { // among the chunks, among the records
		ctx, cancel := context.WithCancel(context.Background())
		tr = portOpen(t, dst)
		_, err := tr.Import(ctx, bytes.NewReader(exp), metatrack.WithProgress(func(done, total int64) {
			if done == at {
				cancel()
			}
		}))
		cancel()
		portCheck(t, tr.Close())
		if err == nil || errors.Is(err, metatrack.ErrInvalidArgument) {
			t.Errorf("cancelled at %d: %v", at, err)
		}
		portSameDump(t, "after a cancelled import", before, portDump(t, dst))
	}
}

// portFlipChunkByte flips one byte of the first chunk of the largest blob.
func portFlipChunkByte(tb testing.TB, path string) {
	tb.Helper()
	conn, err := sql.Open("sqlite", "file:"+path)
	portCheck(tb, err)
	defer conn.Close()
	var blob, idx int64
	var data []byte
	portCheck(tb, conn.QueryRow(`SELECT c.blob_seq, c.idx, c.data FROM blob_chunks c JOIN blobs b ON b.seq = c.blob_seq
		ORDER BY b.size DESC, c.idx LIMIT 1`).Scan(&blob, &idx, &data))
	data[len(data)/2] ^= 0x01
	_, err = conn.Exec(`UPDATE blob_chunks SET data = ? WHERE blob_seq = ? AND idx = ?`, data, blob, idx)
	portCheck(tb, err)
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "v.db")
	portFixture(t, path)
	tr := portOpen(t, path)
	var last, total int64
	rep, err := tr.Verify(ctx, metatrack.WithProgress(func(d, tot int64) { last, total = d, tot }))
	if err != nil || !rep.OK() || rep.Blobs == 0 || rep.Bytes < 2*metatrack.ChunkSize || last != total {
		t.Fatalf("clean file: %v %+v, progress %d/%d", err, rep, last, total)
	}
	portCheck(t, tr.Close())

	t.Run("FlippedByte", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "flip.db")
		portCopy(t, path, p)
		portFlipChunkByte(t, p)
		rep, err := portOpen(t, p).Verify(ctx)
		if !errors.Is(err, metatrack.ErrCorrupt) || len(rep.Problems) != 1 || rep.Problems[0].Kind != sqlite.ProblemBlob ||
			!strings.Contains(rep.Problems[0].Detail, "SHA-256") {
			t.Errorf("err = %v, problems %v", err, rep.Problems)
		}
		// Export refuses to spread the damage.
		_, err = portOpen(t, p).Export(ctx, io.Discard)
		if !errors.Is(err, metatrack.ErrCorrupt) {
			t.Errorf("export of a damaged file: %v", err)
		}
		// So does a merge from it.
		_, err = portOpen(t, filepath.Join(t.TempDir(), "m.db")).Merge(ctx, p)
		if !errors.Is(err, metatrack.ErrCorrupt) {
			t.Errorf("merge of a damaged file: %v", err)
		}
	})
	t.Run("BrokenChain", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "chain.db")
		portCopy(t, path, p)
		conn, err := sql.Open("sqlite", "file:"+p)
		portCheck(t, err)
		_, err = conn.Exec(`UPDATE resources SET version = 7 WHERE type = 'model_version' AND version = 2`)
		portCheck(t, err)
		portCheck(t, conn.Close())
		rep, err := portOpen(t, p).Verify(ctx)
		if !errors.Is(err, metatrack.ErrCorrupt) || len(rep.Problems) != 1 || rep.Problems[0].Kind != sqlite.ProblemChain ||
			!strings.Contains(rep.Problems[0].Detail, "missing version 2") {
			t.Errorf("err = %v, problems %v", err, rep.Problems)
		}
	})
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gc.db")
	portFixture(t, path)
	// Two unfinished uploads: one abandoned two days ago, one in progress.
	conn, err := sql.Open("sqlite", "file:"+path)
	portCheck(t, err)
	for _, age := range []time.Duration{48 * time.Hour, time.Minute} {
		res, err := conn.Exec(`INSERT INTO blobs (chunk_size, created_at) VALUES (?, ?)`, metatrack.ChunkSize, time.Now().Add(-age).UnixMilli())
		portCheck(t, err)
		seq, _ := res.LastInsertId()
		_, err = conn.Exec(`INSERT INTO blob_chunks (blob_seq, idx, data) VALUES (?, 0, ?)`, seq, make([]byte, 1000))
		portCheck(t, err)
	}
	portCheck(t, conn.Close())
	before := portDump(t, path)

	tr := portOpen(t, path)
	dry, err := tr.GC(ctx, metatrack.WithDryRun())
	portCheck(t, err)
	if dry.Blobs != 1 || dry.Staged != 1 || dry.KeptStaged != 1 || dry.Bytes != 5000+1000 {
		t.Errorf("dry run: %+v", dry)
	}
	portCheck(t, tr.Close())
	portSameDump(t, "dry run", before, portDump(t, path))

	tr = portOpen(t, path)
	var calls int
	st, err := tr.GC(ctx, metatrack.WithProgress(func(done, total int64) { calls++ }))
	portCheck(t, err)
	st.FreeBytes, dry.FreeBytes = 0, 0
	if st != dry || calls != 3 {
		t.Errorf("gc: %+v (%d progress calls), dry run said %+v", st, calls, dry)
	}
	// What is referenced is still there and reads back whole.
	for _, ref := range []string{"model_version/titanic_model@2", "model_version/titanic_model@3"} {
		a, rc, err := tr.GetArtifact(ctx, metatrack.Resource{ID: ref}, "weights.bin")
		portCheck(t, err)
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != a.Size {
			t.Errorf("%s weights.bin: %d of %d bytes, %v", ref, n, a.Size, err)
		}
	}
	if rep, err := tr.Verify(ctx); err != nil {
		t.Errorf("verify after gc: %v %v", err, rep.Problems)
	}
	st, err = tr.GC(ctx)
	portCheck(t, err)
	if st.Blobs != 0 || st.Staged != 0 || st.KeptStaged != 1 {
		t.Errorf("second gc: %+v", st)
	}
	portCheck(t, tr.Vacuum(ctx))
	portCheck(t, tr.Close())
	after := portDump(t, path)
	if portCount(t, before, "blob|")-portCount(t, after, "blob|") != 2 {
		t.Errorf("blobs before %d, after %d", portCount(t, before, "blob|"), portCount(t, after, "blob|"))
	}
}

// BenchmarkExportImport measures export and import throughput on a file of
// a few thousand resources and one 50 MiB artifact:
//
//	go test -run '^$' -bench ExportImport -benchtime 3x .
func BenchmarkExportImport(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	src := filepath.Join(dir, "src.db")
	tr, err := metatrack.Open(ctx, src)
	if err != nil {
		b.Fatal(err)
	}
	err = tr.Batch(ctx, func(tx *metatrack.Tracker) error {
		for i := range 1000 {
			mv, err := tx.CreateResource(ctx, metatrack.TypeModelVersion, fmt.Sprintf("model%d", i%20))
			if err != nil {
				return err
			}
			if err := tx.LogMetadata(ctx, mv, "auc", float64(i)/1000); err != nil {
				return err
			}
			if err := tx.LogTag(ctx, mv, "team", "t"+strconv.Itoa(i%7)); err != nil {
				return err
			}
			for j := range 2 {
				if _, err := tx.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID),
					metatrack.WithAttr("trial", j)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	last, err := tr.GetResource(ctx, "model_version/model0@latest", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.LogArtifact(ctx, last, "big.bin", portWriteFile(b, dir, "big.bin", 50<<20, 42)); err != nil {
		b.Fatal(err)
	}
	portCheck(b, tr.Close())
	tr = portOpen(b, src)
	export := func(path string) int64 {
		f, err := os.Create(path)
		portCheck(b, err)
		st, err := tr.Export(ctx, f)
		portCheck(b, err)
		portCheck(b, f.Close())
		return st.Records
	}
	exportPath := filepath.Join(dir, "out.ndjson")
	records := export(exportPath)
	info, err := os.Stat(exportPath)
	portCheck(b, err)
	size := info.Size()
	b.Run("Export", func(b *testing.B) {
		for b.Loop() {
			export(filepath.Join(dir, "again.ndjson"))
		}
		b.SetBytes(size)
		b.ReportMetric(float64(records), "records")
	})
	b.Run("Import", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dst := filepath.Join(b.TempDir(), "dst.db")
			imp := portOpen(b, dst)
			f, err := os.Open(exportPath)
			portCheck(b, err)
			b.StartTimer()
			_, err = imp.Import(ctx, f)
			portCheck(b, err)
			b.StopTimer()
			f.Close()
			imp.Close()
			b.StartTimer()
		}
		b.SetBytes(size)
	})
	b.Run("Merge", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dst := portOpen(b, filepath.Join(b.TempDir(), "dst.db"))
			b.StartTimer()
			_, err := dst.Merge(ctx, src)
			portCheck(b, err)
			b.StopTimer()
			dst.Close()
			b.StartTimer()
		}
		b.SetBytes(size)
	})
}
