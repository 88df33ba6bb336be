// Package metatracktest is the conformance suite every metatrack storage
// backend must pass: it exercises each method of the MetadataTracker
// interface, and the Tracker calls built on it, with their edge cases. A new
// backend runs it with one call:
//
//	func TestConformance(t *testing.T) {
//		metatracktest.Run(t, func(tb testing.TB) metatracktest.Tracker { return openMyBackend(tb) })
//	}
package metatracktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// Opener returns a new, empty tracker for one test; it registers its own
// cleanup with tb.
type Opener func(tb testing.TB) Tracker

// Run runs the whole suite against trackers made by open.
func Run(t *testing.T, open Opener) {
	s := suite{open: open}
	t.Run("Resources", s.testResources)
	t.Run("Refs", s.testRefs)
	t.Run("VersionChains", s.testVersionChains)
	t.Run("UpdateAndClean", s.testUpdateAndClean)
	t.Run("Tags", s.testTags)
	t.Run("Metadata", s.testMetadata)
	t.Run("VCInfo", s.testVCInfo)
	t.Run("Artifacts", s.testArtifacts)
	t.Run("Reports", s.testReports)
	t.Run("PrevVersion", s.testPrevVersion)
	t.Run("Lineage", s.testLineage)
	t.Run("WinningExperiment", s.testWinningExperiment)
	t.Run("Deployment", s.testDeployment)
	t.Run("DeploymentStatusAgree", s.testDeploymentStatusAgree)
	t.Run("LinkRefusals", s.testLinkRefusals)
	t.Run("LatestModelResource", s.testLatestModelResource)
	t.Run("LoadModel", s.testLoadModel)
	t.Run("History", s.testHistory)
	t.Run("Runs", s.testRuns)
	t.Run("Batch", s.testBatch)
	t.Run("BatchHistory", s.testBatchHistory)
	t.Run("Metrics", s.testMetrics)
	t.Run("Search", s.testSearch)
	t.Run("SearchColumns", s.testSearchColumns)
	t.Run("Sweeps", s.testSweeps)
	t.Run("LineageGraph", s.testLineageGraph)
	t.Run("StatsAndChains", s.testStatsAndChains)
	t.Run("Aliases", s.testAliases)
	t.Run("DeleteRestore", s.testDeleteRestore)
}

type suite struct{ open Opener }

var ctx = context.Background()

// result carries a call's two results to of, which fails the test on error:
// v := must(tr.GetResource(ctx, id, "")).of(t).
type result[T any] struct {
	v   T
	err error
}

func must[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) of(tb testing.TB) T {
	tb.Helper()
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.v
}

func noErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func wantErr(tb testing.TB, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("got error %v, want one matching %v", err, target)
	}
}

func (s suite) testResources(t *testing.T) {
	tr := s.open(t)
	t.Run("OK", func(t *testing.T) {
		ds := must(tr.CreateResource(ctx, metatrack.TypeDataset, "iris")).of(t)
		if ds.ID == "" || ds.Type != "dataset" || ds.Name != "iris" || ds.Version != 0 || ds.ParentID != "" {
			t.Fatalf("bad dataset: %+v", ds)
		}
		if ds.RunID != tr.Run().ID || ds.CreatedAt.IsZero() {
			t.Fatalf("dataset does not record its run and time: %+v", ds)
		}
		got := must(tr.GetResource(ctx, ds.ID, "")).of(t)
		if !reflect.DeepEqual(got, ds) {
			t.Fatalf("GetResource = %+v, want %+v", got, ds)
		}
		if id := must(tr.GetResourceID(ctx, ds)).of(t); id != ds.ID {
			t.Fatalf("GetResourceID = %q", id)
		}
		if p := must(tr.GetParentID(ctx, ds, "")).of(t); p != "" {
			t.Fatalf("root has parent %q", p)
		}
	})
	t.Run("CustomType", func(t *testing.T) {
		fs := must(tr.CreateResource(ctx, "feature_set", "fs1", metatrack.WithAttr("columns", 12))).of(t)
		if fs.Attrs["columns"] != int64(12) {
			t.Fatalf("attrs = %#v", fs.Attrs)
		}
		child := must(tr.CreateResource(ctx, "feature", "age", metatrack.WithParent(fs.ID))).of(t)
		if child.ParentID != fs.ID {
			t.Fatalf("parent = %q", child.ParentID)
		}
		// A custom <kind>_version type forms chains too.
		v1 := must(tr.CreateResource(ctx, "feature_set_version", "fs1")).of(t)
		if v1.Version != 1 || v1.ParentID != fs.ID {
			t.Fatalf("feature_set_version = %+v", v1)
		}
	})
	t.Run("ErrAlreadyExists", func(t *testing.T) {
		must(tr.CreateResource(ctx, metatrack.TypeModel, "dup")).of(t)
		_, err := tr.CreateResource(ctx, metatrack.TypeModel, "dup")
		wantErr(t, err, metatrack.ErrAlreadyExists)
		again := must(tr.CreateResource(ctx, metatrack.TypeModel, "dup", metatrack.IfNotExists())).of(t)
		if again.Name != "dup" {
			t.Fatal(again)
		}
	})
	for name, tc := range map[string]struct {
		typ, name string
		opts      []metatrack.CreateOption
	}{
		"ErrEmptyType":            {"", "x", nil},
		"ErrUpperCaseType":        {"Dataset", "x", nil},
		"ErrTypeWithSpace":        {"data set", "x", nil},
		"ErrEmptyName":            {metatrack.TypeDataset, "", nil},
		"ErrNameNUL":              {metatrack.TypeDataset, "a\x00b", nil},
		"ErrNameInvalidUTF8":      {metatrack.TypeDataset, "a\xffb", nil},
		"ErrNameTooLong":          {metatrack.TypeDataset, strings.Repeat("n", metatrack.MaxNameBytes+1), nil},
		"ErrExperimentNoParent":   {metatrack.TypeExperiment, "", nil},
		"ErrChainWithParent":      {metatrack.TypeModelVersion, "m", []metatrack.CreateOption{metatrack.WithParent("model/m")}},
		"ErrAttrsNotJSON":         {metatrack.TypeDataset, "j", []metatrack.CreateOption{metatrack.WithAttr("f", func() {})}},
		"ErrParentWrongType":      {metatrack.TypePredictionJob, "", []metatrack.CreateOption{metatrack.WithParent("dataset/iris")}},
		"ErrVersionChainNoName":   {metatrack.TypeDatasetVersion, "", nil},
		"ErrStatusTooLong":        {metatrack.TypeDataset, "st", []metatrack.CreateOption{metatrack.WithStatus(strings.Repeat("S", 65))}},
		"ErrNameAtLimitPlusOneUT": {metatrack.TypeModel, strings.Repeat("é", metatrack.MaxNameBytes/2) + "x", nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tr.CreateResource(ctx, tc.typ, tc.name, tc.opts...)
			wantErr(t, err, metatrack.ErrInvalidArgument)
		})
	}
	t.Run("NameAtLimit", func(t *testing.T) {
		must(tr.CreateResource(ctx, metatrack.TypeModel, strings.Repeat("n", metatrack.MaxNameBytes))).of(t)
	})
	t.Run("ErrMissingParent", func(t *testing.T) {
		_, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent("model_version/nope@1"))
		wantErr(t, err, metatrack.ErrNotFound)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := tr.GetResource(ctx, "0190a5f2-0000-7000-8000-000000000000", "")
		wantErr(t, err, metatrack.ErrNotFound)
		_, err = tr.GetResourceID(ctx, metatrack.Resource{ID: "dataset/none"})
		wantErr(t, err, metatrack.ErrNotFound)
		_, err = tr.GetResource(ctx, "", "")
		wantErr(t, err, metatrack.ErrInvalidArgument)
	})
}

