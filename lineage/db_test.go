package lineage

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack/lineage/lineagetest"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// sqliteSQL holds SQLite's texts of the walks, for the tests that walk a
// database file through database/sql directly.
var sqliteSQL = &(&sqlite.DB{}).SQL().LineageStatements

// on returns q, a SQLite database or transaction, to walk.
func on(q Queryer) DB { return DB{Q: q, SQL: sqliteSQL} }

// engines open a new, empty store of each engine; the tests that check the
// walks against each other and against a reference walk run on every one.
var engines = []struct {
	name string
	open func(tb testing.TB) storage.Engine
}{
	{"sqlite", func(tb testing.TB) storage.Engine {
		tb.Helper()
		e, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "lineage.db"), sqlite.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { e.Close() })
		return e
	}},
	{"postgres", func(tb testing.TB) storage.Engine {
		tb.Helper()
		e, err := postgres.Open(context.Background(), pgtest.URL(tb), postgres.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { e.Close() })
		return e
	}},
}

// forEachEngine runs fn as a subtest on a new store of each engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, e storage.Engine)) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) { fn(t, eng.open(t)) })
	}
}

// onEngine returns e to walk, through its reader (as the tracker walks
// outside a transaction).
func onEngine(e storage.Engine) DB {
	return DB{Q: readerQueryer{e.Reader()}, SQL: &e.SQL().LineageStatements}
}

// readerQueryer runs the walks' statements as the engine's fixed
// statements.
type readerQueryer struct{ tx storage.Tx }

func (q readerQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.tx.Query(ctx, query, args...)
}

// mustExecOn runs query (? placeholders) in a write transaction of e.
func mustExecOn(tb testing.TB, e storage.Engine, query string, args ...any) {
	tb.Helper()
	err := e.WriteTx(context.Background(), func(tx storage.Tx) error {
		_, err := tx.ExecContext(context.Background(), query, args...)
		return err
	})
	if err != nil {
		tb.Fatalf("%v\n%s", err, query)
	}
}

// MustOpen returns a new database file in tb.TempDir() with the metatrack
// schema, closed when the test ends.
func MustOpen(tb testing.TB) *sqlx.DB {
	tb.Helper()
	return mustOpenAt(tb, filepath.Join(tb.TempDir(), "lineage.db"))
}

func mustOpenAt(tb testing.TB, path string) *sqlx.DB {
	tb.Helper()
	db, err := sqlx.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	schema, err := lineagetest.Schema()
	if err != nil {
		tb.Fatal(err)
	}
	// One transaction, one sync to disk: tests stay fast on a busy disk.
	mustExec(tb, db, "BEGIN;\n"+string(schema)+"\nCOMMIT;")
	return db
}

func mustExec(tb testing.TB, db *sqlx.DB, query string, args ...any) {
	tb.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatalf("%v\n%s", err, query)
	}
}

