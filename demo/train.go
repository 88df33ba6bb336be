package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/metatrack/metatrack"
)

// Splits of the train pipeline and their shares of the dataset.
var splits = []struct {
	name  string
	share float64
}{{"train", 0.6}, {"valid", 0.2}, {"test", 0.2}}

// trained is what the train pipeline hands on.
type trained struct {
	mv          metatrack.Resource
	model       *Model
	test        []Passenger
	testMetrics Metrics
	baseline    metatrack.Resource // zero when there is none
	baseMetrics Metrics
}

// split shuffles rows deterministically and cuts them into train, valid
// and test.
func split(rows []Passenger, seed uint64, version int) map[string][]Passenger {
	r := rand.New(rand.NewPCG(seed, streamSplit<<32|uint64(version)))
	idx := r.Perm(len(rows))
	out := map[string][]Passenger{}
	start := 0
	for i, s := range splits {
		end := start + int(math.Round(s.share*float64(len(rows))))
		if i == len(splits)-1 {
			end = len(rows)
		}
		for _, j := range idx[start:end] {
			out[s.name] = append(out[s.name], rows[j])
		}
		start = end
	}
	return out
}

// train is the train pipeline: a new model version, its lineage and
// splits, one experiment per trial, the winner, model checks and a
// comparison with the deployed model.
func (e *env) train(ctx context.Context, r *Round, p processed) (trained, error) {
	t := e.t
	mv, err := e.create(ctx, metatrack.TypeModelVersion, ModelName)
	if err != nil {
		return trained{}, err
	}
	r.ModelVersion = mv
	e.logf("%s: train on %s", mv.Ref(), p.dv.Ref())
	if err := t.BuildModelLineage(ctx, mv, []metatrack.Resource{p.dv}); err != nil {
		return trained{}, err
	}
	dir, err := e.mkdir("models", fmt.Sprintf("%s_v%d", ModelName, mv.Version))
	if err != nil {
		return trained{}, err
	}

	// The splits, versioned and registered under X_<split> and y_<split>.
	parts := split(p.rows, e.cfg.seed, mv.Version)
	for _, s := range splits {
		xPath := filepath.Join(dir, "X_"+s.name+".csv")
		if err := writeCSVFile(xPath, parts[s.name], false); err != nil {
			return trained{}, err
		}
		if _, err := e.put(ctx, mv, xPath, metatrack.WithVCKey("X_"+s.name)); err != nil {
			return trained{}, err
		}
		yPath := filepath.Join(dir, "y_"+s.name+".csv")
		if err := writeLabelsFile(yPath, labels(parts[s.name])); err != nil {
			return trained{}, err
		}
		if _, err := e.put(ctx, mv, yPath, metatrack.WithVCKey("y_"+s.name)); err != nil {
			return trained{}, err
		}
	}
	train, valid, test := parts["train"], parts["valid"], parts["test"]

	// One experiment per trial.
	type result struct {
		exp   metatrack.Resource
		model *Model
		valid Metrics
		roc   []ROCPoint
	}
	var results []result
	for i, params := range e.cfg.trials {
		if err := ctx.Err(); err != nil {
			return trained{}, err
		}
		exp, model, vm, roc, err := e.experiment(ctx, mv, dir, i+1, params, train, valid)
		if err != nil {
			return trained{}, fmt.Errorf("trial %d: %w", i+1, err)
		}
		results = append(results, result{exp, model, vm, roc})
		e.logf("  %s lr=%g l2=%g: valid auc %.4f accuracy %.3f log loss %.4f", exp.Name,
			params.LearningRate, params.L2, vm.AUC, vm.Accuracy, vm.LogLoss)
	}
	r.Experiments = len(results)
	best := 0
	for i, res := range results {
		b := results[best].valid
		if res.valid.AUC > b.AUC || (res.valid.AUC == b.AUC && res.valid.LogLoss < b.LogLoss) {
			best = i
		}
	}
	win := results[best]
	r.Winner, r.WinnerParams, r.Valid = win.exp, win.model.Params, win.valid

	// The winner, as the seed's pipelines record it.
	testProba := win.model.PredictProba(test)
	tm := Evaluate(testProba, labels(test))
	r.Test = tm
	for _, kv := range []struct {
		key   string
		value any
	}{
		{metatrack.MetadataWinningExperimentID, win.exp.ID},
		{metatrack.MetadataWinningModelTrainer, TrainerName},
		{"winning_experiment_feature_transformer", TransformerName},
		{"winning_experiment_feature_transformer_config", win.model.Transformer},
		{"valid_auc", win.valid.AUC},
		{"test_auc", tm.AUC},
		{"test_accuracy", tm.Accuracy},
		{"test_log_loss", tm.LogLoss},
	} {
		if err := t.LogMetadata(ctx, mv, kv.key, kv.value); err != nil {
			return trained{}, err
		}
	}
	e.logf("  winner %s: test auc %.4f accuracy %.3f", win.exp.Name, tm.AUC, tm.Accuracy)
	var board bytes.Buffer
	board.WriteString("experiment,learning_rate,l2,epochs,valid_auc,valid_accuracy,valid_log_loss,winner\n")
	names := make([]string, len(results))
	curves := map[string][]ROCPoint{}
	for i, res := range results {
		fmt.Fprintf(&board, "%s,%g,%g,%d,%.6f,%.6f,%.6f,%t\n", res.exp.Name, res.model.Params.LearningRate,
			res.model.Params.L2, res.model.Params.Epochs, res.valid.AUC, res.valid.Accuracy, res.valid.LogLoss, i == best)
		names[i] = fmt.Sprintf("%s (auc %.3f)", res.exp.Name, res.valid.AUC)
		curves[names[i]] = res.roc
	}
	if err := e.artifact(ctx, mv, dir, "trials.csv", board.Bytes()); err != nil {
		return trained{}, err
	}
	if err := e.artifact(ctx, mv, dir, "roc_trials.svg",
		rocSVG(mv.Ref()+": validation ROC of each trial", names, curves)); err != nil {
		return trained{}, err
	}

	// Compare with the deployed model, rebuilt from its winning experiment.
	out := trained{mv: mv, model: win.model, test: test, testMetrics: tm}
	var drift *ModelDrift
	base, err := t.GetCurrentlyDeployedModelVersion(ctx, mv)
	switch {
	case errors.Is(err, metatrack.ErrNotFound):
		e.logf("  no deployed model to compare with")
	case err != nil:
		return trained{}, err
	default:
		baseExp, err := t.GetWinningExperiment(ctx, base)
		if err != nil {
			return trained{}, err
		}
		obj, err := t.LoadModel(ctx, base, metatrack.WithReferenceModel(win.model))
		if err != nil {
			return trained{}, fmt.Errorf("load deployed model %s: %w", base.Ref(), err)
		}
		baseModel, ok := obj.(*Model)
		if !ok {
			return trained{}, fmt.Errorf("the loader of %s returned a %T, not a *demo.Model", base.Ref(), obj)
		}
		baseProba := baseModel.PredictProba(test)
		out.baseline, out.baseMetrics = base, Evaluate(baseProba, labels(test))
		r.Baseline, r.BaselineTest = base, out.baseMetrics
		d := compareModels(win.model, testProba, baseModel, baseProba, labels(test))
		d.Current, d.CurrentExperiment = mv.Ref(), win.exp.ID
		d.Baseline, d.BaselineStatus, d.BaselineExperiment = base.Ref(), base.Status, baseExp.ID
		d.EvaluatedOn = "X_test of " + mv.Ref()
		drift = &d
		if err := writeAndLog(e, ctx, mv, dir, "model_drift.json", d); err != nil {
			return trained{}, err
		}
		if err := e.artifact(ctx, mv, dir, "roc_test_vs_deployed.svg", rocSVG(mv.Ref()+" vs "+base.Ref()+" on the test split",
			[]string{mv.Ref(), base.Ref()}, map[string][]ROCPoint{
				mv.Ref(): ROC(testProba, labels(test)), base.Ref(): ROC(baseProba, labels(test))})); err != nil {
			return trained{}, err
		}
		e.logf("  vs deployed %s: test auc %.4f -> %.4f, agreement %.3f", base.Ref(), out.baseMetrics.AUC, tm.AUC, d.Agreement)
	}

	// Model checks.
	trainMetrics := Evaluate(win.model.PredictProba(train), labels(train))
	checks := ModelChecks(mv.Ref(), win.model, trainMetrics, tm, drift)
	checksPath := filepath.Join(dir, "model_checks.json")
	if err := writeJSON(checksPath, checks); err != nil {
		return trained{}, err
	}
	if err := e.logged(t.LogChecks(ctx, mv, checksPath, "model")); err != nil {
		return trained{}, err
	}
	r.ModelChecks = checks.Status
	return out, nil
}

