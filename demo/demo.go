// Package demo runs a small, real machine-learning workflow against a
// metatrack tracker: the four pipelines through which the ML framework that
// metatrack serves calls its tracker (process data, train, deploy, predict;
// see CLIENTS.md), on a synthetic Titanic-like dataset, with a logistic
// regression written in plain Go.
//
// Each round of Run creates a new version of the dataset "titanic_train"
// (drifting a little from the version before), profiles, checks and
// compares it with the previous version, trains a new version of the model
// "titanic_model" in a few hyperparameter trials (experiments), compares it
// with the deployed model, promotes and deploys it when it ranks better,
// and runs and evaluates a batch prediction job with the deployed model.
// Files go to a work directory, where a tiny content-addressed store stands
// in for git or DVC.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/metatrack/metatrack"
)

// Names of the dataset and the model the demo tracks.
const (
	DatasetName = "titanic_train"
	ModelName   = "titanic_model"
)

// Option configures Run.
type Option func(*config)

type config struct {
	rounds   int
	rows     int
	incoming int
	seed     uint64
	trials   []TrainParams
}

func defaultConfig() config {
	return config{rounds: 3, rows: 2000, incoming: 300, seed: 1912, trials: DefaultTrials()}
}

// WithRounds sets how many rounds (dataset version, model version,
// deployment, prediction job) Run performs; the default is 3.
func WithRounds(n int) Option { return func(c *config) { c.rounds = n } }

// WithRows sets the number of rows of each dataset version (default 1000).
func WithRows(n int) Option { return func(c *config) { c.rows = n } }

// WithSeed sets the seed the data is generated from (default 1912). The
// same seed gives the same data, models and reports.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithTrials sets the hyperparameter trials of each training run (default
// DefaultTrials).
func WithTrials(trials ...TrainParams) Option {
	return func(c *config) { c.trials = slices.Clone(trials) }
}

// DefaultTrials returns the hyperparameter grid of the train pipeline:
// learning rate × L2 penalty.
func DefaultTrials() []TrainParams {
	var out []TrainParams
	for _, lr := range []float64{0.05, 0.5} {
		for _, l2 := range []float64{0, 0.01, 0.1} {
			out = append(out, TrainParams{LearningRate: lr, L2: l2, Epochs: 300})
		}
	}
	return out
}

// Summary is what Run did.
type Summary struct {
	Rounds []Round
	// Deployed is the model version deployed (in the default environment)
	// when Run returned; zero if none.
	Deployed metatrack.Resource
	// Created counts the resources Run created, by type (the dataset and
	// model heads only when they were new).
	Created map[string]int
	// Artifacts and ArtifactBytes count the artifacts and reports Run
	// logged.
	Artifacts     int
	ArtifactBytes int64
	// WorkDir is the absolute work directory.
	WorkDir string
	Elapsed time.Duration
}

// Round is one pass through the four pipelines.
type Round struct {
	DatasetVersion metatrack.Resource
	// DataChecks is the status of the data checks (pass, warn or fail);
	// DataDrift the drift against the previous dataset version (none,
	// moderate, significant), "" for the first version.
	DataChecks string
	DataDrift  string

	ModelVersion metatrack.Resource
	Experiments  int
	Winner       metatrack.Resource
	WinnerParams TrainParams
	Valid, Test  Metrics
	ModelChecks  string
	// Baseline is the version the new one was compared with (the deployed
	// one), zero when there was none; BaselineTest its scores on the new
	// test split.
	Baseline     metatrack.Resource
	BaselineTest Metrics
	// Promoted reports whether the new version was promoted and deployed.
	Promoted  bool
	Promotion metatrack.Resource

	// PredictionJob ran the model version PredictedWith on an incoming
	// batch; Evaluation scores its predictions against the ground truth.
	PredictionJob    metatrack.Resource
	PredictedWith    metatrack.Resource
	PredictionChecks string
	Evaluation       Metrics

	ProcessTime, TrainTime, DeployTime, PredictTime time.Duration
}

// env is what the pipelines share.
type env struct {
	t   *metatrack.Tracker
	cfg config
	dir string
	vc  VCStore
	log io.Writer
	sum *Summary
}

