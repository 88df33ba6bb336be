package query

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// resolveRefs resolves the fixture's ids and a few references of the form
// the tracker gives: model_version/titanic_model@1 is mv1, and so on.
func resolveRefs(ref string) (int64, error) {
	switch ref {
	case "model_version/titanic_model@1":
		return 5, nil
	case "model_version/titanic_model@2":
		return 6, nil
	case "dataset/titanic":
		return 1, nil
	case "model/titanic_model":
		return 4, nil
	}
	return resolveFixture(ref)
}

// Issue: parent = 'model_version/titanic_model@2' matched nothing while
// parent = '<its id>' matched. A reference works wherever an id does.
func TestReferenceFields(t *testing.T) {
	db := MustOpen(t)
	opts := testOptions()
	opts.Resolve = resolveRefs
	for _, tt := range []struct{ query, want string }{
		{"parent = 'model_version/titanic_model@1'", "e1 e2"},
		{"parent = 'mv1'", "e1 e2"},
		{"parent != 'model_version/titanic_model@1'", "dv1 dv2 mv1 mv2"},
		{"parent IN ('model/titanic_model', 'd1')", "dv1 dv2 mv1 mv2"},
		{"parent NOT IN ('model/titanic_model', 'd1')", "e1 e2"},
		{"id = 'model_version/titanic_model@2'", "mv2"},
		{"id IN ('model_version/titanic_model@2', 'e1')", "mv2 e1"},
		{"id != 'dataset/titanic' AND type = 'dataset'", ""},
		{"NOT id IN ('dataset/titanic', 'm1') AND parent IS NULL", "pj1"},
		{"upstream_of('model_version/titanic_model@1', 1)", "dv1"},
		{"upstream_of('mv1', 1)", "dv1"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			for _, noDrive := range []bool{false, true} {
				opts.NoDrive = noDrive
				if got := strings.Join(search(t, db, tt.query, opts), " "); got != tt.want {
					t.Errorf("NoDrive %v: got %q, want %q", noDrive, got, tt.want)
				}
			}
		})
	}

	q, _ := Parse("type = 'x' AND\n parent = 'model_version/nope@9'")
	_, err := Compile(q, opts)
	checkError(t, err, 2, 11, `cannot resolve "model_version/nope@9": not found`)
	if !errors.Is(err, errNotFound) || !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not match its cause and ErrInvalid", err)
	}
	_, err = Compile(q, Options{Dialect: testDialect})
	checkError(t, err, 2, 11, "a reference in parent needs a resolver")
}

