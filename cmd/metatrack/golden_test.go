package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden runs the CLI on the fixture and compares what it prints with
// testdata/<case>/stdout (and stderr, for the cases that fail). Rewrite the
// files with: go test ./cmd/metatrack/ -run TestGolden -update
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	// The commands only look: they open the file read-only and start no
	// run, so it is the same byte for byte afterwards.
	defer func() {
		after, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Error("the inspection commands changed the database file")
		}
		// Nor do they leave a -wal or -shm beside it: the file stays alone.
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(db + suffix); err == nil {
				t.Errorf("the inspection commands left %s%s beside the file", filepath.Base(db), suffix)
			}
		}
	}()
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			r := runFixture(t, append(tc.args, "--db", db)...)
			if r.code != tc.code {
				t.Fatalf("metatrack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, r.stderr)
			}
			size := fileSize(db)
			repl := []string{dir + string(filepath.Separator), "<dir>/", humanBytes(size), "<db size>",
				fmt.Sprintf(`"size_bytes": %d`, size), `"size_bytes": "<db size>"`}
			golden(t, tc.name+"/stdout", normalize(r.stdout, repl...))
			if tc.code != exitOK || strings.HasSuffix(tc.name, "_warns") {
				golden(t, tc.name+"/stderr", normalize(r.stderr, repl...))
			} else if r.stderr != "" {
				t.Errorf("stderr is not empty:\n%s", r.stderr)
			}
			if strings.HasSuffix(tc.name, "_json") && !json.Valid([]byte(r.stdout)) {
				t.Errorf("-o json printed invalid JSON:\n%s", r.stdout)
			}
			if strings.HasSuffix(tc.name, "_csv") && tc.code == exitOK {
				checkCSV(t, r.stdout)
			}
		})
	}
}

// checkCSV fails t unless out is well-formed CSV with a header and records
// of the header's length (encoding/csv checks the field counts).
func checkCSV(t *testing.T, out string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("-o csv printed invalid CSV: %v\n%s", err, out)
	}
	if len(recs) == 0 || len(recs[0]) == 0 {
		t.Fatalf("-o csv printed no header:\n%s", out)
	}
}

// goldenCase is one command of TestGolden: its arguments (without --db)
// and its exit code.
type goldenCase struct {
	name string
	args []string
	code int
}

