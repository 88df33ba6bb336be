package query

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

// day is a day in milliseconds; base is the fixture's epoch and testNow its
// clock: ten days after base.
const (
	day  = int64(24 * 3600 * 1000)
	base = int64(1_700_000_000_000)
)

var testNow = func() time.Time { return time.UnixMilli(base + 10*day) }

// MustOpen opens a new SQLite file in a temporary directory with the
// metatrack schema and the test fixture.
func MustOpen(tb testing.TB) *testDB {
	tb.Helper()
	db := openSchema(tb, "")
	if _, err := db.Exec(fixture); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return db
}

// openSchema opens a new SQLite file with the migrations up to and
// including the one named last ("" for all of them).
func openSchema(tb testing.TB, last string) *testDB {
	tb.Helper()
	x, err := sqlx.Open("sqlite", filepath.Join(tb.TempDir(), "metatrack.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	db := &testDB{DB: x, dialect: testDialect, join: testJoin}
	for _, up := range migrations(tb, "sqlite", ".up.sql") {
		if last != "" && filepath.Base(up) > last {
			break
		}
		applyFile(tb, db, up)
	}
	return db
}

// migrations returns the files of the migrations of an engine with the
// given suffix, in order.
func migrations(tb testing.TB, engine, suffix string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "schema", engine, "*"+suffix))
	if err != nil || len(files) == 0 {
		tb.Fatalf("migrations: %v", err)
	}
	slices.Sort(files)
	return files
}

func applyFile(tb testing.TB, db *testDB, path string) {
	tb.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(string(text)); err != nil {
		tb.Fatalf("%s: %v", filepath.Base(path), err)
	}
}