// The fixture graph, seqs fixed so that tests can name them:
//
//	1 dataset titanic     -version-> 2 titanic@1, 3 titanic@2
//	4 dataset census...   -version-> 5 census@1   (a name that needs escaping)
//	6 model titanic_model -version-> 7 @1 DEPLOYED, 8 @2 PROMOTED, 14 @3 REGISTERED
//	2 -input-> 7, 2 -input-> 8, 3 -input-> 8, 5 -input-> 8, 3 -input-> 14
//	7 -child-> 9 exp_a, 7 -winning_experiment-> 9, 7 -child-> 11 batch_1
//	8 -child-> 10 exp_b, 8 -winning_experiment-> 10, 8 -child-> 12 promo_1,
//	8 -child-> 13 batch_2, 10 -input-> 12
//
// From titanic (1) downstream, 8 is a diamond: reached through 2 and 3 at
// depth 2. Deployments: 7 open in prod, 8 open in staging and closed in prod,
// 14 closed in prod. Runs: 1 ingest (dataset versions but census@1), 2 train
// (model versions, experiments). 15 dataset orphan has no edges.
const fixtureSQL = `
INSERT INTO runs (seq, id, name, status, started_at) VALUES
 (1, 'run-0001', 'ingest', 'FINISHED', 1000),
 (2, 'run-0002', 'train', 'FINISHED', 2000);
INSERT INTO resources (seq, id, type, name, version, parent_seq, status, run_seq, created_at, updated_at) VALUES
 (1, '0190a000-0000-7000-8000-000000000001', 'dataset', 'titanic', NULL, NULL, '', NULL, 1, 1),
 (2, '0190a000-0000-7000-8000-000000000002', 'dataset_version', 'titanic', 1, 1, '', 1, 2, 2),
 (3, '0190a000-0000-7000-8000-000000000003', 'dataset_version', 'titanic', 2, 1, '', 1, 3, 3),
 (4, '0190a000-0000-7000-8000-000000000004', 'dataset', 'census "2020" <eu> #1|a\b` + "`" + `x` + "\n" + `more', NULL, NULL, '', NULL, 4, 4),
 (5, '0190a000-0000-7000-8000-000000000005', 'dataset_version', 'census "2020" <eu> #1|a\b` + "`" + `x` + "\n" + `more', 1, 4, '', NULL, 5, 5),
 (6, '0190a000-0000-7000-8000-000000000006', 'model', 'titanic_model', NULL, NULL, '', NULL, 6, 6),
 (7, '0190a000-0000-7000-8000-000000000007', 'model_version', 'titanic_model', 1, 6, 'DEPLOYED', 2, 7, 7),
 (8, '0190a000-0000-7000-8000-000000000008', 'model_version', 'titanic_model', 2, 6, 'PROMOTED', 2, 8, 8),
 (9, '0190a000-0000-7000-8000-000000000009', 'experiment', 'exp_a', NULL, 7, 'FINISHED', 2, 9, 9),
 (10, '0190a000-0000-7000-8000-000000000010', 'experiment', 'exp_b', NULL, 8, 'FINISHED', 2, 10, 10),
 (11, '0190a000-0000-7000-8000-000000000011', 'prediction_job', 'batch_1', NULL, 7, 'FINISHED', NULL, 11, 11),
 (12, '0190a000-0000-7000-8000-000000000012', 'promotion', 'promo_1', NULL, 8, '', NULL, 12, 12),
 (13, '0190a000-0000-7000-8000-000000000013', 'prediction_job', 'batch_2', NULL, 8, 'RUNNING', NULL, 13, 13),
 (14, '0190a000-0000-7000-8000-000000000014', 'model_version', 'titanic_model', 3, 6, 'REGISTERED', 2, 14, 14),
 (15, '0190a000-0000-7000-8000-000000000015', 'dataset', 'orphan', NULL, NULL, '', NULL, 15, 15);
INSERT INTO edges (src_seq, dst_seq, relation, created_at) VALUES
 (1, 2, 'version', 1), (1, 3, 'version', 1), (4, 5, 'version', 1),
 (6, 7, 'version', 1), (6, 8, 'version', 1), (6, 14, 'version', 1),
 (2, 7, 'input', 1), (2, 8, 'input', 1), (3, 8, 'input', 1), (5, 8, 'input', 1), (3, 14, 'input', 1),
 (7, 9, 'child', 1), (7, 9, 'winning_experiment', 1), (7, 11, 'child', 1),
 (8, 10, 'child', 1), (8, 10, 'winning_experiment', 1), (8, 12, 'child', 1), (8, 13, 'child', 1),
 (10, 12, 'input', 1);
INSERT INTO deployments (seq, id, model_seq, model_version_seq, environment, deployed_at, undeployed_at) VALUES
 (1, 'dep-1', 6, 7, 'prod', 100, NULL),
 (2, 'dep-2', 6, 8, 'prod', 50, 100),
 (3, 'dep-3', 6, 8, 'staging', 120, NULL),
 (4, 'dep-4', 6, 14, 'dev', 130, 140);
`

// mustFixture returns a database holding the fixture graph.
func mustFixture(tb testing.TB) *sqlx.DB {
	tb.Helper()
	db := MustOpen(tb)
	mustExec(tb, db, "BEGIN;\n"+fixtureSQL+"\nCOMMIT;")
	return db
}

// fixture is the fixture graph in a store of one engine.
type fixture struct {
	DB
	e storage.Engine
}

// exec runs query (? placeholders) in a write transaction.
func (f fixture) exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	mustExecOn(tb, f.e, query, args...)
}

// forEachFixture runs fn as a subtest on the fixture graph in a new store
// of each engine.
func forEachFixture(t *testing.T, fn func(t *testing.T, db fixture)) {
	forEachEngine(t, func(t *testing.T, e storage.Engine) {
		mustExecOn(t, e, fixtureSQL)
		fn(t, fixture{DB: onEngine(e), e: e})
	})
}
