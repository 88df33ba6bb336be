package demo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Names under which the demo records how its models are built; LoadModel is
// the loader for TrainerName.
const (
	TrainerName     = "logistic_regression"
	TransformerName = "standardize_onehot"
)

// TrainParams are the hyperparameters of one training trial.
type TrainParams struct {
	LearningRate float64 `json:"learning_rate"`
	L2           float64 `json:"l2"`
	Epochs       int     `json:"epochs"`
}

// Transformer turns passengers into feature vectors: numeric columns are
// imputed with the training mean and standardized (fare after log1p),
// categorical columns are one-hot encoded with the first level as the
// reference (no column), so that the features are not collinear with the
// intercept. An unknown or missing level encodes as the reference.
type Transformer struct {
	Numeric     []string            `json:"numeric"`
	Log1p       []string            `json:"log1p"`
	Means       map[string]float64  `json:"means"`
	Stds        map[string]float64  `json:"stds"`
	Categorical []string            `json:"categorical"`
	Categories  map[string][]string `json:"categories"`
}

// FitTransformer learns the means, standard deviations and levels of rows.
func FitTransformer(rows []Passenger) Transformer {
	tr := Transformer{
		Numeric:     []string{"age", "fare", "sibsp", "parch"},
		Log1p:       []string{"fare"},
		Means:       map[string]float64{},
		Stds:        map[string]float64{},
		Categorical: []string{"pclass", "sex", "embarked"},
		Categories:  map[string][]string{},
	}
	for _, name := range tr.Numeric {
		var vals []float64
		for _, p := range rows {
			if v := tr.raw(p, name); !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		s := summarize(vals)
		tr.Means[name] = s.Mean
		tr.Stds[name] = s.Std
	}
	for _, name := range tr.Categorical {
		seen := map[string]bool{}
		for _, p := range rows {
			if l := level(p, name); l != "" {
				seen[l] = true
			}
		}
		levels := make([]string, 0, len(seen))
		for l := range seen {
			levels = append(levels, l)
		}
		sort.Strings(levels)
		tr.Categories[name] = levels
	}
	return tr
}

// raw returns the numeric value of column name of p, log1p-transformed
// where configured; NaN when missing.
func (tr Transformer) raw(p Passenger, name string) float64 {
	var v float64
	switch name {
	case "age":
		v = p.Age
	case "fare":
		v = p.Fare
	case "sibsp":
		v = float64(p.SibSp)
	case "parch":
		v = float64(p.Parch)
	default:
		return math.NaN()
	}
	if slices.Contains(tr.Log1p, name) && !math.IsNaN(v) {
		v = math.Log1p(math.Max(v, 0))
	}
	return v
}

func level(p Passenger, name string) string {
	switch name {
	case "pclass":
		return strconv.Itoa(p.Pclass)
	case "sex":
		return p.Sex
	case "embarked":
		return p.Embarked
	}
	return ""
}

// Features returns the names of the encoded features, in order.
func (tr Transformer) Features() []string {
	names := append([]string(nil), tr.Numeric...)
	for _, c := range tr.Categorical {
		levels := tr.Categories[c]
		for _, l := range levels[min(1, len(levels)):] {
			names = append(names, c+"="+l)
		}
	}
	return names
}

// Transform encodes rows.
func (tr Transformer) Transform(rows []Passenger) [][]float64 {
	width := len(tr.Features())
	out := make([][]float64, len(rows))
	for i, p := range rows {
		x := make([]float64, 0, width)
		for _, name := range tr.Numeric {
			v := tr.raw(p, name)
			if math.IsNaN(v) {
				v = tr.Means[name]
			}
			sd := tr.Stds[name]
			if sd <= 0 {
				sd = 1
			}
			x = append(x, (v-tr.Means[name])/sd)
		}
		for _, c := range tr.Categorical {
			levels := tr.Categories[c]
			l := level(p, c)
			for _, want := range levels[min(1, len(levels)):] {
				x = append(x, b2f(l == want))
			}
		}
		out[i] = x
	}
	return out
}

// LogReg is a fitted binary logistic regression.
type LogReg struct {
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
}

// FitLogReg trains a logistic regression on X and labels y (0 or 1) by
// full-batch gradient descent on the mean log loss plus (L2/2)·|w|², the
// intercept unpenalized. It fails on empty or ragged input, labels other
// than 0 and 1, a non-positive learning rate or epoch count, and when the
// loss stops being finite (a learning rate far too large).
func FitLogReg(X [][]float64, y []int, p TrainParams) (*LogReg, error) {
	return fitLogReg(X, y, p, nil)
}

// Epoch is what one epoch of training measured, of the weights the epoch
// started from (after Epoch-1 updates): on the training rows the mean log
// loss with the L2 penalty (the objective) and the accuracy at threshold
// 0.5; on the validation rows, when there are any, the mean log loss and
// the accuracy.
type Epoch struct {
	Epoch                    int
	Loss, Accuracy           float64
	ValidLoss, ValidAccuracy float64
}

func fitLogReg(X [][]float64, y []int, p TrainParams, onEpoch func(Epoch, *LogReg) error) (*LogReg, error) {
	switch {
	case len(X) == 0 || len(X) != len(y):
		return nil, fmt.Errorf("logreg: %d rows and %d labels", len(X), len(y))
	case p.LearningRate <= 0 || p.Epochs <= 0 || p.L2 < 0:
		return nil, fmt.Errorf("logreg: bad parameters %+v", p)
	}
	d := len(X[0])
	for i, x := range X {
		if len(x) != d {
			return nil, fmt.Errorf("logreg: row %d has %d features, row 0 has %d", i, len(x), d)
		}
		if y[i] != 0 && y[i] != 1 {
			return nil, fmt.Errorf("logreg: label %d of row %d is not 0 or 1", y[i], i)
		}
	}
	m := &LogReg{Weights: make([]float64, d)}
	grad := make([]float64, d)
	n := float64(len(X))
	for epoch := range p.Epochs {
		clear(grad)
		var gb, loss float64
		correct := 0
		for i, x := range X {
			q := sigmoid(m.score(x))
			r := q - float64(y[i])
			for j, v := range x {
				grad[j] += r * v
			}
			gb += r
			if onEpoch != nil {
				loss += logLoss(q, y[i])
				if (q >= 0.5) == (y[i] == 1) {
					correct++
				}
			}
		}
		if onEpoch != nil {
			var w2 float64
			for _, w := range m.Weights {
				w2 += w * w
			}
			if err := onEpoch(Epoch{Epoch: epoch + 1, Loss: loss/n + p.L2/2*w2, Accuracy: float64(correct) / n}, m); err != nil {
				return nil, err
			}
		}
		for j := range m.Weights {
			m.Weights[j] -= p.LearningRate * (grad[j]/n + p.L2*m.Weights[j])
		}
		m.Bias -= p.LearningRate * gb / n
	}
	for _, w := range slices.Concat(m.Weights, []float64{m.Bias}) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, errors.New("logreg: training diverged (learning rate too large?)")
		}
	}
	return m, nil
}

