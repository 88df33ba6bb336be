package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestCompile checks the plain form of queries (Options.NoDrive);
// TestCompileDrive the forms driven by an index.
func TestCompile(t *testing.T) {
	for _, tt := range []struct {
		query string
		sql   string
		args  []any
	}{
		{"",
			"SELECT r.seq FROM resources r ORDER BY r.seq",
			nil},
		{"type = 'model' AND name != 'x'",
			"SELECT r.seq FROM resources r WHERE (r.type = ? AND r.name != ?) ORDER BY r.seq",
			[]any{"model", "x"}},
		{"version > 2",
			"SELECT r.seq FROM resources r WHERE r.version > ? ORDER BY r.seq",
			[]any{int64(2)}},
		{"NOT version = 3",
			"SELECT r.seq FROM resources r WHERE NOT IFNULL(r.version = ?, 0) ORDER BY r.seq",
			[]any{int64(3)}},
		{"created_at > now-7d",
			"SELECT r.seq FROM resources r WHERE r.created_at > ? ORDER BY r.seq",
			[]any{int64(1700259200000)}},
		{"created_at IN (1000, '2024-05-01')",
			"SELECT r.seq FROM resources r WHERE r.created_at IN (?, ?) ORDER BY r.seq",
			[]any{int64(1000), int64(1714521600000)}},
		{"id IN ('a', 'b')",
			"SELECT r.seq FROM resources r WHERE r.id IN (?, ?) ORDER BY r.seq",
			[]any{"a", "b"}},
		{"name LIKE 'a_%*'",
			"SELECT r.seq FROM resources r WHERE r.name GLOB ? ORDER BY r.seq",
			[]any{"a?*[*]"}},
		{"name NOT ILIKE 'A%'",
			"SELECT r.seq FROM resources r WHERE lower(r.name) NOT LIKE lower(?) ESCAPE '\\' ORDER BY r.seq",
			[]any{"A%"}},
		{"status IS NULL",
			"SELECT r.seq FROM resources r WHERE r.status IS NULL ORDER BY r.seq",
			nil},
		{"parent = 'p1'",
			"SELECT r.seq FROM resources r WHERE r.parent_seq IN (SELECT p.seq FROM resources p WHERE p.id = ?) ORDER BY r.seq",
			[]any{"p1"}},
		{"run.status NOT IN ('FAILED')",
			"SELECT r.seq FROM resources r WHERE r.run_seq IN (SELECT s.seq FROM runs s WHERE s.status NOT IN (?)) ORDER BY r.seq",
			[]any{"FAILED"}},
		{"run IS NOT NULL",
			"SELECT r.seq FROM resources r WHERE r.run_seq IS NOT NULL ORDER BY r.seq",
			nil},
		{"tags.env = 'prod'",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ? AND t.value = ?) ORDER BY r.seq",
			[]any{"env", "prod"}},
		{"tags.score > 8",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ? AND CASE WHEN NOT json_valid(t.value) THEN NULL WHEN json_type(t.value) IN ('integer', 'real') THEN CAST(t.value AS NUMERIC) END > ?) ORDER BY r.seq",
			[]any{"score", int64(8)}},
		{"tags.score IN ('a', 1)",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ? AND (t.value IN (?) OR CASE WHEN NOT json_valid(t.value) THEN NULL WHEN json_type(t.value) IN ('integer', 'real') THEN CAST(t.value AS NUMERIC) END IN (?))) ORDER BY r.seq",
			[]any{"score", "a", int64(1)}},
		{"tags.ok = true",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ? AND t.value = ?) ORDER BY r.seq",
			[]any{"ok", "true"}},
		{"tags.env IS NULL",
			"SELECT r.seq FROM resources r WHERE NOT (r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ?)) ORDER BY r.seq",
			[]any{"env"}},
		{"EXISTS tags.env",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ?) ORDER BY r.seq",
			[]any{"env"}},
		{"metadata.acc > 0.5",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT m.resource_seq FROM metadata m WHERE m.key = ? AND m.num > ?) ORDER BY r.seq",
			[]any{"acc", 0.5}},
		{"metadata.fw = 'x'",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT m.resource_seq FROM metadata m WHERE m.key = ? AND m.str = ?) ORDER BY r.seq",
			[]any{"fw", "x"}},
		{"metadata.ok = true",
			"SELECT r.seq FROM resources r WHERE EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ? AND CASE json_type(m.value) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END = ?) ORDER BY r.seq",
			[]any{"ok", int64(1)}},
		{"metadata.acc NOT IN (1, 'x')",
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT m.resource_seq FROM metadata m WHERE m.key = ? AND (m.num NOT IN (?) OR m.str NOT IN (?))) ORDER BY r.seq",
			[]any{"acc", int64(1), "x"}},
		{"metadata.acc IS NULL",
			"SELECT r.seq FROM resources r WHERE NOT (EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ? AND json_type(m.value) != 'null')) ORDER BY r.seq",
			[]any{"acc"}},
		{"metadata.p.lr > 0.1",
			"SELECT r.seq FROM resources r WHERE EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ? AND CASE WHEN json_type(m.value, ?) IN ('integer', 'real') THEN json_extract(m.value, ?) END > ?) ORDER BY r.seq",
			[]any{"p", "$.\"lr\"", "$.\"lr\"", 0.1}},
		{"metadata.p.`a b` IS NOT NULL",
			"SELECT r.seq FROM resources r WHERE EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ? AND json_type(m.value, ?) != 'null') ORDER BY r.seq",
			[]any{"p", "$.\"a b\""}},
		{"EXISTS metadata.p.lr",
			"SELECT r.seq FROM resources r WHERE EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ? AND json_type(m.value, ?) IS NOT NULL) ORDER BY r.seq",
			[]any{"p", "$.\"lr\""}},
		{"attrs.t = 'x'",
			"SELECT r.seq FROM resources r WHERE CASE WHEN json_type(r.attrs, ?) = 'text' THEN json_extract(r.attrs, ?) END = ? ORDER BY r.seq",
			[]any{"$.\"t\"", "$.\"t\"", "x"}},
		{"attrs.a.b IS NULL",
			"SELECT r.seq FROM resources r WHERE IFNULL(json_type(r.attrs, ?), 'null') = 'null' ORDER BY r.seq",
			[]any{"$.\"a\".\"b\""}},
		{"NOT attrs.n > 1",
			"SELECT r.seq FROM resources r WHERE NOT IFNULL(CASE WHEN json_type(r.attrs, ?) IN ('integer', 'real') THEN json_extract(r.attrs, ?) END > ?, 0) ORDER BY r.seq",
			[]any{"$.\"n\"", "$.\"n\"", int64(1)}},
		{"EXISTS attrs.t",
			"SELECT r.seq FROM resources r WHERE json_type(r.attrs, ?) IS NOT NULL ORDER BY r.seq",
			[]any{"$.\"t\""}},
		{"upstream_of('x')",
			"SELECT r.seq FROM resources r WHERE r.seq IN (WITH RECURSIVE lineage(seq) AS (SELECT e.src_seq FROM edges e WHERE e.dst_seq = ? UNION SELECT e.src_seq FROM edges e JOIN lineage l ON e.dst_seq = l.seq) SELECT seq FROM lineage WHERE seq != ?) ORDER BY r.seq",
			[]any{int64(42), int64(42)}},
		{"downstream_of('x', 2)",
			"SELECT r.seq FROM resources r WHERE r.seq IN (WITH RECURSIVE lineage(seq, depth) AS (SELECT e.dst_seq, 1 FROM edges e WHERE e.src_seq = ? UNION SELECT e.dst_seq, l.depth + 1 FROM edges e JOIN lineage l ON e.src_seq = l.seq WHERE l.depth < ?) SELECT seq FROM lineage WHERE seq != ?) ORDER BY r.seq",
			[]any{int64(42), int64(2), int64(42)}},
		{"ORDER BY created_at DESC LIMIT 5",
			"SELECT r.seq, r.created_at AS sort_0 FROM resources r ORDER BY r.created_at DESC, r.seq LIMIT 5",
			nil},
		{"ORDER BY tags.env, parent DESC",
			"SELECT r.seq, (SELECT t.value FROM tags t WHERE t.resource_seq = r.seq AND t.key = ?) AS sort_0, (SELECT p.id FROM resources p WHERE p.seq = r.parent_seq) AS sort_1 FROM resources r ORDER BY sort_0 ASC NULLS LAST, sort_1 DESC NULLS LAST, r.seq",
			[]any{"env"}},
		{"ORDER BY metadata.acc DESC",
			"SELECT r.seq, (SELECT CASE WHEN m.num IS NOT NULL THEN 0 WHEN m.str IS NOT NULL THEN 1 END FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ?) AS sort_0, (SELECT COALESCE(m.num, m.str) FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ?) AS sort_1 FROM resources r ORDER BY sort_0 ASC NULLS LAST, sort_1 DESC NULLS LAST, r.seq",
			[]any{"acc", "acc"}},
		{"ORDER BY metadata.p.lr",
			"SELECT r.seq, (SELECT CASE json_type(m.value, ?) WHEN 'integer' THEN 0 WHEN 'real' THEN 0 WHEN 'text' THEN 1 END FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ?) AS sort_0, (SELECT CASE WHEN json_type(m.value, ?) IN ('integer', 'real', 'text') THEN json_extract(m.value, ?) END FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ?) AS sort_1 FROM resources r ORDER BY sort_0 ASC NULLS LAST, sort_1 ASC NULLS LAST, r.seq",
			[]any{"$.\"lr\"", "p", "$.\"lr\"", "$.\"lr\"", "p"}},
		{"ORDER BY attrs.x DESC",
			"SELECT r.seq, CASE json_type(r.attrs, ?) WHEN 'integer' THEN 0 WHEN 'real' THEN 0 WHEN 'text' THEN 1 END AS sort_0, CASE WHEN json_type(r.attrs, ?) IN ('integer', 'real', 'text') THEN json_extract(r.attrs, ?) END AS sort_1 FROM resources r ORDER BY sort_0 ASC NULLS LAST, sort_1 DESC NULLS LAST, r.seq",
			[]any{"$.\"x\"", "$.\"x\"", "$.\"x\""}},
	} {
		t.Run(tt.query, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Compile(q, Options{Dialect: testDialect, Now: testNow, Resolve: func(string) (int64, error) { return 42, nil }, NoDrive: true})
			if err != nil {
				t.Fatal(err)
			}
			text, args, err := c.Select.ToSql()
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.sql {
				t.Errorf("sql\n got %s\nwant %s", text, tt.sql)
			}
			if !reflect.DeepEqual(args, tt.args) {
				t.Errorf("args\n got %#v\nwant %#v", args, tt.args)
			}
			if n := strings.Count(text, "?"); n != len(args) {
				t.Errorf("%d placeholders, %d args", n, len(args))
			}
		})
	}
}

