package query

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// units are the units of relative times, in milliseconds.
var units = map[string]int64{
	"s": 1000,
	"m": 60 * 1000,
	"h": 3600 * 1000,
	"d": 24 * 3600 * 1000,
	"w": 7 * 24 * 3600 * 1000,
}

// relativeOffset returns the offset in milliseconds of now<sign><n><unit>,
// or false if it does not fit.
func relativeOffset(sign byte, n int64, unit string) (int64, bool) {
	u := units[unit]
	if u == 0 || n > math.MaxInt64/u/2 {
		return 0, false
	}
	if sign == '-' {
		return -n * u, true
	}
	return n * u, true
}

// parseRelative parses the canonical relative form now, now-7d, now+1h into
// its offset in milliseconds.
func parseRelative(s string) (int64, bool) {
	if strings.EqualFold(s, "now") {
		return 0, true
	}
	if len(s) < 6 || !strings.EqualFold(s[:3], "now") || (s[3] != '-' && s[3] != '+') {
		return 0, false
	}
	unit := s[len(s)-1:]
	n, err := strconv.ParseInt(s[4:len(s)-1], 10, 64)
	if err != nil || n < 0 || s[4] == '+' || s[4] == '-' {
		return 0, false
	}
	return relativeOffset(s[3], n, unit)
}

// timeValue is a timestamp literal: an absolute time in milliseconds, or an
// offset from the compiler's clock.
type timeValue struct {
	relative bool
	ms       int64
}

// at returns the time in UTC milliseconds, given the clock.
func (t timeValue) at(now func() time.Time) int64 {
	if !t.relative {
		return t.ms
	}
	return now().UnixMilli() + t.ms
}

// parseTimeString parses a string given to a time field: RFC 3339 (with or
// without fractional seconds), a date (2006-01-02, midnight UTC) or a
// relative form.
func parseTimeString(s string) (timeValue, bool) {
	if off, ok := parseRelative(s); ok {
		return timeValue{relative: true, ms: off}, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return timeValue{ms: t.UnixMilli()}, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return timeValue{ms: t.UnixMilli()}, true
	}
	return timeValue{}, false
}
