package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/metatrack/metatrack"
)

// processed is what the process pipeline hands on.
type processed struct {
	dv   metatrack.Resource
	rows []Passenger
}

// processData is the process pipeline: a new dataset version, versioned in
// the store, profiled, checked and compared with the previous version.
func (e *env) processData(ctx context.Context, r *Round) (processed, error) {
	t := e.t
	dv, err := e.create(ctx, metatrack.TypeDatasetVersion, DatasetName)
	if err != nil {
		return processed{}, err
	}
	r.DatasetVersion = dv
	e.logf("%s: process data", dv.Ref())

	// 1. The "source data" of version k is the generator's version k.
	rows := Generate(e.cfg.rows, e.cfg.seed, dv.Version)
	dataDir, err := e.mkdir("data")
	if err != nil {
		return processed{}, err
	}
	dataPath := filepath.Join(dataDir, fmt.Sprintf("%s_v%d.csv", DatasetName, dv.Version))
	if err := writeCSVFile(dataPath, rows, true); err != nil {
		return processed{}, err
	}

	// 2. Version the file and record where it is.
	if _, err := e.put(ctx, dv, dataPath, metatrack.WithAdditionalMetadata(map[string]any{
		"rows":    len(rows),
		"columns": append(append([]string(nil), featureColumns...), labelColumn),
		"seed":    e.cfg.seed,
	})); err != nil {
		return processed{}, err
	}
	if err := t.LogTag(ctx, dv, "source", "demo.Generate"); err != nil {
		return processed{}, err
	}

	// 3. Profile.
	dir, err := e.mkdir("reports", fmt.Sprintf("%s_v%d", DatasetName, dv.Version))
	if err != nil {
		return processed{}, err
	}
	frame := FrameOf(rows, true)
	profilePath := filepath.Join(dir, "profile.json")
	if err := writeJSON(profilePath, ProfileOf(dv.Ref(), frame)); err != nil {
		return processed{}, err
	}
	if err := e.logged(t.LogDataProfile(ctx, dv, profilePath)); err != nil {
		return processed{}, err
	}

	// 4. Check, and tell people when something is off.
	checks := DataChecks(dv.Ref(), rows)
	checksPath := filepath.Join(dir, "data_checks.json")
	if err := writeJSON(checksPath, checks); err != nil {
		return processed{}, err
	}
	if err := e.logged(t.LogChecks(ctx, dv, checksPath, "data")); err != nil {
		return processed{}, err
	}
	if err := t.LogMetadata(ctx, dv, "data_checks_status", checks.Status); err != nil {
		return processed{}, err
	}
	r.DataChecks = checks.Status
	if checks.Status != CheckPass {
		e.logf("  notify: data checks %s (%d warn, %d fail): %s#%s", checks.Status,
			checks.Counts[CheckWarn], checks.Counts[CheckFail], t.URL(), dv.ID)
	}

	// 5. Compare with the previous version, fetched through its vc info.
	prev, err := t.GetPrevResourceVersion(ctx, dv)
	switch {
	case errors.Is(err, metatrack.ErrNotFound):
		e.logf("  first version: nothing to compare with")
		return processed{dv: dv, rows: rows}, nil
	case err != nil:
		return processed{}, err
	}
	info, err := t.GetVCInfo(ctx, prev, "hexsha")
	if err != nil {
		return processed{}, err
	}
	b, err := e.vc.Open(info)
	if errors.Is(err, fs.ErrNotExist) {
		// Another work directory holds it (the database outlived it).
		e.logf("  previous data of %s is not in the store (%v): comparison skipped", prev.Ref(), err)
		return processed{dv: dv, rows: rows}, nil
	}
	if err != nil {
		return processed{}, err
	}
	old, err := ReadCSV(bytes.NewReader(b))
	if err != nil {
		return processed{}, fmt.Errorf("previous data of %s: %w", prev.Ref(), err)
	}
	cmp := Compare(prev.Ref(), FrameOf(old, true), dv.Ref(), frame)
	cmpPath := filepath.Join(dir, "comparison_prev.json")
	if err := writeJSON(cmpPath, cmp); err != nil {
		return processed{}, err
	}
	if err := e.logged(t.LogDataComparison(ctx, dv, cmpPath)); err != nil {
		return processed{}, err
	}
	if err := t.LogMetadata(ctx, dv, "drift_vs_previous", cmp.Drift); err != nil {
		return processed{}, err
	}
	r.DataDrift = cmp.Drift
	e.logf("  vs %s: drift %s (max PSI %.3f, drifted %v)", prev.Ref(), cmp.Drift, cmp.MaxPSI, cmp.Drifted)
	return processed{dv: dv, rows: rows}, nil
}
