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

// timeLayouts are the absolute forms ParseTime accepts, tried in order.
// Forms without a zone are UTC, the zone of every time the CLI prints.
var timeLayouts = []string{
	time.RFC3339Nano,            // 2024-05-01T12:00:00Z, 2024-05-01T12:00:00.5+02:00
	"2006-01-02 15:04:05Z07:00", // 2024-05-01 12:00:00Z
	"2006-01-02T15:04:05",       // 2024-05-01T12:00:00 (UTC)
	"2006-01-02 15:04:05",       // 2024-05-01 12:00:00 (UTC), as tables print times
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	time.DateOnly, // 2024-05-01, midnight UTC
}

// ParseTime parses an absolute time in any form that metatrack prints or
// accepts: RFC 3339 (fractional seconds allowed), the same with a space
// instead of the T, with or without seconds, and a date (midnight). A time
// without a zone is UTC; " UTC" after it says so. Fractional seconds are allowed wherever there are
// seconds.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	// "2024-05-02 12:00:00 UTC", as headings print a time.
	if rest, ok := strings.CutSuffix(s, " UTC"); ok && !strings.ContainsAny(rest[min(len(rest), 10):], "Z+") {
		s = rest
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseTimeString parses a string given to a time field: an absolute time
// (see ParseTime) or a relative form.
func parseTimeString(s string) (timeValue, bool) {
	if off, ok := parseRelative(s); ok {
		return timeValue{relative: true, ms: off}, true
	}
	if t, ok := ParseTime(s); ok {
		return timeValue{ms: t.UnixMilli()}, true
	}
	return timeValue{}, false
}
