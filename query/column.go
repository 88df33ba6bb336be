package query

import (
	"slices"
	"strings"
)

// Column names a value that a search result can carry beside its resource:
// a field of the language (status, created_at, tags.owner, metadata.auc,
// attrs.lr, metadata.params.lr) or every key of one kind (tags.*,
// metadata.*, attrs.*). Columns are written like fields in a query, keys
// with other characters quoted in backticks (tags.`a b`).
type Column struct {
	// Field is the field's canonical name: id, type, name, status, version,
	// created_at, updated_at, started_at, ended_at, parent, run, or the
	// kind of a keyed field: tags, metadata, attrs, metrics.
	Field string `json:"field"`
	// Keys are the key and JSON path of a keyed field: tags: [key];
	// metadata and attrs: [key, path...]; metrics: [key] (the last value)
	// or [key, part] with part one of MetricParts. Nil when All is set.
	Keys []string `json:"keys"`
	// All is set for tags.*, metadata.*, attrs.* and metrics.*: every key
	// of that kind (for metrics, every summary).
	All bool `json:"all"`
}

// MetricsField is the Field of metric columns: metrics.<key> is a series'
// last value, metrics.<key>.<part> a part of its summary.
const MetricsField = "metrics"

// MetricParts are the parts of a metric summary a column can name: the
// last value, the lowest and highest value, the number of points and the
// step of the last point.
var MetricParts = []string{"last", "min", "max", "count", "step"}

// Keyed reports whether the column is of a keyed kind (tags, metadata,
// attrs, metrics), and so comes with Keys or All.
func (c Column) Keyed() bool {
	if c.Field == MetricsField {
		return true
	}
	spec, ok := fieldSpecs[c.Field]
	return ok && keyedKind(spec.kind)
}

func keyedKind(k fieldKind) bool { return k == kindTag || k == kindMeta || k == kindAttr }

// String returns the column in its canonical form, which ParseColumn reads
// back to the same column.
func (c Column) String() string {
	if c.All {
		return c.Field + ".*"
	}
	var b strings.Builder
	field{name: c.Field, keys: c.Keys}.write(&b)
	return b.String()
}

// ParseColumn parses one column. Errors are *Error and match ErrInvalid.
func ParseColumn(src string) (Column, error) {
	s := strings.TrimSpace(src)
	if name, ok := strings.CutSuffix(s, ".*"); ok {
		if c := (Column{Field: strings.ToLower(name)}); c.Keyed() {
			return Column{Field: c.Field, All: true}, nil
		}
		return Column{}, errorAt(src, 0, "%s.* is not a column; .* follows tags, metadata, attrs or metrics", shorten(name))
	}
	if len(src) > MaxLength {
		return Column{}, errorAt(src, MaxLength, "column is longer than %d bytes", MaxLength)
	}
	toks, lerr := lex(src)
	if lerr != nil {
		return Column{}, lerr
	}
	p := &parser{src: src, toks: toks}
	if p.tok().kind == tokEOF {
		return Column{}, errorAt(src, 0, "empty column; name a field such as tags.owner or metadata.auc")
	}
	if t := p.tok(); t.kind == tokIdent && strings.EqualFold(t.text, MetricsField) {
		return p.parseMetricColumn()
	}
	f, spec, err := p.parseField()
	if err != nil {
		return Column{}, err
	}
	if t := p.tok(); t.kind != tokEOF {
		return Column{}, p.errorf(t.pos, "expected the end of the column, found %s", t.describe())
	}
	if spec.kind == kindRef && f.name != "parent" && f.name != "run" {
		return Column{}, errorAt(src, f.pos, "%s is not a column; use run (its id) instead", f.name)
	}
	return Column{Field: f.name, Keys: f.keys}, nil
}

// parseMetricColumn:
//
//	metric_column = "metrics" "." key [ "." part ] EOF .
func (p *parser) parseMetricColumn() (Column, error) {
	start := p.next()
	c := Column{Field: MetricsField}
	for p.tok().kind == tokDot {
		p.next()
		k := p.tok()
		switch {
		case k.kind == tokIdent || k.kind == tokNow && k.val == "now":
			c.Keys = append(c.Keys, k.text)
		case k.kind == tokQuoted:
			c.Keys = append(c.Keys, k.val)
		default:
			return Column{}, p.expected("a metric key (quote keys with other characters in backticks: metrics.`val/loss`)")
		}
		if c.Keys[len(c.Keys)-1] == "" {
			return Column{}, p.errorf(k.pos, "empty key")
		}
		if len(c.Keys) == 2 {
			part := strings.ToLower(c.Keys[1])
			if !slices.Contains(MetricParts, part) || k.kind == tokQuoted {
				return Column{}, p.errorf(k.pos, "a metric column is metrics.<key> or metrics.<key>.<part>, part one of %s; quote keys with dots in backticks: metrics.`a.b`",
					strings.Join(MetricParts, ", "))
			}
			c.Keys[1] = part
		}
		p.next()
		if len(c.Keys) > 2 {
			return Column{}, p.errorf(k.pos, "a metric column is metrics.<key> or metrics.<key>.<part>; quote keys with dots in backticks: metrics.`a.b`")
		}
	}
	if len(c.Keys) == 0 {
		return Column{}, p.errorf(start.pos, "metrics needs a key: metrics.<key>")
	}
	if t := p.tok(); t.kind != tokEOF {
		return Column{}, p.errorf(t.pos, "expected the end of the column, found %s", t.describe())
	}
	if len(c.Keys) == 2 && c.Keys[1] == "last" {
		c.Keys = c.Keys[:1]
	}
	return c, nil
}