func (m *LogReg) score(x []float64) float64 {
	z := m.Bias
	for j, v := range x {
		z += m.Weights[j] * v
	}
	return z
}

// Predict returns the probability of the positive class for each row.
func (m *LogReg) Predict(X [][]float64) []float64 {
	out := make([]float64, len(X))
	for i, x := range X {
		out[i] = sigmoid(m.score(x))
	}
	return out
}

// sigmoid is 1/(1+e^-z), computed without overflow for any z.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Model is a fitted transformer and logistic regression: what the train
// pipeline saves (as JSON) and LoadModel rebuilds.
type Model struct {
	Trainer     string      `json:"trainer"`
	Params      TrainParams `json:"params"`
	Transformer Transformer `json:"transformer"`
	Features    []string    `json:"features"`
	LogReg
}

// Train fits a transformer and a logistic regression on rows.
func Train(rows []Passenger, p TrainParams) (*Model, error) {
	return TrainCurve(rows, nil, p, nil)
}

// TrainCurve is Train that calls onEpoch with the loss and accuracy of
// every epoch on rows and on valid (the learning curves); an error from
// onEpoch stops the training and is returned.
func TrainCurve(rows, valid []Passenger, p TrainParams, onEpoch func(Epoch) error) (*Model, error) {
	tr := FitTransformer(rows)
	y := make([]int, len(rows))
	for i, r := range rows {
		y[i] = r.Survived
	}
	var each func(Epoch, *LogReg) error
	if onEpoch != nil {
		vX, vy := tr.Transform(valid), labels(valid)
		each = func(e Epoch, m *LogReg) error {
			if len(valid) > 0 {
				vm := Evaluate(m.Predict(vX), vy)
				e.ValidLoss, e.ValidAccuracy = vm.LogLoss, vm.Accuracy
			}
			return onEpoch(e)
		}
	}
	lr, err := fitLogReg(tr.Transform(rows), y, p, each)
	if err != nil {
		return nil, err
	}
	return &Model{Trainer: TrainerName, Params: p, Transformer: tr, Features: tr.Features(), LogReg: *lr}, nil
}

