package postgres

import "github.com/metatrack/metatrack/storage"

// statements holds the PostgreSQL text of every fixed statement, one area
// of the domain per field (see storage.Statements); each area's texts live
// in the file named after it.
var statements = storage.Statements{
	TagStatements:        tagSQL,
	MetadataStatements:   metadataSQL,
	VCStatements:         vCSQL,
	RunStatements:        runSQL,
	AliasStatements:      aliasSQL,
	DeploymentStatements: deploymentSQL,
	HistoryStatements:    historySQL,
	ResourceStatements:   resourceSQL,
	ArtifactStatements:   artifactSQL,
	ModelStatements:      modelSQL,
	DeletionStatements:   deletionSQL,
	ColumnStatements:     columnSQL,
	QueryCheckStatements: queryCheckSQL,
	StatsStatements:      statsSQL,
	TokenStatements:      tokenSQL,
	PurgeStatements:      purgeSQL,
	ImportStatements:     importSQL,
	ExportStatements:     exportSQL,
	MetricStatements:     metricSQL,
	GCStatements:         gcSQL,
}

// metricSQL holds the PostgreSQL texts of the metric store's statements
// that differ from SQLite's.
var metricSQL = storage.MetricStatements{
	SummariesOfSet: `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb)) ORDER BY resource_seq, key`,
	SummariesOfSetKeys: `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb))
		AND key IN (SELECT value FROM jsonb_array_elements_text(?::jsonb)) ORDER BY resource_seq, key`,
}
