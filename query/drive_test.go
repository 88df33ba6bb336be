package query

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// driveQueries are queries whose driven forms (and attr_values searches)
// must return what their plain forms return.
var driveQueries = []string{
	"",
	"ORDER BY created_at DESC",

	// Tags.
	"tags.env = 'prod'",
	"tags.env = 'dev' AND type = 'experiment'",
	"tags.env = 'prod' ORDER BY tags.env",
	"tags.env = 'prod' ORDER BY tags.env DESC",
	"tags.env = 'prod' ORDER BY tags.env DESC, tags.env",
	"tags.env = 'prod' ORDER BY created_at DESC",
	"tags.env = 'prod' ORDER BY tags.score",
	"tags.env = 'prod' AND tags.score > 3",
	"tags.env = 'prod' AND metadata.acc > 0.3",
	"tags.env = 'prod' AND NOT tags.env = 'dev'",
	"tags.env = ''",
	"tags.flag = true",
	"tags.flag = false ORDER BY tags.flag",
	"tags.env = 'nope'",
	"type = 'dataset' OR tags.env = 'prod'",
	"tags.env = 'prod' AND (type = 'dataset' OR metadata.acc > 0.5)",

	// Metadata without ORDER BY.
	"metadata.acc = 0.5",
	"metadata.acc = 1",
	"metadata.acc = '0.5'",
	"metadata.fw = 'a' AND type = 'model'",
	"metadata.acc > 0.3",
	"metadata.acc = true",
	"metadata.acc.x = 1",
	"metadata.acc.x >= 1 AND type = 'model'",
	"metadata.acc.x = 1 AND tags.env = 'prod'",
	"metadata.acc.x = 1 AND NOT type = 'model'",
	"metadata.acc.x = '1'",
	"metadata.acc.y = true",
	"metadata.acc.y = 1 AND tags.nope IS NULL", // true is no number

	// Metadata ORDER BY with a predicate that implies the type.
	"metadata.acc > 0.3 ORDER BY metadata.acc DESC",
	"metadata.acc > 0.3 ORDER BY metadata.acc",
	"metadata.acc <= 0.5 ORDER BY metadata.acc DESC, created_at DESC",
	"metadata.acc != 0.5 ORDER BY metadata.acc, tags.env DESC",
	"metadata.acc IN (0.1, 0.5, 2) ORDER BY metadata.acc DESC",
	"metadata.acc NOT IN (0.5) ORDER BY metadata.acc",
	"metadata.acc = 0.5 ORDER BY metadata.acc DESC",
	"type = 'experiment' AND metadata.acc >= 0.2 ORDER BY metadata.acc DESC, id",
	"metadata.acc > 0.1 AND metadata.acc < 0.6 ORDER BY metadata.acc DESC",
	"metadata.fw LIKE 'a%' ORDER BY metadata.fw",
	"metadata.fw NOT ILIKE 'A%' ORDER BY metadata.fw DESC",
	"metadata.fw > 'b' ORDER BY metadata.fw DESC",
	"metadata.acc = '0.5' ORDER BY metadata.acc",
	"metadata.fw IN ('a', 'c') ORDER BY metadata.fw DESC, metadata.acc",
	"metadata.acc > 0.3 ORDER BY metadata.acc DESC LIMIT 5",

	// Metadata ORDER BY otherwise: numbers, strings, then the rest.
	"ORDER BY metadata.acc",
	"ORDER BY metadata.acc DESC",
	"ORDER BY metadata.acc DESC LIMIT 7",
	"type = 'experiment' ORDER BY metadata.acc DESC",
	"EXISTS metadata.acc ORDER BY metadata.acc",
	"metadata.acc IS NOT NULL ORDER BY metadata.acc DESC",
	"metadata.acc IS NULL ORDER BY metadata.acc",
	"metadata.acc IN (0.5, '0.5') ORDER BY metadata.acc",
	"NOT metadata.acc > 0.5 ORDER BY metadata.acc DESC",
	"metadata.acc = true ORDER BY metadata.acc",
	"tags.env = 'prod' ORDER BY metadata.acc DESC",
	"metadata.fw = 'a' ORDER BY metadata.acc",
	"ORDER BY metadata.acc DESC, tags.env",
	"ORDER BY metadata.acc, created_at DESC",
	"ORDER BY metadata.acc, metadata.fw DESC",
	"ORDER BY metadata.fw DESC, metadata.acc",
	"ORDER BY metadata.nope DESC",
	"ORDER BY metadata.params.lr",

	// Probed: the list or the walk.
	"tags.score > 3",
	"tags.env IN ('prod', 'dev') AND type = 'experiment'",
	"EXISTS tags.score",
	"tags.env IS NOT NULL OR tags.flag = true",
	"metadata.acc > 0.3 AND attrs.n > 1",
	"attrs.rows > 1 AND parent = 'd1'",

	// Attributes.
	"attrs.n > 3",
	"attrs.n >= 0 ORDER BY attrs.n DESC",
	"attrs.n = 'x'",
	"attrs.n = 1.5",
	"attrs.n IN (1, 'x', 2.5)",
	"attrs.n NOT IN (1, 2)",
	"attrs.n LIKE 'x%'",
	"attrs.n NOT ILIKE 'X%'",
	"attrs.n != 1",
	"NOT attrs.n > 3",
	"attrs.n IS NULL",
	"attrs.n IS NOT NULL",
	"EXISTS attrs.n",
	"NOT EXISTS attrs.n",
	"EXISTS attrs.obj",
	"attrs.obj IS NOT NULL",
	"attrs.n = true",
	"attrs.n IN (true, 3)",
	"attrs.obj.x = 1",
	"attrs.big = 9007199254740993",
	"attrs.big > 9007199254740992",
	"attrs.big = 9007199254740992",
	"attrs.dup = 1",
	"attrs.dup = 2",
	"attrs.`é` = 'x'",
	"attrs.ab = 3",
	"attrs.`a\\b` = 4",
	"attrs.s > 'm' AND tags.env = 'prod'",
	"attrs.s = 'k' AND tags.env = 'prod'",
	"attrs.n = 2 AND type = 'experiment'",
	"attrs.s = 'k' ORDER BY metadata.acc DESC",

	// Metrics: ORDER BY a metric column walks its index.
	"metrics.loss < 0.6 ORDER BY metrics.loss",
	"metrics.loss < 0.6 ORDER BY metrics.loss DESC",
	"metrics.loss > 0.1 ORDER BY metrics.loss",
	"metrics.loss >= 0.25 ORDER BY metrics.loss DESC",
	"metrics.loss = 0.25 ORDER BY metrics.loss",
	"metrics.loss IN (0.25, 2) ORDER BY metrics.loss DESC",
	"metrics.loss != 0.25 ORDER BY metrics.loss",
	"metrics.loss NOT IN (0.25, 1) ORDER BY metrics.loss DESC",
	"metrics.loss > 0 AND metrics.loss <= 1 ORDER BY metrics.loss",
	"metrics.loss < 1 AND type = 'experiment' ORDER BY metrics.loss",
	"metrics.loss < 1 AND tags.env = 'prod' ORDER BY metrics.loss DESC",
	"metrics.loss < 1 ORDER BY metrics.loss, created_at DESC",
	"metrics.loss < 1 ORDER BY metrics.loss DESC LIMIT 5",
	"metrics.loss.min > 0 ORDER BY metrics.loss.min DESC",
	"metrics.loss.count >= 2 ORDER BY metrics.loss.count",
	"metrics.loss.step > 0 ORDER BY metrics.loss.step DESC, id",
	"metrics.loss < 1 ORDER BY metrics.loss.min",
	"ORDER BY metrics.loss",
	"ORDER BY metrics.loss DESC",
	"ORDER BY metrics.acc DESC LIMIT 7",
	"type = 'experiment' ORDER BY metrics.loss DESC",
	"EXISTS metrics.loss ORDER BY metrics.loss",
	"metrics.loss IS NULL ORDER BY metrics.loss",
	"NOT metrics.loss > 0.5 ORDER BY metrics.loss DESC",
	"metrics.acc > 0.2 ORDER BY metrics.loss",
	"ORDER BY metrics.loss, metrics.acc DESC",
	"ORDER BY metrics.nope",

	// Resource columns.
	"name = 'n30'",
	"status = 'FAILED'",
	"name = 'n30' OR status = 'FAILED'",
}

