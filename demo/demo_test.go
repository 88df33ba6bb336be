package demo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/demo"
)

// MustOpen opens a tracker on a new database file in a temporary directory
// and stops it when the test ends.
func MustOpen(tb testing.TB, opts ...metatrack.Option) *metatrack.Tracker {
	tb.Helper()
	ctx := context.Background()
	opts = append([]metatrack.Option{metatrack.WithRunName("demo-test"),
		metatrack.WithModelLoader(demo.TrainerName, demo.LoadModel)}, opts...)
	t, err := metatrack.Open(ctx, filepath.Join(tb.TempDir(), "metatrack.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { t.Close() })
	return t
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	work := filepath.Join(t.TempDir(), "work")
	var log bytes.Buffer
	sum, err := demo.Run(ctx, tr, work, &log)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if len(sum.Rounds) != 3 {
		t.Fatalf("%d rounds, want 3", len(sum.Rounds))
	}
	dataset := metatrack.Resource{Type: metatrack.TypeDataset, Name: demo.DatasetName}
	model := metatrack.Resource{Type: metatrack.TypeModel, Name: demo.ModelName}

	t.Run("Chains", func(t *testing.T) {
		for _, head := range []metatrack.Resource{dataset, model} {
			vs, err := tr.Versions(ctx, head)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 3 {
				t.Fatalf("%s has %d versions, want 3", head.Ref(), len(vs))
			}
			for i, v := range vs {
				if v.Version != i+1 {
					t.Errorf("%s: version %d at position %d", head.Ref(), v.Version, i)
				}
				prev, err := tr.GetPrevResourceVersion(ctx, v)
				if i == 0 {
					if !errors.Is(err, metatrack.ErrNotFound) {
						t.Errorf("previous of %s: got %v, %v; want ErrNotFound", v.Ref(), prev.Ref(), err)
					}
					continue
				}
				if err != nil || prev.ID != vs[i-1].ID {
					t.Errorf("previous of %s is %s (%v), want %s", v.Ref(), prev.Ref(), err, vs[i-1].Ref())
				}
			}
		}
	})

	t.Run("Lineage", func(t *testing.T) {
		for _, r := range sum.Rounds {
			in, err := tr.Inputs(ctx, r.ModelVersion)
			if err != nil {
				t.Fatal(err)
			}
			if len(in) != 1 || in[0].ID != r.DatasetVersion.ID {
				t.Errorf("inputs of %s: %v, want %s", r.ModelVersion.Ref(), in, r.DatasetVersion.Ref())
			}
		}
	})

	t.Run("VCInfo", func(t *testing.T) {
		for _, r := range sum.Rounds {
			for _, key := range []string{"X_train_hexsha", "X_train", "y_test_hexsha"} {
				info, err := tr.GetVCInfo(ctx, r.ModelVersion, key)
				if err != nil {
					t.Fatalf("GetVCInfo(%s, %s): %v", r.ModelVersion.Ref(), key, err)
				}
				checkStored(t, info)
			}
			info, err := tr.GetVCInfo(ctx, r.DatasetVersion, "hexsha")
			if err != nil {
				t.Fatal(err)
			}
			checkStored(t, info)
		}
	})

	t.Run("Deployments", func(t *testing.T) {
		deps, err := tr.Deployments(ctx, model)
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) == 0 {
			t.Fatal("no deployments")
		}
		current := 0
		for _, d := range deps {
			if d.Current() {
				current++
				if d.ModelVersion.ID != sum.Deployed.ID {
					t.Errorf("current deployment is %s, summary says %s", d.ModelVersion.Ref(), sum.Deployed.Ref())
				}
				if d.ModelVersion.Status != metatrack.StatusDeployed {
					t.Errorf("deployed %s has status %q", d.ModelVersion.Ref(), d.ModelVersion.Status)
				}
			} else if d.ModelVersion.Status != metatrack.StatusDemoted {
				t.Errorf("formerly deployed %s has status %q, want DEMOTED", d.ModelVersion.Ref(), d.ModelVersion.Status)
			}
		}
		if current != 1 {
			t.Errorf("%d current deployments, want 1", current)
		}
		// With this seed every new version ranks better and is deployed.
		for _, r := range sum.Rounds {
			if !r.Promoted {
				t.Errorf("%s was not promoted: test auc %.4f, deployed %.4f", r.ModelVersion.Ref(), r.Test.AUC, r.BaselineTest.AUC)
				continue
			}
			promos, err := tr.Children(ctx, r.ModelVersion, metatrack.TypePromotion)
			if err != nil {
				t.Fatal(err)
			}
			if len(promos) != 1 || promos[0].Status != metatrack.PromotionApproved || promos[0].Attrs["reason"] != "UPLIFT" || promos[0].Attrs["metric"] != "auc" {
				t.Errorf("promotions of %s: %+v", r.ModelVersion.Ref(), promos)
			}
		}
		if len(deps) != 3 || sum.Deployed.Version != 3 {
			t.Errorf("%d deployments, deployed %s; want 3 and version 3", len(deps), sum.Deployed.Ref())
		}
	})

	t.Run("WinningExperiments", func(t *testing.T) {
		for _, r := range sum.Rounds {
			win, err := tr.GetWinningExperiment(ctx, r.ModelVersion)
			if err != nil {
				t.Fatal(err)
			}
			if win.ID != r.Winner.ID || win.ParentID != r.ModelVersion.ID {
				t.Errorf("winner of %s is %s (parent %s), want %s", r.ModelVersion.Ref(), win.Name, win.ParentID, r.Winner.Name)
			}
			id, err := tr.GetMetadata(ctx, r.ModelVersion, metatrack.MetadataWinningExperimentID)
			if err != nil || id != win.ID {
				t.Errorf("winning_experiment_id of %s: %v, %v", r.ModelVersion.Ref(), id, err)
			}
			exps, err := tr.Children(ctx, r.ModelVersion, metatrack.TypeExperiment)
			if err != nil {
				t.Fatal(err)
			}
			if len(exps) != len(demo.DefaultTrials()) {
				t.Errorf("%s has %d experiments", r.ModelVersion.Ref(), len(exps))
			}
			for _, e := range exps {
				if e.Status != metatrack.StatusFinished || e.StartedAt.IsZero() || e.EndedAt.Before(e.StartedAt) {
					t.Errorf("experiment %s: status %q, %v .. %v", e.Name, e.Status, e.StartedAt, e.EndedAt)
				}
				var p demo.TrainParams
				if err := tr.GetMetadataInto(ctx, e, metatrack.MetadataTrainingParams, &p); err != nil || p.Epochs == 0 {
					t.Errorf("training_params of %s: %+v, %v", e.Name, p, err)
				}
				auc, err := tr.GetMetadata(ctx, e, "auc")
				if f, ok := auc.(float64); err != nil || !ok || f <= 0.5 || f > 1 {
					t.Errorf("auc of %s: %v, %v", e.Name, auc, err)
				}
				arts, err := tr.Artifacts(ctx, e, metatrack.KindArtifact)
				if err != nil || len(arts) != 4 {
					t.Errorf("artifacts of %s: %d, %v", e.Name, len(arts), err)
				}
			}
		}
	})

	t.Run("LoadModel", func(t *testing.T) {
		for _, r := range sum.Rounds {
			obj, err := tr.LoadModel(ctx, r.ModelVersion)
			if err != nil {
				t.Fatal(err)
			}
			m, ok := obj.(*demo.Model)
			if !ok {
				t.Fatalf("LoadModel returned %T", obj)
			}
			x := readRows(t, tr, r.ModelVersion, "X_test")
			y := readLabels(t, tr, r.ModelVersion, "y_test")
			got := demo.Evaluate(m.PredictProba(x), y)
			stored, err := tr.GetMetadata(ctx, r.ModelVersion, "test_accuracy")
			if err != nil {
				t.Fatal(err)
			}
			if got.Accuracy != stored || got.Accuracy != r.Test.Accuracy {
				t.Errorf("%s: rebuilt model accuracy %v, stored %v", r.ModelVersion.Ref(), got.Accuracy, stored)
			}
			if got.AUC < 0.75 {
				t.Errorf("%s: test AUC %.3f is too low for this data", r.ModelVersion.Ref(), got.AUC)
			}
		}
	})

	t.Run("PredictionJobs", func(t *testing.T) {
		job, err := tr.GetLatestModelResource(ctx, model, metatrack.TypePredictionJob)
		if err != nil {
			t.Fatal(err)
		}
		mv, err := tr.GetPredictionJobModelVersion(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		newest := sum.Rounds[2].ModelVersion
		if job.ID != sum.Rounds[2].PredictionJob.ID || mv.ID != newest.ID {
			t.Errorf("latest job %s of %s, want %s of %s", job.Name, mv.Ref(), sum.Rounds[2].PredictionJob.Name, newest.Ref())
		}
		if n, ok := job.Attrs["prediction_count"].(int64); !ok || n != 300 {
			t.Errorf("prediction_count = %v (%T)", job.Attrs["prediction_count"], job.Attrs["prediction_count"])
		}
		var ev map[string]any
		if err := tr.GetMetadataInto(ctx, job, "evaluation", &ev); err != nil {
			t.Fatal(err)
		}
		if ev["model_version"] != mv.ID || ev["max_reproduction_error"] != 0.0 || ev["accuracy"].(float64) < 0.7 {
			t.Errorf("evaluation: %v", ev)
		}
		for _, r := range sum.Rounds {
			if r.PredictionJob.ParentID != r.PredictedWith.ID {
				t.Errorf("job %s hangs under %s, predicted with %s", r.PredictionJob.Name, r.PredictionJob.ParentID, r.PredictedWith.Ref())
			}
			var checks demo.CheckReport
			readReport(t, func() (metatrack.Artifact, io.ReadCloser, error) {
				return tr.GetChecks(ctx, r.PredictionJob, "prediction")
			}, &checks)
			if checks.Type != "prediction" || len(checks.Checks) == 0 {
				t.Errorf("prediction checks of %s: %+v", r.PredictionJob.Name, checks)
			}
			info, err := tr.GetVCInfo(ctx, r.PredictionJob, "")
			if err != nil {
				t.Fatal(err)
			}
			checkStored(t, info)
		}
	})

	t.Run("Reports", func(t *testing.T) {
		for i, r := range sum.Rounds {
			var p demo.Profile
			readReport(t, func() (metatrack.Artifact, io.ReadCloser, error) { return tr.GetDataProfile(ctx, r.DatasetVersion) }, &p)
			if p.Rows != 2000 || len(p.Columns) != 8 || p.Dataset != r.DatasetVersion.Ref() {
				t.Errorf("profile of %s: %d rows, %d columns, dataset %q", r.DatasetVersion.Ref(), p.Rows, len(p.Columns), p.Dataset)
			}
			var checks demo.CheckReport
			readReport(t, func() (metatrack.Artifact, io.ReadCloser, error) { return tr.GetChecks(ctx, r.DatasetVersion, "data") }, &checks)
			if checks.Type != "data" || checks.Status != r.DataChecks {
				t.Errorf("data checks of %s: %+v", r.DatasetVersion.Ref(), checks)
			}
			var mchecks demo.CheckReport
			readReport(t, func() (metatrack.Artifact, io.ReadCloser, error) { return tr.GetChecks(ctx, r.ModelVersion, "model") }, &mchecks)
			if mchecks.Type != "model" || mchecks.Status != r.ModelChecks {
				t.Errorf("model checks of %s: %+v", r.ModelVersion.Ref(), mchecks)
			}
			_, _, err := tr.GetDataComparison(ctx, r.DatasetVersion)
			if i == 0 {
				if !errors.Is(err, metatrack.ErrNotFound) {
					t.Errorf("comparison of the first version: %v, want ErrNotFound", err)
				}
				continue
			}
			var cmp demo.Comparison
			readReport(t, func() (metatrack.Artifact, io.ReadCloser, error) { return tr.GetDataComparison(ctx, r.DatasetVersion) }, &cmp)
			if cmp.Reference != sum.Rounds[i-1].DatasetVersion.Ref() || cmp.Current != r.DatasetVersion.Ref() || len(cmp.Columns) != 8 {
				t.Errorf("comparison of %s: %s vs %s, %d columns", r.DatasetVersion.Ref(), cmp.Reference, cmp.Current, len(cmp.Columns))
			}
			// The generator moves ages up by two years a version.
			age := column(cmp, "age")
			if age.Numeric == nil || math.Abs(age.Numeric.MeanShift-2) > 1.5 {
				t.Errorf("age mean shift %+v", age.Numeric)
			}
			if _, rc, err := tr.GetArtifact(ctx, r.ModelVersion, "model_drift.json"); err != nil {
				t.Errorf("model drift report of %s: %v", r.ModelVersion.Ref(), err)
			} else {
				rc.Close()
			}
		}
	})

	t.Run("Counts", func(t *testing.T) {
		for typ, n := range sum.Created {
			all, err := tr.ListResources(ctx, typ)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != n {
				t.Errorf("%d %s resources, summary says %d", len(all), typ, n)
			}
		}
		if sum.Created[metatrack.TypeExperiment] != 18 || sum.Created[metatrack.TypePredictionJob] != 3 {
			t.Errorf("created %v", sum.Created)
		}
	})

	t.Run("Rerun", func(t *testing.T) {
		// A second run on the same database continues the chains.
		more, err := demo.Run(ctx, tr, work, io.Discard, demo.WithRounds(1))
		if err != nil {
			t.Fatal(err)
		}
		r := more.Rounds[0]
		if r.DatasetVersion.Version != 4 || r.ModelVersion.Version != 4 || r.DataDrift == "" {
			t.Errorf("rerun made %s and %s (drift %q)", r.DatasetVersion.Ref(), r.ModelVersion.Ref(), r.DataDrift)
		}
		if r.Baseline.ID != sum.Deployed.ID {
			t.Errorf("rerun compared with %s, want the deployed %s", r.Baseline.Ref(), sum.Deployed.Ref())
		}
		if more.Created[metatrack.TypeDataset] != 0 || more.Created[metatrack.TypeModel] != 0 {
			t.Errorf("rerun created heads: %v", more.Created)
		}
	})
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	if _, err := demo.Run(ctx, tr, "", nil); err == nil {
		t.Error("empty work directory: no error")
	}
	if _, err := demo.Run(ctx, tr, t.TempDir(), nil, demo.WithRows(10)); err == nil {
		t.Error("10 rows: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := demo.Run(cancelled, tr, t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func column(c demo.Comparison, name string) demo.ColumnDrift {
	for _, d := range c.Columns {
		if d.Name == name {
			return d
		}
	}
	return demo.ColumnDrift{}
}

// checkStored checks that vc info names a stored file with that SHA-256.
func checkStored(t *testing.T, info map[string]any) {
	t.Helper()
	uri, _ := info["uri"].(string)
	b, err := os.ReadFile(uri)
	if err != nil {
		t.Fatalf("vc info %v: %v", info, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != info["hexsha"] {
		t.Errorf("%s does not have SHA-256 %v", uri, info["hexsha"])
	}
}

func readRows(t *testing.T, tr *metatrack.Tracker, res metatrack.Resource, key string) []demo.Passenger {
	t.Helper()
	info, err := tr.GetVCInfo(context.Background(), res, key)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(info["uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := demo.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readLabels(t *testing.T, tr *metatrack.Tracker, res metatrack.Resource, key string) []int {
	t.Helper()
	info, err := tr.GetVCInfo(context.Background(), res, key)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(info["uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	y, err := demo.ReadLabels(f)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// readReport reads a report through get and decodes its JSON into v.
func readReport(t *testing.T, get func() (metatrack.Artifact, io.ReadCloser, error), v any) {
	t.Helper()
	a, rc, err := get()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		t.Fatalf("report %s: %v", a.Name, err)
	}
}