// TestCompileDrive checks the forms of queries driven by an index, and of
// filters on top-level attributes (TestDriveAgrees checks that they return
// what the plain forms return).
func TestCompileDrive(t *testing.T) {
	for _, tt := range []struct {
		query string
		sql   string
		args  []any
	}{
		{"tags.env = 'prod'",
			"SELECT r.seq FROM tags dt JOIN resources r ON r.seq = dt.resource_seq WHERE dt.key = ? AND dt.value = ? ORDER BY dt.resource_seq LIMIT 10",
			[]any{"env", "prod"}},
		{"tags.env = 'prod' AND type = 'model' ORDER BY tags.env DESC",
			"SELECT r.seq, ? AS sort_0 FROM tags dt JOIN resources r ON r.seq = dt.resource_seq WHERE (dt.key = ? AND dt.value = ? AND r.type = ?) ORDER BY dt.resource_seq LIMIT 10",
			[]any{"prod", "env", "prod", "model"}},
		{"tags.ok = true",
			"SELECT r.seq FROM tags dt JOIN resources r ON r.seq = dt.resource_seq WHERE dt.key = ? AND dt.value = ? ORDER BY dt.resource_seq LIMIT 10",
			[]any{"ok", "true"}},
		{"metadata.acc = 0.5",
			"SELECT r.seq FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE dm.key = ? AND dm.num IS NOT NULL AND dm.num = ? ORDER BY dm.resource_seq LIMIT 10",
			[]any{"acc", 0.5}},
		{"metadata.fw = 'x' AND tags.env = 'prod'",
			"SELECT r.seq FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE (dm.key = ? AND dm.str IS NOT NULL AND dm.str = ? AND r.seq IN (SELECT t.resource_seq FROM tags t WHERE t.key = ? AND t.value = ?)) ORDER BY dm.resource_seq LIMIT 10",
			[]any{"fw", "x", "env", "prod"}},
		{"attrs.t = 'x'",
			"SELECT r.seq FROM attr_values da JOIN resources r ON r.seq = da.resource_seq WHERE da.key = ? AND da.str = ? ORDER BY da.resource_seq LIMIT 10",
			[]any{"t", "x"}},
		{"attrs.n IS NULL",
			"SELECT r.seq FROM resources r WHERE NOT (r.seq IN (SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.num IS NOT NULL UNION ALL SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.str IS NOT NULL UNION ALL SELECT a.resource_seq FROM attr_values a JOIN resources x ON x.seq = a.resource_seq WHERE a.key = ? AND a.num IS NULL AND a.str IS NULL AND json_type(x.attrs, ?) != 'null')) ORDER BY r.seq LIMIT 10",
			[]any{"n", "n", "n", "$.\"n\""}},
		{"attrs.a.b = 1",
			"SELECT r.seq FROM resources r WHERE CASE WHEN json_type(r.attrs, ?) IN ('integer', 'real') THEN json_extract(r.attrs, ?) END = ? ORDER BY r.seq LIMIT 10",
			[]any{"$.\"a\".\"b\"", "$.\"a\".\"b\"", int64(1)}},
		{"metadata.acc > 0.5 ORDER BY metadata.acc DESC",
			"SELECT r.seq, 0 AS sort_0, dm.num AS sort_1 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE dm.key = ? AND dm.num IS NOT NULL AND dm.num > ? ORDER BY dm.num DESC, dm.resource_seq LIMIT 10",
			[]any{"acc", 0.5}},
		{"metadata.fw LIKE 'a%' ORDER BY metadata.fw",
			"SELECT r.seq, 1 AS sort_0, dm.str AS sort_1 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE dm.key = ? AND dm.str IS NOT NULL AND dm.str GLOB ? ORDER BY dm.str ASC, dm.resource_seq LIMIT 10",
			[]any{"fw", "a*"}},
	} {
		t.Run(tt.query, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Compile(q, Options{Dialect: testDialect, Now: testNow, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			text, args, err := c.Select.ToSql()
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.sql {
				t.Errorf("sql\n got %s\nwant %s", text, tt.sql)
			}
			if !reflect.DeepEqual(args, tt.args) {
				t.Errorf("args\n got %#v\nwant %#v", args, tt.args)
			}
		})
	}

	// Unions of parts, windows with the plain form as fallback, and the
	// list or the walk of a probed query.
	for _, tt := range []struct{ query, prefix string }{
		{"attrs.n > 1", "WITH n AS MATERIALIZED (SELECT count(*) * count(*) >= 2 * 11 * IFNULL((SELECT max(seq) FROM resources), 0) AS scan FROM (SELECT 1 FROM (SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.num > ?) LIMIT 20000)), s AS (SELECT r.seq AS seq FROM resources r WHERE EXISTS (SELECT 1 FROM attr_values a WHERE a.resource_seq = r.seq AND a.key = ? AND +a.num > ?) ORDER BY r.seq LIMIT CASE WHEN (SELECT scan FROM n) THEN 11 ELSE 0 END), l AS (SELECT r.seq AS seq FROM resources r WHERE r.seq IN (SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.num > ?) ORDER BY r.seq LIMIT CASE WHEN (SELECT scan FROM n) THEN 0 ELSE 11 END) SELECT seq FROM (SELECT * FROM s UNION ALL SELECT * FROM l) ORDER BY seq LIMIT 10"},
		{"EXISTS attrs.t AND type = 'model'", "WITH n AS MATERIALIZED (SELECT count(*) * count(*) >= 2 * 11 * IFNULL((SELECT max(seq) FROM resources), 0) AS scan FROM (SELECT 1 FROM (SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.num IS NOT NULL UNION ALL SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.str IS NOT NULL UNION ALL SELECT a.resource_seq FROM attr_values a WHERE a.key = ? AND a.num IS NULL AND a.str IS NULL) LIMIT 20000)), s AS (SELECT r.seq AS seq FROM resources r WHERE (EXISTS (SELECT 1 FROM attr_values a WHERE a.resource_seq = r.seq AND a.key = ?) AND r.type = ?)"},
		{"ORDER BY metadata.acc DESC", "WITH p0 AS MATERIALIZED (SELECT r.seq AS seq, 0 AS sort_0, dm.num AS sort_1 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE dm.key = ? AND dm.num IS NOT NULL ORDER BY dm.num DESC, dm.resource_seq LIMIT 11), p1 AS MATERIALIZED (SELECT r.seq AS seq, 1 AS sort_0, dm.str AS sort_1"},
		{"type = 'model' ORDER BY metadata.acc", "WITH b AS MATERIALIZED (SELECT dm.num AS v FROM metadata dm WHERE dm.key = ? AND dm.num IS NOT NULL ORDER BY dm.num ASC LIMIT 1 OFFSET 999), p AS MATERIALIZED (SELECT r.seq AS seq, 0 AS sort_0, dm.num AS sort_1 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE (dm.key = ? AND r.type = ? AND dm.num <= IFNULL((SELECT v FROM b), 9e999))"},
		{"metadata.acc > 0.5 AND type = 'model' ORDER BY metadata.acc DESC", "WITH b AS MATERIALIZED (SELECT dm.num AS v FROM metadata dm WHERE dm.key = ? AND dm.num IS NOT NULL AND dm.num > ? ORDER BY dm.num DESC LIMIT 1 OFFSET 999), p AS MATERIALIZED (SELECT r.seq AS seq, 0 AS sort_0, dm.num AS sort_1 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE (dm.key = ? AND +dm.num > ? AND r.type = ? AND dm.num >= max(IFNULL((SELECT v FROM b), -9e999), ?))"},
	} {
		q, _ := Parse(tt.query)
		c, err := Compile(q, Options{Dialect: testDialect, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		text, args, _ := c.Select.ToSql()
		if !strings.HasPrefix(text, tt.prefix) || strings.Count(text, "?") != len(args) {
			t.Errorf("%s:\n got %s\nwant %s...", tt.query, text, tt.prefix)
		}
	}

	// A cursor: the keyset is on the driving table, bounded for the index,
	// and the terms after the bound leave out the tie it implies.
	q, _ := Parse("metadata.acc > 0.5 ORDER BY metadata.acc DESC")
	c, _ := Compile(q, Options{Dialect: testDialect, Limit: 10})
	cur, err := c.Cursor(7, []any{int64(0), 0.9})
	if err != nil {
		t.Fatal(err)
	}
	c, err = Compile(q, Options{Dialect: testDialect, Limit: 10, Cursor: cur})
	if err != nil {
		t.Fatal(err)
	}
	text, args, _ := c.Select.ToSql()
	want := "SELECT r.seq, 0 AS sort_0, dm.num AS sort_1 FROM metadata dm JOIN resources r ON r.seq = dm.resource_seq WHERE (dm.key = ? AND dm.num IS NOT NULL AND dm.num > ? AND (dm.num <= ? AND ((dm.num < ?) OR dm.resource_seq > ?))) ORDER BY dm.num DESC, dm.resource_seq LIMIT 10"
	if text != want || !reflect.DeepEqual(args, []any{"acc", 0.5, 0.9, 0.9, int64(7)}) {
		t.Errorf("with a cursor:\n got %s %#v\nwant %s", text, args, want)
	}
	// A cursor among the strings drops the part of the numbers.
	q, _ = Parse("ORDER BY metadata.acc DESC")
	c, _ = Compile(q, Options{Dialect: testDialect, Limit: 10})
	cur, _ = c.Cursor(7, []any{int64(1), "x"})
	c, err = Compile(q, Options{Dialect: testDialect, Limit: 10, Cursor: cur})
	if err != nil {
		t.Fatal(err)
	}
	if text, _, _ = c.Select.ToSql(); strings.Contains(text, "dm.num AS sort_1") || !strings.Contains(text, "dm.str AS sort_1") {
		t.Errorf("cursor among the strings: %s", text)
	}
}

func TestCompileLimit(t *testing.T) {
	for _, tt := range []struct {
		query string
		opt   int64
		want  int64
	}{
		{"", 0, 0},
		{"", 50, 50},
		{"LIMIT 10", 0, 10},
		{"LIMIT 10", 50, 10},
		{"LIMIT 100", 50, 50},
	} {
		q, _ := Parse(tt.query)
		c, err := Compile(q, Options{Dialect: testDialect, Limit: tt.opt})
		if err != nil {
			t.Fatal(err)
		}
		text, _, _ := c.Select.ToSql()
		if c.Limit != tt.want || (tt.want > 0) != strings.Contains(text, "LIMIT") {
			t.Errorf("%q with Limit %d: %d, %s", tt.query, tt.opt, c.Limit, text)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	q, _ := Parse("type = 'x' AND\n  upstream_of('mv9')")
	_, err := Compile(q, Options{Dialect: testDialect})
	checkError(t, err, 2, 15, "upstream_of needs a resolver (Options.Resolve)")

	_, err = Compile(q, Options{Dialect: testDialect, Resolve: resolveFixture})
	checkError(t, err, 2, 15, `cannot resolve "mv9": not found`)
	if !errors.Is(err, errNotFound) {
		t.Errorf("%v does not wrap the resolver's error", err)
	}

	_, err = Where(q, Options{Dialect: testDialect})
	checkError(t, err, 2, 15, "upstream_of needs a resolver")

	q, _ = Parse("type = 'x'\nORDER BY name")
	_, err = Where(q, Options{Dialect: testDialect})
	checkError(t, err, 2, 1, "ORDER BY and LIMIT are not allowed in this filter")
	q, _ = Parse("type = 'x' LIMIT 3")
	_, err = Where(q, Options{Dialect: testDialect})
	checkError(t, err, 1, 12, "ORDER BY and LIMIT are not allowed in this filter")
}

func TestCursorErrors(t *testing.T) {
	byName, _ := Parse("ORDER BY name")
	byID, _ := Parse("ORDER BY id")
	otherWhere, _ := Parse("type = 'model_version' ORDER BY name")
	cn, err := Compile(byName, Options{Dialect: testDialect})
	if err != nil {
		t.Fatal(err)
	}
	good, err := cn.Cursor(7, []any{"titanic"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(byName, Options{Dialect: testDialect, Cursor: good}); err != nil {
		t.Errorf("good cursor: %v", err)
	}
	for _, tt := range []struct {
		name   string
		q      *Query
		cursor string
		msg    string
	}{
		{"ErrOtherOrder", byID, good, "invalid cursor: it was made for another query or ORDER BY (start again without --cursor)"},
		{"ErrOtherQuery", otherWhere, good, "invalid cursor: it was made for another query or ORDER BY (start again without --cursor)"},
		{"ErrBase64", byName, "!!!", "invalid cursor: not base64url"},
		{"ErrJSON", byName, "bm90IGpzb24", "invalid cursor: not a cursor"},
		{"ErrVersion", byName, "eyJ2IjoyLCJvIjowLCJzIjoxfQ", "invalid cursor: unknown version"},
		{"ErrValueType", byName, encodeTestCursor(t, cn.order, `[{"a":1}]`), "invalid cursor: bad sort value of type map[string]interface {}"},
		{"ErrValueCount", byName, encodeTestCursor(t, cn.order, `["a","b"]`), "invalid cursor: it was made for another query or ORDER BY (start again without --cursor)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.q, Options{Dialect: testDialect, Cursor: tt.cursor})
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Msg != tt.msg || e.Line != 0 || err.Error() != tt.msg {
				t.Errorf("got %v, want %q", err, tt.msg)
			}
		})
	}
	// The same query and order in another deletion state is another query.
	if _, err := Compile(byName, Options{Dialect: testDialect, Cursor: good, Deleted: OnlyDeleted}); err == nil {
		t.Error("a cursor of the resources not deleted was accepted for the deleted ones")
	}
	if _, err := cn.Cursor(1, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Cursor with too few keys: %v", err)
	}
	if _, err := cn.Cursor(1, []any{struct{}{}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Cursor with a bad key: %v", err)
	}
}

func encodeTestCursor(t *testing.T, order uint32, keys string) string {
	t.Helper()
	return b64(`{"v":1,"o":` + itoa(int64(order)) + `,"k":` + keys + `,"s":1}`)
}

func TestCursorValues(t *testing.T) {
	// Values survive the round trip with their SQLite types.
	q, _ := Parse("ORDER BY name, version, metadata.acc")
	c, err := Compile(q, Options{Dialect: testDialect})
	if err != nil {
		t.Fatal(err)
	}
	keys := []any{"it's \"x\"", int64(-3), int64(0), 0.93}
	s, err := c.Cursor(99, keys)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := decodeCursor(s, c.order, c.SortKeys)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cur.keys, keys) || cur.seq != 99 {
		t.Errorf("got %#v %d", cur.keys, cur.seq)
	}
	s, _ = c.Cursor(1, []any{[]byte("b"), nil, nil, 2.0})
	cur, _ = decodeCursor(s, c.order, c.SortKeys)
	if !reflect.DeepEqual(cur.keys, []any{"b", nil, nil, int64(2)}) {
		t.Errorf("got %#v", cur.keys)
	}
	s, _ = c.Cursor(1, []any{"", int64(-1 << 63), 1e20, -1e300})
	cur, err = decodeCursor(s, c.order, c.SortKeys)
	if err != nil || !reflect.DeepEqual(cur.keys, []any{"", int64(-1 << 63), 1e20, -1e300}) {
		t.Errorf("got %#v", cur.keys)
	}
}

func TestLikeCase(t *testing.T) {
	db := MustOpen(t)
	for _, tt := range []struct {
		value, op, pattern string
		want               bool
	}{
		{"Abc", "LIKE", "a%", false},
		{"abc", "LIKE", "a%", true},
		{"Abc", "ILIKE", "a%", true},
		{"ABC", "ILIKE", "abc", true},
		{"50%", "LIKE", `50\%`, true},
		{"500", "LIKE", `50\%`, false},
		{"500", "LIKE", `50%`, true},
		{"a_b", "LIKE", `a\_b`, true},
		{"axb", "LIKE", `a\_b`, false},
		{"axb", "LIKE", `a_b`, true},
		{"a*b", "LIKE", "a*b", true},
		{"axxb", "LIKE", "a*b", false},
		{"a[b]", "LIKE", "a[b]", true},
		{"a?", "LIKE", "a?", true},
		{"ab", "LIKE", "a?", false},
		{`a\b`, "LIKE", `a\\b`, true},
		{"é", "LIKE", "_", true},
		{"É", "ILIKE", "é", false}, // ASCII case folding only
		{"line\nbreak", "LIKE", "line%", true},
		{"", "LIKE", "%", true},
		{"x", "NOT LIKE", "X", true},
		{"x", "NOT ILIKE", "X", false},
	} {
		if _, err := db.Exec(`UPDATE resources SET name = ? WHERE seq = 1`, tt.value); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		writeString(&b, tt.pattern)
		src := "id = 'd1' AND name " + tt.op + " " + b.String()
		got := len(search(t, db, src, Options{Dialect: testDialect})) == 1
		if got != tt.want {
			t.Errorf("%q %s %q: got %v", tt.value, tt.op, tt.pattern, got)
		}
	}
}

func TestSeqsHugeLimit(t *testing.T) {
	db := MustOpen(t)
	q, err := Parse("LIMIT 9223372036854775807")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(q, Options{Dialect: testDialect})
	if err != nil {
		t.Fatal(err)
	}
	seqs, next, err := c.Seqs(t.Context(), db)
	if err != nil || len(seqs) != 9 || next != "" {
		t.Errorf("%v %q %v", seqs, next, err)
	}
}