func (s suite) testRefs(t *testing.T) {
	tr := s.open(t)
	v1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")).of(t)
	v2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")).of(t)
	for ref, want := range map[string]metatrack.Resource{
		"model_version/titanic_model@1":      v1,
		"model_version/titanic_model@2":      v2,
		"model_version/titanic_model":        v2,
		"model_version/titanic_model@latest": v2,
	} {
		got := must(tr.GetResource(ctx, ref, "")).of(t)
		if got.ID != want.ID {
			t.Errorf("%s -> %s, want %s", ref, got.Ref(), want.Ref())
		}
	}
	// A bare name with the type given, as the seed's get_resource(id, type).
	if got := must(tr.GetResource(ctx, "titanic_model", metatrack.TypeModelVersion)).of(t); got.ID != v2.ID {
		t.Errorf("bare name -> %s", got.Ref())
	}
	if ref := must(tr.GetResourceRef(ctx, metatrack.Resource{ID: v1.ID})).of(t); ref != "model_version/titanic_model@1" {
		t.Errorf("GetResourceRef = %q", ref)
	}
	// A Resource holding a reference instead of an id works everywhere.
	noErr(t, tr.LogTag(ctx, metatrack.Resource{ID: "model_version/titanic_model@1"}, "k", "v"))
	if v := must(tr.GetTag(ctx, v1, "k")).of(t); v != "v" {
		t.Errorf("tag via ref = %q", v)
	}
	// Names with dots, slashes and @ survive (the MLflow tag-prefix scheme broke on them).
	odd := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "s3://bucket/a.b@c")).of(t)
	if got := must(tr.GetResource(ctx, odd.Ref(), "")).of(t); got.ID != odd.ID {
		t.Errorf("odd name ref %s -> %s", odd.Ref(), got.Ref())
	}
	job := must(tr.CreateResource(ctx, metatrack.TypePredictionJob, "batch@3", metatrack.WithParent(v1.ID))).of(t)
	if got := must(tr.GetResource(ctx, job.Ref(), "")).of(t); got.ID != job.ID {
		t.Errorf("non-chain name with @digits: %s -> %s", job.Ref(), got.Ref())
	}
	// A search returns the reference of a child nested at any depth below
	// a chain member as GetResource and CreateResource do.
	deep, nested := job, []metatrack.Resource(nil)
	for i := range 3 {
		deep = must(tr.CreateResource(ctx, "shard", fmt.Sprintf("part-%d", i), metatrack.WithParent(deep.ID))).of(t)
		nested = append(nested, deep)
	}
	page := must(tr.Search(ctx, "type = 'shard' ORDER BY created_at")).of(t)
	if len(page.Resources) != len(nested) {
		t.Fatalf("search found %d shards, want %d", len(page.Resources), len(nested))
	}
	for i, got := range page.Resources {
		want := must(tr.GetResource(ctx, nested[i].ID, "")).of(t)
		if got.Ref() != want.Ref() || got.Ref() != nested[i].Ref() || !strings.HasPrefix(got.Ref(), job.Ref()+"/shard/part-0") {
			t.Errorf("search row %d is %s, want %s (GetResource: %s)", i, got.Ref(), nested[i].Ref(), want.Ref())
		}
	}
	// A chain name that a reference would read as a version is refused.
	_, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "m@2")
	wantErr(t, err, metatrack.ErrInvalidArgument)
	_, err = tr.GetResource(ctx, "model_version/titanic_model@0", "")
	wantErr(t, err, metatrack.ErrInvalidArgument)
	_, err = tr.GetResource(ctx, "model_version/titanic_model@9", "")
	wantErr(t, err, metatrack.ErrNotFound)
	_, err = tr.GetResource(ctx, v1.ID, metatrack.TypeDataset)
	wantErr(t, err, metatrack.ErrNotFound)
}

func (s suite) testVersionChains(t *testing.T) {
	tr := s.open(t)
	var ids []string
	for i := 1; i <= 5; i++ {
		v := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic_train")).of(t)
		if v.Version != i {
			t.Fatalf("version %d, want %d", v.Version, i)
		}
		ids = append(ids, v.ID)
	}
	head := must(tr.GetResource(ctx, "dataset/titanic_train", "")).of(t)
	versions := must(tr.Versions(ctx, head)).of(t)
	if len(versions) != 5 {
		t.Fatalf("%d versions", len(versions))
	}
	for i, v := range versions {
		if v.ID != ids[i] || v.ParentID != head.ID {
			t.Fatalf("version %d = %+v", i+1, v)
		}
	}
	if p := must(tr.GetParentID(ctx, versions[0], metatrack.TypeDataset)).of(t); p != head.ID {
		t.Fatalf("parent = %q", p)
	}
	_, err := tr.GetParentID(ctx, versions[0], metatrack.TypeModel)
	wantErr(t, err, metatrack.ErrNotFound)
	// Chains are per type and name.
	other := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic_test")).of(t)
	if other.Version != 1 {
		t.Fatalf("new chain starts at %d", other.Version)
	}
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_train")).of(t)
	if mv.Version != 1 {
		t.Fatalf("model chain of the same name starts at %d", mv.Version)
	}
	kids := must(tr.Children(ctx, head, "")).of(t)
	if len(kids) != 5 {
		t.Fatalf("%d children", len(kids))
	}
}

func (s suite) testUpdateAndClean(t *testing.T) {
	tr := s.open(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))).of(t)
	if exp.Name == "" || exp.ParentID != mv.ID {
		t.Fatalf("experiment = %+v", exp)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	end := start.Add(90 * time.Second)
	got := must(tr.UpdateResource(ctx, exp, metatrack.Updates{
		"start_time": start, "ended_at": end.Format(time.RFC3339Nano), "status": "RUNNING",
		"attrs": map[string]any{"trial": 3}, "attrs.sampler": "tpe",
	})).of(t)
	if !got.StartedAt.Equal(start) || !got.EndedAt.Equal(end) || got.Status != "RUNNING" ||
		got.Attrs["trial"] != int64(3) || got.Attrs["sampler"] != "tpe" {
		t.Fatalf("updated = %+v", got)
	}
	got = must(tr.UpdateResource(ctx, exp, metatrack.Updates{"attrs.sampler": nil, "ended_at": nil})).of(t)
	if _, ok := got.Attrs["sampler"]; ok || !got.EndedAt.IsZero() {
		t.Fatalf("after removal = %+v", got)
	}
	for name, u := range map[string]metatrack.Updates{
		"ErrUnknownField": {"colour": "red", "status": "X"},
		"ErrEmpty":        {},
		"ErrBadTime":      {"started_at": "yesterday"},
		"ErrStatusType":   {"status": 3},
		"ErrAttrsType":    {"attrs": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tr.UpdateResource(ctx, exp, u)
			wantErr(t, err, metatrack.ErrInvalidArgument)
			now := must(tr.GetResource(ctx, exp.ID, "")).of(t)
			if now.Status != "RUNNING" {
				t.Fatalf("a refused update changed the status to %q", now.Status)
			}
		})
	}
	noErr(t, tr.CleanResource(ctx, exp, metatrack.TypeExperiment))
	got = must(tr.GetResource(ctx, exp.ID, "")).of(t)
	if got.Status != metatrack.StatusFinished || got.EndedAt.IsZero() {
		t.Fatalf("cleaned = %+v", got)
	}
	ended := got.EndedAt
	noErr(t, tr.CleanResource(ctx, exp, ""))
	if again := must(tr.GetResource(ctx, exp.ID, "")).of(t); !again.EndedAt.Equal(ended) {
		t.Fatal("second clean changed the end time")
	}
	wantErr(t, tr.CleanResource(ctx, exp, metatrack.TypeModel), metatrack.ErrInvalidArgument)
}

func (s suite) testTags(t *testing.T) {
	tr := s.open(t)
	ds := must(tr.CreateResource(ctx, metatrack.TypeDataset, "d")).of(t)
	noErr(t, tr.LogTag(ctx, ds, "owner", "ana"))
	noErr(t, tr.LogTag(ctx, ds, "owner", "bo"))
	noErr(t, tr.LogTag(ctx, ds, "empty", ""))
	noErr(t, tr.LogTag(ctx, ds, "unicode ключ.with/dots", "значение"))
	if v := must(tr.GetTag(ctx, ds, "owner")).of(t); v != "bo" {
		t.Fatalf("owner = %q", v)
	}
	tags := must(tr.Tags(ctx, ds)).of(t)
	want := map[string]string{"owner": "bo", "empty": "", "unicode ключ.with/dots": "значение"}
	if !reflect.DeepEqual(tags, want) {
		t.Fatalf("tags = %v", tags)
	}
	_, err := tr.GetTag(ctx, ds, "missing")
	wantErr(t, err, metatrack.ErrNotFound)
	wantErr(t, tr.LogTag(ctx, ds, "", "v"), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogTag(ctx, ds, "k", "bad\xff"), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogTag(ctx, ds, "k", strings.Repeat("v", metatrack.MaxTagValueBytes+1)), metatrack.ErrInvalidArgument)
	noErr(t, tr.LogTag(ctx, ds, "k", strings.Repeat("v", metatrack.MaxTagValueBytes)))
	wantErr(t, tr.LogTag(ctx, metatrack.Resource{ID: "dataset/none"}, "k", "v"), metatrack.ErrNotFound)
	noErr(t, tr.DeleteTag(ctx, ds, "owner"))
	_, err = tr.GetTag(ctx, ds, "owner")
	wantErr(t, err, metatrack.ErrNotFound)
	// Injection strings are values like any other.
	evil := `'; DROP TABLE tags; --`
	noErr(t, tr.LogTag(ctx, ds, evil, evil))
	if v := must(tr.GetTag(ctx, ds, evil)).of(t); v != evil {
		t.Fatalf("evil = %q", v)
	}
}

