package storage

// PurgeStatements are the statements of PurgeDeleted, which removes deleted
// resources for good. The seqs of the resources purged travel as one JSON
// array, the first argument (?1) of every statement that names them.
type PurgeStatements struct {
	// PurgeCandidates lists the resources deleted at or before a time and
	// everything under them by parent, deleted or not, oldest first, as
	// resource rows. Args: the time.
	PurgeCandidates string
	// PurgeCounts counts, as artifacts and changes, the artifacts and the
	// change-log entries of the resources. Args: the seqs.
	PurgeCounts string
	// PurgeRows delete the rows that hang on the resources: tags,
	// metadata, version-control records, attribute values, edges and
	// deployments (which name them at either end), aliases, artifacts and
	// history. Args: the seqs.
	PurgeRows []string
	// InsertPurged keeps the record of a purged resource unless it is kept
	// already. Args: id, type, name, version, parent id, created at,
	// deleted at, purged at, run seq.
	InsertPurged string
	// PurgeResources deletes the resources, children before parents, in one
	// statement (its constraints are checked at its end). Args: the seqs.
	PurgeResources string
}
