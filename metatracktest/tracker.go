package metatracktest

import (
	"context"
	"io"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// Tracker is what the suite exercises: the MetadataTracker interface and
// the Tracker calls built on it. *metatrack.Tracker implements it, and so
// does a remote client of a server. Batch, which hands its function a
// *metatrack.Tracker, is tested when the tracker is one.
type Tracker interface {
	metatrack.MetadataTracker
	ApprovePromotion(ctx context.Context, promotion metatrack.Resource) (metatrack.Resource, error)
	Artifacts(ctx context.Context, res metatrack.Resource, kind string) ([]metatrack.Artifact, error)
	Chains(ctx context.Context) ([]metatrack.Chain, error)
	Children(ctx context.Context, res metatrack.Resource, typ string) ([]metatrack.Resource, error)
	DeleteTag(ctx context.Context, res metatrack.Resource, key string) error
	Deploy(ctx context.Context, mv metatrack.Resource, opts ...metatrack.DeployOption) (metatrack.Deployment, error)
	DeployedAt(ctx context.Context, model metatrack.Resource, at time.Time, opts ...metatrack.DeployOption) (metatrack.Resource, error)
	Deployments(ctx context.Context, model metatrack.Resource) ([]metatrack.Deployment, error)
	Downstream(ctx context.Context, res metatrack.Resource, depth int) (*lineage.Graph, error)
	GetChecks(ctx context.Context, res metatrack.Resource, checkType string) (metatrack.Artifact, io.ReadCloser, error)
	GetDataComparison(ctx context.Context, res metatrack.Resource) (metatrack.Artifact, io.ReadCloser, error)
	GetDataProfile(ctx context.Context, res metatrack.Resource) (metatrack.Artifact, io.ReadCloser, error)
	GetMetadataInto(ctx context.Context, res metatrack.Resource, key string, dst any) error
	GetPrevResourceVersions(ctx context.Context, res metatrack.Resource, n int, opts ...metatrack.PrevOption) ([]metatrack.Resource, error)
	GetResourceRef(ctx context.Context, res metatrack.Resource) (string, error)
	GetRun(ctx context.Context, idOrName string) (metatrack.Run, error)
	History(ctx context.Context, res metatrack.Resource) ([]metatrack.Change, error)
	Impact(ctx context.Context, res metatrack.Resource) (*lineage.ImpactReport, error)
	Inputs(ctx context.Context, mv metatrack.Resource) ([]metatrack.Resource, error)
	Lineage(ctx context.Context, starts []metatrack.Resource, opts lineage.Options) (*lineage.Graph, error)
	Link(ctx context.Context, src, dst metatrack.Resource, relation string) error
	Metadata(ctx context.Context, res metatrack.Resource) (map[string]any, error)
	Promote(ctx context.Context, mv metatrack.Resource, p metatrack.Promotion) (metatrack.Resource, error)
	Provenance(ctx context.Context, res metatrack.Resource) (*lineage.ProvenanceReport, error)
	Run() metatrack.Run
	Runs(ctx context.Context) ([]metatrack.Run, error)
	SaveArtifact(ctx context.Context, res metatrack.Resource, name, dst string) (metatrack.Artifact, error)
	Search(ctx context.Context, filter string, opts ...metatrack.SearchOption) (metatrack.Page, error)
	SearchAll(ctx context.Context, filter string, opts ...metatrack.SearchOption) ([]metatrack.Resource, error)
	SetWinningExperiment(ctx context.Context, mv, exp metatrack.Resource) error
	ShortestPath(ctx context.Context, from, to metatrack.Resource, opts lineage.PathOptions) (*lineage.Path, error)
	StateAt(ctx context.Context, res metatrack.Resource, at time.Time) (metatrack.State, error)
	Stats(ctx context.Context) (metatrack.Stats, error)
	Tags(ctx context.Context, res metatrack.Resource) (map[string]string, error)
	Undeploy(ctx context.Context, mv metatrack.Resource, opts ...metatrack.DeployOption) error
	Upstream(ctx context.Context, res metatrack.Resource, depth int) (*lineage.Graph, error)
	VCInfos(ctx context.Context, res metatrack.Resource) (map[string]map[string]any, error)
	Versions(ctx context.Context, head metatrack.Resource) ([]metatrack.Resource, error)
	SetAlias(ctx context.Context, mv metatrack.Resource, name string) (metatrack.Alias, error)
	RemoveAlias(ctx context.Context, res metatrack.Resource, name string) error
	Aliases(ctx context.Context, res metatrack.Resource) ([]metatrack.Alias, error)
	DeleteResource(ctx context.Context, res metatrack.Resource) ([]metatrack.Resource, error)
	RestoreResource(ctx context.Context, res metatrack.Resource) ([]metatrack.Resource, error)
	DeleteMetadata(ctx context.Context, res metatrack.Resource, key string) error
	DeleteResources(ctx context.Context, rs []metatrack.Resource) ([][]metatrack.Resource, error)
	RestoreResources(ctx context.Context, rs []metatrack.Resource) ([][]metatrack.Resource, error)
}

var _ Tracker = (*metatrack.Tracker)(nil)
