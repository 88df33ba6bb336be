package benchmarks

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/metatrack/metatrack"
)

// BenchmarkLookup runs the four lookups the pipelines make on every run, on
// a model version in the middle of the graph (version 10 of its model,
// deployed in the default environment).
func BenchmarkLookup(b *testing.B) {
	onEngine(b, "sqlite")
	benchLookups(b, getReadEnv(b), lookups)
}

// benchLookups runs the lookups of cases on e's engine.
func benchLookups(b *testing.B, e *env, cases func(*Fixture) []lookup) {
	for _, l := range cases(e.fx) {
		runCase(b, l.name, func(b *testing.B) {
			b.Run("lib", func(b *testing.B) {
				bench(b, func() error { _, err := l.lib(e.lib); return err })
			})
			b.Run("bare", func(b *testing.B) {
				bench(b, func() error { _, err := l.bare(e.bare); return err })
			})
		})
	}
}

// BenchmarkPoint runs the point reads: a tag, a metadata value and a
// resource by id.
func BenchmarkPoint(b *testing.B) {
	onEngine(b, "sqlite")
	benchLookups(b, getReadEnv(b), points)
}

// lookup is a read done by the library and by hand; both return what the
// library returns, so that a test can compare them.
type lookup struct {
	name string
	lib  func(t *metatrack.Tracker) (any, error)
	bare func(d *bareDB) (any, error)
}

// The bare lookups, each one statement.
const (
	sqlBarePrev = "SELECT " + resCols + " FROM resources c JOIN resources r" +
		" ON r.type = c.type AND r.name = c.name AND r.version < c.version" + resJoins +
		" WHERE c.id = ? AND c.version IS NOT NULL ORDER BY r.version DESC LIMIT 1"
	sqlBareWinner = "SELECT " + resCols + " FROM resources mv" +
		" JOIN edges w ON w.src_seq = mv.seq AND w.relation = 'winning_experiment'" +
		" JOIN resources r ON r.seq = w.dst_seq" + resJoins +
		" WHERE mv.id = ? AND mv.type = 'model_version'"
	sqlBareLatest = "SELECT " + resCols + " FROM resources r" + resJoins +
		" WHERE r.seq = (SELECT max((SELECT max(j.seq) FROM resources j WHERE j.parent_seq = v.seq AND j.type = ?2))" +
		"   FROM resources v WHERE v.parent_seq = (SELECT seq FROM resources WHERE id = ?1 AND type = 'model')" +
		"   AND v.type = 'model_version')"
	sqlBareDeployed = "WITH c AS (SELECT parent_seq AS model, name, version FROM resources WHERE id = ?1 AND type = 'model_version')" +
		" SELECT " + resCols + " FROM resources r" + resJoins + " WHERE r.seq = (" +
		"  SELECT seq FROM (" +
		"   SELECT 1 AS rank, d.model_version_seq AS seq, 0 AS version FROM c JOIN deployments d" +
		"     ON d.model_seq = c.model AND d.environment = ?2 AND d.undeployed_at IS NULL" +
		"   UNION ALL SELECT 2, m.seq, m.version FROM c JOIN resources m" +
		"     ON m.type = 'model_version' AND m.name = c.name AND m.version < c.version AND m.status = 'PROMOTED'" +
		"   UNION ALL SELECT 3, m.seq, m.version FROM c JOIN resources m" +
		"     ON m.type = 'model_version' AND m.name = c.name AND m.version < c.version" +
		"  ) ORDER BY rank, version DESC LIMIT 1)"
	sqlBareTag      = "SELECT t.value FROM tags t JOIN resources r ON r.seq = t.resource_seq WHERE r.id = ? AND t.key = ?"
	sqlBareMeta     = "SELECT m.value FROM metadata m JOIN resources r ON r.seq = m.resource_seq WHERE r.id = ? AND m.key = ?"
	sqlBareResource = "SELECT " + resCols + " FROM resources r" + resJoins + " WHERE r.id = ?"
)

func lookups(fx *Fixture) []lookup {
	mv, model := res(fx.ModelVersion), res(fx.Model)
	return []lookup{
		{"GetPrevResourceVersion",
			func(t *metatrack.Tracker) (any, error) { return t.GetPrevResourceVersion(ctx, mv) },
			func(d *bareDB) (any, error) { return d.resource(sqlBarePrev, mv.ID) }},
		{"GetWinningExperiment",
			func(t *metatrack.Tracker) (any, error) { return t.GetWinningExperiment(ctx, mv) },
			func(d *bareDB) (any, error) { return d.resource(sqlBareWinner, mv.ID) }},
		{"GetLatestModelResource",
			func(t *metatrack.Tracker) (any, error) {
				return t.GetLatestModelResource(ctx, model, metatrack.TypePredictionJob)
			},
			func(d *bareDB) (any, error) { return d.resource(sqlBareLatest, model.ID, metatrack.TypePredictionJob) }},
		{"GetCurrentlyDeployedModelVersion",
			func(t *metatrack.Tracker) (any, error) { return t.GetCurrentlyDeployedModelVersion(ctx, mv) },
			func(d *bareDB) (any, error) { return d.resource(sqlBareDeployed, mv.ID, metatrack.DefaultEnvironment) }},
	}
}

func points(fx *Fixture) []lookup {
	exp := res(fx.Experiment)
	return []lookup{
		{"GetTag",
			func(t *metatrack.Tracker) (any, error) { return t.GetTag(ctx, exp, "optimizer") },
			func(d *bareDB) (any, error) {
				var v string
				err := d.queryRow(ctx, sqlBareTag, exp.ID, "optimizer").Scan(&v)
				return v, notFound(err)
			}},
		{"GetMetadata",
			func(t *metatrack.Tracker) (any, error) { return t.GetMetadata(ctx, exp, "accuracy") },
			func(d *bareDB) (any, error) {
				var raw string
				if err := d.queryRow(ctx, sqlBareMeta, exp.ID, "accuracy").Scan(&raw); err != nil {
					return nil, notFound(err)
				}
				return decodeJSON(raw)
			}},
		{"GetResource",
			func(t *metatrack.Tracker) (any, error) { return t.GetResource(ctx, exp.ID, "") },
			func(d *bareDB) (any, error) { return d.resource(sqlBareResource, exp.ID) }},
	}
}

// resource runs a bare statement that returns one resource.
func (d *bareDB) resource(query string, args ...any) (metatrack.Resource, error) {
	_, r, err := scanResource(d.queryRow(ctx, query, args...))
	return r, notFound(err)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return metatrack.ErrNotFound
	}
	return err
}
