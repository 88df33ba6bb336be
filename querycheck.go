package metatrack

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/metatrack/metatrack/query"
)

// Checks of a query against the data. The query package refuses what no
// resource can match by the rules of the language (a type in upper case, a
// run status that does not exist); these refuse what cannot match in this
// file, where the file says so for certain, and warn about the rest.

// KnownStatuses are the statuses the tracker itself sets. Statuses are free
// text, but one of these in another case ('deployed') is refused in a query
// unless some resource has it as written.
var KnownStatuses = []string{StatusRegistered, StatusPromoted, StatusDeployed, StatusDemoted, StatusRunning, StatusFinished}

// QueryWarning is a note about a valid query that points at something the
// file does not hold (a metadata key no resource has), with the nearest
// thing it holds. The query runs as written.
type QueryWarning struct {
	// Offset, Line and Column locate the note in the query, as in
	// query.Error.
	Offset int `json:"offset"`
	Line   int `json:"line"`
	Column int `json:"column"`
	// Msg says what was not found, and the nearest that was:
	// no resource has metadata key acu; did you mean metadata.auc?
	Msg string `json:"message"`
}

// String formats the warning as "line L, column C: message".
func (w QueryWarning) String() string {
	return fmt.Sprintf("line %d, column %d: %s", w.Line, w.Column, w.Msg)
}

// keyUsed and keys are the statements that say whether a key of a field
// (tags, metadata, attrs) exists, and list them all for a suggestion.
func (x *txn) keyUsed(field string) string {
	switch field {
	case "tags":
		return x.sql.TagKeyUsed
	case "metadata":
		return x.sql.MetadataKeyUsed
	}
	return x.sql.AttrKeyUsed
}

func (x *txn) keys(field string) string {
	switch field {
	case "tags":
		return x.sql.TagKeys
	case "metadata":
		return x.sql.MetadataKeys
	}
	return x.sql.AttrKeys
}

