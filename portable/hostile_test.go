package portable_test

// The hostile corpus: crafted exports (testdata/hostile/exports) and
// recipes for crafted database files (testdata/hostile/db), and the one
// invariant every one of them must keep: Import or Merge either fails,
// leaving the database exactly as it was (its export before and after
// compares equal), or succeeds, and Verify then finds nothing.
//
// The exports are made from testdata/hostile/base.ndjson, an export of a
// small workflow, by the recipes below. After changing a recipe, or to
// start afresh:
//
//	go test -run TestHostileExports ./portable/ -hostile.update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sqlite"
)

var updateHostile = flag.Bool("hostile.update", false, "rewrite testdata/hostile from the recipes")

const (
	hostileDir     = "testdata/hostile"
	hostileExports = "testdata/hostile/exports"
	hostileDBs     = "testdata/hostile/db"
	hostileBase    = "testdata/hostile/base.ndjson"
)

// ---- The base workflow ----

// writeBase builds the small workflow the corpus starts from and exports
// it to hostileBase.
func writeBase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "base.db")
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("fixture"))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var ds []metatrack.Resource
	for range 3 {
		r, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic")
		must(err)
		ds = append(ds, r)
	}
	must(tr.RegisterVCResource(ctx, ds[0], map[string]any{"hexsha": "9fceb02", "uri": "data/train.csv"}))
	mv1, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	must(err)
	mv2, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	must(err)
	must(tr.BuildModelLineage(ctx, mv2, ds[1:]))
	exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv2.ID),
		metatrack.WithAttr("lr", 0.1))
	must(err)
	must(tr.LogMetadata(ctx, exp, "auc", 0.87))
	for i, loss := range []float64{0.69, 0.52, 0.41} {
		must(tr.LogMetric(ctx, exp, "loss", loss, metatrack.WithStep(int64(i))))
	}
	must(tr.SetWinningExperiment(ctx, mv2, exp))
	must(tr.LogTag(ctx, mv2, "stage", "candidate"))
	file := filepath.Join(dir, "model.json")
	must(os.WriteFile(file, []byte(`{"weights":[0.1,0.2,0.3]}`), 0o644))
	_, err = tr.LogArtifact(ctx, exp, "model.json", file)
	must(err)
	_, err = tr.LogArtifact(ctx, mv1, "weights.bin", "", metatrack.WithExternalURI("s3://bucket/weights.bin"), metatrack.WithSize(10))
	must(err)
	_, err = tr.Promote(ctx, mv2, metatrack.Promotion{Reason: "UPLIFT", Metric: "auc", Value: 0.87, Baseline: 0.8, Approved: true})
	must(err)
	_, err = tr.Deploy(ctx, mv2)
	must(err)
	must(tr.Close())
	tr, err = metatrack.Open(ctx, path, metatrack.WithoutRun(), metatrack.WithReadOnly())
	must(err)
	defer tr.Close()
	var b bytes.Buffer
	_, err = tr.Export(ctx, &b)
	must(err)
	must(os.MkdirAll(hostileExports, 0o755))
	must(os.WriteFile(hostileBase, b.Bytes(), 0o644))
}

// ---- Editing an export ----

// export is an export file as lines, edited by the recipes.
type export struct {
	t     *testing.T
	lines []string
}

func loadBase(t *testing.T) *export {
	b, err := os.ReadFile(hostileBase)
	if err != nil {
		t.Fatal(err)
	}
	return &export{t: t, lines: strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")}
}

func (e *export) rec(i int) map[string]any {
	dec := json.NewDecoder(strings.NewReader(e.lines[i]))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		e.t.Fatalf("line %d: %v", i+1, err)
	}
	return m
}

// encode writes m with "kind" first, as the exporter does.
func encode(m map[string]any) string {
	kind, hasKind := m["kind"]
	rest := map[string]any{}
	for k, v := range m {
		if k != "kind" {
			rest[k] = v
		}
	}
	b, err := json.Marshal(rest)
	if err != nil {
		panic(err)
	}
	if !hasKind {
		return string(b)
	}
	k, _ := json.Marshal(kind)
	if len(rest) == 0 {
		return `{"kind":` + string(k) + `}`
	}
	return `{"kind":` + string(k) + `,` + string(b[1:])
}