// fixture: a dataset with two versions, a model with two versions, two
// experiments of mv1, a prediction job and an unrelated model, with tags,
// metadata and lineage. Resource ids are short names used in the tests.
var fixture = strings.NewReplacer("{B}", fmt.Sprint(base), "{D}", fmt.Sprint(day)).Replace(`
INSERT INTO runs (seq, id, name, status, started_at) VALUES
  (1, 'run-1', 'train', 'FINISHED', {B}),
  (2, 'run-2', 'eval', 'RUNNING', {B});

INSERT INTO resources (seq, id, type, name, version, parent_seq, status, attrs, run_seq, created_at, updated_at, started_at, ended_at) VALUES
  (1, 'd1',  'dataset',         'titanic',       NULL, NULL, '',         '{}',                                                         1,    {B}+1*{D}, {B}+1*{D}, NULL, NULL),
  (2, 'dv1', 'dataset_version', 'titanic',       1,    1,    'READY',    '{"rows": 100, "format": "csv"}',                             1,    {B}+2*{D}, {B}+5*{D}, NULL, NULL),
  (3, 'dv2', 'dataset_version', 'titanic',       2,    1,    'READY',    '{"rows": 250, "format": "parquet", "split": {"train": 0.8}}', 1,    {B}+3*{D}, {B}+3*{D}, NULL, NULL),
  (4, 'm1',  'model',           'titanic_model', NULL, NULL, '',         '{"trainer": "xgboost"}',                                     1,    {B}+4*{D}, {B}+4*{D}, NULL, NULL),
  (5, 'mv1', 'model_version',   'titanic_model', 1,    4,    'PROMOTED', '{"trainer": "XGBoost", "params": {"depth": 6}, "gpu": true}', 1,    {B}+5*{D}, {B}+5*{D}, {B}+5*{D}, {B}+6*{D}),
  (6, 'mv2', 'model_version',   'titanic_model', 2,    4,    'FAILED',   '{"trainer": "lightgbm", "gpu": false, "rows": "250"}',       2,    {B}+6*{D}, {B}+6*{D}, {B}+6*{D}, NULL),
  (7, 'e1',  'experiment',      'exp-a',         NULL, 5,    'FINISHED', '{"note": null}',                                             2,    {B}+7*{D}, {B}+7*{D}, {B}+7*{D}, {B}+8*{D}),
  (8, 'e2',  'experiment',      'exp-b',         NULL, 5,    'RUNNING',  '{}',                                                         NULL, {B}+8*{D}, {B}+8*{D}, {B}+8*{D}, NULL),
  (9, 'pj1', 'prediction_job',  'batch',         NULL, NULL, '',         '{}',                                                         NULL, {B}+9*{D}, {B}+9*{D}, NULL, NULL);

INSERT INTO tags (resource_seq, key, value, updated_at) VALUES
  (2, 'env', 'prod', {B}), (3, 'env', 'dev', {B}), (5, 'env', 'prod', {B}), (6, 'env', 'staging', {B}),
  (2, 'score', 'abc', {B}), (5, 'score', '12', {B}), (6, 'score', '9', {B}), (7, 'score', '7.5', {B}),
  (7, 'my key.x', 'v', {B}), (5, 'deployed', 'true', {B}), (6, 'deployed', 'false', {B}),
  (1, 'Owner', 'Alice', {B}), (4, 'Owner', 'alice', {B});

INSERT INTO metadata (resource_seq, key, value, num, str, updated_at) VALUES
  (5, 'accuracy', '0.93', 0.93, NULL, {B}),
  (6, 'accuracy', '0.81', 0.81, NULL, {B}),
  (7, 'accuracy', '"0.99"', NULL, '0.99', {B}),
  (8, 'accuracy', 'null', NULL, NULL, {B}),
  (5, 'params', '{"lr": 0.01, "depth": 6, "opt": "adam", "use_gpu": true, "a\\b": 1}', NULL, NULL, {B}),
  (6, 'params', '{"lr": 0.1, "depth": 4, "opt": "sgd", "use_gpu": false, "layers": {"n": 3}}', NULL, NULL, {B}),
  (7, 'params', '{"lr": "0.5"}', NULL, NULL, {B}),
  (5, 'framework', '"sklearn"', NULL, 'sklearn', {B}),
  (6, 'framework', '"SKLearn"', NULL, 'SKLearn', {B}),
  (2, 'ok', 'true', NULL, NULL, {B}),
  (3, 'ok', 'false', NULL, NULL, {B}),
  (7, 'f1-score', '0.5', 0.5, NULL, {B}),
  (2, 'rows', '100', 100, NULL, {B}),
  (3, 'rows', '250', 250, NULL, {B});

INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES
  (1, 2, 'version', {B}), (2, 3, 'derived', {B}),
  (2, 5, 'trained_on', {B}), (3, 6, 'trained_on', {B}),
  (5, 9, 'predicts', {B}), (6, 9, 'predicts', {B}),
  (7, 8, 'next', {B}), (8, 7, 'next', {B});
`)

// ids maps fixture seqs to ids.
var ids = map[int64]string{1: "d1", 2: "dv1", 3: "dv2", 4: "m1", 5: "mv1", 6: "mv2", 7: "e1", 8: "e2", 9: "pj1"}

// resolveFixture resolves the ids of the fixture.
func resolveFixture(ref string) (int64, error) {
	for seq, id := range ids {
		if id == ref {
			return seq, nil
		}
	}
	return 0, errNotFound
}

var errNotFound = errors.New("not found")

func testOptions() Options {
	return Options{Dialect: testDialect, Now: testNow, Resolve: resolveFixture}
}

// search runs a query on db and returns the ids of all matching resources, in
// order.
func search(tb testing.TB, db *testDB, src string, opts Options) []string {
	tb.Helper()
	opts.Dialect = db.dialect
	q, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	c, err := Compile(q, opts)
	if err != nil {
		tb.Fatalf("Compile(%q): %v", src, err)
	}
	seqs, _, err := c.Seqs(context.Background(), db)
	if err != nil {
		text, args, _ := c.Select.ToSql()
		tb.Fatalf("Seqs(%q): %v\n%s %v", src, err, text, args)
	}
	out := []string{}
	for _, s := range seqs {
		out = append(out, ids[s])
	}
	return out
}

