package portable_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	_ "github.com/metatrack/metatrack/storage/postgres" // postgres:// URLs
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRoundTripThroughPostgres: a store exported from SQLite, imported
// into PostgreSQL, exported from there, imported into a fresh SQLite file
// and exported again: the exports from PostgreSQL and from the fresh file
// are byte-equal, header aside, to the export of the same import on
// SQLite.
func TestRoundTripThroughPostgres(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "laptop.db")
	// Metrics stay out: the metric series are written by storage/sqlite's
	// Metrics, which does not run on PostgreSQL.
	richFixture(t, src, false)

	a := exportOf(t, src)
	pg := pgtest.URL(t)
	importInto(t, pg, a)
	b := exportOf(t, pg)
	back := filepath.Join(dir, "back.db")
	importInto(t, back, b)
	c := exportOf(t, back)

	// The same export imported into SQLite: the store the PostgreSQL one
	// must read the same as. (The first file's own export orders some
	// records by its internal keys, which an import assigns anew, so it is
	// the reference only after one import.)
	ref := filepath.Join(dir, "ref.db")
	importInto(t, ref, a)
	want := exportOf(t, ref)
	if bytes.Equal(body(a), body(want)) {
		t.Log("the first export reads the same after an import")
	}
	for _, x := range []struct {
		what string
		got  []byte
	}{{"the export from PostgreSQL", b}, {"the export after the round trip", c}} {
		if !bytes.Equal(body(want), body(x.got)) {
			t.Errorf("%s differs from the export of the same import on SQLite:\n%s", x.what, firstDiff(body(want), body(x.got)))
		}
	}
	// A filtered export (its lineage closure, bare chain members, their
	// runs) selects the same on both engines.
	filter := metatrack.WithExportFilter("type = 'model_version' AND version = 2")
	if fp, fs := exportOf(t, pg, filter), exportOf(t, ref, filter); !bytes.Equal(body(fs), body(fp)) {
		t.Errorf("the filtered export from PostgreSQL differs from SQLite's:\n%s", firstDiff(body(fs), body(fp)))
	} else if len(fp) >= len(b) || bytes.Count(fp, []byte("\n")) < 10 {
		t.Errorf("the filtered export holds %d of %d bytes", len(fp), len(b))
	}
	// A backup of the PostgreSQL store is one SQLite file with the same
	// content; a second backup to the same path is refused.
	bk := filepath.Join(dir, "backup.db")
	if err := tr0(t, pg).Backup(ctx, bk); err != nil {
		t.Fatal(err)
	}
	if got := exportOf(t, bk); !bytes.Equal(body(want), body(got)) {
		t.Errorf("the backup of the PostgreSQL store differs:\n%s", firstDiff(body(want), body(got)))
	}
	if err := tr0(t, pg).Backup(ctx, bk); !errors.Is(err, os.ErrExist) {
		t.Errorf("a backup over an existing file: %v, want os.ErrExist", err)
	}
	// Importing the same export into PostgreSQL again changes nothing.
	tr, err := metatrack.Open(ctx, pg, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	st, err := tr.Import(ctx, bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 0 || st.Updated != 0 {
		t.Errorf("importing again into PostgreSQL added %d, updated %d", st.Added, st.Updated)
	}
	t.Logf("export: %d bytes, %d lines", len(a), bytes.Count(a, []byte("\n")))
}

// richFixture builds a store at path with chains, tags, metadata,
// version-control records, artifacts in several chunks, lineage, a
// winning experiment, deployments, aliases, a deletion and, with metrics,
// metric series.
func richFixture(t *testing.T, path string, metrics bool) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := 0
	clock := func() time.Time { n++; return t0.Add(time.Duration(n) * time.Millisecond) }
	tr, err := metatrack.Open(ctx, path, metatrack.WithClock(clock), metatrack.WithRunName("fixture"))
	check(t, err)
	defer tr.Close()
	file := func(name string, size int) string {
		p := filepath.Join(t.TempDir(), name)
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*7 + size)
		}
		check(t, os.WriteFile(p, b, 0o644))
		return p
	}
	var dvs, mvs []metatrack.Resource
	for i := range 3 {
		dv, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic", metatrack.WithAttr("rows", 800+i))
		check(t, err)
		check(t, tr.LogTag(ctx, dv, "source", fmt.Sprintf("s3://bucket/titanic-%d.csv", i)))
		check(t, tr.LogMetadata(ctx, dv, "rows", 800+i))
		check(t, tr.RegisterVCResource(ctx, dv, map[string]any{"hexsha": fmt.Sprintf("%040d", i), "uri": "git://repo"}))
		dvs = append(dvs, dv)
	}
	check(t, tr.LogTag(ctx, dvs[0], "obsolete", "yes"))
	check(t, tr.DeleteTag(ctx, dvs[0], "obsolete"))
	for i := range 3 {
		mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model", metatrack.WithStatus(metatrack.StatusRegistered))
		check(t, err)
		check(t, tr.BuildModelLineage(ctx, mv, []metatrack.Resource{dvs[i]}))
		check(t, tr.LogMetadata(ctx, mv, "params", map[string]any{"lr": 0.01, "layers": []int{64, 32}, "name": "<mlp> & co"}))
		check(t, tr.LogMetadata(ctx, mv, "auc", 0.8+float64(i)/100))
		exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "lr=1", metatrack.WithParent(mv.ID))
		check(t, err)
		check(t, tr.SetWinningExperiment(ctx, mv, exp))
		if metrics {
			check(t, tr.LogMetric(ctx, mv, "loss", 1/float64(i+1)))
			check(t, tr.LogMetric(ctx, mv, "loss", 0.5/float64(i+1)))
		}
		mvs = append(mvs, mv)
	}
	_, err = tr.LogArtifact(ctx, mvs[1], "weights.bin", file("weights.bin", 2*metatrack.ChunkSize+12345))
	check(t, err)
	_, err = tr.LogArtifact(ctx, mvs[2], "model.json", file("model.json", 300))
	check(t, err)
	_, err = tr.Deploy(ctx, mvs[1])
	check(t, err)
	_, err = tr.Deploy(ctx, mvs[0], metatrack.WithEnvironment("staging"))
	check(t, err)
	check(t, tr.Undeploy(ctx, mvs[0], metatrack.WithEnvironment("staging")))
	_, err = tr.SetAlias(ctx, mvs[1], "champion")
	check(t, err)
	_, err = tr.SetAlias(ctx, mvs[2], "challenger")
	check(t, err)
	_, err = tr.DeleteResource(ctx, mvs[2])
	check(t, err)
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tr0 opens url without a run, closed when the test ends.
func tr0(t *testing.T, url string) *metatrack.Tracker {
	t.Helper()
	tr, err := metatrack.Open(context.Background(), url, metatrack.WithoutRun())
	check(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func exportOf(t *testing.T, url string, opts ...metatrack.MaintenanceOption) []byte {
	t.Helper()
	tr, err := metatrack.Open(context.Background(), url, metatrack.WithoutRun())
	check(t, err)
	defer tr.Close()
	var b bytes.Buffer
	_, err = tr.Export(context.Background(), &b, opts...)
	check(t, err)
	return b.Bytes()
}

func importInto(t *testing.T, url string, export []byte) {
	t.Helper()
	tr, err := metatrack.Open(context.Background(), url, metatrack.WithoutRun())
	check(t, err)
	defer tr.Close()
	_, err = tr.Import(context.Background(), bytes.NewReader(export))
	check(t, err)
	check(t, tr.Close())
}

// body is an export without its header line (it holds the time of the
// export).
func body(export []byte) []byte {
	_, rest, _ := bytes.Cut(export, []byte("\n"))
	return rest
}

func firstDiff(a, b []byte) string {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("line %d:\n  want %.300s\n  got  %.300s", i+2, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(bl), len(al))
}
