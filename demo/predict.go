package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/metatrack/metatrack"
)

// predict is the predict pipeline: an incoming batch is compared with the
// deployed model's training split, scored in a prediction job, compared
// with the latest dataset version and checked; then the latest prediction
// job of the model is found again and evaluated against the ground truth.
func (e *env) predict(ctx context.Context, r *Round, p processed) error {
	t := e.t
	model := metatrack.Resource{Type: metatrack.TypeModel, Name: ModelName}
	mv, err := t.GetCurrentlyDeployedModelVersion(ctx, model)
	if err != nil {
		return err
	}
	r.PredictedWith = mv
	dir, err := e.mkdir("predictions", fmt.Sprintf("batch_v%d", p.dv.Version))
	if err != nil {
		return err
	}
	// The batch comes from the same world as the newest dataset version;
	// its labels (the ground truth) arrive later.
	batch := generate(e.cfg.incoming, e.cfg.seed, streamIncoming, p.dv.Version)
	inputPath := filepath.Join(dir, "input.csv")
	if err := writeCSVFile(inputPath, batch, false); err != nil {
		return err
	}
	e.logf("%s: predict %d rows", mv.Ref(), len(batch))

	// 1. Compare the batch with the training split of the model.
	xInfo, err := t.GetVCInfo(ctx, mv, "X_train_hexsha")
	if err != nil {
		return err
	}
	trainRows, err := e.readRows(xInfo)
	if err != nil {
		return fmt.Errorf("X_train of %s: %w", mv.Ref(), err)
	}
	yInfo, err := t.GetVCInfo(ctx, mv, "y_train_hexsha")
	if err != nil {
		return err
	}
	yTrain, err := e.readLabels(yInfo)
	if err != nil {
		return fmt.Errorf("y_train of %s: %w", mv.Ref(), err)
	}
	vsTrain := Compare("X_train of "+mv.Ref(), FrameOf(trainRows, false), "incoming batch", FrameOf(batch, false))

	// 2. Score the batch with the model rebuilt from the tracker, in a
	// prediction job; version the input and the predictions.
	obj, err := t.LoadModel(ctx, mv)
	if err != nil {
		return err
	}
	m, ok := obj.(*Model)
	if !ok {
		return fmt.Errorf("the loader of %s returned a %T, not a *demo.Model", mv.Ref(), obj)
	}
	proba := m.PredictProba(batch)
	job, err := e.create(ctx, metatrack.TypePredictionJob, fmt.Sprintf("batch-%s-v%d", DatasetName, p.dv.Version),
		metatrack.WithParent(mv.ID), metatrack.WithAttr("prediction_count", len(proba)),
		metatrack.WithStatus(metatrack.StatusRunning), metatrack.WithStartedAt(time.Now()))
	if err != nil {
		return err
	}
	r.PredictionJob = job
	predPath := filepath.Join(dir, "predictions.csv")
	if err := writePredictionsFile(predPath, proba); err != nil {
		return err
	}
	if _, err := e.put(ctx, job, inputPath, metatrack.WithVCKey("X_input")); err != nil {
		return err
	}
	positive := 0
	for _, q := range proba {
		if q >= 0.5 {
			positive++
		}
	}
	if _, err := e.put(ctx, job, predPath, metatrack.WithAdditionalMetadata(map[string]any{
		"predicted_positive_rate": ratio(float64(positive), float64(len(proba))),
		"threshold":               0.5,
	})); err != nil {
		return err
	}
	if err := e.report(ctx, job, dir, "vs_train.json", vsTrain); err != nil {
		return err
	}

	// 3. Compare with the latest dataset version, and check.
	latest, err := t.GetResource(ctx, DatasetName, metatrack.TypeDatasetVersion)
	if err != nil {
		return err
	}
	dInfo, err := t.GetVCInfo(ctx, latest, "hexsha")
	if err != nil {
		return err
	}
	dsRows, err := e.readRows(dInfo)
	if err != nil {
		return fmt.Errorf("data of %s: %w", latest.Ref(), err)
	}
	vsData := Compare(latest.Ref(), FrameOf(dsRows, false), "incoming batch", FrameOf(batch, false))
	if err := e.report(ctx, job, dir, "vs_dataset.json", vsData); err != nil {
		return err
	}
	var trainPos float64
	for _, y := range yTrain {
		trainPos += float64(y)
	}
	checks := PredictionChecks(job.Ref(), len(batch), proba, ratio(trainPos, float64(len(yTrain))), vsTrain)
	checksPath := filepath.Join(dir, "prediction_checks.json")
	if err := writeJSON(checksPath, checks); err != nil {
		return err
	}
	if err := e.logged(t.LogChecks(ctx, job, checksPath, "prediction")); err != nil {
		return err
	}
	r.PredictionChecks = checks.Status
	if err := t.CleanResource(ctx, job, metatrack.TypePredictionJob); err != nil {
		return err
	}
	e.logf("  %s: %d predictions, input drift %s (max PSI %.3f), checks %s", job.Name, len(proba), vsTrain.Drift, vsTrain.MaxPSI, checks.Status)

	// 4. Later, when the ground truth is in: find the latest job of the
	// model, go back to its model version and winning experiment, rebuild
	// the model and evaluate the job's predictions.
	truthPath := filepath.Join(dir, "ground_truth.csv")
	if err := writeLabelsFile(truthPath, labels(batch)); err != nil {
		return err
	}
	ev, err := e.evaluateLatestJob(ctx, model, truthPath)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	r.Evaluation = ev
	return nil
}

