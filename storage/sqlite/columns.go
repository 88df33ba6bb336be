package sqlite

import "github.com/metatrack/metatrack/storage"

// columnSQL holds the SQLite texts of the the statements that read the
// values shown with each row of a search..
var columnSQL = storage.ColumnStatements{
	TagsOfSeqs:         `SELECT resource_seq, key, value FROM tags WHERE resource_seq IN (SELECT value FROM json_each(?))`,
	TagsOfSeqsKeys:     `SELECT resource_seq, key, value FROM tags WHERE resource_seq IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?))`,
	MetadataOfSeqs:     `SELECT resource_seq, key, value FROM metadata WHERE resource_seq IN (SELECT value FROM json_each(?))`,
	MetadataOfSeqsKeys: `SELECT resource_seq, key, value FROM metadata WHERE resource_seq IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?))`,
}
