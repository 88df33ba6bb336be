package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/schema"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/metricstore"
)

// The report of Verify and the options and result of GC are package
// storage's.
type (
	Report    = storage.Report
	Problem   = storage.Problem
	Hit       = storage.Hit
	GCOptions = storage.GCOptions
	GCStats   = storage.GCStats
)

// The kinds of Problem, and the other constants of package storage's
// maintenance types, under this package's names.
const (
	ProblemIntegrity  = storage.ProblemIntegrity
	ProblemForeignKey = storage.ProblemForeignKey
	ProblemBlob       = storage.ProblemBlob
	ProblemArtifact   = storage.ProblemArtifact
	ProblemChain      = storage.ProblemChain
	ProblemDeployment = storage.ProblemDeployment
	ProblemSchema     = storage.ProblemSchema
	ProblemJSON       = storage.ProblemJSON
	ProblemAlias      = storage.ProblemAlias
	ProblemDeleted    = storage.ProblemDeleted
	ProblemMetric     = storage.ProblemMetric
	MaxProblems       = storage.MaxProblems
	DefaultStagedAge  = storage.DefaultStagedAge
)

// Verify checks the database d: its schema against the one its version
// defines (no views, triggers, tables, columns or indexes the migrations
// did not create), SQLite's full integrity check and foreign keys, then
// the domain's invariants that every engine checks (storage.DomainCheck:
// JSON values, blobs re-hashed, artifacts, chains, deployments, aliases,
// deletion, the attribute index, the change log), and the metric series.
// It reads one snapshot; writers go on meanwhile.
//
// What it finds is in the Report; the error is for failures to check
// (a cancelled ctx, an unreadable file). progress, if not nil, is called
// with the bytes checked so far and in all: the file once for the
// integrity check, then the artifact bytes.
func Verify(ctx context.Context, d *DB, progress func(done, total int64)) (Report, error) {
	v := &verifier{ctx: ctx}
	v.check = storage.DomainCheck{SQL: &statements.VerifyStatements, Report: &v.report, Progress: progress}
	err := d.ReadSnapshot(ctx, func(tx *sqlx.Tx) error {
		v.tx = tx
		v.check.Tx = readTx{tx: tx, d: d}
		return v.run()
	})
	if err != nil && ctx.Err() == nil && (errors.Is(err, storage.ErrCorrupt) || errors.Is(err, storage.ErrNotDatabase)) {
		v.report.Add(ProblemIntegrity, d.Path, "%v", err)
		return v.report, nil
	}
	return v.report, err
}

// verifier runs SQLite's own checks (schema, integrity, foreign keys,
// metric series) around the domain's (storage.DomainCheck).
type verifier struct {
	ctx    context.Context
	tx     *sqlx.Tx
	check  storage.DomainCheck
	report Report
}

func (v *verifier) advance(n int64) { v.check.Advance(n) }

// rows runs query and calls scan for each row.
func (v *verifier) rows(query string, args []any, scan func(*sql.Rows) error) error {
	return v.check.Rows(v.ctx, query, args, scan)
}

func (v *verifier) run() error {
	var pages, pageSize int64
	if err := v.tx.GetContext(v.ctx, &pages, `PRAGMA page_count`); err != nil {
		return err
	}
	if err := v.tx.GetContext(v.ctx, &pageSize, `PRAGMA page_size`); err != nil {
		return err
	}
	blobBytes, err := v.check.BlobBytes(v.ctx)
	if err != nil {
		return err
	}
	v.check.Total = pages*pageSize + blobBytes
	v.advance(0)

	if err := v.schema(); err != nil {
		return err
	}
	if err := v.integrity(); err != nil {
		return err
	}
	if !v.report.OK() {
		// On a damaged file the checks below would report consequences
		// of what is already reported, or fail.
		return nil
	}
	v.advance(pages * pageSize)
	if err := v.foreignKeys(); err != nil {
		return err
	}
	if err := v.check.Run(v.ctx); err != nil {
		return err
	}
	if err := v.metrics(); err != nil {
		return err
	}
	if v.check.Done < v.check.Total {
		// Missing chunks were counted but not read.
		v.advance(v.check.Total - v.check.Done)
	}
	return nil
}

// schema compares the file's schema with the one its version defines
// (schema.Compare): what the checks below read must be metatrack's tables,
// not a view or what a trigger keeps.
func (v *verifier) schema() error {
	st, err := schema.Inspect(v.ctx, v.tx)
	if err != nil {
		return err
	}
	version, err := schema.ExpectedVersion(v.ctx, v.tx, st)
	if err != nil {
		return err
	}
	diffs, err := schema.Compare(v.ctx, v.tx, version)
	if err != nil {
		return err
	}
	for _, d := range diffs {
		v.report.Add(ProblemSchema, d.Object, "%s", d.Detail)
	}
	return nil
}

