package benchmarks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver the library uses, for the bulk load

	"github.com/metatrack/metatrack"
)

// Spec describes a fixture graph. The graph is the ML workflow metatrack
// tracks: raw datasets with versions, models with versions, each model
// version reading raw dataset versions and owning experiments (the first
// one the winner), promotions and prediction jobs. Models are stacked in
// families of StackDepth, as in a stacking ensemble: the first prediction
// job of version v of a model writes (relation "output") version v of the
// dataset predictions_<model>, which version v of the next model of the
// family reads. A family is about three levels deep per model, so the graph
// is about 3*StackDepth+2 levels deep whatever its size.
type Spec struct {
	// Seed makes the graph, its ids and its random choices reproducible.
	Seed uint64
	// Datasets raw datasets of VersionsPerDataset versions each.
	Datasets           int
	VersionsPerDataset int
	// Models models of VersionsPerModel versions each.
	Models           int
	VersionsPerModel int
	// StackDepth models per stacked family; 1 stacks nothing.
	StackDepth int
	// InputsPerModelVersion raw dataset versions are read by each model
	// version, picked at random.
	InputsPerModelVersion int
	// PopularPercent of the model versions also read the popular dataset
	// version (the last version of dataset_0): a shared reference dataset,
	// the start of the impact benchmark.
	PopularPercent int
	// Children of each model version.
	ExperimentsPerModelVersion    int
	PromotionsPerModelVersion     int
	PredictionJobsPerModelVersion int
}

// SpecFor returns the spec of a graph of about units times ten thousand
// resources: per unit, 20 raw datasets of 5 versions and 20 models of 10
// versions in families of 5, each version reading 3 raw dataset versions
// (1% of them also the popular one) and owning 36 experiments, a promotion
// and 10 prediction jobs. Per unit that is about 9,900 resources, 10,800
// edges, 17,000 tags and 41,000 metadata values.
func SpecFor(units int) Spec {
	return Spec{
		Seed:                          1,
		Datasets:                      20 * units,
		VersionsPerDataset:            5,
		Models:                        20 * units,
		VersionsPerModel:              10,
		StackDepth:                    5,
		InputsPerModelVersion:         3,
		PopularPercent:                1,
		ExperimentsPerModelVersion:    36,
		PromotionsPerModelVersion:     1,
		PredictionJobsPerModelVersion: 10,
	}
}

// Scales are the named sizes of the benchmarks, in units of SpecFor.
var Scales = map[string]int{"10k": 1, "100k": 10, "1m": 100}

// ScaleUnits returns the units of a named scale (10k, 100k, 1m).
func ScaleUnits(name string) (int, error) {
	if u, ok := Scales[strings.ToLower(name)]; ok {
		return u, nil
	}
	return 0, fmt.Errorf("benchmarks: unknown scale %q (10k, 100k or 1m)", name)
}

// Pick is a resource the benchmarks start from.
type Pick struct {
	Seq int64
	ID  string
}

// Fixture is a generated database and the resources the benchmarks use.
type Fixture struct {
	Path string
	Spec Spec

	Resources, Edges, Tags, Metadata int64
	Bytes                            int64

	// UpstreamStart is the last prediction job of the last version of the
	// last model of the middle family: its full ancestry runs down the
	// whole stack.
	UpstreamStart Pick
	// DownstreamStart is a raw input of version 1 of the first model of
	// that family: its descendants run up the whole stack.
	DownstreamStart Pick
	// Popular is the popular dataset version.
	Popular Pick
	// PathFrom and PathTo are the ends of the shortest-path benchmark:
	// DownstreamStart and the last prediction job of version 1 of the last
	// model of the family, 14 edges apart.
	PathFrom, PathTo Pick
	// Model is a model in the middle of the graph with an even number, so
	// that its last version, ModelVersion, is DEPLOYED in the default
	// environment; ModelVersion has a previous version and a winner.
	Model, ModelVersion Pick
	// Experiment is an experiment of ModelVersion with tags and metadata.
	Experiment Pick
	// WriteTargets are experiments of ModelVersion the write benchmarks
	// log to.
	WriteTargets []Pick
	// Commit is the commit tag of ModelVersion, shared by its experiments:
	// the selective tag search.
	Commit string
	// Accuracy is the accuracy metadata of Experiment, as stored: the
	// selective metadata search.
	Accuracy string
}

