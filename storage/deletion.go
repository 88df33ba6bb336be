package storage

// DeletionStatements are the statements of deletion and restore: subtrees,
// what blocks a deletion, and deleted resources found again.
type DeletionStatements struct {
	// Subtree lists the seqs of a resource and its live descendants. Args:
	// seq (?1).
	Subtree string
	// DeletedSubtree lists the seqs of a resource and its descendants deleted
	// with it. Args: seq (?1), deleted at (?2).
	DeletedSubtree string
	// DeployedIn reads one open deployment, as version seq and environment,
	// of the versions whose seqs are in a JSON array. Args: the JSON array.
	DeployedIn string
	// AliasesToSeqs lists the aliases that point to the resources whose seqs
	// are in a JSON array. Args: the JSON array.
	AliasesToSeqs string
	// SetDeleted marks a resource deleted, or (NULL) restores it. Args:
	// deleted at, seq.
	SetDeleted string
	// ResourceBySeqAny reads a resource by seq, deleted or not as a resource
	// row. Args: seq.
	ResourceBySeqAny string
	// DeletedByID reads a deleted resource by id as a resource row. Args: id.
	DeletedByID string
	// DeletedByVer reads a deleted chain member by number as a resource row.
	// Args: type, name, version.
	DeletedByVer string
	// DeletedLatest reads the newest deleted resource of a type and name as a
	// resource row. Args: type, name.
	DeletedLatest string
	// RemovedAliasesAt lists the aliases a deletion removed from a resource,
	// as key and old value, from the change log. Args: resource seq, at.
	RemovedAliasesAt string
	// DeleteMetadataKey removes a metadata value. Args: resource seq, key.
	DeleteMetadataKey string
}
