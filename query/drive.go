package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	sq "github.com/Masterminds/squirrel"
)

// A query is compiled into one or more parts. The plain part reads
// resources r, with every predicate a condition on r and every sort key
// computed for each row. When an index of tags or metadata can find the
// matching rows in the order of the page, the query is driven by it
// instead: FROM that table joined to resources, the predicate turned into
// conditions on the driving table, and the sort keys expressed on its
// columns, so that SQLite walks the index and stops at the end of the page.
//
//   - tags.k = 'v', with no ORDER BY or ORDER BY tags.k: rows in seq order
//     from tags_key_value (key, value, resource_seq).
//   - metadata.k = <number or string>, with no ORDER BY: likewise from
//     metadata_key_num or metadata_key_str; attrs.k = <number or string>
//     from attr_values_key_num or attr_values_key_str.
//   - metadata.k.path = v, with no ORDER BY: the rows of key k in the
//     order of the primary key of metadata, the path read from each.
//   - ORDER BY metadata.k first, with a predicate on metadata.k that only
//     numbers (or only strings) match: the rows of metadata_key_num (or
//     _str) in the order of the value; the type rank of the sort key is the
//     constant 0 (or 1).
//   - ORDER BY metadata.k first otherwise: three parts, one for each type
//     rank: numbers from metadata_key_num, strings from metadata_key_str,
//     and the other resources (other JSON types, no value) in seq order.
//     Each part takes at most the rows that the page still needs after the
//     parts before it, and a final ORDER BY sorts the few rows they return.
//
// The other top-level conjuncts stay conditions on r, and ties are broken by
// the driving table's resource_seq, which is r.seq. A cursor becomes a
// keyset condition on each part's own sort columns; the constant ones are
// compared with the cursor here, which drops the parts that the cursor has
// passed.
//
// Walking a metadata index in order is fast when many of its rows pass the
// other conditions, and slow when few do (parent = 'x' ORDER BY
// metadata.acc would read the whole index to find 36 rows), and SQLite,
// without statistics, cannot tell. So when the first part walks an index in
// order and the query has other conditions, the part walks at most a
// window of the index: the rows up to the value of its window-th row (see
// windowSize), checking the conditions row by row. When the window ends
// before the page is full, or the page needs rows of the parts after it,
// the query falls back to its plain form, which finds the rows by the
// other conditions and sorts them.
type part struct {
	plain bool // the plain part
	from  string
	drive []frag    // conditions on the driving table alone, ANDed
	conds []frag    // the other conditions, ANDed
	sorts []sortCol // named sort_0, sort_1, ... by build
	tie   string    // the seq column that breaks ties
	// index is the driving table alone ("metadata dm") when the part walks
	// its index in the order of the page: the sort terms are constants and
	// one column (indexed: a metadata value's type rank and its column, or
	// a metric's column alone). Walked through a window, the part has the
	// conditions wdrive instead of drive, and the window's bound on the
	// column: wdrive leaves the bound the only range on its side of the
	// column, so that SQLite stops at it, and when the predicate had a
	// bound on that side (> x when descending) its value is capped (and
	// capped says so) with the window's.
	index  string
	wdrive []frag
	cap    any
	capped bool
}

// onlyLive reports whether the conditions that a part walking a metadata
// index checks row by row are only that the resource is not deleted: others,
// the number of the other conjuncts, is 0. That passes nearly every row, so
// such a part walks its index to the end of the page without a window (see
// build), as hand-written SQL does: the window read a thousand index rows
// for its bound and planned a fallback besides (metadata.accuracy > 0.9 ORDER BY metadata.accuracy DESC
// on 10k resources, second page of 100: 1.66x the hand-written query's time
// with the window, 1.51x without).
func (c *compiler) onlyLive(others int) bool {
	return c.opts.Deleted == NotDeleted && others == 0
}

// windowSize returns the number of index rows a part reads through before
// the query falls back to its plain form, for a page of n rows: enough
// that conditions which pass one row in eight fill the page from the index.
// Tests make it small.
var windowSize = func(n int64) int64 {
	if n > math.MaxInt64/8 {
		return n
	}
	return max(1000, 8*n)
}

// plain returns the plain part of the query, given its compiled conjuncts.
func (c *compiler) plain(frags []frag) part {
	p := part{plain: true, from: "resources r", tie: "r.seq"}
	if len(frags) > 0 {
		p.conds = []frag{joinFrags(frags, " AND ")}
	}
	for _, k := range c.q.order {
		p.sorts = append(p.sorts, c.sortCols(k)...)
	}
	return p
}