// integrity runs SQLite's full integrity check (not quick_check), which
// also compares every index with its table, so a corrupt index is
// reported.
func (v *verifier) integrity() error {
	return v.rows(`PRAGMA integrity_check(`+strconv.Itoa(MaxProblems)+`)`, nil, func(rows *sql.Rows) error {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return err
		}
		if msg != "ok" {
			v.report.Add(ProblemIntegrity, "database file", "%s", msg)
		}
		return nil
	})
}

func (v *verifier) foreignKeys() error {
	return v.rows(`PRAGMA foreign_key_check`, nil, func(rows *sql.Rows) error {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		what := table
		if rowid.Valid {
			what += " row " + strconv.FormatInt(rowid.Int64, 10)
		}
		v.report.Add(ProblemForeignKey, what, "refers to a missing row of %s", parent)
		return nil
	})
}

// verifySQL holds the SQLite texts of the checks of the domain's
// invariants (see storage.DomainCheck).
var verifySQL = storage.VerifyStatements{
	VerifyBlobBytes: `SELECT coalesce(sum(size), 0) FROM blobs WHERE sha256 IS NOT NULL`,
	VerifyResources: `SELECT count(*) FROM resources`,
	VerifyJSON: `
		SELECT 'resource ' || id, 'attrs', attrs FROM resources WHERE NOT json_valid(attrs)
		UNION ALL SELECT 'metadata ' || m.key || ' of ' || r.id, 'value', m.value FROM metadata m JOIN resources r ON r.seq = m.resource_seq WHERE NOT json_valid(m.value)
		UNION ALL SELECT 'vc_info ' || c.key || ' of ' || r.id, 'info', c.info FROM vc_info c JOIN resources r ON r.seq = c.resource_seq WHERE NOT json_valid(c.info)
		UNION ALL SELECT 'vc_info ' || c.key || ' of ' || r.id, 'extra', c.extra FROM vc_info c JOIN resources r ON r.seq = c.resource_seq WHERE NOT json_valid(c.extra)
		UNION ALL SELECT 'history entry ' || coalesce(id, seq), 'old value', old_value FROM history WHERE old_value IS NOT NULL AND NOT json_valid(old_value)
		UNION ALL SELECT 'history entry ' || coalesce(id, seq), 'new value', new_value FROM history WHERE new_value IS NOT NULL AND NOT json_valid(new_value)`,
	VerifyChainTypes: `SELECT id, type, name FROM resources
		WHERE (version IS NULL AND type GLOB '?*_version') OR (version IS NOT NULL AND NOT type GLOB '?*_version')`,
	// Numbers of purged members count as taken (they are never handed out
	// again).
	VerifyBadChains: `SELECT type, name FROM (SELECT type, name, version FROM resources WHERE version IS NOT NULL
			UNION ALL SELECT type, name, version FROM purged WHERE version IS NOT NULL AND id NOT IN (SELECT id FROM resources)) GROUP BY type, name
		HAVING min(version) <> 1 OR max(version) <> count(*) OR count(DISTINCT version) <> count(*)`,
	VerifyChainNumbers: `SELECT version FROM (SELECT version FROM resources WHERE type = ? AND name = ? AND version IS NOT NULL
			UNION ALL SELECT version FROM purged WHERE type = ? AND name = ? AND version IS NOT NULL
				AND id NOT IN (SELECT id FROM resources)) ORDER BY version`,
	VerifyChainParents: `SELECT r.id, r.type, r.name, r.version, coalesce(p.type, ''), coalesce(p.name, ''), p.seq IS NULL, p.parent_seq IS NOT NULL,
			EXISTS (SELECT 1 FROM edges e WHERE e.src_seq = r.parent_seq AND e.relation = 'version' AND e.dst_seq = r.seq)
		FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq WHERE r.version IS NOT NULL AND r.type GLOB '?*_version'`,
	VerifyOpenDeployments: `SELECT m.id, d.environment, count(*) FROM deployments d JOIN resources m ON m.seq = d.model_seq
		WHERE d.undeployed_at IS NULL GROUP BY d.model_seq, d.environment HAVING count(*) > 1`,
	VerifyDeploymentTargets: `SELECT d.id, mv.type, mv.parent_seq IS d.model_seq, d.undeployed_at < d.deployed_at
		FROM deployments d JOIN resources mv ON mv.seq = d.model_version_seq
		WHERE mv.type <> 'model_version' OR mv.parent_seq IS NOT d.model_seq OR d.undeployed_at < d.deployed_at`,
	VerifyDeployedStatus: `SELECT id, name, coalesce(version, 0), status, open FROM (
			SELECT r.id, r.name, r.version, r.status,
				(SELECT count(*) FROM deployments d WHERE d.model_version_seq = r.seq AND d.undeployed_at IS NULL) AS open
			FROM resources r WHERE r.type = 'model_version')
		WHERE (status = 'DEPLOYED') <> (open > 0)`,
	VerifyAliases: `SELECT h.id, a.name, mv.id, mv.version IS NOT NULL AND mv.parent_seq IS a.head_seq, mv.deleted_at IS NOT NULL
		FROM aliases a JOIN resources h ON h.seq = a.head_seq JOIN resources mv ON mv.seq = a.version_seq
		WHERE mv.version IS NULL OR mv.parent_seq IS NOT a.head_seq OR mv.deleted_at IS NOT NULL`,
	VerifyDeletedParents: `SELECT c.id, p.id FROM resources c JOIN resources p ON p.seq = c.parent_seq
		WHERE c.deleted_at IS NULL AND p.seq IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)`,
	VerifyDeletedDeployed: `SELECT mv.id, d.environment FROM deployments d JOIN resources mv ON mv.seq = d.model_version_seq
		WHERE d.undeployed_at IS NULL AND mv.deleted_at IS NOT NULL`,
	VerifyArtifacts: `SELECT a.id, a.name, r.id, a.sha256, a.size, a.blob_seq IS NULL, a.uri, b.seq IS NULL, coalesce(b.sha256, ''), coalesce(b.size, 0)
		FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq
		WHERE (a.blob_seq IS NULL AND a.uri = '') OR (a.blob_seq IS NOT NULL AND (b.seq IS NULL OR b.sha256 IS NULL OR b.sha256 <> a.sha256 OR b.size <> a.size))`,
	VerifyBlobs:      `SELECT seq, sha256, size, chunk_size FROM blobs WHERE sha256 IS NOT NULL ORDER BY seq`,
	VerifyBlobChunks: `SELECT idx, data FROM blob_chunks WHERE blob_seq = ? ORDER BY idx`,
	VerifyBlobHits: `SELECT a.id, a.name, r.id, r.type, r.name, r.version, p.type, p.name, p.version FROM artifacts a
		JOIN resources r ON r.seq = a.resource_seq LEFT JOIN resources p ON p.seq = r.parent_seq
		WHERE a.blob_seq = ? ORDER BY a.seq`,
	// What attr_values should hold is what the migration's backfill and
	// the triggers write (schema/sqlite/0003_attr_values.up.sql).
	VerifyAttrValues: `WITH want AS (
			SELECT seq, key, CASE WHEN type IN ('integer', 'real') THEN atom END AS num, CASE WHEN type = 'text' THEN atom END AS str
			FROM (SELECT r.seq AS seq, j.key AS key, j.type AS type, j.atom AS atom, min(j.id)
				FROM resources r, json_each(CASE WHEN NOT json_valid(r.attrs, 10) THEN '{}'
					WHEN json_type(r.attrs) = 'object' THEN r.attrs ELSE '{}' END) j
				WHERE r.attrs != '{}' GROUP BY r.seq, j.key))
		SELECT r.id, x.key, x.state FROM (
			SELECT w.seq, w.key, CASE WHEN a.resource_seq IS NULL THEN 'missing' ELSE 'differs' END AS state
			FROM want w LEFT JOIN attr_values a ON a.resource_seq = w.seq AND a.key = w.key
			WHERE a.resource_seq IS NULL OR a.num IS NOT w.num OR a.str IS NOT w.str
			UNION ALL SELECT a.resource_seq, a.key, 'extra' FROM attr_values a
			WHERE NOT EXISTS (SELECT 1 FROM want w WHERE w.seq = a.resource_seq AND w.key = a.key)
		) x JOIN resources r ON r.seq = x.seq ORDER BY r.seq, x.key`,
	VerifyHistoryIDs: `SELECT h.seq, r.id FROM history h JOIN resources r ON r.seq = h.resource_seq WHERE h.id IS NULL OR h.id = '' ORDER BY h.seq`,
}

// metrics checks every metric series (metricstore.Verify).
func (v *verifier) metrics() error {
	return metricstore.Verify(v.ctx, v.check.Tx, &metricSQL, &v.report)
}
