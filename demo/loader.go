package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/metatrack/metatrack"
)

// LoadModel is the metatrack.ModelLoader of TrainerName: it rebuilds the
// *Model that the winning experiment saved. The fitted model comes from the
// version-control store the experiment registered (spec.VCInfo), or, when
// that file is gone, from the experiment's model.json artifact in the
// database. The recorded training parameters and feature transformer must
// agree with the file.
//
// Register it with metatrack.WithModelLoader(demo.TrainerName,
// demo.LoadModel) when opening the tracker, or let Run register it.
func LoadModel(ctx context.Context, spec metatrack.ModelSpec) (any, error) {
	var data []byte
	var vcErr error
	if spec.VCInfo != nil {
		data, vcErr = VCStore{}.Open(spec.VCInfo)
		if vcErr != nil && !errors.Is(vcErr, fs.ErrNotExist) {
			// The file is there but not what was registered: never
			// substitute another copy silently.
			return nil, fmt.Errorf("model file of %s: %w", spec.Experiment.Ref(), vcErr)
		}
	}
	if data == nil {
		if spec.OpenArtifact == nil {
			return nil, fmt.Errorf("no model file for %s: %v", spec.Experiment.Ref(), vcErr)
		}
		rc, err := spec.OpenArtifact(ctx, "model.json")
		if err != nil {
			return nil, fmt.Errorf("no model file for %s: version control: %v; artifact: %w", spec.Experiment.Ref(), vcErr, err)
		}
		data, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("model file of %s: %w", spec.Experiment.Ref(), err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("model file of %s: %w", spec.Experiment.Ref(), err)
	}
	if spec.Trainer != "" && spec.Trainer != m.Trainer {
		return nil, fmt.Errorf("%s records trainer %q, its model file %q", spec.Experiment.Ref(), spec.Trainer, m.Trainer)
	}
	if spec.TrainingParams != nil {
		var p TrainParams
		if err := remarshal(spec.TrainingParams, &p); err != nil {
			return nil, fmt.Errorf("training params of %s: %w", spec.Experiment.Ref(), err)
		}
		if p != m.Params {
			return nil, fmt.Errorf("%s records training params %+v, its model file %+v", spec.Experiment.Ref(), p, m.Params)
		}
	}
	if spec.FeatureTransformer != "" && spec.FeatureTransformer != TransformerName {
		return nil, fmt.Errorf("%s records feature transformer %q, this loader knows %q", spec.Experiment.Ref(), spec.FeatureTransformer, TransformerName)
	}
	if spec.FeatureTransformerConfig != nil {
		var tr Transformer
		if err := remarshal(spec.FeatureTransformerConfig, &tr); err != nil {
			return nil, fmt.Errorf("feature transformer config of %s: %w", spec.Experiment.Ref(), err)
		}
		a, _ := json.Marshal(tr)
		b, _ := json.Marshal(m.Transformer)
		if string(a) != string(b) {
			return nil, fmt.Errorf("%s records a feature transformer config that differs from its model file's", spec.Experiment.Ref())
		}
	}
	return &m, nil
}

// remarshal decodes src (decoded JSON) into dst through JSON.
func remarshal(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