// report writes a data comparison to dir/name and logs it on res as
// data_comparison/name.
func (e *env) report(ctx context.Context, res metatrack.Resource, dir, name string, cmp Comparison) error {
	p := filepath.Join(dir, name)
	if err := writeJSON(p, cmp); err != nil {
		return err
	}
	return e.logged(e.t.LogDataComparison(ctx, res, p, metatrack.WithArtifactName("data_comparison/"+name)))
}

func (e *env) evaluateLatestJob(ctx context.Context, model metatrack.Resource, truthPath string) (Metrics, error) {
	t := e.t
	job, err := t.GetLatestModelResource(ctx, model, metatrack.TypePredictionJob)
	if err != nil {
		return Metrics{}, err
	}
	mv, err := t.GetPredictionJobModelVersion(ctx, job)
	if err != nil {
		return Metrics{}, err
	}
	exp, err := t.GetWinningExperiment(ctx, mv)
	if err != nil {
		return Metrics{}, err
	}
	obj, err := t.LoadModel(ctx, mv)
	if err != nil {
		return Metrics{}, err
	}
	m, ok := obj.(*Model)
	if !ok {
		return Metrics{}, fmt.Errorf("the loader of %s returned a %T, not a *demo.Model", mv.Ref(), obj)
	}
	truthInfo, err := e.put(ctx, job, truthPath, metatrack.WithVCKey("y_true"))
	if err != nil {
		return Metrics{}, err
	}
	y, err := e.readLabels(truthInfo)
	if err != nil {
		return Metrics{}, err
	}
	inInfo, err := t.GetVCInfo(ctx, job, "X_input_hexsha")
	if err != nil {
		return Metrics{}, err
	}
	input, err := e.readRows(inInfo)
	if err != nil {
		return Metrics{}, err
	}
	predInfo, err := t.GetVCInfo(ctx, job, "hexsha")
	if err != nil {
		return Metrics{}, err
	}
	b, err := e.vc.Open(predInfo)
	if err != nil {
		return Metrics{}, err
	}
	stored, err := ReadPredictions(bytes.NewReader(b))
	if err != nil {
		return Metrics{}, err
	}
	if len(stored) != len(y) || len(input) != len(y) {
		return Metrics{}, fmt.Errorf("%s has %d predictions, %d inputs and %d labels", job.Ref(), len(stored), len(input), len(y))
	}
	// The rebuilt model must reproduce the stored predictions.
	var worst float64
	for i, q := range m.PredictProba(input) {
		worst = math.Max(worst, math.Abs(q-stored[i]))
	}
	ev := Evaluate(stored, y)
	err = t.LogMetadata(ctx, job, "evaluation", map[string]any{
		"accuracy": ev.Accuracy, "auc": ev.AUC, "log_loss": ev.LogLoss, "n": ev.N,
		"positive_rate": ev.PositiveRate, "mean_proba": ev.MeanProba,
		"model_version": mv.ID, "winning_experiment": exp.ID, "max_reproduction_error": worst,
	})
	e.logf("  evaluated %s of %s (%s): accuracy %.3f auc %.4f", job.Name, mv.Ref(), exp.Name, ev.Accuracy, ev.AUC)
	return ev, err
}

// PredictionChecks checks a prediction job: one valid probability per
// input row, a predicted positive rate near the training one, and input
// data close to the training split.
func PredictionChecks(subject string, rows int, proba []float64, trainPositiveRate float64, vsTrain Comparison) *CheckReport {
	r := newCheckReport("prediction", subject)
	r.atMost("count_mismatch", math.Abs(float64(len(proba)-rows)), 0, 0, fmt.Sprintf("%d predictions for %d rows", len(proba), rows))
	invalid, positive := 0.0, 0.0
	for _, q := range proba {
		if math.IsNaN(q) || q < 0 || q > 1 {
			invalid++
		}
		if q >= 0.5 {
			positive++
		}
	}
	r.atMost("invalid_probabilities", invalid, 0, 0, "probabilities that are NaN or outside [0, 1]")
	rate := ratio(positive, float64(len(proba)))
	r.atMost("positive_rate_gap", math.Abs(rate-trainPositiveRate), 0.10, 0.20,
		fmt.Sprintf("predicted positive rate %.3f, training survival rate %.3f", rate, trainPositiveRate))
	r.atMost("input_drift_max_psi", vsTrain.MaxPSI, psiModerate, psiSignificant, fmt.Sprintf("drifted columns: %v", vsTrain.Drifted))
	return r
}

func writePredictionsFile(path string, proba []float64) error {
	var b bytes.Buffer
	b.WriteString("row,probability,label\n")
	for i, q := range proba {
		label := 0
		if q >= 0.5 {
			label = 1
		}
		// 'g' with -1 digits round-trips exactly.
		fmt.Fprintf(&b, "%d,%s,%d\n", i, strconv.FormatFloat(q, 'g', -1, 64), label)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ReadPredictions reads the probabilities of a predictions file.
func ReadPredictions(r io.Reader) ([]float64, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || len(recs[0]) < 2 || recs[0][1] != "probability" {
		return nil, fmt.Errorf("predictions file: no probability column")
	}
	out := make([]float64, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		q, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return nil, fmt.Errorf("predictions line %d: %w", i+2, err)
		}
		out = append(out, q)
	}
	return out, nil
}

// readRows reads a passengers CSV from the version-control store.
func (e *env) readRows(info map[string]any) ([]Passenger, error) {
	b, err := e.vc.Open(info)
	if err != nil {
		return nil, err
	}
	return ReadCSV(bytes.NewReader(b))
}

// readLabels reads a labels file from the version-control store.
func (e *env) readLabels(info map[string]any) ([]int, error) {
	b, err := e.vc.Open(info)
	if err != nil {
		return nil, err
	}
	return ReadLabels(bytes.NewReader(b))
}
