package metatrack

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/metatrack/metatrack/lineage"
)

// Store is the whole API of a tracker that does not need its database
// file: MetadataTracker and the reads and writes built beside it
// (listings, search, history, lineage, deployments, aliases, deletion,
// runs and counts). *Tracker implements it over a file, and the client of
// package remote over a server, so a tool written against Store (the
// metatrack command line is one) works on either.
//
// What works on the file itself is not in it: Batch (its function gets a
// *Tracker), Backup, Verify, GC, Vacuum, PurgeDeleted, Merge of another
// file and token management. Export and Import have their own shapes on
// each side.
type Store interface {
	MetadataTracker
	// Close closes the store; it is idempotent.
	Close() error
	// Run returns the run that the store's writes record: the tracker's
	// own, or a server's.
	Run() Run

	GetResourceRef(ctx context.Context, res Resource) (string, error)
	GetPrevResourceVersions(ctx context.Context, res Resource, n int, opts ...PrevOption) ([]Resource, error)
	Versions(ctx context.Context, head Resource) ([]Resource, error)
	Children(ctx context.Context, res Resource, typ string) ([]Resource, error)
	ListResources(ctx context.Context, typ string) ([]Resource, error)
	DeleteResource(ctx context.Context, res Resource) ([]Resource, error)
	RestoreResource(ctx context.Context, res Resource) ([]Resource, error)
	// DeleteResources deletes each of rs as DeleteResource does, all in
	// one transaction: all are deleted, or none is.
	DeleteResources(ctx context.Context, rs []Resource) ([][]Resource, error)
	// RestoreResources restores each of rs as RestoreResource does, all
	// or none.
	RestoreResources(ctx context.Context, rs []Resource) ([][]Resource, error)

	DeleteTag(ctx context.Context, res Resource, key string) error
	Tags(ctx context.Context, res Resource) (map[string]string, error)
	GetMetadataJSON(ctx context.Context, res Resource, key string) (json.RawMessage, error)
	GetMetadataInto(ctx context.Context, res Resource, key string, dst any) error
	DeleteMetadata(ctx context.Context, res Resource, key string) error
	Metadata(ctx context.Context, res Resource) (map[string]any, error)
	VCInfos(ctx context.Context, res Resource) (map[string]map[string]any, error)

	Artifacts(ctx context.Context, res Resource, kind string) ([]Artifact, error)
	SaveArtifact(ctx context.Context, res Resource, name, dst string) (Artifact, error)
	GetDataProfile(ctx context.Context, res Resource) (Artifact, io.ReadCloser, error)
	GetChecks(ctx context.Context, res Resource, checkType string) (Artifact, io.ReadCloser, error)
	GetDataComparison(ctx context.Context, res Resource) (Artifact, io.ReadCloser, error)

	Inputs(ctx context.Context, mv Resource) ([]Resource, error)
	Link(ctx context.Context, src, dst Resource, relation string) error
	SetWinningExperiment(ctx context.Context, mv, exp Resource) error
	Deploy(ctx context.Context, mv Resource, opts ...DeployOption) (Deployment, error)
	Undeploy(ctx context.Context, mv Resource, opts ...DeployOption) error
	DeployedAt(ctx context.Context, model Resource, at time.Time, opts ...DeployOption) (Resource, error)
	Deployments(ctx context.Context, model Resource) ([]Deployment, error)
	Promote(ctx context.Context, mv Resource, p Promotion) (Resource, error)
	ApprovePromotion(ctx context.Context, promotion Resource) (Resource, error)
	SetAlias(ctx context.Context, mv Resource, name string) (Alias, error)
	RemoveAlias(ctx context.Context, res Resource, name string) error
	Aliases(ctx context.Context, res Resource) ([]Alias, error)

	Search(ctx context.Context, filter string, opts ...SearchOption) (Page, error)
	SearchAll(ctx context.Context, filter string, opts ...SearchOption) ([]Resource, error)
	QueryWarnings(ctx context.Context, filter string) ([]QueryWarning, error)
	History(ctx context.Context, res Resource) ([]Change, error)
	StateAt(ctx context.Context, res Resource, at time.Time) (State, error)
	Lineage(ctx context.Context, starts []Resource, opts lineage.Options) (*lineage.Graph, error)
	Upstream(ctx context.Context, res Resource, depth int) (*lineage.Graph, error)
	Downstream(ctx context.Context, res Resource, depth int) (*lineage.Graph, error)
	ShortestPath(ctx context.Context, from, to Resource, opts lineage.PathOptions) (*lineage.Path, error)
	Impact(ctx context.Context, res Resource) (*lineage.ImpactReport, error)
	Provenance(ctx context.Context, res Resource) (*lineage.ProvenanceReport, error)

	Runs(ctx context.Context) ([]Run, error)
	GetRun(ctx context.Context, idOrName string) (Run, error)
	Stats(ctx context.Context) (Stats, error)
	Chains(ctx context.Context) ([]Chain, error)
}

var _ Store = (*Tracker)(nil)

// DeleteResources deletes each of rs as DeleteResource does, in one
// transaction: when one fails, none is deleted. It returns what each
// deletion took, in the order of rs.
func (t *Tracker) DeleteResources(ctx context.Context, rs []Resource) ([][]Resource, error) {
	return t.eachInBatch(ctx, rs, (*Tracker).DeleteResource)
}

// RestoreResources restores each of rs as RestoreResource does, in one
// transaction: when one fails, none is restored.
func (t *Tracker) RestoreResources(ctx context.Context, rs []Resource) ([][]Resource, error) {
	return t.eachInBatch(ctx, rs, (*Tracker).RestoreResource)
}

func (t *Tracker) eachInBatch(ctx context.Context, rs []Resource, fn func(*Tracker, context.Context, Resource) ([]Resource, error)) ([][]Resource, error) {
	var out [][]Resource
	err := t.Batch(ctx, func(tx *Tracker) error {
		out = out[:0]
		for _, r := range rs {
			done, err := fn(tx, ctx, r)
			if err != nil {
				return err
			}
			out = append(out, done)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
