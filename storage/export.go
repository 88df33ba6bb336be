package storage

// ExportStatements are the statements of an export (package portable): one
// ExportSection per kind of record, in the order of the file, and what a
// filtered export needs to compute the resources it holds.
//
// The statements of a filtered export take one argument, the selection: a
// JSON object {"set": [...], "stubs": [...]} with the seqs of the exported
// resources and of the earlier chain members exported bare.
type ExportStatements struct {
	// Selection returns the statement that lists, by seq, the resources a
	// filtered export holds: those that where selects (a condition on
	// resources r, compiled by the engine's dialect; the args are its
	// args) and their ancestors through the parent chain, and with lineage
	// also the sources of the edges into them and the winning experiments
	// of the model versions among them, to the closure.
	Selection func(where string, lineage bool) string
	// Stubs lists, by seq, the earlier members of the chains of the
	// selected chain members that the selection lacks. Args: the
	// selection (its stubs empty).
	Stubs string
	// SchemaVersion reads the latest migration applied.
	SchemaVersion string
	// ChunkData reads the bytes of one chunk of a blob. Args: blob seq, index.
	ChunkData string
	// BlobStored counts 1 when a blob with that seq and hash is stored.
	// Args: blob seq, SHA-256.
	BlobStored string
	// MetricBlocks lists the first ord of the sealed blocks of a series,
	// in order. Args: series seq.
	MetricBlocks string

	// BlobRecords lists stored blobs as seq, sha256, size, chunk_size,
	// created_at, number of chunks; its counts are of the blobs and their
	// chunks.
	BlobRecords ExportSection
	// RunRecords lists runs as id, name, host, username, pid, status, error,
	// started_at, ended_at.
	RunRecords ExportSection
	// ResourceRecords lists resources, parents first, as id, type, name,
	// version, parent id, status, attrs, run id, created_at, updated_at,
	// started_at, ended_at, deleted_at.
	ResourceRecords ExportSection
	// TagRecords lists tags as resource id, key, value, run id, updated_at.
	TagRecords ExportSection
	// MetadataRecords lists metadata as resource id, key, value, run id,
	// updated_at.
	MetadataRecords ExportSection
	// VCInfoRecords lists version-control records as resource id, key, info,
	// extra, run id, updated_at.
	VCInfoRecords ExportSection
	// ArtifactRecords lists artifacts as id, resource id, name, kind,
	// check_type, media_type, size, sha256, blob seq, blob sha256, uri,
	// source_path, run id, created_at.
	ArtifactRecords ExportSection
	// EdgeRecords lists edges as source id, relation, destination id, run id,
	// created_at.
	EdgeRecords ExportSection
	// DeploymentRecords lists deployments as id, model id, version id,
	// environment, deployed_at, undeployed_at, run id.
	DeploymentRecords ExportSection
	// AliasRecords lists aliases as head id, name, version id, run id,
	// updated_at.
	AliasRecords ExportSection
	// PurgedRecords lists purged chain members as id, type, name, version,
	// parent id, created_at, deleted_at, purged_at, run id.
	PurgedRecords ExportSection
	// HistoryRecords lists history entries as id, resource id, at, run id,
	// actor, kind, key, old_value, new_value.
	HistoryRecords ExportSection
	// MetricRecords lists metric series as seq, resource id or '', run id or
	// '', key; its counts are of the sealed blocks and the tails.
	MetricRecords ExportSection
}

// ExportSection is one kind of record of an export: its rows in the order
// of the file and the number of records they make, of the whole store
// (All, AllCount; no args) and of a selection (Selected, SelectedCount;
// args: the selection).
type ExportSection struct {
	All, AllCount, Selected, SelectedCount string
}