// Build generates the graph of spec into a new database file at path: the
// schema through metatrack.Open, then every row with bulk SQL in one
// transaction (no history rows: the generated resources have no change
// log). It returns the fixture, as Load does.
func Build(ctx context.Context, path string, spec Spec) (*Fixture, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("benchmarks: %s exists", path)
	}
	t, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		return nil, err
	}
	if err := t.Close(); err != nil {
		return nil, err
	}
	if err := load(ctx, path, spec); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("benchmarks: generate %s: %w", path, err)
	}
	return Load(ctx, path, spec)
}

// load writes the graph with foreign keys off and no journal (a failed
// load leaves a file to delete), then turns the write-ahead log back on.
func load(ctx context.Context, path string, spec Spec) error {
	d, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(0)")
	if err != nil {
		return err
	}
	defer d.Close()
	d.SetMaxOpenConns(1)
	for _, p := range []string{"journal_mode = OFF", "synchronous = OFF", "cache_size = -524288", "temp_store = MEMORY"} {
		if _, err := d.ExecContext(ctx, "PRAGMA "+p); err != nil {
			return err
		}
	}
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	g := &gen{
		ctx:  ctx,
		spec: spec,
		rng:  rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15)),
		now:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		res: newBulk(tx, "resources", "seq", "id", "type", "name", "version", "parent_seq", "status", "run_seq",
			"created_at", "updated_at"),
		edge: newBulk(tx, "edges", "src_seq", "dst_seq", "relation", "run_seq", "created_at"),
		run:  newBulk(tx, "runs", "seq", "id", "name", "status", "started_at", "ended_at"),
		dep: newBulk(tx, "deployments", "id", "model_seq", "model_version_seq", "environment", "deployed_at",
			"undeployed_at", "run_seq"),
	}
	if err := g.generate(); err != nil {
		return err
	}
	for _, b := range []*bulk{g.res, g.edge, g.run, g.dep} {
		if err := b.flush(ctx); err != nil {
			return err
		}
		b.close()
	}
	for _, q := range decorate {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%w\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = d.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	return err
}

type gen struct {
	ctx                 context.Context
	spec                Spec
	rng                 *rand.Rand
	now                 int64
	seq, runSeq         int64
	res, edge, run, dep *bulk
}

func (g *gen) generate() error {
	s := g.spec
	var raw []int64
	popular := int64(0)
	for d := range s.Datasets {
		name := "dataset_" + strconv.Itoa(d)
		run := g.newRun("ingest_" + name)
		ds := g.resource("dataset", name, 0, 0, "", run)
		for v := 1; v <= s.VersionsPerDataset; v++ {
			dv := g.resource("dataset_version", name, v, ds, "", run)
			g.link(ds, dv, "version", run)
			raw = append(raw, dv)
			if d == 0 && v == s.VersionsPerDataset {
				popular = dv
			}
		}
	}
	if err := g.err(); err != nil {
		return err
	}

	var prevPredictions []int64 // by version-1, of the previous model of the family
	for m := range s.Models {
		name := "model_" + strconv.Itoa(m)
		pos := m % max(s.StackDepth, 1)
		if pos == 0 {
			prevPredictions = nil
		}
		run := g.newRun("train_" + name)
		model := g.resource("model", name, 0, 0, "", run)
		var predDataset int64
		var predictions []int64
		if pos < s.StackDepth-1 && m < s.Models-1 && s.PredictionJobsPerModelVersion > 0 {
			predDataset = g.resource("dataset", "predictions_"+name, 0, 0, "", run)
		}
		var prevMV int64
		for v := 1; v <= s.VersionsPerModel; v++ {
			status := "REGISTERED"
			switch {
			case v == s.VersionsPerModel && m%2 == 0:
				status = "DEPLOYED"
			case v == s.VersionsPerModel:
				status = "PROMOTED"
			case v == s.VersionsPerModel-1:
				status = "DEMOTED"
			}
			mv := g.resource("model_version", name, v, model, status, run)
			g.link(model, mv, "version", run)
			for _, in := range g.inputs(raw, popular) {
				g.link(in, mv, "input", run)
			}
			if v-1 < len(prevPredictions) {
				g.link(prevPredictions[v-1], mv, "input", run)
			}
			for e := range s.ExperimentsPerModelVersion {
				exp := g.resource("experiment", "exp_"+strconv.Itoa(e), 0, mv, "FINISHED", run)
				g.link(mv, exp, "child", run)
				if e == 0 {
					g.link(mv, exp, "winning_experiment", run)
				}
			}
			for p := range s.PromotionsPerModelVersion {
				st := "PENDING"
				if status == "DEPLOYED" || status == "PROMOTED" {
					st = "APPROVED"
				}
				pr := g.resource("promotion", "promotion_"+strconv.Itoa(p), 0, mv, st, run)
				g.link(mv, pr, "child", run)
			}
			for j := range s.PredictionJobsPerModelVersion {
				pj := g.resource("prediction_job", "predict_"+strconv.Itoa(j), 0, mv, "FINISHED", run)
				g.link(mv, pj, "child", run)
				if j == 0 && predDataset != 0 {
					dv := g.resource("dataset_version", "predictions_"+name, v, predDataset, "", run)
					g.link(predDataset, dv, "version", run)
					g.link(pj, dv, "output", run)
					predictions = append(predictions, dv)
				}
			}
			if v == s.VersionsPerModel {
				g.deploy(m, model, mv, prevMV, run)
			}
			prevMV = mv
		}
		prevPredictions = predictions
		if err := g.err(); err != nil {
			return err
		}
	}
	return g.err()
}

