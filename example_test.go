package metatrack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/metatrack/metatrack"
)

// exampleTracker opens a tracker on a new file in a fresh directory, for
// the examples that need nothing else; done closes it and removes the
// directory.
func exampleTracker() (t *metatrack.Tracker, dir string, done func()) {
	dir = exampleDir()
	t, err := metatrack.Open(context.Background(), filepath.Join(dir, "metatrack.db"))
	if err != nil {
		log.Fatal(err)
	}
	return t, dir, func() { t.Close(); os.RemoveAll(dir) }
}

// exampleDir returns a fresh directory for an example's database.
func exampleDir() string {
	dir, err := os.MkdirTemp("", "metatrack-example-")
	if err != nil {
		log.Fatal(err)
	}
	return dir
}

// The process pipeline of a data workflow: each run creates the next version
// of a dataset, records where version control put the data, and finds the
// previous version to compare against.
func Example() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(dir)

	t, err := metatrack.Open(ctx, filepath.Join(dir, "metatrack.db"), metatrack.WithRunName("process"))
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()

	for _, sha := range []string{"9fceb02", "1b2c3d4"} {
		dv, err := t.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic_train")
		if err != nil {
			log.Fatal(err)
		}
		err = t.RegisterVCResource(ctx, dv, map[string]any{"hexsha": sha, "uri": "data/titanic_train.csv"})
		if err != nil {
			log.Fatal(err)
		}
		prev, err := t.GetPrevResourceVersion(ctx, dv)
		if errors.Is(err, metatrack.ErrNotFound) {
			fmt.Println(dv.Ref(), "is the first version")
			continue
		}
		info, err := t.GetVCInfo(ctx, prev, "hexsha")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(dv.Ref(), "compares with", prev.Ref(), "at", info["hexsha"])
	}
	// Output:
	// dataset_version/titanic_train@1 is the first version
	// dataset_version/titanic_train@2 compares with dataset_version/titanic_train@1 at 9fceb02
}

// Deploying a model version records the deployment with its history; the
// train pipeline asks which version to compare a new one against.
func ExampleTracker_GetCurrentlyDeployedModelVersion() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	v1, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	v2, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	v3, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")

	// Nothing deployed or promoted yet: the previous version.
	cmp, _ := t.GetCurrentlyDeployedModelVersion(ctx, v3)
	fmt.Println("compare with", cmp.Ref())

	if _, err := t.Promote(ctx, v1, metatrack.Promotion{Reason: "UPLIFT", Metric: "auc", Value: 0.86, Baseline: 0.8, Approved: true}); err != nil {
		log.Fatal(err)
	}
	cmp, _ = t.GetCurrentlyDeployedModelVersion(ctx, v3)
	fmt.Println("compare with", cmp.Ref())

	if _, err := t.Deploy(ctx, v2); err != nil {
		log.Fatal(err)
	}
	cmp, _ = t.GetCurrentlyDeployedModelVersion(ctx, v3)
	fmt.Println("compare with", cmp.Ref())
	// Output:
	// compare with model_version/titanic_model@2
	// compare with model_version/titanic_model@1
	// compare with model_version/titanic_model@2
}

// Artifacts are stored inside the database file, deduplicated by SHA-256,
// and read back verified.
func ExampleTracker_LogArtifact() {
	ctx := context.Background()
	t, dir, done := exampleTracker()
	defer done()

	mv, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	report := filepath.Join(dir, "drift.json")
	os.WriteFile(report, []byte(`{"psi": 0.04}`), 0o644)

	a, err := t.LogArtifact(ctx, mv, "reports/drift.json", report)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Name, a.Size, a.MediaType)

	_, rc, err := t.GetArtifact(ctx, mv, "reports/drift.json")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc) // fails with ErrCorrupt if the bytes no longer match
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output:
	// reports/drift.json 13 application/json
	// {"psi": 0.04}
}

// Search takes the query language of package query: typed comparisons on
// tags, metadata and attributes, lineage predicates, ORDER BY and paging.
func ExampleTracker_Search() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	dv, _ := t.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic_train")
	for _, auc := range []float64{0.81, 0.86, 0.79} {
		mv, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		t.LogMetadata(ctx, mv, "auc", auc)
		t.BuildModelLineage(ctx, mv, []metatrack.Resource{dv})
	}
	page, err := t.Search(ctx, `type = 'model_version' AND metadata.auc > 0.8
		AND downstream_of('dataset_version/titanic_train@1') ORDER BY metadata.auc DESC`)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range page.Resources {
		auc, _ := t.GetMetadata(ctx, r, "auc")
		fmt.Println(r.Ref(), auc)
	}

	_, err = t.Search(ctx, "metadata.auc >> 0.8")
	fmt.Println(errors.Is(err, metatrack.ErrInvalidArgument))
	// Output:
	// model_version/titanic_model@2 0.86
	// model_version/titanic_model@1 0.81
	// true
}

