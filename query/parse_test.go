package query

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"Empty", "", ""},
		{"Blank", " \t\n ", ""},
		{"Compare", "type='model'", "type = 'model'"},
		{"Keywords", "TYPE = \"m\" and Name <> 'x' or not Status=''", "type = 'm' AND name != 'x' OR NOT status = ''"},
		{"Ops", "version>1 AND version>=2 AND version<3 AND version<=4 AND version=5 AND version!=6",
			"version > 1 AND version >= 2 AND version < 3 AND version <= 4 AND version = 5 AND version != 6"},
		{"Parens", "((name = 'a' OR name = 'b')) AND (status = 'c')", "(name = 'a' OR name = 'b') AND status = 'c'"},
		{"FlattenAnd", "name = 'a' AND (status = 'b' AND id = 'c')", "name = 'a' AND status = 'b' AND id = 'c'"},
		{"FlattenOr", "(name = 'a' OR status = 'b') OR id = 'c'", "name = 'a' OR status = 'b' OR id = 'c'"},
		{"NotOr", "NOT (name = 'a' OR name = 'b')", "NOT (name = 'a' OR name = 'b')"},
		{"NotNot", "not not name = 'a'", "NOT NOT name = 'a'"},
		{"OrInAnd", "name = 'a' AND (id = 'b' OR id = 'c')", "name = 'a' AND (id = 'b' OR id = 'c')"},
		{"In", "id in ('a',\"b\")", "id IN ('a', 'b')"},
		{"NotIn", "id NOT IN ('a')", "id NOT IN ('a')"},
		{"Like", "name like 'a%' AND name NOT LIKE '_b' AND name ilike 'C' AND name not ilike 'd'",
			"name LIKE 'a%' AND name NOT LIKE '_b' AND name ILIKE 'C' AND name NOT ILIKE 'd'"},
		{"LikeEscape", `name LIKE '50\%' AND name LIKE 'a\_b\\c'`, `name LIKE '50\\%' AND name LIKE 'a\\_b\\c'`},
		{"IsNull", "version is null AND parent IS NOT NULL", "version IS NULL AND parent IS NOT NULL"},
		{"EqNull", "version = NULL AND ended_at != null", "version IS NULL AND ended_at IS NOT NULL"},
		{"Exists", "exists tags.a AND NOT EXISTS metadata.b.c AND EXISTS attrs.d", "EXISTS tags.a AND NOT EXISTS metadata.b.c AND EXISTS attrs.d"},
		{"Tags", "tags.env = 'prod' AND tags.`my key.x` = 'v' AND tags.`a``b` = 'c'", "tags.env = 'prod' AND tags.`my key.x` = 'v' AND tags.`a``b` = 'c'"},
		{"BareQuotedKey", "tags.`plain` = 'x'", "tags.plain = 'x'"},
		{"KeywordKeys", "tags.and = 'x' AND metadata.order.limit = 1 AND tags.now = 'y'", "tags.and = 'x' AND metadata.order.limit = 1 AND tags.now = 'y'"},
		{"CaseOfKeys", "TAGS.Env = 'x'", "tags.Env = 'x'"},
		{"Metadata", "metadata.params.lr < 1e-3 AND metadata.`f1-score`.`a b` >= 0.5 AND attrs.x.y = 'z'",
			"metadata.params.lr < 0.001 AND metadata.`f1-score`.`a b` >= 0.5 AND attrs.x.y = 'z'"},
		{"Numbers", "metadata.a = -1 AND metadata.b = 2.50 AND metadata.c = 1e6 AND metadata.d = -0.0 AND metadata.e = 3E2",
			"metadata.a = -1 AND metadata.b = 2.5 AND metadata.c = 1e+06 AND metadata.d = -0.0 AND metadata.e = 300.0"},
		{"Bools", "metadata.ok = TRUE AND attrs.gpu != false", "metadata.ok = true AND attrs.gpu != false"},
		{"Strings", `name = 'it\'s' AND id = "say \"hi\"" AND status = 'tab\there\nline\\ \u00e9\u0001'`,
			`name = 'it\'s' AND id = 'say "hi"' AND status = 'tab\there\nline\\ é\u0001'`},
		{"Times", "created_at > now-7d AND updated_at < NOW AND started_at >= now+1h AND ended_at < 'now-30s' AND created_at > 1700000000000 AND created_at < '2024-05-01T12:00:00.5+02:00' AND created_at != '2024-05-01'",
			"created_at > now-7d AND updated_at < now AND started_at >= now+1h AND ended_at < 'now-30s' AND created_at > 1700000000000 AND created_at < '2024-05-01T12:00:00.5+02:00' AND created_at != '2024-05-01'"},
		// Issue: name = 'it''s' failed with "found string 's'".
		{"DoubledQuotes", `name = 'it''s' AND id = "say ""hi""" AND status = ''''`, `name = 'it\'s' AND id = 'say "hi"' AND status = '\''`},
		// Issue: created_at > 2024-05-01 failed with "found number -05".
		{"UnquotedTimes", "created_at > 2024-05-01 AND created_at < 2024-05-01T10:00:00Z AND updated_at <= 2026-12-04 14:23:15 AND ended_at > 2024-05-01T10:00:00.25+02:00",
			"created_at > 2024-05-01 AND created_at < 2024-05-01T10:00:00Z AND updated_at <= 2026-12-04 14:23:15 AND ended_at > 2024-05-01T10:00:00.25+02:00"},
		{"PrintedTime", "created_at > '2026-12-04 14:23:15' AND created_at IN (2024-05-01, '2024-05-01 10:00')", "created_at > '2026-12-04 14:23:15' AND created_at IN (2024-05-01, '2024-05-01 10:00')"},
		{"TypeLower", "type IN ('model_version', 'my_type2')", "type IN ('model_version', 'my_type2')"},
		{"RelativeUnits", "created_at > now-007s AND created_at > now-15m AND created_at > now-2w", "created_at > now-7s AND created_at > now-15m AND created_at > now-2w"},
		{"Run", "run = 'r' AND RUN.NAME = 'n' AND run.status = 'FAILED'", "run = 'r' AND run.name = 'n' AND run.status = 'FAILED'"},
		{"Lineage", "UPSTREAM_OF('mv1') AND downstream_of( \"d1\" , 3 )", "upstream_of('mv1') AND downstream_of('d1', 3)"},
		{"OrderBy", "ORDER BY created_at desc, name ASC, metadata.acc", "ORDER BY created_at DESC, name, metadata.acc"},
		{"Limit", "limit 10", "LIMIT 10"},
		{"All", "type = 'x' ORDER BY tags.env LIMIT 3", "type = 'x' ORDER BY tags.env LIMIT 3"},
		{"Lines", "type = 'x'\n  AND\r\n name = 'y'", "type = 'x' AND name = 'y'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("Parse(%q).String()\n got %s\nwant %s", tt.in, got, tt.want)
			}
			q2, err := Parse(q.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", q.String(), err)
			}
			if q2.String() != q.String() {
				t.Errorf("round trip %q -> %q", q.String(), q2.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in  string
		line, col int
		msg       string
	}{
		{"ErrNoValue", "status =", 1, 9, "expected a value after =, found end of query"},
		{"ErrUnknownField", "foo = 1", 1, 1, "unknown field foo; fields are id, type"},
		{"ErrKeywordStart", "AND name = 'x'", 1, 1, `expected a field, NOT, EXISTS, upstream_of, downstream_of or (, found "AND"`},
		{"ErrTrailingAnd", "name = 'x' AND", 1, 15, "expected a field, NOT, EXISTS, upstream_of, downstream_of or (, found end of query"},
		{"ErrTextNumber", "name = 3", 1, 8, "name holds text; quote the value"},
		{"ErrNumberText", "version = '3'", 1, 11, "version holds a number"},
		{"ErrTagNoKey", "tags = 'x'", 1, 1, "a tag field is tags.<key>, with one key"},
		{"ErrTagPath", "tags.a.b = 'x'", 1, 1, "a tag field is tags.<key>, with one key"},
		{"ErrMetaNoKey", "metadata = 1", 1, 1, "metadata needs a key: metadata.<key>"},
		{"ErrColumnKey", "name.x = 'a'", 1, 5, "name has no keys"},
		{"ErrRunField", "run.host = 'x'", 1, 5, "unknown run field; use run, run.name or run.status"},
		{"ErrKeyChars", "tags.my-key = 'x'", 1, 8, "unexpected \"-\" in a key: quote the key in backticks: tags.`my-key`"},
		// Issue: metadata.loss/00001 > 0.5 said only "unexpected character '/'".
		{"ErrKeySlash", "metadata.loss/00001 > 0.5", 1, 14, "unexpected character '/' in a key: quote the key in backticks: metadata.`loss/00001`"},
		{"ErrKeyPathSlash", "metadata.a.b/c.d = 1", 1, 13, "unexpected character '/' in a key: quote the key in backticks: metadata.a.`b/c`.d"},
		// Issue: type = 'Model_Version' matched nothing.
		{"ErrTypeCase", "type = 'Model_Version'", 1, 8, "type names are lower case: did you mean 'model_version'?"},
		{"ErrTypeName", "type NOT IN ('a b')", 1, 14, `"a b" is not a type name: types are lower-case letters`},
		{"ErrRunStatus", "run.status = 'failed'", 1, 14, `no run has status "failed": run statuses are RUNNING, FINISHED, FAILED; did you mean 'FAILED'?`},
		{"ErrTimeNotTime", "name = 2024-05-01", 1, 8, "2024-05-01 is a time, but name holds text; quote it to compare text"},
		{"ErrTimeBad", "created_at > 2024-13-01", 1, 14, "created_at holds a time"},
		{"ErrMinus", "name = - 3", 1, 8, `unexpected "-": write negative numbers as -5, relative times as now-7d, and quote keys`},
		{"ErrBadKey", "tags.'k' = 'x'", 1, 6, "expected a key (quote keys with other characters in backticks: tags.`my key`), found string 'k'"},
		{"ErrEmptyKey", "tags.`` = 'x'", 1, 6, "empty key"},
		{"ErrQuoteInPath", "attrs.`a\"b` = 1", 1, 7, "a key inside a JSON value cannot contain a double quote"},
		{"ErrUnterminatedString", "name = 'x", 1, 8, "unterminated string"},
		{"ErrUnterminatedKey", "tags.`x = 'y'", 1, 6, "unterminated quoted key"},
		{"ErrEscape", `name = 'a\qb'`, 1, 10, `unknown escape \q in string`},
		{"ErrUnicodeEscape", `name = '\u12'`, 1, 9, `\u needs four hex digits`},
		{"ErrBang", "name ! 'x'", 1, 6, `unexpected "!"; did you mean "!=" or NOT?`},
		{"ErrChar", "name = 'x' & id = 'y'", 1, 12, "unexpected character '&'"},
		{"ErrOpenParen", "(name = 'x'", 1, 12, "expected AND, OR or ), found end of query"},
		{"ErrCloseParen", "name = 'x')", 1, 11, `expected AND, OR, ORDER BY, LIMIT or end of query, found ")"`},
		{"ErrNoOperator", "name 'x'", 1, 6, "expected an operator (=, !=, <, <=, >, >=, IN, NOT IN, LIKE, ILIKE, IS NULL) after name"},
		{"ErrIsWhat", "name IS 'x'", 1, 9, "expected NULL"},
		{"ErrTime", "created_at > 'yesterday'", 1, 14, "created_at holds a time: give UTC milliseconds, an RFC 3339 time"},
		{"ErrTimeFloat", "created_at > 1.5", 1, 14, "created_at holds a time"},
		{"ErrNowNotTime", "name = now", 1, 8, "now is a time, but name holds text"},
		{"ErrRelativeUnit", "created_at > now-7y", 1, 19, "relative time needs one unit of s, m, h, d or w"},
		{"ErrRelativeSpace", "created_at > now - 7d", 1, 18, `unexpected "-"`},
		{"ErrRelativeRange", "created_at > now-99999999999999w", 1, 18, "relative time out of range"},
		{"ErrBoolOrder", "metadata.acc > true", 1, 14, "booleans compare only with =, != and IN"},
		{"ErrNullOrder", "metadata.acc < null", 1, 16, "null compares only with = and != (or use IS NULL)"},
		{"ErrNullInList", "name IN ('a', null)", 1, 15, "null is not allowed in an IN list; use IS NULL"},
		{"ErrEmptyList", "name IN ()", 1, 10, "expected a value after IN (, found \")\""},
		{"ErrListComma", "name IN ('a' 'b')", 1, 14, "expected a comma or ), found string 'b'"},
		{"ErrLikeNumber", "name LIKE 3", 1, 11, "LIKE needs a quoted pattern"},
		{"ErrLikeEscape", `name LIKE 'abc\\'`, 1, 11, `pattern ends with the escape character \`},
		{"ErrLikeNumberField", "version LIKE '1%'", 1, 9, "version holds a number; LIKE applies to text"},
		{"ErrExistsColumn", "EXISTS name", 1, 8, "EXISTS applies to tags, metadata, attrs and metrics keys; use name IS NOT NULL"},
		{"ErrMetricNoKey", "metrics > 1", 1, 1, "metrics needs a key: metrics.<key>"},
		{"ErrMetricPart", "metrics.val.loss > 1", 1, 13, "a metric field is metrics.<key> (the last value) or metrics.<key>.<part>, part one of last, min, max, count, step; quote keys with dots in backticks: metrics.`a.b`"},
		{"ErrMetricQuotedPart", "metrics.loss.`min` > 1", 1, 14, "a metric field is metrics.<key> (the last value) or metrics.<key>.<part>, part one of last, min, max, count, step; quote keys with dots in backticks: metrics.`a.b`"},
		{"ErrLineageRef", "upstream_of(d1)", 1, 13, "expected a quoted resource id or reference"},
		{"ErrLineageEmpty", "upstream_of('')", 1, 13, "empty resource reference"},
		{"ErrLineageDepth", "downstream_of('d1', 0)", 1, 21, "depth must be between 1 and 100; leave it out for no limit"},
		{"ErrLineageParen", "downstream_of 'd1'", 1, 15, "expected ( after downstream_of"},
		{"ErrOrderBy", "ORDER name", 1, 7, "expected BY after ORDER"},
		{"ErrOrderField", "name = 'x' ORDER BY", 1, 20, "expected a field, found end of query"},
		{"ErrOrderTail", "ORDER BY name ASC id", 1, 19, "expected a comma, ASC, DESC, LIMIT or end of query"},
		{"ErrLimitZero", "LIMIT 0", 1, 7, "LIMIT must be at least 1"},
		{"ErrLimitText", "LIMIT 'x'", 1, 7, "expected a number after LIMIT"},
		{"ErrAfterLimit", "LIMIT 5 name = 'x'", 1, 9, "expected end of query"},
		{"ErrIntRange", "version = 99999999999999999999", 1, 11, "integer 99999999999999999999 out of range"},
		{"ErrFloatRange", "version = 1e999", 1, 11, "number 1e999 out of range"},
		{"ErrNumberDot", "version = 1.5.3", 1, 14, `unexpected '.' after number 1.5`},
		{"ErrNumberSuffix", "version = 12abc", 1, 13, `unexpected 'a' after number 12`},
		{"ErrExponent", "version = 1e", 1, 13, "expected a digit in the exponent"},
		{"ErrUTF8", "name = '\xff'", 1, 9, "query is not valid UTF-8"},
		{"ErrLine2", "type = 'x'\n  AND foo = 1", 2, 7, "unknown field foo"},
		{"ErrLine3Tab", "type = 'x'\nAND\n\tname = 3", 3, 9, "name holds text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			checkError(t, err, tt.line, tt.col, tt.msg)
		})
	}
}

func checkError(t *testing.T, err error, line, col int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", msg)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not match ErrInvalid", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *Error", err)
	}
	if e.Line != line || e.Column != col || !strings.HasPrefix(e.Msg, msg) {
		t.Errorf("got %d:%d %q\nwant %d:%d %q\n%s", e.Line, e.Column, e.Msg, line, col, msg, e)
	}
	if line > 0 && (!strings.Contains(e.Error(), "\n | ") || !strings.HasSuffix(e.Error(), "^")) {
		t.Errorf("no snippet in %q", e.Error())
	}
}

func TestErrorSnippet(t *testing.T) {
	_, err := Parse("type = 'x'\nAND\n\tname = 3 AND status = 'y'")
	want := "invalid query at line 3, column 9 (offset 23): name holds text; quote the value\n" +
		" | \tname = 3 AND status = 'y'\n" +
		" | \t       ^"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}

	// Long lines are cut around the caret.
	long := "name = 'x' AND " + strings.Repeat("status = 'y' AND ", 10) + "foo = 1 AND " + strings.Repeat("id = 'z' AND ", 10) + "id = 'w'"
	_, err = Parse(long)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	lines := strings.Split(e.Snippet, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], " | ...") || !strings.HasSuffix(lines[0], "...") ||
		strings.Index(lines[1], "^") != strings.Index(lines[0], "foo = 1") {
		t.Errorf("snippet:\n%s", e.Snippet)
	}
}

func TestLimits(t *testing.T) {
	repeat := func(s, sep string, n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = s
		}
		return strings.Join(parts, sep)
	}
	list := func(n int) string { return "version IN (" + repeat("1", ", ", n) + ")" }
	for _, tt := range []struct {
		name string
		in   string
		msg  string // "" for a valid query
	}{
		{"OKLength", "name = '" + strings.Repeat("x", MaxLength-9) + "'", ""},
		{"ErrLength", "name = '" + strings.Repeat("x", MaxLength-8) + "'", "query is longer than 16384 bytes"},
		{"OKDepth", strings.Repeat("(", MaxDepth) + "name = 'x'" + strings.Repeat(")", MaxDepth), ""},
		{"ErrDepth", strings.Repeat("(", MaxDepth+1) + "name = 'x'" + strings.Repeat(")", MaxDepth+1), "nesting is deeper than 32 levels"},
		{"ErrDepthNot", strings.Repeat("NOT ", MaxDepth+1) + "name = 'x'", "nesting is deeper than 32 levels"},
		{"ErrDepthMixed", strings.Repeat("NOT (", MaxDepth/2+1) + "name = 'x'" + strings.Repeat(")", MaxDepth/2+1), "nesting is deeper than 32 levels"},
		{"OKTerms", repeat("name = 'x'", " OR ", MaxTerms), ""},
		{"ErrTerms", repeat("name = 'x'", " OR ", MaxTerms+1), "query has more than 256 predicates"},
		{"ErrTermsExists", repeat("EXISTS tags.a", " OR ", MaxTerms+1), "query has more than 256 predicates"},
		{"OKList", list(MaxList), ""},
		{"ErrList", list(MaxList + 1), "IN list has more than 1000 values"},
		{"ErrValues", repeat(list(MaxList), " OR ", 5), "query has more than 4096 values"},
		{"OKPath", "metadata" + strings.Repeat(".a", MaxPath) + " = 1", ""},
		{"ErrPath", "metadata" + strings.Repeat(".a", MaxPath+1) + " = 1", "field has more than 32 keys"},
		{"OKSort", "ORDER BY " + repeat("name", ", ", MaxSortKeys), ""},
		{"ErrSort", "ORDER BY " + repeat("name", ", ", MaxSortKeys+1), "ORDER BY has more than 8 fields"},
		{"OKLineageDepth", "upstream_of('x', 100)", ""},
		{"ErrLineageDepth", "upstream_of('x', 101)", "depth must be between 1 and 100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.in)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				// The largest valid queries compile, and SQLite takes them.
				c, err := Compile(q, Options{Dialect: testDialect, Resolve: func(string) (int64, error) { return 1, nil }})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := c.Seqs(t.Context(), MustOpen(t)); err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(e.Msg, tt.msg) {
				t.Fatalf("got %v, want %q", err, tt.msg)
			}
		})
	}
}
