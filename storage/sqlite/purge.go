package sqlite

import "github.com/metatrack/metatrack/storage"

// purgeSQL holds the SQLite texts of the statements of PurgeDeleted.
var purgeSQL = storage.PurgeStatements{
	PurgeCandidates: `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, '', 1, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.seq IN (WITH RECURSIVE d(seq) AS (
			SELECT seq FROM resources WHERE deleted_at IS NOT NULL AND deleted_at <= ?
			UNION SELECT c.seq FROM resources c JOIN d ON c.parent_seq = d.seq)
			SELECT seq FROM d) ORDER BY r.seq`,
	PurgeCounts: `SELECT
			(SELECT count(*) FROM artifacts WHERE resource_seq IN (SELECT value FROM json_each(?1))) AS artifacts,
			(SELECT count(*) FROM history WHERE resource_seq IN (SELECT value FROM json_each(?1))) AS changes`,
	PurgeRows: []string{
		`DELETE FROM tags WHERE resource_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM metadata WHERE resource_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM vc_info WHERE resource_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM attr_values WHERE resource_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM edges WHERE src_seq IN (SELECT value FROM json_each(?1)) OR dst_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM deployments WHERE model_seq IN (SELECT value FROM json_each(?1)) OR model_version_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM aliases WHERE head_seq IN (SELECT value FROM json_each(?1)) OR version_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM artifacts WHERE resource_seq IN (SELECT value FROM json_each(?1))`,
		`DELETE FROM history WHERE resource_seq IN (SELECT value FROM json_each(?1))`,
	},
	InsertPurged: `INSERT INTO purged (id, type, name, version, parent_id, created_at, deleted_at, purged_at, run_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
	PurgeResources: `DELETE FROM resources WHERE seq IN (SELECT value FROM json_each(?1))`,
}
