package metatrack_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
)

// Issue: LIMIT 5 in a query only set the page size, and SearchAll returned
// everything. LIMIT is the total; WithPageSize the page.
func TestSearchLimitIsTotal(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	for range 12 {
		if _, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "d"); err != nil {
			t.Fatal(err)
		}
	}
	all, err := tr.SearchAll(ctx, "type = 'dataset_version' ORDER BY version DESC LIMIT 5")
	if err != nil || len(all) != 5 || all[0].Version != 12 || all[4].Version != 8 {
		t.Fatalf("SearchAll LIMIT 5: %d resources, %v", len(all), err)
	}
	var got []int
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := tr.Search(ctx, "type = 'dataset_version' LIMIT 7", metatrack.WithPageSize(3), metatrack.WithCursor(cursor))
		if err != nil || pages > 5 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, r := range page.Resources {
			got = append(got, r.Version)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(got) != 7 || got[6] != 7 {
		t.Fatalf("pages of 3, LIMIT 7: %v", got)
	}
}

// refsFixture builds three model versions with an experiment trial-1 and
// a prediction job nightly under each, as the demo does.
func refsFixture(t *testing.T) (*metatrack.Tracker, []metatrack.Resource, []metatrack.Resource) {
	t.Helper()
	ctx := context.Background()
	tr := MustOpen(t)
	var mvs, exps []metatrack.Resource
	for range 3 {
		mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		if err != nil {
			t.Fatal(err)
		}
		exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv.ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.CreateResource(ctx, metatrack.TypePredictionJob, "nightly", metatrack.WithParent(mv.ID)); err != nil {
			t.Fatal(err)
		}
		mvs, exps = append(mvs, mv), append(exps, exp)
	}
	return tr, mvs, exps
}

// Issue: get experiment/trial-1 took the newest of three silently; so did
// GetResource("nightly", "prediction_job").
func TestReferenceAmbiguous(t *testing.T) {
	ctx := context.Background()
	tr, mvs, exps := refsFixture(t)
	_, err := tr.GetResource(ctx, "experiment/trial-1", "")
	var amb *metatrack.AmbiguousError
	if !errors.Is(err, metatrack.ErrAmbiguous) || !errors.As(err, &amb) || len(amb.Candidates) != 3 {
		t.Fatalf("experiment/trial-1: %v", err)
	}
	for i, c := range amb.Candidates {
		want := "model_version/titanic_model@" + strconv.Itoa(i+1) + "/experiment/trial-1"
		if c.Ref() != want || c.ID != exps[i].ID || c.ParentRef != mvs[i].Ref() {
			t.Errorf("candidate %d: %s (parent %s), want %s", i, c.Ref(), c.ParentRef, want)
		}
		if !strings.Contains(err.Error(), "\n  "+want+"  (parent model_version/titanic_model@"+strconv.Itoa(i+1)+", created ") {
			t.Errorf("the message does not list %s:\n%v", want, err)
		}
	}
	if _, err := tr.GetResource(ctx, "nightly", metatrack.TypePredictionJob); !errors.Is(err, metatrack.ErrAmbiguous) {
		t.Errorf("GetResource(nightly, prediction_job): %v, want ErrAmbiguous", err)
	}
	if _, err := tr.GetResource(ctx, "prediction_job/nightly", ""); !errors.Is(err, metatrack.ErrAmbiguous) {
		t.Errorf("prediction_job/nightly: %v, want ErrAmbiguous", err)
	}
	// An ambiguous reference is an error wherever references go.
	if _, err := tr.Search(ctx, "parent = 'experiment/trial-1'"); !errors.Is(err, metatrack.ErrAmbiguous) {
		t.Errorf("query parent = experiment/trial-1: %v", err)
	}
	if _, err := tr.Search(ctx, "upstream_of('experiment/trial-1')"); !errors.Is(err, metatrack.ErrAmbiguous) {
		t.Errorf("upstream_of(experiment/trial-1): %v", err)
	}

	// The unique references resolve, also as the reference of a type.
	for i, e := range exps {
		got, err := tr.GetResource(ctx, "model_version/titanic_model@"+strconv.Itoa(i+1)+"/experiment/trial-1", "")
		if err != nil || got.ID != e.ID {
			t.Errorf("qualified ref %d: %v %v", i, got.Ref(), err)
		}
	}
	// model_version/titanic_model names the latest version, by definition.
	if got, err := tr.GetResource(ctx, "model_version/titanic_model/prediction_job/nightly", ""); err != nil || got.ParentID != mvs[2].ID {
		t.Errorf("under the latest version: %v %v", got.Ref(), err)
	}
	// A name that exists once needs no parent.
	if _, err := tr.CreateResource(ctx, metatrack.TypeExperiment, "solo", metatrack.WithParent(mvs[1].ID)); err != nil {
		t.Fatal(err)
	}
	if got, err := tr.GetResource(ctx, "experiment/solo", ""); err != nil || got.Ref() != "model_version/titanic_model@2/experiment/solo" {
		t.Errorf("experiment/solo: %v %v", got.Ref(), err)
	}
	if _, err := tr.GetResource(ctx, "model_version/titanic_model@3/experiment/solo", ""); !errors.Is(err, metatrack.ErrNotFound) {
		t.Errorf("solo under @3: %v, want ErrNotFound", err)
	}
}