// inputs picks the raw dataset versions a model version reads.
func (g *gen) inputs(raw []int64, popular int64) []int64 {
	n := min(g.spec.InputsPerModelVersion, len(raw))
	out := make([]int64, 0, n+1)
	for len(out) < n {
		c := raw[g.rng.IntN(len(raw))]
		if !contains(out, c) {
			out = append(out, c)
		}
	}
	if popular != 0 && g.rng.IntN(100) < g.spec.PopularPercent && !contains(out, popular) {
		out = append(out, popular)
	}
	return out
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// deploy records the deployments of model m, whose last version is mv and
// the one before it prev: on even models prev was deployed in the default
// environment and replaced by mv; odd models have mv deployed in staging
// only, so that the default environment falls back to a promoted version.
func (g *gen) deploy(m int, model, mv, prev, run int64) {
	at := g.tick()
	if m%2 == 1 {
		g.dep.add(g.ctx, g.id(), model, mv, "staging", at, nil, run)
		return
	}
	if prev != 0 {
		g.dep.add(g.ctx, g.id(), model, prev, metatrack.DefaultEnvironment, at-1000, at, run)
	}
	g.dep.add(g.ctx, g.id(), model, mv, metatrack.DefaultEnvironment, at, nil, run)
}

func (g *gen) newRun(name string) int64 {
	g.runSeq++
	at := g.tick()
	g.run.add(g.ctx, g.runSeq, g.id(), name, "FINISHED", at, at+1)
	return g.runSeq
}

// resource inserts a resource; version and parent 0 are NULL.
func (g *gen) resource(typ, name string, version int, parent int64, status string, run int64) int64 {
	g.seq++
	at := g.tick()
	g.res.add(g.ctx, g.seq, g.id(), typ, name, nullIf0(int64(version)), nullIf0(parent), status, run, at, at)
	return g.seq
}

func (g *gen) link(src, dst int64, relation string, run int64) {
	g.edge.add(g.ctx, src, dst, relation, run, g.tick())
}

func (g *gen) err() error {
	return errors.Join(g.res.err, g.edge.err, g.run.err, g.dep.err)
}

func (g *gen) tick() int64 {
	g.now++
	return g.now
}

// id returns a UUIDv7-shaped id: the current time, then random bits from
// the seeded generator.
func (g *gen) id() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x",
		uint64(g.now)>>16, uint64(g.now)&0xffff, a&0xfff, 0x8000|(a>>12)&0x3fff, b&0xffffffffffff)
}

func nullIf0(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// bulk inserts rows into a table many at a time, with one prepared
// multi-row INSERT.
type bulk struct {
	tx    *sql.Tx
	table string
	cols  []string
	stmt  *sql.Stmt
	args  []any
	err   error
}

const bulkRows = 200

func newBulk(tx *sql.Tx, table string, cols ...string) *bulk {
	return &bulk{tx: tx, table: table, cols: cols, args: make([]any, 0, bulkRows*len(cols))}
}

func (b *bulk) insertSQL(rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.cols)), ",") + ")"
	return "INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

