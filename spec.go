package metatrack

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/metatrack/metatrack/storage/metricstore"
)

// The Spec types are the options of the tracker's calls as plain data, so
// that a remote client can carry them over the wire and a server can turn
// them back into options: ResolveX(opts...) gives the Spec of a call's
// options, and Spec.Options() gives options that mean the same.

// CreateSpec holds the CreateOptions of a CreateResource call.
type CreateSpec struct {
	Parent      string         `json:"parent,omitempty"`
	Attrs       map[string]any `json:"attrs,omitempty"`
	Status      string         `json:"status,omitempty"`
	IfNotExists bool           `json:"if_not_exists,omitempty"`
	StartedAt   time.Time      `json:"started_at,omitzero"`
}

// ResolveCreateOptions returns the CreateSpec of opts.
func ResolveCreateOptions(opts ...CreateOption) CreateSpec {
	var c createConfig
	for _, o := range opts {
		o(&c)
	}
	return CreateSpec{Parent: c.parent, Attrs: c.attrs, Status: c.status, IfNotExists: c.ifNotExists, StartedAt: c.startedAt}
}

// Options returns CreateOptions equivalent to s.
func (s CreateSpec) Options() []CreateOption {
	return []CreateOption{func(c *createConfig) {
		c.parent, c.attrs, c.status, c.ifNotExists, c.startedAt = s.Parent, s.Attrs, s.Status, s.IfNotExists, s.StartedAt
	}}
}

// ArtifactSpec holds the ArtifactOptions of LogArtifact and the report calls.
type ArtifactSpec struct {
	Name      string `json:"name,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	URI       string `json:"uri,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size,omitempty"`
	// SourcePath is recorded as the artifact's SourcePath instead of the
	// path the bytes were read from (a server's upload file); only
	// Options carries it, no ArtifactOption sets it.
	SourcePath string `json:"source_path,omitempty"`
}

// ResolveArtifactOptions returns the ArtifactSpec of opts.
func ResolveArtifactOptions(opts ...ArtifactOption) ArtifactSpec {
	var c artifactConfig
	for _, o := range opts {
		o(&c)
	}
	return ArtifactSpec{Name: c.name, MediaType: c.mediaType, URI: c.uri, SHA256: c.sha256, Size: c.size}
}

// Options returns ArtifactOptions equivalent to s.
func (s ArtifactSpec) Options() []ArtifactOption {
	return []ArtifactOption{func(c *artifactConfig) {
		*c = artifactConfig{name: s.Name, mediaType: s.MediaType, uri: s.URI, sha256: s.SHA256, size: s.Size, sourcePath: s.SourcePath}
	}}
}

// PrevSpec holds the PrevOptions of GetPrevResourceVersion.
type PrevSpec struct {
	Status string            `json:"status,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
	Filter string            `json:"filter,omitempty"`
}

// ResolvePrevOptions returns the PrevSpec of opts.
func ResolvePrevOptions(opts ...PrevOption) PrevSpec {
	var c prevConfig
	for _, o := range opts {
		o(&c)
	}
	return PrevSpec{Status: c.status, Tags: c.tags, Filter: c.filter}
}

// Options returns PrevOptions equivalent to s.
func (s PrevSpec) Options() []PrevOption {
	return []PrevOption{func(c *prevConfig) { *c = prevConfig{status: s.Status, tags: s.Tags, filter: s.Filter} }}
}

// ResolveDeployOptions returns the environment that opts name
// (DefaultEnvironment when none does).
func ResolveDeployOptions(opts ...DeployOption) string { return deployOptions(opts).environment }

