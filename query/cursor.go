package query

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
)

// sortCol is one compiled ORDER BY term.
type sortCol struct {
	frag   // the sort expression; nullable says it may be NULL
	alias  string
	desc   bool
	column bool // the expression is a plain column: ORDER BY names it, not its alias
	// konst says that the term has the value val on every row of the
	// query (a part of a driven query): it is selected as that value,
	// left out of ORDER BY, and compared with a cursor in Go.
	konst bool
	val   any // nil, int64 or string
	// class, when set, says that the expression is never NULL and always
	// of this class, so that a cursor value of another class is compared
	// in Go and the first such term can bound an index range.
	class valueClass
	// text says that the expression is text compared by Dialect.Ordered,
	// so that a query that sorts the column again (Compiled.Rows) orders
	// it the same way.
	text bool
}

// valueClass is the class of a SQLite value in its sort order: NULL, then
// numbers, then text.
type valueClass int

const (
	classNull valueClass = iota
	classNumber
	classText
)

// classOf returns the class of a cursor value (nil, int64, float64 or
// string).
func classOf(v any) valueClass {
	switch v.(type) {
	case nil:
		return classNull
	case string:
		return classText
	}
	return classNumber
}

// compareValues compares two values of a cursor or a constant sort term as
// SQLite compares them (BINARY collation): NULL < numbers < text, numbers by
// value, text byte-wise. It returns -1, 0 or +1.
func compareValues(a, b any) int {
	ca, cb := classOf(a), classOf(b)
	switch {
	case ca != cb:
		return cmp.Compare(ca, cb)
	case ca == classText:
		return strings.Compare(a.(string), b.(string))
	case ca == classNumber:
		return compareNumbers(a, b)
	}
	return 0
}

// compareNumbers compares two int64 or float64 values exactly.
func compareNumbers(a, b any) int {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -compareFloatInt(b.(float64), ai)
	case bInt:
		return compareFloatInt(a.(float64), bi)
	}
	return cmp.Compare(a.(float64), b.(float64))
}

// compareFloatInt compares f with i without rounding i.
func compareFloatInt(f float64, i int64) int {
	switch {
	case f < -0x1p63:
		return -1
	case f >= 0x1p63:
		return 1
	}
	t := math.Trunc(f)
	if c := cmp.Compare(int64(t), i); c != 0 {
		return c
	}
	return cmp.Compare(f, t)
}

// after says where the rows of a sort term stand against the cursor value v
// when the term alone decides: +1 after, -1 before, 0 tied (or undecided
// for a term that is neither constant nor of another class than v, ok
// false). NULLs sort last in both directions.
func (s sortCol) after(v any) (side int, ok bool) {
	var c int
	switch {
	case s.konst:
		switch {
		case s.val == nil && v == nil:
			return 0, true
		case s.val == nil:
			return 1, true
		case v == nil:
			return -1, true
		}
		c = compareValues(s.val, v)
	case s.class != classNull && classOf(v) != s.class:
		if v == nil {
			return -1, true
		}
		c = cmp.Compare(s.class, classOf(v))
	default:
		return 0, false
	}
	if s.desc {
		c = -c
	}
	return c, true
}

// orderBy returns the ORDER BY term. NULLs sort last in both directions.
func (s sortCol) orderBy() string {
	expr := s.alias
	if s.column {
		expr = s.sql // lets SQLite walk an index in order
	}
	dir := " ASC"
	if s.desc {
		dir = " DESC"
	}
	if s.nullable {
		return expr + dir + " NULLS LAST"
	}
	return expr + dir
}