// drive returns the parts of a query driven by an index, or nil when the
// query is best run in its plain form. conj are the top-level conjuncts and
// frags their compiled conditions on r.
func (c *compiler) drive(conj []node, frags []frag) []part {
	order := c.q.order
	if len(order) > 0 && fieldSpecs[order[0].field.name].kind == kindMeta && len(order[0].field.keys) == 1 {
		return c.metaOrder(conj, frags)
	}
	if len(order) > 0 && fieldSpecs[order[0].field.name].kind == kindMetric {
		return c.metricOrder(conj, frags)
	}
	// A nested metadata path drives only when no index does: its rows are
	// all the rows of the key, their documents read one by one.
	nested := -1
	for i, x := range conj {
		n, ok := x.(*cmpNode)
		if !ok || n.op != opEq {
			continue
		}
		switch fieldSpecs[n.field.name].kind {
		case kindTag:
			val, ok := tagText(n.vals[0])
			if ok && tagOrder(order, n.field.keys[0]) {
				return []part{c.tagDrive(i, n.field.keys[0], val, frags)}
			}
		case kindMeta:
			if cls := impliedClass(n); len(order) == 0 && len(n.field.keys) == 1 && cls != classNull {
				return []part{c.metaDrive(i, n, cls, conj, frags)}
			}
			if len(order) == 0 && len(n.field.keys) > 1 && nested < 0 {
				nested = i
			}
		case kindAttr:
			if cls := impliedClass(n); len(order) == 0 && len(n.field.keys) == 1 && cls != classNull {
				return []part{c.attrDrive(i, n, cls, frags)}
			}
		}
	}
	if nested >= 0 {
		return []part{c.nestedDrive(nested, conj[nested].(*cmpNode), frags)}
	}
	return nil
}

// tagText returns the text that tags.k = v compares with, when it compares
// texts.
func tagText(v value) (string, bool) {
	switch v.kind {
	case valString:
		return v.s, true
	case valBool:
		return fmt.Sprint(v.b), true
	}
	return "", false
}

// tagOrder reports whether every ORDER BY term is tags.<key>: within the
// rows of tags.key = 'v' they are all the constant 'v'.
func tagOrder(order []sortKey, key string) bool {
	for _, k := range order {
		if fieldSpecs[k.field.name].kind != kindTag || k.field.keys[0] != key {
			return false
		}
	}
	return true
}

// impliedClass returns the class of the values that a predicate on a
// top-level metadata value can match, when it can match only numbers or
// only strings; else classNull.
func impliedClass(n *cmpNode) valueClass {
	switch n.op {
	case opIsNull, opIsNotNull:
		return classNull
	case opLike, opNotLike, opILike, opNotILike:
		return classText
	}
	cls := classNull
	for _, v := range n.vals {
		k := classNull
		switch v.kind {
		case valString:
			k = classText
		case valInt, valFloat:
			k = classNumber
		}
		if k == classNull || (cls != classNull && k != cls) {
			return classNull
		}
		cls = k
	}
	return cls
}

// perRowFrags compiles the conjuncts again, as checks of one resource
// (compiler.perRow), followed, as in Compile, by the deletion condition if
// any. They compiled once already, so they cannot fail.
func (c *compiler) perRowFrags(conj []node) []frag {
	c.perRow = true
	defer func() { c.perRow = false }()
	out := make([]frag, len(conj), len(conj)+1)
	for i, x := range conj {
		f, err := c.node(x)
		if err != nil {
			panic("query: " + err.Error())
		}
		out[i] = f
	}
	if f, ok := deletionFrag(c.opts.Deleted); ok {
		out = append(out, f)
	}
	return out
}

// without returns xs without its i-th element.
func without(xs []frag, i int) []frag {
	out := make([]frag, 0, len(xs))
	out = append(out, xs[:i]...)
	return append(out, xs[i+1:]...)
}

// tagDrive drives the query from the rows of tags.key = val (conjunct i).
func (c *compiler) tagDrive(i int, key, val string, frags []frag) part {
	p := part{from: "tags dt JOIN resources r ON r.seq = dt.resource_seq", tie: "dt.resource_seq"}
	var f fb
	p.drive = []frag{f.s("dt.key = ").arg(key).s(" AND dt.value = ").arg(val).done(false)}
	p.conds = without(frags, i)
	for _, k := range c.q.order {
		p.sorts = append(p.sorts, sortCol{desc: k.desc, konst: true, val: val})
	}
	return p
}

