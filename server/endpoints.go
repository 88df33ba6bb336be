package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/lineage"
)

type (
	ctxT = context.Context
	trT  = *metatrack.Tracker
	resT = metatrack.Resource
)

func res(key string) resT { return resT{ID: key} }

func resList(keys []string) []resT {
	out := make([]resT, len(keys))
	for i, k := range keys {
		out[i] = res(k)
	}
	return out
}

// Endpoints lists every operation of the API, in the order of its
// description.
func Endpoints() []Endpoint {
	r, w := RoleRead, RoleWrite
	eps := []Endpoint{
		// Resources.
		rpc("CreateResource", w, "Creates a resource of a type and name.", func(ctx ctxT, tr trT, q api.CreateRequest) (resT, error) {
			return tr.CreateResource(ctx, q.Type, q.Name, q.Options.Options()...)
		}),
		rpc("GetResource", r, "Returns the resource with an id or reference; a non-empty type must match.", func(ctx ctxT, tr trT, q api.GetRequest) (resT, error) {
			return tr.GetResource(ctx, q.Ref, q.Type)
		}),
		rpc("UpdateResource", w, "Changes fields of a resource.", func(ctx ctxT, tr trT, q api.UpdateRequest) (resT, error) {
			return tr.UpdateResource(ctx, res(q.Resource), q.Updates)
		}),
		rpc("CleanResource", w, "Closes a resource: records its end time, FINISHED if it was running.", func(ctx ctxT, tr trT, q api.ResType) (api.Empty, error) {
			return api.Empty{}, tr.CleanResource(ctx, res(q.Resource), q.Type)
		}),
		rpc("GetResourceID", r, "Returns the unique id of a resource.", func(ctx ctxT, tr trT, q api.Res) (api.ID, error) {
			id, err := tr.GetResourceID(ctx, res(q.Resource))
			return api.ID{ID: id}, err
		}),
		rpc("GetResourceRef", r, "Returns the unique reference of a resource.", func(ctx ctxT, tr trT, q api.Res) (api.ID, error) {
			id, err := tr.GetResourceRef(ctx, res(q.Resource))
			return api.ID{ID: id}, err
		}),
		rpc("GetParentID", r, "Returns the id of the parent of a resource (empty for a root).", func(ctx ctxT, tr trT, q api.ResType) (api.ID, error) {
			id, err := tr.GetParentID(ctx, res(q.Resource), q.Type)
			return api.ID{ID: id}, err
		}),
		rpc("GetPrevResourceVersion", r, "Returns the version before a resource in its chain, or the latest earlier one matching the options.", func(ctx ctxT, tr trT, q api.PrevRequest) (resT, error) {
			return tr.GetPrevResourceVersion(ctx, res(q.Resource), q.Options.Options()...)
		}),
		rpc("GetPrevResourceVersions", r, "Returns up to n earlier versions, newest first.", func(ctx ctxT, tr trT, q api.PrevRequest) ([]resT, error) {
			return tr.GetPrevResourceVersions(ctx, res(q.Resource), q.N, q.Options.Options()...)
		}),
		rpc("Versions", r, "Returns the versions of a chain head, oldest first.", func(ctx ctxT, tr trT, q api.Res) ([]resT, error) {
			return tr.Versions(ctx, res(q.Resource))
		}),
		rpc("Children", r, "Returns the children of a resource, of a type if given.", func(ctx ctxT, tr trT, q api.ResType) ([]resT, error) {
			return tr.Children(ctx, res(q.Resource), q.Type)
		}),
		rpc("ListResources", r, "Returns the resources of a type.", func(ctx ctxT, tr trT, q api.ResType) ([]resT, error) {
			return tr.ListResources(ctx, q.Type)
		}),
		rpc("DeleteResource", w, "Deletes a resource and what hangs under it (soft: RestoreResource undoes it).", func(ctx ctxT, tr trT, q api.Res) ([]resT, error) {
			return tr.DeleteResource(ctx, res(q.Resource))
		}),
		rpc("RestoreResource", w, "Restores a deleted resource.", func(ctx ctxT, tr trT, q api.Res) ([]resT, error) {
			return tr.RestoreResource(ctx, res(q.Resource))
		}),

		// Tags and metadata.
		rpc("LogTag", w, "Sets a string tag.", func(ctx ctxT, tr trT, q api.TagRequest) (api.Empty, error) {
			return api.Empty{}, tr.LogTag(ctx, res(q.Resource), q.Key, q.Value)
		}),
		rpc("GetTag", r, "Returns a tag.", func(ctx ctxT, tr trT, q api.ResKey) (api.Value, error) {
			v, err := tr.GetTag(ctx, res(q.Resource), q.Key)
			return api.Value{Value: v}, err
		}),
		rpc("DeleteTag", w, "Removes a tag.", func(ctx ctxT, tr trT, q api.ResKey) (api.Empty, error) {
			return api.Empty{}, tr.DeleteTag(ctx, res(q.Resource), q.Key)
		}),
		rpc("Tags", r, "Returns every tag of a resource.", func(ctx ctxT, tr trT, q api.Res) (map[string]string, error) {
			return tr.Tags(ctx, res(q.Resource))
		}),
		rpc("LogMetadata", w, "Stores a JSON value under a key.", func(ctx ctxT, tr trT, q api.MetadataRequest) (api.Empty, error) {
			if len(q.Value) == 0 {
				return api.Empty{}, fmt.Errorf("%w: metadata %q: no value given", metatrack.ErrInvalidArgument, q.Key)
			}
			return api.Empty{}, tr.LogMetadata(ctx, res(q.Resource), q.Key, q.Value)
		}),
		rpc("GetMetadata", r, "Returns the JSON value under a key.", func(ctx ctxT, tr trT, q api.ResKey) (api.JSONValue, error) {
			v, err := tr.GetMetadataJSON(ctx, res(q.Resource), q.Key)
			return api.JSONValue{Value: v}, err
		}),
		rpc("DeleteMetadata", w, "Removes a metadata key.", func(ctx ctxT, tr trT, q api.ResKey) (api.Empty, error) {
			return api.Empty{}, tr.DeleteMetadata(ctx, res(q.Resource), q.Key)
		}),
		rpc("Metadata", r, "Returns every metadata value of a resource.", func(ctx ctxT, tr trT, q api.Res) (map[string]any, error) {
			return tr.Metadata(ctx, res(q.Resource))
		}),
		rpc("RegisterVCResource", w, "Stores version-control info.", func(ctx ctxT, tr trT, q api.VCRequest) (api.Empty, error) {
			return api.Empty{}, tr.RegisterVCResource(ctx, res(q.Resource), q.Info, q.Options.Options()...)
		}),
		rpc("GetVCInfo", r, "Returns the version-control info under a key.", func(ctx ctxT, tr trT, q api.ResKey) (map[string]any, error) {
			return tr.GetVCInfo(ctx, res(q.Resource), q.Key)
		}),
		rpc("VCInfos", r, "Returns every version-control record of a resource.", func(ctx ctxT, tr trT, q api.Res) (map[string]map[string]any, error) {
			return tr.VCInfos(ctx, res(q.Resource))
		}),

		// Metrics.
		rpc("LogMetric", w, "Appends one point to a metric series.", func(ctx ctxT, tr trT, q api.MetricRequest) (api.Empty, error) {
			var opts []metatrack.MetricOption
			if !q.AutoStep {
				opts = append(opts, metatrack.WithStep(q.Point.Step))
			}
			if !q.Point.Time.IsZero() {
				opts = append(opts, metatrack.WithTime(q.Point.Time))
			}
			return api.Empty{}, tr.LogMetric(ctx, res(q.Resource), q.Key, q.Point.Value, opts...)
		}),
		rpc("LogMetrics", w, "Appends many points to a metric series in one write.", func(ctx ctxT, tr trT, q api.MetricsRequest) (api.Empty, error) {
			pts, err := q.Points()
			if err != nil {
				return api.Empty{}, err
			}
			return api.Empty{}, tr.LogMetrics(ctx, res(q.Resource), q.Key, pts)
		}),
		rpc("MetricHistory", r, "Returns the points of a series, in a range, downsampled above a maximum.", func(ctx ctxT, tr trT, q api.HistoryRequest) ([]metatrack.MetricPoint, error) {
			return tr.MetricHistory(ctx, res(q.Resource), q.Key, q.Range.Options()...)
		}),
		rpc("Metrics", r, "Returns the summary of each series of a resource.", func(ctx ctxT, tr trT, q api.Res) ([]metatrack.MetricSummary, error) {
			return tr.Metrics(ctx, res(q.Resource))
		}),

		// Artifact records (the bytes go through /api/v1/artifact).
		rpc("Artifacts", r, "Lists the artifacts of a resource, of a kind if given.", func(ctx ctxT, tr trT, q api.ArtifactsRequest) ([]metatrack.Artifact, error) {
			return tr.Artifacts(ctx, res(q.Resource), q.Kind)
		}),

		// Models, lineage edges and deployments.
		rpc("BuildModelLineage", w, "Records the dataset versions a model version was trained on.", func(ctx ctxT, tr trT, q api.LineageRequest) (api.Empty, error) {
			return api.Empty{}, tr.BuildModelLineage(ctx, res(q.Resource), resList(q.DatasetVersions))
		}),
		rpc("Inputs", r, "Returns the dataset versions a model version was trained on.", func(ctx ctxT, tr trT, q api.Res) ([]resT, error) {
			return tr.Inputs(ctx, res(q.Resource))
		}),
		rpc("Link", w, "Records a lineage edge.", func(ctx ctxT, tr trT, q api.LinkRequest) (api.Empty, error) {
			return api.Empty{}, tr.Link(ctx, res(q.Src), res(q.Dst), q.Relation)
		}),
		rpc("SetWinningExperiment", w, "Marks the winning experiment of a model version.", func(ctx ctxT, tr trT, q api.WinnerRequest) (api.Empty, error) {
			return api.Empty{}, tr.SetWinningExperiment(ctx, res(q.Resource), res(q.Experiment))
		}),
		rpc("GetWinningExperiment", r, "Returns the winning experiment of a model version.", func(ctx ctxT, tr trT, q api.Res) (resT, error) {
			return tr.GetWinningExperiment(ctx, res(q.Resource))
		}),
		rpc("GetPredictionJobModelVersion", r, "Returns the model version of a prediction job.", func(ctx ctxT, tr trT, q api.Res) (resT, error) {
			return tr.GetPredictionJobModelVersion(ctx, res(q.Resource))
		}),
		rpc("GetLatestModelResource", r, "Returns the newest resource of a type under any version of a model.", func(ctx ctxT, tr trT, q api.ResType) (resT, error) {
			return tr.GetLatestModelResource(ctx, res(q.Resource), q.Type)
		}),
		rpc("GetCurrentlyDeployedModelVersion", r, "Returns the deployed version of a model version's model, with fallbacks.", func(ctx ctxT, tr trT, q api.ResEnv) (resT, error) {
			return tr.GetCurrentlyDeployedModelVersion(ctx, res(q.Resource), env(q.Environment)...)
		}),
		rpc("Deploy", w, "Deploys a model version.", func(ctx ctxT, tr trT, q api.ResEnv) (metatrack.Deployment, error) {
			return tr.Deploy(ctx, res(q.Resource), env(q.Environment)...)
		}),
		rpc("Undeploy", w, "Ends the current deployment of a model version.", func(ctx ctxT, tr trT, q api.ResEnv) (api.Empty, error) {
			return api.Empty{}, tr.Undeploy(ctx, res(q.Resource), env(q.Environment)...)
		}),
		rpc("DeployedAt", r, "Returns the version of a model deployed at a time.", func(ctx ctxT, tr trT, q api.ResAt) (resT, error) {
			return tr.DeployedAt(ctx, res(q.Resource), q.At, env(q.Environment)...)
		}),
		rpc("Deployments", r, "Returns the deployments of a model.", func(ctx ctxT, tr trT, q api.Res) ([]metatrack.Deployment, error) {
			return tr.Deployments(ctx, res(q.Resource))
		}),
		rpc("Promote", w, "Records a promotion of a model version.", func(ctx ctxT, tr trT, q api.PromoteRequest) (resT, error) {
			return tr.Promote(ctx, res(q.Resource), q.Promotion)
		}),
		rpc("ApprovePromotion", w, "Approves a pending promotion.", func(ctx ctxT, tr trT, q api.Res) (resT, error) {
			return tr.ApprovePromotion(ctx, res(q.Resource))
		}),
		rpc("SetAlias", w, "Sets or moves an alias of a chain to a version.", func(ctx ctxT, tr trT, q api.ResName) (metatrack.Alias, error) {
			return tr.SetAlias(ctx, res(q.Resource), q.Name)
		}),
		rpc("RemoveAlias", w, "Removes an alias.", func(ctx ctxT, tr trT, q api.ResName) (api.Empty, error) {
			return api.Empty{}, tr.RemoveAlias(ctx, res(q.Resource), q.Name)
		}),
		rpc("Aliases", r, "Returns the aliases of a chain head or version.", func(ctx ctxT, tr trT, q api.Res) ([]metatrack.Alias, error) {
			return tr.Aliases(ctx, res(q.Resource))
		}),

		// Search, history, lineage graph.
		rpc("Search", r, "Returns one page of the resources a query matches, with chosen columns.", func(ctx ctxT, tr trT, q api.SearchRequest) (metatrack.Page, error) {
			return tr.Search(ctx, q.Filter, q.Options.Options()...)
		}),
		rpc("SearchAll", r, "Returns every resource a query matches.", func(ctx ctxT, tr trT, q api.SearchRequest) ([]resT, error) {
			return tr.SearchAll(ctx, q.Filter, q.Options.Options()...)
		}),
		rpc("QueryWarnings", r, "Returns the warnings of a query (conditions that cannot match).", func(ctx ctxT, tr trT, q api.FilterRequest) ([]metatrack.QueryWarning, error) {
			return tr.QueryWarnings(ctx, q.Filter)
		}),
		rpc("History", r, "Returns the change log of a resource.", func(ctx ctxT, tr trT, q api.Res) ([]metatrack.Change, error) {
			return tr.History(ctx, res(q.Resource))
		}),
		rpc("StateAt", r, "Returns a resource's state at a time.", func(ctx ctxT, tr trT, q api.ResAt) (metatrack.State, error) {
			return tr.StateAt(ctx, res(q.Resource), q.At)
		}),
		rpc("Lineage", r, "Returns the lineage graph around resources.", func(ctx ctxT, tr trT, q api.GraphRequest) (*lineage.Graph, error) {
			return tr.Lineage(ctx, resList(q.Starts), q.Options)
		}),
		rpc("Upstream", r, "Returns what a resource was made from.", func(ctx ctxT, tr trT, q api.ResDepth) (*lineage.Graph, error) {
			return tr.Upstream(ctx, res(q.Resource), q.Depth)
		}),
		rpc("Downstream", r, "Returns what was made from a resource.", func(ctx ctxT, tr trT, q api.ResDepth) (*lineage.Graph, error) {
			return tr.Downstream(ctx, res(q.Resource), q.Depth)
		}),
		rpc("ShortestPath", r, "Returns the shortest lineage path between two resources.", func(ctx ctxT, tr trT, q api.PathRequest) (*lineage.Path, error) {
			return tr.ShortestPath(ctx, res(q.From), res(q.To), q.Options)
		}),
		rpc("Impact", r, "Returns what a change to a resource affects downstream, with deployments.", func(ctx ctxT, tr trT, q api.Res) (*lineage.ImpactReport, error) {
			return tr.Impact(ctx, res(q.Resource))
		}),
		rpc("Provenance", r, "Returns where a resource came from.", func(ctx ctxT, tr trT, q api.Res) (*lineage.ProvenanceReport, error) {
			return tr.Provenance(ctx, res(q.Resource))
		}),

		// Runs and the store.
		rpc("Run", r, "Returns the run that writes record: the client's (named by the Metatrack-Run header), or the server's own.", func(ctx ctxT, tr trT, q api.Empty) (metatrack.Run, error) {
			return tr.Run(), nil
		}),
		rpc("StartRun", w, "Starts a run for a client; the client names it in the Metatrack-Run header of its requests, and their writes record it.", func(ctx ctxT, tr trT, q metatrack.RunInfo) (metatrack.Run, error) {
			return tr.StartRun(ctx, q)
		}),
		rpc("EndRun", w, "Ends a client's run: FINISHED, or FAILED with the client's error.", func(ctx ctxT, tr trT, q api.EndRunRequest) (metatrack.Run, error) {
			var runErr error
			if q.Failed {
				runErr = errors.New(q.Error)
			}
			return tr.EndRun(ctx, q.Run, runErr)
		}),
		rpc("Runs", r, "Returns every run.", func(ctx ctxT, tr trT, q api.Empty) ([]metatrack.Run, error) {
			return tr.Runs(ctx)
		}),
		rpc("GetRun", r, "Returns a run by id or name.", func(ctx ctxT, tr trT, q api.GetRequest) (metatrack.Run, error) {
			return tr.GetRun(ctx, q.Ref)
		}),
		rpc("Stats", r, "Counts what the store holds.", func(ctx ctxT, tr trT, q api.Empty) (metatrack.Stats, error) {
			return tr.Stats(ctx)
		}),
		rpc("Chains", r, "Returns every version chain with its deployments.", func(ctx ctxT, tr trT, q api.Empty) ([]metatrack.Chain, error) {
			return tr.Chains(ctx)
		}),
	}
	eps = append(eps, storeEndpoints()...)
	return append(eps, artifactEndpoints()...)
}

func env(e string) []metatrack.DeployOption {
	if e == "" {
		return nil
	}
	return []metatrack.DeployOption{metatrack.WithEnvironment(e)}
}