func (s suite) testMetadata(t *testing.T) {
	tr := s.open(t)
	ds := must(tr.CreateResource(ctx, metatrack.TypeDataset, "d")).of(t)
	type params struct {
		LR     float64 `json:"lr"`
		Layers []int   `json:"layers"`
	}
	cases := map[string]struct {
		in, want any
	}{
		"int":      {42, int64(42)},
		"bigint":   {int64(1) << 60, int64(1) << 60},
		"float":    {0.125, 0.125},
		"string":   {"hello", "hello"},
		"bool":     {true, true},
		"null":     {nil, nil},
		"map":      {map[string]any{"a": 1, "b": []any{"x", 2.5}}, map[string]any{"a": int64(1), "b": []any{"x", 2.5}}},
		"struct":   {params{LR: 0.01, Layers: []int{64, 32}}, map[string]any{"lr": 0.01, "layers": []any{int64(64), int64(32)}}},
		"numbered": {[]float64{1, 2.5}, []any{int64(1), 2.5}},
	}
	for key, c := range cases {
		noErr(t, tr.LogMetadata(ctx, ds, key, c.in))
	}
	for key, c := range cases {
		got := must(tr.GetMetadata(ctx, ds, key)).of(t)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", key, got, c.want)
		}
	}
	var p params
	noErr(t, tr.GetMetadataInto(ctx, ds, "struct", &p))
	if p.LR != 0.01 || len(p.Layers) != 2 {
		t.Fatalf("into = %+v", p)
	}
	all := must(tr.Metadata(ctx, ds)).of(t)
	if len(all) != len(cases) {
		t.Fatalf("%d metadata values", len(all))
	}
	noErr(t, tr.LogMetadata(ctx, ds, "int", "now a string"))
	if got := must(tr.GetMetadata(ctx, ds, "int")).of(t); got != "now a string" {
		t.Fatalf("replaced = %#v", got)
	}
	_, err := tr.GetMetadata(ctx, ds, "missing")
	wantErr(t, err, metatrack.ErrNotFound)
	wantErr(t, tr.LogMetadata(ctx, ds, "f", func() {}), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogMetadata(ctx, ds, "", 1), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogMetadata(ctx, ds, "nan", nanValue()), metatrack.ErrInvalidArgument)
}

func nanValue() float64 { var zero float64; return zero / zero }

func (s suite) testVCInfo(t *testing.T) {
	tr := s.open(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	own := map[string]any{"hexsha": "abc123", "uri": "git@host:repo.git", "branch": "main"}
	noErr(t, tr.RegisterVCResource(ctx, mv, own))
	split := map[string]any{"hexsha": "def456", "uri": "s3://bucket/x_train.parquet"}
	noErr(t, tr.RegisterVCResource(ctx, mv, split, metatrack.WithVCKey("X_train"),
		metatrack.WithAdditionalMetadata(map[string]any{"rows": 712, "training_params": map[string]any{"lr": 0.1}})))
	for _, key := range []string{"", "hexsha"} {
		if got := must(tr.GetVCInfo(ctx, mv, key)).of(t); !reflect.DeepEqual(got, own) {
			t.Errorf("GetVCInfo(%q) = %v", key, got)
		}
	}
	for _, key := range []string{"X_train", "X_train_hexsha"} {
		if got := must(tr.GetVCInfo(ctx, mv, key)).of(t); !reflect.DeepEqual(got, split) {
			t.Errorf("GetVCInfo(%q) = %v", key, got)
		}
	}
	if rows := must(tr.GetMetadata(ctx, mv, "rows")).of(t); rows != int64(712) {
		t.Errorf("additional metadata rows = %#v", rows)
	}
	all := must(tr.VCInfos(ctx, mv)).of(t)
	if len(all) != 2 {
		t.Errorf("VCInfos = %v", all)
	}
	_, err := tr.GetVCInfo(ctx, mv, "X_test")
	wantErr(t, err, metatrack.ErrNotFound)
	wantErr(t, tr.RegisterVCResource(ctx, mv, nil), metatrack.ErrInvalidArgument)
	// Re-registering replaces.
	noErr(t, tr.RegisterVCResource(ctx, mv, map[string]any{"hexsha": "fff"}, metatrack.WithVCKey("X_train")))
	if got := must(tr.GetVCInfo(ctx, mv, "X_train_hexsha")).of(t); got["hexsha"] != "fff" {
		t.Errorf("replaced = %v", got)
	}
}

func writeFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	noErr(tb, os.WriteFile(p, data, 0o644))
	return p
}

func readAll(tb testing.TB, rc io.ReadCloser) []byte {
	tb.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	noErr(tb, err)
	return b
}

func (s suite) testArtifacts(t *testing.T) {
	tr := s.open(t)
	exp := must(tr.CreateResource(ctx, "report_target", "r")).of(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB: several chunks
	sum := sha256.Sum256(data)
	p := writeFile(t, "model.bin", data)
	a := must(tr.LogArtifact(ctx, exp, "", p)).of(t)
	if a.Name != "model.bin" || a.Size != int64(len(data)) || a.SHA256 != hex.EncodeToString(sum[:]) || a.Kind != metatrack.KindArtifact {
		t.Fatalf("artifact = %+v", a)
	}
	got, rc, err := tr.GetArtifact(ctx, exp, "model.bin")
	noErr(t, err)
	if !bytes.Equal(readAll(t, rc), data) || got.ID != a.ID {
		t.Fatal("artifact bytes differ")
	}
	// Nested names, dedup, save to a path and into a directory.
	must(tr.LogArtifact(ctx, exp, "plots/roc.svg", p, metatrack.WithMediaType("image/svg+xml"))).of(t)
	dst := filepath.Join(t.TempDir(), "out.bin")
	must(tr.SaveArtifact(ctx, exp, "plots/roc.svg", dst)).of(t)
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, data) {
		t.Fatal("saved bytes differ")
	}
	dir := t.TempDir()
	must(tr.SaveArtifact(ctx, exp, "plots/roc.svg", dir)).of(t)
	if b, _ := os.ReadFile(filepath.Join(dir, "roc.svg")); !bytes.Equal(b, data) {
		t.Fatal("bytes saved into a directory differ")
	}
	list := must(tr.Artifacts(ctx, exp, "")).of(t)
	if len(list) != 2 || list[1].MediaType != "image/svg+xml" {
		t.Fatalf("list = %+v", list)
	}
	// Replacing keeps one record under the name.
	small := writeFile(t, "small.txt", []byte("v2"))
	must(tr.LogArtifact(ctx, exp, "model.bin", small)).of(t)
	_, rc, err = tr.GetArtifact(ctx, exp, "model.bin")
	noErr(t, err)
	if string(readAll(t, rc)) != "v2" {
		t.Fatal("replaced artifact not returned")
	}
	// Empty file.
	empty := writeFile(t, "empty", nil)
	must(tr.LogArtifact(ctx, exp, "empty", empty)).of(t)
	_, rc, err = tr.GetArtifact(ctx, exp, "empty")
	noErr(t, err)
	if len(readAll(t, rc)) != 0 {
		t.Fatal("empty artifact not empty")
	}
	// External artifacts.
	ext := must(tr.LogArtifact(ctx, exp, "remote", "", metatrack.WithExternalURI("s3://bucket/model.bin"),
		metatrack.WithSHA256(a.SHA256), metatrack.WithSize(a.Size))).of(t)
	if !ext.External() || ext.SHA256 != a.SHA256 {
		t.Fatalf("external = %+v", ext)
	}
	_, _, err = tr.GetArtifact(ctx, exp, "remote")
	wantErr(t, err, metatrack.ErrExternalArtifact)
	local := must(tr.LogArtifact(ctx, exp, "local", p, metatrack.WithExternalURI("file://"+p))).of(t)
	if local.SHA256 != a.SHA256 {
		t.Fatalf("local external hash = %s", local.SHA256)
	}
	_, rc, err = tr.GetArtifact(ctx, exp, "local")
	noErr(t, err)
	if !bytes.Equal(readAll(t, rc), data) {
		t.Fatal("local external bytes differ")
	}
	// Errors: bad names, missing or directory paths, wrong hash.
	for _, name := range []string{"../escape", "/abs", "a/../b", "a//b", "./a", "a\\b", "a\x00b", strings.Repeat("n", metatrack.MaxNameBytes+1)} {
		_, err := tr.LogArtifact(ctx, exp, name, p)
		wantErr(t, err, metatrack.ErrInvalidArgument)
	}
	_, err = tr.LogArtifact(ctx, exp, "x", filepath.Join(t.TempDir(), "missing"))
	wantErr(t, err, metatrack.ErrInvalidArgument)
	_, err = tr.LogArtifact(ctx, exp, "x", t.TempDir())
	wantErr(t, err, metatrack.ErrInvalidArgument)
	_, err = tr.LogArtifact(ctx, exp, "x", p, metatrack.WithSHA256(strings.Repeat("0", 64)))
	wantErr(t, err, metatrack.ErrInvalidArgument)
	_, _, err = tr.GetArtifact(ctx, exp, "x")
	wantErr(t, err, metatrack.ErrNotFound)
	_, err = tr.LogArtifact(ctx, metatrack.Resource{ID: "dataset/none"}, "x", p)
	wantErr(t, err, metatrack.ErrNotFound)
}