func TestSearch(t *testing.T) { engines(t, testSearch) }

// searchQueries are queries on the fixture with the ids they match.
var searchQueries = []struct {
	query string
	want  string // ids, in seq order unless the query orders them
}{
	{"", "d1 dv1 dv2 m1 mv1 mv2 e1 e2 pj1"},
	{"   ", "d1 dv1 dv2 m1 mv1 mv2 e1 e2 pj1"},

	// Columns.
	{"type = 'model_version'", "mv1 mv2"},
	{"TYPE = 'model_version' and Name != 'x'", "mv1 mv2"},
	{"id IN ('d1', 'e2', 'nope')", "d1 e2"},
	{"id NOT IN ('d1', 'e2')", "dv1 dv2 m1 mv1 mv2 e1 pj1"},
	{"name > 'titanic'", "m1 mv1 mv2"},
	{"status = ''", "d1 m1 pj1"},
	{"version >= 2", "dv2 mv2"},
	{"version < 1.5", "dv1 mv1"},
	{"version IS NULL", "d1 m1 e1 e2 pj1"},
	{"version = null", "d1 m1 e1 e2 pj1"},
	{"version != null", "dv1 dv2 mv1 mv2"},
	{"NOT version = 1", "d1 dv2 m1 mv2 e1 e2 pj1"},
	{"version != 1", "dv2 mv2"},
	{"NOT (version = 1 OR type = 'experiment')", "d1 dv2 m1 mv2 pj1"},
	{"NOT NOT version = 1", "dv1 mv1"},

	// References.
	{"parent = 'm1'", "mv1 mv2"},
	{"parent IN ('d1', 'mv1')", "dv1 dv2 e1 e2"},
	{"parent != 'm1'", "dv1 dv2 e1 e2"},
	{"NOT parent = 'm1'", "d1 dv1 dv2 m1 e1 e2 pj1"},
	{"parent IS NULL", "d1 m1 pj1"},
	{"parent LIKE 'mv%'", "e1 e2"},
	{"run = 'run-2'", "mv2 e1"},
	{"run.name = 'train'", "d1 dv1 dv2 m1 mv1"},
	{"run.status = 'RUNNING'", "mv2 e1"},
	{"run IS NULL", "e2 pj1"},
	{"NOT run.name = 'train'", "mv2 e1 e2 pj1"},

	// Times.
	{"created_at > now-7d", "m1 mv1 mv2 e1 e2 pj1"},
	{"created_at > 'now-7d'", "m1 mv1 mv2 e1 e2 pj1"},
	{"created_at >= now-168h AND created_at < now-2d", "dv2 m1 mv1 mv2 e1"},
	{"created_at < now-1w", "d1 dv1"},
	{"created_at <= now-10080m", "d1 dv1 dv2"},
	{"created_at < now-9d", ""},
	{"created_at > now+1s", ""},
	{"created_at <= now", "d1 dv1 dv2 m1 mv1 mv2 e1 e2 pj1"},
	{fmt.Sprintf("created_at = %d", base+2*day), "dv1"},
	{fmt.Sprintf("created_at IN (%d, '%s')", base+2*day, time.UnixMilli(base+3*day).UTC().Format(time.RFC3339Nano)), "dv1 dv2"},
	{"updated_at > '" + time.UnixMilli(base+4*day).UTC().Format(time.RFC3339) + "'", "dv1 mv1 mv2 e1 e2 pj1"},
	{"ended_at IS NOT NULL", "mv1 e1"},
	{"started_at > now-5d", "mv2 e1 e2"},
	{"NOT ended_at > now-5d", "d1 dv1 dv2 m1 mv2 e2 pj1"},

	// Tags.
	{"tags.env = 'prod'", "dv1 mv1"},
	{"tags.env != 'prod'", "dv2 mv2"},
	{"NOT tags.env = 'prod'", "d1 dv2 m1 mv2 e1 e2 pj1"},
	{"tags.env IN ('dev', 'staging')", "dv2 mv2"},
	{"tags.env NOT IN ('dev', 'staging')", "dv1 mv1"},
	{"tags.env > 'prod'", "mv2"},
	{"tags.score > 8", "mv1 mv2"},
	{"tags.score > '8'", "dv1 mv2"},
	{"tags.score = 7.5", "e1"},
	{"tags.score < 100", "mv1 mv2 e1"},
	{"tags.score IN (12, 'abc')", "dv1 mv1"},
	{"tags.score NOT IN (12)", "mv2 e1"},
	{"tags.deployed = true", "mv1"},
	{"tags.deployed != true", "mv2"},
	{"tags.`my key.x` = 'v'", "e1"},
	{"EXISTS tags.`my key.x`", "e1"},
	{"NOT EXISTS tags.env", "d1 m1 e1 e2 pj1"},
	{"tags.env IS NULL", "d1 m1 e1 e2 pj1"},
	{"tags.env IS NOT NULL", "dv1 dv2 mv1 mv2"},
	{"tags.Owner = 'alice'", "m1"},
	{"tags.owner = 'alice'", ""},
	{"tags.Owner LIKE 'a%'", "m1"},
	{"tags.Owner ILIKE 'A%'", "d1 m1"},
	{"tags.Owner NOT LIKE 'A%'", "m1"},
	{"tags.env LIKE '_r__'", "dv1 mv1"},
	{"tags.score LIKE '7.%'", "e1"},

	// Metadata, top level.
	{"metadata.accuracy > 0.5", "mv1 mv2"},
	{"metadata.accuracy > 0.9", "mv1"},
	{"metadata.accuracy = '0.99'", "e1"},
	{"metadata.accuracy != 0.93", "mv2"},
	{"metadata.accuracy IN (0.81, '0.99')", "mv2 e1"},
	{"metadata.accuracy NOT IN (0.81)", "mv1"},
	{"metadata.accuracy IS NULL", "d1 dv1 dv2 m1 e2 pj1"},
	{"metadata.accuracy IS NOT NULL", "mv1 mv2 e1"},
	{"EXISTS metadata.accuracy", "mv1 mv2 e1 e2"},
	{"NOT EXISTS metadata.accuracy", "d1 dv1 dv2 m1 pj1"},
	{"NOT metadata.accuracy > 0.9", "d1 dv1 dv2 m1 mv2 e1 e2 pj1"},
	{"metadata.framework = 'sklearn'", "mv1"},
	{"metadata.framework LIKE 'sk%'", "mv1"},
	{"metadata.framework ILIKE 'sk%'", "mv1 mv2"},
	{"metadata.framework NOT ILIKE 'sk%'", ""},
	{"metadata.ok = true", "dv1"},
	{"metadata.ok = false", "dv2"},
	{"metadata.ok != true", "dv2"},
	{"metadata.ok IN (true, 1)", "dv1"},
	{"metadata.rows = 100", "dv1"},
	{"metadata.rows = 100.0", "dv1"},
	{"metadata.`f1-score` >= 0.5", "e1"},

	// Metadata, JSON paths.
	{"metadata.params.lr < 0.05", "mv1"},
	{"metadata.params.lr > 0", "mv1 mv2"},
	{"metadata.params.lr = '0.5'", "e1"},
	{"metadata.params.opt IN ('adam', 'x')", "mv1"},
	{"metadata.params.opt ILIKE 'S%'", "mv2"},
	{"metadata.params.use_gpu = true", "mv1"},
	{"metadata.params.use_gpu = false", "mv2"},
	{"metadata.params.layers.n = 3", "mv2"},
	{"metadata.params.`a\\b` = 1", "mv1"},
	{"EXISTS metadata.params.layers", "mv2"},
	{"metadata.params.layers IS NULL", "d1 dv1 dv2 m1 mv1 e1 e2 pj1"},
	{"metadata.params.depth >= 4 AND metadata.params.depth <= 5", "mv2"},
	{"NOT metadata.params.lr > 0", "d1 dv1 dv2 m1 e1 e2 pj1"},

	// Attributes.
	{"attrs.trainer = 'xgboost'", "m1"},
	{"attrs.trainer LIKE 'xg%'", "m1"},
	{"attrs.trainer ILIKE 'xg%'", "m1 mv1"},
	{"attrs.trainer NOT ILIKE 'xg%'", "mv2"},
	{"attrs.rows > 150", "dv2"},
	{"attrs.rows = '250'", "mv2"},
	{"attrs.rows IN (100, '250')", "dv1 mv2"},
	{"attrs.split.train = 0.8", "dv2"},
	{"attrs.params.depth = 6", "mv1"},
	{"attrs.gpu = true", "mv1"},
	{"attrs.gpu != true", "mv2"},
	{"attrs.note IS NULL", "d1 dv1 dv2 m1 mv1 mv2 e1 e2 pj1"},
	{"EXISTS attrs.note", "e1"},
	{"attrs.rows IS NOT NULL", "dv1 dv2 mv2"},
	{"NOT attrs.rows > 150", "d1 dv1 m1 mv1 mv2 e1 e2 pj1"},

	// Lineage.
	{"upstream_of('pj1')", "d1 dv1 dv2 mv1 mv2"},
	{"upstream_of('pj1', 1)", "mv1 mv2"},
	{"upstream_of('pj1', 2)", "dv1 dv2 mv1 mv2"},
	{"downstream_of('dv1')", "dv2 mv1 mv2 pj1"},
	{"downstream_of('dv1', 1)", "dv2 mv1"},
	{"downstream_of('e1')", "e2"},
	{"upstream_of('e1', 5)", "e2"},
	{"downstream_of('d1') AND type = 'model_version'", "mv1 mv2"},
	{"NOT upstream_of('pj1') AND NOT downstream_of('d1')", "m1 e1 e2"},
	{"upstream_of('mv1') OR downstream_of('mv1')", "d1 dv1 pj1"},

	// Logic and precedence.
	{"type = 'dataset' OR type = 'model' AND name = 'nope'", "d1"},
	{"(type = 'dataset' OR type = 'model') AND name = 'titanic'", "d1"},
	{"tags.env = 'prod' AND metadata.accuracy > 0.9 OR id = 'e2'", "mv1 e2"},

	// Order.
	{"ORDER BY id", "d1 dv1 dv2 e1 e2 m1 mv1 mv2 pj1"},
	{"type = 'model_version' OR type = 'experiment' ORDER BY metadata.accuracy DESC", "mv1 mv2 e1 e2"},
	{"type = 'model_version' OR type = 'experiment' ORDER BY metadata.accuracy", "mv2 mv1 e1 e2"},
	{"ORDER BY version DESC, id", "dv2 mv2 dv1 mv1 d1 e1 e2 m1 pj1"},
	{"ORDER BY tags.env, id DESC", "dv2 mv1 dv1 mv2 pj1 m1 e2 e1 d1"},
	{"ORDER BY attrs.rows", "dv1 dv2 mv2 d1 m1 mv1 e1 e2 pj1"},
	{"ORDER BY metadata.params.lr DESC", "mv2 mv1 e1 d1 dv1 dv2 m1 e2 pj1"},
	{"ORDER BY metadata.accuracy DESC, id DESC", "mv1 mv2 e1 pj1 m1 e2 dv2 dv1 d1"},
	{"ORDER BY run.name DESC", "d1 dv1 dv2 m1 mv1 mv2 e1 e2 pj1"},
	{"ORDER BY run.name", "mv2 e1 d1 dv1 dv2 m1 mv1 e2 pj1"},
	{"ORDER BY parent DESC", "e1 e2 mv1 mv2 dv1 dv2 d1 m1 pj1"},
	{"ORDER BY created_at DESC LIMIT 3", "pj1 e2 e1"}, // LIMIT is a total over all pages
}