// Run runs cfg rounds of the four pipelines (3 by default) against t,
// writing data, models and reports under workDir, and progress lines to
// log (nil for none). Versions continue the chains already in t: run twice
// on one database, it creates versions 4 to 6 the second time. Unless t
// already has a loader for TrainerName, Run registers LoadModel for it
// globally (metatrack.RegisterModelLoader). On error, the Summary holds the
// rounds run so far, the last one possibly incomplete.
func Run(ctx context.Context, t *metatrack.Tracker, workDir string, log io.Writer, opts ...Option) (Summary, error) {
	start := time.Now()
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case workDir == "":
		return Summary{}, errors.New("demo: work directory is empty")
	case cfg.rounds < 1 || cfg.rows < 100 || len(cfg.trials) == 0:
		return Summary{}, fmt.Errorf("demo: need at least 1 round, 100 rows and 1 trial (have %d, %d, %d)", cfg.rounds, cfg.rows, len(cfg.trials))
	}
	dir, err := filepath.Abs(workDir)
	if err != nil {
		return Summary{}, err
	}
	if log == nil {
		log = io.Discard
	}
	if !slices.Contains(t.ModelLoaders(), TrainerName) {
		metatrack.RegisterModelLoader(TrainerName, LoadModel)
	}
	sum := &Summary{Created: map[string]int{}, WorkDir: dir}
	e := &env{t: t, cfg: cfg, dir: dir, vc: VCStore{Dir: filepath.Join(dir, "vc")}, log: log, sum: sum}
	for _, sub := range []string{"vc", "data", "reports", "models", "predictions"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return *sum, err
		}
	}
	// The heads are created with the first version; count them only if new.
	for _, h := range []struct{ typ, name string }{{metatrack.TypeDataset, DatasetName}, {metatrack.TypeModel, ModelName}} {
		if _, err := t.GetResource(ctx, h.typ+"/"+h.name, h.typ); errors.Is(err, metatrack.ErrNotFound) {
			sum.Created[h.typ]++
		} else if err != nil {
			return *sum, err
		}
	}

	for i := range cfg.rounds {
		r, err := e.round(ctx)
		sum.Rounds = append(sum.Rounds, r)
		if err != nil {
			sum.Elapsed = time.Since(start)
			return *sum, fmt.Errorf("demo round %d: %w", i+1, err)
		}
	}
	deps, err := t.Deployments(ctx, metatrack.Resource{Type: metatrack.TypeModel, Name: ModelName})
	if err != nil {
		return *sum, err
	}
	for _, d := range deps {
		if d.Current() && d.Environment == metatrack.DefaultEnvironment {
			sum.Deployed = d.ModelVersion
		}
	}
	sum.Elapsed = time.Since(start)
	return *sum, nil
}

// round runs the four pipelines once.
func (e *env) round(ctx context.Context) (Round, error) {
	var r Round
	clock := time.Now()
	lap := func(d *time.Duration) { now := time.Now(); *d = now.Sub(clock); clock = now }

	p, err := e.processData(ctx, &r)
	lap(&r.ProcessTime)
	if err != nil {
		return r, fmt.Errorf("process pipeline: %w", err)
	}
	tr, err := e.train(ctx, &r, p)
	lap(&r.TrainTime)
	if err != nil {
		return r, fmt.Errorf("train pipeline: %w", err)
	}
	err = e.deploy(ctx, &r, tr)
	lap(&r.DeployTime)
	if err != nil {
		return r, fmt.Errorf("deploy pipeline: %w", err)
	}
	err = e.predict(ctx, &r, p)
	lap(&r.PredictTime)
	if err != nil {
		return r, fmt.Errorf("predict pipeline: %w", err)
	}
	return r, nil
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, format+"\n", args...)
}

// mkdir returns the directory dir/parts..., created.
func (e *env) mkdir(parts ...string) (string, error) {
	d := filepath.Join(append([]string{e.dir}, parts...)...)
	return d, os.MkdirAll(d, 0o755)
}

// create creates a resource and counts it.
func (e *env) create(ctx context.Context, typ, name string, opts ...metatrack.CreateOption) (metatrack.Resource, error) {
	res, err := e.t.CreateResource(ctx, typ, name, opts...)
	if err != nil {
		return res, err
	}
	e.sum.Created[typ]++
	return res, nil
}

// logged counts an artifact the tracker stored.
func (e *env) logged(a metatrack.Artifact, err error) error {
	if err != nil {
		return err
	}
	e.sum.Artifacts++
	e.sum.ArtifactBytes += a.Size
	return nil
}

// artifact writes data to dir/name and logs it as artifact name of res.
func (e *env) artifact(ctx context.Context, res metatrack.Resource, dir, name string, data []byte) error {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	return e.logged(e.t.LogArtifact(ctx, res, name, p))
}

// put stores the file at path in the version-control store and registers
// its info on res.
func (e *env) put(ctx context.Context, res metatrack.Resource, path string, opts ...metatrack.VCOption) (map[string]any, error) {
	info, err := e.vc.Put(path)
	if err != nil {
		return nil, err
	}
	return info, e.t.RegisterVCResource(ctx, res, info, opts...)
}