func (s suite) testReports(t *testing.T) {
	tr := s.open(t)
	dv := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")).of(t)
	profile := writeFile(t, "profile.json", []byte(`{"rows": 10}`))
	checks1 := writeFile(t, "checks.json", []byte(`{"status": "warn"}`))
	checks2 := writeFile(t, "checks2.json", []byte(`{"status": "pass"}`))
	cmp := writeFile(t, "comparison.json", []byte(`{"psi": 0.1}`))
	pa := must(tr.LogDataProfile(ctx, dv, profile)).of(t)
	if pa.Kind != metatrack.KindDataProfile || pa.Name != "data_profile/profile.json" || pa.MediaType != "application/json" {
		t.Fatalf("profile = %+v", pa)
	}
	ca := must(tr.LogChecks(ctx, dv, checks1, "data")).of(t)
	if ca.Name != "checks/data/checks.json" || ca.CheckType != "data" {
		t.Fatalf("checks = %+v", ca)
	}
	must(tr.LogChecks(ctx, dv, checks2, "data")).of(t)
	must(tr.LogChecks(ctx, dv, checks1, "model")).of(t)
	must(tr.LogDataComparison(ctx, dv, cmp)).of(t)
	_, rc, err := tr.GetDataProfile(ctx, dv)
	noErr(t, err)
	if string(readAll(t, rc)) != `{"rows": 10}` {
		t.Fatal("profile bytes")
	}
	a, rc, err := tr.GetChecks(ctx, dv, "data")
	noErr(t, err)
	if string(readAll(t, rc)) != `{"status": "pass"}` || a.Name != "checks/data/checks2.json" {
		t.Fatal("latest data checks not returned")
	}
	_, rc, err = tr.GetChecks(ctx, dv, "model")
	noErr(t, err)
	readAll(t, rc)
	_, _, err = tr.GetChecks(ctx, dv, "prediction")
	wantErr(t, err, metatrack.ErrNotFound)
	_, rc, err = tr.GetDataComparison(ctx, dv)
	noErr(t, err)
	readAll(t, rc)
	if n := len(must(tr.Artifacts(ctx, dv, metatrack.KindChecks)).of(t)); n != 3 {
		t.Fatalf("%d checks", n)
	}
	_, err = tr.LogChecks(ctx, dv, checks1, "Bad Type")
	wantErr(t, err, metatrack.ErrInvalidArgument)
	// A kind that can match nothing is an error, not an empty list.
	_, err = tr.Artifacts(ctx, dv, "check")
	wantErr(t, err, metatrack.ErrInvalidArgument)
}

func (s suite) testPrevVersion(t *testing.T) {
	tr := s.open(t)
	var vs []metatrack.Resource
	for i := 0; i < 5; i++ {
		vs = append(vs, must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")).of(t))
	}
	_, err := tr.GetPrevResourceVersion(ctx, vs[0])
	wantErr(t, err, metatrack.ErrNotFound)
	if p := must(tr.GetPrevResourceVersion(ctx, vs[4])).of(t); p.ID != vs[3].ID {
		t.Fatalf("prev of v5 = %s", p.Ref())
	}
	noErr(t, tr.LogTag(ctx, vs[1], "quality", "gold"))
	must(tr.UpdateResource(ctx, vs[2], metatrack.Updates{"status": "VALIDATED"})).of(t)
	if p := must(tr.GetPrevResourceVersion(ctx, vs[4], metatrack.WithPrevTag("quality", "gold"))).of(t); p.ID != vs[1].ID {
		t.Fatalf("prev gold = %s", p.Ref())
	}
	if p := must(tr.GetPrevResourceVersion(ctx, vs[4], metatrack.WithPrevStatus("VALIDATED"))).of(t); p.ID != vs[2].ID {
		t.Fatalf("prev validated = %s", p.Ref())
	}
	_, err = tr.GetPrevResourceVersion(ctx, vs[1], metatrack.WithPrevStatus("VALIDATED"))
	wantErr(t, err, metatrack.ErrNotFound)
	prev := must(tr.GetPrevResourceVersions(ctx, vs[4], 3)).of(t)
	if len(prev) != 3 || prev[0].Version != 4 || prev[2].Version != 2 {
		t.Fatalf("prev 3 = %v", prev)
	}
	ds := must(tr.GetResource(ctx, "dataset/d", "")).of(t)
	_, err = tr.GetPrevResourceVersion(ctx, ds)
	wantErr(t, err, metatrack.ErrInvalidArgument)
}

func (s suite) testLineage(t *testing.T) {
	tr := s.open(t)
	train := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "train")).of(t)
	test := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "test")).of(t)
	mv1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	noErr(t, tr.BuildModelLineage(ctx, mv1, []metatrack.Resource{train, test}))
	noErr(t, tr.BuildModelLineage(ctx, mv1, []metatrack.Resource{train})) // twice is fine
	ins := must(tr.Inputs(ctx, mv1)).of(t)
	if len(ins) != 2 || ins[0].ID != train.ID || ins[1].ID != test.ID {
		t.Fatalf("inputs = %v", ins)
	}
	// No dataset versions: reuse those of the previous model version.
	mv2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	noErr(t, tr.BuildModelLineage(ctx, mv2, nil))
	if ins := must(tr.Inputs(ctx, mv2)).of(t); len(ins) != 2 {
		t.Fatalf("reused inputs = %v", ins)
	}
	first := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "other")).of(t)
	wantErr(t, tr.BuildModelLineage(ctx, first, nil), metatrack.ErrNotFound)
	wantErr(t, tr.BuildModelLineage(ctx, mv1, []metatrack.Resource{mv2}), metatrack.ErrInvalidArgument)
	wantErr(t, tr.BuildModelLineage(ctx, train, []metatrack.Resource{test}), metatrack.ErrInvalidArgument)
	noErr(t, tr.Link(ctx, test, train, "derived_from"))
	wantErr(t, tr.Link(ctx, test, train, "Bad Relation"), metatrack.ErrInvalidArgument)
}

func (s suite) testWinningExperiment(t *testing.T) {
	tr := s.open(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	_, err := tr.GetWinningExperiment(ctx, mv)
	wantErr(t, err, metatrack.ErrNotFound)
	e1 := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))).of(t)
	e2 := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-2", metatrack.WithParent(mv.ID))).of(t)
	// As the seed's pipelines do it: through metadata.
	noErr(t, tr.LogMetadata(ctx, mv, metatrack.MetadataWinningExperimentID, e1.ID))
	if w := must(tr.GetWinningExperiment(ctx, mv)).of(t); w.ID != e1.ID {
		t.Fatalf("winner = %s", w.Ref())
	}
	noErr(t, tr.SetWinningExperiment(ctx, mv, e2))
	if w := must(tr.GetWinningExperiment(ctx, mv)).of(t); w.ID != e2.ID {
		t.Fatalf("winner = %s", w.Ref())
	}
	if id := must(tr.GetMetadata(ctx, mv, metatrack.MetadataWinningExperimentID)).of(t); id != e2.ID {
		t.Fatalf("winning_experiment_id = %v", id)
	}
	other := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	stranger := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(other.ID))).of(t)
	wantErr(t, tr.SetWinningExperiment(ctx, mv, stranger), metatrack.ErrInvalidArgument)
	wantErr(t, tr.LogMetadata(ctx, mv, metatrack.MetadataWinningExperimentID, "no-such-id"), metatrack.ErrNotFound)
	if w := must(tr.GetWinningExperiment(ctx, mv)).of(t); w.ID != e2.ID {
		t.Fatalf("a refused winner changed it to %s", w.Ref())
	}
}

