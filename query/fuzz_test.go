package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"",
	"type = 'model_version' AND metadata.accuracy > 0.9 AND tags.env = 'prod'",
	"metadata.params.lr <= 1e-3 OR attrs.trainer IN ('xgboost', \"lightgbm\", 3, true)",
	"created_at > now-7d AND NOT status = 'FAILED' ORDER BY created_at DESC LIMIT 20",
	"upstream_of('mv1') AND type = 'dataset_version' OR downstream_of('d1', 2)",
	"tags.`my key.x` ILIKE 'a\\_b%' AND name NOT LIKE '%[*?]' AND tags.score > -1.5e3",
	"NOT (version = 3 OR parent = 'abc') AND run.name = 'r' AND run IS NOT NULL",
	"EXISTS metadata.a.`b c` AND NOT EXISTS tags.x AND attrs.n IS NULL AND metadata.q = null",
	"created_at IN (1700000000000, '2024-05-01', '2024-05-01T12:00:00Z', 'now-1w', now+3h)",
	"ORDER BY metadata.acc DESC, tags.env, attrs.x, parent DESC, run.status, version LIMIT 3",
	"tags.note = '\\'; DROP TABLE resources; --' OR tags.`x``y` = \"\\\"\" OR name = '\\u00e9\\n'",
	"((((name = 'a'))))",
	"name = 'x'\n  AND\tstatus != \"y\"",
	"status =",
	"tags.`unterminated",
	"metadata.k.`a\\b`.c != false",
	"tags.env = 'prod' AND type = 'x' ORDER BY tags.env DESC, tags.env",
	"metadata.acc > 0.5 AND type = 'x' ORDER BY metadata.acc",
	"metadata.fw NOT LIKE 'a%' ORDER BY metadata.fw DESC LIMIT 1",
	"EXISTS metadata.acc ORDER BY metadata.acc DESC, id",
	"attrs.n = 3 AND attrs.s IS NULL AND NOT EXISTS attrs.t",
	"metadata.acc = 'x' AND tags.a = true",
	"name = 'it''s' OR name = \"say \"\"hi\"\"\" OR status IN ('''', 'a''')",
	"created_at > 2024-05-01 AND updated_at <= 2026-12-04 14:23:15 UTC AND ended_at < 2024-05-01T10:00:00.5+02:00",
	"created_at IN (2024-05-01 10:00, '2026-12-04 14:23:15') LIMIT 2",
	"metadata.loss/00001 > 0.5",
	"parent = 'model_version/m@2' AND id NOT IN ('mv1', 'model_version/m@1/experiment/e') AND type = 'Model_Version'",
	"run.status IN ('RUNNING', 'failed')",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	db := MustOpen(f)
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): error %T %v", src, err, err)
			}
			if e.Offset < 0 || e.Offset > len(src) || e.Line < 1 || e.Column < 1 || !strings.HasSuffix(e.Error(), "^") {
				t.Fatalf("Parse(%q): bad position in %v", src, e)
			}
			return
		}

		// Round trip through the canonical form.
		canon := q.String()
		q2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", src, canon, err)
		}
		if got := q2.String(); got != canon {
			t.Fatalf("round trip of %q:\n%q\n%q", src, canon, got)
		}

		opts := Options{Dialect: testDialect, Now: testNow, Resolve: func(string) (int64, error) { return 2, nil }, Limit: 2}
		c, err := Compile(q, opts)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		text, args, err := c.Select.ToSql()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(text, "?") != len(args) {
			t.Fatalf("%q: %d placeholders, %d args:\n%s", src, strings.Count(text, "?"), len(args), text)
		}

		// Every literal reaches SQLite as an argument...
		for _, v := range literals(q) {
			_, pattern := testDialect.Match("x", v, false, false)
			if !slices.Contains(args, any(v)) && !slices.Contains(args, pattern[0]) {
				t.Fatalf("%q: literal %q is not an argument: %v", src, v, args)
			}
		}
		// ...and never as SQL text: with every string, key, reference and
		// number replaced, the SQL is the same.
		cn, err := Compile(neutral(q), opts)
		if err != nil {
			t.Fatalf("Compile(neutral(%q)): %v", src, err)
		}
		if text2, args2, _ := cn.Select.ToSql(); text2 != text || len(args2) != len(args) {
			t.Fatalf("%q: SQL depends on the values:\n%s\n%s", src, text, text2)
		}

		// SQLite takes it, and the pages do not overlap.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		first, next, err := c.Seqs(ctx, db)
		if err != nil {
			t.Fatalf("%q: %v\n%s %v", src, err, text, args)
		}
		if next == "" {
			return
		}
		opts.Cursor = next
		c, err = Compile(q, opts)
		if err != nil {
			t.Fatalf("%q: cursor %q: %v", src, next, err)
		}
		second, _, err := c.Seqs(ctx, db)
		if err != nil {
			t.Fatalf("%q: second page: %v", src, err)
		}
		for _, s := range second {
			if slices.Contains(first, s) {
				t.Fatalf("%q: %d on both pages %v %v", src, s, first, second)
			}
		}
	})
}