// metaColumn returns the column of metadata dm that predicate n compares
// when only values of class cls match it (dm.num, or dm.str for text),
// its accessors, its rank in the sort order of mixed values, and n
// compiled against it.
func (c *compiler) metaColumn(n *cmpNode, cls valueClass) (col string, acc accessors, rank int64, pred frag) {
	col, acc = "dm.num", accessors{num: frag{sql: "dm.num"}}
	if cls == classText {
		col, acc, rank = "dm.str", accessors{str: frag{sql: "dm.str"}}, 1
	}
	pred, err := c.typed(acc, n)
	if err != nil {
		// n compiled before with the num and str accessors of metadata.
		panic("query: " + err.Error())
	}
	return col, acc, rank, pred
}

// metaDrive drives the query from the rows of the top-level metadata
// predicate n (conjunct i), which only values of class cls match. When the
// query is ordered, its first ORDER BY term is that metadata key.
func (c *compiler) metaDrive(i int, n *cmpNode, cls valueClass, conj []node, frags []frag) part {
	col, acc, rank, pred := c.metaColumn(n, cls)
	p := part{from: "metadata dm JOIN resources r ON r.seq = dm.resource_seq", tie: "dm.resource_seq"}
	key := n.field.keys[0]
	var f fb
	p.drive = []frag{f.s("dm.key = ").arg(key).s(" AND ", col, " IS NOT NULL AND ").frag(pred).done(false)}
	p.conds = without(frags, i)
	if len(c.q.order) == 0 {
		return p
	}
	// In the order of the index, the other conditions check row by row.
	p.conds = without(c.perRowFrags(conj), i)
	desc := c.q.order[0].desc
	p.sorts = append(p.sorts, sortCol{konst: true, val: rank},
		sortCol{frag: frag{sql: col}, desc: desc, column: true, class: cls})
	for _, k := range c.q.order[1:] {
		p.sorts = append(p.sorts, c.sortCols(k)...)
	}
	if len(c.q.order) == 1 && !c.onlyLive(len(conj)-1) {
		p.index = "metadata dm"
		// The window's bound is implied to be NOT NULL; a bound of the
		// predicate on the same side becomes a filter (+col) and caps it.
		wpred := pred
		if side := n.op == opGt || n.op == opGe; n.op.ordering() && side == desc {
			plus := accessors{num: frag{sql: c.p.Unindexed(col)}}
			if cls == classText {
				plus = accessors{str: frag{sql: c.p.Unindexed(col)}}
			}
			wpred, _ = c.typed(plus, n)
			_, p.cap, _ = c.typedArg(acc, n.vals[0])
			p.capped = true
		}
		var w fb
		p.wdrive = []frag{w.s("dm.key = ").arg(key).s(" AND ").frag(wpred).done(false)}
	}
	return p
}

// nestedDrive drives the query from the metadata rows of the key of
// metadata.key.path = v (conjunct i), in seq order: their primary key
// (resource_seq, key) gives them in that order, and each row's document is
// read where it lies instead of being looked up for every resource. A
// resource has at most one row of a key, so the join returns each once.
//
// A number or a string compares with the value as json_extract gives it,
// and only a value that passes has its type checked (Planner.JSONFilter):
// on 10k resources, metadata.training_params.max_depth = 5 took 1.49x the
// time of hand-written SQL with the type read first, 1.20x so.
func (c *compiler) nestedDrive(i int, n *cmpNode, frags []frag) part {
	path := n.field.keys[1:]
	acc := c.jsonAccessors("dm.value", path)
	var check frag
	if v := n.vals[0]; v.kind != valBool {
		as := JSONNumber
		if v.t == nil && v.kind == valString {
			as = JSONText
		}
		value, valueArgs, cond, condArgs := c.p.JSONFilter("dm.value", path, as)
		acc.num, acc.str = frag{sql: value, args: valueArgs}, frag{sql: value, args: valueArgs}
		check = frag{sql: cond, args: condArgs}
	}
	pred, err := c.typed(acc, n)
	if err != nil {
		panic("query: " + err.Error()) // n compiled before with these accessors
	}
	var f fb
	f.s("dm.key = ").arg(n.field.keys[0]).s(" AND ").frag(pred)
	if check.sql != "" {
		f.s(" AND ").frag(check)
	}
	return part{
		from:  "metadata dm JOIN resources r ON r.seq = dm.resource_seq",
		drive: []frag{f.done(false)},
		conds: without(frags, i),
		tie:   "dm.resource_seq",
	}
}

