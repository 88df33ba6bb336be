package sharedsql

import (
	"strings"

	"github.com/metatrack/metatrack/storage"
)

// ExportDialect is what an engine says in its own words in the texts of an
// export; the rest of them both engines share.
type ExportDialect struct {
	// In is the condition that col is the seq of a selected resource, Bare
	// that it is the seq of a bare one: both read the selection bound as
	// the statement's first argument, a JSON object whose "set" and
	// "stubs" are arrays of seqs.
	In, Bare func(col string) string
	// Selection is storage.ExportStatements.Selection in the engine's SQL.
	Selection func(where string, lineage bool) string
}

// Export returns the statements of an export in the engine's dialect d.
// The conditions of a selection are built once, here, from d's In and
// Bare.
func Export(d ExportDialect) storage.ExportStatements {
	in, bare := d.In, d.Bare
	blobIn := `b.seq IN (SELECT a.blob_seq FROM artifacts a WHERE ` + in("a.resource_seq") + `)`
	purgedIn := `pg.parent_id IN (SELECT id FROM resources WHERE ` + in("seq") + `)`
	runIn := exportRunIn(in, bare, purgedIn)
	metricIn := or(in("ms.resource_seq"), `ms.owner_run_seq IN (SELECT seq FROM runs WHERE `+runIn+`)`)
	return storage.ExportStatements{
		Selection: d.Selection,
		Stubs: `SELECT c.seq FROM resources c WHERE c.version IS NOT NULL AND NOT ` + in("c.seq") + `
		AND EXISTS (SELECT 1 FROM resources s WHERE ` + in("s.seq") + ` AND s.type = c.type AND s.name = c.name AND s.version > c.version)
		ORDER BY c.seq`,
		SchemaVersion: `SELECT coalesce(max(version), 0) FROM schema_applied`,
		ChunkData:     `SELECT data FROM blob_chunks WHERE blob_seq = ? AND idx = ?`,
		BlobStored:    `SELECT count(*) FROM blobs WHERE seq = ? AND sha256 = ?`,
		MetricBlocks:  `SELECT first_ord FROM metric_blocks WHERE series_seq = ? ORDER BY first_ord`,

		BlobRecords: storage.ExportSection{
			All: `SELECT b.seq, b.sha256, b.size, b.chunk_size, b.created_at, (SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq)
			FROM blobs b WHERE b.sha256 IS NOT NULL ORDER BY b.seq`,
			AllCount: `SELECT (SELECT count(*) FROM blobs b WHERE b.sha256 IS NOT NULL)
			+ (SELECT count(*) FROM blob_chunks c JOIN blobs b ON b.seq = c.blob_seq WHERE b.sha256 IS NOT NULL)`,
			Selected: `SELECT b.seq, b.sha256, b.size, b.chunk_size, b.created_at, (SELECT count(*) FROM blob_chunks c WHERE c.blob_seq = b.seq)
			FROM blobs b WHERE b.sha256 IS NOT NULL AND ` + blobIn + ` ORDER BY b.seq`,
			SelectedCount: `SELECT (SELECT count(*) FROM blobs b WHERE b.sha256 IS NOT NULL AND ` + blobIn + `)
			+ (SELECT count(*) FROM blob_chunks c JOIN blobs b ON b.seq = c.blob_seq WHERE b.sha256 IS NOT NULL AND ` + blobIn + `)`,
		},
		RunRecords: section(`SELECT id, name, host, username, pid, status, error, started_at, ended_at`, ` FROM runs`, runIn, `seq`),
		ResourceRecords: listed(`WITH RECURSIVE tree(seq, depth) AS (
			SELECT seq, 0 FROM resources WHERE parent_seq IS NULL
			UNION ALL SELECT c.seq, tree.depth + 1 FROM resources c JOIN tree ON c.parent_seq = tree.seq WHERE tree.depth < 10000)
		SELECT r.id, r.type, r.name, r.version, p.id, r.status, r.attrs, run.id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at
		FROM tree JOIN resources r ON r.seq = tree.seq LEFT JOIN resources p ON p.seq = r.parent_seq
		LEFT JOIN runs run ON run.seq = r.run_seq`, ` FROM resources r`, or(in("r.seq"), bare("r.seq")), `tree.depth, r.seq`),
		TagRecords: section(`SELECT r.id, t.key, t.value, run.id, t.updated_at`,
			` FROM tags t JOIN resources r ON r.seq = t.resource_seq LEFT JOIN runs run ON run.seq = t.run_seq`, in("t.resource_seq"), `t.resource_seq, t.key`),
		MetadataRecords: section(`SELECT r.id, m.key, m.value, run.id, m.updated_at`,
			` FROM metadata m JOIN resources r ON r.seq = m.resource_seq LEFT JOIN runs run ON run.seq = m.run_seq`, in("m.resource_seq"), `m.resource_seq, m.key`),
		VCInfoRecords: section(`SELECT r.id, v.key, v.info, v.extra, run.id, v.updated_at`,
			` FROM vc_info v JOIN resources r ON r.seq = v.resource_seq LEFT JOIN runs run ON run.seq = v.run_seq`, in("v.resource_seq"), `v.resource_seq, v.key`),
		ArtifactRecords: section(`SELECT a.id, r.id, a.name, a.kind, a.check_type, a.media_type, a.size, a.sha256, a.blob_seq, b.sha256, a.uri, a.source_path, run.id, a.created_at`,
			` FROM artifacts a JOIN resources r ON r.seq = a.resource_seq LEFT JOIN blobs b ON b.seq = a.blob_seq LEFT JOIN runs run ON run.seq = a.run_seq`,
			in("a.resource_seq"), `a.seq`),
		// The edges among exported resources, and the version edges of bare
		// chain members.
		EdgeRecords: section(`SELECT s.id, e.relation, d.id, run.id, e.created_at`,
			` FROM edges e JOIN resources s ON s.seq = e.src_seq JOIN resources d ON d.seq = e.dst_seq LEFT JOIN runs run ON run.seq = e.run_seq`,
			or(in("e.src_seq")+` AND `+in("e.dst_seq"), `e.relation = 'version' AND `+bare("e.dst_seq")), `e.src_seq, e.relation, e.dst_seq`),
		// The deployments of bare versions too: a bare version keeps its
		// status, and DEPLOYED needs its open deployment.
		DeploymentRecords: section(`SELECT dp.id, m.id, mv.id, dp.environment, dp.deployed_at, dp.undeployed_at, run.id`,
			` FROM deployments dp JOIN resources m ON m.seq = dp.model_seq JOIN resources mv ON mv.seq = dp.model_version_seq LEFT JOIN runs run ON run.seq = dp.run_seq`,
			or(in("dp.model_version_seq"), bare("dp.model_version_seq")), `dp.seq`),
		AliasRecords: section(`SELECT h.id, al.name, v.id, run.id, al.updated_at`,
			` FROM aliases al JOIN resources h ON h.seq = al.head_seq JOIN resources v ON v.seq = al.version_seq LEFT JOIN runs run ON run.seq = al.run_seq`,
			in("al.head_seq")+` AND `+in("al.version_seq"), `al.head_seq, al.name`),
		// The purged members of exported chains: their numbers stay taken in
		// the store the export is imported into.
		PurgedRecords: section(`SELECT pg.id, pg.type, pg.name, pg.version, pg.parent_id, pg.created_at, pg.deleted_at, pg.purged_at, run.id`,
			` FROM purged pg LEFT JOIN runs run ON run.seq = pg.run_seq`, purgedIn, `pg.purged_at, pg.id`),
		HistoryRecords: section(`SELECT h.id, r.id, h.at, run.id, h.actor, h.kind, h.key, h.old_value, h.new_value`,
			` FROM history h JOIN resources r ON r.seq = h.resource_seq LEFT JOIN runs run ON run.seq = h.run_seq`, in("h.resource_seq"), `h.seq`),
		// One record for each sealed block and one for each series with a
		// tail; the series of the exported resources and runs.
		MetricRecords: storage.ExportSection{
			All: metricList + ` ORDER BY ms.seq`, AllCount: `SELECT count(*)` + metricRecords,
			Selected: metricList + ` WHERE ` + metricIn + ` ORDER BY ms.seq`, SelectedCount: `SELECT count(*)` + metricRecords + ` WHERE ` + metricIn,
		},
	}
}

