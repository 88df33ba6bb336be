// Package lineagetest generates realistic lineage graphs in a metatrack
// database, for tests and benchmarks of the lineage package and of the
// tracker at scale. It is a separate package, like net/http/httptest, so
// that the generator is shared without being part of the lineage API.
package lineagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/metatrack/metatrack/storage"
)

// Spec describes the graph Generate writes. Every count may be 0.
//
// The graph is the ML workflow metatrack tracks: raw datasets with versions
// (dataset -version-> dataset_version), models with versions (model -version->
// model_version), each model version reading raw dataset versions picked at
// random (dataset_version -input-> model_version) and owning experiments,
// promotions and prediction jobs (model_version -child-> ...), one of its
// experiments the winner (model_version -winning_experiment-> experiment).
type Spec struct {
	// Seed makes the graph, its ids and its random choices reproducible.
	Seed uint64
	// Datasets raw datasets of VersionsPerDataset versions each.
	Datasets           int
	VersionsPerDataset int
	// Models models of VersionsPerModel versions each.
	Models           int
	VersionsPerModel int
	// InputsPerModelVersion raw dataset versions are read by each model
	// version, picked at random (at most all of them).
	InputsPerModelVersion int
	// Children of each model version. The first experiment is the winning
	// one.
	ExperimentsPerModelVersion    int
	PromotionsPerModelVersion     int
	PredictionJobsPerModelVersion int
	// Stacked chains the models, as in a stacking ensemble: the first
	// prediction job of version v of model i writes (relation "output")
	// version v of dataset "predictions_<model i>", which version v of
	// model i+1 reads besides its raw inputs. Without it the graph is three
	// levels deep; with it about three levels more per model.
	Stacked bool
}

// DefaultSpec is a graph of about ten thousand resources and eleven thousand
// edges: 20 raw datasets of 5 versions, 20 models of 10 versions, each
// version reading 3 raw dataset versions and owning 36 experiments, a
// promotion and 10 prediction jobs, the models stacked (about 60 levels
// deep).
func DefaultSpec() Spec {
	return Spec{
		Seed:                          1,
		Datasets:                      20,
		VersionsPerDataset:            5,
		Models:                        20,
		VersionsPerModel:              10,
		InputsPerModelVersion:         3,
		ExperimentsPerModelVersion:    36,
		PromotionsPerModelVersion:     1,
		PredictionJobsPerModelVersion: 10,
		Stacked:                       true,
	}
}

// Scaled returns s with n times the datasets and the models, so about n
// times the resources; the depth of a stacked graph grows with it.
func (s Spec) Scaled(n int) Spec {
	s.Datasets *= n
	s.Models *= n
	return s
}

// Generated lists the seqs of what Generate wrote, by type, in creation
// order.
type Generated struct {
	Datasets        []int64
	DatasetVersions []int64 // raw ones first, then the predictions of a stacked graph
	Models          []int64
	ModelVersions   []int64 // model 0 version 1, model 0 version 2, ...
	Experiments     []int64
	Promotions      []int64
	PredictionJobs  []int64
	// Deployed are the model versions Generate marked deployed: the last
	// version of every even model has status DEPLOYED and an open "prod"
	// deployment; the last version of every odd model has status PROMOTED
	// and an open "staging" deployment.
	Deployed  []int64
	Runs      []int64
	Resources int
	Edges     int
}

// Generate writes the graph of spec into e in one write transaction,
// through the engine's own statements (storage.Statements), so that it
// writes the same graph, seqs included, on every engine. e must hold no
// resources named like the generated ones (dataset_<i>, model_<i>,
// predictions_model_<i>): generate into a fresh store. Ids are
// UUIDv7-shaped and reproducible from spec.Seed; times start at 2025-01-01
// UTC, one millisecond per record.
func Generate(ctx context.Context, e storage.Engine, spec Spec) (*Generated, error) {
	var out *Generated
	err := e.WriteTx(ctx, func(tx storage.Tx) error {
		// A new generator each time: WriteTx may run this again.
		g := &gen{ctx: ctx, tx: tx, sql: e.SQL(), rng: rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15)), now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
		if err := g.generate(spec); err != nil {
			return err
		}
		out = &g.out
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lineagetest: %w", err)
	}
	return out, nil
}

type gen struct {
	ctx context.Context
	tx  storage.Tx
	sql *storage.Statements
	rng *rand.Rand
	now int64
	out Generated
}

