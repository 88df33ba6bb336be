package query

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a query. Each one exceeded gives an *Error saying which.
const (
	// MaxLength is the longest query, in bytes.
	MaxLength = 16 << 10
	// MaxDepth is the deepest nesting of parentheses and NOT.
	MaxDepth = 32
	// MaxTerms is the largest number of predicates (comparisons, EXISTS and
	// lineage predicates) in a query.
	MaxTerms = 256
	// MaxList is the largest number of values in one IN list.
	MaxList = 1000
	// MaxValues is the largest number of literal values in a query.
	MaxValues = 4096
	// MaxPath is the largest number of keys in a field (metadata.a.b.c...).
	MaxPath = 32
	// MaxSortKeys is the largest number of ORDER BY terms.
	MaxSortKeys = 8
	// MaxLineageDepth is the largest depth a lineage predicate accepts.
	MaxLineageDepth = 100
)

// Parse parses a filter. An empty (or all white space) filter matches every
// resource. Errors are *Error and match ErrInvalid.
func Parse(src string) (*Query, error) {
	if len(src) > MaxLength {
		return nil, errorAt(src, MaxLength, "query is longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return nil, errorAt(strings.ToValidUTF8(src, "\uFFFD"), off, "query is not valid UTF-8")
	}
	toks, lerr := lex(src)
	if lerr != nil {
		return nil, lerr
	}
	p := &parser{src: src, toks: toks}
	q, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	return q, nil
}

// parser is a recursive-descent parser over the tokens of one query.
type parser struct {
	src    string
	toks   []token
	i      int
	depth  int
	terms  int
	values int
}

func (p *parser) tok() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// is reports whether the current token is the keyword kw.
func (p *parser) is(kw string) bool {
	t := p.tok()
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

// isAt reports whether the token i ahead is the keyword kw.
func (p *parser) isAt(i int, kw string) bool {
	if p.i+i >= len(p.toks) {
		return false
	}
	t := p.toks[p.i+i]
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) errorf(off int, format string, args ...any) *Error {
	return errorAt(p.src, off, format, args...)
}

// expected returns an error at the current token.
func (p *parser) expected(what string) *Error {
	t := p.tok()
	return p.errorf(t.pos, "expected %s, found %s", what, t.describe())
}

// expect consumes a token of the given kind.
func (p *parser) expect(kind tokenKind, what string) (token, *Error) {
	if p.tok().kind != kind {
		return token{}, p.expected(what)
	}
	return p.next(), nil
}

// parseQuery:
//
//	query = [ or_expr ] [ order_by ] [ limit ] EOF .
func (p *parser) parseQuery() (*Query, *Error) {
	q := &Query{src: p.src}
	if p.tok().kind != tokEOF && !p.is("ORDER") && !p.is("LIMIT") {
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		q.where = x
	}
	q.tailPos = p.tok().pos
	if p.is("ORDER") {
		order, err := p.parseOrderBy()
		if err != nil {
			return nil, err
		}
		q.order = order
	}
	if p.is("LIMIT") {
		n, err := p.parseLimit()
		if err != nil {
			return nil, err
		}
		q.limit = n
	}
	if p.tok().kind != tokEOF {
		if q.where == nil && len(q.order) == 0 && q.limit == 0 {
			return nil, p.expected("a filter")
		}
		if q.limit > 0 {
			return nil, p.expected("end of query")
		}
		if len(q.order) > 0 {
			return nil, p.expected("a comma, ASC, DESC, LIMIT or end of query")
		}
		return nil, p.expected("AND, OR, ORDER BY, LIMIT or end of query")
	}
	return q, nil
}

// parseOr:
//
//	or_expr = and_expr { "OR" and_expr } .
func (p *parser) parseOr() (node, *Error) {
	x, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if !p.is("OR") {
		return x, nil
	}
	or := &orNode{}
	or.add(x)
	for p.is("OR") {
		p.next()
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		or.add(y)
	}
	return or, nil
}

func (n *orNode) add(x node) {
	if o, ok := x.(*orNode); ok {
		n.xs = append(n.xs, o.xs...)
		return
	}
	n.xs = append(n.xs, x)
}

// parseAnd:
//
//	and_expr = unary { "AND" unary } .
func (p *parser) parseAnd() (node, *Error) {
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if !p.is("AND") {
		return x, nil
	}
	and := &andNode{}
	and.add(x)
	for p.is("AND") {
		p.next()
		y, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		and.add(y)
	}
	return and, nil
}

func (n *andNode) add(x node) {
	if a, ok := x.(*andNode); ok {
		n.xs = append(n.xs, a.xs...)
		return
	}
	n.xs = append(n.xs, x)
}

// enter counts one level of nesting at the current token.
func (p *parser) enter() *Error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf(p.tok().pos, "nesting is deeper than %d levels of parentheses and NOT", MaxDepth)
	}
	return nil
}

