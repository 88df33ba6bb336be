package portable

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Format and Version are the format name and version that the header line
// of an export carries. Import reads versions up to Version.
const (
	Format  = "metatrack-export"
	Version = 3
)

// MaxLineBytes is the longest line Import accepts. The largest records are
// history entries, which carry two values of up to 16 MiB each.
const MaxLineBytes = 64 << 20

// Kinds of record, in the order an export writes them. Import requires this
// order: a record may follow records of its own kind or of an earlier one.
const (
	KindBlob       = "blob"
	KindChunk      = "chunk"
	KindRun        = "run"
	KindResource   = "resource"
	KindTag        = "tag"
	KindMetadata   = "metadata"
	KindVCInfo     = "vc_info"
	KindArtifact   = "artifact"
	KindEdge       = "edge"
	KindDeployment = "deployment"
	KindAlias      = "alias"
	KindPurged     = "purged"
	KindHistory    = "history"
	KindEnd        = "end"
)

// rank orders the kinds; blob and chunk records interleave.
var rank = map[string]int{
	KindBlob: 1, KindChunk: 1, KindRun: 2, KindResource: 3, KindTag: 4, KindMetadata: 5,
	KindVCInfo: 6, KindArtifact: 7, KindEdge: 8, KindDeployment: 9, KindAlias: 10, KindPurged: 11, KindHistory: 12, KindMetric: 13,
	KindEnd: 14,
}

// Kinds of change that Import records in the history of a resource when it
// reconciles two files. They come beside the kinds the tracker records.
const (
	// ChangeRenumbered: a chain member got another version number because
	// both files numbered different members the same. Key is "version",
	// old and new values are the numbers.
	ChangeRenumbered = "renumbered"
	// ChangeUnified: two resources with different ids but the same name
	// (two roots of one type, or two children of one parent) became one.
	// Old is {"id": the id that was given up}, new {"id": the id kept}.
	ChangeUnified = "unified"
	// Deployments closed to keep one open per model and environment are
	// recorded as the tracker records them: "undeployed" on the version and
	// its model, and a "status" change to DEMOTED on the version.
	changeUndeployed = "undeployed"
	changeStatus     = "status"
)

// ErrInvalid is matched by every error about the content of an export file:
// malformed or truncated lines, unknown kinds or fields, records out of
// order, references to records that are neither in the file nor in the
// database, bytes that do not match their hash, and records that contradict
// the database (the same id naming two different resources).
var ErrInvalid = errors.New("invalid export file")

// LineError is an error about one line of an export file. It matches
// ErrInvalid and the error it wraps.
type LineError struct {
	// Line is the 1-based line number; the header is line 1. 0 when the
	// error is about the file as a whole.
	Line int
	// Kind is the kind of the record on that line, when known.
	Kind string
	// Row names the record by its key ("id 0190…", "resource 0190…, key
	// \"auc\""), when known.
	Row string
	// Table is set by Merge: the table of the other database file that
	// the record came from. The error then names the table and row
	// instead of a line of the export piped between the files.
	Table string
	Err   error
}

// tables are the tables that records of each kind come from.
var tables = map[string]string{
	KindBlob: "blobs", KindChunk: "blob_chunks", KindRun: "runs", KindResource: "resources", KindTag: "tags",
	KindMetadata: "metadata", KindVCInfo: "vc_info", KindArtifact: "artifacts", KindEdge: "edges",
	KindDeployment: "deployments", KindHistory: "history", KindMetric: "metric_series",
}

// Error names the line and the record kind, or the table and row.
func (e *LineError) Error() string {
	switch {
	case e.Table != "" && e.Row != "":
		return fmt.Sprintf("%v: table %s, row %s: %v", ErrInvalid, e.Table, e.Row, e.Err)
	case e.Table != "":
		return fmt.Sprintf("%v: table %s: %v", ErrInvalid, e.Table, e.Err)
	case e.Line == 0:
		return fmt.Sprintf("%v: %v", ErrInvalid, e.Err)
	case e.Kind != "":
		return fmt.Sprintf("%v: line %d (%s): %v", ErrInvalid, e.Line, e.Kind, e.Err)
	}
	return fmt.Sprintf("%v: line %d: %v", ErrInvalid, e.Line, e.Err)
}

// Unwrap returns ErrInvalid and the cause.
func (e *LineError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Progress is told how far a long operation has got: done of total units
// (records for Export, Import and Merge). total is 0 when unknown.
type Progress func(done, total int64)

// Stats describe what an export or import moved.
type Stats struct {
	// Records is the number of records (lines between the header and the
	// end record).
	Records int64 `json:"records"`
	// Kinds counts the records by kind.
	Kinds map[string]int64 `json:"kinds"`
	// Bytes is the number of artifact bytes written or read.
	Bytes int64 `json:"artifact_bytes"`
	// Import only: records that added a row, and records that changed an
	// existing row; the others were already there.
	Added   int64 `json:"added"`
	Updated int64 `json:"updated"`
	// Import only: chain members renumbered, resources unified with one of
	// the same name, and deployments closed because a later one opened in
	// the same model and environment.
	Renumbered int64 `json:"renumbered"`
	Unified    int64 `json:"unified"`
	Closed     int64 `json:"deployments_closed"`
	// Import only: each number a chain member lost, oldest chain first:
	// references people wrote down with the old number now name another
	// member, or none.
	Renumberings []Renumbering `json:"renumberings"`
	// DryRun: the import ran in a transaction that was rolled back; the
	// counts say what it would have done.
	DryRun bool `json:"dry_run"`
}

// Renumbering is one version number a chain member gave up in an import:
// the member (ID, Type, Name) was Old and is now New.
type Renumbering struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	Old  int64  `json:"old"`
	New  int64  `json:"new"`
	// Incoming reports whether Old was the number in the imported file;
	// otherwise it was the number in the importing database.
	Incoming bool `json:"incoming"`
}

