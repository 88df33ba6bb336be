package sqlite

import "github.com/metatrack/metatrack/storage"

// metadataSQL holds the SQLite texts of the statements of metadata.
var metadataSQL = storage.MetadataStatements{
	MetadataOf:     `SELECT value FROM metadata WHERE resource_seq = ? AND key = ?`,
	GetMetadata:    `SELECT m.value FROM metadata m JOIN resources r ON r.seq = m.resource_seq WHERE r.id = ? AND r.deleted_at IS NULL AND m.key = ?`,
	UpsertMetadata: `INSERT INTO metadata (resource_seq,key,value,num,str,run_seq,updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, num = excluded.num, str = excluded.str, run_seq = excluded.run_seq, updated_at = excluded.updated_at`,
	AllMetadataOf:  `SELECT key, value FROM metadata WHERE resource_seq = ? ORDER BY key`,
	MetadataAmong:  storage.RowsText(`SELECT resource_seq, key, value FROM metadata WHERE (resource_seq, key) IN (VALUES `, `(?,?)`, `)`),
	UpsertMetadatas: storage.RowsText(`INSERT INTO metadata (resource_seq,key,value,num,str,run_seq,updated_at) VALUES `, `(?,?,?,?,?,?,?)`,
		` ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, num = excluded.num, str = excluded.str, run_seq = excluded.run_seq, updated_at = excluded.updated_at`),
}