// sortCols compiles an ORDER BY term into one or two sort columns:
// resource columns as they are, runs and parents by their text field, tags
// as text. Metadata and attrs sort by two columns: the type rank (numbers,
// then strings) ascending, then the value in the asked direction, so that
// numbers come before strings in both directions; booleans, null, objects,
// arrays and missing values are NULL and sort last.
func (c *compiler) sortCols(k sortKey) []sortCol {
	s := sortCol{desc: k.desc}
	spec := fieldSpecs[k.field.name]
	var f fb
	switch spec.kind {
	case kindText:
		s.frag, s.column, s.text = frag{sql: c.d.Ordered(spec.col), nullable: spec.nullable}, true, true
	case kindNumber, kindTime:
		s.frag, s.column = frag{sql: spec.col, nullable: spec.nullable}, true
	case kindRef:
		s.text = true
		s.frag = f.s(c.d.Ordered("(SELECT " + spec.refCol + " FROM " + spec.from + " WHERE " + spec.target + " = " + spec.col + ")")).done(true)
	case kindTag:
		s.text = true
		s.frag = frag{sql: c.d.Ordered("(SELECT t.value FROM tags t WHERE t.resource_seq = r.seq AND t.key = ?)"),
			args: []any{k.field.keys[0]}, nullable: true}
	case kindAlias:
		s.text = true
		s.frag = f.s("(SELECT min(", c.d.Ordered("al.name"), ") FROM aliases al WHERE al.version_seq = r.seq)").done(true)
	case kindMetric:
		key, col := metricField(k.field.keys)
		s.frag = f.s("(SELECT ", col, " FROM metric_series ms WHERE ms.resource_seq = r.seq AND ms.key = ").arg(key).s(")").done(true)
	case kindMeta:
		key := k.field.keys[0]
		// value returns the sort column of the value v of the metadata
		// row.
		value := func(v frag) frag {
			var f fb
			return f.s("(SELECT ").frag(v).s(" FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ").arg(key).s(")").done(true)
		}
		var rank frag
		var vals []frag // the value; or its number and its text
		if len(k.field.keys) == 1 {
			rank = frag{sql: "CASE WHEN m.num IS NOT NULL THEN 0 WHEN m.str IS NOT NULL THEN 1 END"}
			if mixed := c.d.Mixed("m.num", "m.str"); mixed != "" {
				vals = []frag{{sql: mixed}}
			} else {
				vals = []frag{{sql: "m.num"}, {sql: "m.str"}}
			}
		} else {
			path := k.field.keys[1:]
			rank = c.json("m.value", path, JSONRank, true)
			if c.mixed() {
				vals = []frag{c.json("m.value", path, JSONScalar, true)}
			} else {
				vals = []frag{c.json("m.value", path, JSONNumber, true), c.json("m.value", path, JSONText, true)}
			}
		}
		out := []sortCol{{frag: value(rank)}}
		for i, v := range vals {
			v = value(v)
			if i == 1 {
				v.sql = c.d.Ordered(v.sql)
			}
			out = append(out, sortCol{frag: v, desc: k.desc, text: i == 1})
		}
		return out
	case kindAttr:
		path := k.field.keys
		out := []sortCol{{frag: c.json("r.attrs", path, JSONRank, true)}}
		if c.mixed() {
			return append(out, sortCol{frag: c.json("r.attrs", path, JSONScalar, true), desc: k.desc})
		}
		text := c.json("r.attrs", path, JSONText, true)
		text.sql = c.d.Ordered(text.sql)
		return append(out, sortCol{frag: c.json("r.attrs", path, JSONNumber, true), desc: k.desc}, sortCol{frag: text, desc: k.desc, text: true})
	}
	return []sortCol{s}
}

// mixed reports whether a sort column can hold numbers and texts
// (Dialect.Mixed), so that a metadata or attribute sort key is its rank
// and its value; else it is its rank, its number and its text.
func (c *compiler) mixed() bool { return c.d.Mixed("m.num", "m.str") != "" }

// sortWidth returns the number of sort columns of an ORDER BY term.
func (c *compiler) sortWidth(k sortKey) int {
	switch fieldSpecs[k.field.name].kind {
	case kindMeta, kindAttr:
		if c.mixed() {
			return 2
		}
		return 3
	}
	return 1
}

// cursor is the position after which the next page starts: the sort values
// and seq of the last row of the previous page.
type cursor struct {
	keys []any
	seq  int64
	// done is how many rows the pages before returned, so that a query's
	// LIMIT (a total) stops the walk.
	done int64
}

// cursorJSON is the encoded form of a cursor, base64url of this JSON.
type cursorJSON struct {
	V int    `json:"v"`           // format version, 1
	O uint32 `json:"o"`           // fingerprint of the query and its ORDER BY
	K []any  `json:"k,omitempty"` // sort values: string, number or null
	S int64  `json:"s"`           // seq
	N int64  `json:"n,omitempty"` // rows returned before the cursor
}

// fingerprint identifies a query in canonical form with its ORDER BY and
// the deletion state it selects, so that a cursor is not used with another
// query or ordering.
func fingerprint(order string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(order))
	return h.Sum32()
}

