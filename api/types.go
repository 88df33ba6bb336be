// Package api holds what the metatrack server and its clients agree on: the
// request and response of each operation, and the error codes. Every
// operation is POST /api/v1/<Operation> with a JSON request and response,
// except artifact bytes (GET and PUT /api/v1/artifact, streamed). A
// resource is named by a string, its id or any reference (refs carry
// slashes and @, so they travel in bodies, not in paths). The library's
// records (Resource, Artifact, ...) travel as encoding/json encodes them;
// every field that travels has an explicit snake_case json tag, the name
// the CLI's -o json gives the same thing.
package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
)

// Key returns the string that names res on the wire: its id, or its
// reference when it has no id.
func Key(res metatrack.Resource) string {
	if res.ID != "" {
		return res.ID
	}
	if res.Type != "" && res.Name != "" {
		return res.Ref()
	}
	return ""
}

// Empty is the request or response of an operation that has none.
type Empty struct{}

// Res names one resource.
type Res struct {
	Resource string `json:"resource"`
}

// ResList names resources.
type ResList struct {
	Resources []string `json:"resources"`
}

// ResType names a resource and a type.
type ResType struct {
	Resource string `json:"resource"`
	Type     string `json:"type,omitempty"`
}

// ResKey names a resource and a key.
type ResKey struct {
	Resource string `json:"resource"`
	Key      string `json:"key"`
}

// ResEnv names a resource and a deployment environment.
type ResEnv struct {
	Resource    string `json:"resource"`
	Environment string `json:"environment,omitempty"`
}

// ResName names a resource and an alias.
type ResName struct {
	Resource string `json:"resource"`
	Name     string `json:"name"`
}

// ResAt names a resource and a time.
type ResAt struct {
	Resource    string    `json:"resource"`
	At          time.Time `json:"at"`
	Environment string    `json:"environment,omitempty"`
}

// ResDepth names a resource and a lineage depth (0: unlimited).
type ResDepth struct {
	Resource string `json:"resource"`
	Depth    int    `json:"depth,omitempty"`
}

// CreateRequest is the request of CreateResource.
type CreateRequest struct {
	Type    string               `json:"type"`
	Name    string               `json:"name"`
	Options metatrack.CreateSpec `json:"options"`
}

// GetRequest is the request of GetResource and GetRun.
type GetRequest struct {
	Ref  string `json:"ref"`
	Type string `json:"type,omitempty"`
}

// UpdateRequest is the request of UpdateResource.
type UpdateRequest struct {
	Resource string            `json:"resource"`
	Updates  metatrack.Updates `json:"updates"`
}

// PrevRequest is the request of GetPrevResourceVersion(s); N is for the
// latter.
type PrevRequest struct {
	Resource string             `json:"resource"`
	N        int                `json:"n,omitempty"`
	Options  metatrack.PrevSpec `json:"options"`
}

// LineageRequest is the request of BuildModelLineage.
type LineageRequest struct {
	Resource        string   `json:"resource"`
	DatasetVersions []string `json:"dataset_versions"`
}

// LinkRequest is the request of Link.
type LinkRequest struct {
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Relation string `json:"relation"`
}

// WinnerRequest is the request of SetWinningExperiment.
type WinnerRequest struct {
	Resource   string `json:"resource"`
	Experiment string `json:"experiment"`
}

// ID is a response carrying an id (or a reference).
type ID struct {
	ID string `json:"id"`
}

// TagRequest is the request of LogTag.
type TagRequest struct {
	Resource string `json:"resource"`
	Key      string `json:"key"`
	Value    string `json:"value"`
}

// Value is a response carrying a tag value.
type Value struct {
	Value string `json:"value"`
}

// MetadataRequest is the request of LogMetadata.
type MetadataRequest struct {
	Resource string          `json:"resource"`
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
}

// JSONValue is a response carrying a metadata value.
type JSONValue struct {
	Value json.RawMessage `json:"value"`
}

// VCRequest is the request of RegisterVCResource.
type VCRequest struct {
	Resource string           `json:"resource"`
	Info     map[string]any   `json:"info"`
	Options  metatrack.VCSpec `json:"options"`
}

// MetricRequest is the request of LogMetric: AutoStep leaves the step to
// the series (WithStep not given).
type MetricRequest struct {
	Resource string                `json:"resource"`
	Key      string                `json:"key"`
	Point    metatrack.MetricPoint `json:"point"`
	AutoStep bool                  `json:"auto_step,omitempty"`
}

// MetricsRequest is the request of LogMetrics, its points in columns
// (plain arrays decode many times faster than objects): point i has step
// Steps[i], value Values[i] and time TimesMs[i] (Unix milliseconds).
// Values that JSON cannot carry (NaN, infinities) are 0 in Values and
// named in NonFinite by index ("NaN", "+Inf", "-Inf"). Without TimesMs
// every point is stamped now; with it, the points whose index NoTime lists
// are.
type MetricsRequest struct {
	Resource  string            `json:"resource"`
	Key       string            `json:"key"`
	Steps     []int64           `json:"steps"`
	Values    []float64         `json:"values"`
	TimesMs   []int64           `json:"times_ms,omitempty"`
	NoTime    []int             `json:"no_time,omitempty"`
	NonFinite map[string]string `json:"non_finite,omitempty"`
}