func (s *Stats) count(kind string) {
	s.Records++
	if s.Kinds == nil {
		s.Kinds = map[string]int64{}
	}
	s.Kinds[kind]++
}

// The records. Times are UTC milliseconds since the Unix epoch. Optional
// fields are omitted when NULL (numbers, raw JSON) or empty (text).

type headerRec struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	Schema    int64  `json:"schema"`
	CreatedAt int64  `json:"created_at"`
	Filter    string `json:"filter,omitempty"`
	Records   int64  `json:"records"`
}

type endRec struct {
	Kind    string `json:"kind"`
	Records int64  `json:"records"`
}

type blobRec struct {
	Kind      string `json:"kind"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	ChunkSize int64  `json:"chunk_size"`
	Chunks    int64  `json:"chunks"`
	CreatedAt int64  `json:"created_at"`
}

type chunkRec struct {
	Kind string `json:"kind"`
	Blob string `json:"blob"`
	Idx  int64  `json:"idx"`
	Data []byte `json:"data"`
}

type runRec struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Host      string `json:"host,omitempty"`
	User      string `json:"user,omitempty"`
	PID       int64  `json:"pid,omitempty"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	StartedAt int64  `json:"started_at"`
	EndedAt   *int64 `json:"ended_at,omitempty"`
}

type resourceRec struct {
	Kind      string          `json:"kind"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	Version   *int64          `json:"version,omitempty"`
	Parent    string          `json:"parent,omitempty"`
	Status    string          `json:"status,omitempty"`
	Attrs     json.RawMessage `json:"attrs,omitempty"`
	Run       string          `json:"run,omitempty"`
	CreatedAt int64           `json:"created_at"`
	UpdatedAt int64           `json:"updated_at"`
	StartedAt *int64          `json:"started_at,omitempty"`
	EndedAt   *int64          `json:"ended_at,omitempty"`
	DeletedAt *int64          `json:"deleted_at,omitempty"`
}

// aliasRec is an alias: name of the chain head head points to version.
type aliasRec struct {
	Kind      string `json:"kind"`
	Head      string `json:"head"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Run       string `json:"run,omitempty"`
	UpdatedAt int64  `json:"updated_at"`
}

// purgedRec is a resource purged for good (gc --purge-deleted).
type purgedRec struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Name      string `json:"name"`
	Version   *int64 `json:"version,omitempty"`
	Parent    string `json:"parent,omitempty"`
	CreatedAt int64  `json:"created_at"`
	DeletedAt int64  `json:"deleted_at"`
	PurgedAt  int64  `json:"purged_at"`
	Run       string `json:"run,omitempty"`
}

type tagRec struct {
	Kind      string `json:"kind"`
	Resource  string `json:"resource"`
	Key       string `json:"key"`
	Value     string `json:"value"`
	Run       string `json:"run,omitempty"`
	UpdatedAt int64  `json:"updated_at"`
}

type metadataRec struct {
	Kind      string          `json:"kind"`
	Resource  string          `json:"resource"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Run       string          `json:"run,omitempty"`
	UpdatedAt int64           `json:"updated_at"`
}

type vcInfoRec struct {
	Kind      string          `json:"kind"`
	Resource  string          `json:"resource"`
	Key       string          `json:"key"`
	Info      json.RawMessage `json:"info"`
	Extra     json.RawMessage `json:"extra,omitempty"`
	Run       string          `json:"run,omitempty"`
	UpdatedAt int64           `json:"updated_at"`
}

type artifactRec struct {
	Kind         string `json:"kind"`
	ID           string `json:"id"`
	Resource     string `json:"resource"`
	Name         string `json:"name"`
	ArtifactKind string `json:"artifact_kind"`
	CheckType    string `json:"check_type,omitempty"`
	MediaType    string `json:"media_type,omitempty"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256,omitempty"`
	Blob         string `json:"blob,omitempty"`
	URI          string `json:"uri,omitempty"`
	SourcePath   string `json:"source_path,omitempty"`
	Run          string `json:"run,omitempty"`
	CreatedAt    int64  `json:"created_at"`
}

type edgeRec struct {
	Kind      string `json:"kind"`
	Src       string `json:"src"`
	Relation  string `json:"relation"`
	Dst       string `json:"dst"`
	Run       string `json:"run,omitempty"`
	CreatedAt int64  `json:"created_at"`
}

type deploymentRec struct {
	Kind         string `json:"kind"`
	ID           string `json:"id"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	Environment  string `json:"environment"`
	DeployedAt   int64  `json:"deployed_at"`
	UndeployedAt *int64 `json:"undeployed_at,omitempty"`
	Run          string `json:"run,omitempty"`
}

type historyRec struct {
	Kind     string          `json:"kind"`
	ID       string          `json:"id"`
	Resource string          `json:"resource"`
	At       int64           `json:"at"`
	Run      string          `json:"run,omitempty"`
	Actor    string          `json:"actor,omitempty"`
	Change   string          `json:"change"`
	Key      string          `json:"key,omitempty"`
	Old      json.RawMessage `json:"old,omitempty"`
	New      json.RawMessage `json:"new,omitempty"`
}
