package sqlite

import (
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sharedsql"
)

// statements holds the SQLite text of every fixed statement, one area
// of the domain per field (see storage.Statements); each area's texts live
// in the file named after it, or in storage/sharedsql when both engines
// run them word for word.
var statements = storage.Statements{
	TagStatements:        tagSQL,
	MetadataStatements:   metadataSQL,
	VCStatements:         sharedsql.VC,
	RunStatements:        sharedsql.Run,
	AliasStatements:      aliasSQL,
	DeploymentStatements: deploymentSQL,
	HistoryStatements:    historySQL,
	ResourceStatements:   resourceSQL,
	ArtifactStatements:   sharedsql.Artifact,
	ModelStatements:      modelSQL,
	DeletionStatements:   deletionSQL,
	ColumnStatements:     columnSQL,
	QueryCheckStatements: queryCheckSQL,
	StatsStatements:      sharedsql.Stats,
	TokenStatements:      sharedsql.Token,
	PurgeStatements:      purgeSQL,
	ImportStatements:     importSQL,
	ExportStatements:     exportSQL,
	MetricStatements:     metricSQL,
	GCStatements:         gcSQL,
	VerifyStatements:     verifySQL,
	LineageStatements:    lineageSQL,
}
