package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// NumericStats summarizes the known values of a numeric column. Std is the
// population standard deviation.
type NumericStats struct {
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Min    float64 `json:"min"`
	P25    float64 `json:"p25"`
	Median float64 `json:"median"`
	P75    float64 `json:"p75"`
	Max    float64 `json:"max"`
}

// summarize returns the statistics of vals (no NaN), zero when empty.
func summarize(vals []float64) NumericStats {
	if len(vals) == 0 {
		return NumericStats{}
	}
	s := slices.Clone(vals)
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	mean := sum / float64(len(s))
	var ss float64
	for _, v := range s {
		ss += (v - mean) * (v - mean)
	}
	return NumericStats{
		Mean: mean, Std: math.Sqrt(ss / float64(len(s))),
		Min: s[0], P25: quantile(s, 0.25), Median: quantile(s, 0.5), P75: quantile(s, 0.75), Max: s[len(s)-1],
	}
}

// quantile returns the q-quantile of sorted (linear interpolation between
// closest ranks).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// known returns the non-missing values of a numeric column.
func known(vals []float64) []float64 {
	out := make([]float64, 0, len(vals))
	for _, v := range vals {
		if !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

// ColumnProfile describes one column of a data profile.
type ColumnProfile struct {
	Name        string         `json:"name"`
	Kind        string         `json:"kind"` // numeric or categorical
	Count       int            `json:"count"`
	Missing     int            `json:"missing"`
	MissingRate float64        `json:"missing_rate"`
	Stats       *NumericStats  `json:"stats,omitempty"`
	Counts      map[string]int `json:"counts,omitempty"`
}

// Profile is a data profile report.
type Profile struct {
	Dataset string          `json:"dataset"`
	Rows    int             `json:"rows"`
	Columns []ColumnProfile `json:"columns"`
}

// ProfileOf profiles every column of f.
func ProfileOf(dataset string, f Frame) Profile {
	p := Profile{Dataset: dataset, Rows: f.Rows()}
	for _, c := range f {
		cp := ColumnProfile{Name: c.Name, Kind: "categorical"}
		if c.Numeric {
			cp.Kind = "numeric"
			k := known(c.Values)
			s := summarize(k)
			cp.Count, cp.Stats = len(k), &s
		} else {
			cp.Counts = map[string]int{}
			for _, l := range c.Levels {
				if l != "" {
					cp.Count++
					cp.Counts[l]++
				}
			}
		}
		cp.Missing = c.Len() - cp.Count
		cp.MissingRate = ratio(float64(cp.Missing), float64(c.Len()))
		p.Columns = append(p.Columns, cp)
	}
	return p
}

// Drift levels of a column or a whole comparison.
const (
	DriftNone        = "none"
	DriftModerate    = "moderate"
	DriftSignificant = "significant"
)

// Population stability index thresholds: below psiModerate nothing moved,
// from psiSignificant on the distribution changed materially.
const (
	psiModerate    = 0.1
	psiSignificant = 0.25
	psiBins        = 10
	psiFloor       = 1e-4
)

// NumericDrift compares a numeric column.
type NumericDrift struct {
	ReferenceMean float64 `json:"reference_mean"`
	CurrentMean   float64 `json:"current_mean"`
	MeanShift     float64 `json:"mean_shift"`
	// StdMeanDiff is the mean shift in pooled standard deviations.
	StdMeanDiff float64 `json:"std_mean_diff"`
	// KS is the two-sample Kolmogorov-Smirnov statistic of the known
	// values; KSCritical its critical value at the 5% level.
	KS         float64 `json:"ks"`
	KSCritical float64 `json:"ks_critical"`
}

// ColumnDrift compares one column of two frames.
type ColumnDrift struct {
	Name                 string  `json:"name"`
	Kind                 string  `json:"kind"`
	ReferenceMissingRate float64 `json:"reference_missing_rate"`
	CurrentMissingRate   float64 `json:"current_missing_rate"`
	// PSI is the population stability index over reference deciles
	// (numeric) or levels (categorical), missing values as their own bin.
	PSI     float64       `json:"psi"`
	Numeric *NumericDrift `json:"numeric,omitempty"`
	// ReferenceShares and CurrentShares are the level shares of a
	// categorical column.
	ReferenceShares map[string]float64 `json:"reference_shares,omitempty"`
	CurrentShares   map[string]float64 `json:"current_shares,omitempty"`
	Drift           string             `json:"drift"`
}

// Comparison is a data comparison report.
type Comparison struct {
	Reference     string        `json:"reference"`
	Current       string        `json:"current"`
	ReferenceRows int           `json:"reference_rows"`
	CurrentRows   int           `json:"current_rows"`
	Columns       []ColumnDrift `json:"columns"`
	MaxPSI        float64       `json:"max_psi"`
	// Drifted lists the columns whose drift is not none.
	Drifted []string `json:"drifted"`
	Drift   string   `json:"drift"`
}

// Compare compares every column of cur that ref has too.
func Compare(refName string, ref Frame, curName string, cur Frame) Comparison {
	cmp := Comparison{Reference: refName, Current: curName, ReferenceRows: ref.Rows(), CurrentRows: cur.Rows(),
		Drifted: []string{}, Drift: DriftNone}
	for _, c := range cur {
		r, ok := ref.Column(c.Name)
		if !ok || r.Numeric != c.Numeric {
			continue
		}
		var d ColumnDrift
		if c.Numeric {
			d = compareNumeric(r, c)
		} else {
			d = compareCategorical(r, c)
		}
		cmp.Columns = append(cmp.Columns, d)
		cmp.MaxPSI = math.Max(cmp.MaxPSI, d.PSI)
		if d.Drift != DriftNone {
			cmp.Drifted = append(cmp.Drifted, d.Name)
		}
		cmp.Drift = worseDrift(cmp.Drift, d.Drift)
	}
	return cmp
}

func worseDrift(a, b string) string {
	rank := map[string]int{DriftNone: 0, DriftModerate: 1, DriftSignificant: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func compareNumeric(ref, cur Column) ColumnDrift {
	rk, ck := known(ref.Values), known(cur.Values)
	rs, cs := summarize(rk), summarize(ck)
	nd := &NumericDrift{ReferenceMean: rs.Mean, CurrentMean: cs.Mean, MeanShift: cs.Mean - rs.Mean,
		KS: KS(rk, ck)}
	if pooled := math.Sqrt((rs.Std*rs.Std + cs.Std*cs.Std) / 2); pooled > 0 {
		nd.StdMeanDiff = nd.MeanShift / pooled
	}
	if n, m := float64(len(rk)), float64(len(ck)); n > 0 && m > 0 {
		nd.KSCritical = 1.358 * math.Sqrt((n+m)/(n*m))
	}
	d := ColumnDrift{Name: cur.Name, Kind: "numeric", Numeric: nd,
		ReferenceMissingRate: 1 - ratio(float64(len(rk)), float64(ref.Len())),
		CurrentMissingRate:   1 - ratio(float64(len(ck)), float64(cur.Len())),
		PSI:                  PSINumeric(ref.Values, cur.Values, psiBins)}
	d.Drift = psiDrift(d.PSI)
	if d.Drift == DriftNone && nd.KSCritical > 0 && nd.KS > nd.KSCritical {
		d.Drift = DriftModerate
	}
	return d
}

func compareCategorical(ref, cur Column) ColumnDrift {
	d := ColumnDrift{Name: cur.Name, Kind: "categorical",
		ReferenceShares: shares(ref.Levels), CurrentShares: shares(cur.Levels),
		PSI: PSICategorical(ref.Levels, cur.Levels)}
	d.ReferenceMissingRate = d.ReferenceShares[""]
	d.CurrentMissingRate = d.CurrentShares[""]
	delete(d.ReferenceShares, "")
	delete(d.CurrentShares, "")
	d.Drift = psiDrift(d.PSI)
	return d
}

func psiDrift(psi float64) string {
	switch {
	case psi >= psiSignificant:
		return DriftSignificant
	case psi >= psiModerate:
		return DriftModerate
	}
	return DriftNone
}

func shares(levels []string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range levels {
		out[l]++
	}
	for l := range out {
		out[l] /= float64(len(levels))
	}
	return out
}

// KS returns the two-sample Kolmogorov-Smirnov statistic: the largest gap
// between the empirical distribution functions of a and b (NaN-free). It
// is 0 when either is empty.
func KS(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Float64s(a)
	sort.Float64s(b)
	n, m := float64(len(a)), float64(len(b))
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		v := math.Min(a[i], b[j])
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/n-float64(j)/m))
	}
	return d
}

// psiTerm returns the contribution of one bin with reference share r and
// current share c, both floored so that an empty bin costs a finite amount.
func psiTerm(r, c float64) float64 {
	r, c = math.Max(r, psiFloor), math.Max(c, psiFloor)
	return (c - r) * math.Log(c/r)
}

// PSINumeric returns the population stability index of cur against ref
// over bins cut at the reference quantiles (fewer when values repeat), with
// missing values (NaN) as a bin of their own.
func PSINumeric(ref, cur []float64, bins int) float64 {
	rk := known(ref)
	if len(rk) == 0 || len(cur) == 0 {
		return 0
	}
	sorted := slices.Clone(rk)
	sort.Float64s(sorted)
	var edges []float64
	for k := 1; k < bins; k++ {
		e := quantile(sorted, float64(k)/float64(bins))
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	count := func(vals []float64) []float64 {
		c := make([]float64, len(edges)+2) // last bin: missing
		for _, v := range vals {
			if math.IsNaN(v) {
				c[len(c)-1]++
				continue
			}
			c[sort.SearchFloat64s(edges, v)]++ // bin i holds (edges[i-1], edges[i]]
		}
		for i := range c {
			c[i] /= float64(len(vals))
		}
		return c
	}
	rc, cc := count(ref), count(cur)
	var psi float64
	for i := range rc {
		if rc[i] == 0 && cc[i] == 0 {
			continue
		}
		psi += psiTerm(rc[i], cc[i])
	}
	return psi
}

// PSICategorical returns the population stability index of the level
// shares of cur against ref ("" is the missing level).
func PSICategorical(ref, cur []string) float64 {
	if len(ref) == 0 || len(cur) == 0 {
		return 0
	}
	rs, cs := shares(ref), shares(cur)
	var levels []string
	for l := range rs {
		levels = append(levels, l)
	}
	for l := range cs {
		if _, ok := rs[l]; !ok {
			levels = append(levels, l)
		}
	}
	sort.Strings(levels) // a fixed order makes the sum reproducible
	var psi float64
	for _, l := range levels {
		psi += psiTerm(rs[l], cs[l])
	}
	return psi
}

// Check statuses, from best to worst.
const (
	CheckPass = "pass"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one check of a check report.
type Check struct {
	Name   string  `json:"name"`
	Status string  `json:"status"`
	Value  float64 `json:"value"`
	// Rule says what passes, warns and fails.
	Rule    string `json:"rule"`
	Message string `json:"message,omitempty"`
}

// CheckReport is a check report (data, model or prediction checks).
type CheckReport struct {
	Type    string         `json:"type"`
	Subject string         `json:"subject"`
	Status  string         `json:"status"`
	Counts  map[string]int `json:"counts"`
	Checks  []Check        `json:"checks"`
}

func newCheckReport(typ, subject string) *CheckReport {
	return &CheckReport{Type: typ, Subject: subject, Status: CheckPass,
		Counts: map[string]int{CheckPass: 0, CheckWarn: 0, CheckFail: 0}}
}

func (r *CheckReport) add(c Check) {
	r.Checks = append(r.Checks, c)
	r.Counts[c.Status]++
	rank := map[string]int{CheckPass: 0, CheckWarn: 1, CheckFail: 2}
	if rank[c.Status] > rank[r.Status] {
		r.Status = c.Status
	}
}

// atMost passes value up to warn, warns up to fail, and fails above.
func (r *CheckReport) atMost(name string, value, warn, fail float64, msg string) {
	st := CheckPass
	switch {
	case math.IsNaN(value) || value > fail:
		st = CheckFail
	case value > warn:
		st = CheckWarn
	}
	r.add(Check{Name: name, Status: st, Value: clean(value), Message: msg,
		Rule: fmt.Sprintf("pass <= %s, warn <= %s, else fail", num(warn), num(fail))})
}

// atLeast passes value from warn up, warns from fail up, and fails below.
func (r *CheckReport) atLeast(name string, value, warn, fail float64, msg string) {
	st := CheckPass
	switch {
	case math.IsNaN(value) || value < fail:
		st = CheckFail
	case value < warn:
		st = CheckWarn
	}
	r.add(Check{Name: name, Status: st, Value: clean(value), Message: msg,
		Rule: fmt.Sprintf("pass >= %s, warn >= %s, else fail", num(warn), num(fail))})
}

// within passes value in [lo, hi], warns in [wlo, whi], and fails outside.
func (r *CheckReport) within(name string, value, lo, hi, wlo, whi float64, msg string) {
	st := CheckFail
	switch {
	case value >= lo && value <= hi:
		st = CheckPass
	case value >= wlo && value <= whi:
		st = CheckWarn
	}
	r.add(Check{Name: name, Status: st, Value: clean(value), Message: msg,
		Rule: fmt.Sprintf("pass in [%s, %s], warn in [%s, %s], else fail", num(lo), num(hi), num(wlo), num(whi))})
}

// clean makes a value JSON-encodable (NaN and infinities become -1).
func clean(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// DataChecks checks a labelled dataset: size, missing values, valid levels
// and ranges, duplicates and class balance.
func DataChecks(subject string, rows []Passenger) *CheckReport {
	r := newCheckReport("data", subject)
	n := float64(len(rows))
	r.atLeast("row_count", n, 500, 100, "enough rows to train on")
	for _, c := range FrameOf(rows, true) {
		missing := 0
		for i := range c.Len() {
			if (c.Numeric && math.IsNaN(c.Values[i])) || (!c.Numeric && c.Levels[i] == "") {
				missing++
			}
		}
		r.atMost("missing_rate."+c.Name, ratio(float64(missing), n), 0.10, 0.40,
			fmt.Sprintf("%d of %d values missing", missing, len(rows)))
	}
	var badAge, badFare, badLevel, pos float64
	seen := map[Passenger]bool{}
	var dup float64
	for _, p := range rows {
		if !math.IsNaN(p.Age) && (p.Age <= 0 || p.Age > 100) {
			badAge++
		}
		if !(p.Fare > 0) || p.Fare > 1000 {
			badFare++
		}
		if p.Pclass < 1 || p.Pclass > 3 || (p.Sex != "female" && p.Sex != "male") ||
			!slices.Contains([]string{"", "C", "Q", "S"}, p.Embarked) || (p.Survived != 0 && p.Survived != 1) {
			badLevel++
		}
		if p.Survived == 1 {
			pos++
		}
		key := p
		if math.IsNaN(key.Age) {
			key.Age = -1 // NaN never equals itself
		}
		if seen[key] {
			dup++
		}
		seen[key] = true
	}
	r.atMost("age_out_of_range", badAge, 0, 0, "ages outside (0, 100]")
	r.atMost("fare_out_of_range", badFare, 0, 0, "fares outside (0, 1000]")
	r.atMost("invalid_levels", badLevel, 0, 0, "rows with an unknown pclass, sex, embarked or survived")
	r.atMost("duplicate_rate", ratio(dup, n), 0.02, 0.10, "rows identical to an earlier row")
	r.within("class_balance", ratio(pos, n), 0.2, 0.8, 0.1, 0.9, "share of survivors")
	return r
}

// writeJSON writes v as indented JSON to path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// rocCSV renders a ROC curve as CSV.
func rocCSV(pts []ROCPoint) []byte {
	var b bytes.Buffer
	b.WriteString("threshold,fpr,tpr\n")
	for _, p := range pts {
		th := "inf"
		if !math.IsInf(p.Threshold, 0) {
			th = strconv.FormatFloat(p.Threshold, 'f', 6, 64)
		}
		fmt.Fprintf(&b, "%s,%.6f,%.6f\n", th, p.FPR, p.TPR)
	}
	return b.Bytes()
}

// rocSVG draws ROC curves (one per name, in order) with the diagonal.
func rocSVG(title string, names []string, curves map[string][]ROCPoint) []byte {
	const size, pad = 320.0, 40.0
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="11">`+"\n",
		size+2*pad, size+2*pad+14*float64(len(names)))
	fmt.Fprintf(&b, `<text x="%g" y="20" font-size="13">%s</text>`+"\n", pad, xmlEscape(title))
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#999"/>`+"\n", pad, pad, size, size)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#ccc" stroke-dasharray="4 3"/>`+"\n", pad, pad+size, pad+size, pad)
	fmt.Fprintf(&b, `<text x="%g" y="%g">false positive rate</text>`+"\n", pad+size/2-45, pad+size+16)
	fmt.Fprintf(&b, `<text x="12" y="%g" transform="rotate(-90 12 %g)">true positive rate</text>`+"\n", pad+size/2+45, pad+size/2+45)
	for i, name := range names {
		var pts []string
		for _, p := range curves[name] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", pad+p.FPR*size, pad+(1-p.TPR)*size))
		}
		color := colors[i%len(colors)]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%g" y="%g" fill="%s">%s</text>`+"\n", pad, pad+size+32+14*float64(i), color, xmlEscape(name))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