// experiment runs one trial as an experiment of mv.
func (e *env) experiment(ctx context.Context, mv metatrack.Resource, dir string, n int, params TrainParams,
	train, valid []Passenger) (metatrack.Resource, *Model, Metrics, []ROCPoint, error) {
	t := e.t
	fail := func(err error) (metatrack.Resource, *Model, Metrics, []ROCPoint, error) {
		return metatrack.Resource{}, nil, Metrics{}, nil, err
	}
	exp, err := e.create(ctx, metatrack.TypeExperiment, fmt.Sprintf("trial-%d", n),
		metatrack.WithParent(mv.ID), metatrack.WithStatus(metatrack.StatusRunning),
		metatrack.WithAttrs(map[string]any{"learning_rate": params.LearningRate, "l2": params.L2, "epochs": params.Epochs}))
	if err != nil {
		return fail(err)
	}
	if exp, err = t.UpdateResource(ctx, exp, metatrack.Updates{"started_at": time.Now()}); err != nil {
		return fail(err)
	}
	// The learning curves: loss and accuracy of every epoch, on the
	// training and the validation rows, logged as metric series.
	curves := map[string][]metatrack.MetricPoint{}
	model, err := TrainCurve(train, valid, params, func(ep Epoch) error {
		now := time.Now()
		for _, c := range []struct {
			key   string
			value float64
		}{{"loss", ep.Loss}, {"accuracy", ep.Accuracy}, {"valid_loss", ep.ValidLoss}, {"valid_accuracy", ep.ValidAccuracy}} {
			curves[c.key] = append(curves[c.key], metatrack.MetricPoint{Step: int64(ep.Epoch), Value: c.value, Time: now})
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	proba := model.PredictProba(valid)
	vm := Evaluate(proba, labels(valid))
	tm := Evaluate(model.PredictProba(train), labels(train))
	roc := ROC(proba, labels(valid))
	ended := time.Now()

	expDir, err := e.mkdir("models", filepath.Base(dir), exp.Name)
	if err != nil {
		return fail(err)
	}
	modelJSON, err := json.MarshalIndent(model, "", "  ")
	if err != nil {
		return fail(err)
	}
	modelPath := filepath.Join(expDir, "model.json")
	if err := os.WriteFile(modelPath, modelJSON, 0o644); err != nil {
		return fail(err)
	}
	if _, err := e.put(ctx, exp, modelPath, metatrack.WithAdditionalMetadata(map[string]any{
		metatrack.MetadataTrainingParams:           params,
		metatrack.MetadataModelTrainer:             TrainerName,
		metatrack.MetadataFeatureTransformer:       TransformerName,
		metatrack.MetadataFeatureTransformerConfig: model.Transformer,
	})); err != nil {
		return fail(err)
	}
	metrics, err := json.MarshalIndent(map[string]Metrics{"train": tm, "valid": vm}, "", "  ")
	if err != nil {
		return fail(err)
	}
	// The metrics and files of one experiment are committed together.
	err = t.Batch(ctx, func(tx *metatrack.Tracker) error {
		for _, key := range []string{"loss", "accuracy", "valid_loss", "valid_accuracy"} {
			if err := tx.LogMetrics(ctx, exp, key, curves[key]); err != nil {
				return err
			}
		}
		for _, kv := range []struct {
			key   string
			value float64
		}{{"accuracy", vm.Accuracy}, {"log_loss", vm.LogLoss}, {"auc", vm.AUC}, {"train_auc", tm.AUC}} {
			if err := tx.LogMetadata(ctx, exp, kv.key, kv.value); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			name string
			data []byte
		}{
			{"metrics.json", append(metrics, '\n')},
			{"roc_valid.csv", rocCSV(roc)},
			{"roc_valid.svg", rocSVG(fmt.Sprintf("%s %s: validation ROC (auc %.3f)", mv.Ref(), exp.Name, vm.AUC),
				[]string{exp.Name}, map[string][]ROCPoint{exp.Name: roc})},
		} {
			p := filepath.Join(expDir, f.name)
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				return err
			}
			if err := e.logged(tx.LogArtifact(ctx, exp, f.name, p)); err != nil {
				return err
			}
		}
		if err := e.logged(tx.LogArtifact(ctx, exp, "model.json", modelPath)); err != nil {
			return err
		}
		if _, err := tx.UpdateResource(ctx, exp, metatrack.Updates{"ended_at": ended}); err != nil {
			return err
		}
		return tx.CleanResource(ctx, exp, metatrack.TypeExperiment)
	})
	if err != nil {
		return fail(err)
	}
	return exp, model, vm, roc, nil
}

func writeAndLog(e *env, ctx context.Context, res metatrack.Resource, dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return e.artifact(ctx, res, dir, name, append(b, '\n'))
}

// WeightChange compares one coefficient of two models.
type WeightChange struct {
	Feature  string  `json:"feature"`
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	Delta    float64 `json:"delta"`
}

// ModelDrift is the model drift report: a new model against the deployed
// one on the same data.
type ModelDrift struct {
	Current            string  `json:"current"`
	CurrentExperiment  string  `json:"current_experiment"`
	Baseline           string  `json:"baseline"`
	BaselineStatus     string  `json:"baseline_status"`
	BaselineExperiment string  `json:"baseline_experiment"`
	EvaluatedOn        string  `json:"evaluated_on"`
	CurrentMetrics     Metrics `json:"current_metrics"`
	BaselineMetrics    Metrics `json:"baseline_metrics"`
	AUCDelta           float64 `json:"auc_delta"`
	// Agreement is the share of rows both models label alike (at 0.5);
	// MeanAbsProbaDiff the mean gap between their probabilities.
	Agreement        float64        `json:"agreement"`
	MeanAbsProbaDiff float64        `json:"mean_abs_proba_diff"`
	Weights          []WeightChange `json:"weights"`
	BiasDelta        float64        `json:"bias_delta"`
}

func compareModels(cur *Model, curProba []float64, base *Model, baseProba []float64, y []int) ModelDrift {
	d := ModelDrift{CurrentMetrics: Evaluate(curProba, y), BaselineMetrics: Evaluate(baseProba, y)}
	d.AUCDelta = d.CurrentMetrics.AUC - d.BaselineMetrics.AUC
	var agree float64
	for i := range curProba {
		if (curProba[i] >= 0.5) == (baseProba[i] >= 0.5) {
			agree++
		}
		d.MeanAbsProbaDiff += math.Abs(curProba[i] - baseProba[i])
	}
	d.Agreement = ratio(agree, float64(len(curProba)))
	d.MeanAbsProbaDiff = ratio(d.MeanAbsProbaDiff, float64(len(curProba)))
	bw := map[string]float64{}
	for i, f := range base.Features {
		bw[f] = base.Weights[i]
	}
	seen := map[string]bool{}
	for i, f := range cur.Features {
		seen[f] = true
		d.Weights = append(d.Weights, WeightChange{Feature: f, Baseline: bw[f], Current: cur.Weights[i], Delta: cur.Weights[i] - bw[f]})
	}
	for _, f := range base.Features {
		if !seen[f] {
			d.Weights = append(d.Weights, WeightChange{Feature: f, Baseline: bw[f], Delta: -bw[f]})
		}
	}
	d.BiasDelta = cur.Bias - base.Bias
	return d
}

// ModelChecks checks a trained model: discrimination, lift over the
// majority class, calibration, overfitting, finite weights and, when a
// deployed model was compared, no loss against it.
func ModelChecks(subject string, m *Model, train, test Metrics, drift *ModelDrift) *CheckReport {
	r := newCheckReport("model", subject)
	r.atLeast("test_auc", test.AUC, 0.75, 0.65, "ranking quality on the test split")
	majority := math.Max(test.PositiveRate, 1-test.PositiveRate)
	r.atLeast("accuracy_lift", test.Accuracy-majority, 0.02, 0, fmt.Sprintf("accuracy over always predicting the majority class (%.3f)", majority))
	r.atMost("calibration_gap", math.Abs(test.MeanProba-test.PositiveRate), 0.05, 0.10, "mean predicted probability against the survival rate")
	r.atMost("overfit_auc_gap", train.AUC-test.AUC, 0.05, 0.10, "train AUC minus test AUC")
	nonFinite := 0.0
	for _, w := range append([]float64{m.Bias}, m.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			nonFinite++
		}
	}
	r.atMost("non_finite_weights", nonFinite, 0, 0, "weights that are NaN or infinite")
	if drift != nil {
		r.atLeast("auc_vs_deployed", drift.AUCDelta, 0, -0.02, "test AUC minus the deployed model's ("+drift.Baseline+")")
	}
	return r
}

func writeLabelsFile(path string, y []int) error {
	var b bytes.Buffer
	b.WriteString(labelColumn + "\n")
	for _, v := range y {
		b.WriteString(strconv.Itoa(v))
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ReadLabels reads a labels file (a survived column) of the train pipeline.
func ReadLabels(r io.Reader) ([]int, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || len(recs[0]) != 1 || recs[0][0] != labelColumn {
		return nil, fmt.Errorf("labels file: want a single %q column", labelColumn)
	}
	y := make([]int, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		v, err := strconv.Atoi(rec[0])
		if err != nil {
			return nil, fmt.Errorf("labels line %d: %w", i+2, err)
		}
		y = append(y, v)
	}
	return y, nil
}
