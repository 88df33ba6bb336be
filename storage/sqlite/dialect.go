package sqlite

import (
	"strings"

	"github.com/metatrack/metatrack/query"
)

// Dialect is SQLite's SQL for the query language (query.Dialect): JSON
// through json_type and json_extract on TEXT documents, case-sensitive LIKE
// as GLOB, ILIKE as LIKE on lower(), and the forms of a query driven by an
// index (query.Planner), which are written for SQLite's planner.
type Dialect struct{}

var _ query.Dialect = Dialect{}

// Name returns "sqlite".
func (Dialect) Name() string { return "sqlite" }

// Planner returns SQLite's SQL for the forms of a query tuned to its
// planner, which has no statistics and follows the plan a statement spells.
func (Dialect) Planner() query.Planner { return planner{} }

// planner is SQLite's query.Planner.
type planner struct{}

// Unindexed returns +col: a unary plus keeps SQLite from using an index.
func (planner) Unindexed(col string) string { return "+" + col }

func (planner) IfNull(x, y string) string { return "IFNULL(" + x + ", " + y + ")" }

func (planner) Max(x, y string) string { return "max(" + x + ", " + y + ")" }

func (planner) Min(x, y string) string { return "min(" + x + ", " + y + ")" }

// End returns the largest or smallest number (9e999 is infinite), the
// empty text, or a blob, which sorts after every text.
func (planner) End(text, desc bool) string {
	switch {
	case !text && desc:
		return "-9e999"
	case !text:
		return "9e999"
	case desc:
		return "''"
	}
	return "x'ff'"
}

func (planner) Materialized() string { return "MATERIALIZED " }

// JoinInOrder returns CROSS JOIN, which SQLite never reorders.
func (planner) JoinInOrder() string { return "CROSS JOIN" }

// False returns 0.
func (Dialect) False() string { return "0" }

// NotTrue returns NOT IFNULL(cond, 0).
func (Dialect) NotTrue(cond string) string { return "NOT IFNULL(" + cond + ", 0)" }

// Arg returns ?: SQLite compares a value of any type with any other.
func (Dialect) Arg(any) string { return "?" }

// Ordered returns text as it is: SQLite's columns compare with BINARY.
func (Dialect) Ordered(text string) string { return text }

// TextNumber returns the text as a NUMERIC when it is a JSON number.
func (Dialect) TextNumber(text string) string {
	return "CASE WHEN NOT json_valid(" + text + ") THEN NULL " +
		"WHEN json_type(" + text + ") IN ('integer', 'real') THEN CAST(" + text + " AS NUMERIC) END"
}

// Mixed returns COALESCE(num, str).
func (Dialect) Mixed(num, str string) string { return "COALESCE(" + num + ", " + str + ")" }

// JSONFilter returns json_extract of the value, and its json_type as the
// check: SQLite then reads the type (a second lookup of the path) only for
// the values that pass.
func (planner) JSONFilter(doc string, path []string, as query.JSONForm) (string, []any, string, []any) {
	p := jsonPath(path)
	check := "json_type(" + doc + ", ?) IN ('integer', 'real')"
	if as == query.JSONText {
		check = "json_type(" + doc + ", ?) = 'text'"
	}
	return "json_extract(" + doc + ", ?)", []any{p}, check, []any{p}
}

// JSON reads doc with json_type and json_extract and a JSON path ($."a"."b")
// as an argument.
func (Dialect) JSON(doc string, path []string, as query.JSONForm) (string, []any) {
	// typ is json_type of the value, with its arguments.
	typ, args := "json_type("+doc+")", []any(nil)
	p := jsonPath(path)
	if len(path) > 0 {
		typ, args = "json_type("+doc+", ?)", []any{p}
	}
	extract := "json_extract(" + doc + ", ?)"
	switch as {
	case query.JSONText:
		return "CASE WHEN " + typ + " = 'text' THEN " + extract + " END", append(args, p)
	case query.JSONNumber:
		return "CASE WHEN " + typ + " IN ('integer', 'real') THEN " + extract + " END", append(args, p)
	case query.JSONBool:
		return "CASE " + typ + " WHEN 'true' THEN 1 WHEN 'false' THEN 0 END", args
	case query.JSONRank:
		return "CASE " + typ + " WHEN 'integer' THEN 0 WHEN 'real' THEN 0 WHEN 'text' THEN 1 END", args
	case query.JSONScalar:
		return "CASE WHEN " + typ + " IN ('integer', 'real', 'text') THEN " + extract + " END", append(args, p)
	case query.JSONNotNull:
		return typ + " != 'null'", args
	case query.JSONIsNull:
		return "IFNULL(" + typ + ", 'null') = 'null'", args
	case query.JSONIsNotNull:
		return "IFNULL(" + typ + ", 'null') != 'null'", args
	case query.JSONExists:
		return typ + " IS NOT NULL", args
	}
	panic("sqlite: unknown JSON form")
}

// Match is GLOB for LIKE, and LIKE on lower() for ILIKE: SQLite's LIKE
// folds ASCII letters, and its lower() too.
func (Dialect) Match(text, pattern string, fold, not bool) (string, []any) {
	kw := " GLOB "
	if fold {
		kw = " LIKE "
	}
	if not {
		kw = " NOT" + kw
	}
	if fold {
		return "lower(" + text + ")" + kw + `lower(?) ESCAPE '\'`, []any{pattern}
	}
	return text + kw + "?", []any{LikeToGlob(pattern)}
}

// jsonPath returns the SQLite JSON path of keys, each key double-quoted:
// $."params"."lr". Keys must not contain a double quote (checked by the
// parser); backslashes and control characters are escaped as in JSON.
func jsonPath(keys []string) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, k := range keys {
		b.WriteString(`."`)
		for _, r := range k {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&15])
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}

// LikeToGlob turns a LIKE pattern of the query language (% any text, _ one
// character, \ escapes the next character) into the GLOB pattern that
// matches the same strings, case-sensitively.
func LikeToGlob(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		ch := pat[i]
		switch ch {
		case '%':
			b.WriteByte('*')
			continue
		case '_':
			b.WriteByte('?')
			continue
		case '\\':
			if i+1 < len(pat) {
				i++
				ch = pat[i]
			}
		}
		switch ch {
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteByte(ch)
			b.WriteByte(']')
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
