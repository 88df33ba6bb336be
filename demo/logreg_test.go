package demo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFitLogRegSeparable(t *testing.T) {
	// Two well separated clouds: x1 + x2 > 0 is the positive class.
	r := rand.New(rand.NewPCG(1, 2))
	var X [][]float64
	var y []int
	for range 200 {
		a, b := r.NormFloat64(), r.NormFloat64()
		if math.Abs(a+b) < 0.3 {
			continue // a margin, so the problem is separable
		}
		X = append(X, []float64{a, b})
		y = append(y, int(b2f(a+b > 0)))
	}
	m, err := FitLogReg(X, y, TrainParams{LearningRate: 0.5, Epochs: 500})
	if err != nil {
		t.Fatal(err)
	}
	got := Evaluate(m.Predict(X), y)
	if got.Accuracy != 1 || got.AUC != 1 {
		t.Errorf("accuracy %v AUC %v, want 1 and 1", got.Accuracy, got.AUC)
	}
	// The boundary is x1 + x2 = 0: equal positive weights, bias near 0.
	if m.Weights[0] <= 0 || math.Abs(m.Weights[0]-m.Weights[1]) > 0.25*m.Weights[0] || math.Abs(m.Bias) > 0.25*m.Weights[0] {
		t.Errorf("weights %v bias %v: not the boundary x1 + x2 = 0", m.Weights, m.Bias)
	}
	if got.LogLoss > 0.2 {
		t.Errorf("log loss %v", got.LogLoss)
	}
}

