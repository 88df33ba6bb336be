package series

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Summary describes a run of points: how many, their step and time ranges,
// the points with the lowest and highest value (NaN values left out) and
// the last point in step order.
type Summary struct {
	Count            int64
	MinStep, MaxStep int64
	MinTime, MaxTime int64
	// Low and High are the points with the lowest and the highest value
	// (the first such point in order); HasRange is false when every value
	// is NaN.
	Low, High Point
	HasRange  bool
	// Last is the greatest point by Compare (highest step, then latest
	// time, then highest value).
	Last Point
}

// Add folds p, a point added after those already summarised, into s.
func (s *Summary) Add(p Point) {
	if s.Count == 0 {
		*s = Summary{Count: 1, MinStep: p.Step, MaxStep: p.Step, MinTime: p.Time, MaxTime: p.Time, Last: p}
		if !math.IsNaN(p.Value) {
			s.Low, s.High, s.HasRange = p, p, true
		}
		return
	}
	s.Count++
	s.MinStep, s.MaxStep = min(s.MinStep, p.Step), max(s.MaxStep, p.Step)
	s.MinTime, s.MaxTime = min(s.MinTime, p.Time), max(s.MaxTime, p.Time)
	if Compare(p, s.Last) >= 0 {
		s.Last = p
	}
	if !math.IsNaN(p.Value) {
		switch {
		case !s.HasRange:
			s.Low, s.High, s.HasRange = p, p, true
		case p.Value < s.Low.Value:
			s.Low = p
		case p.Value > s.High.Value:
			s.High = p
		}
	}
}

// Merge folds o, a summary of points added after those of s, into s.
func (s *Summary) Merge(o Summary) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 {
		*s = o
		return
	}
	s.Count += o.Count
	s.MinStep, s.MaxStep = min(s.MinStep, o.MinStep), max(s.MaxStep, o.MaxStep)
	s.MinTime, s.MaxTime = min(s.MinTime, o.MinTime), max(s.MaxTime, o.MaxTime)
	if Compare(o.Last, s.Last) >= 0 {
		s.Last = o.Last
	}
	if o.HasRange {
		if !s.HasRange {
			s.Low, s.High, s.HasRange = o.Low, o.High, true
		} else {
			if o.Low.Value < s.Low.Value {
				s.Low = o.Low
			}
			if o.High.Value > s.High.Value {
				s.High = o.High
			}
		}
	}
}

// Summarize returns the summary of pts, taken in their order.
func Summarize(pts []Point) Summary {
	var s Summary
	for _, p := range pts {
		s.Add(p)
	}
	return s
}

// Compare orders points by step, then time, then value (NaN first, then
// by bits), so that the order of a series does not depend on the order its
// points were added in: two copies merged either way read the same.
func Compare(a, b Point) int {
	if c := cmp.Compare(a.Step, b.Step); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Time, b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	return cmp.Compare(math.Float64bits(a.Value), math.Float64bits(b.Value))
}

// Sort orders pts by Compare, keeping the order of equal points.
func Sort(pts []Point) {
	if !slices.IsSortedFunc(pts, Compare) {
		slices.SortStableFunc(pts, Compare)
	}
}

// Same reports whether a and b are the same point: equal step, time and
// value bits (so NaN is the same as an identical NaN).
func Same(a, b Point) bool {
	return a.Step == b.Step && a.Time == b.Time && math.Float64bits(a.Value) == math.Float64bits(b.Value)
}

// AppendSummary appends the encoding of s (version byte, then varints and
// 8-byte values) to dst.
func AppendSummary(dst []byte, s Summary) []byte {
	dst = append(dst, Version)
	dst = binary.AppendVarint(dst, s.Count)
	for _, v := range []int64{s.MinStep, s.MaxStep, s.MinTime, s.MaxTime} {
		dst = binary.AppendVarint(dst, v)
	}
	flag := byte(0)
	if s.HasRange {
		flag = 1
	}
	dst = append(dst, flag)
	for _, p := range []Point{s.Low, s.High, s.Last} {
		dst = binary.AppendVarint(dst, p.Step)
		dst = binary.AppendVarint(dst, p.Time)
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(p.Value))
	}
	return dst
}

// ParseSummary decodes what AppendSummary wrote.
func ParseSummary(b []byte) (Summary, error) {
	var s Summary
	if len(b) == 0 || b[0] != Version {
		return s, fmt.Errorf("%w: summary version", ErrCorrupt)
	}
	b = b[1:]
	next := func() (int64, bool) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	var ok [5]bool
	s.Count, ok[0] = next()
	s.MinStep, ok[1] = next()
	s.MaxStep, ok[2] = next()
	s.MinTime, ok[3] = next()
	s.MaxTime, ok[4] = next()
	if ok != [5]bool{true, true, true, true, true} || len(b) < 1 || b[0] > 1 || s.Count <= 0 {
		return s, fmt.Errorf("%w: summary header", ErrCorrupt)
	}
	s.HasRange = b[0] == 1
	b = b[1:]
	for _, p := range []*Point{&s.Low, &s.High, &s.Last} {
		var ok1, ok2 bool
		p.Step, ok1 = next()
		p.Time, ok2 = next()
		if !ok1 || !ok2 || len(b) < 8 {
			return s, fmt.Errorf("%w: summary point", ErrCorrupt)
		}
		p.Value = math.Float64frombits(binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	if len(b) != 0 {
		return s, fmt.Errorf("%w: %d bytes after the summary", ErrCorrupt, len(b))
	}
	return s, nil
}