// PredictProba returns each passenger's probability of survival.
func (m *Model) PredictProba(rows []Passenger) []float64 {
	return m.Predict(m.Transformer.Transform(rows))
}

// validate checks that the model's parts fit together.
func (m *Model) validate() error {
	if m.Trainer != TrainerName {
		return fmt.Errorf("model trainer is %q, not %q", m.Trainer, TrainerName)
	}
	if f := m.Transformer.Features(); !slices.Equal(f, m.Features) || len(f) != len(m.Weights) {
		return fmt.Errorf("model has %d weights for features %v, its transformer makes %v", len(m.Weights), m.Features, f)
	}
	return nil
}

// Metrics are the scores of probabilities against labels.
type Metrics struct {
	Accuracy float64 `json:"accuracy"`
	LogLoss  float64 `json:"log_loss"`
	AUC      float64 `json:"auc"`
	// PositiveRate is the share of positive labels, MeanProba the mean
	// predicted probability.
	PositiveRate float64 `json:"positive_rate"`
	MeanProba    float64 `json:"mean_proba"`
	N            int     `json:"n"`
}

// Evaluate scores probabilities against labels (0 or 1) at threshold 0.5.
func Evaluate(proba []float64, y []int) Metrics {
	m := Metrics{N: len(y)}
	if len(y) == 0 {
		return m
	}
	var correct, pos int
	for i, p := range proba {
		pred := 0
		if p >= 0.5 {
			pred = 1
		}
		if pred == y[i] {
			correct++
		}
		if y[i] == 1 {
			pos++
		}
		m.LogLoss += logLoss(p, y[i])
		m.MeanProba += p
	}
	n := float64(len(y))
	m.Accuracy = float64(correct) / n
	m.LogLoss /= n
	m.MeanProba /= n
	m.PositiveRate = float64(pos) / n
	m.AUC = AUC(proba, y)
	return m
}

// AUC returns the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting one half
// (Mann-Whitney U from mid-ranks). It is NaN without both classes.
func AUC(score []float64, y []int) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSum float64
	var pos, neg int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += mid
			}
		}
		i = j
	}
	for _, v := range y {
		if v == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}

// ROCPoint is one point of a ROC curve.
type ROCPoint struct {
	Threshold float64 `json:"threshold"`
	FPR       float64 `json:"fpr"`
	TPR       float64 `json:"tpr"`
}

// ROC returns the ROC curve from (0,0) to (1,1), one point per distinct
// score.
func ROC(score []float64, y []int) []ROCPoint {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	var pos, neg float64
	for _, v := range y {
		if v == 1 {
			pos++
		} else {
			neg++
		}
	}
	pts := []ROCPoint{{Threshold: math.Inf(1)}}
	var tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			if y[idx[j]] == 1 {
				tp++
			} else {
				fp++
			}
			j++
		}
		pts = append(pts, ROCPoint{Threshold: score[idx[i]], FPR: ratio(fp, neg), TPR: ratio(tp, pos)})
		i = j
	}
	return pts
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func labels(rows []Passenger) []int {
	y := make([]int, len(rows))
	for i, p := range rows {
		y[i] = p.Survived
	}
	return y
}

// logLoss is the log loss of probability p for label y, p clipped to
// [1e-15, 1-1e-15] so that it stays finite.
func logLoss(p float64, y int) float64 {
	const eps = 1e-15
	q := math.Min(math.Max(p, eps), 1-eps)
	if y == 1 {
		return -math.Log(q)
	}
	return -math.Log1p(-q)
}