// attrDrive drives the query from the rows of attrs.key = v (conjunct i),
// a number or a string (class cls), in seq order.
func (c *compiler) attrDrive(i int, n *cmpNode, cls valueClass, frags []frag) part {
	acc := accessors{num: frag{sql: "da.num"}}
	if cls == classText {
		acc = accessors{str: frag{sql: "da.str"}}
	}
	pred, err := c.typed(acc, n)
	if err != nil {
		panic("query: " + err.Error()) // n compiled before with these accessors
	}
	var f fb
	return part{
		from:  "attr_values da JOIN resources r ON r.seq = da.resource_seq",
		drive: []frag{f.s("da.key = ").arg(n.field.keys[0]).s(" AND ").frag(pred).done(false)},
		conds: without(frags, i),
		tie:   "da.resource_seq",
	}
}

// metaOrder returns the parts of a query whose first ORDER BY term is a
// top-level metadata value, or nil for the plain form: when it has more
// ORDER BY terms and other conditions, which a window cannot serve.
func (c *compiler) metaOrder(conj []node, frags []frag) []part {
	first := c.q.order[0]
	key := first.field.keys[0]
	for i, x := range conj {
		n, ok := x.(*cmpNode)
		if !ok || fieldSpecs[n.field.name].kind != kindMeta || len(n.field.keys) != 1 || n.field.keys[0] != key {
			continue
		}
		if cls := impliedClass(n); cls != classNull {
			if len(c.q.order) > 1 && len(frags) > 1 {
				return nil
			}
			return []part{c.metaDrive(i, n, cls, conj, frags)}
		}
	}
	if len(c.q.order) > 1 && len(frags) > 0 {
		return nil
	}
	// In the order of the index, the conditions check row by row; the
	// other resources are found by them.
	perRow := c.perRowFrags(conj)
	var rest []sortCol
	for _, k := range c.q.order[1:] {
		rest = append(rest, c.sortCols(k)...)
	}
	sorts := func(head ...sortCol) []sortCol { return append(head, rest...) }
	index := ""
	if len(c.q.order) == 1 && !c.onlyLive(len(conj)) {
		index = "metadata dm"
	}
	from := "metadata dm JOIN resources r ON r.seq = dm.resource_seq"
	var num, str, other, wnum, wstr fb
	return []part{{
		from:   from,
		drive:  []frag{num.s("dm.key = ").arg(key).s(" AND dm.num IS NOT NULL").done(false)},
		wdrive: []frag{wnum.s("dm.key = ").arg(key).done(false)},
		conds:  perRow,
		sorts: sorts(sortCol{konst: true, val: int64(0)},
			sortCol{frag: frag{sql: "dm.num"}, desc: first.desc, column: true, class: classNumber}),
		tie:   "dm.resource_seq",
		index: index,
	}, {
		from:   from,
		drive:  []frag{str.s("dm.key = ").arg(key).s(" AND dm.str IS NOT NULL AND dm.num IS NULL").done(false)},
		wdrive: []frag{wstr.s("dm.key = ").arg(key).s(" AND dm.num IS NULL").done(false)},
		conds:  perRow,
		sorts: sorts(sortCol{konst: true, val: int64(1)},
			sortCol{frag: frag{sql: "dm.str"}, desc: first.desc, column: true, class: classText}),
		tie:   "dm.resource_seq",
		index: index,
	}, {
		from: "resources r",
		conds: append([]frag{other.s("NOT EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ").arg(key).
			s(" AND (m.num IS NOT NULL OR m.str IS NOT NULL))").done(false)}, frags...),
		sorts: sorts(sortCol{konst: true}, sortCol{konst: true, desc: first.desc}),
		tie:   "r.seq",
	}}
}

