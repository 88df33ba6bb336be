package query

import "strconv"

// Term is one predicate or ORDER BY term of a query, as a caller that knows
// the data sees it: to warn about a metadata key that no resource has, or
// to refuse comparing a key that only ever holds numbers with a string.
type Term struct {
	// Field is the canonical field name: id, type, ..., run.status, tags,
	// metadata or attrs.
	Field string
	// Keys are the key and path of tags, metadata and attrs fields.
	Keys []string
	// Op is the operator (=, !=, <, IN, NOT IN, LIKE, IS NULL, ...),
	// EXISTS, or ORDER BY for a sort term.
	Op string
	// Values are the literals the field is compared with, none for IS
	// NULL, EXISTS and ORDER BY.
	Values []Literal
	// Pos is the byte offset of the field in the query.
	Pos int
	// Required is set on a predicate that every match satisfies: one
	// that is the filter or one of its top-level AND terms, under no OR
	// and no NOT. A required predicate that cannot match makes the whole
	// query match nothing; any other may just select nothing of its own.
	Required bool
}

// Literal is a value of a Term.
type Literal struct {
	// Kind is "string", "number", "bool" or "time" (now-7d and unquoted
	// dates; a quoted string compared with a time field is a "string").
	Kind string
	// Text is the string's value, or the literal as written.
	Text string
	// Pos is the byte offset of the literal in the query.
	Pos int
}

// Terms returns the predicates of the filter, in the order they are
// written, then the ORDER BY terms.
func (q *Query) Terms() []Term {
	var out []Term
	var walk func(n node, required bool)
	walk = func(n node, required bool) {
		switch n := n.(type) {
		case *orNode:
			for _, x := range n.xs {
				walk(x, false)
			}
		case *andNode:
			for _, x := range n.xs {
				walk(x, required)
			}
		case *notNode:
			walk(n.x, false)
		case *existsNode:
			out = append(out, Term{Field: n.field.name, Keys: n.field.keys, Op: "EXISTS", Pos: n.field.pos, Required: required})
		case *cmpNode:
			t := Term{Field: n.field.name, Keys: n.field.keys, Op: n.op.String(), Pos: n.field.pos, Required: required}
			for _, v := range n.vals {
				t.Values = append(t.Values, v.literal())
			}
			out = append(out, t)
		}
	}
	walk(q.where, true)
	for _, k := range q.order {
		out = append(out, Term{Field: k.field.name, Keys: k.field.keys, Op: "ORDER BY", Pos: k.field.pos})
	}
	return out
}

func (v value) literal() Literal {
	l := Literal{Pos: v.pos}
	switch v.kind {
	case valString:
		l.Kind, l.Text = "string", v.s
	case valInt:
		l.Kind, l.Text = "number", strconv.FormatInt(v.i, 10)
	case valFloat:
		l.Kind, l.Text = "number", strconv.FormatFloat(v.f, 'g', -1, 64)
	case valBool:
		l.Kind, l.Text = "bool", strconv.FormatBool(v.b)
	case valNow, valTime:
		l.Kind, l.Text = "time", v.s
	default:
		l.Kind, l.Text = "null", "null"
	}
	return l
}

// Errorf returns an *Error at byte offset pos of the query, with its
// snippet, wrapping cause (which may be nil): for callers that check a
// query against their data and refuse it at a Term or Literal.
func (q *Query) Errorf(pos int, cause error, format string, args ...any) *Error {
	e := errorAt(q.src, pos, format, args...)
	e.Err = cause
	return e
}

// Conjunctive reports whether the filter is an AND of predicates none of
// which is an OR or a NOT: then a resource it matches satisfies each of
// its Terms.
func (q *Query) Conjunctive() bool {
	for _, n := range conjuncts(q.where) {
		switch n.(type) {
		case *orNode, *notNode:
			return false
		}
	}
	return true
}