// parseUnary:
//
//	unary = "NOT" unary | primary .
func (p *parser) parseUnary() (node, *Error) {
	if !p.is("NOT") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.next()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &notNode{x: x}, nil
}

// parsePrimary:
//
//	primary = "(" or_expr ")" | "EXISTS" field | lineage | predicate .
func (p *parser) parsePrimary() (node, *Error) {
	t := p.tok()
	switch {
	case t.kind == tokLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "AND, OR or )"); err != nil {
			return nil, err
		}
		p.depth--
		return x, nil
	case p.is("EXISTS"):
		if err := p.term(t.pos); err != nil {
			return nil, err
		}
		p.next()
		f, spec, err := p.parseField()
		if err != nil {
			return nil, err
		}
		if spec.kind != kindTag && spec.kind != kindMeta && spec.kind != kindAttr && spec.kind != kindMetric {
			return nil, p.errorf(f.pos, "EXISTS applies to tags, metadata, attrs and metrics keys; use %s IS NOT NULL", f.name)
		}
		return &existsNode{field: f}, nil
	case t.kind == tokIdent && (strings.EqualFold(t.text, "upstream_of") || strings.EqualFold(t.text, "downstream_of")):
		return p.parseLineage()
	case t.kind == tokIdent && !reserved[strings.ToUpper(t.text)]:
		return p.parsePredicate()
	}
	return nil, p.expected("a field, NOT, EXISTS, upstream_of, downstream_of or (")
}

// reserved are the keywords that cannot start a predicate.
var reserved = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "IN": true, "LIKE": true, "ILIKE": true, "IS": true,
	"NULL": true, "TRUE": true, "FALSE": true, "ORDER": true, "BY": true, "ASC": true, "DESC": true, "LIMIT": true,
}

// term counts one predicate.
func (p *parser) term(off int) *Error {
	p.terms++
	if p.terms > MaxTerms {
		return p.errorf(off, "query has more than %d predicates", MaxTerms)
	}
	return nil
}

// parseLineage:
//
//	lineage = ( "upstream_of" | "downstream_of" ) "(" string [ "," integer ] ")" .
func (p *parser) parseLineage() (node, *Error) {
	t := p.next()
	if err := p.term(t.pos); err != nil {
		return nil, err
	}
	n := &lineageNode{down: strings.EqualFold(t.text, "downstream_of")}
	if _, err := p.expect(tokLParen, "( after "+strings.ToLower(t.text)); err != nil {
		return nil, err
	}
	ref, err := p.expect(tokString, "a quoted resource id or reference")
	if err != nil {
		return nil, err
	}
	if ref.val == "" {
		return nil, p.errorf(ref.pos, "empty resource reference")
	}
	n.ref, n.refPos = ref.val, ref.pos
	if p.tok().kind == tokComma {
		p.next()
		d, err := p.expect(tokInt, "a depth (an integer)")
		if err != nil {
			return nil, err
		}
		n.depth, _ = strconv.ParseInt(d.text, 10, 64)
		if n.depth < 1 || n.depth > MaxLineageDepth {
			return nil, p.errorf(d.pos, "depth must be between 1 and %d; leave it out for no limit", MaxLineageDepth)
		}
	}
	if _, err := p.expect(tokRParen, ")"); err != nil {
		return nil, err
	}
	return n, nil
}

