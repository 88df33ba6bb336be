package sqlite

import "github.com/metatrack/metatrack/storage"

// queryCheckSQL holds the SQLite texts of the the statements behind the
// warnings about a query.
var queryCheckSQL = storage.QueryCheckStatements{
	MetaHasNum:      `SELECT EXISTS (SELECT 1 FROM metadata WHERE key = ? AND num IS NOT NULL)`,
	MetaHasStr:      `SELECT EXISTS (SELECT 1 FROM metadata WHERE key = ? AND str IS NOT NULL)`,
	AttrHasNum:      `SELECT EXISTS (SELECT 1 FROM attr_values WHERE key = ? AND num IS NOT NULL)`,
	AttrHasStr:      `SELECT EXISTS (SELECT 1 FROM attr_values WHERE key = ? AND str IS NOT NULL)`,
	StatusUsed:      `SELECT EXISTS (SELECT 1 FROM resources WHERE status = ?)`,
	Statuses:        `SELECT DISTINCT status FROM resources WHERE status != '' ORDER BY status LIMIT 1000`,
	TypeUsed:        `SELECT EXISTS (SELECT 1 FROM resources WHERE type = ?)`,
	Types:           `SELECT DISTINCT type FROM resources ORDER BY type LIMIT 1000`,
	TagKeyUsed:      `SELECT EXISTS (SELECT 1 FROM tags WHERE key = ?)`,
	MetadataKeyUsed: `SELECT EXISTS (SELECT 1 FROM metadata WHERE key = ?)`,
	AttrKeyUsed:     `SELECT EXISTS (SELECT 1 FROM attr_values WHERE key = ?)`,
	TagKeys:         `SELECT DISTINCT key FROM tags ORDER BY key LIMIT 10000`,
	MetadataKeys:    `SELECT DISTINCT key FROM metadata ORDER BY key LIMIT 10000`,
	AttrKeys:        `SELECT DISTINCT key FROM attr_values ORDER BY key LIMIT 10000`,
	TagNum:          `SELECT EXISTS (SELECT 1 FROM tags WHERE key = ? AND json_valid(value) AND json_type(value) IN ('integer', 'real'))`,
	AliasUsed:       `SELECT EXISTS (SELECT 1 FROM aliases WHERE name = ?)`,
	AliasNames:      `SELECT DISTINCT name FROM aliases ORDER BY name`,
}