func (b *bulk) add(ctx context.Context, vals ...any) {
	if b.err != nil {
		return
	}
	b.args = append(b.args, vals...)
	if len(b.args) < bulkRows*len(b.cols) {
		return
	}
	if b.stmt == nil {
		if b.stmt, b.err = b.tx.PrepareContext(ctx, b.insertSQL(bulkRows)); b.err != nil {
			return
		}
	}
	_, b.err = b.stmt.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
}

func (b *bulk) flush(ctx context.Context) error {
	if b.err != nil || len(b.args) == 0 {
		return b.err
	}
	_, b.err = b.tx.ExecContext(ctx, b.insertSQL(len(b.args)/len(b.cols)), b.args...)
	b.args = b.args[:0]
	return b.err
}

func (b *bulk) close() {
	if b.stmt != nil {
		b.stmt.Close()
	}
}

// h is a deterministic pseudo-random number in [0, 1000003) of the integer
// SQL expression col and a salt.
func h(col string, salt int) string {
	return fmt.Sprintf("((%s * 2654435761 + %d) %% 1000003)", col, salt*7919)
}

// decorate adds the tags, metadata and attributes, set-wise in SQL from the
// resource seqs: top-level numbers and strings fill metadata.num and
// metadata.str as the tracker does.
var decorate = []string{
	// Experiments: the optimizer, the commit shared with their model
	// version; accuracy, loss, learning rate, trainer and a parameter
	// object; a trial number attribute.
	`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at)
		SELECT seq, 'optimizer', CASE ` + h("seq", 1) + ` % 3 WHEN 0 THEN 'adam' WHEN 1 THEN 'sgd' ELSE 'rmsprop' END,
			run_seq, created_at FROM resources WHERE type = 'experiment'`,
	`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at)
		SELECT seq, 'commit', printf('%012x', (parent_seq * 2654435761) % 281474976710597), run_seq, created_at
		FROM resources WHERE type IN ('experiment')`,
	`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at)
		SELECT seq, 'commit', printf('%012x', (seq * 2654435761) % 281474976710597), run_seq, created_at
		FROM resources WHERE type = 'model_version'`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT seq, key, v, CAST(v AS REAL), NULL, run_seq, created_at FROM (
			SELECT seq, 'accuracy' AS key, printf('%.6f', 0.5 + (` + h("seq", 2) + ` % 500000) / 1000000.0) AS v, run_seq, created_at
				FROM resources WHERE type = 'experiment'
			UNION ALL
			SELECT seq, 'loss', printf('%.6f', 0.05 + (` + h("seq", 3) + ` % 900000) / 1000000.0), run_seq, created_at
				FROM resources WHERE type = 'experiment'
			UNION ALL
			SELECT seq, 'learning_rate', CASE ` + h("seq", 4) + ` % 6 WHEN 0 THEN '0.1' WHEN 1 THEN '0.03' WHEN 2 THEN '0.01'
				WHEN 3 THEN '0.003' WHEN 4 THEN '0.001' ELSE '0.0003' END, run_seq, created_at
				FROM resources WHERE type = 'experiment')`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT seq, 'model_trainer', json_quote(t), NULL, t, run_seq, created_at FROM (
			SELECT seq, CASE ` + h("parent_seq", 5) + ` % 4 WHEN 0 THEN 'xgboost' WHEN 1 THEN 'lightgbm'
				WHEN 2 THEN 'sklearn_rf' ELSE 'torch_mlp' END AS t, run_seq, created_at
			FROM resources WHERE type = 'experiment')`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT seq, 'training_params', json_object('max_depth', 2 + ` + h("seq", 6) + ` % 10,
			'n_estimators', 100 * (1 + ` + h("seq", 7) + ` % 10), 'subsample', 0.8), NULL, NULL, run_seq, created_at
		FROM resources WHERE type = 'experiment'`,
	`UPDATE resources SET attrs = json_object('trial', CAST(substr(name, 5) AS INTEGER))
		WHERE type = 'experiment'`,

	// Model versions: framework, owner; auc and the winning experiment id
	// (which the tracker keeps beside the winning_experiment edge); the
	// trainer attribute.
	`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at)
		SELECT seq, 'framework', CASE ` + h("parent_seq", 5) + ` % 4 WHEN 0 THEN 'xgboost' WHEN 1 THEN 'lightgbm'
			WHEN 2 THEN 'sklearn' ELSE 'torch' END, run_seq, created_at FROM resources WHERE type = 'model_version'
		UNION ALL
		SELECT seq, 'owner', 'team_' || (` + h("parent_seq", 8) + ` % 50), run_seq, created_at
		FROM resources WHERE type = 'model_version'`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT seq, 'auc', v, CAST(v AS REAL), NULL, run_seq, created_at FROM (
			SELECT seq, printf('%.6f', 0.6 + (` + h("seq", 9) + ` % 400000) / 1000000.0) AS v, run_seq, created_at
			FROM resources WHERE type = 'model_version')`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT mv.seq, 'winning_experiment_id', json_quote(e.id), NULL, e.id, mv.run_seq, mv.created_at
		FROM edges w JOIN resources mv ON mv.seq = w.src_seq JOIN resources e ON e.seq = w.dst_seq
		WHERE w.relation = 'winning_experiment'`,
	`UPDATE resources SET attrs = json_object('trainer', CASE ` + h("parent_seq", 5) + ` % 4 WHEN 0 THEN 'xgboost'
		WHEN 1 THEN 'lightgbm' WHEN 2 THEN 'sklearn' ELSE 'torch' END) WHERE type = 'model_version'`,

	// Dataset versions: source and format; row count and schema hash;
	// size and format attributes.
	`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at)
		SELECT seq, 'source', 's3://datasets/' || name || '/v' || version || '.parquet', run_seq, created_at
			FROM resources WHERE type = 'dataset_version'
		UNION ALL
		SELECT seq, 'format', CASE ` + h("seq", 10) + ` % 3 WHEN 0 THEN 'parquet' WHEN 1 THEN 'csv' ELSE 'jsonl' END,
			run_seq, created_at FROM resources WHERE type = 'dataset_version'`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT seq, 'rows', CAST(n AS TEXT), n, NULL, run_seq, created_at FROM (
			SELECT seq, 1000 + ` + h("seq", 11) + ` * 37 AS n, run_seq, created_at FROM resources WHERE type = 'dataset_version')
		UNION ALL
		SELECT seq, 'schema_hash', json_quote(s), NULL, s, run_seq, created_at FROM (
			SELECT seq, printf('%08x', ` + h("parent_seq", 12) + `) AS s, run_seq, created_at
			FROM resources WHERE type = 'dataset_version')`,
	`UPDATE resources SET attrs = json_object('size_bytes', 1000000 + ` + h("seq", 13) + ` * 1013, 'format', 'parquet')
		WHERE type = 'dataset_version'`,

	// Prediction jobs: the environment; the prediction count (also an
	// attribute, so that an attribute search and a metadata search ask the
	// same) and the mean score; the batch date.
	`INSERT INTO tags (resource_seq, key, value, run_seq, updated_at)
		SELECT seq, 'env', CASE ` + h("seq", 14) + ` % 3 WHEN 0 THEN 'prod' WHEN 1 THEN 'staging' ELSE 'dev' END,
			run_seq, created_at FROM resources WHERE type = 'prediction_job'`,
	`INSERT INTO metadata (resource_seq, key, value, num, str, run_seq, updated_at)
		SELECT seq, 'prediction_count', CAST(` + h("seq", 15) + ` AS TEXT), ` + h("seq", 15) + `, NULL, run_seq, created_at
			FROM resources WHERE type = 'prediction_job'
		UNION ALL
		SELECT seq, 'mean_score', v, CAST(v AS REAL), NULL, run_seq, created_at FROM (
			SELECT seq, printf('%.4f', (` + h("seq", 16) + ` % 10000) / 10000.0) AS v, run_seq, created_at
			FROM resources WHERE type = 'prediction_job')`,
	`UPDATE resources SET attrs = json_object('prediction_count', ` + h("seq", 15) + `,
		'batch_date', date('2025-01-01', '+' || (` + h("seq", 17) + ` % 365) || ' days'))
		WHERE type = 'prediction_job'`,

	// Promotions: the reason and metrics, as Tracker.Promote records them.
	`UPDATE resources SET attrs = json_object('reason', 'UPLIFT', 'metric', 'auc',
		'value', 0.8 + (` + h("seq", 18) + ` % 1000) / 10000.0, 'baseline', 0.8)
		WHERE type = 'promotion'`,
}

