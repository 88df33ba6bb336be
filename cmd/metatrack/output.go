package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/metatrack/metatrack"
)

// What the listings share: the JSON form of a resource, and how tables
// show times and values.

// resourceJSON is a resource in -o json documents. Absent values are null,
// never omitted, so that scripts see every field.
type resourceJSON struct {
	ID        string         `json:"id"`
	Ref       string         `json:"ref"`
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	Version   *int           `json:"version"`
	ParentID  *string        `json:"parent_id"`
	Status    string         `json:"status"`
	Attrs     map[string]any `json:"attrs"`
	RunID     *string        `json:"run_id"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	StartedAt *time.Time     `json:"started_at"`
	EndedAt   *time.Time     `json:"ended_at"`
}

func toResourceJSON(r metatrack.Resource) resourceJSON {
	out := resourceJSON{ID: r.ID, Ref: r.Ref(), Type: r.Type, Name: r.Name, Status: r.Status, Attrs: r.Attrs,
		ParentID: optString(r.ParentID), RunID: optString(r.RunID),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		StartedAt: optTime(r.StartedAt), EndedAt: optTime(r.EndedAt)}
	if r.Version > 0 {
		v := r.Version
		out.Version = &v
	}
	if out.Attrs == nil {
		out.Attrs = map[string]any{}
	}
	return out
}

func toResourcesJSON(rs []metatrack.Resource) []resourceJSON {
	out := make([]resourceJSON, len(rs))
	for i, r := range rs {
		out[i] = toResourceJSON(r)
	}
	return out
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// tableTime is the form of times in tables: UTC to the second, "-" for
// the zero time.
const tableTimeLayout = "2006-01-02 15:04:05"

func tableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(tableTimeLayout)
}

// tableValue shows a decoded JSON value in a table cell: a string as it
// is, anything else as compact JSON, nil as "-", at most max characters
// (0: no limit), newlines and tabs escaped so that the table stays intact.
func tableValue(v any, max int) string {
	var s string
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return `""`
		}
		s = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			s = fmt.Sprint(v)
		} else {
			s = string(b)
		}
	}
	s = strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		cut := len(string([]rune(s)[:max]))
		// Never cut an id in two: half an id is no use, and worse than none.
		for _, m := range idPattern.FindAllStringIndex(s, -1) {
			if m[0] < cut && cut < m[1] {
				cut = m[0]
			}
		}
		s = s[:cut] + "..."
	}
	return s
}

// idPattern matches the ids the library generates (UUIDs).
var idPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// newTable returns the writer of an aligned table on w; call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// duration rounds d for a table.
func duration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}

// plural returns "n thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, thing)
	}
	if strings.HasSuffix(thing, "s") {
		return fmt.Sprintf("%d %ses", n, thing)
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// sortChains sorts chains by head type, then name.
func sortChains[T any](cs []T, key func(T) (headType, name string)) {
	slices.SortStableFunc(cs, func(a, b T) int {
		at, an := key(a)
		bt, bn := key(b)
		return cmp.Or(cmp.Compare(at, bt), cmp.Compare(an, bn))
	})
}