func (s suite) testDeployment(t *testing.T) {
	tr := s.open(t)
	var vs []metatrack.Resource
	for i := 0; i < 4; i++ {
		vs = append(vs, must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t))
	}
	// Nothing deployed or promoted: the previous version.
	if got := must(tr.GetCurrentlyDeployedModelVersion(ctx, vs[3])).of(t); got.ID != vs[2].ID {
		t.Fatalf("fallback previous = %s", got.Ref())
	}
	_, err := tr.GetCurrentlyDeployedModelVersion(ctx, vs[0])
	wantErr(t, err, metatrack.ErrNotFound)
	// A promoted earlier version wins over the previous one.
	promo := must(tr.Promote(ctx, vs[1], metatrack.Promotion{Reason: "UPLIFT", Metric: "auc", Value: 0.9, Baseline: 0.8})).of(t)
	if promo.Type != metatrack.TypePromotion || promo.ParentID != vs[1].ID || promo.Status != metatrack.PromotionPending ||
		promo.Attrs["reason"] != "UPLIFT" || promo.Attrs["value"] != 0.9 {
		t.Fatalf("promotion = %+v", promo)
	}
	if got := must(tr.GetResource(ctx, vs[1].ID, "")).of(t); got.Status != metatrack.StatusPromoted {
		t.Fatalf("promoted status = %q", got.Status)
	}
	if got := must(tr.ApprovePromotion(ctx, promo)).of(t); got.Status != metatrack.PromotionApproved {
		t.Fatalf("approved = %q", got.Status)
	}
	if got := must(tr.GetCurrentlyDeployedModelVersion(ctx, vs[3])).of(t); got.ID != vs[1].ID {
		t.Fatalf("fallback promoted = %s", got.Ref())
	}
	// A deployment beats both.
	d := must(tr.Deploy(ctx, vs[0])).of(t)
	if !d.Current() || d.ModelVersion.ID != vs[0].ID || d.Environment != metatrack.DefaultEnvironment {
		t.Fatalf("deployment = %+v", d)
	}
	if got := must(tr.GetCurrentlyDeployedModelVersion(ctx, vs[3])).of(t); got.ID != vs[0].ID {
		t.Fatalf("deployed = %s", got.Ref())
	}
	time.Sleep(3 * time.Millisecond)
	between := time.Now()
	time.Sleep(3 * time.Millisecond)
	// Deploying through the seed's status update demotes the old one.
	must(tr.UpdateResource(ctx, vs[2], metatrack.Updates{"status": metatrack.StatusDeployed})).of(t)
	if got := must(tr.GetResource(ctx, vs[0].ID, "")).of(t); got.Status != metatrack.StatusDemoted {
		t.Fatalf("old deployed status = %q", got.Status)
	}
	if got := must(tr.GetCurrentlyDeployedModelVersion(ctx, vs[1])).of(t); got.ID != vs[2].ID {
		t.Fatalf("deployed = %s", got.Ref())
	}
	if got := must(tr.DeployedAt(ctx, vs[3], between)).of(t); got.ID != vs[0].ID {
		t.Fatalf("deployed at T = %s", got.Ref())
	}
	_, err = tr.DeployedAt(ctx, vs[3], time.Now().Add(-time.Hour))
	wantErr(t, err, metatrack.ErrNotFound)
	// Environments are independent.
	must(tr.Deploy(ctx, vs[3], metatrack.WithEnvironment("staging"))).of(t)
	if got := must(tr.GetCurrentlyDeployedModelVersion(ctx, vs[0], metatrack.WithEnvironment("staging"))).of(t); got.ID != vs[3].ID {
		t.Fatalf("staging = %s", got.Ref())
	}
	if got := must(tr.GetCurrentlyDeployedModelVersion(ctx, vs[0])).of(t); got.ID != vs[2].ID {
		t.Fatalf("default after staging deploy = %s", got.Ref())
	}
	deps := must(tr.Deployments(ctx, vs[0])).of(t)
	if len(deps) != 1 || deps[0].Current() {
		t.Fatalf("history of v1 = %+v", deps)
	}
	all := must(tr.Deployments(ctx, must(tr.GetResource(ctx, "model/m", "")).of(t))).of(t)
	if len(all) != 3 {
		t.Fatalf("deployments of model = %+v", all)
	}
	noErr(t, tr.Undeploy(ctx, vs[3], metatrack.WithEnvironment("staging")))
	wantErr(t, tr.Undeploy(ctx, vs[3], metatrack.WithEnvironment("staging")), metatrack.ErrNotFound)
	if got := must(tr.GetResource(ctx, vs[3].ID, "")).of(t); got.Status != metatrack.StatusDemoted {
		t.Fatalf("undeployed status = %q", got.Status)
	}
	_, err = tr.Deploy(ctx, must(tr.CreateResource(ctx, metatrack.TypeDataset, "nope")).of(t))
	wantErr(t, err, metatrack.ErrInvalidArgument)
}

// testDeploymentStatusAgree drives a model version through every status
// transition and checks after each that it is DEPLOYED exactly while it has
// an open deployment; a transition that would break that is refused with
// ErrConflict and changes nothing.
func (s suite) testDeploymentStatusAgree(t *testing.T) {
	tr := s.open(t)
	v1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	v2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	agree := func(step string) {
		t.Helper()
		for _, v := range []metatrack.Resource{v1, v2} {
			got := must(tr.GetResource(ctx, v.ID, "")).of(t)
			open := 0
			for _, d := range must(tr.Deployments(ctx, v)).of(t) {
				if d.Current() {
					open++
				}
			}
			if (got.Status == metatrack.StatusDeployed) != (open > 0) {
				t.Fatalf("%s: %s is %s with %d open deployments", step, got.Ref(), got.Status, open)
			}
		}
	}
	must(tr.Deploy(ctx, v1)).of(t)
	must(tr.Deploy(ctx, v1, metatrack.WithEnvironment("staging"))).of(t)
	agree("deploy")
	for _, status := range []string{metatrack.StatusRegistered, metatrack.StatusPromoted, "ARCHIVED", ""} {
		_, err := tr.UpdateResource(ctx, v1, metatrack.Updates{"status": status})
		wantErr(t, err, metatrack.ErrConflict)
		if err != nil && (!strings.Contains(err.Error(), `"staging"`) || !strings.Contains(err.Error(), v1.Ref())) {
			t.Errorf("the conflict does not name the version and its environments: %v", err)
		}
		agree("status " + status)
	}
	_, err := tr.Promote(ctx, v1, metatrack.Promotion{Reason: "UPLIFT"})
	wantErr(t, err, metatrack.ErrConflict)
	if kids := must(tr.Search(ctx, "type = 'promotion'")).of(t); len(kids.Resources) != 0 {
		t.Fatalf("a refused promotion left %d promotions", len(kids.Resources))
	}
	agree("promote")
	// Deploying v2 in one environment leaves v1 deployed in the other.
	must(tr.Deploy(ctx, v2)).of(t)
	agree("deploy v2")
	noErr(t, tr.Undeploy(ctx, v1, metatrack.WithEnvironment("staging")))
	agree("undeploy v1")
	// Now v1 is deployed nowhere: every status may be set again.
	must(tr.UpdateResource(ctx, v1, metatrack.Updates{"status": metatrack.StatusRegistered})).of(t)
	must(tr.Promote(ctx, v1, metatrack.Promotion{Reason: "UPLIFT"})).of(t)
	agree("v1 after undeploy")
	// DEMOTED ends every deployment; DEPLOYED deploys.
	must(tr.UpdateResource(ctx, v2, metatrack.Updates{"status": metatrack.StatusDemoted})).of(t)
	agree("demote v2")
	must(tr.UpdateResource(ctx, v2, metatrack.Updates{"status": metatrack.StatusDeployed})).of(t)
	agree("status DEPLOYED")
	// A new version cannot start out DEPLOYED.
	_, err = tr.CreateResource(ctx, metatrack.TypeModelVersion, "m", metatrack.WithStatus(metatrack.StatusDeployed))
	wantErr(t, err, metatrack.ErrInvalidArgument)
	agree("create")
}