// Issue: LIMIT 5 only set the page size; walking the pages returned every
// row. LIMIT is a total, the page size Options.Limit.
func TestLimitIsTotal(t *testing.T) {
	db := MustOpen(t)
	for _, tt := range []struct {
		query string
		page  int64
		want  string
	}{
		{"LIMIT 5", 2, "d1 dv1 dv2 m1 mv1"},
		{"LIMIT 4", 2, "d1 dv1 dv2 m1"},
		{"LIMIT 5", 0, "d1 dv1 dv2 m1 mv1"},
		{"LIMIT 5", 100, "d1 dv1 dv2 m1 mv1"},
		{"LIMIT 100", 4, "d1 dv1 dv2 m1 mv1 mv2 e1 e2 pj1"},
		{"ORDER BY metadata.accuracy DESC LIMIT 3", 2, "mv1 mv2 e1"},
		{"tags.env = 'prod' OR type = 'experiment' ORDER BY created_at DESC LIMIT 3", 1, "e2 e1 mv1"},
	} {
		opts := testOptions()
		opts.Limit = tt.page
		if got := strings.Join(searchAll(t, db, tt.query, opts), " "); got != tt.want {
			t.Errorf("%s, pages of %d: got %q, want %q", tt.query, tt.page, got, tt.want)
		}
	}

	// The page that reaches the total has no next cursor, even when more
	// rows follow; a cursor made past the total gives nothing.
	q, _ := Parse("LIMIT 4")
	c, err := Compile(q, Options{Dialect: testDialect, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, next, err := c.Seqs(t.Context(), db)
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	c, _ = Compile(q, Options{Dialect: testDialect, Limit: 3, Cursor: next})
	seqs, next2, err := c.Seqs(t.Context(), db)
	if err != nil || len(seqs) != 2 || next2 != "" || c.Limit != 2 || c.Total != 4 {
		t.Fatalf("second page: %v next %q limit %d total %d, %v", seqs, next2, c.Limit, c.Total, err)
	}
	past, _ := c.Cursor(seqs[1], nil)
	c, _ = Compile(q, Options{Dialect: testDialect, Limit: 3, Cursor: past})
	if seqs, next, err := c.Seqs(t.Context(), db); err != nil || len(seqs) != 0 || next != "" {
		t.Fatalf("past the total: %v %q %v", seqs, next, err)
	}
}

func TestTerms(t *testing.T) {
	q, err := Parse("metadata.acu > 0.9 AND (tags.env = 'prod' OR NOT EXISTS attrs.x.y) AND created_at > 2024-05-01 ORDER BY metadata.loss")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tm := range q.Terms() {
		s := tm.Field + "." + strings.Join(tm.Keys, ".") + " " + tm.Op
		for _, v := range tm.Values {
			s += " " + v.Kind + ":" + v.Text
		}
		got = append(got, s)
	}
	want := "metadata.acu > number:0.9|tags.env = string:prod|attrs.x.y EXISTS|created_at. > time:2024-05-01|metadata.loss ORDER BY"
	if strings.Join(got, "|") != want {
		t.Errorf("Terms:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	e := q.Errorf(q.Terms()[0].Pos+9, nil, "no resource has metadata key acu")
	if e.Column != 10 || !errors.Is(e, ErrInvalid) || !strings.Contains(e.Error(), "^") {
		t.Errorf("Errorf: %v", e)
	}
}

func TestNearest(t *testing.T) {
	for _, tt := range []struct {
		word string
		in   []string
		want string
	}{
		{"acu", []string{"loss", "auc", "accuracy"}, "auc"},
		{"deployed", []string{"REGISTERED", "DEPLOYED"}, "DEPLOYED"},
		{"acuracy", []string{"auc", "accuracy"}, "accuracy"},
		{"zzz", []string{"auc", "loss"}, ""},
		{"auc", []string{"auc"}, ""},
	} {
		if got := Nearest(tt.word, tt.in); got != tt.want {
			t.Errorf("Nearest(%q, %q) = %q, want %q", tt.word, tt.in, got, tt.want)
		}
	}
}

// Issue: at "2026-12-04 14:23:15", a time exactly as the tables print it,
// was refused. Every form metatrack prints parses, to the same instant.
func TestParseTime(t *testing.T) {
	want := time.Date(2026, 12, 4, 14, 23, 15, 0, time.UTC)
	for _, s := range []string{
		"2026-12-04 14:23:15", "2026-12-04 14:23:15 UTC", "2026-12-04T14:23:15Z", "2026-12-04T14:23:15",
		"2026-12-04T15:23:15+01:00", "2026-12-04 15:23:15+01:00", " 2026-12-04 14:23:15 ", "2026-12-04T14:23:15.000Z",
	} {
		if got, ok := ParseTime(s); !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, ok)
		}
	}
	if got, ok := ParseTime("2026-12-04 14:23"); !ok || !got.Equal(want.Add(-15*time.Second)) {
		t.Errorf("without seconds: %v %v", got, ok)
	}
	if got, ok := ParseTime("2026-12-04"); !ok || !got.Equal(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date: %v %v", got, ok)
	}
	for _, s := range []string{"", "yesterday", "2026-13-04", "2026-12-04T14:23:15Z UTC", "1796394195008", "04/12/2026"} {
		if got, ok := ParseTime(s); ok {
			t.Errorf("ParseTime(%q) = %v, want refused", s, got)
		}
	}
	// The query language reads the same forms, quoted or not.
	for _, src := range []string{"created_at = 2026-12-04 14:23:15 UTC", "created_at = '2026-12-04 14:23:15'", "created_at = 2026-12-04T14:23:15Z"} {
		q, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if v := q.where.(*cmpNode).vals[0].t; v == nil || v.ms != want.UnixMilli() {
			t.Errorf("Parse(%q): time %+v", src, v)
		}
	}
}
