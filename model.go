package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/metatrack/metatrack/rules"
)

// Metadata keys through which the seed's pipelines describe how a model was
// trained. LoadModel reads them from the winning experiment (and falls back
// to the model version's winning_experiment_* keys).
const (
	MetadataTrainingParams           = "training_params"
	MetadataModelTrainer             = "model_trainer"
	MetadataFeatureTransformer       = "feature_transformer"
	MetadataFeatureTransformerConfig = "feature_transformer_config"
	MetadataWinningModelTrainer      = "winning_experiment_model_trainer"
)

// byIDFast runs query, a lookup of one resource from res given by its id,
// for the common case in one statement: ok is false (and the caller takes
// its general path, which resolves res and says what is missing) when res
// has no plain id or the query finds nothing.
func (t *Tracker) byIDFast(ctx context.Context, res Resource, query string, args ...any) (Resource, bool, error) {
	if res.ID == "" || strings.Contains(res.ID, "/") {
		return Resource{}, false, nil
	}
	var out Resource
	var found bool
	err := t.readOne(ctx, func(x *txn) error {
		var row resourceRow
		err := x.get(ctx, &row, query, args...)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		out, found = row.resource(), err == nil
		return err
	})
	return out, found, err
}

// BuildModelLineage records that mv was trained on datasetVersions (edges
// dataset_version -input-> model_version). With no dataset versions given it
// reuses those recorded on the previous version of mv's model, as the seed's
// train pipeline does, and returns ErrNotFound when that version has none.
// Recording an edge twice changes nothing.
func (t *Tracker) BuildModelLineage(ctx context.Context, mv Resource, datasetVersions []Resource) error {
	return t.write(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, mv, TypeModelVersion)
		if err != nil {
			return err
		}
		var inputs []resourceRow
		if len(datasetVersions) == 0 {
			var prev resourceRow
			err := x.get(ctx, &prev, x.sql.PrevVersion, row.Type, row.Name, row.Version.Int64)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: no dataset versions given and %s has no previous version to reuse them from", ErrNotFound, row.ref())
			}
			if err != nil {
				return err
			}
			if err := x.sel(ctx, &inputs, x.sql.InputsOf, prev.Seq); err != nil {
				return err
			}
			if len(inputs) == 0 {
				return fmt.Errorf("%w: no dataset versions given and the previous version %s has none recorded", ErrNotFound, prev.ref())
			}
		}
		for _, dv := range datasetVersions {
			in, err := x.resolveRes(ctx, dv, TypeDatasetVersion)
			if err != nil {
				return fmt.Errorf("lineage of %s: %w", row.ref(), err)
			}
			inputs = append(inputs, in)
		}
		for _, in := range inputs {
			if err := x.link(ctx, in, row, RelationInput); err != nil {
				return err
			}
		}
		return nil
	})
}

// Inputs returns the dataset versions mv was trained on.
func (t *Tracker) Inputs(ctx context.Context, mv Resource) ([]Resource, error) {
	var out []Resource
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, mv)
		if err != nil {
			return err
		}
		var rows []resourceRow
		err = x.sel(ctx, &rows, x.sql.InputsOf, row.Seq)
		for _, r := range rows {
			out = append(out, r.resource())
		}
		return err
	})
	return out, err
}

// Link records a lineage edge src -relation-> dst between any two
// resources (data or control flows from src to dst). Relation names are
// lower-case words of your choosing (derived_from, evaluated_on) or the
// tracker's input; version, child and winning_experiment are the tracker's
// own (it records them from parents and SetWinningExperiment) and are
// refused, as is an edge from a resource to itself (ErrInvalidArgument).
// Recording an edge twice changes nothing.
func (t *Tracker) Link(ctx context.Context, src, dst Resource, relation string) error {
	if err := rules.Relation(relation); err != nil {
		return err
	}
	return t.write(ctx, func(x *txn) error {
		s, err := x.resolveRes(ctx, src)
		if err != nil {
			return err
		}
		d, err := x.resolveRes(ctx, dst)
		if err != nil {
			return err
		}
		if s.Seq == d.Seq {
			return fmt.Errorf("%w: cannot link %s to itself (%s)", ErrInvalidArgument, s.ref(), relation)
		}
		return x.link(ctx, s, d, relation)
	})
}

