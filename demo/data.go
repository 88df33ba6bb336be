package demo

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
)

// Passenger is one row of the Titanic-like dataset.
type Passenger struct {
	Pclass   int     // 1, 2 or 3
	Sex      string  // "female" or "male"
	Age      float64 // years; NaN when unknown
	Fare     float64 // ticket price, > 0
	SibSp    int     // siblings and spouses aboard
	Parch    int     // parents and children aboard
	Embarked string  // "C", "Q", "S", or "" when unknown
	Survived int     // 0 or 1; -1 when unknown (a features-only file)
}

// Column names of the CSV files, in order. The label column is last and
// absent from features-only files (X_train, incoming batches).
var (
	featureColumns = []string{"pclass", "sex", "age", "fare", "sibsp", "parch", "embarked"}
	labelColumn    = "survived"
)

// Streams of the random generator, so that a dataset version, its split and
// an incoming batch of the same version never share random numbers.
const (
	streamDataset  = 1
	streamSplit    = 2
	streamIncoming = 3
)

// Generate returns n passengers of dataset version version (1, 2, ...),
// drawn deterministically from seed. Each version drifts from the one
// before: passengers are a little older, fares a little higher, and the
// fare matters more and sex less for survival, so that a model trained on
// an older version ranks newer passengers worse.
func Generate(n int, seed uint64, version int) []Passenger {
	return generate(n, seed, streamDataset, version)
}

func generate(n int, seed, stream uint64, version int) []Passenger {
	r := rand.New(rand.NewPCG(seed, stream<<32|uint64(version)))
	step := float64(max(version-1, 0))
	rows := make([]Passenger, n)
	for i := range rows {
		rows[i] = passenger(r, step)
	}
	return rows
}

// pick returns an index drawn with the given probabilities (summing to 1).
func pick(r *rand.Rand, probs ...float64) int {
	u := r.Float64()
	for i, p := range probs {
		if u < p {
			return i
		}
		u -= p
	}
	return len(probs) - 1
}

