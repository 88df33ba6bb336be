package postgres

import "github.com/metatrack/metatrack/storage"

// aliasSQL holds the PostgreSQL texts of the statements of aliases.
var aliasSQL = storage.AliasStatements{
	AliasOf:       `SELECT a.head_seq, a.name, a.version_seq, run.id AS run_id, a.updated_at FROM aliases a LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.head_seq = ? AND a.name = ?`,
	AliasesOfHead: `SELECT a.head_seq, a.name, a.version_seq, run.id AS run_id, a.updated_at FROM aliases a LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.head_seq = ? ORDER BY a.name`,
	AliasesOfVer:  `SELECT a.head_seq, a.name, a.version_seq, run.id AS run_id, a.updated_at FROM aliases a LEFT JOIN runs run ON run.seq = a.run_seq WHERE a.version_seq = ? ORDER BY a.name`,
	UpsertAlias:   `INSERT INTO aliases (head_seq,name,version_seq,run_seq,updated_at) VALUES (?,?,?,?,?) ON CONFLICT (head_seq, name) DO UPDATE SET version_seq = excluded.version_seq, run_seq = excluded.run_seq, updated_at = excluded.updated_at`,
	DeleteAlias:   `DELETE FROM aliases WHERE head_seq = ? AND name = ?`,
	AliasTarget: `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.seq = (SELECT a.version_seq FROM aliases a
		JOIN resources h ON h.seq = a.head_seq
		WHERE h.type = ? AND h.name = ? AND h.parent_seq IS NULL AND h.deleted_at IS NULL AND a.name = ?) AND r.type = ?`,
}