// Load returns the fixture of the database at path, generated by Build
// with spec: it finds the benchmark's resources by name.
func Load(ctx context.Context, path string, spec Spec) (*Fixture, error) {
	d, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f := &Fixture{Path: path, Spec: spec}
	if info, err := os.Stat(path); err == nil {
		f.Bytes = info.Size()
	}
	q := func(dest any, query string, args ...any) {
		if err == nil {
			if err = d.QueryRowContext(ctx, query, args...).Scan(dest); err != nil {
				err = fmt.Errorf("benchmarks: load fixture: %w\n%s %v", err, query, args)
			}
		}
	}
	q(&f.Resources, "SELECT count(*) FROM resources")
	q(&f.Edges, "SELECT count(*) FROM edges")
	q(&f.Tags, "SELECT count(*) FROM tags")
	q(&f.Metadata, "SELECT count(*) FROM metadata")

	byRef := func(p *Pick, typ, name string, version int) {
		q(&p.Seq, "SELECT seq FROM resources WHERE type = ? AND name = ? AND version IS ?", typ, name, nullIf0(int64(version)))
	}
	child := func(p *Pick, parent int64, typ, name string) {
		q(&p.Seq, "SELECT seq FROM resources WHERE parent_seq = ? AND type = ? AND name = ?", parent, typ, name)
	}
	stack := max(spec.StackDepth, 1)
	family := spec.Models / stack / 2
	first, last := family*stack, min(family*stack+stack, spec.Models)-1
	var lastMV, firstMV1, lastMV1 Pick
	byRef(&lastMV, "model_version", "model_"+strconv.Itoa(last), spec.VersionsPerModel)
	child(&f.UpstreamStart, lastMV.Seq, "prediction_job", "predict_"+strconv.Itoa(spec.PredictionJobsPerModelVersion-1))
	byRef(&firstMV1, "model_version", "model_"+strconv.Itoa(first), 1)
	q(&f.DownstreamStart.Seq, `SELECT min(e.src_seq) FROM edges e JOIN resources r ON r.seq = e.src_seq
		WHERE e.dst_seq = ? AND e.relation = 'input' AND r.name LIKE 'dataset\_%' ESCAPE '\'`, firstMV1.Seq)
	byRef(&f.Popular, "dataset_version", "dataset_0", spec.VersionsPerDataset)
	f.PathFrom = f.DownstreamStart
	byRef(&lastMV1, "model_version", "model_"+strconv.Itoa(last), 1)
	child(&f.PathTo, lastMV1.Seq, "prediction_job", "predict_"+strconv.Itoa(spec.PredictionJobsPerModelVersion-1))

	mid := spec.Models / 2 &^ 1
	byRef(&f.Model, "model", "model_"+strconv.Itoa(mid), 0)
	byRef(&f.ModelVersion, "model_version", "model_"+strconv.Itoa(mid), spec.VersionsPerModel)
	child(&f.Experiment, f.ModelVersion.Seq, "experiment", "exp_5")
	for i := range 10 {
		var p Pick
		child(&p, f.ModelVersion.Seq, "experiment", "exp_"+strconv.Itoa(10+i))
		f.WriteTargets = append(f.WriteTargets, p)
	}
	q(&f.Commit, "SELECT value FROM tags WHERE resource_seq = ? AND key = 'commit'", f.ModelVersion.Seq)
	q(&f.Accuracy, "SELECT value FROM metadata WHERE resource_seq = ? AND key = 'accuracy'", f.Experiment.Seq)

	picks := []*Pick{&f.UpstreamStart, &f.DownstreamStart, &f.Popular, &f.PathFrom, &f.PathTo, &f.Model,
		&f.ModelVersion, &f.Experiment}
	for i := range f.WriteTargets {
		picks = append(picks, &f.WriteTargets[i])
	}
	for _, p := range picks {
		q(&p.ID, "SELECT id FROM resources WHERE seq = ?", p.Seq)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}
