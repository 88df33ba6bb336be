package postgres_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// verifyStore fills a store at a fresh schema through the tracker: a
// dataset chain of two versions with an artifact, tags, metadata and
// attributes, a model of two versions, the first deployed with a metric
// series, the second aliased "champion". It returns the URL.
func verifyStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	u := pgtest.SchemaURL(t)
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	d1, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic", metatrack.WithAttrs(map[string]any{"rows": 891, "source": "kaggle", "cols": []any{"age"}}))
	must(err)
	_, err = tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic")
	must(err)
	must(tr.LogTag(ctx, d1, "split", "train"))
	must(tr.LogMetadata(ctx, d1, "stats", map[string]any{"mean_age": 29.7}))
	path := filepath.Join(t.TempDir(), "train.csv")
	must(os.WriteFile(path, []byte(strings.Repeat("passenger,age\n", 100)), 0o644))
	_, err = tr.LogArtifact(ctx, d1, "train.csv", path)
	must(err)
	mv1, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	must(err)
	mv2, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	must(err)
	_, err = tr.Deploy(ctx, mv1)
	must(err)
	_, err = tr.SetAlias(ctx, mv2, "champion")
	must(err)
	for i := range 5 {
		must(tr.LogMetric(ctx, mv1, "loss", 1/float64(i+1)))
	}
	return u
}

// TestVerifyClean: a store written through the tracker verifies clean,
// on an engine opened read-only too, with progress up to the artifact
// bytes.
func TestVerifyClean(t *testing.T) {
	u := verifyStore(t)
	for _, readOnly := range []bool{false, true} {
		e := mustOpen(t, u, postgres.Options{ReadOnly: readOnly})
		var last, total int64
		rep, err := e.Verify(context.Background(), func(done, tot int64) { last, total = done, tot })
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("read-only %v: %d problems:\n%s", readOnly, len(rep.Problems), problems(rep))
		}
		if rep.Resources != 6 || rep.Blobs != 1 || rep.Bytes != 1400 || last != total || total != 1400 {
			t.Errorf("read-only %v: %d resources, %d blobs, %d bytes, progress %d of %d", readOnly, rep.Resources, rep.Blobs, rep.Bytes, last, total)
		}
	}
}

func problems(rep storage.Report) string {
	var out []string
	for _, p := range rep.Problems {
		out = append(out, p.String())
	}
	return strings.Join(out, "\n")
}

