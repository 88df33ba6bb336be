package main

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

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
	// DeletedAt is set only on deleted resources (ls --deleted).
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

func toResourceJSON(r metatrack.Resource) resourceJSON {
	out := resourceJSON{ID: r.ID, Ref: r.Ref(), Type: r.Type, Name: r.Name, Status: r.Status, Attrs: r.Attrs,
		ParentID: optString(r.ParentID), RunID: optString(r.RunID),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		StartedAt: optTime(r.StartedAt), EndedAt: optTime(r.EndedAt), DeletedAt: optTime(r.DeletedAt)}
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

// optInt is nil for 0 (a version that is not set), else n.
func optInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
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
	case time.Time:
		return tableTime(v)
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

// listingAnnotation marks the commands whose output is a list of rows, and
// so can be printed as CSV with -o csv.
const listingAnnotation = "metatrack-listing"

// listing marks cmd as a listing (see listingAnnotation) and returns it.
func listing(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[listingAnnotation] = "true"
	return cmd
}

// isListing reports whether cmd was marked with listing.
func isListing(cmd *cobra.Command) bool { return cmd.Annotations[listingAnnotation] == "true" }

// csv reports whether -o csv was given.
func (a *app) csv() bool { return a.output == outputCSV }

// writeCSV prints rows, a slice of the values a listing's -o json document
// lists, as CSV (RFC 4180): a header, then one record per element. Each
// field of the JSON form is a column, in the order of the JSON document;
// nested objects become dotted columns (attrs.lr, model.ref), arrays stay
// compact JSON, null is an empty cell, strings and times are written as
// they are. Keys that only some rows have get a column all the same, empty
// in the others. An empty list prints the header of its element type's
// zero value, or header when the elements are records.
func (a *app) writeCSV(rows any, header ...string) error {
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return fmt.Errorf("-o csv: %w", err)
	}
	if len(elems) == 0 && len(header) == 0 {
		if t := reflect.TypeOf(rows); t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			zero, err := json.Marshal(reflect.Zero(t.Elem()).Interface())
			if err != nil {
				return err
			}
			flattenJSON(zero, "", func(key, _ string) { header = append(header, key) })
		}
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	cells := make([]map[string]string, len(elems))
	for i, e := range elems {
		cells[i] = map[string]string{}
		err := flattenJSON(e, "", func(key, val string) {
			if _, ok := col[key]; !ok {
				col[key] = len(header)
				header = append(header, key)
			}
			cells[i][key] = val
		})
		if err != nil {
			return fmt.Errorf("-o csv: %w", err)
		}
	}
	w := csv.NewWriter(a.stdout)
	if err := w.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	for _, c := range cells {
		for i, h := range header {
			rec[i] = c[h]
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// flattenJSON calls add with every leaf of the JSON value raw: the fields
// of objects, recursively, named by their dotted path after prefix. A
// value that is not an object is one leaf named prefix without its dot.
func flattenJSON(raw json.RawMessage, prefix string, add func(key, val string)) error {
	raw = json.RawMessage(bytes.TrimSpace(raw))
	if len(raw) == 0 || raw[0] != '{' {
		add(strings.TrimSuffix(prefix, "."), csvCell(raw))
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if len(v) > 0 && v[0] == '{' {
			if err := flattenJSON(v, prefix+key+".", add); err != nil {
				return err
			}
			continue
		}
		add(prefix+key, csvCell(v))
	}
	return nil
}

// csvCell is the CSV form of one JSON leaf: strings unquoted, null empty,
// anything else its compact JSON.
func csvCell(v json.RawMessage) string {
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s
		}
	case v[0] == '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err == nil {
			return buf.String()
		}
	}
	return string(v)
}

// record is a JSON object whose fields keep the order they were added in
// (a map's would be sorted): the chosen columns of a row, in the order the
// user named them.
type record []recordField

type recordField struct {
	Key   string
	Value any
}

// MarshalJSON writes the fields in order.
func (r record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalNoEscape is json.Marshal without HTML escaping, like writeJSON.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// jsonText returns v as its compact JSON text (nil and strings stay as
// they are), so that a CSV cell holds a value of any shape whole.
func jsonText(v any) any {
	switch v := v.(type) {
	case nil, string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	b, err := marshalNoEscape(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// cellValue shows a column's value in a table: numbers to 6 significant
// digits (-o json and -o csv have them whole), times to the second,
// anything else as tableValue does, at most 40 characters.
func cellValue(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	return tableValue(v, 40)
}

// jsonValue makes a column's value encodable as JSON: NaN and infinities
// (which JSON lacks) become the strings "NaN", "Inf" and "-Inf", metric
// summaries their JSON form.
func jsonValue(v any) any {
	switch v := v.(type) {
	case float64:
		return finite(v)
	case map[string]metatrack.MetricSummary:
		out := make(map[string]metricAtJSON, len(v))
		for k, s := range v {
			out[k] = toMetricAtJSON(s)
		}
		return out
	}
	return v
}