// Batch groups many calls into one transaction: logging inside a training
// loop commits once.
func ExampleTracker_Batch() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	mv, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	exp, _ := t.CreateResource(ctx, metatrack.TypeExperiment, "", metatrack.WithParent(mv.ID))
	err := t.Batch(ctx, func(b *metatrack.Tracker) error {
		for epoch := 1; epoch <= 100; epoch++ {
			if err := b.LogMetadata(ctx, exp, fmt.Sprintf("loss/%03d", epoch), 1.0/float64(epoch)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	loss, _ := t.GetMetadata(ctx, exp, "loss/100")
	fmt.Println(loss)
	// Output:
	// 0.01
}

// Every error a caller can cause matches a sentinel and names what was wrong.
func ExampleErrNotFound() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	_, err := t.GetResource(ctx, "model_version/titanic_model@7", "")
	fmt.Println(errors.Is(err, metatrack.ErrNotFound))
	fmt.Println(err)

	_, err = t.CreateResource(ctx, metatrack.TypeExperiment, "trial-1")
	fmt.Println(errors.Is(err, metatrack.ErrInvalidArgument))
	fmt.Println(err)
	// Output:
	// true
	// not found: resource "model_version/titanic_model@7"
	// true
	// invalid argument: a new experiment needs its model_version, or a sweep when no model version exists yet: pass WithParent
}

// A hyper-parameter sweep recorded before any model version exists: the
// trials hang under a sweep, one search returns them with the values to
// compare, and the best one becomes the model version's winner.
func ExampleWithColumns() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	sweep, err := t.CreateResource(ctx, metatrack.TypeSweep, "lr-sweep")
	if err != nil {
		log.Fatal(err)
	}
	for i, lr := range []float64{0.01, 0.1, 1} {
		trial, err := t.CreateResource(ctx, metatrack.TypeExperiment, fmt.Sprintf("trial-%d", i+1),
			metatrack.WithParent(sweep.ID), metatrack.WithAttr("lr", lr))
		if err != nil {
			log.Fatal(err)
		}
		t.LogMetadata(ctx, trial, "auc", []float64{0.81, 0.86, 0.78}[i])
		t.LogTag(ctx, trial, "owner", "ann")
	}
	page, err := t.Search(ctx, "type = 'experiment' AND parent = '"+sweep.ID+"' ORDER BY metadata.auc DESC",
		metatrack.WithColumns("attrs.lr", "metadata.auc", "tags.owner"))
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range page.Rows {
		fmt.Print(row.Name)
		for _, c := range page.Columns {
			v, _ := row.Value(c)
			fmt.Printf(" %s=%v", c, v)
		}
		fmt.Println()
	}
	mv, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if err := t.SetWinningExperiment(ctx, mv, page.Resources[0]); err != nil {
		log.Fatal(err)
	}
	w, _ := t.GetWinningExperiment(ctx, mv)
	fmt.Println("winner:", w.Name)
	// Output:
	// trial-2 attrs.lr=0.1 metadata.auc=0.86 tags.owner=ann
	// trial-1 attrs.lr=0.01 metadata.auc=0.81 tags.owner=ann
	// trial-3 attrs.lr=1 metadata.auc=0.78 tags.owner=ann
	// winner: trial-2
}

// A reference that names several resources is an error listing each
// one's unique reference, never a guess.
func ExampleAmbiguousError() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()
	for range 2 {
		mv, _ := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		t.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv.ID))
	}
	_, err := t.GetResource(ctx, "experiment/trial-1", "")
	var amb *metatrack.AmbiguousError
	if errors.As(err, &amb) {
		fmt.Println(errors.Is(err, metatrack.ErrAmbiguous), len(amb.Candidates))
		for _, c := range amb.Candidates {
			fmt.Println(c.Ref())
		}
	}
	exp, _ := t.GetResource(ctx, amb.Candidates[1].Ref(), "")
	fmt.Println(exp.Ref(), exp.ParentRef)
	// Output:
	// true 2
	// model_version/titanic_model@1/experiment/trial-1
	// model_version/titanic_model@2/experiment/trial-1
	// model_version/titanic_model@2/experiment/trial-1 model_version/titanic_model@2
}