// driveOrders are ORDER BY clauses with the filters that share them: a
// cursor made by one filter continues any other of the same ORDER BY.
var driveOrders = map[string][]string{
	"ORDER BY metadata.acc DESC": {"", "metadata.acc > 0.3", "metadata.acc IS NOT NULL", "type = 'experiment'",
		"metadata.acc = '0.5'", "metadata.acc < 0"},
	"ORDER BY metadata.acc": {"", "metadata.acc > 0.3", "EXISTS metadata.acc", "metadata.acc LIKE '%'",
		"metadata.acc = true"},
	"ORDER BY metadata.fw DESC, metadata.acc": {"", "metadata.fw > 'b'", "metadata.fw = 'a'"},
	"ORDER BY tags.env":                       {"", "tags.env = 'prod'", "tags.env = 'dev'", "tags.env = ''"},
	"ORDER BY tags.env DESC":                  {"", "tags.env = 'prod'", "tags.env = 'dev'"},
	"ORDER BY metrics.loss":                   {"", "metrics.loss < 0.6", "metrics.loss > 0.1", "type = 'experiment'", "metrics.loss IS NULL"},
	"ORDER BY metrics.loss DESC":              {"", "metrics.loss < 0.6", "metrics.loss >= 0.25"},
	"":                                        {"", "tags.env = 'prod'", "metadata.acc = 0.5", "attrs.n > 1"},
}