// Columns returns the request carrying points.
func Columns(res, key string, points []metatrack.MetricPoint) MetricsRequest {
	q := MetricsRequest{Resource: res, Key: key, Steps: make([]int64, len(points)), Values: make([]float64, len(points))}
	timed := false
	for _, p := range points {
		if !p.Time.IsZero() {
			timed = true
			break
		}
	}
	if timed {
		q.TimesMs = make([]int64, len(points))
	}
	for i, p := range points {
		q.Steps[i] = p.Step
		switch {
		case math.IsNaN(p.Value):
			q.nonFinite(i, "NaN")
		case math.IsInf(p.Value, 1):
			q.nonFinite(i, "+Inf")
		case math.IsInf(p.Value, -1):
			q.nonFinite(i, "-Inf")
		default:
			q.Values[i] = p.Value
		}
		if timed {
			if p.Time.IsZero() {
				q.NoTime = append(q.NoTime, i)
			} else {
				q.TimesMs[i] = p.Time.UnixMilli()
			}
		}
	}
	return q
}

func (q *MetricsRequest) nonFinite(i int, v string) {
	if q.NonFinite == nil {
		q.NonFinite = map[string]string{}
	}
	q.NonFinite[strconv.Itoa(i)] = v
}

// Points returns the points q carries.
func (q MetricsRequest) Points() ([]metatrack.MetricPoint, error) {
	n := len(q.Steps)
	if len(q.Values) != n || q.TimesMs != nil && len(q.TimesMs) != n {
		return nil, fmt.Errorf("%w: metric points: %d steps, %d values and %d times; want as many of each", metatrack.ErrInvalidArgument, n, len(q.Values), len(q.TimesMs))
	}
	pts := make([]metatrack.MetricPoint, n)
	for i := range pts {
		pts[i] = metatrack.MetricPoint{Step: q.Steps[i], Value: q.Values[i]}
		if q.TimesMs != nil {
			pts[i].Time = time.UnixMilli(q.TimesMs[i]).UTC()
		}
	}
	for _, i := range q.NoTime {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("%w: metric points: no_time index %d out of range", metatrack.ErrInvalidArgument, i)
		}
		pts[i].Time = time.Time{}
	}
	for k, v := range q.NonFinite {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n {
			return nil, fmt.Errorf("%w: metric points: non_finite index %q out of range", metatrack.ErrInvalidArgument, k)
		}
		switch v {
		case "NaN":
			pts[i].Value = math.NaN()
		case "+Inf":
			pts[i].Value = math.Inf(1)
		case "-Inf":
			pts[i].Value = math.Inf(-1)
		default:
			return nil, fmt.Errorf("%w: metric points: non_finite value %q: want NaN, +Inf or -Inf", metatrack.ErrInvalidArgument, v)
		}
	}
	return pts, nil
}

// HistoryRequest is the request of MetricHistory.
type HistoryRequest struct {
	Resource string                    `json:"resource"`
	Key      string                    `json:"key"`
	Range    metatrack.MetricRangeSpec `json:"range"`
}

// ArtifactsRequest is the request of Artifacts.
type ArtifactsRequest struct {
	Resource string `json:"resource"`
	Kind     string `json:"kind,omitempty"`
}

// PromoteRequest is the request of Promote.
type PromoteRequest struct {
	Resource  string              `json:"resource"`
	Promotion metatrack.Promotion `json:"promotion"`
}

// SearchRequest is the request of Search and SearchAll.
type SearchRequest struct {
	Filter  string               `json:"filter"`
	Options metatrack.SearchSpec `json:"options"`
}

// FilterRequest is the request of QueryWarnings.
type FilterRequest struct {
	Filter string `json:"filter"`
}

// GraphRequest is the request of Lineage.
type GraphRequest struct {
	Starts  []string        `json:"starts"`
	Options lineage.Options `json:"options"`
}

// PathRequest is the request of ShortestPath.
type PathRequest struct {
	From    string              `json:"from"`
	To      string              `json:"to"`
	Options lineage.PathOptions `json:"options"`
}

// EndRunRequest is the request of EndRun: the run ends FINISHED, or
// FAILED with Error as its message when Failed is set.
type EndRunRequest struct {
	Run    string `json:"run"`
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ModelSpecResponse is what LoadModel needs from the store: the spec
// without its in-process parts, which the client fills in and hands to its
// own loader.
type ModelSpecResponse struct {
	Spec metatrack.ModelSpec `json:"spec"`
}

// Headers and query parameters of the artifact stream endpoints.
const (
	// HeaderArtifact carries the JSON Artifact record of a download, and
	// of an upload's response body.
	HeaderArtifact = "Metatrack-Artifact"
	// TrailerError carries the JSON ErrorDetail of a download that failed
	// after its first byte (the bytes did not match their SHA-256).
	TrailerError = "Metatrack-Error"
	// HeaderRun carries the id of the run a client started (StartRun):
	// the server's writes for the request record that run instead of the
	// server's own, and Run returns it.
	HeaderRun = "Metatrack-Run"
	// HeaderIdempotencyKey names a write; the server applies a write with
	// a key it has seen once and answers repeats with the first response.
	HeaderIdempotencyKey = "Idempotency-Key"
)
