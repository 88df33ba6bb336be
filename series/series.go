// Package series encodes metric time series into compact blocks: the steps
// and times of a block's points as delta-of-deltas, their values as XORs of
// consecutive IEEE 754 bit patterns, written bit by bit as in Facebook's
// Gorilla (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time
// Series Database", VLDB 2015). A typical learning curve (steps 1..N, one
// point every few milliseconds of wall-clock time, float32-precision values)
// takes a few bytes a point; points that repeat their value take about one.
//
// A block is self-contained: byte 0 is the format version (1), then the
// point count as a uvarint, the first point's step and time as zigzag
// varints and its value as 8 big-endian bytes, then a bit stream with, for
// each further point, the delta-of-delta of its step, that of its time and
// the XOR of its value with the previous one:
//
//	delta-of-delta d (two's complement, wrapping):
//	  '0'                      d = 0
//	  '10'    + 7 bits         -64 <= d < 64
//	  '110'   + 9 bits         -256 <= d < 256
//	  '1110'  + 12 bits        -2048 <= d < 2048
//	  '11110' + 32 bits        fits int32
//	  '11111' + 64 bits        any
//	value XOR x with the previous value's bits:
//	  '0'                      x = 0 (same value)
//	  '10' + the meaningful bits inside the previous window
//	  '11' + 6 bits leading zeros + 6 bits (length-1) + length bits
//
// The bit stream is padded with zero bits to a whole byte. Decode accepts
// exactly this and returns an error (never panics) on anything else.
//
// Summary is what a reader needs from a block without decoding it: its
// count, step and time ranges and the points holding its lowest value, its
// highest value and its last point in step order.
package series

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Point is one point of a series: Time is in Unix milliseconds, Value the
// float64 as logged (NaN and infinities included).
type Point struct {
	Step  int64
	Time  int64
	Value float64
}

// Version is the block format written by Encode.
const Version = 1

// MaxPoints is the largest number of points Decode accepts in one block.
const MaxPoints = 1 << 20

// ErrCorrupt is returned (wrapped) by Decode for bytes that are not a block.
var ErrCorrupt = errors.New("series: corrupt block")

// Encode appends the block holding pts, in their order, to dst. pts must
// not be empty and hold at most MaxPoints points.
func Encode(dst []byte, pts []Point) []byte {
	if len(pts) == 0 || len(pts) > MaxPoints {
		panic(fmt.Sprintf("series: Encode of %d points", len(pts)))
	}
	dst = append(dst, Version)
	dst = binary.AppendUvarint(dst, uint64(len(pts)))
	p0 := pts[0]
	dst = binary.AppendVarint(dst, p0.Step)
	dst = binary.AppendVarint(dst, p0.Time)
	dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(p0.Value))
	w := bitWriter{buf: dst}
	var stepDelta, timeDelta uint64
	prevBits := math.Float64bits(p0.Value)
	lead, trail := -1, 0
	for i := 1; i < len(pts); i++ {
		d := uint64(pts[i].Step) - uint64(pts[i-1].Step)
		w.writeDoD(d - stepDelta)
		stepDelta = d
		d = uint64(pts[i].Time) - uint64(pts[i-1].Time)
		w.writeDoD(d - timeDelta)
		timeDelta = d
		b := math.Float64bits(pts[i].Value)
		x := b ^ prevBits
		prevBits = b
		if x == 0 {
			w.write(0, 1)
			continue
		}
		l, t := bits.LeadingZeros64(x), bits.TrailingZeros64(x)
		if lead >= 0 && l >= lead && t >= trail {
			w.write(0b10, 2)
			w.write(x>>uint(trail), uint(64-lead-trail))
			continue
		}
		lead, trail = l, t
		n := 64 - l - t
		w.write(0b11, 2)
		w.write(uint64(l), 6)
		w.write(uint64(n-1), 6)
		w.write(x>>uint(t), uint(n))
	}
	return w.flush()
}

