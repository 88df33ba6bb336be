package postgres

import "github.com/metatrack/metatrack/storage"

// columnSQL holds the PostgreSQL texts of the the statements that read the
// values shown with each row of a search..
var columnSQL = storage.ColumnStatements{
	TagsOfSeqs:         `SELECT resource_seq, key, value FROM tags WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb))`,
	TagsOfSeqsKeys:     `SELECT resource_seq, key, value FROM tags WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb)) AND key IN (SELECT value FROM jsonb_array_elements_text(?::jsonb))`,
	MetadataOfSeqs:     `SELECT resource_seq, key, value FROM metadata WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb))`,
	MetadataOfSeqsKeys: `SELECT resource_seq, key, value FROM metadata WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb)) AND key IN (SELECT value FROM jsonb_array_elements_text(?::jsonb))`,
}