// goldenCases are the commands of TestGolden, which TestRemoteGolden also
// runs against a server.
var goldenCases = []goldenCase{
	{"show", []string{"show"}, exitOK},
	{"show_json", []string{"show", "-o", "json"}, exitOK},
	{"stats", []string{"stats"}, exitOK},
	{"stats_json", []string{"stats", "-o", "json"}, exitOK},

	{"ls", []string{"ls"}, exitOK},
	{"ls_query", []string{"ls", "type = 'model_version' AND metadata.test_auc > 0.8", "--order", "metadata.test_auc DESC"}, exitOK},
	{"ls_page", []string{"search", "type = 'experiment'", "--limit", "2"}, exitOK},
	{"ls_lineage_query", []string{"ls", "upstream_of('prediction_job/batch-2024-05-02') AND type = 'dataset_version'"}, exitOK},
	{"ls_json", []string{"ls", "tags.quality = 'gold' OR status = 'DEPLOYED'", "-o", "json"}, exitOK},
	{"ls_none", []string{"ls", "name = 'nothing'"}, exitOK},
	{"ls_bad_query", []string{"ls", "type = 'model_version' AND metadata.auc >"}, exitFailure},
	{"ls_bad_order", []string{"ls", "--order", "metadata.auc SIDEWAYS"}, exitFailure},
	// Queries that cannot match are errors; what no resource has is a
	// warning (cases named _warns keep their stderr).
	{"ls_parent_ref", []string{"ls", "parent = 'model_version/titanic_model@2'"}, exitOK},
	{"ls_parent_ambiguous", []string{"ls", "parent = 'experiment/trial-1'"}, exitFailure},
	{"ls_parent_missing", []string{"ls", "parent = 'model_version/titanic_model@9'"}, exitFailure},
	{"ls_field_typo", []string{"ls", "metdata.auc > 0.9"}, exitFailure},
	{"ls_text_vs_number", []string{"ls", "metadata.test_auc > 'high'"}, exitFailure},
	{"ls_status_case", []string{"ls", "status = 'deployed'"}, exitFailure},
	{"ls_type_case", []string{"ls", "type = 'Model_Version'"}, exitFailure},
	{"ls_unknown_key_warns", []string{"ls", "metadata.test_acu > 0.9"}, exitOK},
	{"ls_doubled_quote", []string{"ls", "name = 'it''s' OR name = 'titanic_train'"}, exitOK},
	{"ls_unquoted_time", []string{"ls", "type = 'model_version' AND created_at >= 2024-05-02 AND created_at < 2024-05-03T00:00:00Z"}, exitOK},
	{"ls_printed_time", []string{"ls", "created_at = '2024-05-02 09:30:00'"}, exitOK},
	{"ls_key_slash", []string{"ls", "metadata.loss/00001 > 0.5"}, exitFailure},
	{"ls_limit_all", []string{"ls", "ORDER BY created_at DESC LIMIT 3", "--all", "--limit", "2"}, exitOK},
	{"ls_columns", []string{"ls", "type = 'experiment'", "--order", "metadata.valid_auc DESC", "--columns", "attrs.learning_rate,metadata.valid_auc,status,tags.nosuch"}, exitOK},
	{"ls_columns_json", []string{"ls", "type = 'model_version'", "--limit", "2", "--columns", "metadata.test_auc,metadata.params.l2,tags.*", "-o", "json"}, exitOK},
	{"ls_columns_csv", []string{"ls", "type = 'model_version'", "--columns", "status,metadata.test_auc,created_at,tags.note", "-o", "csv"}, exitOK},
	{"ls_csv", []string{"ls", "type = 'dataset_version'", "-o", "csv"}, exitOK},
	{"ls_bad_column", []string{"ls", "--columns", "metadata.auc,tags.a.b"}, exitUsage},
	{"show_csv", []string{"show", "-o", "csv"}, exitUsage},

	{"compare", []string{"compare", "model_version/titanic_model@1", "model_version/titanic_model@2", "model_version/titanic_model@3"}, exitOK},
	{"compare_diff_json", []string{"compare", "--query", "type = 'experiment' ORDER BY metadata.valid_auc DESC", "--limit", "3", "--diff", "-o", "json"}, exitOK},
	{"compare_csv", []string{"compare", "dataset_version/titanic_train@1", "dataset_version/titanic_train@2", "-o", "csv"}, exitOK},
	{"compare_no_refs", []string{"compare"}, exitUsage},

	{"get", []string{"get", "model_version/titanic_model@2"}, exitOK},
	{"get_json", []string{"get", "model_version/titanic_model@2", "-o", "json"}, exitOK},
	{"get_chain_head", []string{"get", "model/titanic_model", "--history", "3"}, exitOK},
	{"get_dataset_version", []string{"get", "dataset_version/titanic_train@latest"}, exitOK},
	{"get_unknown", []string{"get", "model_version/titanic_model@9"}, exitFailure},
	{"get_bare_name", []string{"get", "titanic_model"}, exitFailure},
	{"get_alias_missing", []string{"get", "model_version/titanic_model@champion"}, exitFailure},
	{"backup_missing_dir", []string{"backup", "no-such-dir/out.db"}, exitFailure},
	{"get_ambiguous", []string{"get", "experiment/trial-1"}, exitFailure},
	{"get_qualified", []string{"get", "model_version/titanic_model@2/experiment/trial-1"}, exitOK},

	{"history", []string{"history", "model_version/titanic_model@1"}, exitOK},
	{"history_kind", []string{"history", "model/titanic_model", "--kind", "deployed"}, exitOK},
	{"history_json", []string{"history", "dataset_version/titanic_train@2", "-o", "json"}, exitOK},
	{"history_csv", []string{"history", "dataset_version/titanic_train@2", "-o", "csv"}, exitOK},
	{"history_times", []string{"history", "model_version/titanic_model@1/experiment/trial-1"}, exitOK},
	{"history_times_json", []string{"history", "model_version/titanic_model@1/experiment/trial-1", "-o", "json"}, exitOK},
	{"history_bad_kind", []string{"history", "model/titanic_model", "--kind", "bogus"}, exitUsage},

	{"at_deployed", []string{"at", "2024-05-02T12:00:00Z"}, exitOK},
	{"at_relative", []string{"at", "now-2d"}, exitOK},
	{"at_env", []string{"at", "2024-05-02T12:00:00Z", "--env", "staging"}, exitOK},
	{"at_env_none", []string{"at", "2024-05-02T12:00:00Z", "--env", "prod"}, exitOK},
	{"at_deployed_json", []string{"at", "2024-05-02T15:00:00Z", "-o", "json"}, exitOK},
	{"at_refs", []string{"at", "2024-05-01T12:00:00Z", "model_version/titanic_model@1", "model_version/titanic_model@2", "model/titanic_model"}, exitOK},
	{"at_refs_json", []string{"at", "2024-05-02T12:00:00Z", "model_version/titanic_model@1", "dataset_version/titanic_train@2", "-o", "json"}, exitOK},
	{"at_bad_time", []string{"at", "yesterday"}, exitFailure},
	// A time exactly as the tables print it.
	{"at_printed_time", []string{"at", "2024-05-02 12:00:00"}, exitOK},
	{"at_csv", []string{"at", "2024-05-02T15:00:00Z", "-o", "csv"}, exitOK},
	{"at_refs_csv", []string{"at", "2024-05-02T12:00:00Z", "model_version/titanic_model@1", "dataset_version/titanic_train@2", "-o", "csv"}, exitOK},

	{"lineage_up", []string{"lineage", "prediction_job/batch-2024-05-02", "--up"}, exitOK},
	{"lineage_down", []string{"lineage", "dataset_version/titanic_train@2", "--down"}, exitOK},
	{"lineage_both", []string{"lineage", "model/titanic_model", "--both", "--depth", "2"}, exitOK},
	{"lineage_dot", []string{"lineage", "model_version/titanic_model@2", "--up", "--format", "dot"}, exitOK},
	{"lineage_mermaid", []string{"lineage", "dataset/titanic_train", "--down", "--depth", "2", "--format", "mermaid"}, exitOK},
	{"lineage_json", []string{"lineage", "model_version/titanic_model@2", "--up", "-o", "json"}, exitOK},
	{"lineage_no_direction", []string{"lineage", "model_version/titanic_model@2", "--depth", "1"}, exitOK},
	{"lineage_format_svg", []string{"lineage", "model_version/titanic_model@2", "--format", "svg"}, exitUsage},

	{"impact", []string{"impact", "dataset_version/titanic_train@2"}, exitOK},
	{"impact_json", []string{"impact", "dataset_version/titanic_train@1", "-o", "json"}, exitOK},
	{"impact_csv", []string{"impact", "dataset_version/titanic_train@1", "-o", "csv"}, exitOK},
	{"lineage_csv", []string{"lineage", "model_version/titanic_model@2", "--up", "-o", "csv"}, exitOK},
	{"path_down", []string{"path", "dataset/titanic_train", "prediction_job/batch-2024-05-02", "--down"}, exitOK},
	{"path_up", []string{"path", "prediction_job/batch-2024-05-02", "dataset_version/titanic_train@2", "--up"}, exitOK},
	{"path_both", []string{"path", "model_version/titanic_model@1", "model_version/titanic_model@3"}, exitOK},
	{"path_same", []string{"path", "model/titanic_model", "model/titanic_model"}, exitOK},
	{"path_json", []string{"path", "dataset_version/titanic_train@1", "prediction_job/batch-2024-05-01", "--down", "-o", "json"}, exitOK},
	{"path_csv", []string{"path", "model_version/titanic_model@1", "model_version/titanic_model@3", "-o", "csv"}, exitOK},
	{"path_none", []string{"path", "prediction_job/batch-2024-05-02", "dataset_version/titanic_train@2", "--down"}, exitFailure},
	{"path_none_depth", []string{"path", "dataset/titanic_train", "prediction_job/batch-2024-05-02", "--down", "--depth", "2"}, exitFailure},
	{"path_unknown", []string{"path", "dataset/titanic_train", "model_version/titanic_model@9"}, exitFailure},
	{"path_two_directions", []string{"path", "dataset/titanic_train", "model/titanic_model", "--up", "--down"}, exitUsage},
	{"path_one_arg", []string{"path", "dataset/titanic_train"}, exitUsage},
	{"path_negative_depth", []string{"path", "dataset/titanic_train", "model/titanic_model", "--depth", "-1"}, exitUsage},
	{"provenance", []string{"provenance", "prediction_job/batch-2024-05-02"}, exitOK},
	{"provenance_json", []string{"provenance", "model_version/titanic_model@1", "-o", "json"}, exitOK},
	{"provenance_csv", []string{"provenance", "model_version/titanic_model@2", "-o", "csv"}, exitOK},
	{"provenance_dataset_version", []string{"provenance", "dataset_version/titanic_train@1"}, exitOK},
	{"provenance_none", []string{"provenance", "dataset/titanic_train"}, exitOK},
	{"provenance_unknown", []string{"provenance", "prediction_job/nothing"}, exitFailure},
	{"artifacts_ls_csv", []string{"artifacts", "ls", "model_version/titanic_model@2", "-o", "csv"}, exitOK},
	{"runs_csv", []string{"runs", "-o", "csv"}, exitOK},

	{"artifacts_ls", []string{"artifacts", "ls", "model_version/titanic_model@2"}, exitOK},
	{"artifacts_ls_json", []string{"artifacts", "ls", "model_version/titanic_model@2", "-o", "json"}, exitOK},
	{"artifacts_get_stdout", []string{"artifacts", "get", "model_version/titanic_model@2", "model.json"}, exitOK},
	{"artifacts_get_unknown", []string{"artifacts", "get", "model_version/titanic_model@2", "weights.bin"}, exitFailure},

	{"runs", []string{"runs"}, exitOK},
	{"runs_json", []string{"runs", "-o", "json"}, exitOK},
	{"runs_died", []string{"runs", "--state", "died"}, exitOK},
	{"runs_bad_state", []string{"runs", "--state", "dead"}, exitUsage},
	{"artifacts_ls_bad_kind", []string{"artifacts", "ls", "model_version/titanic_model@2", "--kind", "model"}, exitUsage},
}