// Cursor returns the cursor of the page after the row with the given seq
// and sort-key values (the columns after r.seq in Select, as scanned into
// any: int64, float64, string, []byte or nil), taken to end a full page of
// Limit rows: the query's LIMIT counts them.
func (c *Compiled) Cursor(seq int64, keys []any) (string, error) {
	return c.cursorAfter(seq, keys, c.done+c.Limit)
}

// cursorAfter returns the cursor after the row with seq and keys, the
// done-th row of the walk.
func (c *Compiled) cursorAfter(seq int64, keys []any, done int64) (string, error) {
	if len(keys) != c.SortKeys {
		return "", errorNoPos(nil, "cursor needs %d sort values, got %d", c.SortKeys, len(keys))
	}
	cj := cursorJSON{V: 1, O: c.order, S: seq, N: done, K: make([]any, len(keys))}
	for i, k := range keys {
		switch k := k.(type) {
		case nil, string, int64:
			cj.K[i] = k
		case []byte:
			cj.K[i] = string(k)
		case int:
			cj.K[i] = int64(k)
		case float64:
			switch {
			case math.IsNaN(k):
				return "", errorNoPos(nil, "cannot make a cursor from the sort value %v", k)
			case math.IsInf(k, 1):
				// A metric's value may be infinite: JSON has no
				// infinity, but a number beyond float64 reads as one.
				cj.K[i] = json.Number("1e999")
			case math.IsInf(k, -1):
				cj.K[i] = json.Number("-1e999")
			default:
				// Shortest digits that read back as k, with an
				// exponent where they end in zeros that stand for
				// other digits: encoding/json writes 2^60 as
				// 1152921504606847000, which decodes as another
				// integer, and the next page started before the
				// cursor's row, again and again.
				cj.K[i] = json.Number(strconv.FormatFloat(k, 'g', -1, 64))
			}
		default:
			return "", errorNoPos(nil, "cannot make a cursor from a sort value of type %T", k)
		}
	}
	b, err := json.Marshal(cj)
	if err != nil {
		return "", errorNoPos(err, "cannot make a cursor: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor decodes a cursor made for the ORDER BY with the given
// fingerprint and number of terms.
func decodeCursor(s string, order uint32, n int) (cursor, error) {
	bad := func(why string) (cursor, error) {
		e := errorNoPos(nil, "invalid cursor: %s", why)
		e.cursor = true
		return cursor{}, e
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var cj cursorJSON
	if err := dec.Decode(&cj); err != nil || dec.More() {
		return bad("not a cursor")
	}
	if cj.V != 1 {
		return bad("unknown version")
	}
	if cj.O != order || len(cj.K) != n {
		return bad("it was made for another query or ORDER BY (start again without --cursor)")
	}
	if cj.N < 0 {
		return bad("negative count")
	}
	cur := cursor{seq: cj.S, done: cj.N, keys: make([]any, n)}
	for i, k := range cj.K {
		switch k := k.(type) {
		case nil, string:
			cur.keys[i] = k
		case json.Number:
			if !strings.ContainsAny(k.String(), ".eE") {
				if v, err := k.Int64(); err == nil {
					cur.keys[i] = v
					break
				}
				// A float beyond int64, printed without exponent.
			}
			v, err := k.Float64()
			if err != nil && !math.IsInf(v, 0) {
				// Beyond float64, a number is an infinity (see
				// cursorAfter); ParseFloat says so with ErrRange.
				return bad("bad number")
			}
			cur.keys[i] = v
		default:
			return bad(fmt.Sprintf("bad sort value of type %T", k))
		}
	}
	return cur, nil
}

// keyset returns the condition that a row comes after the cursor in the
// order of sorts then the tie-break column tie (the resource seq) ascending,
// with NULLs last in both directions:
//
//	k1 after v1 OR (k1 tie v1 AND k2 after v2) OR ... OR (ties AND tie > s)
//
// Terms that are constant or of another class than their cursor value are
// decided here: all says that every row comes after the cursor (no
// condition is needed), none that no row does. When the first undecided
// term is never NULL, the condition starts with the bound it implies
// (k >= v, or k <= v descending), which an index can be searched with, and
// the later terms leave out the tie k = v, which the bound and k after v
// failing imply:
//
//	k <= v AND (k < v OR k2 > v2 OR ... OR seq > s)
//
// Written with the ties, the condition is an OR of ranges of the index,
// which PostgreSQL read as a union of bitmaps and sorted in full (3.3 ms
// for a second page of 100 at 10k resources), where the bound alone
// walks the index in order and stops at the end of the page (0.7 ms).
//
// When slotted, the cursor's values are not written among the arguments:
// each is a cursorSlot that bindSlots replaces, so that the statement is
// the same for every cursor of the same shape (see cursorShape).
func keyset(sorts []sortCol, cur cursor, tie string, slotted bool) (f frag, all, none bool) {
	key := func(i int) any {
		if slotted {
			return cursorSlot{i}
		}
		return cur.keys[i]
	}
	var terms, ties []frag
	var bound *frag
	// tiesBefore returns the ties a term needs: all of them, but the
	// bounded term's, which the bound implies.
	tiesBefore := func() []frag {
		if bound != nil && len(ties) > 0 {
			return ties[1:]
		}
		return ties
	}
	decided := false
	for i, s := range sorts {
		v := cur.keys[i]
		if side, ok := s.after(v); ok {
			if side == 0 {
				continue
			}
			if side > 0 {
				// Every row that ties on the terms before comes after.
				if len(ties) == 0 {
					return frag{}, true, false
				}
				before := tiesBefore()
				if len(before) == 0 {
					// Every row within the bound comes after.
					return *bound, false, false
				}
				terms = append(terms, joinFrags(append([]frag(nil), before...), " AND "))
			}
			decided = true
			break
		}
		if v != nil {
			// NULLs come after every value, in both directions.
			var after fb
			op := " > "
			if s.desc {
				op = " < "
			}
			after.frag(s.frag).s(op).arg(key(i))
			if s.nullable {
				after.s(" OR ").frag(s.frag).s(" IS NULL")
			}
			if len(terms) == 0 && len(ties) == 0 && s.class != classNull {
				var b fb
				b.frag(s.frag).s(op[:2] + "= ").arg(key(i))
				bf := b.done(false)
				bound = &bf
			}
			terms = append(terms, joinFrags(append(append([]frag(nil), tiesBefore()...), wrap(after.done(false))), " AND "))
			var t fb
			ties = append(ties, t.frag(s.frag).s(" = ").arg(key(i)).done(false))
		} else {
			// Nothing sorts after NULL but other NULLs.
			var t fb
			ties = append(ties, t.frag(s.frag).s(" IS NULL").done(false))
		}
	}
	if !decided {
		var last fb
		seq := any(cur.seq)
		if slotted {
			seq = cursorSlot{-1}
		}
		last.s(tie, " > ").arg(seq)
		terms = append(terms, joinFrags(append(append([]frag(nil), tiesBefore()...), last.done(false)), " AND "))
	}
	if len(terms) == 0 {
		return frag{}, false, true
	}
	f = joinFrags(terms, " OR ")
	if bound != nil {
		f = joinFrags([]frag{*bound, f}, " AND ")
	}
	return f, false, false
}

// wrap parenthesizes f.
func wrap(f frag) frag {
	f.sql = "(" + f.sql + ")"
	return f
}

// cursorSlot stands, among the arguments of a statement compiled for a
// cursor's shape, for a value of the cursor: sort value i, or the seq when
// i is -1. It is a struct so that one left unbound is an error of the
// driver, never a number it would compare.
type cursorSlot struct{ i int }

// bindSlots returns args with each cursorSlot replaced by its value in cur.
func bindSlots(args []any, cur cursor) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(cursorSlot); ok {
			if s.i < 0 {
				a = cur.seq
			} else {
				a = cur.keys[s.i]
			}
		}
		out[i] = a
	}
	return out
}

// cursorShape writes what the cursor cur decides of the statement of a
// query whose parts sort by sortsets (see keyset): for each sort term of
// each part, whether the term alone places the rows before (-), level
// with (0) or after (+) the cursor, or else whether the cursor's value is
// NULL (n) or a value (v). Cursors of the same shape give the same
// statement text, with their values as its arguments.
func cursorShape(b *strings.Builder, sortsets [][]sortCol, cur cursor) {
	for _, sorts := range sortsets {
		for i, s := range sorts {
			v := cur.keys[i]
			switch side, ok := s.after(v); {
			case ok:
				b.WriteByte("-0+"[side+1])
			case v == nil:
				b.WriteByte('n')
			default:
				b.WriteByte('v')
			}
		}
		b.WriteByte('|')
	}
}
