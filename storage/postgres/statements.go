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
	VerifyStatements:     verifySQL,
	LineageStatements:    lineageSQL,
}
