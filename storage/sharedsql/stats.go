package sharedsql

import "github.com/metatrack/metatrack/storage"

// Stats holds the statements of Stats, the same on both engines.
var Stats = storage.StatsStatements{
	ResourcesByType: `SELECT type AS k, count(*) AS n FROM resources WHERE deleted_at IS NULL GROUP BY type`,
	RunsByStatus:    `SELECT status AS k, count(*) AS n FROM runs GROUP BY status`,
	Counts: `SELECT
			(SELECT count(*) FROM resources WHERE deleted_at IS NOT NULL) AS deleted,
			(SELECT count(*) FROM edges) AS edges,
			(SELECT count(*) FROM history) AS changes,
			(SELECT count(*) FROM deployments) AS deployments,
			(SELECT count(*) FROM deployments WHERE undeployed_at IS NULL) AS current,
			(SELECT count(*) FROM artifacts) AS artifacts,
			(SELECT count(*) FROM artifacts WHERE uri != '') AS external,
			(SELECT coalesce(sum(size), 0) FROM artifacts WHERE uri = '') AS logical,
			(SELECT coalesce(sum(size), 0) FROM blobs WHERE sha256 IS NOT NULL) AS stored`,
}