// indexOrder returns the part of a query for a Dialect that plans by
// statistics (IndexOrder): when its only ORDER BY term is a top-level
// metadata value and a conjunct on that value matches only numbers or only
// strings, the rows of that conjunct from metadata dm in the order of the
// value, the other conjuncts conditions on r; else nil, the plain form.
// The sort columns are the plain form's, the rank and the other type's
// column constant.
func (c *compiler) indexOrder(conj []node, frags []frag) []part {
	order := c.q.order
	if len(order) != 1 || fieldSpecs[order[0].field.name].kind != kindMeta || len(order[0].field.keys) != 1 {
		return nil
	}
	key, desc := order[0].field.keys[0], order[0].desc
	for i, x := range conj {
		n, ok := x.(*cmpNode)
		if !ok || fieldSpecs[n.field.name].kind != kindMeta || len(n.field.keys) != 1 || n.field.keys[0] != key {
			continue
		}
		cls := impliedClass(n)
		if cls == classNull {
			continue
		}
		col, _, rank, pred := c.metaColumn(n, cls)
		var f fb
		p := part{
			from:  "metadata dm JOIN resources r ON r.seq = dm.resource_seq",
			drive: []frag{f.s("dm.key = ").arg(key).s(" AND ", col, " IS NOT NULL AND ").frag(pred).done(false)},
			conds: without(frags, i),
			tie:   "dm.resource_seq",
		}
		value := sortCol{frag: frag{sql: col}, desc: desc, column: true, class: cls}
		none := sortCol{konst: true, desc: desc}
		p.sorts = []sortCol{{konst: true, val: rank}}
		switch {
		case c.mixed():
			p.sorts = append(p.sorts, value)
		case cls == classText:
			value.sql = c.d.Ordered(col)
			p.sorts = append(p.sorts, none, value)
		default:
			p.sorts = append(p.sorts, value, none)
		}
		return []part{p}
	}
	return nil
}

// build returns the SELECT of the parts of a query, after the cursor cur
// (if not nil), with at most limit rows (if not 0). frags are the compiled
// conjuncts, for the plain form that a window falls back to.
func (c *compiler) build(parts []part, conj []node, frags []frag, cur *cursor, limit int64) sq.SelectBuilder {
	type kept struct {
		p     part
		after []frag // the keyset condition, if any
	}
	var keep []kept
	for _, p := range parts {
		var after []frag
		if cur != nil {
			k, all, none := keyset(p.sorts, *cur, p.tie, c.slotted)
			if none {
				continue
			}
			if !all {
				after = []frag{k}
			}
		}
		keep = append(keep, kept{p, after})
	}
	if len(keep) == 0 {
		// The cursor is past every row.
		keep = append(keep, kept{parts[0], []frag{c.never()}})
	}
	first := keep[0].p
	windowed := limit > 0 && first.index != "" && len(first.conds) > 0
	if len(keep) == 1 && first.plain && limit > 0 && len(c.probes) > 0 && c.indexPlans() {
		return c.probed(conj, frags, keep[0].after, limit)
	}
	if len(keep) == 1 && first.plain && limit > 0 && len(c.probes) > 0 && c.countsRows() {
		return c.counted(first, keep[0].after, limit)
	}
	if len(keep) == 1 && !windowed {
		sb := partSelect(first, keep[0].after, "r.seq")
		if limit > 0 {
			sb = sb.Limit(uint64(limit))
		}
		if c.p == nil {
			fb := *fusedSelect(first, keep[0].after)
			if limit > 0 {
				fb = fb.Limit(uint64(limit))
			}
			c.fused = &fb
		}
		return sb
	}

	page := limit // Seqs reads one row more than the limit
	if page > 0 && page < math.MaxInt64 {
		page++
	}
	pageSQL := strconv.FormatInt(page, 10)
	var ctes, union []string
	var args []any
	cte := func(name string, materialized bool, sb sq.SelectBuilder) {
		text, a, err := sb.ToSql()
		if err != nil {
			panic("query: " + err.Error()) // the builders always have columns
		}
		m := ""
		if materialized {
			m = c.p.Materialized()
		}
		ctes = append(ctes, name+" AS "+m+"("+text+")")
		args = append(args, a...)
		union = append(union, "SELECT * FROM "+name)
	}
	if windowed {
		// WITH b AS (the value of the last row of the window), p AS (the
		// first part within the window), ok AS (p filled the page, or has
		// all the rows of the query), fb AS (the page in the plain form
		// when not ok) SELECT ... p if ok, and fb.
		//
		// b is the window-th value of the index after the cursor, none
		// when there are fewer rows; the window-th value is the same
		// whatever the order of ties, so the index gives it unsorted.
		v := first.indexed()
		wb := sq.Select(v.sql + " AS v").From(first.index).PlaceholderFormat(sq.Question)
		w := joinFrags(append(append([]frag(nil), first.drive...), keep[0].after...), " AND ")
		wb = wb.Where(sq.Expr(w.sql, w.args...)).OrderBy(v.orderBy()).
			Suffix("LIMIT 1 OFFSET " + strconv.FormatInt(windowSize(page)-1, 10))
		cte("b", true, wb)
		// The bound is the window's last value, capped with the
		// predicate's: the larger lower bound, or the smaller upper bound.
		var f fb
		bound := c.p.IfNull("(SELECT v FROM b)", c.windowEnd(v))
		switch {
		case first.capped && v.desc:
			f.s(v.sql, windowBound(v), c.p.Max(bound, "?")).args = []any{first.cap}
		case first.capped:
			f.s(v.sql, windowBound(v), c.p.Min(bound, "?")).args = []any{first.cap}
		default:
			f.s(v.sql, windowBound(v), bound)
		}
		p := first
		p.drive = first.wdrive
		cte("p", true, partSelect(p, append(append([]frag(nil), keep[0].after...), f.done(false)), "r.seq AS seq").
			Suffix("LIMIT "+pageSQL))
		ok := "(SELECT count(*) FROM p) >= " + pageSQL
		if len(keep) == 1 {
			ok += " OR NOT EXISTS (SELECT 1 FROM b)"
		}
		cte("ok", true, sq.Select(ok+" AS ok"))
		plain := c.plain(frags)
		var after []frag
		if cur != nil {
			if k, all, none := keyset(plain.sorts, *cur, plain.tie, c.slotted); none {
				after = []frag{c.never()}
			} else if !all {
				after = []frag{k}
			}
		}
		cte("fb", false, partSelect(plain, after, "r.seq AS seq").
			Suffix("LIMIT CASE WHEN (SELECT ok FROM ok) THEN 0 ELSE "+pageSQL+" END"))
		union = []string{"SELECT * FROM p WHERE (SELECT ok FROM ok)", "SELECT * FROM fb"}
	} else {
		// WITH p0 AS (...), p1 AS (...), ... SELECT ... FROM (SELECT *
		// FROM p0 UNION ALL ...). The parts come in the order of the first
		// sort key, so part i needs only the rows that the parts before it
		// left of the page.
		rest := pageSQL
		for i, k := range keep {
			name := "p" + strconv.Itoa(i)
			sb := partSelect(k.p, k.after, "r.seq AS seq")
			switch {
			case page == 0:
			case i == 0:
				sb = sb.Suffix("LIMIT " + pageSQL)
			default:
				sb = sb.Suffix("LIMIT " + c.p.Max("0", rest))
			}
			cte(name, page > 0 && i < len(keep)-1, sb)
			rest += " - (SELECT count(*) FROM " + name + ")"
		}
	}
	return c.outer(ctes, args, union, limit)
}