const (
	metricList = `SELECT ms.seq, coalesce(r.id, ''), coalesce(run.id, ''), ms.key FROM metric_series ms
		LEFT JOIN resources r ON r.seq = ms.resource_seq LEFT JOIN runs run ON run.seq = ms.owner_run_seq`
	metricRecords = ` FROM (SELECT ms.seq, ms.resource_seq, ms.owner_run_seq FROM metric_series ms
		JOIN metric_blocks mb ON mb.series_seq = ms.seq
		UNION ALL SELECT ms.seq, ms.resource_seq, ms.owner_run_seq FROM metric_series ms WHERE ms.tail > 0) ms`
)

// section writes the statements of a section: cols are the columns of
// its rows, from their FROM, in the condition of a selection, order the
// ORDER BY of the rows.
func section(cols, from, in, order string) storage.ExportSection {
	return listed(cols+from, from, in, order)
}

// listed is section for a list that reads its rows through more than
// from: count's FROM counts the same rows.
func listed(list, count, in, order string) storage.ExportSection {
	return storage.ExportSection{
		All:           list + ` ORDER BY ` + order,
		AllCount:      `SELECT count(*)` + count,
		Selected:      list + ` WHERE ` + in + ` ORDER BY ` + order,
		SelectedCount: `SELECT count(*)` + count + ` WHERE ` + in,
	}
}

func or(a, b string) string { return `((` + a + `) OR (` + b + `))` }

// exportRunIn selects the runs of a selection: those of its resources,
// tags, metadata, version-control records, artifacts, edges, deployments,
// history and aliases, of its bare resources and their deployments, and of
// its chains' purged members.
func exportRunIn(in, bare func(string) string, purgedIn string) string {
	parts := []string{
		`SELECT run_seq FROM resources WHERE run_seq IS NOT NULL AND ` + bare("seq"),
		`SELECT run_seq FROM deployments WHERE run_seq IS NOT NULL AND ` + bare("model_version_seq"),
	}
	for _, p := range []struct{ table, cols string }{
		{"resources", "seq"}, {"tags", "resource_seq"}, {"metadata", "resource_seq"}, {"vc_info", "resource_seq"},
		{"artifacts", "resource_seq"}, {"edges", "src_seq,dst_seq"}, {"deployments", "model_version_seq"},
		{"history", "resource_seq"}, {"aliases", "head_seq,version_seq"},
	} {
		var conds []string
		for _, c := range strings.Split(p.cols, ",") {
			conds = append(conds, in(c))
		}
		parts = append(parts, `SELECT run_seq FROM `+p.table+` WHERE run_seq IS NOT NULL AND `+strings.Join(conds, ` AND `))
	}
	parts = append(parts, `SELECT pg.run_seq FROM purged pg WHERE pg.run_seq IS NOT NULL AND `+purgedIn)
	return `seq IN (` + strings.Join(parts, ` UNION `) + `)`
}