// TestVerifyFindsDamage: each damage a session can do with SQL is
// reported with its kind, and only it.
func TestVerifyFindsDamage(t *testing.T) {
	cases := []struct {
		name   string
		damage []string
		kind   string
		want   string
	}{
		{"ChunkDeleted", []string{`DELETE FROM blob_chunks`}, storage.ProblemBlob, "holds 0 bytes, recorded 1400; it breaks train.csv of dataset_version/titanic@1"},
		{"ChunkChanged", []string{`UPDATE blob_chunks SET data = 'x' || substr(data, 2)`}, storage.ProblemBlob, "the SHA-256 of its bytes is"},
		{"HashChanged", []string{`UPDATE blobs SET sha256 = repeat('0', 64)`, `UPDATE artifacts SET sha256 = repeat('0', 64)`}, storage.ProblemBlob, "blob 0000"},
		{"ArtifactSize", []string{`UPDATE artifacts SET size = 1399`}, storage.ProblemArtifact, "records SHA-256"},
		{"ChainGap", []string{`UPDATE resources SET version = 3 WHERE type = 'dataset_version' AND version = 2`}, storage.ProblemChain, "missing version 2"},
		{"ChainParent", []string{`DELETE FROM edges WHERE relation = 'version' AND dst_seq = (SELECT seq FROM resources WHERE type = 'model_version' AND version = 2)`},
			storage.ProblemChain, "the version edge from its chain head is missing"},
		{"StatusWithoutDeployment", []string{`UPDATE resources SET status = 'DEPLOYED' WHERE type = 'model_version' AND version = 2`},
			storage.ProblemDeployment, "its status is DEPLOYED, but no deployment of it is open"},
		{"DeploymentWithoutStatus", []string{`UPDATE resources SET status = 'STAGING' WHERE status = 'DEPLOYED'`},
			storage.ProblemDeployment, `it has an open deployment, but its status is "STAGING"`},
		{"AliasToDeleted", []string{`UPDATE resources SET deleted_at = 1 WHERE type = 'model_version' AND version = 2`}, storage.ProblemAlias, "which is deleted"},
		{"BadJSON", []string{`UPDATE metadata SET value = '{"mean_age": '`}, storage.ProblemJSON, "the value is not valid JSON"},
		{"DuplicateName", []string{`UPDATE metadata SET value = '{"mean_age": 1, "mean_age": 2}' WHERE key = (SELECT min(key) FROM metadata)`},
			storage.ProblemJSON, `names a member twice: duplicate object member name "mean_age"`},
		{"AttrIndexRow", []string{`DELETE FROM attr_values WHERE key = 'source'`}, storage.ProblemAttrIndex, `attribute "source" of resource`},
		{"AttrIndexValue", []string{`UPDATE attr_values SET num = 892 WHERE key = 'rows'`}, storage.ProblemAttrIndex, "differs"},
		{"HistoryID", []string{`UPDATE history SET id = NULL WHERE seq = (SELECT min(seq) FROM history)`}, storage.ProblemHistory, "has no id"},
		{"MetricCount", []string{`UPDATE metric_series SET count = count + 1`}, storage.ProblemMetric, `metric "loss" of resource`},
		{"ForeignKey", []string{`SET session_replication_role = replica`, `INSERT INTO tags (resource_seq, key, value, updated_at) VALUES (999999, 'k', 'v', 0)`},
			storage.ProblemForeignKey, "1 row refers to a missing row of resources"},
		{"ForeignView", []string{`CREATE VIEW evil AS SELECT id FROM resources`}, storage.ProblemSchema, "view evil: is not part of schema version"},
		{"ForeignTrigger", []string{
			`CREATE FUNCTION evil() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
			`CREATE TRIGGER evil BEFORE INSERT ON tags FOR EACH ROW EXECUTE FUNCTION evil()`}, storage.ProblemSchema, "function evil()"},
		{"ForeignTable", []string{`CREATE TABLE notes (x text)`}, storage.ProblemSchema, "table notes: is not part of schema version"},
		{"ColumnAdded", []string{`ALTER TABLE tags ADD COLUMN note text`}, storage.ProblemSchema, "column tags.note"},
		{"IndexDropped", []string{`DROP INDEX tags_key_value`}, storage.ProblemSchema, "index tags_key_value: is missing"},
		{"TriggerChanged", []string{`DROP TRIGGER attr_values_update ON resources`,
			`CREATE TRIGGER attr_values_update AFTER UPDATE ON resources FOR EACH ROW EXECUTE FUNCTION attr_values_sync()`},
			storage.ProblemSchema, "trigger attr_values_update: is defined as"},
		{"RuleAdded", []string{`CREATE RULE quiet AS ON DELETE TO tags DO INSTEAD NOTHING`}, storage.ProblemSchema, "rule quiet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			u := verifyStore(t)
			e := mustOpen(t, u, postgres.Options{})
			conn, err := e.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.damage {
				if _, err := conn.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			conn.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool with its settings
			conn.Close()
			rep, err := e.Verify(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", problems(rep))
			if rep.OK() {
				t.Fatalf("no problem found, want %s: %s", c.kind, c.want)
			}
			for _, p := range rep.Problems {
				if p.Kind != c.kind {
					t.Errorf("problem of another kind: %s", p)
				}
			}
			if !strings.Contains(problems(rep), c.want) {
				t.Errorf("problems:\n%s\nwant one with %q", problems(rep), c.want)
			}
			// The tracker's Verify says so with ErrCorrupt.
			tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun(), metatrack.WithReadOnly())
			if err != nil {
				if c.kind == storage.ProblemSchema && errors.Is(err, storage.ErrUnexpectedSchema) {
					return // Open refuses it already
				}
				t.Fatal(err)
			}
			defer tr.Close()
			if _, err := tr.Verify(ctx); !errors.Is(err, metatrack.ErrCorrupt) {
				t.Errorf("Tracker.Verify: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestVerifyWithoutCreate: a role that may read the store but not create
// a schema (an auditor's) verifies it too, the schema compared by the
// names of the objects the migrations create: a clean store is clean, a
// view someone added is reported.
func TestVerifyWithoutCreate(t *testing.T) {
	ctx := context.Background()
	u := verifyStore(t)
	owner := mustOpen(t, u, postgres.Options{})
	role := "auditor_" + strings.ToLower(strings.ReplaceAll(owner.Schema(), "-", "_"))
	quoted := `"` + role + `"`
	schemaName := `"` + owner.Schema() + `"`
	db := owner.DB()
	for _, s := range []string{`CREATE ROLE ` + quoted + ` LOGIN`, `GRANT USAGE ON SCHEMA ` + schemaName + ` TO ` + quoted,
		`GRANT SELECT ON ALL TABLES IN SCHEMA ` + schemaName + ` TO ` + quoted} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		db.ExecContext(context.Background(), `DROP OWNED BY `+quoted)
		db.ExecContext(context.Background(), `DROP ROLE `+quoted)
	})
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.User(role)
	e := mustOpen(t, p.String(), postgres.Options{ReadOnly: true})
	postgres.ForgetExpectedSchemas() // the role must build them itself
	rep, err := e.Verify(ctx, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("clean store, verified by %s: %v\n%s", role, err, problems(rep))
	}
	if _, err := db.ExecContext(ctx, `CREATE VIEW evil AS SELECT id FROM resources`); err != nil {
		t.Fatal(err)
	}
	rep, err = e.Verify(ctx, nil)
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Kind != storage.ProblemSchema || rep.Problems[0].What != "view evil" {
		t.Fatalf("a view added: %v\n%s", err, problems(rep))
	}
}