func passenger(r *rand.Rand, step float64) Passenger {
	var p Passenger
	p.Pclass = 1 + pick(r, 0.24, 0.21, 0.55)
	female := []float64{0.44, 0.41, 0.30}[p.Pclass-1]
	p.Sex = "male"
	if r.Float64() < female {
		p.Sex = "female"
	}
	meanAge := []float64{38, 30, 25}[p.Pclass-1] + 2*step
	age := math.Round((meanAge+14*r.NormFloat64())*10) / 10
	age = math.Min(math.Max(age, 0.5), 80)
	child := age < 15
	if child {
		p.SibSp = pick(r, 0.2, 0.4, 0.2, 0.1, 0.1)
		p.Parch = 1 + pick(r, 0.6, 0.4)
	} else {
		p.SibSp = pick(r, 0.72, 0.22, 0.04, 0.01, 0.01)
		p.Parch = pick(r, 0.82, 0.11, 0.07)
	}
	mu := []float64{math.Log(80), math.Log(21), math.Log(9)}[p.Pclass-1]
	fare := math.Exp(mu+0.45*r.NormFloat64()) * (1 + 0.25*float64(p.SibSp+p.Parch)) * (1 + 0.06*step)
	p.Fare = math.Round(fare*100) / 100
	switch p.Pclass {
	case 1:
		p.Embarked = []string{"C", "Q", "S"}[pick(r, 0.40, 0.02, 0.58)]
	default:
		p.Embarked = []string{"C", "Q", "S"}[pick(r, 0.14, 0.11, 0.75)]
	}
	if r.Float64() < 0.004 {
		p.Embarked = ""
	}

	// Survival: women, the young, the rich and small families first. How
	// much each counts turns with the version (concept drift, a cycle of
	// four versions): the weights of sex, fare and age move every time.
	theta := step * math.Pi / 2
	z := 0.3 - 1.0*float64(p.Pclass-1) - 0.35*float64(p.SibSp) - 0.1*float64(p.Parch)
	z += (2.0 + 1.2*math.Cos(theta)) * b2f(p.Sex == "female")
	z += (1.0 - 0.9*math.Cos(theta)) * (math.Log(p.Fare) - 3)
	z += (-0.03 - 0.03*math.Sin(theta)) * (age - 30)
	z += 0.9 * b2f(child)
	z += 0.25 * b2f(p.Embarked == "C")
	p.Survived = 0
	if r.Float64() < sigmoid(z) {
		p.Survived = 1
	}

	// Age is unknown more often in third class, as in the real records.
	if r.Float64() < []float64{0.10, 0.12, 0.27}[p.Pclass-1] {
		p.Age = math.NaN()
	} else {
		p.Age = age
	}
	return p
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteCSV writes rows as CSV with a header, with the survived column when
// withLabel is set.
func WriteCSV(w io.Writer, rows []Passenger, withLabel bool) error {
	cw := csv.NewWriter(w)
	header := append([]string(nil), featureColumns...)
	if withLabel {
		header = append(header, labelColumn)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	for _, p := range rows {
		rec[0] = strconv.Itoa(p.Pclass)
		rec[1] = p.Sex
		rec[2] = ""
		if !math.IsNaN(p.Age) {
			rec[2] = strconv.FormatFloat(p.Age, 'f', -1, 64)
		}
		rec[3] = strconv.FormatFloat(p.Fare, 'f', -1, 64)
		rec[4] = strconv.Itoa(p.SibSp)
		rec[5] = strconv.Itoa(p.Parch)
		rec[6] = p.Embarked
		if withLabel {
			rec[7] = strconv.Itoa(p.Survived)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads rows written by WriteCSV. Survived is -1 when the file has
// no survived column.
func ReadCSV(r io.Reader) ([]Passenger, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range featureColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("csv: column %q is missing", c)
		}
	}
	label, hasLabel := col[labelColumn]
	var rows []Passenger
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		p := Passenger{Sex: rec[col["sex"]], Embarked: rec[col["embarked"]], Age: math.NaN(), Survived: -1}
		ints := []struct {
			name string
			dst  *int
		}{{"pclass", &p.Pclass}, {"sibsp", &p.SibSp}, {"parch", &p.Parch}}
		for _, f := range ints {
			if *f.dst, err = strconv.Atoi(rec[col[f.name]]); err != nil {
				return nil, fmt.Errorf("csv line %d: %s: %w", line, f.name, err)
			}
		}
		if s := rec[col["age"]]; s != "" {
			if p.Age, err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("csv line %d: age: %w", line, err)
			}
		}
		if p.Fare, err = strconv.ParseFloat(rec[col["fare"]], 64); err != nil {
			return nil, fmt.Errorf("csv line %d: fare: %w", line, err)
		}
		if hasLabel {
			if p.Survived, err = strconv.Atoi(rec[label]); err != nil {
				return nil, fmt.Errorf("csv line %d: survived: %w", line, err)
			}
		}
		rows = append(rows, p)
	}
}

func writeCSVFile(path string, rows []Passenger, withLabel bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteCSV(f, rows, withLabel); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Column is one column of a Frame: numeric values (NaN when missing) or
// categorical levels ("" when missing).
type Column struct {
	Name    string
	Numeric bool
	Values  []float64
	Levels  []string
}

// Len returns the number of rows.
func (c Column) Len() int {
	if c.Numeric {
		return len(c.Values)
	}
	return len(c.Levels)
}

// Frame is a table in columns, what profiles and comparisons work on.
type Frame []Column

// Column returns the column called name.
func (f Frame) Column(name string) (Column, bool) {
	for _, c := range f {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Rows returns the number of rows.
func (f Frame) Rows() int {
	if len(f) == 0 {
		return 0
	}
	return f[0].Len()
}

// FrameOf turns rows into columns: age, fare, sibsp and parch are numeric;
// pclass, sex, embarked and (with withLabel) survived are categorical.
func FrameOf(rows []Passenger, withLabel bool) Frame {
	n := len(rows)
	num := func(name string, get func(Passenger) float64) Column {
		c := Column{Name: name, Numeric: true, Values: make([]float64, n)}
		for i, p := range rows {
			c.Values[i] = get(p)
		}
		return c
	}
	cat := func(name string, get func(Passenger) string) Column {
		c := Column{Name: name, Levels: make([]string, n)}
		for i, p := range rows {
			c.Levels[i] = get(p)
		}
		return c
	}
	f := Frame{
		cat("pclass", func(p Passenger) string { return strconv.Itoa(p.Pclass) }),
		cat("sex", func(p Passenger) string { return p.Sex }),
		num("age", func(p Passenger) float64 { return p.Age }),
		num("fare", func(p Passenger) float64 { return p.Fare }),
		num("sibsp", func(p Passenger) float64 { return float64(p.SibSp) }),
		num("parch", func(p Passenger) float64 { return float64(p.Parch) }),
		cat("embarked", func(p Passenger) string { return p.Embarked }),
	}
	if withLabel {
		f = append(f, cat(labelColumn, func(p Passenger) string {
			if p.Survived < 0 {
				return ""
			}
			return strconv.Itoa(p.Survived)
		}))
	}
	return f
}