// SetWinningExperiment records exp, an experiment of mv or of a sweep, as
// mv's winning experiment, replacing an earlier winner. It also logs the seed's
// winning_experiment_id metadata on mv.
func (t *Tracker) SetWinningExperiment(ctx context.Context, mv, exp Resource) error {
	return t.write(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, mv, TypeModelVersion)
		if err != nil {
			return err
		}
		e, err := x.resolveRes(ctx, exp, TypeExperiment)
		if err != nil {
			return err
		}
		v, err := encodeMetadata(MetadataWinningExperimentID, e.ID)
		if err != nil {
			return err
		}
		return x.setMetadata(ctx, row, MetadataWinningExperimentID, v)
	})
}

// setWinnerFromMetadata records the winner that winning_experiment_id names.
func (x *txn) setWinnerFromMetadata(ctx context.Context, mv resourceRow, v encodedValue) error {
	id, ok := v.str.(string)
	if !ok {
		return fmt.Errorf("%w: %s of %s must be an experiment id (a string)", ErrInvalidArgument, MetadataWinningExperimentID, mv.ref())
	}
	e, err := x.resolve(ctx, id)
	if err != nil {
		return fmt.Errorf("%s of %s: %w", MetadataWinningExperimentID, mv.ref(), err)
	}
	if e.Type != TypeExperiment || !e.ParentSeq.Valid {
		return fmt.Errorf("%w: %s is not an experiment of %s", ErrInvalidArgument, e.ref(), mv.ref())
	}
	if e.ParentSeq.Int64 != mv.Seq {
		// A trial of a sweep, run before the model version existed, may
		// win; an experiment of another model version may not.
		p, err := x.bySeq(ctx, e.ParentSeq.Int64)
		if err != nil {
			return err
		}
		if p.Type != TypeSweep {
			return fmt.Errorf("%w: %s is not an experiment of %s, nor of a sweep", ErrInvalidArgument, e.ref(), mv.ref())
		}
	}
	var cur resourceRow
	err = x.get(ctx, &cur, x.sql.WinnerOf, mv.Seq)
	if err == nil && cur.Seq == e.Seq {
		return nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := x.exec(ctx, x.sql.DeleteWinner, mv.Seq); err != nil {
		return err
	}
	return x.link(ctx, mv, e, RelationWinningExperiment)
}

// GetWinningExperiment returns the winning experiment of mv, or ErrNotFound.
func (t *Tracker) GetWinningExperiment(ctx context.Context, mv Resource) (Resource, error) {
	if r, ok, err := t.byIDFast(ctx, mv, t.sql.WinnerByID, mv.ID); ok || err != nil {
		return r, err
	}
	var out Resource
	err := t.readOne(ctx, func(x *txn) error {
		row, err := x.targetOf(ctx, mv, TypeModelVersion)
		if err != nil {
			return err
		}
		var w resourceRow
		err = x.get(ctx, &w, x.sql.WinnerOf, row.Seq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s has no winning experiment", ErrNotFound, row.ref())
		}
		out = w.resource()
		return err
	})
	return out, err
}

// GetPredictionJobModelVersion returns the model version that a prediction
// job ran.
func (t *Tracker) GetPredictionJobModelVersion(ctx context.Context, job Resource) (Resource, error) {
	var out Resource
	err := t.readOne(ctx, func(x *txn) error {
		row, err := x.targetOf(ctx, job, TypePredictionJob)
		if err != nil {
			return err
		}
		mv, err := x.bySeq(ctx, row.ParentSeq.Int64)
		out = mv.resource()
		return err
	})
	return out, err
}

// GetLatestModelResource returns the newest resource of type typ under any
// version of model (a model, or one of its versions standing for its
// model): most often the latest prediction job. With typ model_version it
// returns the latest version. It returns ErrNotFound when there is none.
func (t *Tracker) GetLatestModelResource(ctx context.Context, model Resource, typ string) (Resource, error) {
	if err := rules.Type(typ); err != nil {
		return Resource{}, err
	}
	if typ != TypeModelVersion {
		if r, ok, err := t.byIDFast(ctx, model, t.sql.LatestUnderModelID, typ, model.ID); ok || err != nil {
			return r, err
		}
	}
	var out Resource
	err := t.readOne(ctx, func(x *txn) error {
		row, err := x.targetOf(ctx, model, TypeModel, TypeModelVersion)
		if err != nil {
			return err
		}
		if row.Type == TypeModelVersion {
			if row, err = x.bySeq(ctx, row.ParentSeq.Int64); err != nil {
				return err
			}
		}
		var found resourceRow
		if typ == TypeModelVersion {
			err = x.get(ctx, &found, x.sql.LatestVersion, row.Seq, typ)
		} else {
			err = x.get(ctx, &found, x.sql.LatestUnderVersions, typ, row.Seq)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no %s under %s", ErrNotFound, typ, row.ref())
		}
		out = found.resource()
		return err
	})
	return out, err
}

// ModelSpec is what LoadModel hands a ModelLoader: everything recorded about
// how the winning experiment's model was trained.
type ModelSpec struct {
	ModelVersion Resource
	Experiment   Resource
	// Trainer is the recorded model_trainer name the loader was chosen by.
	Trainer                  string
	TrainingParams           map[string]any
	FeatureTransformer       string
	FeatureTransformerConfig map[string]any
	// Metadata is all metadata of the experiment.
	Metadata map[string]any
	// VCInfo is the experiment's own version-control record (where the
	// fitted model was saved), nil if none.
	VCInfo map[string]any
	// Artifacts are the experiment's artifacts; OpenArtifact reads one.
	Artifacts    []Artifact
	OpenArtifact func(ctx context.Context, name string) (io.ReadCloser, error)
	// ModelObject, Reference and PipelineConfig are what the caller passed
	// with WithModelObject, WithReferenceModel and WithPipelineConfig.
	ModelObject    any
	Reference      any
	PipelineConfig map[string]any
}

// ModelLoader rebuilds a model object from a ModelSpec.
type ModelLoader func(ctx context.Context, spec ModelSpec) (any, error)

var loaders = struct {
	sync.RWMutex
	m map[string]ModelLoader
}{m: map[string]ModelLoader{}}

// RegisterModelLoader makes loader the loader of models whose recorded
// model_trainer is name, for every tracker (like database/sql.Register; Go
// has no dynamic class loading). A later registration of a name replaces
// the earlier one.
func RegisterModelLoader(name string, loader ModelLoader) {
	loaders.Lock()
	defer loaders.Unlock()
	loaders.m[name] = loader
}

// ModelLoaders returns the names with a loader, sorted: those registered
// globally and those of this tracker.
func (t *Tracker) ModelLoaders() []string {
	seen := map[string]bool{}
	loaders.RLock()
	for n := range loaders.m {
		seen[n] = true
	}
	loaders.RUnlock()
	for n := range t.cfg.loaders {
		seen[n] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (t *Tracker) loader(name string) (ModelLoader, bool) {
	if l, ok := t.cfg.loaders[name]; ok {
		return l, true
	}
	loaders.RLock()
	defer loaders.RUnlock()
	l, ok := loaders.m[name]
	return l, ok
}

// LoadModel rebuilds the model of mv's winning experiment: it reads the
// recorded trainer name (model_trainer on the experiment, else
// winning_experiment_model_trainer on mv), training parameters, feature
// transformer and its config, version-control info and artifacts, and calls
// the loader registered for the trainer name. An unknown trainer name gives
// ErrNoModelLoader with the names that are registered.
func (t *Tracker) LoadModel(ctx context.Context, mv Resource, opts ...LoadOption) (any, error) {
	return loadModel(ctx, t, mv, t.loader, t.ModelLoaders, opts)
}

// ModelSource is what LoadModelFrom reads a model's spec from: a Tracker,
// or a remote client of one.
type ModelSource interface {
	GetWinningExperiment(ctx context.Context, mv Resource) (Resource, error)
	Metadata(ctx context.Context, res Resource) (map[string]any, error)
	GetResource(ctx context.Context, idOrRef, typ string) (Resource, error)
	GetMetadata(ctx context.Context, res Resource, key string) (any, error)
	GetVCInfo(ctx context.Context, res Resource, key string) (map[string]any, error)
	Artifacts(ctx context.Context, res Resource, kind string) ([]Artifact, error)
	GetArtifact(ctx context.Context, res Resource, name string) (Artifact, io.ReadCloser, error)
}

// LoadModelFrom is LoadModel over any ModelSource, with the loaders
// registered with RegisterModelLoader: the model is rebuilt in this
// process from what src stores.
func LoadModelFrom(ctx context.Context, src ModelSource, mv Resource, opts ...LoadOption) (any, error) {
	return loadModel(ctx, src, mv, globalLoader, globalLoaderNames, opts)
}

func globalLoader(name string) (ModelLoader, bool) {
	loaders.RLock()
	defer loaders.RUnlock()
	l, ok := loaders.m[name]
	return l, ok
}

func globalLoaderNames() []string {
	loaders.RLock()
	defer loaders.RUnlock()
	names := make([]string, 0, len(loaders.m))
	for n := range loaders.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func loadModel(ctx context.Context, t ModelSource, mv Resource, lookup func(string) (ModelLoader, bool), names func() []string, opts []LoadOption) (any, error) {
	var cfg loadConfig
	for _, o := range opts {
		o(&cfg)
	}
	exp, err := t.GetWinningExperiment(ctx, mv)
	if err != nil {
		return nil, err
	}
	meta, err := t.Metadata(ctx, exp)
	if err != nil {
		return nil, err
	}
	spec := ModelSpec{Experiment: exp, Metadata: meta, ModelObject: cfg.modelObject,
		Reference: cfg.reference, PipelineConfig: cfg.pipelineConfig}
	if spec.ModelVersion, err = t.GetResource(ctx, mv.key(), TypeModelVersion); err != nil {
		return nil, err
	}
	spec.Trainer, _ = meta[MetadataModelTrainer].(string)
	if spec.Trainer == "" {
		if v, err := t.GetMetadata(ctx, mv, MetadataWinningModelTrainer); err == nil {
			spec.Trainer, _ = v.(string)
		}
	}
	if spec.Trainer == "" {
		return nil, fmt.Errorf("%w: neither %s nor %s records %s", ErrNotFound, exp.Ref(), spec.ModelVersion.Ref(), MetadataModelTrainer)
	}
	loader, ok := lookup(spec.Trainer)
	if !ok {
		return nil, fmt.Errorf("%w: trainer %q of %s; registered: %s", ErrNoModelLoader, spec.Trainer, exp.Ref(),
			strings.Join(names(), ", "))
	}
	spec.TrainingParams, _ = meta[MetadataTrainingParams].(map[string]any)
	spec.FeatureTransformer, _ = meta[MetadataFeatureTransformer].(string)
	spec.FeatureTransformerConfig, _ = meta[MetadataFeatureTransformerConfig].(map[string]any)
	if info, err := t.GetVCInfo(ctx, exp, ""); err == nil {
		spec.VCInfo = info
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if spec.Artifacts, err = t.Artifacts(ctx, exp, ""); err != nil {
		return nil, err
	}
	spec.OpenArtifact = func(ctx context.Context, name string) (io.ReadCloser, error) {
		_, rc, err := t.GetArtifact(ctx, exp, name)
		return rc, err
	}
	return loader(ctx, spec)
}