func testSearch(t *testing.T, db *testDB) {
	for _, tt := range searchQueries {
		t.Run(tt.query, func(t *testing.T) {
			got := strings.Join(searchAll(t, db, tt.query, testOptions()), " ")
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// searchAll walks every page of a query.
func searchAll(tb testing.TB, db *testDB, src string, opts Options) []string {
	tb.Helper()
	opts.Dialect = db.dialect
	q, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	out := []string{}
	for pages := 0; ; pages++ {
		if pages > 100 {
			tb.Fatal("too many pages")
		}
		c, err := Compile(q, opts)
		if err != nil {
			tb.Fatalf("Compile(%q): %v", src, err)
		}
		seqs, next, err := c.Seqs(context.Background(), db)
		if err != nil {
			text, args, _ := c.Select.ToSql()
			tb.Fatalf("Seqs(%q): %v\n%s %v", src, err, text, args)
		}
		for _, s := range seqs {
			out = append(out, ids[s])
		}
		if next == "" {
			return out
		}
		opts.Cursor = next
	}
}

func TestPages(t *testing.T) { engines(t, testPages) }

func testPages(t *testing.T, db *testDB) {
	for _, order := range []string{
		"",
		"ORDER BY created_at DESC",
		"ORDER BY version",
		"ORDER BY version DESC",
		"ORDER BY type, name DESC",
		"ORDER BY tags.env",
		"ORDER BY tags.env DESC, tags.score",
		"ORDER BY tags.score DESC",
		"ORDER BY metadata.accuracy DESC",
		"ORDER BY metadata.accuracy",
		"ORDER BY metadata.params.lr, metadata.params.opt DESC",
		"ORDER BY attrs.rows DESC",
		"ORDER BY attrs.trainer, attrs.gpu",
		"ORDER BY parent, run DESC, run.status",
		"ORDER BY ended_at DESC, started_at",
		"ORDER BY status DESC, updated_at",
	} {
		for _, filter := range []string{"", "NOT id = 'm1' "} {
			src := filter + order
			want := search(t, db, src, testOptions())
			if len(want) == 0 {
				t.Fatalf("%q: no rows", src)
			}
			for _, size := range []int64{1, 2, 3, 4, 100} {
				opts := testOptions()
				opts.Limit = size
				got := searchAll(t, db, src, opts)
				if !slices.Equal(got, want) {
					t.Errorf("%q pages of %d:\n got %v\nwant %v", src, size, got, want)
				}
			}
		}
	}
}

func TestPagesWhileAdding(t *testing.T) { engines(t, testPagesWhileAdding) }

func testPagesWhileAdding(t *testing.T, db *testDB) {
	q, _ := Parse("ORDER BY created_at DESC")
	opts := testOptions()
	opts.Limit, opts.Dialect = 4, db.dialect
	c, err := Compile(q, opts)
	if err != nil {
		t.Fatal(err)
	}
	first, next, err := c.Seqs(context.Background(), db)
	if err != nil || next == "" {
		t.Fatal(first, next, err)
	}
	// A new resource sorts first; it must not shift the second page.
	if _, err := db.Exec(`INSERT INTO resources (seq, id, type, name, created_at, updated_at) VALUES (10, 'new', 'dataset', 'new', ?, ?)`, base+20*day, base+20*day); err != nil {
		t.Fatal(err)
	}
	opts.Cursor = next
	c, err = Compile(q, opts)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := c.Seqs(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, []int64{9, 8, 7, 6}) || !slices.Equal(second, []int64{5, 4, 3, 2}) {
		t.Errorf("pages %v %v", first, second)
	}
}

func TestInjection(t *testing.T) { engines(t, testInjection) }

func testInjection(t *testing.T, db *testDB) {
	values := []string{
		`'; DROP TABLE resources; --`,
		`"; DROP TABLE resources; --`,
		"`; DROP TABLE tags; --",
		`\'; DELETE FROM tags; --`,
		`it's a "quote" and a \backslash\`,
		`%_*?[`,
		"line\nbreak\ttab",
		"') OR 1=1 --",
	}
	for i, v := range values {
		key := fmt.Sprintf("k%d", i)
		if _, err := db.Exec(`INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (?, ?, ?, 0), (?, ?, ?, 0)`,
			9, key, v, 1, v, key); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range values {
		key := fmt.Sprintf("k%d", i)
		var b strings.Builder
		writeString(&b, v)
		lit := b.String()
		b.Reset()
		writeString(&b, strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(v))
		pattern := b.String()
		var kb strings.Builder
		writeKey(&kb, v)
		for _, tt := range []struct{ query, want string }{
			{"tags." + key + " = " + lit, "pj1"},
			{"tags." + key + " IN ('x', " + lit + ")", "pj1"},
			{"tags." + key + " ILIKE " + pattern, "pj1"},
			{"tags." + key + " LIKE " + pattern, "pj1"},
			{"tags." + kb.String() + " = '" + key + "'", "d1"},
			{"EXISTS tags." + kb.String(), "d1"},
			{"metadata." + kb.String() + " = " + lit + " OR attrs." + strings.ReplaceAll(kb.String(), `"`, "x") + " = " + lit, ""},
			{"name = " + lit + " OR upstream_of(" + lit + ")", ""},
		} {
			opts := testOptions()
			opts.Resolve = func(string) (int64, error) { return 1, nil }
			got := strings.Join(search(t, db, tt.query, opts), " ")
			if got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.query, got, tt.want)
			}
		}
		// Values come back verbatim.
		var back string
		if err := db.Get(&back, `SELECT value FROM tags WHERE resource_seq = 9 AND key = ?`, key); err != nil || back != v {
			t.Errorf("tag %s = %q, %v", key, back, err)
		}
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM resources`); err != nil || n != 9 {
		t.Errorf("resources: %d, %v", n, err)
	}
	if err := db.Get(&n, `SELECT count(*) FROM tags`); err != nil || n != 13+2*len(values) {
		t.Errorf("tags: %d, %v", n, err)
	}
}

func TestWhereWithOwnSelect(t *testing.T) { engines(t, testWhereWithOwnSelect) }

func testWhereWithOwnSelect(t *testing.T, db *testDB) {
	// How GetPrevResourceVersion filters: the latest earlier version that
	// matches the user's filter.
	q, err := Parse("tags.env = 'prod' AND status = 'PROMOTED'")
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Dialect = db.dialect
	cond, err := Where(q, opts)
	if err != nil {
		t.Fatal(err)
	}
	text, args, err := sqSelect().Where("r.type = ? AND r.name = ? AND r.version < ?", "model_version", "titanic_model", 3).
		Where(cond).OrderBy("r.version DESC").Limit(1).ToSql()
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := db.Get(&id, text, args...); err != nil || id != "mv1" {
		t.Errorf("got %q, %v\n%s %v", id, err, text, args)
	}

	empty, _ := Parse("")
	cond, err = Where(empty, Options{Dialect: db.dialect})
	if err != nil {
		t.Fatal(err)
	}
	text, args, _ = sqSelect().Where(cond).ToSql()
	var ids []string
	if err := db.Select(&ids, text, args...); err != nil || len(ids) != 9 {
		t.Errorf("empty filter: %v, %v", ids, err)
	}
}