// outer returns WITH ctes SELECT seq, sort_0, ... FROM (union) in the
// order of the query, with at most limit rows (if not 0): the SELECT of the
// rows of several parts, each of them at most a page.
func (c *compiler) outer(ctes []string, args []any, union []string, limit int64) sq.SelectBuilder {
	cols := []string{"seq"}
	var sorts []sortCol
	for _, k := range c.q.order {
		sorts = append(sorts, c.sortCols(k)...)
	}
	for i := range sorts {
		sorts[i].alias, sorts[i].column = "sort_"+strconv.Itoa(i), false
		cols = append(cols, sorts[i].alias)
	}
	sb := sq.Select(cols...).Prefix("WITH "+strings.Join(ctes, ", "), args...).
		From("(" + strings.Join(union, " UNION ALL ") + ")").PlaceholderFormat(sq.Question)
	for _, s := range sorts {
		sb = sb.OrderBy(s.orderBy())
	}
	sb = sb.OrderBy("seq")
	if limit > 0 {
		sb = sb.Limit(uint64(limit))
	}
	return sb
}

// windowBound is the operator that keeps the rows of a window whose last
// value is the right operand: those up to it in the order of v.
func windowBound(v sortCol) string {
	if v.desc {
		return " >= "
	}
	return " <= "
}

// scanFactor decides between the two forms of probed: the scan when
// count² >= scanFactor × page × resources. Tests change it.
var scanFactor int64 = 2

// probeLimit caps the count of probed.
const probeLimit = 20000