// VCSpec holds the VCOptions of RegisterVCResource.
type VCSpec struct {
	Key      string         `json:"key,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// ResolveVCOptions returns the VCSpec of opts.
func ResolveVCOptions(opts ...VCOption) VCSpec {
	var c vcConfig
	for _, o := range opts {
		o(&c)
	}
	return VCSpec{Key: c.key, Metadata: c.metadata}
}

// Options returns VCOptions equivalent to s.
func (s VCSpec) Options() []VCOption {
	return []VCOption{func(c *vcConfig) { *c = vcConfig{key: s.Key, metadata: s.Metadata} }}
}

// MetricPointSpec holds the MetricOptions of LogMetric: Step is nil when
// no WithStep was given.
type MetricPointSpec struct {
	Step *int64    `json:"step,omitempty"`
	Time time.Time `json:"time,omitzero"`
}

// ResolveMetricOptions returns the MetricPointSpec of opts.
func ResolveMetricOptions(opts ...MetricOption) MetricPointSpec {
	var c metricPointConfig
	for _, o := range opts {
		o(&c)
	}
	s := MetricPointSpec{Time: c.time}
	if c.hasStep {
		s.Step = &c.step
	}
	return s
}

// Options returns MetricOptions equivalent to s.
func (s MetricPointSpec) Options() []MetricOption {
	return []MetricOption{func(c *metricPointConfig) {
		c.time = s.Time
		if s.Step != nil {
			c.step, c.hasStep = *s.Step, true
		}
	}}
}

// MetricRangeSpec holds the MetricHistoryOptions of MetricHistory; nil
// bounds are open.
type MetricRangeSpec struct {
	FromStep  *int64 `json:"from_step,omitempty"`
	ToStep    *int64 `json:"to_step,omitempty"`
	FromTime  *int64 `json:"from_time_ms,omitempty"`
	ToTime    *int64 `json:"to_time_ms,omitempty"`
	MaxPoints int    `json:"max_points,omitempty"`
}

// ResolveMetricHistoryOptions returns the MetricRangeSpec of opts.
func ResolveMetricHistoryOptions(opts ...MetricHistoryOption) MetricRangeSpec {
	q := metricstore.AllPoints
	for _, o := range opts {
		o(&q)
	}
	s := MetricRangeSpec{MaxPoints: q.MaxPoints}
	bound := func(v, open int64) *int64 {
		if v == open {
			return nil
		}
		return &v
	}
	s.FromStep, s.ToStep = bound(q.FromStep, math.MinInt64), bound(q.ToStep, math.MaxInt64)
	s.FromTime, s.ToTime = bound(q.FromTime, math.MinInt64), bound(q.ToTime, math.MaxInt64)
	return s
}

// Options returns MetricHistoryOptions equivalent to s.
func (s MetricRangeSpec) Options() []MetricHistoryOption {
	return []MetricHistoryOption{func(q *metricstore.Range) {
		set := func(dst *int64, v *int64) {
			if v != nil {
				*dst = *v
			}
		}
		set(&q.FromStep, s.FromStep)
		set(&q.ToStep, s.ToStep)
		set(&q.FromTime, s.FromTime)
		set(&q.ToTime, s.ToTime)
		q.MaxPoints = s.MaxPoints
	}}
}

// SearchSpec holds the SearchOptions of Search; PageSize 0 means
// DefaultPageSize.
type SearchSpec struct {
	PageSize int      `json:"page_size,omitempty"`
	Cursor   string   `json:"cursor,omitempty"`
	Columns  []string `json:"columns,omitempty"`
	Deleted  bool     `json:"deleted,omitempty"`
}

// ResolveSearchOptions returns the SearchSpec of opts.
func ResolveSearchOptions(opts ...SearchOption) SearchSpec {
	c := searchConfig{pageSize: DefaultPageSize}
	for _, o := range opts {
		o(&c)
	}
	return SearchSpec{PageSize: int(c.pageSize), Cursor: c.cursor, Columns: c.columns, Deleted: c.deleted}
}

// Options returns SearchOptions equivalent to s.
func (s SearchSpec) Options() []SearchOption {
	return []SearchOption{func(c *searchConfig) {
		if s.PageSize != 0 {
			c.pageSize = int64(s.PageSize)
		}
		c.cursor, c.columns, c.deleted = s.Cursor, s.Columns, s.Deleted
	}}
}

// jsonFloat is a float64 that JSON carries even when it is NaN or
// infinite: those are the strings "NaN", "+Inf" and "-Inf".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(v) // the shortest form that reads back exactly
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("%w: %s is not a number", ErrInvalidArgument, b)
		}
		*f = jsonFloat(v)
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "+Inf", "Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("%w: %q is not a number", ErrInvalidArgument, s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

type metricPointJSON struct {
	Step  int64     `json:"step"`
	Value jsonFloat `json:"value"`
	Time  time.Time `json:"time"`
}

// MarshalJSON encodes p with a NaN or infinite Value as the string "NaN",
// "+Inf" or "-Inf".
func (p MetricPoint) MarshalJSON() ([]byte, error) {
	// Written by hand: batches of many points go over the wire.
	b := make([]byte, 0, 80)
	b = append(b, `{"step":`...)
	b = strconv.AppendInt(b, p.Step, 10)
	b = append(b, `,"value":`...)
	v, err := jsonFloat(p.Value).MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, v...)
	b = append(b, `,"time":`...)
	t, err := p.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	return append(b, '}'), nil
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (p *MetricPoint) UnmarshalJSON(b []byte) error {
	var j metricPointJSON
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	*p = MetricPoint{Step: j.Step, Value: float64(j.Value), Time: j.Time}
	return nil
}

type metricSummaryJSON struct {
	Key      string    `json:"key"`
	Last     jsonFloat `json:"last"`
	LastStep int64     `json:"last_step"`
	LastTime time.Time `json:"last_time"`
	Min      jsonFloat `json:"min"`
	Max      jsonFloat `json:"max"`
	Count    int64     `json:"count"`
}

// MarshalJSON encodes s with NaN or infinite values as strings, as
// MetricPoint does.
func (s MetricSummary) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricSummaryJSON{s.Key, jsonFloat(s.Last), s.LastStep, s.LastTime, jsonFloat(s.Min), jsonFloat(s.Max), s.Count})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *MetricSummary) UnmarshalJSON(b []byte) error {
	var j metricSummaryJSON
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	*s = MetricSummary{Key: j.Key, Last: float64(j.Last), LastStep: j.LastStep, LastTime: j.LastTime,
		Min: float64(j.Min), Max: float64(j.Max), Count: j.Count}
	return nil
}

// strictJSON decodes b into v refusing unknown fields, as a server decodes
// the requests these values travel in.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// DecodeJSON decodes a JSON value as GetMetadata returns values: integers
// as int64, other numbers as float64, objects as map[string]any.
func DecodeJSON(raw []byte) (any, error) { return decodeJSON(raw) }

// NormalizeNumbers turns the json.Number values in v (decoded with
// UseNumber) into int64 or float64 as DecodeJSON does, in place where it
// can, and returns the result.
func NormalizeNumbers(v any) any { return normalizeNumbers(v) }

// OpenExternalArtifact opens the bytes of an external artifact whose URI
// is a local file (file:// or an absolute path) on this machine, verified
// against its recorded SHA-256 as they are read, as GetArtifact does; any
// other URI is ErrExternalArtifact. A remote client uses it, since a
// server does not hand out files of its own machine.
func OpenExternalArtifact(a Artifact) (io.ReadCloser, error) {
	p, ok := localPath(a.URI)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrExternalArtifact, a.URI)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrExternalArtifact, a.URI, err)
	}
	return &verifyingReader{r: f, c: f, h: sha256.New(), want: a.SHA256, size: a.Size, name: a.Name}, nil
}