// Every resource's Ref is unique and resolves to it, also with slashes and
// @ in names, nested parents, and a root beside namesakes under parents.
func TestReferenceUnique(t *testing.T) {
	ctx := context.Background()
	tr, _, _ := refsFixture(t)
	root, err := tr.CreateResource(ctx, "report", "weekly")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(typ, name string, parent metatrack.Resource) metatrack.Resource {
		t.Helper()
		r, err := tr.CreateResource(ctx, typ, name, metatrack.WithParent(parent.ID))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	child := mk("report", "weekly", root)     // report/weekly/report/weekly
	grand := mk("section", "a/b@2", child)    // a name with a slash and @N
	mk("section", "a/b@2", root)              // the same name one level up
	mk("figure", "experiment/trial-1", grand) // a name that reads as a step
	mv3, _ := tr.GetResource(ctx, "model_version/titanic_model@3", "")
	mk("section", "x/experiment/trial-1", mv3) // under a version, a name with steps
	all, err := tr.SearchAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.Ref()] {
			t.Errorf("two resources have the Ref %s", r.Ref())
		}
		seen[r.Ref()] = true
		got, err := tr.GetResource(ctx, r.Ref(), "")
		if err != nil || got.ID != r.ID {
			t.Errorf("GetResource(%s) = %s, %v; want itself", r.Ref(), got.Ref(), err)
		}
		page, err := tr.Search(ctx, "id = '"+strings.ReplaceAll(r.Ref(), "'", "''")+"'")
		if err != nil || len(page.Resources) != 1 || page.Resources[0].ID != r.ID {
			t.Errorf("id = '%s': %v, %v", r.Ref(), page.Resources, err)
		}
	}
	if _, err := tr.GetResource(ctx, strings.Repeat("report/weekly/", 200), ""); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("a reference of 400 slashes: %v", err)
	}
	if want := "report/weekly/report/weekly/section/a/b@2"; !seen[want] {
		t.Errorf("no Ref %s among %v", want, seen)
	}
	// type/name names the root when namesakes hang under parents.
	if got, err := tr.GetResource(ctx, "report/weekly", ""); err != nil || got.ID != root.ID {
		t.Errorf("report/weekly = %s, %v; want the root", got.Ref(), err)
	}
	if got, err := tr.GetResource(ctx, child.Ref(), ""); err != nil || got.ID != child.ID || child.Ref() != "report/weekly/report/weekly" {
		t.Errorf("%s = %s, %v", child.Ref(), got.Ref(), err)
	}
}