// probed returns the SELECT of a query in its plain form with conjuncts
// r.seq IN (sub), c.probes. That form builds the whole list of a sub
// first, which is fast when the sub matches few resources; when every one
// matches many, walking resources (in seq order, or along the index of the
// ORDER BY column) and looking each one up (the conjuncts compiled per
// row) fills the page after a few rows. The query counts the rows of each
// sub (up to probeLimit), and takes the list of the smallest, its count
// c, when
//
//	c × list cost < rows walked to fill the page × lookup cost
//	c × 0.6 µs    < page × resources / c × 1 µs
//
// roughly c² < 2 × page × resources, else the walk (of the first sub
// compiled per row; the others stay lists). On 100k resources,
// tags.framework = 'xgboost' AND metadata.auc > 0.95 drives from the 201
// resources of the metadata rather than the 440 of the tag.
//
// Seqs runs the count alone, and then only the form it chose (see split;
// Plans remembers the choice). The SELECT returned here makes the choice
// between the walk and the list of the first sub in one statement:
//
//	WITH n AS (SELECT count(*) ... >= ... AS scan), s AS (the walk, LIMIT
//	page if scan else 0), l AS (the list, LIMIT 0 if scan else page)
//	SELECT seq, ... FROM (SELECT * FROM s UNION ALL SELECT * FROM l) ...
func (c *compiler) probed(conj []node, frags []frag, after []frag, limit int64) sq.SelectBuilder {
	page := limit // Seqs reads one row more than the limit
	if page < math.MaxInt64 {
		page++
	}
	pageSQL := strconv.FormatInt(page, 10)
	sub := c.probes[0].sub
	capped := func(sub frag) string {
		return "(SELECT 1 FROM (" + sub.sql + ") LIMIT " + strconv.Itoa(probeLimit) + ")"
	}
	n := sq.Select("count(*) * count(*) >= " + strconv.FormatInt(scanFactor, 10) + " * " + pageSQL +
		" * " + c.p.IfNull("(SELECT max(seq) FROM resources)", "0") + " AS scan").
		From(capped(sub)).PlaceholderFormat(sq.Question)
	walk := append([]frag(nil), frags...)
	walk[c.probes[0].i] = c.perRowFrags(conj)[c.probes[0].i]
	// The same choice in separate statements, for Seqs: the counts alone,
	// and each form alone, so that a choice it remembers (Plans) costs no
	// count and SQLite plans only the form that runs.
	sp := &split{page: page, scan: partSelect(c.plain(walk), after, "r.seq")}
	count := "SELECT "
	for k, p := range c.probes {
		count += "(SELECT count(*) FROM " + capped(p.sub) + "), "
		sp.countArgs = append(sp.countArgs, p.sub.args...)
		sp.lists = append(sp.lists, c.listForm(frags, after, k))
	}
	sp.count = count + c.p.IfNull("(SELECT max(seq) FROM resources)", "0")
	c.split = sp
	var ctes []string
	var args []any = append([]any(nil), sub.args...)
	ctes = append(ctes, "n AS "+c.p.Materialized()+"("+mustSQL(n)+")")
	for _, f := range []struct {
		name, lim string
		frags     []frag
	}{
		{"s", "CASE WHEN (SELECT scan FROM n) THEN " + pageSQL + " ELSE 0 END", walk},
		{"l", "CASE WHEN (SELECT scan FROM n) THEN 0 ELSE " + pageSQL + " END", frags},
	} {
		text, a, err := partSelect(c.plain(f.frags), after, "r.seq AS seq").Suffix("LIMIT " + f.lim).ToSql()
		if err != nil {
			panic("query: " + err.Error())
		}
		ctes = append(ctes, f.name+" AS ("+text+")")
		args = append(args, a...)
	}
	return c.outer(ctes, args, []string{"SELECT * FROM s", "SELECT * FROM l"}, limit)
}

// counted returns the SELECT of a query in its plain form p, with the
// conditions after, for a Dialect that counts rows (RowCounts), and sets
// c.split: the count of the rows of the smallest of the subs of c.probes
// (each capped at probeLimit), then, as in probed, the plain form (scan)
// when that count is large, else the list form: every resource of the
// plain form, computed in full in a MATERIALIZED common table expression
// and sorted there, which costs the few rows of the smallest sub whatever
// the engine estimates of them.
func (c *compiler) counted(p part, after []frag, limit int64) sq.SelectBuilder {
	page := limit // Seqs reads one row more than the limit
	if page < math.MaxInt64 {
		page++
	}
	sb := partSelect(p, after, "r.seq")
	sp := &split{page: page, scan: sb, prepared: true}
	if c.p == nil {
		c.fused = fusedSelect(p, after) // of the scan, as build's of Select
	}
	counts := make([]string, len(c.probes))
	for i, pr := range c.probes {
		counts[i] = "(SELECT count(*) FROM (SELECT 1 FROM (" + pr.sub.sql + ") AS s LIMIT " + strconv.Itoa(probeLimit) + ") AS n)"
		sp.countArgs = append(sp.countArgs, pr.sub.args...)
	}
	sp.count = "SELECT LEAST(" + strings.Join(counts, ", ") + "), COALESCE((SELECT max(seq) FROM resources), 0)"
	text, args, err := partSelect(p, after, "r.seq AS seq").ToSql()
	if err != nil {
		panic("query: " + err.Error()) // the builders always have columns
	}
	cols := []string{"seq"}
	sorts := append([]sortCol(nil), p.sorts...)
	for i := range sorts {
		sorts[i].alias, sorts[i].column = "sort_"+strconv.Itoa(i), false
		cols = append(cols, sorts[i].alias)
	}
	list := sq.Select(cols...).Prefix("WITH l AS MATERIALIZED ("+text+")", args...).From("l").PlaceholderFormat(sq.Question)
	for _, s := range sorts {
		list = list.OrderBy(s.orderBy())
	}
	sp.lists = []sq.SelectBuilder{list.OrderBy("seq")}
	c.split = sp
	return sb.Limit(uint64(limit))
}

