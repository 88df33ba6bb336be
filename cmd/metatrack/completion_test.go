package main

import (
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestCompletionScripts checks that each shell's completion script is
// produced, for the metatrack command.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_metatrack",
		"zsh":        "#compdef metatrack",
		"fish":       "complete -c metatrack",
		"powershell": "Register-ArgumentCompleter",
	} {
		t.Run(shell, func(t *testing.T) {
			r := mustRun(t, "completion", shell)
			if !strings.Contains(r.stdout, want) || r.stderr != "" {
				t.Errorf("script lacks %q (stderr %q):\n%.500s", want, r.stderr, r.stdout)
			}
		})
	}
	if r := run(t, "completion"); r.code != exitUsage {
		t.Errorf("completion without a shell: exit %d", r.code)
	}
}

// TestCompleteRefs runs the completion requests that the scripts send
// (cobra's hidden __complete command) and checks the candidates, taken from
// the database of --db.
func TestCompleteRefs(t *testing.T) {
	db := buildFixture(t, t.TempDir())
	tr, err := metatrack.Open(t.Context(), db, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	page, err := tr.Search(t.Context(), "type = 'promotion' AND parent = 'model_version/titanic_model@2'")
	if err != nil || len(page.Resources) != 1 {
		t.Fatalf("the promotion of @2: %v", err)
	}
	promo := page.Resources[0]
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	complete := func(args ...string) []string {
		t.Helper()
		r := mustRun(t, append([]string{"__complete", "--db", db}, args...)...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var out []string
		for _, l := range lines[:len(lines)-1] { // the last line is the directive
			name, _, _ := strings.Cut(l, "\t")
			out = append(out, name)
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"get", ""}, []string{"dataset/", "dataset_version/", "experiment/", "model/", "model_version/", "prediction_job/", "promotion/"}},
		{[]string{"get", "mod"}, []string{"model/", "model_version/"}},
		{[]string{"history", "model_version/"}, []string{"model_version/titanic_model@latest", "model_version/titanic_model@3", "model_version/titanic_model@2", "model_version/titanic_model@1"}},
		{[]string{"lineage", "model_version/titanic_model@2"}, []string{"model_version/titanic_model@2"}},
		{[]string{"impact", "dataset/t"}, []string{"dataset/titanic_train"}},
		{[]string{"at", "now", "prediction_job/"}, []string{"prediction_job/batch-2024-05-01", "prediction_job/batch-2024-05-02"}},
		{[]string{"artifacts", "get", "model_version/titanic_model@2", ""}, []string{"model.json", "checks/model/model_checks.json"}},
		{[]string{"artifacts", "get", "model_version/titanic_model@2", "mod"}, []string{"model.json"}},
		{[]string{"lineage", "model/titanic_model", "--format", ""}, []string{"tree", "dot", "mermaid", "json"}},
		{[]string{"ls", "--output", ""}, []string{"table", "json", "csv"}},
		{[]string{"get", "model_version/none"}, nil},
		// trial-1 and trial-2 hang under several versions: experiment/trial-1
		// would be ambiguous, so it is not offered; after a version's
		// reference its children are.
		{[]string{"get", "experiment/trial-"}, nil},
		{[]string{"get", "model_version/titanic_model@2/"}, []string{"model_version/titanic_model@2/experiment/trial-1", "model_version/titanic_model@2/experiment/trial-2",
			"model_version/titanic_model@2/promotion/" + promo.ID, "model_version/titanic_model@2/prediction_job/batch-2024-05-02"}},
		{[]string{"lineage", "model_version/titanic_model@2/exp"}, []string{"model_version/titanic_model@2/experiment/trial-1", "model_version/titanic_model@2/experiment/trial-2"}},
	} {
		got := complete(tc.args...)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("complete %q: %q, want %q", tc.args, got, tc.want)
		}
	}
	// With no database nothing is completed, and nothing is printed but
	// the directive.
	r := mustRun(t, "__complete", "--db", db+".missing", "get", "")
	if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("completions without a database:\n%s", r.stdout)
	}
}
