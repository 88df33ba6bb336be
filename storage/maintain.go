package storage

import (
	"fmt"
	"time"
)

// What a Verifier reports and a Collector removes: the types are the same
// on every engine that offers them.

// Kinds of Problem that Verify reports.
const (
	// ProblemIntegrity: the engine's integrity check failed, or the store is
	// too damaged to read.
	ProblemIntegrity = "integrity"
	// ProblemForeignKey: a row refers to a row that does not exist.
	ProblemForeignKey = "foreign_key"
	// ProblemBlob: stored artifact bytes do not match their SHA-256 or
	// size, or chunks are missing or of the wrong size.
	ProblemBlob = "blob"
	// ProblemArtifact: an artifact has no bytes and no URI, or its blob is
	// missing, incomplete or of another hash or size.
	ProblemArtifact = "artifact"
	// ProblemChain: a version chain is not numbered 1..n without gaps, a
	// chain member's parent is not its chain head, or the version edge
	// from the head is missing.
	ProblemChain = "chain"
	// ProblemDeployment: more than one open deployment of a model in an
	// environment, a deployment of a version of another model, one that
	// ends before it starts, or a model version whose status disagrees with
	// its deployments (DEPLOYED with none open, or open ones and another
	// status).
	ProblemDeployment = "deployment"
	// ProblemSchema: the store's schema is not the one its version
	// defines: a view, a trigger, a function, or a table, column,
	// constraint or index that metatrack's migrations did not create, or
	// one of theirs missing or changed.
	ProblemSchema = "schema"
	// ProblemJSON: a stored JSON value (attributes, metadata, a
	// version-control record, a history value) is not valid JSON.
	ProblemJSON = "json"
	// ProblemAlias: an alias points to a resource that is not a version of
	// its chain, or to a deleted one.
	ProblemAlias = "alias"
	// ProblemDeleted: a live resource hangs under a deleted parent, or a
	// deleted model version is deployed.
	ProblemDeleted = "deleted"
)

// MaxProblems is how many problems a Report lists; it counts the rest.
const MaxProblems = 1000

// Problem is one thing Verify found wrong.
type Problem struct {
	// Kind is one of the Problem* constants.
	Kind string
	// What names the record: "blob <sha256>", "chain model_version/m",
	// "artifact model.json of <resource id>", ...
	What string
	// Detail says what is wrong with it. For damaged bytes it ends with
	// the artifacts that hold them ("; it breaks model.json of
	// model_version/m@2 (<id>)").
	Detail string
	// Hits lists, for a damaged blob, every artifact whose bytes it holds
	// (deduplication shares one blob between artifacts of equal bytes), so
	// that the damage is named by what it breaks, not by a hash.
	Hits []Hit
}

// Hit is an artifact, and its resource, that a damaged blob breaks.
type Hit struct {
	// Artifact is the artifact's name, ArtifactID its id.
	Artifact, ArtifactID string
	// ResourceID is the id of the artifact's resource; ResourceRef is its
	// unique reference (type/name@version, <parent ref>/type/name under a
	// parent, type/name for a root), or type/<id> when it has no name.
	ResourceID, ResourceRef string
}

// String returns the hit as "<artifact> of <ref> (<resource id>)".
func (h Hit) String() string { return h.Artifact + " of " + h.ResourceRef + " (" + h.ResourceID + ")" }

// String returns the problem as kind: what: detail.
func (p Problem) String() string { return p.Kind + ": " + p.What + ": " + p.Detail }

// Report is the result of Verify.
type Report struct {
	// Problems lists up to MaxProblems problems, in the order found.
	Problems []Problem
	// Omitted counts the problems beyond MaxProblems.
	Omitted int
	// What was checked: resources, complete blobs and their bytes.
	Resources, Blobs, Bytes int64
}

// OK reports whether Verify found nothing wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// Add adds a problem to r, or counts it beyond MaxProblems.
func (r *Report) Add(kind, what, format string, args ...any) {
	if len(r.Problems) >= MaxProblems {
		r.Omitted++
		return
	}
	r.Problems = append(r.Problems, Problem{Kind: kind, What: what, Detail: fmt.Sprintf(format, args...)})
}

// ProblemMetric: a metric series' blocks do not decode, or its summaries,
// counts or tail disagree with its points.
const ProblemMetric = "metric"

// ProblemAttrIndex: the index of attributes (attr_values, which a trigger
// keeps) lacks a top-level key of a resource's attrs, holds one the attrs
// do not, or holds another value, so that filters on attrs.<key> answer
// wrong.
const ProblemAttrIndex = "attr_index"

// ProblemHistory: a change-log entry has no id (by which imports and
// merges recognise it).
const ProblemHistory = "history"

// DefaultStagedAge is how old an unfinished upload must be before GC
// removes it. An upload is staged from its first chunk to the transaction
// that records its artifact, which for a very large file on a slow disk
// takes long; a day leaves uploads in progress, in any process, alone.
const DefaultStagedAge = 24 * time.Hour

// GCOptions configure GC.
type GCOptions struct {
	// DryRun counts what GC would remove and removes nothing.
	DryRun bool
	// StagedAge: staged (unfinished) uploads begun longer ago than this
	// are abandoned and removed. Zero means DefaultStagedAge.
	StagedAge time.Duration
	// Now is the clock StagedAge is measured with. Nil means time.Now.
	Now func() time.Time
	// Progress, if set, is called after each blob with the number of
	// blobs handled and the number to handle.
	Progress func(done, total int64)
}

// GCStats say what GC removed, or would remove in a dry run.
type GCStats struct {
	// Blobs counts stored artifact contents no artifact refers to any
	// more (an artifact logged again under its name leaves its old bytes).
	Blobs int64
	// Staged counts abandoned uploads; KeptStaged those younger than
	// StagedAge, left alone.
	Staged, KeptStaged int64
	// Chunks and Bytes are the chunks and bytes of both.
	Chunks, Bytes int64
	// FreeBytes is the size of the free pages in the file after GC (before
	// it, in a dry run): what Vacuum would give back to the file system.
	FreeBytes int64
	// MetricBlocks counts the metric blocks merged into fuller ones (many
	// small LogMetrics calls leave small blocks); MetricSeries the series
	// they belong to.
	MetricBlocks, MetricSeries int64
}