// testLinkRefusals checks that Link names what is wrong with a relation and
// refuses an edge from a resource to itself.
func (s suite) testLinkRefusals(t *testing.T) {
	tr := s.open(t)
	a := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "a")).of(t)
	b := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "b")).of(t)
	for _, rel := range []string{"Bad Relation", "", "version", "child", "winning_experiment"} {
		err := tr.Link(ctx, a, b, rel)
		wantErr(t, err, metatrack.ErrInvalidArgument)
		if err != nil && (!strings.Contains(err.Error(), "relation") || strings.Contains(err.Error(), "resource type")) {
			t.Errorf("Link(%q): the message does not name the relation: %v", rel, err)
		}
	}
	err := tr.Link(ctx, a, b, "Bad Relation")
	if err != nil && !strings.Contains(err.Error(), `unknown relation "Bad Relation"`) {
		t.Errorf("Link: %v", err)
	}
	err = tr.Link(ctx, a, a, "derived_from")
	wantErr(t, err, metatrack.ErrInvalidArgument)
	if err != nil && !strings.Contains(err.Error(), "itself") {
		t.Errorf("self-link: %v", err)
	}
	g := must(tr.Lineage(ctx, []metatrack.Resource{a}, lineage.Options{Direction: lineage.Both})).of(t)
	for _, e := range g.Edges {
		if e.Relation != metatrack.RelationVersion {
			t.Fatalf("refused links left an edge: %+v", e)
		}
	}
	noErr(t, tr.Link(ctx, a, b, "derived_from"))
}

func (s suite) testLatestModelResource(t *testing.T) {
	tr := s.open(t)
	mv1 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	mv2 := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	model := must(tr.GetResource(ctx, "model/m", "")).of(t)
	_, err := tr.GetLatestModelResource(ctx, model, metatrack.TypePredictionJob)
	wantErr(t, err, metatrack.ErrNotFound)
	must(tr.CreateResource(ctx, metatrack.TypePredictionJob, "", metatrack.WithParent(mv2.ID), metatrack.WithAttr("prediction_count", 10))).of(t)
	last := must(tr.CreateResource(ctx, metatrack.TypePredictionJob, "", metatrack.WithParent(mv1.ID), metatrack.WithAttr("prediction_count", 20))).of(t)
	// The newest across versions, by the database's sequence.
	for _, from := range []metatrack.Resource{model, mv1, mv2} {
		got := must(tr.GetLatestModelResource(ctx, from, metatrack.TypePredictionJob)).of(t)
		if got.ID != last.ID || got.Attrs["prediction_count"] != int64(20) {
			t.Fatalf("latest from %s = %+v", from.Ref(), got)
		}
	}
	if got := must(tr.GetPredictionJobModelVersion(ctx, last)).of(t); got.ID != mv1.ID {
		t.Fatalf("job model version = %s", got.Ref())
	}
	_, err = tr.GetPredictionJobModelVersion(ctx, mv1)
	wantErr(t, err, metatrack.ErrInvalidArgument)
	if got := must(tr.GetLatestModelResource(ctx, model, metatrack.TypeModelVersion)).of(t); got.ID != mv2.ID {
		t.Fatalf("latest version = %s", got.Ref())
	}
	// A deleted job is passed over for the newest live one.
	must(tr.DeleteResource(ctx, last)).of(t)
	for _, from := range []metatrack.Resource{model, mv1} {
		got := must(tr.GetLatestModelResource(ctx, from, metatrack.TypePredictionJob)).of(t)
		if got.Attrs["prediction_count"] != int64(10) {
			t.Fatalf("latest from %s after the newest job was deleted = %+v", from.Ref(), got)
		}
	}
}

type fakeModel struct {
	Trainer string
	Params  map[string]any
	Weights string
}

func (s suite) testLoadModel(t *testing.T) {
	// A name of its own: loaders registered globally outlive the test.
	trainer := fmt.Sprintf("fake_trainer_%d", time.Now().UnixNano())
	var seen metatrack.ModelSpec
	loader := func(ctx context.Context, spec metatrack.ModelSpec) (any, error) {
		seen = spec
		rc, err := spec.OpenArtifact(ctx, "weights.txt")
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		w, err := io.ReadAll(rc)
		return fakeModel{Trainer: spec.Trainer, Params: spec.TrainingParams, Weights: string(w)}, err
	}
	tr := s.open(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))).of(t)
	noErr(t, tr.RegisterVCResource(ctx, exp, map[string]any{"hexsha": "abc", "uri": "vc://model"},
		metatrack.WithAdditionalMetadata(map[string]any{
			metatrack.MetadataTrainingParams:           map[string]any{"lr": 0.1},
			metatrack.MetadataModelTrainer:             trainer,
			metatrack.MetadataFeatureTransformer:       "standard_scaler",
			metatrack.MetadataFeatureTransformerConfig: map[string]any{"mean": []any{1.0}},
		})))
	must(tr.LogArtifact(ctx, exp, "weights.txt", writeFile(t, "w.txt", []byte("0.5 0.25")))).of(t)
	_, err := tr.LoadModel(ctx, mv)
	wantErr(t, err, metatrack.ErrNotFound) // no winner yet
	noErr(t, tr.SetWinningExperiment(ctx, mv, exp))
	_, err = tr.LoadModel(ctx, mv)
	wantErr(t, err, metatrack.ErrNoModelLoader)
	if !strings.Contains(err.Error(), trainer) {
		t.Fatalf("error does not name the trainer: %v", err)
	}
	metatrack.RegisterModelLoader(trainer, loader)
	m := must(tr.LoadModel(ctx, mv, metatrack.WithPipelineConfig(map[string]any{"env": "test"}))).of(t)
	fm, ok := m.(fakeModel)
	if !ok || fm.Weights != "0.5 0.25" || fm.Params["lr"] != 0.1 || fm.Trainer != trainer {
		t.Fatalf("model = %#v", m)
	}
	if seen.FeatureTransformer != "standard_scaler" || seen.VCInfo["hexsha"] != "abc" ||
		seen.PipelineConfig["env"] != "test" || seen.Experiment.ID != exp.ID || seen.ModelVersion.ID != mv.ID {
		t.Fatalf("spec = %+v", seen)
	}
}

