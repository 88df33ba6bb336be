package storage

// ResourceStatements are the statements of resources, their chains and their
// edges. The statements that read resource rows select the columns of the
// domain's resourceRow: the row, its parent's and run's ids and, for a
// resource under a parent, the parent's unique reference.
type ResourceStatements struct {
	// ResourceBySeq reads a live resource by seq as a resource row. Args:
	// seq.
	ResourceBySeq string
	// ResourceByID reads a live resource by id as a resource row. Args: id.
	ResourceByID string
	// ResourceByVer reads a live chain member by its number as a resource
	// row. Args: type, name, version.
	ResourceByVer string
	// ResourceLatestVersion reads the live chain member with the highest
	// number (after a merge renumbered a chain, numbers and row order may
	// differ) as a resource row. Args: type, name.
	ResourceLatestVersion string
	// ResourceBare reads a live resource by id without the joins for its
	// parent's and run's ids, for calls that only log to it. Args: id.
	ResourceBare string
	// ResourcesBySeqs reads the resources, deleted or not, whose seqs are in
	// a JSON array as a resource rows. Args: the JSON array.
	ResourcesBySeqs string
	// ResourceSelect is the select list of a resource row over resources
	// r and the tables ResourceJoins joins to it (the columns of
	// ResourcesBySeqs), for a search that reads the rows of its page in
	// the statement that finds them (query.Join). No placeholders. An
	// engine whose ParentRefs is set may leave parent_ref NULL where the
	// parent is itself an unversioned child: two levels or more below a
	// chain member or a root.
	ResourceSelect string
	// ParentRefs reads the references of the parents, by seq, that
	// ResourceSelect left NULL: rows (seq, ref) for the parent seqs in a
	// JSON array. Args: the JSON array. Empty when ResourceSelect reads
	// every reference itself.
	ParentRefs string `storage:"optional"`
	// ResourceJoins are the joins after resources r that ResourceSelect
	// reads: the parent's and the run's rows. No placeholders.
	ResourceJoins string
	// PrevVersions lists the live members of a chain numbered below a
	// version, newest first as a resource rows. Args: type, name, version,
	// limit.
	PrevVersions string
	// PrevVersionsByID is PrevVersions for a chain member given by id. Args:
	// id, limit.
	PrevVersionsByID string
	// MaxVersion reads the highest number a chain has used, its purged
	// members included, or 0. Args: type (?1), name (?2).
	MaxVersion string
	// RootByName reads a resource without a parent by type and name, deleted
	// or not as a resource row. Args: type, name.
	RootByName string
	// ChildByName reads a resource that is not a chain member under a parent
	// by type and name, deleted or not as a resource row. Args: parent seq,
	// type, name.
	ChildByName string
	// InsertResource records a resource and returns its seq. Args: id, type,
	// name, version, parent seq, status, attrs JSON, run seq, created at,
	// updated at, started at.
	InsertResource string
	// InsertEdge records a lineage edge unless it exists. Args: source seq,
	// destination seq, relation, run seq, created at.
	InsertEdge string
	// SetStatus sets a resource's status. Args: status, updated at, seq.
	SetStatus string
	// SetStarted sets a resource's start time. Args: started at, updated at,
	// seq.
	SetStarted string
	// SetEnded sets a resource's end time. Args: ended at, updated at, seq.
	SetEnded string
	// SetAttrs replaces a resource's attributes. Args: attrs JSON, updated
	// at, seq.
	SetAttrs string
	// AttrsOf reads a resource's attributes. Args: seq.
	AttrsOf string
	// ByTypeName lists up to 21 live resources of a type and name, oldest
	// first as a resource rows: the candidates of a reference. Args: type,
	// name.
	ByTypeName string
	// ChildVersion reads a live chain member by number under a parent as a
	// resource row. Args: parent seq, type, name, version.
	ChildVersion string
	// ChildLatestVer reads the live chain member with the highest number
	// under a parent as a resource row. Args: parent seq, type, name.
	ChildLatestVer string
	// VersionsOf lists the live members of a chain, by number as a resource
	// rows. Args: head seq.
	VersionsOf string
	// ChainMembers lists the live members of every chain as resource rows,
	// by head seq, then number.
	ChainMembers string
	// ChildrenOf lists the live children of a resource, oldest first as a
	// resource rows. Args: parent seq.
	ChildrenOf string
	// ChildrenOfType is ChildrenOf for children of one type. Args: parent
	// seq, type.
	ChildrenOfType string
	// AllResources lists every live resource, oldest first as a resource
	// rows.
	AllResources string
	// ResourcesOfType lists the live resources of a type, oldest first as a
	// resource rows. Args: type.
	ResourcesOfType string
	// ChainHeads lists the live resources that head a chain with live
	// members, oldest first as a resource rows.
	ChainHeads string
	// SeqByID reads the seq of a live resource. Args: id.
	SeqByID string
	// FilteredPrevVersions returns PrevVersions with conditions: on the
	// resource's status (when status), on tags (tags pairs of key and
	// value) and, when where is not "", a condition the query language
	// compiled for the engine's dialect. Args: type, name, version, the
	// status, each tag's key and value, where's args, limit.
	FilteredPrevVersions func(status bool, tags int, where string) string
}
