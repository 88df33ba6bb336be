package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/lineage"
)

type res = metatrack.Resource

// get calls op with req and returns its decoded response.
func get[T any](ctx context.Context, c *Client, op string, req any) (T, error) {
	var v T
	err := c.call(ctx, op, req, &v)
	return v, err
}

// do calls op with req, which returns nothing.
func (c *Client) exec(ctx context.Context, op string, req any) error {
	var v api.Empty
	return c.call(ctx, op, req, &v)
}

func keys(rs []res) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = api.Key(r)
	}
	return out
}

// CreateResource creates a resource of type typ named name.
func (c *Client) CreateResource(ctx context.Context, typ, name string, opts ...metatrack.CreateOption) (res, error) {
	return get[res](ctx, c, "CreateResource", api.CreateRequest{Type: typ, Name: name, Options: metatrack.ResolveCreateOptions(opts...)})
}

// GetResource returns the resource with the given id or reference.
func (c *Client) GetResource(ctx context.Context, idOrRef, typ string) (res, error) {
	return get[res](ctx, c, "GetResource", api.GetRequest{Ref: idOrRef, Type: typ})
}

// UpdateResource changes fields of r.
func (c *Client) UpdateResource(ctx context.Context, r res, updates metatrack.Updates) (res, error) {
	return get[res](ctx, c, "UpdateResource", api.UpdateRequest{Resource: api.Key(r), Updates: updates})
}

// CleanResource closes r.
func (c *Client) CleanResource(ctx context.Context, r res, typ string) error {
	return c.exec(ctx, "CleanResource", api.ResType{Resource: api.Key(r), Type: typ})
}

// GetResourceID returns the unique id of r.
func (c *Client) GetResourceID(ctx context.Context, r res) (string, error) {
	v, err := get[api.ID](ctx, c, "GetResourceID", api.Res{Resource: api.Key(r)})
	return v.ID, err
}

// GetResourceRef returns the unique reference of r.
func (c *Client) GetResourceRef(ctx context.Context, r res) (string, error) {
	v, err := get[api.ID](ctx, c, "GetResourceRef", api.Res{Resource: api.Key(r)})
	return v.ID, err
}

// GetParentID returns the id of the parent of r, or "".
func (c *Client) GetParentID(ctx context.Context, r res, typ string) (string, error) {
	v, err := get[api.ID](ctx, c, "GetParentID", api.ResType{Resource: api.Key(r), Type: typ})
	return v.ID, err
}

// GetPrevResourceVersion returns the version before r in its chain.
func (c *Client) GetPrevResourceVersion(ctx context.Context, r res, opts ...metatrack.PrevOption) (res, error) {
	return get[res](ctx, c, "GetPrevResourceVersion", api.PrevRequest{Resource: api.Key(r), Options: metatrack.ResolvePrevOptions(opts...)})
}

// GetPrevResourceVersions returns up to n earlier versions of r.
func (c *Client) GetPrevResourceVersions(ctx context.Context, r res, n int, opts ...metatrack.PrevOption) ([]res, error) {
	return get[[]res](ctx, c, "GetPrevResourceVersions", api.PrevRequest{Resource: api.Key(r), N: n, Options: metatrack.ResolvePrevOptions(opts...)})
}

// Versions returns the versions of a chain head.
func (c *Client) Versions(ctx context.Context, head res) ([]res, error) {
	return get[[]res](ctx, c, "Versions", api.Res{Resource: api.Key(head)})
}

// Children returns the children of r.
func (c *Client) Children(ctx context.Context, r res, typ string) ([]res, error) {
	return get[[]res](ctx, c, "Children", api.ResType{Resource: api.Key(r), Type: typ})
}

// ListResources returns the resources of type typ.
func (c *Client) ListResources(ctx context.Context, typ string) ([]res, error) {
	return get[[]res](ctx, c, "ListResources", api.ResType{Type: typ})
}