// parseField checks the field against the allow-list:
//
//	field = name { "." key } .
//	key   = ident | quoted_key .
func (p *parser) parseField() (field, fieldSpec, *Error) {
	t, err := p.expect(tokIdent, "a field")
	if err != nil {
		return field{}, fieldSpec{}, err
	}
	f := field{name: strings.ToLower(t.text), pos: t.pos}
	var keyPos []int
	var quoted []bool
	for p.tok().kind == tokDot {
		p.next()
		k := p.tok()
		quoted = append(quoted, k.kind == tokQuoted)
		switch {
		case k.kind == tokIdent || k.kind == tokNow && k.val == "now":
			f.keys = append(f.keys, k.text)
		case k.kind == tokQuoted:
			f.keys = append(f.keys, k.val)
		default:
			return field{}, fieldSpec{}, p.expected("a key (quote keys with other characters in backticks: tags.`my key`)")
		}
		keyPos = append(keyPos, k.pos)
		p.next()
		if len(f.keys) > MaxPath {
			return field{}, fieldSpec{}, p.errorf(k.pos, "field has more than %d keys", MaxPath)
		}
	}
	if f.name == "run" && len(f.keys) > 0 {
		name := "run." + strings.ToLower(f.keys[0])
		if _, ok := fieldSpecs[name]; !ok || len(f.keys) > 1 {
			return field{}, fieldSpec{}, p.errorf(keyPos[0], "unknown run field; use run, run.name or run.status")
		}
		f.name, f.keys = name, nil
	}
	spec, ok := fieldSpecs[f.name]
	if !ok {
		names := make([]string, 0, len(fieldSpecs))
		for n := range fieldSpecs {
			names = append(names, n)
		}
		slices.Sort(names)
		if near := Nearest(f.name, names); near != "" {
			return field{}, fieldSpec{}, p.errorf(t.pos, "unknown field %s; did you mean %s? (fields are %s)", shorten(t.text), near, fieldList)
		}
		return field{}, fieldSpec{}, p.errorf(t.pos, "unknown field %s; fields are %s", shorten(t.text), fieldList)
	}
	switch spec.kind {
	case kindTag:
		if len(f.keys) != 1 {
			return field{}, fieldSpec{}, p.errorf(t.pos, "a tag field is tags.<key>, with one key; quote keys with dots in backticks: tags.`a.b`")
		}
	case kindMeta, kindAttr:
		if len(f.keys) == 0 {
			return field{}, fieldSpec{}, p.errorf(t.pos, "%s needs a key: %s.<key>", f.name, f.name)
		}
	case kindMetric:
		const form = "a metric field is metrics.<key> (the last value) or metrics.<key>.<part>, part one of last, min, max, count, step; quote keys with dots in backticks: metrics.`a.b`"
		switch {
		case len(f.keys) == 0:
			return field{}, fieldSpec{}, p.errorf(t.pos, "metrics needs a key: metrics.<key>")
		case len(f.keys) > 2:
			return field{}, fieldSpec{}, p.errorf(keyPos[2], "%s", form)
		case len(f.keys) == 2:
			part := strings.ToLower(f.keys[1])
			if _, ok := metricColumns[part]; !ok || quoted[1] {
				return field{}, fieldSpec{}, p.errorf(keyPos[1], "%s", form)
			}
			f.keys[1] = part
			if part == "last" {
				f.keys = f.keys[:1]
			}
		}
	default:
		if len(f.keys) > 0 {
			return field{}, fieldSpec{}, p.errorf(keyPos[0]-1, "%s has no keys", f.name)
		}
	}
	for i, k := range f.keys {
		if k == "" {
			return field{}, fieldSpec{}, p.errorf(keyPos[i], "empty key")
		}
		inPath := spec.kind == kindAttr || spec.kind == kindMeta && i > 0
		if inPath && strings.ContainsRune(k, '"') {
			return field{}, fieldSpec{}, p.errorf(keyPos[i], "a key inside a JSON value cannot contain a double quote")
		}
	}
	return f, spec, nil
}

