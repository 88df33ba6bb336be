package storage

// ArtifactStatements are the statements of artifacts and of the
// deduplicated, chunked blobs that hold their bytes.
type ArtifactStatements struct {
	// ArtifactByName reads an artifact of a resource by name. Args: resource
	// seq, name.
	ArtifactByName string
	// LatestOfKind reads the newest artifact of a kind and check type of a
	// resource. Args: resource seq, kind, check type.
	LatestOfKind string
	// BlobBySHA reads the seq of the complete blob of a SHA-256. Args: hex
	// SHA-256.
	BlobBySHA string
	// InsertBlob starts a staged (unfinished) blob and returns its seq. Args:
	// chunk size, created at.
	InsertBlob string
	// InsertChunk stores a chunk of a blob. Args: blob seq, index, bytes.
	InsertChunk string
	// FinishBlob completes a staged blob. Args: hex SHA-256, size, seq.
	FinishBlob string
	// DeleteBlob removes a staged blob (its chunks go with it). Args: seq.
	DeleteBlob string
	// TouchBlob renews a staged blob's time, so that GC leaves an upload in
	// progress alone. Args: created at, seq.
	TouchBlob string
	// BlobExists counts the complete blob of a seq (0 or 1). Args: seq.
	BlobExists string
	// Chunk reads the bytes of a chunk. Args: blob seq, index.
	Chunk string
	// UpsertArtifact records an artifact, replacing the one of its name.
	// Args: id, resource seq, name, kind, check type, media type, size, hex
	// SHA-256, blob seq, URI, source path, run seq, created at.
	UpsertArtifact string
	// ArtifactsOf lists the artifacts of a resource, oldest first. Args:
	// resource seq.
	ArtifactsOf string
	// ArtifactsOfKind is ArtifactsOf for one kind. Args: resource seq, kind.
	ArtifactsOfKind string
}