// Decode appends the points of block data to dst.
func Decode(dst []Point, data []byte) ([]Point, error) {
	n, p0, rest, err := header(data)
	if err != nil {
		return dst, err
	}
	// Every point after the first takes at least 3 bits.
	if (n-1)*3 > uint64(len(rest))*8 {
		return dst, fmt.Errorf("%w: %d points in %d bytes", ErrCorrupt, n, len(data))
	}
	dst = append(dst, p0)
	r := bitReader{data: rest}
	prev := p0
	var stepDelta, timeDelta uint64
	prevBits := math.Float64bits(p0.Value)
	lead, trail := -1, 0
	for i := uint64(1); i < n; i++ {
		dod, ok := r.readDoD()
		if !ok {
			return dst, fmt.Errorf("%w: truncated at point %d", ErrCorrupt, i)
		}
		stepDelta += dod
		dod, ok = r.readDoD()
		if !ok {
			return dst, fmt.Errorf("%w: truncated at point %d", ErrCorrupt, i)
		}
		timeDelta += dod
		p := Point{Step: int64(uint64(prev.Step) + stepDelta), Time: int64(uint64(prev.Time) + timeDelta)}
		ctl, ok := r.read(1)
		if !ok {
			return dst, fmt.Errorf("%w: truncated at point %d", ErrCorrupt, i)
		}
		if ctl == 1 {
			ctl, ok = r.read(1)
			if !ok {
				return dst, fmt.Errorf("%w: truncated at point %d", ErrCorrupt, i)
			}
			if ctl == 1 {
				l, ok1 := r.read(6)
				m, ok2 := r.read(6)
				if !ok1 || !ok2 {
					return dst, fmt.Errorf("%w: truncated at point %d", ErrCorrupt, i)
				}
				if int(l)+int(m)+1 > 64 {
					return dst, fmt.Errorf("%w: XOR window of %d+%d bits at point %d", ErrCorrupt, l, m+1, i)
				}
				lead, trail = int(l), 64-int(l)-int(m)-1
			} else if lead < 0 {
				return dst, fmt.Errorf("%w: XOR window reused before one was set, point %d", ErrCorrupt, i)
			}
			x, ok := r.read(uint(64 - lead - trail))
			if !ok {
				return dst, fmt.Errorf("%w: truncated at point %d", ErrCorrupt, i)
			}
			prevBits ^= x << uint(trail)
		}
		p.Value = math.Float64frombits(prevBits)
		dst = append(dst, p)
		prev = p
	}
	if r.rest() >= 8 {
		return dst, fmt.Errorf("%w: %d bytes after the last point", ErrCorrupt, r.rest()/8)
	}
	return dst, nil
}

// Count returns the number of points in block data, reading only its
// header.
func Count(data []byte) (int, error) {
	n, _, _, err := header(data)
	return int(n), err
}

func header(data []byte) (n uint64, p0 Point, rest []byte, err error) {
	if len(data) == 0 {
		return 0, p0, nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if data[0] != Version {
		return 0, p0, nil, fmt.Errorf("%w: format version %d, this build reads %d", ErrCorrupt, data[0], Version)
	}
	data = data[1:]
	n, k := binary.Uvarint(data)
	if k <= 0 || n == 0 || n > MaxPoints {
		return 0, p0, nil, fmt.Errorf("%w: bad point count", ErrCorrupt)
	}
	data = data[k:]
	if p0.Step, k = binary.Varint(data); k <= 0 {
		return 0, p0, nil, fmt.Errorf("%w: bad first step", ErrCorrupt)
	}
	data = data[k:]
	if p0.Time, k = binary.Varint(data); k <= 0 {
		return 0, p0, nil, fmt.Errorf("%w: bad first time", ErrCorrupt)
	}
	data = data[k:]
	if len(data) < 8 {
		return 0, p0, nil, fmt.Errorf("%w: bad first value", ErrCorrupt)
	}
	p0.Value = math.Float64frombits(binary.BigEndian.Uint64(data))
	return n, p0, data[8:], nil
}

// bitWriter appends bits, most significant first, to buf.
type bitWriter struct {
	buf []byte
	acc uint64 // pending bits, right-aligned
	n   uint   // number of pending bits (< 8 after write returns)
}

// write appends the low n bits of v (n <= 64).
func (w *bitWriter) write(v uint64, n uint) {
	if n > 32 {
		w.write(v>>32, n-32)
		v, n = v&(1<<32-1), 32
	}
	w.acc = w.acc<<n | v&(1<<n-1)
	w.n += n
	for w.n >= 8 {
		w.n -= 8
		w.buf = append(w.buf, byte(w.acc>>w.n))
	}
}

// flush writes the pending bits, padded with zeros to a byte.
func (w *bitWriter) flush() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.n)))
		w.n = 0
	}
	return w.buf
}