// TestDriveAgrees runs every query of driveQueries driven and plain
// (Options.NoDrive), walking all pages with several page sizes, and
// requires the same rows in the same order; pages also continue across the
// two forms, and cursors continue across filters of the same ORDER BY.
func TestDriveAgrees(t *testing.T) {
	db := MustOpen(t)
	addDriveRows(t, db, 250, false)
	// only, when set, is the start of the queries to check: windowed
	// ones, or probed ones.
	only := ""
	windowed := func(src string) bool {
		if only == "" {
			return true
		}
		q, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Compile(q, Options{Dialect: testDialect, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		text, _, _ := c.Select.ToSql()
		return strings.HasPrefix(text, only)
	}
	onlyWindowed := false
	check := func(t *testing.T) {
		for _, src := range driveQueries {
			if onlyWindowed && !windowed(src) {
				continue
			}
			want := walkPages(t, db, src, 0, false, false)
			if len(want) == 0 && !strings.Contains(src, "nope") {
				t.Errorf("%q: no rows; the fixture does not test it", src)
			}
			for _, size := range []int64{0, 1, 4, 9, 50} {
				if size == 1 && len(want) > 40 || onlyWindowed && size%2 != 0 {
					continue // slow; pages of 4 and 9 walk as many boundaries
				}
				for _, mode := range []struct{ drive, alternate bool }{{true, false}, {true, true}, {false, true}} {
					got := walkPages(t, db, src, size, mode.drive, mode.alternate)
					if !slices.Equal(got, want) {
						t.Errorf("%q pages of %d (drive %v, alternating %v):\n got %v\nwant %v",
							src, size, mode.drive, mode.alternate, got, want)
					}
				}
			}
		}
		for order, filters := range driveOrders {
			for _, from := range filters {
				for _, to := range filters {
					if onlyWindowed && !windowed(joinQuery(to, order)) {
						continue
					}
					for _, n := range []int64{1, 5, 40, 200} {
						cur := cursorAfter(t, db, joinQuery(from, order), n)
						if cur == "" {
							continue
						}
						// A cursor is bound to its query: move this one to
						// the other query, to start it at a row it may not
						// match (as after an update).
						cur = rebindCursor(t, cur, joinQuery(to, order))
						want := walkFrom(t, db, joinQuery(to, order), cur, 13, false)
						got := walkFrom(t, db, joinQuery(to, order), cur, 13, true)
						if !slices.Equal(got, want) {
							t.Errorf("%q after row %d of %q:\n got %v\nwant %v", joinQuery(to, order), n, joinQuery(from, order), got, want)
						}
					}
				}
			}
		}
	}
	windows := func(sizes ...int64) func(t *testing.T) {
		return func(t *testing.T) {
			t.Run("Window1000", check)
			if testing.Short() {
				return
			}
			// Small windows, which run out: the plain form takes over.
			defer func(w func(int64) int64) { windowSize, onlyWindowed, only = w, false, "" }(windowSize)
			onlyWindowed, only = true, "WITH b AS"
			for _, w := range sizes {
				windowSize = func(int64) int64 { return w }
				t.Run(fmt.Sprintf("Window%d", w), check)
			}
			// Probed queries, in both forms.
			defer func(f int64) { scanFactor = f }(scanFactor)
			only = "WITH n AS"
			for _, f := range []int64{0, 1 << 40} {
				scanFactor = f
				t.Run(fmt.Sprintf("ScanFactor%d", f), check)
			}
		}
	}
	t.Run("Inserted", windows(1, 3, 20))

	// The triggers follow changes of attrs.
	rng := rand.New(rand.NewPCG(3, 4))
	for seq := int64(1); seq <= 259; seq += 3 {
		attrs := randomAttrs(rng, false)
		if seq%2 == 0 {
			attrs = "{}"
		}
		if _, err := db.Exec(`UPDATE resources SET attrs = ?, status = status WHERE seq = ?`, attrs, seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE resources SET status = 'X' WHERE seq = 20`); err != nil {
		t.Fatal(err)
	}
	t.Run("Updated", windows(3))
}

// TestDriveDeleted checks that the driven forms keep the deletion
// condition: they agree with the plain form when searching live or deleted
// resources only.
func TestDriveDeleted(t *testing.T) {
	db := MustOpen(t)
	addDriveRows(t, db, 250, false)
	db.MustExec(`UPDATE resources SET deleted_at = 1 WHERE seq IN (2, 21, 30, 31, 32) OR seq % 17 = 0`)
	for _, deleted := range []Deletion{NotDeleted, OnlyDeleted} {
		for _, src := range driveQueries {
			q, err := Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			walk := func(drive bool) []int64 {
				opts := testOptions()
				opts.Limit, opts.Deleted, opts.NoDrive = 9, deleted, !drive
				out := []int64{}
				for {
					seqs, next := seqsOf(t, db, q, opts)
					if out = append(out, seqs...); next == "" {
						return out
					}
					opts.Cursor = next
				}
			}
			if got, want := walk(true), walk(false); !slices.Equal(got, want) {
				t.Errorf("%q (deleted %d):\n got %v\nwant %v", src, deleted, got, want)
			}
		}
	}
}

func joinQuery(filter, order string) string { return strings.TrimSpace(filter + " " + order) }

// walkPages returns the seqs of every page of src; drive says whether to drive
// the first page, and alternate switches forms from page to page.
func walkPages(tb testing.TB, db *testDB, src string, size int64, drive, alternate bool) []int64 {
	tb.Helper()
	q, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	out := []int64{}
	opts := testOptions()
	opts.Limit = size
	for pages := 0; ; pages++ {
		if pages > 1000 {
			tb.Fatalf("%q: too many pages", src)
		}
		opts.NoDrive = !drive
		seqs, next := seqsOf(tb, db, q, opts)
		out = append(out, seqs...)
		if next == "" {
			return out
		}
		opts.Cursor = next
		if alternate {
			drive = !drive
		}
	}
}

// walkFrom returns the seqs of every page of src after cursor.
func walkFrom(tb testing.TB, db *testDB, src, cursor string, size int64, drive bool) []int64 {
	tb.Helper()
	q, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	out := []int64{}
	opts := testOptions()
	opts.Limit, opts.Cursor, opts.NoDrive = size, cursor, !drive
	for opts.Cursor != "" {
		seqs, next := seqsOf(tb, db, q, opts)
		out = append(out, seqs...)
		opts.Cursor = next
	}
	return out
}

// rebindCursor returns cur made for the query src instead of its own.
func rebindCursor(tb testing.TB, cur, src string) string {
	tb.Helper()
	q, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	c, err := Compile(q, testOptions())
	if err != nil {
		tb.Fatalf("Compile(%q): %v", src, err)
	}
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	m["o"] = c.order
	if b, err = json.Marshal(m); err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cursorAfter returns the cursor after the first n rows of src, or "" if
// it has no more.
func cursorAfter(tb testing.TB, db *testDB, src string, n int64) string {
	tb.Helper()
	q, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	opts := testOptions()
	opts.Limit, opts.NoDrive = n, true
	_, next := seqsOf(tb, db, q, opts)
	return next
}

func seqsOf(tb testing.TB, db *testDB, q *Query, opts Options) ([]int64, string) {
	tb.Helper()
	opts.Dialect = db.dialect
	c, err := Compile(q, opts)
	if err != nil {
		tb.Fatalf("Compile(%q): %v", q, err)
	}
	seqs, next, err := c.Seqs(context.Background(), db)
	if err != nil {
		text, args, _ := c.Select.ToSql()
		tb.Fatalf("Seqs(%q): %v\n%s %v", q, err, text, args)
	}
	checkRows(tb, db, q, c, seqs, next)
	return seqs, next
}

// checkRows fails tb unless the page statement joined with the resources
// of its rows (Compiled.Rows, with the engine's resource columns) returns
// the page that Seqs returned, seqs and next, every row the resource of
// its seq, and the same cursor. Every test that reads pages through
// seqsOf checks it so.
func checkRows(tb testing.TB, db *testDB, q *Query, c *Compiled, seqs []int64, next string) {
	tb.Helper()
	var got []int64
	n, gotNext, err := c.Rows(context.Background(), db, db.join, func() []any {
		got = append(got, 0)
		dest := []any{&got[len(got)-1]}
		for range len(db.join.Names) - 1 {
			dest = append(dest, new(any))
		}
		return dest
	})
	if err != nil {
		st, _ := c.JoinedStatements(db.join)
		tb.Fatalf("Rows(%q): %v\n%v", q, err, st)
	}
	if n != len(got) || !slices.Equal(got, seqs) || gotNext != next {
		st, _ := c.JoinedStatements(db.join)
		tb.Fatalf("Rows(%q) on %s returned %d rows %v, next %q; Seqs %v, next %q\n%v", q, db.dialect.Name(), n, got, gotNext, seqs, next, st)
	}
}

// addDriveRows adds n resources after the fixture's with random tags,
// metadata and attributes: values of every JSON type, many ties, missing
// keys, numbers written as strings, integers beyond 2^53, repeated keys.
// portable leaves out what only SQLite reads (JSON5, repeated keys) and
// adds tags of texts that collations and patterns tell apart.
func addDriveRows(tb testing.TB, db *testDB, n int, portable bool) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	tx := db.MustBegin()
	defer tx.Rollback()
	for i := range n {
		seq := int64(10 + i)
		typ := pick("dataset", "model", "experiment", "experiment")
		status := pick("", "READY", "FAILED")
		created := base + int64(rng.IntN(50))*day // ties
		if _, err := tx.Exec(tx.Rebind(`INSERT INTO resources (seq, id, type, name, status, attrs, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), seq, fmt.Sprintf("x%d", seq), typ, fmt.Sprintf("n%d", seq),
			status, randomAttrs(rng, portable), created, created); err != nil {
			tb.Fatal(err)
		}
		exec := func(query string, args ...any) { tx.MustExec(tx.Rebind(query), args...) }
		if env := pick("prod", "dev", "staging", "", "-", "-"); env != "-" {
			exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (?, 'env', ?, 0)`, seq, env)
		}
		if rng.IntN(3) == 0 {
			exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (?, 'score', ?, 0)`, seq,
				pick("1", "5", "12", "x", "2.5"))
		}
		if rng.IntN(3) == 0 {
			exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (?, 'flag', ?, 0)`, seq,
				pick("true", "false"))
		}
		meta := func(key, value string) {
			// num and str as the root package fills them.
			var num, str any
			var v any
			dec := json.NewDecoder(strings.NewReader(value))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				tb.Fatal(err)
			}
			switch t := v.(type) {
			case json.Number:
				f, err := t.Float64()
				if err != nil {
					tb.Fatal(err)
				}
				num = f
			case string:
				str = t
			}
			exec(`INSERT INTO metadata (resource_seq, key, value, num, str, updated_at) VALUES (?, ?, ?, ?, ?, 0)`,
				seq, key, value, num, str)
		}
		if v := pick("0.1", "0.5", "0.5", "0.93", "1", "2", "-3", `"0.5"`, `"high"`, `"a"`, "true", "false", "null",
			`{"x": 1}`, `{"x": "1", "y": true}`, "-"); v != "-" {
			meta("acc", v)
		}
		if v := pick(`"a"`, `"b"`, `"c"`, `"A"`, `"ab"`, "3", "-"); v != "-" {
			meta("fw", v)
		}
		if !portable {
			continue
		}
		if rng.IntN(2) == 0 {
			exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (?, 'word', ?, 0)`, seq,
				pick("a", "B", "b", "A", "é", "É", "e", "Z", "ab", "a b", "", `a\`, `a\\`, "%", "_", "aé", "ß", "ǅ", "日本"))
		}
		if rng.IntN(3) == 0 {
			exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (?, 'num', ?, 0)`, seq,
				pick(" 12", "12 ", "1e2", "01", "-0", "+1", "1.", ".5", "0.5", "-1.5E-1", "1e", "\t7", "nan", "9007199254740993"))
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	addMetricRows(tb, db, n)
}

// addMetricRows gives most of the n resources of addDriveRows metric
// series: loss (last values with ties, negatives, infinities and NULL
// where NaN), with min, max, count and step, and acc on some; none in a
// file of the migrations before metric series.
func addMetricRows(tb testing.TB, db *testDB, n int) {
	tb.Helper()
	var series int
	if err := db.Get(&series, `SELECT count(*) FROM metric_series`); err != nil {
		return
	}
	rng := rand.New(rand.NewPCG(5, 6))
	values := []any{0.1, 0.25, 0.25, 0.5, 0.75, 1.0, 2.0, -1.5, 0.0, 1e300, math.Inf(1), math.Inf(-1), nil}
	pick := func() any { return values[rng.IntN(len(values))] }
	for i := range n {
		seq := int64(10 + i)
		for _, key := range []string{"loss", "acc"} {
			if key == "loss" && rng.IntN(6) == 0 || key == "acc" && rng.IntN(2) == 0 {
				continue
			}
			count, step := 1+rng.IntN(5), int64(rng.IntN(4)*10)
			db.MustExec(`INSERT INTO metric_series (resource_seq, key, count, last_step, last_value, min_value, max_value,
				summary, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`,
				seq, key, count, step, pick(), pick(), pick(), []byte{0})
		}
	}
}

// randomAttrs returns a random attrs document.
func randomAttrs(rng *rand.Rand, portable bool) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var kv []string
	if v := pick("1", "2", "3", "4.5", "1.5", "-2", `"x"`, `"xy"`, `"X"`, `"1"`, "true", "false", "null",
		`{"x": 1}`, "[1, 2]", "-"); v != "-" {
		kv = append(kv, `"n": `+v)
	}
	if v := pick(`"a"`, `"k"`, `"z"`, `"m"`, "-"); v != "-" {
		kv = append(kv, `"s": `+v)
	}
	if v := pick(`{"x": 1}`, `{"x": "1"}`, "null", "-", "-"); v != "-" {
		kv = append(kv, `"obj": `+v)
	}
	if v := pick("9007199254740993", "9007199254740992", "9007199254740992.0", "1e300", "-", "-"); v != "-" {
		kv = append(kv, `"big": `+v)
	}
	if rng.IntN(5) == 0 && !portable {
		kv = append(kv, `"dup": 1`, `"dup": 2`)
	}
	if rng.IntN(5) == 0 {
		kv = append(kv, `"é": "x"`, `"a\u0062": 3`, `"a\\b": 4`)
	}
	rng.Shuffle(len(kv), func(i, j int) { kv[i], kv[j] = kv[j], kv[i] })
	if rng.IntN(20) == 0 && !portable {
		return "{n: 5, s: 'k'}" // JSON5, which SQLite reads too
	}
	return "{" + strings.Join(kv, ", ") + "}"
}

// TestAttrValues checks the rows that migration 0003 gives attr_values:
// the backfill of resources written before it and the triggers of those
// written after agree, follow updates, and never fail a write.
func TestAttrValues(t *testing.T) {
	rows := func(db *testDB) []string {
		var out []string
		if err := db.Select(&out, `SELECT resource_seq || ' ' || key || ' ' || quote(num) || ' ' || quote(str)
			FROM attr_values ORDER BY resource_seq, key`); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Written after the migration: filled by the insert trigger.
	after := MustOpen(t)
	addDriveRows(t, after, 200, false)
	// Written before it: filled by its backfill.
	before := openSchema(t, "0002_history_ids.up.sql")
	if _, err := before.Exec(fixture); err != nil {
		t.Fatal(err)
	}
	addDriveRows(t, before, 200, false)
	applyFile(t, before, migrations(t, "sqlite", ".up.sql")[2])
	want := rows(after)
	if got := rows(before); !slices.Equal(got, want) {
		t.Errorf("backfill:\n got %v\nwant %v", got, want)
	}
	for _, line := range []string{
		"2 format NULL 'csv'", "2 rows 100 NULL", "3 split NULL NULL", "5 gpu NULL NULL", "7 note NULL NULL",
	} {
		if !slices.Contains(want, line) {
			t.Errorf("no row %q in %v", line, want[:20])
		}
	}

	// Updates: the update trigger rewrites the rows of the resource.
	for _, db := range []*testDB{before, after} {
		db.MustExec(`UPDATE resources SET attrs = '{"a": 1, "b": "x", "a": 2}' WHERE seq = 2`)
		db.MustExec(`UPDATE resources SET attrs = '{}' WHERE seq = 3`)
		db.MustExec(`UPDATE resources SET status = 'X', attrs = attrs WHERE seq = 5`)
	}
	got := rows(after)
	if !slices.Equal(rows(before), got) {
		t.Errorf("after updates the two files differ")
	}
	var two []string
	for _, line := range got {
		if strings.HasPrefix(line, "2 ") || strings.HasPrefix(line, "3 ") {
			two = append(two, line)
		}
	}
	if !slices.Equal(two, []string{"2 a 1 NULL", "2 b NULL 'x'"}) {
		t.Errorf("rows of updated resources: %v", two)
	}

	// Documents that are not JSON objects have no rows, and do not fail
	// the write (the file's verifier reports them).
	for i, attrs := range []string{"{oops", "[1, 2]", "5", `"x"`, "", "{}", "{a: 1}"} {
		seq := 1000 + i
		if _, err := after.Exec(`INSERT INTO resources (seq, id, type, name, attrs, created_at, updated_at)
			VALUES (?, ?, 'thing', ?, ?, 0, 0)`, seq, fmt.Sprint("bad", i), fmt.Sprint("bad", i), attrs); err != nil {
			t.Errorf("insert with attrs %q: %v", attrs, err)
		}
		if _, err := after.Exec(`UPDATE resources SET attrs = ? WHERE seq = 1`, attrs); err != nil {
			t.Errorf("update to attrs %q: %v", attrs, err)
		}
	}
	var n int
	if err := after.Get(&n, `SELECT count(*) FROM attr_values WHERE resource_seq >= 1000 OR resource_seq = 1`); err != nil || n != 2 {
		t.Errorf("rows of documents that are not objects: %d, %v (want 2, of the JSON5 ones)", n, err)
	}

	// The down migration removes it all, and up again rebuilds it.
	downs := migrations(t, "sqlite", ".down.sql")
	applyFile(t, before, downs[2])
	if err := before.Get(&n, `SELECT count(*) FROM sqlite_master WHERE name LIKE 'attr_values%' OR name IN ('resources_name', 'resources_status_only')`); err != nil || n != 0 {
		t.Errorf("after the down migration: %d objects, %v", n, err)
	}
	applyFile(t, before, migrations(t, "sqlite", ".up.sql")[2])
	if !slices.Equal(rows(before), got) {
		t.Errorf("down and up again: rows differ")
	}
}
