package main

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := mustTime("2024-05-03T12:00:00Z")
	for in, want := range map[string]string{
		"2024-05-01T12:00:00Z":      "2024-05-01T12:00:00Z",
		"2024-05-01T14:00:00+02:00": "2024-05-01T12:00:00Z",
		"2024-05-01T12:00:00.5Z":    "2024-05-01T12:00:00.5Z",
		"2024-05-01":                "2024-05-01T00:00:00Z",
		"now":                       "2024-05-03T12:00:00Z",
		"NOW-2h":                    "2024-05-03T10:00:00Z",
		"now-90m":                   "2024-05-03T10:30:00Z",
		"now-30s":                   "2024-05-03T11:59:30Z",
		"now-7d":                    "2024-04-26T12:00:00Z",
		"now-1w":                    "2024-04-26T12:00:00Z",
		"now+1d":                    "2024-05-04T12:00:00Z",
	} {
		got, err := parseTime(in, now)
		if err != nil {
			t.Errorf("parseTime(%q): %v", in, err)
			continue
		}
		if w := mustTimeNano(want); !got.Equal(w) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, want %v", in, got, w)
		}
	}
	for _, in := range []string{"", "yesterday", "now-", "now-2", "now-2y", "now--2h", "now-1h30m", "2024-13-01", "12:00"} {
		if got, err := parseTime(in, now); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", in, got)
		}
	}
}

func mustTimeNano(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}
