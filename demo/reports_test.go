package demo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSummarize(t *testing.T) {
	s := summarize([]float64{4, 1, 3, 2, 5})
	want := NumericStats{Mean: 3, Std: math.Sqrt(2), Min: 1, P25: 2, Median: 3, P75: 4, Max: 5}
	if math.Abs(s.Std-want.Std) > 1e-12 {
		t.Errorf("std %v, want %v", s.Std, want.Std)
	}
	s.Std = want.Std
	if s != want {
		t.Errorf("summarize = %+v, want %+v", s, want)
	}
	if q := quantile([]float64{0, 10}, 0.25); q != 2.5 {
		t.Errorf("quantile interpolates to %v, want 2.5", q)
	}
	if (summarize(nil) != NumericStats{}) {
		t.Error("summarize(nil) is not zero")
	}
}

func TestProfileOf(t *testing.T) {
	rows := []Passenger{
		{Pclass: 1, Sex: "female", Age: 10, Fare: 5, Embarked: "C", Survived: 1},
		{Pclass: 3, Sex: "male", Age: math.NaN(), Fare: 15, Embarked: "", Survived: 0},
	}
	p := ProfileOf("toy", FrameOf(rows, true))
	if p.Rows != 2 || len(p.Columns) != 8 {
		t.Fatalf("profile %+v", p)
	}
	byName := map[string]ColumnProfile{}
	for _, c := range p.Columns {
		byName[c.Name] = c
	}
	if age := byName["age"]; age.Count != 1 || age.Missing != 1 || age.MissingRate != 0.5 || age.Stats.Mean != 10 {
		t.Errorf("age %+v %+v", age, age.Stats)
	}
	if fare := byName["fare"]; fare.Stats.Mean != 10 || fare.Stats.Std != 5 {
		t.Errorf("fare %+v", fare.Stats)
	}
	if emb := byName["embarked"]; emb.Kind != "categorical" || emb.Counts["C"] != 1 || emb.Missing != 1 || emb.Stats != nil {
		t.Errorf("embarked %+v", emb)
	}
}

func TestKS(t *testing.T) {
	for name, tc := range map[string]struct {
		a, b []float64
		want float64
	}{
		"Identical": {[]float64{1, 2, 3}, []float64{3, 2, 1}, 0},
		"Disjoint":  {[]float64{1, 2}, []float64{3, 4, 5}, 1},
		// F_a jumps to 1/2 at 1 and 1 at 3; F_b to 1/2 at 2, 1 at 3.
		"Interleaved": {[]float64{1, 3}, []float64{2, 3}, 0.5},
		// Ties across the samples move both functions at once.
		"Ties":  {[]float64{1, 1, 2, 2}, []float64{1, 2, 2, 2}, 0.25},
		"Empty": {nil, []float64{1}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			if got := KS(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("KS = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPSI(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ref := make([]float64, 5000)
	same := make([]float64, 5000)
	shifted := make([]float64, 5000)
	for i := range ref {
		ref[i], same[i], shifted[i] = r.NormFloat64(), r.NormFloat64(), r.NormFloat64()+1
	}
	if p := PSINumeric(ref, ref, 10); p != 0 {
		t.Errorf("PSI of a sample against itself = %v", p)
	}
	if p := PSINumeric(ref, same, 10); p > 0.02 {
		t.Errorf("PSI of two samples of one distribution = %v", p)
	}
	// A shift of one standard deviation is a large change.
	if p := PSINumeric(ref, shifted, 10); p < psiSignificant {
		t.Errorf("PSI of a 1-sd shift = %v", p)
	}
	// Missing values form their own bin.
	withNaN := append([]float64(nil), ref...)
	for i := range 1000 {
		withNaN[i] = math.NaN()
	}
	if p := PSINumeric(ref, withNaN, 10); p < psiModerate {
		t.Errorf("PSI with 20%% new missing values = %v", p)
	}

	// Categorical, by hand: shares 0.5/0.5 against 0.25/0.75.
	a := []string{"x", "y", "x", "y"}
	b := []string{"x", "y", "y", "y"}
	want := (0.25-0.5)*math.Log(0.25/0.5) + (0.75-0.5)*math.Log(0.75/0.5)
	if p := PSICategorical(a, b); math.Abs(p-want) > 1e-12 {
		t.Errorf("PSICategorical = %v, want %v", p, want)
	}
	// A level that vanishes costs a finite amount.
	if p := PSICategorical(a, []string{"x", "x"}); math.IsInf(p, 0) || p <= 0 {
		t.Errorf("PSICategorical with an empty level = %v", p)
	}
}

func TestCompare(t *testing.T) {
	old := Generate(2000, 11, 1)
	newer := Generate(2000, 11, 4) // three versions on: ages up by 6 years
	cmp := Compare("v1", FrameOf(old, true), "v4", FrameOf(newer, true))
	if cmp.ReferenceRows != 2000 || cmp.CurrentRows != 2000 || len(cmp.Columns) != 8 {
		t.Fatalf("comparison %+v", cmp)
	}
	var age ColumnDrift
	for _, c := range cmp.Columns {
		if c.Name == "age" {
			age = c
		}
	}
	if age.Numeric == nil || math.Abs(age.Numeric.MeanShift-6) > 1.5 || age.Drift == DriftNone || age.Numeric.KS < age.Numeric.KSCritical {
		t.Errorf("age drift %+v %+v", age, age.Numeric)
	}
	if cmp.Drift == DriftNone || len(cmp.Drifted) == 0 {
		t.Errorf("overall drift %q, drifted %v", cmp.Drift, cmp.Drifted)
	}

	same := Compare("a", FrameOf(old, true), "b", FrameOf(old, true))
	if same.Drift != DriftNone || same.MaxPSI != 0 {
		t.Errorf("comparison with itself: %q, max PSI %v", same.Drift, same.MaxPSI)
	}
}

func TestCheckReport(t *testing.T) {
	r := newCheckReport("data", "toy")
	r.atMost("low", 0.05, 0.1, 0.4, "")
	if r.Status != CheckPass {
		t.Errorf("status %q after a pass", r.Status)
	}
	r.atLeast("mid", 0.7, 0.75, 0.65, "")
	if r.Status != CheckWarn {
		t.Errorf("status %q after a warn", r.Status)
	}
	r.within("bad", 0.95, 0.2, 0.8, 0.1, 0.9, "")
	r.atMost("ok", 0, 0, 0, "")
	if r.Status != CheckFail || r.Counts[CheckPass] != 2 || r.Counts[CheckWarn] != 1 || r.Counts[CheckFail] != 1 {
		t.Errorf("report %+v", r)
	}
	r2 := newCheckReport("model", "nan")
	r2.atLeast("auc", math.NaN(), 0.75, 0.65, "")
	if r2.Status != CheckFail || r2.Checks[0].Value != -1 {
		t.Errorf("NaN check %+v", r2.Checks[0])
	}
}

func TestDataChecks(t *testing.T) {
	rows := Generate(1000, 5, 1)
	r := DataChecks("v1", rows)
	if r.Status == CheckFail {
		t.Errorf("generated data fails: %+v", r.Checks)
	}
	bad := append([]Passenger(nil), rows[:200]...)
	for i := range bad {
		bad[i].Survived = 1
	}
	bad[0].Fare = -3
	r = DataChecks("bad", bad)
	failed := map[string]bool{}
	for _, c := range r.Checks {
		if c.Status == CheckFail {
			failed[c.Name] = true
		}
	}
	if !failed["class_balance"] || !failed["fare_out_of_range"] || r.Status != CheckFail {
		t.Errorf("failed checks %v", failed)
	}
}
