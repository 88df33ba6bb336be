package sqlite

import "github.com/metatrack/metatrack/storage"

// tagSQL holds the SQLite texts of the statements of tags.
var tagSQL = storage.TagStatements{
	TagOf:     `SELECT value FROM tags WHERE resource_seq = ? AND key = ?`,
	GetTag:    `SELECT t.value FROM tags t JOIN resources r ON r.seq = t.resource_seq WHERE r.id = ? AND r.deleted_at IS NULL AND t.key = ?`,
	UpsertTag: `INSERT INTO tags (resource_seq,key,value,run_seq,updated_at) VALUES (?,?,?,?,?) ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, run_seq = excluded.run_seq, updated_at = excluded.updated_at`,
	DeleteTag: `DELETE FROM tags WHERE resource_seq = ? AND key = ?`,
	TagsOf:    `SELECT key, value FROM tags WHERE resource_seq = ? ORDER BY key`,
	TagsAmong: storage.RowsText(`SELECT resource_seq, key, value FROM tags WHERE (resource_seq, key) IN (VALUES `, `(?,?)`, `)`),
	UpsertTags: storage.RowsText(`INSERT INTO tags (resource_seq,key,value,run_seq,updated_at) VALUES `, `(?,?,?,?,?)`,
		` ON CONFLICT (resource_seq, key) DO UPDATE SET value = excluded.value, run_seq = excluded.run_seq, updated_at = excluded.updated_at`),
}
