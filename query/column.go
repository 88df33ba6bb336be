package query

import "strings"

// Column names a value that a search result can carry beside its resource:
// a field of the language (status, created_at, tags.owner, metadata.auc,
// attrs.lr, metadata.params.lr) or every key of one kind (tags.*,
// metadata.*, attrs.*). Columns are written like fields in a query, keys
// with other characters quoted in backticks (tags.`a b`).
type Column struct {
	// Field is the field's canonical name: id, type, name, status, version,
	// created_at, updated_at, started_at, ended_at, parent, run, or the
	// kind of a keyed field: tags, metadata, attrs.
	Field string
	// Keys are the key and JSON path of a keyed field: tags: [key];
	// metadata and attrs: [key, path...]. Nil when All is set.
	Keys []string
	// All is set for tags.*, metadata.* and attrs.*: every key of that kind.
	All bool
}

// Keyed reports whether the column is of a keyed kind (tags, metadata,
// attrs and the like), and so comes with Keys or All.
func (c Column) Keyed() bool {
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
		if spec, known := fieldSpecs[strings.ToLower(name)]; known && keyedKind(spec.kind) {
			return Column{Field: strings.ToLower(name), All: true}, nil
		}
		return Column{}, errorAt(src, 0, "%s.* is not a column; .* follows tags, metadata or attrs", shorten(name))
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