// checkQuery refuses a comparison that cannot match in this file: a
// top-level metadata key or attribute that holds only numbers compared with
// text (metadata.auc > 'high'), or only text compared with a number; a tag
// compared with a number when none of its values is one; a
// status that no resource has but one in another case does, or that the
// tracker sets in another case (status = 'deployed'). The error is a
// positioned *query.Error.
//
// Only required terms (see query.Term) are checked: a branch of an OR, or
// a term under NOT, that cannot match leaves the rest of the query to
// match.
func (x *txn) checkQuery(ctx context.Context, q *query.Query) error {
	for _, term := range q.Terms() {
		if !term.Required {
			continue
		}
		switch {
		case (term.Field == "metadata" || term.Field == "attrs") && len(term.Keys) == 1 && len(term.Values) > 0:
			if err := x.checkValueTypes(ctx, q, term); err != nil {
				return err
			}
		case term.Field == "tags" && len(term.Values) > 0:
			if err := x.checkTagNumbers(ctx, q, term); err != nil {
				return err
			}
		case term.Field == "status" && (term.Op == "=" || term.Op == "!=" || term.Op == "IN" || term.Op == "NOT IN"):
			for _, v := range term.Values {
				if err := x.checkStatus(ctx, q, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkValueTypes checks the literals of a term on a top-level metadata key
// or attribute against the types the key holds.
func (x *txn) checkValueTypes(ctx context.Context, q *query.Query, term query.Term) error {
	hasNum, hasStr := x.sql.MetaHasNum, x.sql.MetaHasStr
	if term.Field == "attrs" {
		hasNum, hasStr = x.sql.AttrHasNum, x.sql.AttrHasStr
	}
	field := term.Field + "." + term.Keys[0]
	var num, str *bool
	has := func(p **bool, query string) (bool, error) {
		if *p == nil {
			var b bool
			if err := x.get(ctx, &b, query, term.Keys[0]); err != nil {
				return false, err
			}
			*p = &b
		}
		return **p, nil
	}
	for _, v := range term.Values {
		var want, other string
		switch {
		case v.Kind == "string" || term.Op == "LIKE" || term.Op == "NOT LIKE" || term.Op == "ILIKE" || term.Op == "NOT ILIKE":
			want, other = hasStr, hasNum
		case v.Kind == "number":
			want, other = hasNum, hasStr
		default:
			continue
		}
		wantP, otherP := &str, &num
		if want == hasNum {
			wantP, otherP = &num, &str
		}
		ok, err := has(wantP, want)
		if err != nil || ok {
			return err
		}
		held, err := has(otherP, other)
		if err != nil || !held {
			return err // a missing key is a warning, not an error
		}
		if want == hasStr {
			return q.Errorf(v.Pos, ErrInvalidArgument, "%s holds numbers, never text: compare it with a number (%s > 0.9)", field, field)
		}
		return q.Errorf(v.Pos, ErrInvalidArgument, "%s holds text, never numbers: quote the value ('%s')", field, v.Text)
	}
	return nil
}

// checkTagNumbers refuses a tag compared with a number when the key is set
// and none of its values is a number (tags are text; a number compares
// with those that read as one).
func (x *txn) checkTagNumbers(ctx context.Context, q *query.Query, term query.Term) error {
	for _, v := range term.Values {
		if v.Kind != "number" {
			continue
		}
		var used, num bool
		if err := x.get(ctx, &used, x.sql.TagKeyUsed, term.Keys[0]); err != nil || !used {
			return err
		}
		if err := x.get(ctx, &num, x.sql.TagNum, term.Keys[0]); err != nil || num {
			return err
		}
		return q.Errorf(v.Pos, ErrInvalidArgument, "tags.%s holds text, never a number: quote the value ('%s')", quoteKey(term.Keys[0]), v.Text)
	}
	return nil
}

// checkStatus refuses a status in the wrong case.
func (x *txn) checkStatus(ctx context.Context, q *query.Query, v query.Literal) error {
	if v.Kind != "string" || v.Text == "" {
		return nil
	}
	var used bool
	if err := x.get(ctx, &used, x.sql.StatusUsed, v.Text); err != nil || used {
		return err
	}
	statuses, err := x.strings(ctx, x.sql.Statuses)
	if err != nil {
		return err
	}
	for _, s := range append(statuses, KnownStatuses...) {
		if strings.EqualFold(s, v.Text) {
			return q.Errorf(v.Pos, ErrInvalidArgument, "no resource has status %s; statuses are case-sensitive: did you mean '%s'? (statuses in use: %s)",
				strconv.Quote(v.Text), s, listOrNone(statuses))
		}
	}
	return nil
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func (x *txn) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	var out []string
	err := x.sel(ctx, &out, query, args...)
	return out, err
}

// QueryWarnings returns notes about filter, a valid query, where it names
// what no resource in the file has: a tags, metadata or attrs key (with the
// nearest key of that kind: did you mean metadata.auc?), a type or a status
// (with those in use). Such a query stays valid, and matches nothing there;
// the CLI prints the notes on stderr. A query Search refuses is an error
// here too.
func (t *Tracker) QueryWarnings(ctx context.Context, filter string) ([]QueryWarning, error) {
	q, err := query.Parse(filter)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	var out []QueryWarning
	err = t.readOne(ctx, func(x *txn) error {
		if err := x.checkQuery(ctx, q); err != nil {
			return err
		}
		warn := func(pos int, format string, args ...any) {
			e := q.Errorf(pos, nil, format, args...)
			out = append(out, QueryWarning{Offset: e.Offset, Line: e.Line, Column: e.Column, Msg: e.Msg})
		}
		seen := map[string]bool{}
		for _, term := range q.Terms() {
			switch term.Field {
			case "tags", "metadata", "attrs":
				key := term.Keys[0]
				if seen[term.Field+"\x00"+key] {
					continue
				}
				seen[term.Field+"\x00"+key] = true
				var used bool
				if err := x.get(ctx, &used, x.keyUsed(term.Field), key); err != nil {
					return err
				}
				if used {
					continue
				}
				keys, err := x.strings(ctx, x.keys(term.Field))
				if err != nil {
					return err
				}
				kind := map[string]string{"tags": "tag", "metadata": "metadata", "attrs": "attribute"}[term.Field]
				msg := fmt.Sprintf("no resource has %s key %s", kind, quoteKey(key))
				if near := query.Nearest(key, keys); near != "" {
					msg += "; did you mean " + term.Field + "." + quoteKey(near) + "?"
				}
				warn(term.Pos, "%s", msg)
			case "alias":
				if term.Op != "=" && term.Op != "IN" {
					continue
				}
				for _, v := range term.Values {
					if v.Kind != "string" || seen["alias="+v.Text] {
						continue
					}
					seen["alias="+v.Text] = true
					var ok bool
					if err := x.get(ctx, &ok, x.sql.AliasUsed, v.Text); err != nil {
						return err
					}
					if ok {
						continue
					}
					names, err := x.strings(ctx, x.sql.AliasNames)
					if err != nil {
						return err
					}
					msg := fmt.Sprintf("no version has alias %s (in use: %s)", strconv.Quote(v.Text), listOrNone(names))
					if near := query.Nearest(v.Text, names); near != "" {
						msg += "; did you mean '" + near + "'?"
					}
					warn(v.Pos, "%s", msg)
				}
			case "type", "status":
				if term.Op != "=" && term.Op != "IN" {
					continue
				}
				for _, v := range term.Values {
					if v.Kind != "string" || seen[term.Field+"="+v.Text] {
						continue
					}
					seen[term.Field+"="+v.Text] = true
					used, all := x.sql.TypeUsed, x.sql.Types
					if term.Field == "status" {
						used, all = x.sql.StatusUsed, x.sql.Statuses
					}
					var ok bool
					if err := x.get(ctx, &ok, used, v.Text); err != nil {
						return err
					}
					if ok {
						continue
					}
					values, err := x.strings(ctx, all)
					if err != nil {
						return err
					}
					msg := fmt.Sprintf("no resource has %s %s (in use: %s)", term.Field, strconv.Quote(v.Text), listOrNone(values))
					candidates := values
					if term.Field == "status" {
						candidates = append(candidates, KnownStatuses...)
					}
					if near := query.Nearest(v.Text, candidates); near != "" {
						msg += "; did you mean '" + near + "'?"
					}
					warn(v.Pos, "%s", msg)
				}
			}
		}
		return nil
	})
	return out, err
}

// quoteKey writes a key as the query language needs it: bare, or in
// backticks.
func quoteKey(k string) string {
	if k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 && !(k[0] >= '0' && k[0] <= '9') {
		return k
	}
	return "`" + strings.ReplaceAll(k, "`", "``") + "`"
}
