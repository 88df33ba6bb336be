package storage

// ImportStatements are the statements of an import (package portable):
// the lookups by global id and natural key that reconcile a file's records
// with the store, and the writes that add or update them.
type ImportStatements struct {
	// ResourceRowBySeq reads a resource row (resRow) by seq. Args: seq.
	ResourceRowBySeq string
	// MergeAlias sets an alias unless the store holds a later one. Args: head seq, name, version seq, run seq, updated at.
	MergeAlias string
	// SetAlias sets an alias, replacing it. Args: head seq, name, version seq, run seq, updated at.
	SetAlias string
	// AddPurged records a purged chain member once. Args: id, type, name, version, parent id, created at, deleted at, purged at, run seq.
	AddPurged string
	// DeletedFromHistory sets deleted_at of the resources in a set from the latest deletion or restore in their history. Args: the seqs, a JSON array.
	DeletedFromHistory string
	// Orphans lists live resources whose parent is deleted, as seq, id, the parent's deleted_at and id.
	Orphans string
	// SetDeletedAt marks a resource deleted. Args: deleted at, seq.
	SetDeletedAt string
	// LatestAliasChanges lists the latest alias change of each alias of the heads in a set. Args: the head seqs, a JSON array.
	LatestAliasChanges string
	// LiveVersionOf reads the seq of a live version of a head by id. Args: id, head seq.
	LiveVersionOf string
	// DropAlias removes an alias. Args: head seq, name.
	DropAlias string
	// DropAliasesToDeleted removes the aliases that point to deleted versions.
	DropAliasesToDeleted string
	// DeletedDeployed lists deleted resources with an open deployment, with the last deployment time.
	DeletedDeployed string
	// RestoreSet lists the deleted ancestors of a resource and what was deleted with it. Args: seq, its deleted at.
	RestoreSet string
	// ResourceID reads the id of a resource. Args: seq.
	ResourceID string
	// ClearDeletedAt restores a resource. Args: seq.
	ClearDeletedAt string
	// HasDeleted counts 1 when any resource is deleted, else 0.
	HasDeleted string
	// BlobSeqBySHA reads the seq of a stored blob. Args: SHA-256.
	BlobSeqBySHA string
	// StageBlob creates a staging blob and returns its seq. Args: chunk size, created at.
	StageBlob string
	// AddChunk stores one chunk of a blob. Args: blob seq, index, bytes.
	AddChunk string
	// DeleteChunks removes the chunks of a blob. Args: blob seq.
	DeleteChunks string
	// DeleteStagedBlob removes a staging blob. Args: blob seq.
	DeleteStagedBlob string
	// AddDryBlob records a blob of a dry run. Args: SHA-256, size, chunk size, created at.
	AddDryBlob string
	// SealBlob makes a staging blob visible. Args: SHA-256, size, created at, seq.
	SealBlob string
	// EarlierBlob moves the creation of a blob to an earlier time. Args: created at, SHA-256, created at.
	EarlierBlob string
	// DeleteStagedChunks removes the chunks of a blob that is still staging. Args: blob seq, blob seq.
	DeleteStagedChunks string
	// ResourceSeq reads the seq of a resource by id. Args: id.
	ResourceSeq string
	// RunSeq reads the seq of a run by id. Args: id.
	RunSeq string
	// RunID reads the id of a run. Args: seq.
	RunID string
	// NoteHistory records a change the import derives, once. Args: id, resource seq, at, kind, key, old value, new value.
	NoteHistory string
	// RunRowByID reads a run row by id. Args: id.
	RunRowByID string
	// AddRun adds a run and returns its seq. Args: id, name, host, user, pid, status, error, started at, ended at.
	AddRun string
	// UpdateRun sets the outcome of a run. Args: status, error, ended at, seq.
	UpdateRun string
	// ResourceRowByID reads a resource row by id. Args: id.
	ResourceRowByID string
	// ChainMemberSeq reads the seq of a chain member by number. Args: type, name, version.
	ChainMemberSeq string
	// ChildRowByName reads the resource row of a child by name. Args: parent seq, type, name.
	ChildRowByName string
	// RootRowByName reads the resource row of a root by name. Args: type, name.
	RootRowByName string
	// AddResource adds a resource. Args: id, type, name, version, parent seq, status, attrs, run seq, created at, updated at, started at, ended at, deleted at.
	AddResource string
	// AdoptResource gives a resource another identity. Args: id, created at, run seq, seq.
	AdoptResource string
	// UpdateResourceState sets the state of a resource. Args: status, attrs, started at, ended at, updated at, seq.
	UpdateResourceState string
	// ChainFrom lists the resource rows of a chain from a number, by creation. Args: type, name, version.
	ChainFrom string
	// PurgedFrom lists the numbers of purged members of a chain from a number. Args: type, name, version.
	PurgedFrom string
	// Renumber sets the number of a chain member. Args: version, seq.
	Renumber string
	// TagEntryOf reads a tag as a, b, run_seq, updated_at. Args: resource seq, key.
	TagEntryOf string
	// AddTag adds a tag. Args: resource seq, key, value, run seq, updated at.
	AddTag string
	// UpdateTag sets a tag. Args: value, run seq, updated at, resource seq, key.
	UpdateTag string
	// MetadataEntryOf reads a metadata entry as a, b, run_seq, updated_at. Args: resource seq, key.
	MetadataEntryOf string
	// AddMetadata adds a metadata entry. Args: resource seq, key, value, num, str, run seq, updated at.
	AddMetadata string
	// UpdateMetadata sets a metadata entry. Args: value, num, str, run seq, updated at, resource seq, key.
	UpdateMetadata string
	// VCInfoEntryOf reads a version-control record as a, b, run_seq, updated_at. Args: resource seq, key.
	VCInfoEntryOf string
	// AddVCInfo adds a version-control record. Args: resource seq, key, info, extra, run seq, updated at.
	AddVCInfo string
	// UpdateVCInfo sets a version-control record. Args: info, extra, run seq, updated at, resource seq, key.
	UpdateVCInfo string
	// DropTombstonedTags removes the tags whose removal the history records after their value.
	DropTombstonedTags string
	// BlobSize reads the seq and size of a stored blob. Args: SHA-256.
	BlobSize string
	// ArtifactRowByID reads an artifact row by id. Args: id.
	ArtifactRowByID string
	// ArtifactRowByName reads an artifact row by resource and name. Args: resource seq, name.
	ArtifactRowByName string
	// AddArtifact adds an artifact. Args: id, resource seq, name, kind, check type, media type, size, SHA-256, blob seq, uri, source path, run seq, created at.
	AddArtifact string
	// UpdateArtifact replaces an artifact. Args: id, kind, check type, media type, size, SHA-256, blob seq, uri, source path, run seq, created at, seq.
	UpdateArtifact string
	// EdgeOf reads an edge. Args: src seq, relation, dst seq.
	EdgeOf string
	// UpdateEdge sets the creation of an edge. Args: created at, run seq, src seq, relation, dst seq.
	UpdateEdge string
	// EdgeFrom reads the edge of a relation from a resource. Args: src seq, relation.
	EdgeFrom string
	// DeleteEdge removes an edge. Args: src seq, relation, dst seq.
	DeleteEdge string
	// AddEdge adds an edge. Args: src seq, dst seq, relation, run seq, created at.
	AddEdge string
	// DeploymentShape reads the parent and type of a version and the type of a model. Args: version seq, model seq.
	DeploymentShape string
	// DeploymentByID reads a deployment row by id. Args: id.
	DeploymentByID string
	// Undeploy closes a deployment. Args: undeployed at, seq.
	Undeploy string
	// OpenDeployment reads the open deployment of a model in an environment. Args: model seq, environment.
	OpenDeployment string
	// AddDeployment adds a deployment. Args: id, model seq, version seq, environment, deployed at, undeployed at, run seq.
	AddDeployment string
	// OpenDeployments counts the open deployments of a version. Args: version seq.
	OpenDeployments string
	// Demote sets a version DEMOTED. Args: updated at, seq.
	Demote string
	// HistoryKnown counts the history entries with an id, or the same change under a derived id. Args: id, resource seq, kind, key, at, run seq, old value, new value.
	HistoryKnown string
	// AddHistory adds a history entry once. Args: id, resource seq, at, run seq, actor, kind, key, old value, new value.
	AddHistory string
	// ResourceType reads the type of a resource. Args: seq.
	ResourceType string
	// ExperimentShape reads the type, name and parent of a resource and the type of its parent. Args: seq.
	ExperimentShape string
	// ChainShape lists the members of a chain by number, with whether each hangs under its head by a version edge (shape). Args: type, name.
	ChainShape string
	// PurgedVersions lists the numbers of the purged members of a chain. Args: type, name.
	PurgedVersions string
}
