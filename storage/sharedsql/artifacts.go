package sharedsql

import "github.com/metatrack/metatrack/storage"

// Artifact holds the statements of artifacts and of the deduplicated,
// chunked blobs that hold their bytes, the same on both engines.
var Artifact = storage.ArtifactStatements{
	ArtifactByName: `SELECT a.seq, a.id, r.id AS resource_id, a.name, a.kind, a.check_type, a.media_type, a.size, a.sha256, a.blob_seq, b.chunk_size, a.uri, a.source_path, run.id AS run_id, a.created_at FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.resource_seq = ? AND a.name = ?`,
	LatestOfKind:   `SELECT a.seq, a.id, r.id AS resource_id, a.name, a.kind, a.check_type, a.media_type, a.size, a.sha256, a.blob_seq, b.chunk_size, a.uri, a.source_path, run.id AS run_id, a.created_at FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.resource_seq = ? AND a.kind = ? AND a.check_type = ? ORDER BY a.seq DESC LIMIT 1`,
	BlobBySHA:      `SELECT seq FROM blobs WHERE sha256 = ?`,
	InsertBlob:     `INSERT INTO blobs (chunk_size,created_at) VALUES (?,?) RETURNING seq`,
	InsertChunk:    `INSERT INTO blob_chunks (blob_seq,idx,data) VALUES (?,?,?)`,
	FinishBlob:     `UPDATE blobs SET sha256 = ?, size = ? WHERE seq = ?`,
	DeleteBlob:     `DELETE FROM blobs WHERE seq = ? AND sha256 IS NULL`,
	TouchBlob:      `UPDATE blobs SET created_at = ? WHERE seq = ? AND sha256 IS NULL`,
	BlobExists:     `SELECT count(*) FROM blobs WHERE seq = ? AND sha256 IS NOT NULL`,
	Chunk:          `SELECT data FROM blob_chunks WHERE blob_seq = ? AND idx = ?`,
	UpsertArtifact: `INSERT INTO artifacts (id,resource_seq,name,kind,check_type,media_type,size,sha256,blob_seq,uri,source_path,run_seq,created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (resource_seq, name) DO UPDATE SET kind = excluded.kind, check_type = excluded.check_type,
			media_type = excluded.media_type, size = excluded.size, sha256 = excluded.sha256,
			blob_seq = excluded.blob_seq, uri = excluded.uri, source_path = excluded.source_path,
			run_seq = excluded.run_seq, created_at = excluded.created_at`,
	ArtifactsOf:     `SELECT a.seq, a.id, r.id AS resource_id, a.name, a.kind, a.check_type, a.media_type, a.size, a.sha256, a.blob_seq, b.chunk_size, a.uri, a.source_path, run.id AS run_id, a.created_at FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.resource_seq = ? ORDER BY a.seq`,
	ArtifactsOfKind: `SELECT a.seq, a.id, r.id AS resource_id, a.name, a.kind, a.check_type, a.media_type, a.size, a.sha256, a.blob_seq, b.chunk_size, a.uri, a.source_path, run.id AS run_id, a.created_at FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.resource_seq = ? AND a.kind = ? ORDER BY a.seq`,
}