// literals returns the user text of q that must reach SQLite as arguments:
// string values other than times, tag keys and metadata keys.
func literals(q *Query) []string {
	var out []string
	walk(q.where, func(n node) {
		switch n := n.(type) {
		case *cmpNode:
			for _, v := range n.vals {
				if v.kind == valString && v.t == nil {
					out = append(out, v.s)
				}
			}
			if k := fieldSpecs[n.field.name].kind; k == kindTag || k == kindMeta {
				out = append(out, n.field.keys[0])
			}
		case *existsNode:
			if k := fieldSpecs[n.field.name].kind; k == kindTag || k == kindMeta {
				out = append(out, n.field.keys[0])
			}
		}
	})
	return out
}

func walk(n node, fn func(node)) {
	if n == nil {
		return
	}
	fn(n)
	switch n := n.(type) {
	case *orNode:
		for _, x := range n.xs {
			walk(x, fn)
		}
	case *andNode:
		for _, x := range n.xs {
			walk(x, fn)
		}
	case *notNode:
		walk(n.x, fn)
	}
}

// neutral returns a copy of q with every string, key, reference and number
// replaced by a fixed one of the same kind. Keys are replaced one for one
// (k0, k1, ...), since whether two predicates name the same key may choose
// the form of the query.
func neutral(q *Query) *Query {
	keys := map[string]string{}
	neutralField := func(f field) field {
		out := field{name: f.name, pos: f.pos}
		for _, k := range f.keys {
			if _, ok := keys[k]; !ok {
				keys[k] = fmt.Sprint("k", len(keys))
			}
			out.keys = append(out.keys, keys[k])
		}
		return out
	}
	out := &Query{src: q.src, limit: q.limit}
	for _, k := range q.order {
		out.order = append(out.order, sortKey{field: neutralField(k.field), desc: k.desc})
	}
	var rebuild func(node) node
	rebuild = func(n node) node {
		switch n := n.(type) {
		case nil:
			return nil
		case *orNode:
			o := &orNode{}
			for _, x := range n.xs {
				o.xs = append(o.xs, rebuild(x))
			}
			return o
		case *andNode:
			a := &andNode{}
			for _, x := range n.xs {
				a.xs = append(a.xs, rebuild(x))
			}
			return a
		case *notNode:
			return &notNode{x: rebuild(n.x)}
		case *existsNode:
			return &existsNode{field: neutralField(n.field)}
		case *lineageNode:
			l := *n
			l.ref = "ref"
			if l.depth > 0 {
				l.depth = 1
			}
			return &l
		case *cmpNode:
			c := &cmpNode{field: neutralField(n.field), op: n.op, pos: n.pos}
			for _, v := range n.vals {
				switch {
				case v.t != nil:
					v = value{kind: valInt, i: 1, t: &timeValue{ms: 1}}
				case v.kind == valString:
					v.s = "neutral"
				case v.kind == valInt:
					v.i = 1
				case v.kind == valFloat:
					v.f = 1.5
				case v.kind == valBool:
					v.b = true
				}
				c.vals = append(c.vals, v)
			}
			return c
		}
		panic("unknown node")
	}
	out.where = rebuild(q.where)
	return out
}