func (g *gen) generate(spec Spec) error {
	var raw []int64
	for d := range spec.Datasets {
		name := fmt.Sprintf("dataset_%d", d)
		run, err := g.newRun("ingest_" + name)
		if err != nil {
			return err
		}
		ds, err := g.resource("dataset", name, 0, 0, "", run)
		if err != nil {
			return err
		}
		g.out.Datasets = append(g.out.Datasets, ds)
		for v := 1; v <= spec.VersionsPerDataset; v++ {
			dv, err := g.resource("dataset_version", name, v, ds, "", run)
			if err != nil {
				return err
			}
			raw = append(raw, dv)
			if err := g.link(ds, dv, "version", run); err != nil {
				return err
			}
		}
	}
	g.out.DatasetVersions = append(g.out.DatasetVersions, raw...)

	var prevPredictions []int64 // by version-1, of the previous model
	for m := range spec.Models {
		name := fmt.Sprintf("model_%d", m)
		run, err := g.newRun("train_" + name)
		if err != nil {
			return err
		}
		model, err := g.resource("model", name, 0, 0, "", run)
		if err != nil {
			return err
		}
		g.out.Models = append(g.out.Models, model)
		var predDataset int64
		var predictions []int64
		if spec.Stacked && m < spec.Models-1 && spec.PredictionJobsPerModelVersion > 0 {
			if predDataset, err = g.resource("dataset", "predictions_"+name, 0, 0, "", run); err != nil {
				return err
			}
			g.out.Datasets = append(g.out.Datasets, predDataset)
		}
		for v := 1; v <= spec.VersionsPerModel; v++ {
			status := "REGISTERED"
			switch {
			case v == spec.VersionsPerModel && m%2 == 0:
				status = "DEPLOYED"
			case v == spec.VersionsPerModel:
				status = "PROMOTED"
			case v == spec.VersionsPerModel-1:
				status = "DEMOTED"
			}
			mv, err := g.resource("model_version", name, v, model, status, run)
			if err != nil {
				return err
			}
			g.out.ModelVersions = append(g.out.ModelVersions, mv)
			if err := g.link(model, mv, "version", run); err != nil {
				return err
			}
			for _, i := range g.rng.Perm(len(raw))[:min(spec.InputsPerModelVersion, len(raw))] {
				if err := g.link(raw[i], mv, "input", run); err != nil {
					return err
				}
			}
			if v-1 < len(prevPredictions) {
				if err := g.link(prevPredictions[v-1], mv, "input", run); err != nil {
					return err
				}
			}
			if err := g.children(spec, name, v, mv, run, predDataset, &predictions); err != nil {
				return err
			}
			if v == spec.VersionsPerModel {
				var prev int64
				if v > 1 {
					prev = g.out.ModelVersions[len(g.out.ModelVersions)-2]
				}
				if err := g.deploy(m, model, mv, prev, run); err != nil {
					return err
				}
			}
		}
		prevPredictions = predictions
	}
	return nil
}

// children creates the experiments, promotions and prediction jobs of mv.
func (g *gen) children(spec Spec, model string, v int, mv, run, predDataset int64, predictions *[]int64) error {
	for e := range spec.ExperimentsPerModelVersion {
		exp, err := g.resource("experiment", fmt.Sprintf("exp_%d", e), 0, mv, "FINISHED", run)
		if err != nil {
			return err
		}
		g.out.Experiments = append(g.out.Experiments, exp)
		if err := g.link(mv, exp, "child", run); err != nil {
			return err
		}
		if e == 0 {
			if err := g.link(mv, exp, "winning_experiment", run); err != nil {
				return err
			}
		}
	}
	for p := range spec.PromotionsPerModelVersion {
		pr, err := g.resource("promotion", fmt.Sprintf("promotion_%d", p), 0, mv, "FINISHED", run)
		if err != nil {
			return err
		}
		g.out.Promotions = append(g.out.Promotions, pr)
		if err := g.link(mv, pr, "child", run); err != nil {
			return err
		}
	}
	for j := range spec.PredictionJobsPerModelVersion {
		pj, err := g.resource("prediction_job", fmt.Sprintf("predict_%d", j), 0, mv, "FINISHED", run)
		if err != nil {
			return err
		}
		g.out.PredictionJobs = append(g.out.PredictionJobs, pj)
		if err := g.link(mv, pj, "child", run); err != nil {
			return err
		}
		if j == 0 && predDataset != 0 {
			dv, err := g.resource("dataset_version", "predictions_"+model, v, predDataset, "", run)
			if err != nil {
				return err
			}
			g.out.DatasetVersions = append(g.out.DatasetVersions, dv)
			*predictions = append(*predictions, dv)
			if err := g.link(predDataset, dv, "version", run); err != nil {
				return err
			}
			if err := g.link(pj, dv, "output", run); err != nil {
				return err
			}
		}
	}
	return nil
}

// deploy records the deployments of model m, whose last version is mv: the
// version before it (prev, 0 when none) deployed and undeployed, then mv
// deployed.
func (g *gen) deploy(m int, model, mv, prev, run int64) error {
	env := "prod"
	if m%2 == 1 {
		env = "staging"
	}
	g.out.Deployed = append(g.out.Deployed, mv)
	at := g.tick()
	if prev != 0 {
		if _, err := g.tx.Exec(g.ctx, g.sql.AddDeployment, g.id(), model, prev, env, at-1000, at, run); err != nil {
			return err
		}
	}
	_, err := g.tx.Exec(g.ctx, g.sql.AddDeployment, g.id(), model, mv, env, at, nil, run)
	return err
}

func (g *gen) newRun(name string) (int64, error) {
	at := g.tick()
	var seq int64
	if err := g.tx.Get(g.ctx, &seq, g.sql.AddRun, g.id(), name, "", "", 0, "FINISHED", "", at, at+1); err != nil {
		return 0, err
	}
	g.out.Runs = append(g.out.Runs, seq)
	return seq, nil
}

// resource inserts a resource; version and parent 0 are NULL.
func (g *gen) resource(typ, name string, version int, parent int64, status string, run int64) (int64, error) {
	at := g.tick()
	var seq int64
	if err := g.tx.Get(g.ctx, &seq, g.sql.InsertResource, g.id(), typ, name, nullIf0(int64(version)), nullIf0(parent), status, "{}", run, at, at, nil); err != nil {
		return 0, fmt.Errorf("%s %s@%d: %w", typ, name, version, err)
	}
	g.out.Resources++
	return seq, nil
}

func (g *gen) link(src, dst int64, relation string, run int64) error {
	if _, err := g.tx.Exec(g.ctx, g.sql.AddEdge, src, dst, relation, run, g.tick()); err != nil {
		return fmt.Errorf("edge %d -%s-> %d: %w", src, relation, dst, err)
	}
	g.out.Edges++
	return nil
}

// tick advances the clock by a millisecond and returns it.
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