// find returns the index of the first record of kind for which match
// holds (match nil: any).
func (e *export) find(kind string, match func(m map[string]any) bool) int {
	for i := 1; i < len(e.lines); i++ {
		if !strings.Contains(e.lines[i], `"kind":"`+kind+`"`) {
			continue
		}
		m := e.rec(i)
		if m["kind"] == kind && (match == nil || match(m)) {
			return i
		}
	}
	e.t.Fatalf("the base export has no %s record that matches", kind)
	return 0
}

// where matches records whose field k is v.
func where(k string, v any) func(m map[string]any) bool {
	return func(m map[string]any) bool { return fmt.Sprint(m[k]) == fmt.Sprint(v) }
}

// edit changes the record of kind that match selects.
func (e *export) edit(kind string, match func(map[string]any) bool, change func(m map[string]any)) *export {
	i := e.find(kind, match)
	m := e.rec(i)
	change(m)
	e.lines[i] = encode(m)
	return e
}

// set sets fields of the record of kind that match selects.
func (e *export) set(kind string, match func(map[string]any) bool, kv ...any) *export {
	return e.edit(kind, match, func(m map[string]any) {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
	})
}

// remove drops the record of kind that match selects.
func (e *export) remove(kind string, match func(map[string]any) bool) *export {
	i := e.find(kind, match)
	e.lines = slices.Delete(e.lines, i, i+1)
	return e
}

var kindOrder = []string{"blob", "run", "resource", "tag", "metadata", "vc_info", "artifact", "edge", "deployment", "alias", "purged", "history", "metric", "end"}

// add inserts records after the last record of their kind (or where their
// kind would start).
func (e *export) add(recs ...map[string]any) *export {
	for _, m := range recs {
		kind := m["kind"].(string)
		rank := slices.Index(kindOrder, kind)
		at := 1
		for i := 1; i < len(e.lines); i++ {
			k := e.rec(i)["kind"].(string)
			if k == "chunk" {
				k = "blob"
			}
			if slices.Index(kindOrder, k) <= rank {
				at = i + 1
			}
		}
		e.lines = slices.Insert(e.lines, at, encode(m))
	}
	return e
}

// raw replaces the text placeholder (in its JSON form, quotes included)
// by raw bytes everywhere.
func (e *export) raw(placeholder, raw string) *export {
	for i := range e.lines {
		e.lines[i] = strings.ReplaceAll(e.lines[i], placeholder, raw)
	}
	return e
}

// bytes returns the file, with the counts of the header and the end
// record fixed, so that what the recipe planted is the only thing wrong.
func (e *export) bytes() []byte {
	n := len(e.lines) - 2
	h := e.rec(0)
	h["records"] = n
	b, _ := json.Marshal(h)
	e.lines[0] = string(b)
	e.lines[len(e.lines)-1] = fmt.Sprintf(`{"kind":"end","records":%d}`, n)
	return []byte(strings.Join(e.lines, "\n") + "\n")
}

// idOf returns the id of the first record of kind that match selects.
func (e *export) idOf(kind string, match func(map[string]any) bool) string {
	return e.rec(e.find(kind, match))["id"].(string)
}

// ---- The recipes ----

const (
	uuidA = "01930000-0000-7000-8000-00000000000a"
	uuidB = "01930000-0000-7000-8000-00000000000b"
	uuidC = "01930000-0000-7000-8000-00000000000c"
	uuidD = "01930000-0000-7000-8000-00000000000d"
)

func isType(typ string) func(map[string]any) bool { return where("type", typ) }

func version(n int) func(map[string]any) bool {
	return func(m map[string]any) bool {
		return m["type"] == "dataset_version" && fmt.Sprint(m["version"]) == fmt.Sprint(n)
	}
}