// DeleteResource deletes r and what hangs under it.
func (c *Client) DeleteResource(ctx context.Context, r res) ([]res, error) {
	return get[[]res](ctx, c, "DeleteResource", api.Res{Resource: api.Key(r)})
}

// RestoreResource restores a deleted resource.
func (c *Client) RestoreResource(ctx context.Context, r res) ([]res, error) {
	return get[[]res](ctx, c, "RestoreResource", api.Res{Resource: api.Key(r)})
}

// LogTag sets the tag key of r to value.
func (c *Client) LogTag(ctx context.Context, r res, key, value string) error {
	return c.exec(ctx, "LogTag", api.TagRequest{Resource: api.Key(r), Key: key, Value: value})
}

// GetTag returns the tag key of r.
func (c *Client) GetTag(ctx context.Context, r res, key string) (string, error) {
	v, err := get[api.Value](ctx, c, "GetTag", api.ResKey{Resource: api.Key(r), Key: key})
	return v.Value, err
}

// DeleteTag removes the tag key of r.
func (c *Client) DeleteTag(ctx context.Context, r res, key string) error {
	return c.exec(ctx, "DeleteTag", api.ResKey{Resource: api.Key(r), Key: key})
}

// Tags returns every tag of r.
func (c *Client) Tags(ctx context.Context, r res) (map[string]string, error) {
	return get[map[string]string](ctx, c, "Tags", api.Res{Resource: api.Key(r)})
}

// LogMetadata stores value under key on r.
func (c *Client) LogMetadata(ctx context.Context, r res, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("%w: metadata %q is not JSON-encodable: %v", metatrack.ErrInvalidArgument, key, err)
	}
	return c.exec(ctx, "LogMetadata", api.MetadataRequest{Resource: api.Key(r), Key: key, Value: b})
}

// GetMetadataJSON returns the stored JSON of the value under key on r.
func (c *Client) GetMetadataJSON(ctx context.Context, r res, key string) (json.RawMessage, error) {
	v, err := get[api.JSONValue](ctx, c, "GetMetadata", api.ResKey{Resource: api.Key(r), Key: key})
	return v.Value, err
}

// GetMetadata returns the value under key on r, decoded as the library
// decodes it (integers as int64).
func (c *Client) GetMetadata(ctx context.Context, r res, key string) (any, error) {
	b, err := c.GetMetadataJSON(ctx, r, key)
	if err != nil {
		return nil, err
	}
	return metatrack.DecodeJSON(b)
}

// GetMetadataInto decodes the value under key on r into dst.
func (c *Client) GetMetadataInto(ctx context.Context, r res, key string, dst any) error {
	b, err := c.GetMetadataJSON(ctx, r, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%w: metadata %q: %v", metatrack.ErrInvalidArgument, key, err)
	}
	return nil
}

// DeleteMetadata removes the metadata key of r.
func (c *Client) DeleteMetadata(ctx context.Context, r res, key string) error {
	return c.exec(ctx, "DeleteMetadata", api.ResKey{Resource: api.Key(r), Key: key})
}