// fusedSelect returns the SELECT of part p with the conditions after, as
// partSelect with the seq column, that also reads the columns and joins
// of Compiled.Rows (fusedColumns, fusedJoins), for a dialect without a
// Planner. PostgreSQL joined a page of seqs back to resources, and to the
// parents' rows without the memo it gives a join over the part's own
// rows: the page of tags.optimizer = 'adam' (1,001 rows at 100k) ran in
// 6 ms, against 3 ms with the columns read in the page's own statement.
// SQLite, steered by the forms of this file, keeps the page the outer
// table of the join (joinStatement).
func fusedSelect(p part, after []frag) *sq.SelectBuilder {
	p.from += " " + fusedJoins
	fb := partSelect(p, after, fusedColumns+", r.seq")
	return &fb
}

// listForm is the list form of probed apart, driven by its k-th sub: the
// resources of the list of the sub, which is short when it is chosen,
// looked up one by one (JoinInOrder: keeps SQLite from walking an index
// of the other conditions instead, as it would without statistics) and
// checked against the other conditions. The other subs stay r.seq IN
// (sub), each list built once: checked row by row instead (an EXISTS for
// each row of the list), the 440 rows of tags.framework = 'xgboost' took
// 2.7 ms against 0.55 ms on 100k resources.
func (c *compiler) listForm(frags, after []frag, k int) sq.SelectBuilder {
	sub := c.probes[k].sub
	p := c.plain(without(frags, c.probes[k].i))
	p.from = "l " + c.p.JoinInOrder() + " resources r ON r.seq = l.seq"
	return partSelect(p, after, "r.seq").
		Prefix("WITH l(seq) AS (SELECT DISTINCT resource_seq FROM ("+sub.sql+"))", sub.args...)
}

// mustSQL returns the text of a builder without arguments.
func mustSQL(sb sq.SelectBuilder) string {
	text, _, err := sb.ToSql()
	if err != nil {
		panic("query: " + err.Error())
	}
	return text
}

// windowEnd is the value that keeps every row of class v.class when a
// window has no last row: one that sorts before every number or text when
// descending, after every one otherwise.
func (c *compiler) windowEnd(v sortCol) string { return c.p.End(v.class == classText, v.desc) }

// partSelect returns the SELECT of one part with the extra conditions
// after: the seq column seqCol, then the sort columns, ordered.
func partSelect(p part, after []frag, seqCol string) sq.SelectBuilder {
	sb := sq.Select(seqCol).From(p.from).PlaceholderFormat(sq.Question)
	sorts := append([]sortCol(nil), p.sorts...)
	for i := range sorts {
		s := &sorts[i]
		s.alias = "sort_" + strconv.Itoa(i)
		if s.konst {
			switch v := s.val.(type) {
			case nil:
				sb = sb.Column("NULL AS " + s.alias)
			case int64:
				sb = sb.Column(strconv.FormatInt(v, 10) + " AS " + s.alias)
			default:
				sb = sb.Column(sq.Expr("? AS "+s.alias, v))
			}
			continue
		}
		sb = sb.Column(sq.Expr(s.sql+" AS "+s.alias, s.args...))
	}
	var conds []frag
	conds = append(conds, p.drive...)
	conds = append(conds, p.conds...)
	conds = append(conds, after...)
	if len(conds) > 0 {
		w := joinFrags(conds, " AND ")
		sb = sb.Where(sq.Expr(w.sql, w.args...))
	}
	for _, s := range sorts {
		if !s.konst {
			sb = sb.OrderBy(s.orderBy())
		}
	}
	return sb.OrderBy(p.tie)
}
