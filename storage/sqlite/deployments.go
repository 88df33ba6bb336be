package sqlite

import "github.com/metatrack/metatrack/storage"

// deploymentSQL holds the SQLite texts of the statements of deployments.
var deploymentSQL = storage.DeploymentStatements{
	CurrentDeployment: `SELECT d.seq, d.id, d.model_seq, d.model_version_seq, d.environment, d.deployed_at, d.undeployed_at, run.id AS run_id FROM deployments d LEFT JOIN runs run ON run.seq = d.run_seq WHERE d.model_seq = ? AND d.environment = ? AND d.undeployed_at IS NULL`,
	OpenDeploymentsOf: `SELECT d.seq, d.id, d.model_seq, d.model_version_seq, d.environment, d.deployed_at, d.undeployed_at, run.id AS run_id FROM deployments d LEFT JOIN runs run ON run.seq = d.run_seq WHERE d.model_version_seq = ? AND d.undeployed_at IS NULL`,
	EndDeployment:     `UPDATE deployments SET undeployed_at = ? WHERE seq = ?`,
	InsertDeployment:  `INSERT INTO deployments (id,model_seq,model_version_seq,environment,deployed_at,run_seq) VALUES (?,?,?,?,?,?)`,
	DeployedAt:        `SELECT model_version_seq FROM deployments WHERE model_seq = ? AND environment = ? AND deployed_at <= ? AND (undeployed_at IS NULL OR undeployed_at > ?) ORDER BY seq DESC LIMIT 1`,
	CurrentlyDeployed: `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, '', 1, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.seq = (
		SELECT seq FROM (
			SELECT 1 AS rank, d.model_version_seq AS seq, 0 AS version FROM deployments d
				WHERE d.model_seq = ? AND d.environment = ? AND d.undeployed_at IS NULL
			UNION ALL
			SELECT 2, m.seq, m.version FROM resources m
				WHERE m.type = 'model_version' AND m.name = ? AND m.version < ? AND m.status = 'PROMOTED' AND m.deleted_at IS NULL
			UNION ALL
			SELECT 3, m.seq, m.version FROM resources m
				WHERE m.type = 'model_version' AND m.name = ? AND m.version < ? AND m.deleted_at IS NULL
		) ORDER BY rank, version DESC LIMIT 1)`,
	CurrentlyDeployedByID: `WITH c AS (SELECT parent_seq AS model, name, version
		FROM resources WHERE id = ?1 AND type = 'model_version' AND deleted_at IS NULL) SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, '', 1, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.seq = (
		SELECT seq FROM (
			SELECT 1 AS rank, d.model_version_seq AS seq, 0 AS version FROM c JOIN deployments d
				ON d.model_seq = c.model AND d.environment = ?2 AND d.undeployed_at IS NULL
			UNION ALL
			SELECT 2, m.seq, m.version FROM c JOIN resources m
				ON m.type = 'model_version' AND m.name = c.name AND m.version < c.version AND m.status = 'PROMOTED' AND m.deleted_at IS NULL
			UNION ALL
			SELECT 3, m.seq, m.version FROM c JOIN resources m
				ON m.type = 'model_version' AND m.name = c.name AND m.version < c.version AND m.deleted_at IS NULL
		) ORDER BY rank, version DESC LIMIT 1)`,
	DeploymentsOfModel:     `SELECT d.seq, d.id, d.model_seq, d.model_version_seq, d.environment, d.deployed_at, d.undeployed_at, run.id AS run_id FROM deployments d LEFT JOIN runs run ON run.seq = d.run_seq WHERE d.model_seq = ? ORDER BY d.seq`,
	DeploymentsOfVersion:   `SELECT d.seq, d.id, d.model_seq, d.model_version_seq, d.environment, d.deployed_at, d.undeployed_at, run.id AS run_id FROM deployments d LEFT JOIN runs run ON run.seq = d.run_seq WHERE d.model_version_seq = ? ORDER BY d.seq`,
	OpenDeploymentsOfModel: `SELECT d.seq, d.id, d.model_seq, d.model_version_seq, d.environment, d.deployed_at, d.undeployed_at, run.id AS run_id FROM deployments d LEFT JOIN runs run ON run.seq = d.run_seq WHERE d.model_seq = ? AND d.undeployed_at IS NULL`,
	AllOpenDeployments:     `SELECT d.seq, d.id, d.model_seq, d.model_version_seq, d.environment, d.deployed_at, d.undeployed_at, run.id AS run_id FROM deployments d LEFT JOIN runs run ON run.seq = d.run_seq WHERE d.undeployed_at IS NULL ORDER BY d.model_seq, d.environment`,
}