func TestFitLogRegInterceptOnly(t *testing.T) {
	// With no information in x, the model learns the base rate: the bias
	// converges to logit(0.3).
	X := make([][]float64, 100)
	y := make([]int, 100)
	for i := range X {
		X[i] = []float64{0}
		if i < 30 {
			y[i] = 1
		}
	}
	m, err := FitLogReg(X, y, TrainParams{LearningRate: 1, Epochs: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(0.3 / 0.7); math.Abs(m.Bias-want) > 1e-6 {
		t.Errorf("bias %v, want %v", m.Bias, want)
	}
}

func TestFitLogRegL2Shrinks(t *testing.T) {
	X := [][]float64{{-2}, {-1}, {-0.5}, {0.5}, {1}, {2}, {0.2}, {-0.2}}
	y := []int{0, 0, 1, 0, 1, 1, 0, 1}
	free, err := FitLogReg(X, y, TrainParams{LearningRate: 0.5, Epochs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	shrunk, err := FitLogReg(X, y, TrainParams{LearningRate: 0.5, L2: 1, Epochs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !(math.Abs(shrunk.Weights[0]) < math.Abs(free.Weights[0])) {
		t.Errorf("L2 did not shrink: %v vs %v", shrunk.Weights, free.Weights)
	}
}

func TestFitLogRegErrors(t *testing.T) {
	ok := TrainParams{LearningRate: 0.1, Epochs: 10}
	for name, tc := range map[string]struct {
		X [][]float64
		y []int
		p TrainParams
	}{
		"Empty":          {nil, nil, ok},
		"LengthMismatch": {[][]float64{{1}}, []int{0, 1}, ok},
		"Ragged":         {[][]float64{{1}, {1, 2}}, []int{0, 1}, ok},
		"BadLabel":       {[][]float64{{1}, {2}}, []int{0, 2}, ok},
		"ZeroRate":       {[][]float64{{1}}, []int{1}, TrainParams{Epochs: 10}},
		"NoEpochs":       {[][]float64{{1}}, []int{1}, TrainParams{LearningRate: 0.1}},
		"Diverges":       {[][]float64{{1e200}, {-1e200}}, []int{1, 0}, TrainParams{LearningRate: 1e200, Epochs: 50}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FitLogReg(tc.X, tc.y, tc.p); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestSigmoidExtremes(t *testing.T) {
	for _, z := range []float64{-1000, -40, 0, 40, 1000} {
		s := sigmoid(z)
		if math.IsNaN(s) || s < 0 || s > 1 {
			t.Errorf("sigmoid(%v) = %v", z, s)
		}
	}
	if sigmoid(0) != 0.5 {
		t.Errorf("sigmoid(0) = %v", sigmoid(0))
	}
}

func TestAUC(t *testing.T) {
	for name, tc := range map[string]struct {
		score []float64
		y     []int
		want  float64
	}{
		"Perfect":  {[]float64{0.1, 0.2, 0.8, 0.9}, []int{0, 0, 1, 1}, 1},
		"Reversed": {[]float64{0.9, 0.8, 0.2, 0.1}, []int{0, 0, 1, 1}, 0},
		"AllTied":  {[]float64{0.5, 0.5, 0.5, 0.5}, []int{0, 1, 0, 1}, 0.5},
		// Pairs (pos, neg): (0.4 vs 0.1 win, 0.4 vs 0.4 tie, 0.4 vs 0.6 loss,
		// 0.7 beats all three) = (1 + 0.5 + 0 + 3) / 6.
		"Mixed": {[]float64{0.1, 0.4, 0.6, 0.4, 0.7}, []int{0, 0, 0, 1, 1}, 4.5 / 6},
	} {
		t.Run(name, func(t *testing.T) {
			if got := AUC(tc.score, tc.y); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
	if !math.IsNaN(AUC([]float64{0.1, 0.2}, []int{1, 1})) {
		t.Error("AUC of one class is not NaN")
	}
}

func TestEvaluate(t *testing.T) {
	got := Evaluate([]float64{0.9, 0.2, 0.6, 0.4}, []int{1, 0, 0, 1})
	wantLoss := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.4) + math.Log(0.4)) / 4
	if got.Accuracy != 0.5 || math.Abs(got.LogLoss-wantLoss) > 1e-12 || got.PositiveRate != 0.5 || got.N != 4 {
		t.Errorf("Evaluate = %+v, want accuracy 0.5, log loss %v", got, wantLoss)
	}
	// Certain and wrong costs a finite amount.
	if l := Evaluate([]float64{0}, []int{1}).LogLoss; math.IsInf(l, 0) || l < 30 {
		t.Errorf("log loss of a certain miss = %v", l)
	}
}

func TestROC(t *testing.T) {
	pts := ROC([]float64{0.9, 0.8, 0.8, 0.1}, []int{1, 1, 0, 0})
	want := []ROCPoint{{math.Inf(1), 0, 0}, {0.9, 0, 0.5}, {0.8, 0.5, 1}, {0.1, 1, 1}}
	if len(pts) != len(want) {
		t.Fatalf("ROC = %v", pts)
	}
	for i := range want {
		if pts[i] != want[i] {
			t.Errorf("point %d = %v, want %v", i, pts[i], want[i])
		}
	}
}

func TestTransformer(t *testing.T) {
	rows := []Passenger{
		{Pclass: 1, Sex: "female", Age: 20, Fare: math.E - 1, Embarked: "C"},
		{Pclass: 3, Sex: "male", Age: math.NaN(), Fare: math.E*math.E - 1, SibSp: 2, Embarked: "S"},
		{Pclass: 2, Sex: "male", Age: 40, Fare: math.E - 1, Parch: 1, Embarked: ""},
	}
	tr := FitTransformer(rows)
	want := []string{"age", "fare", "sibsp", "parch", "pclass=2", "pclass=3", "sex=male", "embarked=S"}
	if got := tr.Features(); len(got) != len(want) {
		t.Fatalf("features %v, want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("feature %d = %q, want %q", i, got[i], want[i])
			}
		}
	}
	X := tr.Transform(rows)
	// Age: mean 30 of the known values, the missing one imputed to 0 after
	// standardizing; fare: log1p gives 1, 2, 1.
	if X[0][0] != -1 || X[1][0] != 0 || X[2][0] != 1 {
		t.Errorf("age column %v %v %v", X[0][0], X[1][0], X[2][0])
	}
	if math.Abs(tr.Means["fare"]-4.0/3) > 1e-12 {
		t.Errorf("fare mean %v, want 4/3", tr.Means["fare"])
	}
	// Row 0 is the reference level everywhere; row 2's missing embarked too.
	if X[0][4]+X[0][5]+X[0][6]+X[0][7] != 0 || X[2][7] != 0 || X[1][5] != 1 || X[1][7] != 1 {
		t.Errorf("one-hot columns %v / %v / %v", X[0][4:], X[1][4:], X[2][4:])
	}
}

func TestTrainLearnsGeneratedData(t *testing.T) {
	rows := Generate(1500, 7, 1)
	m, err := Train(rows[:1000], TrainParams{LearningRate: 0.5, L2: 0.01, Epochs: 300})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	test := rows[1000:]
	got := Evaluate(m.PredictProba(test), labels(test))
	if got.AUC < 0.8 || got.Accuracy < 0.7 {
		t.Errorf("held-out %+v", got)
	}
}

// The learning curve: one point per epoch, the first at the untrained
// weights (log 2), the loss falling, the same model as without a curve.
func TestTrainCurve(t *testing.T) {
	all := Generate(800, 7, 1)
	rows, valid := all[:600], all[600:]
	p := TrainParams{LearningRate: 0.5, L2: 0.01, Epochs: 120}
	var curve []Epoch
	m, err := TrainCurve(rows, valid, p, func(e Epoch) error {
		curve = append(curve, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(curve) != p.Epochs {
		t.Fatalf("%d epochs reported, want %d", len(curve), p.Epochs)
	}
	if curve[0].Epoch != 1 || math.Abs(curve[0].Loss-math.Ln2) > 1e-12 || math.Abs(curve[0].ValidLoss-math.Ln2) > 1e-12 {
		t.Errorf("first epoch %+v, want epoch 1 at loss ln 2", curve[0])
	}
	last := curve[len(curve)-1]
	if last.Epoch != p.Epochs || last.Loss >= curve[0].Loss-0.1 || last.Accuracy < 0.7 ||
		last.ValidLoss >= curve[0].ValidLoss-0.1 || last.ValidAccuracy < 0.7 {
		t.Errorf("last epoch %+v after first %+v: the loss did not fall", last, curve[0])
	}
	// The validation figures of an epoch are Evaluate's of the weights it
	// started from: after the last epoch's update they move a little more.
	final := Evaluate(m.PredictProba(valid), labels(valid))
	if math.Abs(final.LogLoss-last.ValidLoss) > 0.01 {
		t.Errorf("valid loss after training %.4f, in the last epoch %.4f", final.LogLoss, last.ValidLoss)
	}
	plain, err := Train(rows, p)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Bias != m.Bias || !slices.Equal(plain.Weights, m.Weights) {
		t.Error("training with a curve changed the model")
	}
	stop := errors.New("stop")
	_, err = TrainCurve(rows, nil, p, func(e Epoch) error {
		if e.Epoch == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("an error from the callback: %v, want it returned", err)
	}
}