// parsePredicate:
//
//	predicate = field ( cmp_op value
//	                  | [ "NOT" ] "IN" "(" value { "," value } ")"
//	                  | [ "NOT" ] ( "LIKE" | "ILIKE" ) string
//	                  | "IS" [ "NOT" ] "NULL" ) .
//	cmp_op    = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" .
func (p *parser) parsePredicate() (node, *Error) {
	if err := p.term(p.tok().pos); err != nil {
		return nil, err
	}
	f, spec, err := p.parseField()
	if err != nil {
		return nil, err
	}
	n := &cmpNode{field: f, pos: p.tok().pos}
	t := p.tok()
	not := false
	switch {
	case t.kind == tokOp:
		p.next()
		n.op = map[string]op{"=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}[t.val]
		v, err := p.parseValue(t.text)
		if err != nil {
			return nil, err
		}
		n.vals = []value{v}
	case p.is("IS"):
		p.next()
		n.op = opIsNull
		if p.is("NOT") {
			p.next()
			n.op = opIsNotNull
		}
		if !p.is("NULL") {
			return nil, p.expected("NULL")
		}
		p.next()
	case p.is("NOT") && (p.isAt(1, "IN") || p.isAt(1, "LIKE") || p.isAt(1, "ILIKE")):
		p.next()
		not = true
		fallthrough
	case p.is("IN") || p.is("LIKE") || p.is("ILIKE"):
		kw := strings.ToUpper(p.next().text)
		if kw == "IN" {
			n.op = map[bool]op{false: opIn, true: opNotIn}[not]
			vals, err := p.parseList()
			if err != nil {
				return nil, err
			}
			n.vals = vals
			break
		}
		n.op = map[[2]bool]op{{false, false}: opLike, {true, false}: opNotLike, {false, true}: opILike, {true, true}: opNotILike}[[2]bool{not, kw == "ILIKE"}]
		v, err := p.parseValue(kw)
		if err != nil {
			return nil, err
		}
		if v.kind != valString {
			return nil, p.errorf(v.pos, "%s needs a quoted pattern", kw)
		}
		if err := checkLikePattern(v.s); err != nil {
			return nil, p.errorf(v.pos, "%s", err.Error())
		}
		n.vals = []value{v}
	default:
		return nil, p.expected("an operator (=, !=, <, <=, >, >=, IN, NOT IN, LIKE, ILIKE, IS NULL) after " + shorten(f.name))
	}
	if err := p.check(n, spec); err != nil {
		return nil, err
	}
	return n, nil
}

// parseList:
//
//	list = "(" value { "," value } ")" .
func (p *parser) parseList() ([]value, *Error) {
	if _, err := p.expect(tokLParen, "( after IN"); err != nil {
		return nil, err
	}
	var vals []value
	for {
		if len(vals) == MaxList {
			return nil, p.errorf(p.tok().pos, "IN list has more than %d values", MaxList)
		}
		v, err := p.parseValue("IN (")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		if p.tok().kind != tokComma {
			break
		}
		p.next()
	}
	if _, err := p.expect(tokRParen, "a comma or )"); err != nil {
		return nil, err
	}
	return vals, nil
}

// parseValue:
//
//	value = string | integer | float | "true" | "false" | "null" | now .
//	now   = "now" [ ( "-" | "+" ) digits unit ] .
func (p *parser) parseValue(after string) (value, *Error) {
	t := p.tok()
	v := value{pos: t.pos}
	switch {
	case t.kind == tokString:
		v.kind, v.s = valString, t.val
	case t.kind == tokInt:
		v.kind = valInt
		v.i, _ = strconv.ParseInt(t.text, 10, 64)
	case t.kind == tokFloat:
		v.kind = valFloat
		v.f, _ = strconv.ParseFloat(t.text, 64)
	case t.kind == tokNow:
		v.kind, v.s = valNow, t.val
	case t.kind == tokTime:
		v.kind, v.s = valTime, t.val
	case p.is("true") || p.is("false"):
		v.kind, v.b = valBool, p.is("true")
	case p.is("null"):
		v.kind = valNull
	default:
		return value{}, p.expected("a value after " + after)
	}
	p.next()
	p.values++
	if p.values > MaxValues {
		return value{}, p.errorf(t.pos, "query has more than %d values", MaxValues)
	}
	return v, nil
}

// parseOrderBy:
//
//	order_by = "ORDER" "BY" sort_key { "," sort_key } .
//	sort_key = field [ "ASC" | "DESC" ] .
func (p *parser) parseOrderBy() ([]sortKey, *Error) {
	p.next()
	if !p.is("BY") {
		return nil, p.expected("BY after ORDER")
	}
	p.next()
	var keys []sortKey
	for {
		if len(keys) == MaxSortKeys {
			return nil, p.errorf(p.tok().pos, "ORDER BY has more than %d fields", MaxSortKeys)
		}
		f, _, err := p.parseField()
		if err != nil {
			return nil, err
		}
		k := sortKey{field: f}
		if p.is("DESC") {
			k.desc = true
			p.next()
		} else if p.is("ASC") {
			p.next()
		}
		keys = append(keys, k)
		if p.tok().kind != tokComma {
			return keys, nil
		}
		p.next()
	}
}

// parseLimit:
//
//	limit = "LIMIT" integer .
func (p *parser) parseLimit() (int64, *Error) {
	p.next()
	t, err := p.expect(tokInt, "a number after LIMIT")
	if err != nil {
		return 0, err
	}
	n, _ := strconv.ParseInt(t.text, 10, 64)
	if n < 1 {
		return 0, p.errorf(t.pos, "LIMIT must be at least 1")
	}
	return n, nil
}

// sortKey is one ORDER BY term.
type sortKey struct {
	field field
	desc  bool
}

// check checks the operator and values of a predicate against its field,
// rewrites = null and != null to IS NULL and IS NOT NULL, and turns time
// literals into timeValues.
func (p *parser) check(n *cmpNode, spec fieldSpec) *Error {
	if len(n.vals) == 1 && n.vals[0].kind == valNull && n.op != opIn && n.op != opNotIn {
		switch n.op {
		case opEq:
			n.op, n.vals = opIsNull, nil
			return nil
		case opNe:
			n.op, n.vals = opIsNotNull, nil
			return nil
		}
		return p.errorf(n.vals[0].pos, "null compares only with = and != (or use IS NULL)")
	}
	if n.op >= opLike && n.op <= opNotILike {
		switch spec.kind {
		case kindNumber, kindTime:
			return p.errorf(n.pos, "%s holds %s; %s applies to text", n.field.name, spec.kindName(), n.op)
		}
		return nil
	}
	if err := p.checkClosed(n); err != nil {
		return err
	}
	for i := range n.vals {
		v := &n.vals[i]
		if v.kind == valNull {
			return p.errorf(v.pos, "null is not allowed in an IN list; use IS NULL")
		}
		if v.kind == valBool && n.op.ordering() {
			return p.errorf(n.pos, "booleans compare only with =, != and IN")
		}
		if (v.kind == valNow || v.kind == valTime) && spec.kind != kindTime {
			return p.errorf(v.pos, "%s is a time, but %s holds %s; quote it to compare text", v.s, n.field.name, spec.kindName())
		}
		switch spec.kind {
		case kindText, kindRef:
			if v.kind != valString {
				return p.errorf(v.pos, "%s holds text; quote the value", n.field.name)
			}
		case kindNumber:
			if v.kind != valInt && v.kind != valFloat {
				return p.errorf(v.pos, "%s holds a number", n.field.name)
			}
		case kindTime:
			switch v.kind {
			case valInt:
				v.t = &timeValue{ms: v.i}
			case valNow:
				off, _ := parseRelative(v.s)
				v.t = &timeValue{relative: true, ms: off}
			case valString, valTime:
				t, ok := parseTimeString(v.s)
				if !ok {
					return p.errorf(v.pos, "%s holds a time: give UTC milliseconds, an RFC 3339 time (2024-05-01T12:00:00Z), a time as the CLI prints it ('2024-05-01 12:00:00', UTC), a date (2024-05-01) or now-7d", n.field.name)
				}
				v.t = &t
			default:
				return p.errorf(v.pos, "%s holds a time: give UTC milliseconds, an RFC 3339 time, a date or now-7d", n.field.name)
			}
		}
	}
	return nil
}

// RunStatuses are the statuses a run can have (metatrack's RunRunning,
// RunFinished and RunFailed): run.status compared with any other value is
// an error.
var RunStatuses = []string{"RUNNING", "FINISHED", "FAILED"}

// typeName is the pattern of a resource type name.
var typeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// checkClosed refuses a value that no resource can have: a type that is not
// a type name (types are lower case), a run status that does not exist.
// LIKE patterns are not checked.
func (p *parser) checkClosed(n *cmpNode) *Error {
	if n.op != opEq && n.op != opNe && n.op != opIn && n.op != opNotIn {
		return nil
	}
	for _, v := range n.vals {
		if v.kind != valString {
			continue
		}
		switch n.field.name {
		case "type":
			if typeName.MatchString(v.s) {
				continue
			}
			if low := strings.ToLower(v.s); typeName.MatchString(low) {
				return p.errorf(v.pos, "type names are lower case: did you mean '%s'?", low)
			}
			return p.errorf(v.pos, "%s is not a type name: types are lower-case letters, digits and _, starting with a letter", shorten(strconv.Quote(v.s)))
		case "run.status":
			if slices.Contains(RunStatuses, v.s) {
				continue
			}
			msg := fmt.Sprintf("no run has status %s: run statuses are %s", shorten(strconv.Quote(v.s)), strings.Join(RunStatuses, ", "))
			if near := Nearest(v.s, RunStatuses); near != "" {
				msg += "; did you mean '" + near + "'?"
			}
			return p.errorf(v.pos, "%s", msg)
		}
	}
	return nil
}

// checkLikePattern rejects a pattern that ends with a lone escape.
func checkLikePattern(pat string) error {
	for i := 0; i < len(pat); i++ {
		if pat[i] == '\\' {
			i++
			if i == len(pat) {
				return errLikeEscape
			}
		}
	}
	return nil
}

type likeError string

func (e likeError) Error() string { return string(e) }

const errLikeEscape = likeError(`pattern ends with the escape character \`)
