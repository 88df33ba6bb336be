package sqlite

import (
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sharedsql"
)

// importSQL holds the statements of an import: the texts both engines
// share, and SQLite's texts of the rest.
var importSQL = func() storage.ImportStatements {
	s := sharedsql.Import
	// The reads of deletions and alias moves say kind NOT IN ('tag',
	// 'metadata'), the condition of the partial index history_rare (schema
	// 0007): SQLite reads a partial index only for a statement that states
	// its condition.
	s.DeletedFromHistory = `UPDATE resources SET deleted_at = ( SELECT CASE WHEN h.kind = 'deleted' THEN h.at END FROM history h WHERE h.resource_seq = resources.seq AND h.kind IN ('deleted', 'restored') AND h.kind NOT IN ('tag', 'metadata') ORDER BY +h.at DESC, +h.seq DESC LIMIT 1) WHERE seq IN (SELECT value FROM json_each(?)) AND EXISTS (SELECT 1 FROM history h WHERE h.resource_seq = resources.seq AND h.kind IN ('deleted', 'restored') AND h.kind NOT IN ('tag', 'metadata'))`
	s.LatestAliasChanges = `SELECT h.resource_seq, h.key, h.at, h.run_seq, h.new_value FROM history h WHERE h.resource_seq IN (SELECT value FROM json_each(?1)) AND h.kind = 'alias' AND h.kind NOT IN ('tag', 'metadata') AND h.seq = (SELECT h2.seq FROM history h2 WHERE h2.resource_seq = h.resource_seq AND h2.kind = 'alias' AND h2.kind NOT IN ('tag', 'metadata') AND h2.key = h.key ORDER BY h2.at DESC, h2.seq DESC LIMIT 1) ORDER BY h.resource_seq, h.key`
	s.RestoreSet = `WITH RECURSIVE up(seq) AS (SELECT ?1 UNION SELECT r.parent_seq FROM resources r JOIN up ON r.seq = up.seq WHERE r.parent_seq IS NOT NULL), down(seq) AS (SELECT ?1 UNION SELECT r.seq FROM resources r JOIN down ON r.parent_seq = down.seq WHERE r.deleted_at = ?2) SELECT r.seq FROM resources r WHERE r.deleted_at IS NOT NULL AND (r.seq IN (SELECT seq FROM up) OR r.seq IN (SELECT seq FROM down)) ORDER BY r.seq`
	s.HasDeleted = `SELECT count(*) FROM (SELECT 1 FROM resources WHERE deleted_at IS NOT NULL LIMIT 1)`
	s.HistoryKnown = `SELECT count(*) FROM history WHERE (id = ?) OR (resource_seq = ? AND kind = ? AND key = ? AND at = ? AND run_seq IS ? AND old_value IS ? AND new_value IS ? AND length(id) = 32 AND id NOT LIKE '%-%')`
	s.ChainShape = `SELECT r.id, r.version, coalesce(p.type || '_version' = r.type AND p.name = r.name AND p.parent_seq IS NULL AND EXISTS (SELECT 1 FROM edges e WHERE e.src_seq = r.parent_seq AND e.relation = 'version' AND e.dst_seq = r.seq), 0) AS shape FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq WHERE r.type = ? AND r.name = ? AND r.version IS NOT NULL ORDER BY r.version`
	return s
}()