// Metadata returns every metadata value of r.
func (c *Client) Metadata(ctx context.Context, r res) (map[string]any, error) {
	raw, err := get[map[string]json.RawMessage](ctx, c, "Metadata", api.Res{Resource: api.Key(r)})
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(raw))
	for k, b := range raw {
		if out[k], err = metatrack.DecodeJSON(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RegisterVCResource stores the version-control info of r.
func (c *Client) RegisterVCResource(ctx context.Context, r res, info map[string]any, opts ...metatrack.VCOption) error {
	return c.exec(ctx, "RegisterVCResource", api.VCRequest{Resource: api.Key(r), Info: info, Options: metatrack.ResolveVCOptions(opts...)})
}

// GetVCInfo returns the version-control info stored under key.
func (c *Client) GetVCInfo(ctx context.Context, r res, key string) (map[string]any, error) {
	return decodeMap(get[json.RawMessage](ctx, c, "GetVCInfo", api.ResKey{Resource: api.Key(r), Key: key}))
}

// VCInfos returns every version-control record of r.
func (c *Client) VCInfos(ctx context.Context, r res) (map[string]map[string]any, error) {
	raw, err := get[map[string]json.RawMessage](ctx, c, "VCInfos", api.Res{Resource: api.Key(r)})
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]any, len(raw))
	for k, b := range raw {
		if out[k], err = decodeMap(b, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeMap(b json.RawMessage, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	v, err := metatrack.DecodeJSON(b)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("metatrack server: want a JSON object, got %s", b)
	}
	return m, nil
}

// LogMetric appends a point to the series key of r.
func (c *Client) LogMetric(ctx context.Context, r res, key string, value float64, opts ...metatrack.MetricOption) error {
	s := metatrack.ResolveMetricOptions(opts...)
	q := api.MetricRequest{Resource: api.Key(r), Key: key, Point: metatrack.MetricPoint{Value: value, Time: s.Time}, AutoStep: s.Step == nil}
	if s.Step != nil {
		q.Point.Step = *s.Step
	}
	return c.exec(ctx, "LogMetric", q)
}

// LogMetrics appends points to the series key of r in one write.
func (c *Client) LogMetrics(ctx context.Context, r res, key string, points []metatrack.MetricPoint) error {
	return c.exec(ctx, "LogMetrics", api.Columns(api.Key(r), key, points))
}

// MetricHistory returns the points of series key of r.
func (c *Client) MetricHistory(ctx context.Context, r res, key string, opts ...metatrack.MetricHistoryOption) ([]metatrack.MetricPoint, error) {
	return get[[]metatrack.MetricPoint](ctx, c, "MetricHistory", api.HistoryRequest{Resource: api.Key(r), Key: key, Range: metatrack.ResolveMetricHistoryOptions(opts...)})
}

// Metrics returns the summary of each series of r.
func (c *Client) Metrics(ctx context.Context, r res) ([]metatrack.MetricSummary, error) {
	return get[[]metatrack.MetricSummary](ctx, c, "Metrics", api.Res{Resource: api.Key(r)})
}

// Artifacts lists the artifacts of r, of kind if not empty.
func (c *Client) Artifacts(ctx context.Context, r res, kind string) ([]metatrack.Artifact, error) {
	return get[[]metatrack.Artifact](ctx, c, "Artifacts", api.ArtifactsRequest{Resource: api.Key(r), Kind: kind})
}

// BuildModelLineage records that mv was trained on datasetVersions.
func (c *Client) BuildModelLineage(ctx context.Context, mv res, datasetVersions []res) error {
	return c.exec(ctx, "BuildModelLineage", api.LineageRequest{Resource: api.Key(mv), DatasetVersions: keys(datasetVersions)})
}

// Inputs returns the dataset versions mv was trained on.
func (c *Client) Inputs(ctx context.Context, mv res) ([]res, error) {
	return get[[]res](ctx, c, "Inputs", api.Res{Resource: api.Key(mv)})
}

// Link records a lineage edge from src to dst.
func (c *Client) Link(ctx context.Context, src, dst res, relation string) error {
	return c.exec(ctx, "Link", api.LinkRequest{Src: api.Key(src), Dst: api.Key(dst), Relation: relation})
}

// SetWinningExperiment marks exp as the winner of mv.
func (c *Client) SetWinningExperiment(ctx context.Context, mv, exp res) error {
	return c.exec(ctx, "SetWinningExperiment", api.WinnerRequest{Resource: api.Key(mv), Experiment: api.Key(exp)})
}

// GetWinningExperiment returns the winning experiment of mv.
func (c *Client) GetWinningExperiment(ctx context.Context, mv res) (res, error) {
	return get[res](ctx, c, "GetWinningExperiment", api.Res{Resource: api.Key(mv)})
}

// GetPredictionJobModelVersion returns the model version of job.
func (c *Client) GetPredictionJobModelVersion(ctx context.Context, job res) (res, error) {
	return get[res](ctx, c, "GetPredictionJobModelVersion", api.Res{Resource: api.Key(job)})
}

// GetLatestModelResource returns the newest resource of typ under model.
func (c *Client) GetLatestModelResource(ctx context.Context, model res, typ string) (res, error) {
	return get[res](ctx, c, "GetLatestModelResource", api.ResType{Resource: api.Key(model), Type: typ})
}

// GetCurrentlyDeployedModelVersion returns the deployed version of mv's model.
func (c *Client) GetCurrentlyDeployedModelVersion(ctx context.Context, mv res, opts ...metatrack.DeployOption) (res, error) {
	return get[res](ctx, c, "GetCurrentlyDeployedModelVersion", api.ResEnv{Resource: api.Key(mv), Environment: metatrack.ResolveDeployOptions(opts...)})
}

// Deploy deploys mv.
func (c *Client) Deploy(ctx context.Context, mv res, opts ...metatrack.DeployOption) (metatrack.Deployment, error) {
	return get[metatrack.Deployment](ctx, c, "Deploy", api.ResEnv{Resource: api.Key(mv), Environment: metatrack.ResolveDeployOptions(opts...)})
}

// Undeploy ends the current deployment of mv.
func (c *Client) Undeploy(ctx context.Context, mv res, opts ...metatrack.DeployOption) error {
	return c.exec(ctx, "Undeploy", api.ResEnv{Resource: api.Key(mv), Environment: metatrack.ResolveDeployOptions(opts...)})
}

// DeployedAt returns the version of model deployed at time at.
func (c *Client) DeployedAt(ctx context.Context, model res, at time.Time, opts ...metatrack.DeployOption) (res, error) {
	return get[res](ctx, c, "DeployedAt", api.ResAt{Resource: api.Key(model), At: at, Environment: metatrack.ResolveDeployOptions(opts...)})
}

// Deployments returns the deployments of model.
func (c *Client) Deployments(ctx context.Context, model res) ([]metatrack.Deployment, error) {
	return get[[]metatrack.Deployment](ctx, c, "Deployments", api.Res{Resource: api.Key(model)})
}

// Promote records a promotion of mv.
func (c *Client) Promote(ctx context.Context, mv res, p metatrack.Promotion) (res, error) {
	return get[res](ctx, c, "Promote", api.PromoteRequest{Resource: api.Key(mv), Promotion: p})
}

// ApprovePromotion approves a pending promotion.
func (c *Client) ApprovePromotion(ctx context.Context, promotion res) (res, error) {
	return get[res](ctx, c, "ApprovePromotion", api.Res{Resource: api.Key(promotion)})
}

// SetAlias sets or moves the alias name of mv's chain to mv.
func (c *Client) SetAlias(ctx context.Context, mv res, name string) (metatrack.Alias, error) {
	return get[metatrack.Alias](ctx, c, "SetAlias", api.ResName{Resource: api.Key(mv), Name: name})
}

// RemoveAlias removes the alias name.
func (c *Client) RemoveAlias(ctx context.Context, r res, name string) error {
	return c.exec(ctx, "RemoveAlias", api.ResName{Resource: api.Key(r), Name: name})
}

// Aliases returns the aliases of a chain head or version.
func (c *Client) Aliases(ctx context.Context, r res) ([]metatrack.Alias, error) {
	return get[[]metatrack.Alias](ctx, c, "Aliases", api.Res{Resource: api.Key(r)})
}

// Search returns one page of the resources that match filter.
func (c *Client) Search(ctx context.Context, filter string, opts ...metatrack.SearchOption) (metatrack.Page, error) {
	return get[metatrack.Page](ctx, c, "Search", api.SearchRequest{Filter: filter, Options: metatrack.ResolveSearchOptions(opts...)})
}

// SearchAll returns every resource that matches filter.
func (c *Client) SearchAll(ctx context.Context, filter string, opts ...metatrack.SearchOption) ([]res, error) {
	return get[[]res](ctx, c, "SearchAll", api.SearchRequest{Filter: filter, Options: metatrack.ResolveSearchOptions(opts...)})
}

// QueryWarnings returns the warnings of filter.
func (c *Client) QueryWarnings(ctx context.Context, filter string) ([]metatrack.QueryWarning, error) {
	return get[[]metatrack.QueryWarning](ctx, c, "QueryWarnings", api.FilterRequest{Filter: filter})
}

// History returns the change log of r.
func (c *Client) History(ctx context.Context, r res) ([]metatrack.Change, error) {
	return get[[]metatrack.Change](ctx, c, "History", api.Res{Resource: api.Key(r)})
}

// StateAt returns the state of r at time at.
func (c *Client) StateAt(ctx context.Context, r res, at time.Time) (metatrack.State, error) {
	return get[metatrack.State](ctx, c, "StateAt", api.ResAt{Resource: api.Key(r), At: at})
}

// Lineage returns the lineage graph around starts.
func (c *Client) Lineage(ctx context.Context, starts []res, opts lineage.Options) (*lineage.Graph, error) {
	return get[*lineage.Graph](ctx, c, "Lineage", api.GraphRequest{Starts: keys(starts), Options: opts})
}

// Upstream returns what r was made from, to depth (0: all).
func (c *Client) Upstream(ctx context.Context, r res, depth int) (*lineage.Graph, error) {
	return get[*lineage.Graph](ctx, c, "Upstream", api.ResDepth{Resource: api.Key(r), Depth: depth})
}

// Downstream returns what was made from r, to depth (0: all).
func (c *Client) Downstream(ctx context.Context, r res, depth int) (*lineage.Graph, error) {
	return get[*lineage.Graph](ctx, c, "Downstream", api.ResDepth{Resource: api.Key(r), Depth: depth})
}

// ShortestPath returns the shortest lineage path from one resource to another.
func (c *Client) ShortestPath(ctx context.Context, from, to res, opts lineage.PathOptions) (*lineage.Path, error) {
	return get[*lineage.Path](ctx, c, "ShortestPath", api.PathRequest{From: api.Key(from), To: api.Key(to), Options: opts})
}

// Impact returns what a change to r affects downstream.
func (c *Client) Impact(ctx context.Context, r res) (*lineage.ImpactReport, error) {
	return get[*lineage.ImpactReport](ctx, c, "Impact", api.Res{Resource: api.Key(r)})
}

// Provenance returns where r came from.
func (c *Client) Provenance(ctx context.Context, r res) (*lineage.ProvenanceReport, error) {
	return get[*lineage.ProvenanceReport](ctx, c, "Provenance", api.Res{Resource: api.Key(r)})
}

// Runs returns every run.
func (c *Client) Runs(ctx context.Context) ([]metatrack.Run, error) {
	return get[[]metatrack.Run](ctx, c, "Runs", api.Empty{})
}

// GetRun returns the run with the given id or name.
func (c *Client) GetRun(ctx context.Context, idOrName string) (metatrack.Run, error) {
	return get[metatrack.Run](ctx, c, "GetRun", api.GetRequest{Ref: idOrName})
}

// Stats counts what the store holds.
func (c *Client) Stats(ctx context.Context) (metatrack.Stats, error) {
	return get[metatrack.Stats](ctx, c, "Stats", api.Empty{})
}

// Chains returns every version chain.
func (c *Client) Chains(ctx context.Context) ([]metatrack.Chain, error) {
	return get[[]metatrack.Chain](ctx, c, "Chains", api.Empty{})
}

// LoadModel rebuilds, in this process, the model of mv's winning
// experiment with the loader registered (RegisterModelLoader) for its
// trainer.
func (c *Client) LoadModel(ctx context.Context, mv res, opts ...metatrack.LoadOption) (any, error) {
	return metatrack.LoadModelFrom(ctx, c, mv, opts...)
}
