package series

import (
	"errors"
	"math"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode and ParseSummary: they must
// return points or ErrCorrupt, never panic, and whatever Decode accepts must
// re-encode to points that decode the same.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil, curve(50, 9)))
	f.Add(Encode(nil, []Point{{1, 1, math.NaN()}, {math.MaxInt64, -1, math.Inf(1)}}))
	f.Add(Encode(nil, []Point{{0, 0, 0}}))
	f.Add(AppendSummary(nil, Summarize(curve(10, 1))))
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseSummary(data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ParseSummary error not ErrCorrupt: %v", err)
		}
		pts, err := Decode(nil, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error not ErrCorrupt: %v", err)
			}
			return
		}
		again, err := Decode(nil, Encode(nil, pts))
		if err != nil || len(again) != len(pts) {
			t.Fatalf("re-encode: %d points, %v; want %d", len(again), err, len(pts))
		}
		for i := range pts {
			if !Same(again[i], pts[i]) {
				t.Fatalf("point %d: %+v after re-encoding, %+v before", i, again[i], pts[i])
			}
		}
	})
}