func (s suite) testHistory(t *testing.T) {
	tr := s.open(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	noErr(t, tr.LogTag(ctx, mv, "stage", "dev"))
	noErr(t, tr.LogMetadata(ctx, mv, "auc", 0.8))
	time.Sleep(3 * time.Millisecond)
	t1 := time.Now()
	time.Sleep(3 * time.Millisecond)
	noErr(t, tr.LogTag(ctx, mv, "stage", "prod"))
	noErr(t, tr.LogMetadata(ctx, mv, "auc", 0.9))
	must(tr.UpdateResource(ctx, mv, metatrack.Updates{"status": metatrack.StatusRegistered})).of(t)
	must(tr.Deploy(ctx, mv)).of(t)
	hist := must(tr.History(ctx, mv)).of(t)
	var kinds []string
	for _, c := range hist {
		if c.RunID != tr.Run().ID {
			t.Fatalf("change without its run: %+v", c)
		}
		kinds = append(kinds, c.Kind+":"+c.Key)
	}
	want := []string{"created:", "edge:version", "tag:stage", "metadata:auc", "tag:stage", "metadata:auc",
		"status:", "deployed:default", "status:"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("history = %v\nwant      %v", kinds, want)
	}
	if hist[4].Old != "dev" || hist[4].New != "prod" {
		t.Fatalf("tag change = %+v", hist[4])
	}
	st := must(tr.StateAt(ctx, mv, t1)).of(t)
	if st.Tags["stage"] != "dev" || st.Metadata["auc"] != 0.8 || st.Status != "" || len(st.Deployed) != 0 {
		t.Fatalf("state at t1 = %+v", st)
	}
	now := must(tr.StateAt(ctx, mv, time.Now())).of(t)
	if now.Tags["stage"] != "prod" || now.Metadata["auc"] != 0.9 || now.Status != metatrack.StatusDeployed ||
		now.Deployed[metatrack.DefaultEnvironment] != mv.ID {
		t.Fatalf("state now = %+v", now)
	}
	_, err := tr.StateAt(ctx, mv, time.Now().Add(-time.Hour))
	wantErr(t, err, metatrack.ErrNotFound)
}

func (s suite) testRuns(t *testing.T) {
	tr := s.open(t)
	run := tr.Run()
	if run.ID == "" || run.Status != metatrack.RunRunning || run.PID != os.Getpid() || run.StartedAt.IsZero() {
		t.Fatalf("run = %+v", run)
	}
	got := must(tr.GetRun(ctx, run.ID)).of(t)
	if got.ID != run.ID || got.Status != metatrack.RunRunning {
		t.Fatalf("GetRun = %+v", got)
	}
	// Runs lists the tracker's run (a server's client sees the server's
	// own run too).
	runs := must(tr.Runs(ctx)).of(t)
	if !slices.ContainsFunc(runs, func(r metatrack.Run) bool { return r.ID == run.ID && r.Status == metatrack.RunRunning }) {
		t.Fatalf("runs = %+v, want %s among them", runs, run.ID)
	}
	_, err := tr.GetRun(ctx, "nope")
	wantErr(t, err, metatrack.ErrNotFound)
}

func (s suite) testBatch(t *testing.T) {
	tr, ok := s.open(t).(*metatrack.Tracker)
	if !ok {
		t.Skip("Batch runs in the tracker's process; this tracker is not a *metatrack.Tracker")
	}
	ds := must(tr.CreateResource(ctx, metatrack.TypeDataset, "d")).of(t)
	err := tr.Batch(ctx, func(b *metatrack.Tracker) error {
		for i := 0; i < 100; i++ {
			if err := b.LogMetadata(ctx, ds, fmt.Sprintf("step_%03d", i), i); err != nil {
				return err
			}
		}
		// Reads inside the batch see its writes.
		v, err := b.GetMetadata(ctx, ds, "step_042")
		if err != nil || v != int64(42) {
			return fmt.Errorf("read inside batch = %v, %v", v, err)
		}
		return nil
	})
	noErr(t, err)
	if n := len(must(tr.Metadata(ctx, ds)).of(t)); n != 100 {
		t.Fatalf("%d values after batch", n)
	}
	// A failing batch leaves nothing behind.
	boom := errors.New("boom")
	err = tr.Batch(ctx, func(b *metatrack.Tracker) error {
		if err := b.LogTag(ctx, ds, "half", "written"); err != nil {
			return err
		}
		must(b.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")).of(t)
		return boom
	})
	wantErr(t, err, boom)
	_, err = tr.GetTag(ctx, ds, "half")
	wantErr(t, err, metatrack.ErrNotFound)
	if vs := must(tr.Versions(ctx, ds)).of(t); len(vs) != 0 {
		t.Fatalf("rolled-back batch left versions: %v", vs)
	}
	// Chain numbering after a rollback has no gap.
	if v := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")).of(t); v.Version != 1 {
		t.Fatalf("version after rollback = %d", v.Version)
	}
}

// The tag and metadata writes of a batch, which it may hold back and write
// together, leave the values and the history the same calls leave one by
// one: unchanged values record nothing, each change its old value, in the
// order of the calls among the batch's other changes, at the time of its
// call.
func (s suite) testBatchHistory(t *testing.T) {
	tr, ok := s.open(t).(*metatrack.Tracker)
	if !ok {
		t.Skip("Batch runs in the tracker's process; this tracker is not a *metatrack.Tracker")
	}
	calls := func(b *metatrack.Tracker, exp, other metatrack.Resource) error {
		steps := []func() error{
			func() error { return b.LogTag(ctx, exp, "stage", "dev") },
			func() error { return b.LogMetadata(ctx, exp, "lr", 0.1) },
			func() error { return b.LogTag(ctx, exp, "stage", "dev") }, // unchanged
			func() error { return b.LogTag(ctx, other, "stage", "dev") },
			func() error { return b.LogMetadata(ctx, exp, "params", map[string]any{"depth": 3, "note": "<a&b>"}) },
			func() error { return b.LogTag(ctx, exp, "stage", "prod") },
			func() error { return b.LogMetadata(ctx, exp, "lr", 0.1) }, // unchanged
			func() error { return b.LogMetadata(ctx, exp, "lr", "auto") },
			func() error {
				_, err := b.UpdateResource(ctx, exp, metatrack.Updates{"status": "VALIDATED"})
				return err
			},
			func() error { return b.LogTag(ctx, exp, "stage", "dev") },
			func() error { return b.DeleteTag(ctx, exp, "stage") },
			func() error { return b.LogTag(ctx, exp, "stage", "again") },
			func() error {
				// A read sees the writes before it.
				v, err := b.GetTag(ctx, exp, "stage")
				if err == nil && v != "again" {
					err = fmt.Errorf("GetTag inside the calls = %q, want again", v)
				}
				return err
			},
			func() error { return b.LogMetadata(ctx, other, "lr", 0.2) },
			func() error { return b.LogMetadata(ctx, exp, "lr", nil) },
		}
		for i := range 40 {
			k := fmt.Sprintf("k%02d", i%7)
			steps = append(steps, func() error { return b.LogTag(ctx, exp, k, fmt.Sprint(i%3)) })
		}
		for i, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		return nil
	}
	type change struct {
		Kind, Key, RunID string
		Old, New         any
	}
	outcome := func(exp, other metatrack.Resource) (changes [][]change, tags []map[string]string, meta []map[string]any) {
		for _, r := range []metatrack.Resource{exp, other} {
			var cs []change
			var last time.Time
			for _, c := range must(tr.History(ctx, r)).of(t) {
				if c.At.Before(last) {
					t.Fatalf("%s: change %+v is older than the one before it (%v)", r.Name, c, last)
				}
				last = c.At
				if c.Kind == metatrack.ChangeCreated {
					continue // names the resource
				}
				cs = append(cs, change{c.Kind, c.Key, c.RunID, c.Old, c.New})
			}
			changes = append(changes, cs)
			tags = append(tags, must(tr.Tags(ctx, r)).of(t))
			meta = append(meta, must(tr.Metadata(ctx, r)).of(t))
		}
		return changes, tags, meta
	}
	oneExp := must(tr.CreateResource(ctx, metatrack.TypeDataset, "one")).of(t)
	oneOther := must(tr.CreateResource(ctx, metatrack.TypeDataset, "one-other")).of(t)
	noErr(t, calls(tr, oneExp, oneOther))
	batchExp := must(tr.CreateResource(ctx, metatrack.TypeDataset, "batch")).of(t)
	batchOther := must(tr.CreateResource(ctx, metatrack.TypeDataset, "batch-other")).of(t)
	before := time.Now().Add(-time.Millisecond)
	noErr(t, tr.Batch(ctx, func(b *metatrack.Tracker) error { return calls(b, batchExp, batchOther) }))
	after := time.Now().Add(time.Millisecond)

	oneChanges, oneTags, oneMeta := outcome(oneExp, oneOther)
	batchChanges, batchTags, batchMeta := outcome(batchExp, batchOther)
	if !reflect.DeepEqual(batchChanges, oneChanges) {
		t.Errorf("history of the batch:\n%v\nof the same calls one by one:\n%v", batchChanges, oneChanges)
	}
	if !reflect.DeepEqual(batchTags, oneTags) || !reflect.DeepEqual(batchMeta, oneMeta) {
		t.Errorf("values of the batch %v %v, of the calls one by one %v %v", batchTags, batchMeta, oneTags, oneMeta)
	}
	for _, c := range must(tr.History(ctx, batchExp)).of(t)[1:] {
		if c.At.Before(before) || c.At.After(after) {
			t.Errorf("change %+v at %v, outside the batch (%v to %v)", c, c.At, before, after)
		}
	}
	st := must(tr.StateAt(ctx, batchExp, after)).of(t)
	if !reflect.DeepEqual(st.Tags, batchTags[0]) {
		t.Errorf("state after the batch has tags %v, want %v", st.Tags, batchTags[0])
	}
}

func (s suite) testSearch(t *testing.T) {
	tr := s.open(t)
	var mvs []metatrack.Resource
	for i := 0; i < 12; i++ {
		mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
		noErr(t, tr.LogMetadata(ctx, mv, "auc", 0.5+float64(i)/100))
		noErr(t, tr.LogTag(ctx, mv, "env", []string{"dev", "prod"}[i%2]))
		mvs = append(mvs, mv)
	}
	evil := `x' OR '1'='1`
	noErr(t, tr.LogTag(ctx, mvs[3], "note", evil))
	refs := func(rs []metatrack.Resource) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Ref())
		}
		return out
	}
	got := must(tr.SearchAll(ctx, "type = 'model_version' AND metadata.auc >= 0.58 AND tags.env = 'prod' ORDER BY metadata.auc DESC")).of(t)
	want := []string{"model_version/m@12", "model_version/m@10"}
	if !reflect.DeepEqual(refs(got), want) {
		t.Fatalf("search = %v, want %v", refs(got), want)
	}
	got = must(tr.SearchAll(ctx, `tags.note = 'x\' OR \'1\'=\'1'`)).of(t)
	if len(got) != 1 || got[0].ID != mvs[3].ID {
		t.Fatalf("escaped-quote search = %v", refs(got))
	}
	got = must(tr.SearchAll(ctx, `tags.note = "x' OR '1'='1"`)).of(t)
	if len(got) != 1 || got[0].ID != mvs[3].ID {
		t.Fatalf("injection string search = %v", refs(got))
	}
	// Paging walks every result once, in order.
	var paged []string
	cursor := ""
	for {
		page := must(tr.Search(ctx, "type = 'model_version' ORDER BY version DESC", metatrack.WithPageSize(5), metatrack.WithCursor(cursor))).of(t)
		paged = append(paged, refs(page.Resources)...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(paged) != 12 || paged[0] != "model_version/m@12" || paged[11] != "model_version/m@1" {
		t.Fatalf("paged = %v", paged)
	}
	_, err := tr.Search(ctx, "metadata.auc >>> 3")
	wantErr(t, err, metatrack.ErrInvalidArgument)
	wantErr(t, err, metatrack.ErrInvalidQuery)
	// The previous-version filter uses the same language.
	prev := must(tr.GetPrevResourceVersion(ctx, mvs[11], metatrack.WithPrevFilter("tags.env = 'dev' AND metadata.auc < 0.57"))).of(t)
	if prev.Ref() != "model_version/m@7" {
		t.Fatalf("prev with filter = %s", prev.Ref())
	}
	_, err = tr.GetPrevResourceVersion(ctx, mvs[11], metatrack.WithPrevFilter("((("))
	wantErr(t, err, metatrack.ErrInvalidArgument)
}

func (s suite) testLineageGraph(t *testing.T) {
	tr := s.open(t)
	dv := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "train")).of(t)
	mv := must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	noErr(t, tr.BuildModelLineage(ctx, mv, []metatrack.Resource{dv}))
	exp := must(tr.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))).of(t)
	noErr(t, tr.SetWinningExperiment(ctx, mv, exp))
	job := must(tr.CreateResource(ctx, metatrack.TypePredictionJob, "", metatrack.WithParent(mv.ID))).of(t)
	must(tr.Deploy(ctx, mv)).of(t)

	down := must(tr.Downstream(ctx, dv, 0)).of(t)
	seen := map[string]int{}
	for _, n := range down.Nodes {
		seen[n.ID] = n.Depth
	}
	if seen[dv.ID] != 0 || seen[mv.ID] != 1 || seen[exp.ID] != 2 || seen[job.ID] != 2 {
		t.Fatalf("downstream depths = %v", seen)
	}
	up := must(tr.Upstream(ctx, job, 0)).of(t)
	var types []string
	for _, n := range up.Nodes {
		types = append(types, n.Type)
	}
	if len(up.Nodes) != 5 { // job, model_version, model, dataset_version, dataset
		t.Fatalf("upstream of job = %v", types)
	}
	one := must(tr.Upstream(ctx, job, 1)).of(t)
	if len(one.Nodes) != 2 {
		t.Fatalf("upstream depth 1 = %d nodes", len(one.Nodes))
	}
	impact := must(tr.Impact(ctx, dv)).of(t)
	if len(impact.Deployed) != 1 || impact.Deployed[0].ID != mv.ID || len(impact.PredictionJobs) != 1 {
		t.Fatalf("impact = %+v", impact)
	}
	prov := must(tr.Provenance(ctx, job)).of(t)
	if len(prov.DatasetVersions) != 1 || prov.DatasetVersions[0].ID != dv.ID || len(prov.Runs) == 0 {
		t.Fatalf("provenance = %+v", prov)
	}
	path := must(tr.ShortestPath(ctx, dv, job, lineage.PathOptions{Direction: lineage.Downstream})).of(t)
	if len(path.Nodes) != 3 {
		t.Fatalf("path = %+v", path.Nodes)
	}
	other := must(tr.CreateResource(ctx, metatrack.TypeDataset, "unrelated")).of(t)
	_, err := tr.ShortestPath(ctx, dv, other, lineage.PathOptions{Direction: lineage.Downstream})
	wantErr(t, err, metatrack.ErrNoPath)
	// A query can say "deployed model versions trained on this dataset version".
	got := must(tr.SearchAll(ctx, "type = 'model_version' AND status = 'DEPLOYED' AND downstream_of('"+dv.Ref()+"')")).of(t)
	if len(got) != 1 || got[0].ID != mv.ID {
		t.Fatalf("lineage query = %v", got)
	}
	_, err = tr.Lineage(ctx, nil, lineage.Options{Direction: lineage.Upstream})
	wantErr(t, err, metatrack.ErrInvalidArgument)
	_, err = tr.Lineage(ctx, []metatrack.Resource{dv}, lineage.Options{})
	wantErr(t, err, metatrack.ErrInvalidArgument)
}