func resource(id, typ, name string, kv ...any) map[string]any {
	m := map[string]any{"kind": "resource", "id": id, "type": typ, "name": name, "created_at": 1740830400000, "updated_at": 1740830400000}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func edge(src, relation, dst string) map[string]any {
	return map[string]any{"kind": "edge", "src": src, "relation": relation, "dst": dst, "created_at": 1740830400000}
}

// hostileCase is one crafted export: a recipe, and a fragment of the error
// that Import must give ("" when the file is fine and must import).
type hostileCase struct {
	name   string
	recipe func(e *export) *export
	want   string
}

// baseOK names the cases that are fine imported into the database of the
// base workflow (the file lacks only what that database holds, or
// conflicts with it as merges may), and must import there.
var baseOK = map[string]bool{"chain_member_without_version_edge": true, "chain_renumbered_member": true}

func hostileCases() []hostileCase {
	art := func(name string) func(map[string]any) bool { return where("name", name) }
	stored, external := art("model.json"), art("weights.bin")
	long := func(n int) string { return strings.Repeat("x", n) }
	mvOf := func(e *export, v int) string {
		return e.idOf("resource", func(m map[string]any) bool {
			return m["type"] == "model_version" && fmt.Sprint(m["version"]) == fmt.Sprint(v)
		})
	}
	newChain := func(e *export, name string, versions ...int) *export {
		e.add(resource(uuidA, "dataset", name))
		for i, v := range versions {
			id := []string{uuidB, uuidC, uuidD}[i]
			e.add(resource(id, "dataset_version", name, "version", v, "parent", uuidA))
			e.add(edge(uuidA, "version", id))
		}
		return e
	}
	return []hostileCase{
		// Accepted.
		{"ok_base", func(e *export) *export { return e }, ""},
		{"ok_surrogate_pair", func(e *export) *export {
			return e.set("tag", nil, "value", "EMOJI").raw(`"EMOJI"`, `"\ud83d\ude00"`)
		}, ""},
		{"ok_real_replacement_char", func(e *export) *export { return e.set("tag", nil, "value", "a\uFFFDb") }, ""},
		{"ok_limits", func(e *export) *export {
			return e.add(resource(uuidA, "dataset", long(512), "status", long(64)),
				map[string]any{"kind": "tag", "resource": uuidA, "key": long(256), "value": long(64 << 10), "updated_at": 1},
				map[string]any{"kind": "artifact", "id": uuidB, "resource": uuidA, "name": long(512), "artifact_kind": "artifact",
					"size": 0, "uri": "s3://b/k", "created_at": 1})
		}, ""},
		{"ok_chain_version_twice", func(e *export) *export {
			// Two members of one number are numbered again, as when two
			// files numbered different members the same.
			return newChain(e, "twice", 1, 1)
		}, ""},
		{"ok_new_chain", func(e *export) *export { return newChain(e, "fresh", 1, 2) }, ""},

		// Version chains.
		{"chain_jump_1_to_5", func(e *export) *export { return newChain(e, "jumpy", 1, 5) }, "missing version 2, 3, 4"},
		{"chain_starts_at_3", func(e *export) *export { return newChain(e, "late", 3) }, "missing version 1, 2"},
		{"chain_renumbered_member", func(e *export) *export { return e.set("resource", version(2), "version", 5) }, "missing version"},
		{"chain_member_without_version_edge", func(e *export) *export {
			id := e.idOf("resource", version(3))
			return e.remove("edge", where("dst", id))
		}, "lacks the version edge"},
		{"chain_new_member_without_edge", func(e *export) *export {
			e.add(resource(uuidA, "dataset", "edgeless"), resource(uuidB, "dataset_version", "edgeless", "version", 1, "parent", uuidA))
			return e
		}, "lacks the version edge"},
		{"chain_member_under_model", func(e *export) *export {
			return e.set("resource", version(3), "parent", e.idOf("resource", isType("model")))
		}, "must be the dataset"},
		{"chain_member_without_version", func(e *export) *export { return e.set("resource", version(3), "version", nil) }, "positive version"},
		{"chain_version_zero", func(e *export) *export { return e.set("resource", version(3), "version", 0) }, "positive version"},
		{"version_on_non_chain", func(e *export) *export { return e.set("resource", isType("dataset"), "version", 1) }, "only chain types"},
		{"chain_name_ends_in_version", func(e *export) *export {
			e.add(resource(uuidA, "dataset", "x@2"), resource(uuidB, "dataset_version", "x@2", "version", 1, "parent", uuidA), edge(uuidA, "version", uuidB))
			return e
		}, "which references would read as a version"},

		// Parents and edges.
		{"experiment_without_parent", func(e *export) *export { return e.set("resource", isType("experiment"), "parent", nil) }, "hangs under a model_version"},
		{"experiment_under_dataset", func(e *export) *export {
			return e.set("resource", isType("experiment"), "parent", e.idOf("resource", isType("dataset")))
		}, "hangs under a model_version"},
		{"edge_self_link", func(e *export) *export {
			id := e.idOf("resource", isType("dataset"))
			return e.add(edge(id, "derived_from", id))
		}, "to itself"},
		{"edge_version_to_stranger", func(e *export) *export {
			return e.add(edge(e.idOf("resource", isType("dataset")), "version", mvOf(e, 1)))
		}, "not a version of it"},
		{"edge_winner_not_experiment", func(e *export) *export {
			return e.set("edge", where("relation", "winning_experiment"), "dst", e.idOf("resource", isType("dataset")))
		}, "not an experiment of this model_version"},
		{"edge_bad_relation", func(e *export) *export {
			return e.set("edge", where("relation", "input"), "relation", "DROP TABLE")
		}, "relation"},
		{"metadata_winner_not_experiment", func(e *export) *export {
			return e.add(map[string]any{"kind": "metadata", "resource": mvOf(e, 1), "key": "winning_experiment_id",
				"value": e.idOf("resource", isType("dataset")), "updated_at": 1740830400000})
		}, "not an experiment of this model_version"},

		// Deployments.
		{"deployment_of_experiment", func(e *export) *export {
			return e.set("deployment", nil, "model_version", e.idOf("resource", isType("experiment")))
		}, "deploys a experiment"},
		{"deployment_of_dataset_version", func(e *export) *export {
			return e.set("deployment", nil, "model_version", e.idOf("resource", version(1)),
				"model", e.idOf("resource", isType("dataset")))
		}, "deploys a dataset_version"},
		{"deployment_of_other_model", func(e *export) *export {
			e.add(resource(uuidA, "model", "other"))
			return e.set("deployment", nil, "model", uuidA)
		}, "is not a version of"},
		{"deployment_ends_before_start", func(e *export) *export {
			return e.set("deployment", nil, "undeployed_at", 1)
		}, "ends before it starts"},
		{"deployment_environment_nul", func(e *export) *export { return e.set("deployment", nil, "environment", "prod\x00") }, "NUL"},
		{"deployment_environment_300", func(e *export) *export { return e.set("deployment", nil, "environment", long(300)) }, "the limit is 256"},

		// Artifact names.
		{"artifact_name_escape", func(e *export) *export { return e.set("artifact", stored, "name", "../../../../tmp/escape.txt") }, "relative path"},
		{"artifact_name_absolute", func(e *export) *export { return e.set("artifact", stored, "name", "/abs.txt") }, "relative path"},
		{"artifact_name_nul", func(e *export) *export { return e.set("artifact", stored, "name", "a\x00b") }, "NUL"},
		{"artifact_name_backslash", func(e *export) *export { return e.set("artifact", stored, "name", `sub\..\..\win.txt`) }, "relative path"},
		{"artifact_name_dot", func(e *export) *export { return e.set("artifact", stored, "name", ".") }, "relative path"},
		{"artifact_name_double_slash", func(e *export) *export { return e.set("artifact", stored, "name", "a//b") }, "relative path"},
		{"artifact_name_trailing_slash", func(e *export) *export { return e.set("artifact", stored, "name", "dir/") }, "relative path"},
		{"artifact_name_5000", func(e *export) *export { return e.set("artifact", stored, "name", long(5000)) }, "the limit is 512"},
		{"artifact_name_513", func(e *export) *export { return e.set("artifact", stored, "name", long(513)) }, "the limit is 512"},
		{"artifact_kind_evil", func(e *export) *export { return e.set("artifact", stored, "artifact_kind", "evil") }, `artifact kind "evil"`},
		{"artifact_checks_without_type", func(e *export) *export { return e.set("artifact", stored, "artifact_kind", "checks") }, "check type"},
		{"artifact_check_type_on_artifact", func(e *export) *export { return e.set("artifact", stored, "check_type", "data") }, "no check type"},
		{"artifact_external_negative_size", func(e *export) *export { return e.set("artifact", external, "size", -5) }, "negative"},
		{"artifact_external_bad_hash", func(e *export) *export { return e.set("artifact", external, "sha256", "NOT-A-HASH") }, "not a lower-case hex SHA-256"},
		{"artifact_external_upper_hash", func(e *export) *export {
			return e.set("artifact", external, "sha256", strings.Repeat("AB", 32))
		}, "not a lower-case hex SHA-256"},
		{"artifact_blob_and_uri", func(e *export) *export { return e.set("artifact", stored, "uri", "s3://x/y") }, "not both"},
		{"artifact_id_not_uuid", func(e *export) *export { return e.set("artifact", stored, "id", "../x") }, "not a lower-case UUID"},

		// Text: NUL, limits, encodings.
		{"resource_name_nul", func(e *export) *export { return e.set("resource", isType("experiment"), "name", "trial\x00") }, "NUL"},
		{"resource_name_600", func(e *export) *export { return e.set("resource", isType("experiment"), "name", long(600)) }, "the limit is 512"},
		{"resource_name_empty", func(e *export) *export { return e.set("resource", isType("experiment"), "name", nil) }, "name is empty"},
		{"resource_type_upper", func(e *export) *export { return e.set("resource", isType("experiment"), "type", "Experiment") }, "resource type"},
		{"resource_type_65", func(e *export) *export { return e.set("resource", isType("experiment"), "type", "e"+long(64)) }, "resource type"},
		{"resource_id_ref_like", func(e *export) *export {
			return e.set("resource", isType("experiment"), "id", "model_version/titanic_model@1")
		}, "not a lower-case UUID"},
		{"resource_status_1000", func(e *export) *export { return e.set("resource", isType("experiment"), "status", long(1000)) }, "the limit is 64"},
		{"resource_attrs_not_object", func(e *export) *export {
			return e.set("resource", isType("experiment"), "attrs", []any{1, 2})
		}, "must be a JSON object"},
		{"resource_attr_key_nul", func(e *export) *export {
			return e.set("resource", isType("experiment"), "attrs", map[string]any{"a\x00": 1})
		}, "NUL"},
		{"tag_key_nul", func(e *export) *export { return e.set("tag", nil, "key", "st\x00age") }, "NUL"},
		{"tag_value_nul", func(e *export) *export { return e.set("tag", nil, "value", "can\x00didate") }, "NUL"},
		{"tag_key_300", func(e *export) *export { return e.set("tag", nil, "key", long(300)) }, "the limit is 256"},
		{"tag_value_100k", func(e *export) *export { return e.set("tag", nil, "value", long(100<<10)) }, "the limit is 65536"},
		{"metadata_key_nul", func(e *export) *export { return e.set("metadata", nil, "key", "a\x00uc") }, "NUL"},
		{"vc_info_empty", func(e *export) *export { return e.set("vc_info", nil, "info", map[string]any{}) }, "version-control info is empty"},
		{"vc_info_extra_key_300", func(e *export) *export {
			return e.set("vc_info", nil, "extra", map[string]any{long(300): 1})
		}, "the limit is 256"},
		{"name_invalid_utf8", func(e *export) *export {
			return e.set("resource", isType("experiment"), "name", "PLACEHOLDER").raw("PLACEHOLDER", "tr\xffal")
		}, "not valid UTF-8"},
		{"name_lone_surrogate", func(e *export) *export {
			return e.set("resource", isType("experiment"), "name", "PLACEHOLDER").raw(`"PLACEHOLDER"`, `"trial\ud800"`)
		}, "lone UTF-16 surrogate"},
		{"tag_value_lone_low_surrogate", func(e *export) *export {
			return e.set("tag", nil, "value", "PLACEHOLDER").raw(`"PLACEHOLDER"`, `"\udc00"`)
		}, "lone UTF-16 surrogate"},
		{"tag_value_two_high_surrogates", func(e *export) *export {
			return e.set("tag", nil, "value", "PLACEHOLDER").raw(`"PLACEHOLDER"`, `"\ud800\ud800"`)
		}, "lone UTF-16 surrogate"},
		{"metadata_replacement_escape", func(e *export) *export {
			return e.set("metadata", nil, "value", "PLACEHOLDER").raw(`"PLACEHOLDER"`, `"\ufffd"`)
		}, "not valid UTF-8"},
		{"metadata_invalid_utf8", func(e *export) *export {
			return e.set("metadata", nil, "value", "PLACEHOLDER").raw("PLACEHOLDER", "\xc3\x28")
		}, "not valid UTF-8"},

		// Metric series.
		{"ok_metric_nan", func(e *export) *export {
			return e.edit("metric", nil, func(m map[string]any) {
				m["points"] = append(m["points"].([]any), []any{7, 1740830400000, "NaN"})
			})
		}, ""},
		{"metric_key_nul", func(e *export) *export { return e.set("metric", nil, "key", "lo\x00ss") }, "NUL"},
		{"metric_key_control", func(e *export) *export { return e.set("metric", nil, "key", "lo\nss") }, "control character"},
		{"metric_key_300", func(e *export) *export { return e.set("metric", nil, "key", long(300)) }, "the limit is 256"},
		{"metric_step_negative", func(e *export) *export {
			return e.set("metric", nil, "points", []any{[]any{-1, 1740830400000, 0.5}})
		}, "step -1 is negative"},
		{"metric_time_before_1970", func(e *export) *export {
			return e.set("metric", nil, "points", []any{[]any{1, -5, 0.5}})
		}, "before 1970"},
		{"metric_value_evil", func(e *export) *export {
			return e.set("metric", nil, "points", []any{[]any{1, 1740830400000, "evil"}})
		}, "malformed"},
		{"metric_resource_and_run", func(e *export) *export {
			return e.set("metric", nil, "run", e.idOf("run", nil))
		}, "not both"},

		// Runs and history.
		{"run_status_pwned", func(e *export) *export { return e.set("run", nil, "status", "PWNED") }, "run status"},
		{"run_id_not_uuid", func(e *export) *export {
			// The run's records refer to it by id: rename it everywhere.
			id := e.idOf("run", nil)
			return e.raw(`"`+id+`"`, `"run-1"`)
		}, "not a lower-case UUID"},
		{"run_name_nul", func(e *export) *export { return e.set("run", nil, "name", "fix\x00ture") }, "NUL"},
		{"history_change_not_a_word", func(e *export) *export { return e.set("history", nil, "change", "DROP TABLE") }, "change"},
		{"history_id_not_uuid", func(e *export) *export { return e.set("history", nil, "id", "x") }, "not a lower-case UUID"},
		{"history_key_nul", func(e *export) *export { return e.set("history", nil, "key", "k\x00") }, "NUL"},
	}
}

// ---- Running the corpus ----

// hostileTarget is a database holding the base workflow (so that the
// crafted records meet the ids they name), closed, with its export.
type hostileTarget struct {
	path   string
	export []byte // without the header, which carries the export's time
}

func newTarget(t testing.TB) hostileTarget {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "target.db")
	d, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(hostileBase)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := portable.Import(ctx, d, f, portable.ImportOptions{}); err != nil {
		t.Fatalf("the base export does not import: %v", err)
	}
	exp := exportBody(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return hostileTarget{path: path, export: exp}
}

// copyTo copies the target's file to a new path.
func (h hostileTarget) copyTo(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "t.db")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exportBody(t testing.TB, d *sqlite.DB) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := portable.Export(context.Background(), d, &b, portable.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(b.Bytes(), []byte("\n"))
	return body
}

// invariant checks the one rule of the corpus for the outcome err of an
// import or merge into d: an error leaves d as it was, success leaves d
// clean. It returns err for the caller's own checks.
func invariant(t testing.TB, d *sqlite.DB, before []byte, err error) error {
	t.Helper()
	if err != nil {
		if after := exportBody(t, d); !bytes.Equal(before, after) {
			t.Fatalf("the import failed (%v) but changed the database", err)
		}
		return err
	}
	rep, verr := sqlite.Verify(context.Background(), d, nil)
	if verr != nil {
		t.Fatal(verr)
	}
	if !rep.OK() {
		t.Fatalf("the import succeeded and verify finds %v", rep.Problems)
	}
	return nil
}

func TestHostileExports(t *testing.T) {
	cases := hostileCases()
	if *updateHostile {
		writeBase(t)
		old, _ := filepath.Glob(filepath.Join(hostileExports, "*.ndjson"))
		for _, p := range old {
			os.Remove(p)
		}
		for _, c := range cases {
			if err := os.WriteFile(filepath.Join(hostileExports, c.name+".ndjson"), c.recipe(loadBase(t)).bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]hostileCase{}
	for _, c := range cases {
		want[c.name] = c
	}
	files, err := filepath.Glob(filepath.Join(hostileExports, "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("the corpus holds %d exports", len(files))
	}
	seen := map[string]bool{}
	target := newTarget(t)
	ctx := context.Background()
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".ndjson")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			targets := []string{"base"}
			if baseOK[name] || strings.HasPrefix(name, "ok_") {
				// Also into a new database, where the file alone counts.
				targets = append(targets, "empty")
			}
			for _, into := range targets {
				path := filepath.Join(t.TempDir(), "empty.db")
				before := []byte(nil)
				if into == "base" {
					path, before = target.copyTo(t, t.TempDir()), target.export
				}
				d, err := sqlite.Open(ctx, path, sqlite.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if before == nil {
					before = exportBody(t, d)
				}
				_, err = portable.Import(ctx, d, bytes.NewReader(input), portable.ImportOptions{})
				err = invariant(t, d, before, err)
				d.Close()
				c, known := want[name]
				w := c.want
				if into == "base" && baseOK[name] {
					w = ""
				}
				switch {
				case !known:
				case w == "" && err != nil:
					t.Fatalf("into %s: refused: %v", into, err)
				case w != "" && err == nil:
					t.Fatalf("into %s: accepted; want an error with %q", into, w)
				case w != "" && (!strings.Contains(err.Error(), w) || !errors.Is(err, portable.ErrInvalid)):
					t.Fatalf("into %s: %v; want ErrInvalid with %q", into, err, w)
				}
				var le *portable.LineError
				if err != nil && !errors.As(err, &le) {
					t.Fatalf("into %s: %v is not a *LineError", into, err)
				}
			}
		})
	}
	for _, c := range cases {
		if !seen[c.name] {
			t.Errorf("no file for recipe %s: run with -hostile.update", c.name)
		}
	}
}

// TestHostileBigValues: values over the limits by megabytes, made here
// rather than committed.
func TestHostileBigValues(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 70 MB of input")
	}
	target := newTarget(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		recipe func(e *export) *export
		want   string
	}{
		{"TagValue50MB", func(e *export) *export {
			return e.set("tag", nil, "value", "PLACEHOLDER").raw("PLACEHOLDER", strings.Repeat("x", 50<<20))
		}, "the limit is 65536"},
		{"Metadata20MB", func(e *export) *export {
			return e.set("metadata", nil, "value", "PLACEHOLDER").raw("PLACEHOLDER", strings.Repeat("x", 20<<20))
		}, "the limit is 16777216"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := sqlite.Open(ctx, target.copyTo(t, t.TempDir()), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = portable.Import(ctx, d, bytes.NewReader(tc.recipe(loadBase(t)).bytes()), portable.ImportOptions{})
			if err = invariant(t, d, target.export, err); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// FuzzImport feeds the import reader mutations of the hostile corpus: any
// input must keep the invariant (an error and the database unchanged, or
// success and a clean verify), and never panic.
//
//	go test -run '^$' -fuzz FuzzImport -fuzztime 5m ./portable/
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(hostileExports, "*.ndjson"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	target := newTarget(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, input []byte) {
		d, err := sqlite.Open(ctx, target.copyTo(t, t.TempDir()), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_, err = portable.Import(ctx, d, bytes.NewReader(input), portable.ImportOptions{})
		if err != nil && !errors.Is(err, portable.ErrInvalid) && !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("an error about the input that is not ErrInvalid: %v", err)
		}
		invariant(t, d, target.export, err)
	})
}

// sum is the SHA-256 of a file, "" when it does not exist.
func sum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// ---- Crafted database files ----

// dbRecipe is a crafted database file: the schema version to build it at
// (0: the latest), the SQL that crafts it, and a fragment of the error
// Merge must give ("ok": none).
type dbRecipe struct {
	name    string
	version uint
	sql     string
	want    string
}

func loadDBRecipes(t *testing.T) (prelude string, recipes []dbRecipe) {
	b, err := os.ReadFile(filepath.Join(hostileDBs, "PRELUDE.sql"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(hostileDBs, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		name := strings.TrimSuffix(filepath.Base(p), ".sql")
		if name == "PRELUDE" {
			continue
		}
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r := dbRecipe{name: name, sql: string(text)}
		for _, line := range strings.Split(r.sql, "\n") {
			if v, ok := strings.CutPrefix(line, "-- version: "); ok {
				fmt.Sscan(v, &r.version)
			}
			if w, ok := strings.CutPrefix(line, "-- want: "); ok {
				r.want = w
			}
		}
		if r.want == "" {
			t.Fatalf("%s has no -- want: line", p)
		}
		recipes = append(recipes, r)
	}
	return string(b), recipes
}

// buildDB writes the database file of recipe r at path.
func buildDB(t *testing.T, path, prelude string, r dbRecipe) {
	t.Helper()
	ctx := context.Background()
	conn, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	v := r.version
	if v == 0 {
		if v, err = schema.Latest(schema.SQLite()); err != nil {
			t.Fatal(err)
		}
	}
	if err := schema.MigrateTo(ctx, conn, v); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{prelude, r.sql} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
}

func TestHostileDatabases(t *testing.T) {
	prelude, recipes := loadDBRecipes(t)
	if len(recipes) < 10 {
		t.Fatalf("the corpus holds %d database recipes", len(recipes))
	}
	target := newTarget(t)
	ctx := context.Background()
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			other := filepath.Join(dir, "other.db")
			buildDB(t, other, prelude, r)
			before := sum(t, other)
			tdir := t.TempDir()
			d, err := sqlite.Open(ctx, target.copyTo(t, tdir), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = portable.Merge(ctx, d, other, portable.MergeOptions{})
			err = invariant(t, d, target.export, err)
			switch {
			case r.want == "ok" && err != nil:
				t.Fatalf("refused: %v", err)
			case r.want != "ok" && (err == nil || !strings.Contains(err.Error(), r.want)):
				t.Fatalf("got %v, want an error with %q", err, r.want)
			}
			// The other file is read, never written, nor run.
			if after := sum(t, other); after != before {
				t.Fatal("the merge changed the other file")
			}
			for _, suffix := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(other + suffix); err == nil {
					t.Fatalf("the merge left %s beside the other file", suffix)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(tdir, ".metatrack-merge-*")); len(left) > 0 {
				t.Fatalf("the merge left %v", left)
			}
			if err != nil && errors.Is(err, portable.ErrInvalid) && !strings.Contains(err.Error(), "table ") {
				t.Fatalf("%v does not name the other file's table", err)
			}
			if strings.Contains(r.sql, "PWNED") && err == nil {
				t.Fatal("a file with a trigger was merged")
			}
		})
	}
}

// TestHostileMergeNamesTableAndRow: a record of the other file that breaks
// a rule is named by its table and row, not by a line of the export piped
// between the files.
func TestHostileMergeNamesTableAndRow(t *testing.T) {
	prelude, _ := loadDBRecipes(t)
	other := filepath.Join(t.TempDir(), "other.db")
	buildDB(t, other, prelude, dbRecipe{name: "bad tag", sql: `INSERT INTO tags (resource_seq, key, value, updated_at)
		SELECT seq, 'k', printf('%.70000c', 'x'), 1 FROM resources WHERE type = 'model'`})
	ctx := context.Background()
	d, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = portable.Merge(ctx, d, other, portable.MergeOptions{})
	want := []string{`table tags, row resource 01930000-0000-7000-8000-000000000104, key "k": `, "tag value is 70000 bytes, the limit is 65536"}
	if err == nil || !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), want[1]) || !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if strings.Contains(err.Error(), "line ") {
		t.Fatalf("%v names a line", err)
	}
}

// TestHostileVerifySchema: verify on a file whose tags table is a view, or
// that carries a trigger, reports it (it said "No problems found").
func TestHostileVerifySchema(t *testing.T) {
	prelude, recipes := loadDBRecipes(t)
	ctx := context.Background()
	for _, r := range recipes {
		if r.version != 0 || r.want == "ok" || strings.HasPrefix(r.name, "rows_") {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			buildDB(t, path, prelude, r)
			d, err := sqlite.Open(ctx, path, sqlite.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			rep, err := sqlite.Verify(ctx, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Problems[0].Kind != sqlite.ProblemSchema || !strings.Contains(rep.Problems[0].String(), r.want) {
				t.Fatalf("verify found %v, want a schema problem with %q", rep.Problems, r.want)
			}
		})
	}
}

// TestHostileNoUpgradeWithForeignObjects: opening (for writing) an older
// file with a planted trigger does not migrate it: the trigger never runs.
func TestHostileNoUpgradeWithForeignObjects(t *testing.T) {
	prelude, recipes := loadDBRecipes(t)
	ctx := context.Background()
	for _, r := range recipes {
		if r.name != "trigger_schema_applied_v2" {
			continue
		}
		path := filepath.Join(t.TempDir(), "x.db")
		buildDB(t, path, prelude, r)
		before := sum(t, path)
		_, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
		if !errors.Is(err, metatrack.ErrUnexpectedSchema) || !strings.Contains(err.Error(), "trigger pwn") {
			t.Fatalf("Open = %v, want ErrUnexpectedSchema naming the trigger", err)
		}
		if sum(t, path) != before {
			t.Fatalf("the refused file was changed (%v)", err)
		}
		return
	}
	t.Fatal("no recipe trigger_schema_applied_v2")
}