func (w *bitWriter) writeDoD(d uint64) {
	s := int64(d)
	switch {
	case s == 0:
		w.write(0, 1)
	case s >= -64 && s < 64:
		w.write(0b10<<7|d&(1<<7-1), 9)
	case s >= -256 && s < 256:
		w.write(0b110<<9|d&(1<<9-1), 12)
	case s >= -2048 && s < 2048:
		w.write(0b1110<<12|d&(1<<12-1), 16)
	case s >= math.MinInt32 && s <= math.MaxInt32:
		w.write(0b11110, 5)
		w.write(d, 32)
	default:
		w.write(0b11111, 5)
		w.write(d, 64)
	}
}

// bitReader reads bits, most significant first.
type bitReader struct {
	data []byte
	i    int    // next byte of data to load
	buf  uint64 // loaded bits, left-aligned
	n    uint   // number of loaded bits
}

func (r *bitReader) fill() {
	for r.n <= 56 && r.i < len(r.data) {
		r.buf |= uint64(r.data[r.i]) << (56 - r.n)
		r.i++
		r.n += 8
	}
}

func (r *bitReader) rest() uint { return r.n + uint(len(r.data)-r.i)*8 }

// read returns the next n bits (n <= 64).
func (r *bitReader) read(n uint) (uint64, bool) {
	if n <= r.n {
		// Shifts by 64 give 0 in Go, so n = 0 works too.
		v := r.buf >> (64 - n)
		r.buf <<= n
		r.n -= n
		return v, true
	}
	return r.readSlow(n)
}

func (r *bitReader) readSlow(n uint) (uint64, bool) {
	if n > 32 {
		hi, ok := r.read(n - 32)
		if !ok {
			return 0, false
		}
		lo, ok := r.read(32)
		return hi<<32 | lo, ok
	}
	r.fill()
	if r.n < n {
		return 0, false
	}
	v := r.buf >> (64 - n)
	r.buf <<= n
	r.n -= n
	return v, true
}

// readDoD reads one delta-of-delta, sign-extended.
func (r *bitReader) readDoD() (uint64, bool) {
	if r.n < 16 {
		r.fill()
	}
	prefix := uint(bits.LeadingZeros64(^r.buf))
	if prefix > 5 {
		prefix = 5
	}
	if prefix > r.n || (prefix < 5 && prefix+1 > r.n) {
		return 0, false
	}
	if prefix < 5 {
		r.buf <<= prefix + 1
		r.n -= prefix + 1
	} else {
		r.buf <<= 5
		r.n -= 5
	}
	var width uint
	switch prefix {
	case 0:
		return 0, true
	case 1:
		width = 7
	case 2:
		width = 9
	case 3:
		width = 12
	case 4:
		width = 32
	default:
		width = 64
	}
	v, ok := r.read(width)
	if !ok {
		return 0, false
	}
	if width < 64 {
		shift := 64 - width
		v = uint64(int64(v<<shift) >> shift)
	}
	return v, true
}