// Issue: metadata.auc > 'high', status = 'deployed' and type =
// 'Model_Version' printed "No resources match."; metadata.acu > 0.9 (a
// typo) too, without a word.
func TestQueryCannotMatch(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tr.LogMetadata(ctx, mv, "auc", 0.87))
	must(tr.LogMetadata(ctx, mv, "trainer", "xgboost"))
	must(tr.LogTag(ctx, mv, "quality", "gold"))
	_, err = tr.Deploy(ctx, mv)
	must(err)
	for _, tt := range []struct{ query, msg string }{
		{"metadata.auc > 'high'", "column 16 (offset 15): metadata.auc holds numbers, never text: compare it with a number (metadata.auc > 0.9)"},
		{"metadata.auc LIKE '0.8%'", "column 19 (offset 18): metadata.auc holds numbers, never text"},
		{"metadata.trainer = 3", "column 20 (offset 19): metadata.trainer holds text, never numbers: quote the value ('3')"},
		{"tags.quality > 3", "column 16 (offset 15): tags.quality holds text, never a number: quote the value ('3')"},
		{"type = 'model_version' AND status = 'deployed'", `column 37 (offset 36): no resource has status "deployed"; statuses are case-sensitive: did you mean 'DEPLOYED'? (statuses in use: DEPLOYED)`},
		{"status IN ('DEPLOYED', 'registered')", `did you mean 'REGISTERED'?`},
		{"type = 'Model_Version'", "column 8 (offset 7): type names are lower case: did you mean 'model_version'?"},
	} {
		_, err := tr.Search(ctx, tt.query)
		var qe *query.Error
		if !errors.Is(err, metatrack.ErrInvalidArgument) || !errors.Is(err, metatrack.ErrInvalidQuery) || !errors.As(err, &qe) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Search(%s): %v\nwant %q", tt.query, err, tt.msg)
		}
	}
	// The same comparisons that can match do, and so does a query whose
	// OR branch or NOT term alone could not match.
	for _, q := range []string{"metadata.auc > 0.5", "metadata.trainer = 'xgboost'", "tags.quality = 'gold'", "tags.nosuch > 3", "status = 'DEPLOYED'", "metadata.nothing > 'x'", "status = 'custom'",
		"metadata.auc > 0.5 OR metadata.auc > 'high'", "NOT metadata.auc > 'high'", "type = 'model' OR status = 'deployed'", "type = 'model_version' AND (tags.quality > 3 OR tags.quality = 'gold')"} {
		if _, err := tr.Search(ctx, q); err != nil {
			t.Errorf("Search(%s): %v", q, err)
		}
	}

	// Keys, types and statuses no resource has are valid, with a note.
	warnings, err := tr.QueryWarnings(ctx, "metadata.acu > 0.9 AND tags.qualty = 'gold' AND type = 'model_versions' AND status = 'PROMOTD' ORDER BY attrs.x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	want := []string{
		"line 1, column 1: no resource has metadata key acu; did you mean metadata.auc?",
		"line 1, column 24: no resource has tag key qualty; did you mean tags.quality?",
		`line 1, column 56: no resource has type "model_versions" (in use: model, model_version); did you mean 'model_version'?`,
		`line 1, column 86: no resource has status "PROMOTD" (in use: DEPLOYED); did you mean 'PROMOTED'?`,
		"line 1, column 105: no resource has attribute key x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("QueryWarnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w, err := tr.QueryWarnings(ctx, "metadata.auc > 0.9 AND tags.quality = 'gold'"); err != nil || len(w) != 0 {
		t.Errorf("QueryWarnings of a query on existing keys: %v %v", w, err)
	}
	if _, err := tr.QueryWarnings(ctx, "metadata.auc > 'high'"); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Errorf("QueryWarnings of a refused query: %v", err)
	}
}

// TestReferenceDeepMissing: a reference of many steps that names nothing
// fails as not found after a search that grows with its steps. The lookup
// of deleted resources once resolved every prefix again in turn, so this
// reference of 19 steps took minutes (2^n lookups).
func TestReferenceDeepMissing(t *testing.T) {
	tr := MustOpen(t)
	ref := strings.Repeat("dataset/a/", 18) + "dataset/a"
	if _, err := tr.GetResource(context.Background(), ref, ""); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("GetResource(%d steps) = %v, want ErrNotFound", 19, err)
	}
}
