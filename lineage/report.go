package lineage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Resource types and the status these reports act on (the same strings as
// the root package's TypeModelVersion, ... and StatusDeployed, which this
// package cannot import).
const (
	typeDatasetVersion = "dataset_version"
	typeModelVersion   = "model_version"
	typeExperiment     = "experiment"
	typePredictionJob  = "prediction_job"
	statusDeployed     = "DEPLOYED"
)

// ImpactReport is what depends on a resource: the deployed model versions
// and the prediction jobs downstream of it.
type ImpactReport struct {
	// Deployed are the model versions downstream that are deployed, sorted
	// by (depth, seq).
	Deployed []DeployedVersion `json:"deployed"`
	// PredictionJobs are every prediction job downstream, sorted by (depth,
	// seq).
	PredictionJobs []Node `json:"prediction_jobs"`
	// Truncated is set when Options.MaxNodes cut the walk short.
	Truncated bool `json:"truncated"`
}

// DeployedVersion is a deployed model version.
type DeployedVersion struct {
	Node
	// Environments are those with an open deployment of the version
	// (deployments.undeployed_at IS NULL), sorted. It is empty when only
	// the version's DEPLOYED status marks it deployed.
	Environments []string `json:"environments"`
}

// Impact returns every deployed model version and every prediction job
// downstream of start, including start itself when it is one. A model
// version is deployed when its status is DEPLOYED or it has an open row in
// deployments.
//
// opts may set MaxDepth, Relations, ExcludeRelations, MaxNodes and Strategy;
// Direction must be unset or Downstream, and Types and the paging fields
// must be unset (ErrInvalid otherwise).
func Impact(ctx context.Context, db DB, start int64, opts Options) (*ImpactReport, error) {
	if err := reportOptions(&opts, Downstream, "Impact"); err != nil {
		return nil, err
	}
	opts.Types = []string{typeModelVersion, typePredictionJob}
	g, err := walk(ctx, db, []int64{start}, opts, false)
	if err != nil {
		return nil, err
	}
	r := &ImpactReport{Truncated: g.Truncated}
	var versions []int64
	jobs := 0
	for _, n := range g.Nodes {
		switch n.Type {
		case typeModelVersion:
			versions = append(versions, n.Seq)
		case typePredictionJob:
			jobs++
		}
	}
	if jobs > 0 {
		r.PredictionJobs = make([]Node, 0, jobs)
	}
	envs, err := openDeployments(ctx, db, versions)
	if err != nil {
		return nil, err
	}
	for _, n := range g.Nodes {
		switch {
		case n.Type == typePredictionJob:
			r.PredictionJobs = append(r.PredictionJobs, n)
		case n.Status == statusDeployed || len(envs[n.Seq]) > 0:
			r.Deployed = append(r.Deployed, DeployedVersion{Node: n, Environments: envs[n.Seq]})
		}
	}
	return r, nil
}

// openDeployments returns the environments of the open deployments of each
// of versions, sorted.
func openDeployments(ctx context.Context, db DB, versions []int64) (map[int64][]string, error) {
	envs := map[int64][]string{}
	if len(versions) == 0 {
		return envs, nil
	}
	rows, err := db.Q.QueryContext(ctx, db.SQL.OpenDeployments, jsonInts(versions))
	if err != nil {
		return nil, fmt.Errorf("lineage: load deployments: %w", err)
	}
	for rows.Next() {
		var seq int64
		var env string
		if err := rows.Scan(&seq, &env); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lineage: load deployments: %w", err)
		}
		// The same version deployed for two models would repeat env.
		if e := envs[seq]; len(e) == 0 || e[len(e)-1] != env {
			envs[seq] = append(e, env)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("lineage: load deployments: %w", err)
	}
	return envs, nil
}

// ProvenanceReport is what a resource is made of: the dataset versions and
// experiments upstream of it, and the runs that created them.
type ProvenanceReport struct {
	// DatasetVersions are every dataset version upstream, sorted by (depth,
	// seq).
	DatasetVersions []Origin `json:"dataset_versions"`
	// Experiments are every experiment upstream, sorted by (depth, seq).
	Experiments []Origin `json:"experiments"`
	// Runs are the runs that created them, each once, sorted by seq.
	Runs []Run `json:"runs"`
	// Truncated is set when Options.MaxNodes cut the walk short.
	Truncated bool `json:"truncated"`
}

// Origin is an upstream resource and the run that created it.
type Origin struct {
	Node
	// Run is nil when the resource was created outside a run.
	Run *Run `json:"run"`
}

// Run is a tracker run, the process that created resources.
type Run struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Provenance returns every dataset version and every experiment upstream of
// start, including start itself when it is one, each with the run that
// created it (resources.run_seq).
//
// opts may set MaxDepth, Relations, ExcludeRelations, MaxNodes and Strategy;
// Direction must be unset or Upstream, and Types and the paging fields must
// be unset (ErrInvalid otherwise).
func Provenance(ctx context.Context, db DB, start int64, opts Options) (*ProvenanceReport, error) {
	if err := reportOptions(&opts, Upstream, "Provenance"); err != nil {
		return nil, err
	}
	opts.Types = []string{typeDatasetVersion, typeExperiment}
	g, err := walk(ctx, db, []int64{start}, opts, false)
	if err != nil {
		return nil, err
	}
	seqs := make([]int64, len(g.Nodes))
	for i, n := range g.Nodes {
		seqs[i] = n.Seq
	}
	runOf, runs, err := loadRuns(ctx, db, seqs)
	if err != nil {
		return nil, err
	}
	r := &ProvenanceReport{Runs: runs, Truncated: g.Truncated}
	for _, n := range g.Nodes {
		o := Origin{Node: n, Run: runOf[n.Seq]}
		if n.Type == typeDatasetVersion {
			r.DatasetVersions = append(r.DatasetVersions, o)
		} else {
			r.Experiments = append(r.Experiments, o)
		}
	}
	return r, nil
}

// loadRuns returns the run of each of seqs that has one, and those runs each
// once, sorted by seq.
func loadRuns(ctx context.Context, db DB, seqs []int64) (map[int64]*Run, []Run, error) {
	runOf := map[int64]*Run{}
	if len(seqs) == 0 {
		return runOf, nil, nil
	}
	rows, err := db.Q.QueryContext(ctx, db.SQL.RunsOf, jsonInts(seqs))
	if err != nil {
		return nil, nil, fmt.Errorf("lineage: load runs: %w", err)
	}
	bySeq := map[int64]*Run{}
	for rows.Next() {
		var res int64
		var u Run
		if err := rows.Scan(&res, &u.Seq, &u.ID, &u.Name, &u.Status); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("lineage: load runs: %w", err)
		}
		p, ok := bySeq[u.Seq]
		if !ok {
			p = &u
			bySeq[u.Seq] = p
		}
		runOf[res] = p
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, fmt.Errorf("lineage: load runs: %w", err)
	}
	runs := make([]Run, 0, len(bySeq))
	for _, p := range bySeq {
		runs = append(runs, *p)
	}
	slices.SortFunc(runs, func(a, b Run) int { return cmp.Compare(a.Seq, b.Seq) })
	return runOf, runs, nil
}

// reportOptions checks the options of a report that walks in dir, and sets
// the direction.
func reportOptions(o *Options, dir Direction, name string) error {
	switch {
	case o.Direction != 0 && o.Direction != dir:
		return fmt.Errorf("%w: %s walks %s, not %s", ErrInvalid, name, dir, o.Direction)
	case len(o.Types) > 0:
		return fmt.Errorf("%w: %s sets the types itself", ErrInvalid, name)
	case o.After != nil || o.Offset != 0 || o.Limit != 0:
		return fmt.Errorf("%w: %s does not page", ErrInvalid, name)
	}
	o.Direction = dir
	return nil
}
