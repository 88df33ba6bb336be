package series

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func curve(n int, seed uint64) []Point {
	r := rand.New(rand.NewPCG(seed, 1))
	pts := make([]Point, n)
	t := int64(1_764_000_000_000)
	for i := range pts {
		t += 20 + r.Int64N(15)
		loss := 2.5*math.Exp(-float64(i)/float64(n)*4) + 0.05*r.Float64()
		pts[i] = Point{Step: int64(i + 1), Time: t, Value: float64(float32(loss))}
	}
	return pts
}

func roundTrip(t *testing.T, pts []Point) []byte {
	t.Helper()
	b := Encode(nil, pts)
	got, err := Decode(nil, b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(got) != len(pts) {
		t.Fatalf("decoded %d points, want %d", len(got), len(pts))
	}
	for i := range pts {
		if !Same(got[i], pts[i]) {
			t.Fatalf("point %d: got %+v, want %+v", i, got[i], pts[i])
		}
	}
	if n, err := Count(b); err != nil || n != len(pts) {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(pts))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	nan2 := math.Float64frombits(0x7ff8000000000123)
	cases := map[string][]Point{
		"One":      {{Step: 0, Time: 0, Value: 1}},
		"Repeated": {{1, 10, 0.5}, {2, 20, 0.5}, {3, 30, 0.5}, {4, 40, 0.5}},
		"NonFinite": {{1, 1, math.NaN()}, {2, 2, math.Inf(1)}, {3, 3, math.Inf(-1)}, {4, 4, nan2},
			{5, 5, math.Copysign(0, -1)}, {6, 6, 0}, {7, 7, math.SmallestNonzeroFloat64}, {8, 8, math.MaxFloat64}},
		"Extremes": {{math.MaxInt64, math.MaxInt64, 1}, {math.MinInt64, math.MinInt64, -1}, {0, 0, 2},
			{math.MaxInt64, 0, 3}, {-5, math.MaxInt64, 4}, {math.MinInt64, 7, 5}},
		"OutOfOrder": {{10, 100, 1}, {3, 50, 2}, {3, 50, 3}, {7, 1000000, 4}, {100000, 99, 5}},
		"Curve":      curve(5000, 1),
	}
	for name, pts := range cases {
		t.Run(name, func(t *testing.T) { roundTrip(t, pts) })
	}
}

func TestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		n := 1 + r.IntN(300)
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{Step: int64(r.Uint64()) >> r.IntN(64), Time: int64(r.Uint64()) >> r.IntN(64),
				Value: math.Float64frombits(r.Uint64() >> r.IntN(64) << r.IntN(64))}
		}
		roundTrip(t, pts)
	}
}

// TestSize checks the sizes the package promises for a typical curve: steps
// 1..N, wall-clock milliseconds, float32-precision values.
func TestSize(t *testing.T) {
	pts := curve(4096, 3)
	b := roundTrip(t, pts)
	perPoint := float64(len(b)) / float64(len(pts))
	if perPoint > 6 {
		t.Errorf("typical curve: %.2f bytes a point, want <= 6", perPoint)
	}
	same := make([]Point, 4096)
	for i := range same {
		same[i] = Point{Step: int64(i), Time: int64(i) * 1000, Value: 0.5}
	}
	b = roundTrip(t, same)
	if perPoint := float64(len(b)) / float64(len(same)); perPoint > 0.5 {
		t.Errorf("constant curve at a fixed rate: %.2f bytes a point, want <= 0.5", perPoint)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := Encode(nil, curve(100, 2))
	cases := map[string][]byte{
		"Empty":          {},
		"Version":        append([]byte{9}, good[1:]...),
		"ZeroCount":      {1, 0},
		"HugeCount":      {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"Truncated":      good[:len(good)/2],
		"HeaderOnly":     good[:5],
		"TrailingBytes":  append(append([]byte{}, good...), 0, 0),
		"WindowReuse":    {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0010_0000},
		"WindowTooLarge": {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0b0011_1111, 0b1111_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(nil, b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	pts := []Point{{1, 10, 0.5}, {2, 20, math.NaN()}, {2, 20, 0.1}, {0, 5, 0.9}, {2, 20, 0.3}, {1, 99, 0.1}}
	s := Summarize(pts)
	want := Summary{Count: 6, MinStep: 0, MaxStep: 2, MinTime: 5, MaxTime: 99,
		Low: Point{2, 20, 0.1}, High: Point{0, 5, 0.9}, HasRange: true, Last: Point{2, 20, 0.3}}
	if s != want {
		t.Fatalf("Summarize = %+v\nwant %+v", s, want)
	}
	var m Summary
	m.Merge(Summarize(pts[:3]))
	m.Merge(Summarize(pts[3:]))
	if m != want {
		t.Fatalf("Merge = %+v\nwant %+v", m, want)
	}
	got, err := ParseSummary(AppendSummary(nil, s))
	if err != nil || got != s {
		t.Fatalf("ParseSummary = %+v, %v", got, err)
	}
	allNaN := Summarize([]Point{{1, 1, math.NaN()}})
	if allNaN.HasRange || !math.IsNaN(allNaN.Last.Value) {
		t.Fatalf("all NaN: %+v", allNaN)
	}
	if _, err := ParseSummary(AppendSummary(nil, s)[:10]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated summary: %v", err)
	}
}

func BenchmarkEncode(b *testing.B) {
	pts := curve(1024, 1)
	buf := make([]byte, 0, 8192)
	b.SetBytes(int64(len(pts)))
	for b.Loop() {
		buf = Encode(buf[:0], pts)
	}
}

func BenchmarkDecode(b *testing.B) {
	pts := curve(1024, 1)
	data := Encode(nil, pts)
	out := make([]Point, 0, len(pts))
	b.SetBytes(int64(len(pts)))
	for b.Loop() {
		out, _ = Decode(out[:0], data)
	}
}