func (s suite) testStatsAndChains(t *testing.T) {
	tr := s.open(t)
	for i := 0; i < 3; i++ {
		must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")).of(t)
	}
	dv := must(tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d")).of(t)
	p := writeFile(t, "a.bin", []byte("same bytes"))
	must(tr.LogArtifact(ctx, dv, "a", p)).of(t)
	must(tr.LogArtifact(ctx, dv, "b", p)).of(t)
	must(tr.Deploy(ctx, metatrack.Resource{ID: "model_version/m@2"})).of(t)
	st := must(tr.Stats(ctx)).of(t)
	// One run, or two on a server: its own and its client's.
	runs := len(must(tr.Runs(ctx)).of(t))
	if st.Resources != 6 || st.ByType[metatrack.TypeModelVersion] != 3 || st.Runs != runs || runs < 1 || runs > 2 ||
		st.Artifacts != 2 || st.ArtifactBytes != 20 || st.StoredBytes != 10 || st.CurrentDeployments != 1 || st.FileBytes == 0 {
		t.Fatalf("stats = %+v", st)
	}
	chains := must(tr.Chains(ctx)).of(t)
	if len(chains) != 2 || chains[0].Head.Ref() != "model/m" || len(chains[0].Versions) != 3 ||
		chains[0].Latest().Version != 3 || chains[0].Deployed[metatrack.DefaultEnvironment].Version != 2 ||
		chains[1].Latest().ID != dv.ID {
		t.Fatalf("chains = %+v", chains)
	}
	// A second model deployed to two environments, and a deleted member.
	for i := 0; i < 2; i++ {
		must(tr.CreateResource(ctx, metatrack.TypeModelVersion, "n")).of(t)
	}
	must(tr.Deploy(ctx, metatrack.Resource{ID: "model_version/n@1"}, metatrack.WithEnvironment("staging"))).of(t)
	must(tr.Deploy(ctx, metatrack.Resource{ID: "model_version/n@2"}, metatrack.WithEnvironment("prod"))).of(t)
	must(tr.DeleteResource(ctx, metatrack.Resource{ID: "model_version/m@1"})).of(t)
	chains = must(tr.Chains(ctx)).of(t)
	if len(chains) != 3 || len(chains[0].Versions) != 2 || chains[0].Versions[0].Version != 2 || len(chains[0].Deployed) != 1 ||
		chains[2].Head.Ref() != "model/n" || len(chains[2].Versions) != 2 ||
		chains[2].Deployed["staging"].Version != 1 || chains[2].Deployed["prod"].Version != 2 || len(chains[1].Deployed) != 0 {
		t.Fatalf("chains after a second model and a deletion = %+v", chains)
	}
	if st := must(tr.Stats(ctx)).of(t); st.Resources != 8 || st.DeletedResources != 1 {
		t.Fatalf("stats after a deletion: %d resources, %d deleted; want 8 and 1", st.Resources, st.DeletedResources)
	}
}
