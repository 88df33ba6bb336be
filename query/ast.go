package query

import (
	"strconv"
	"strings"
)

// Query is a parsed filter. Its zero value, and the result of parsing an
// empty string, matches every resource in seq order. A Query is not changed
// by compiling it and may be compiled concurrently.
type Query struct {
	src   string
	where node // nil matches everything
	order []sortKey
	limit int64 // 0 means none
	// tailPos is the offset of ORDER BY or LIMIT, if any.
	tailPos int
}

// String returns the query in canonical form: keywords in upper case, field
// names in lower case, strings single-quoted, keys quoted only when needed,
// no redundant parentheses, = null written IS NULL, <> written !=, ASC
// omitted. Parsing it gives an equivalent query with the same String.
func (q *Query) String() string {
	var b strings.Builder
	if q.where != nil {
		q.where.write(&b)
	}
	if len(q.order) > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(q.orderString())
	}
	if q.limit > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("LIMIT ")
		b.WriteString(strconv.FormatInt(q.limit, 10))
	}
	return b.String()
}

// orderString returns the ORDER BY clause, or "" if there is none.
func (q *Query) orderString() string {
	if len(q.order) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("ORDER BY ")
	for i, k := range q.order {
		if i > 0 {
			b.WriteString(", ")
		}
		k.field.write(&b)
		if k.desc {
			b.WriteString(" DESC")
		}
	}
	return b.String()
}

// Precedences, for printing without redundant parentheses.
const (
	precOr = iota + 1
	precAnd
	precNot
	precAtom
)

// node is a boolean expression of the filter.
type node interface {
	write(b *strings.Builder)
	prec() int
}

type (
	// orNode is x1 OR x2 OR ...; never directly holds another orNode.
	orNode struct{ xs []node }
	// andNode is x1 AND x2 AND ...; never directly holds another andNode.
	andNode struct{ xs []node }
	// notNode is NOT x.
	notNode struct{ x node }
	// cmpNode compares a field with values.
	cmpNode struct {
		field field
		op    op
		vals  []value // one for comparisons and LIKE, several for IN, none for IS NULL
		pos   int     // offset of the operator
	}
	// existsNode is EXISTS field.
	existsNode struct{ field field }
	// lineageNode is upstream_of(ref[, depth]) or downstream_of(ref[, depth]).
	lineageNode struct {
		down   bool
		ref    string
		depth  int64 // 0 means unlimited
		refPos int
	}
)

func (*orNode) prec() int      { return precOr }
func (*andNode) prec() int     { return precAnd }
func (*notNode) prec() int     { return precNot }
func (*cmpNode) prec() int     { return precAtom }
func (*existsNode) prec() int  { return precAtom }
func (*lineageNode) prec() int { return precAtom }

func writeChild(b *strings.Builder, x node, min int) {
	if x.prec() < min {
		b.WriteByte('(')
		x.write(b)
		b.WriteByte(')')
		return
	}
	x.write(b)
}

func (n *orNode) write(b *strings.Builder) {
	for i, x := range n.xs {
		if i > 0 {
			b.WriteString(" OR ")
		}
		writeChild(b, x, precAnd)
	}
}

func (n *andNode) write(b *strings.Builder) {
	for i, x := range n.xs {
		if i > 0 {
			b.WriteString(" AND ")
		}
		writeChild(b, x, precNot)
	}
}

func (n *notNode) write(b *strings.Builder) {
	b.WriteString("NOT ")
	writeChild(b, n.x, precNot)
}

func (n *cmpNode) write(b *strings.Builder) {
	n.field.write(b)
	b.WriteByte(' ')
	b.WriteString(n.op.String())
	switch {
	case n.op == opIsNull || n.op == opIsNotNull:
	case n.op == opIn || n.op == opNotIn:
		b.WriteString(" (")
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			v.write(b)
		}
		b.WriteByte(')')
	default:
		b.WriteByte(' ')
		n.vals[0].write(b)
	}
}

func (n *existsNode) write(b *strings.Builder) {
	b.WriteString("EXISTS ")
	n.field.write(b)
}

func (n *lineageNode) write(b *strings.Builder) {
	if n.down {
		b.WriteString("downstream_of(")
	} else {
		b.WriteString("upstream_of(")
	}
	writeString(b, n.ref)
	if n.depth > 0 {
		b.WriteString(", ")
		b.WriteString(strconv.FormatInt(n.depth, 10))
	}
	b.WriteByte(')')
}

// op is a comparison operator.
type op int

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn
	opNotIn
	opLike
	opNotLike
	opILike
	opNotILike
	opIsNull
	opIsNotNull
)

var opNames = [...]string{
	opEq: "=", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=",
	opIn: "IN", opNotIn: "NOT IN", opLike: "LIKE", opNotLike: "NOT LIKE",
	opILike: "ILIKE", opNotILike: "NOT ILIKE", opIsNull: "IS NULL", opIsNotNull: "IS NOT NULL",
}

func (o op) String() string { return opNames[o] }

// ordering reports whether o is one of < <= > >=.
func (o op) ordering() bool { return o >= opLt && o <= opGe }

// field is a field reference: a resource column, run.name, or a tag,
// metadata or attrs key with an optional JSON path.
type field struct {
	name string   // canonical name: id, type, ..., run.name, tags, metadata, attrs
	keys []string // tags: [key]; metadata: [key, path...]; attrs: [key, path...]
	pos  int
}

func (f field) write(b *strings.Builder) {
	b.WriteString(f.name)
	for _, k := range f.keys {
		b.WriteByte('.')
		writeKey(b, k)
	}
}

func writeKey(b *strings.Builder, k string) {
	if isBareKey(k) {
		b.WriteString(k)
		return
	}
	b.WriteByte('`')
	b.WriteString(strings.ReplaceAll(k, "`", "``"))
	b.WriteByte('`')
}

// valueKind is the kind of a literal.
type valueKind int

const (
	valString valueKind = iota
	valInt
	valFloat
	valBool
	valNull
	valNow  // now, now-7d: s holds the canonical form
	valTime // an unquoted date or time: s holds its text
)

// value is a literal.
type value struct {
	kind valueKind
	s    string
	i    int64
	f    float64
	b    bool
	pos  int
	// t is set for values compared with time fields.
	t *timeValue
}

func (v value) write(b *strings.Builder) {
	switch v.kind {
	case valString:
		writeString(b, v.s)
	case valInt:
		b.WriteString(strconv.FormatInt(v.i, 10))
	case valFloat:
		s := strconv.FormatFloat(v.f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		b.WriteString(s)
	case valBool:
		b.WriteString(strconv.FormatBool(v.b))
	case valNull:
		b.WriteString("null")
	case valNow, valTime:
		b.WriteString(v.s)
	}
}

// writeString writes s single-quoted, escaped so that the lexer reads it
// back as s.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'':
			b.WriteString(`\'`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
}
