package storage

// Statements holds the text of every fixed statement the domain runs, in
// one engine's dialect, with ? placeholders. Each area of the domain (tags,
// resources, deployments, ...) declares its statements as one struct
// embedded here, with a field per statement named for what it does, so
// that domain code reads x.sql.UpsertTag and each engine package fills in
// every field (storagetest checks that none is empty).
type Statements struct {
	TagStatements
	MetadataStatements
	VCStatements
	RunStatements
	AliasStatements
	DeploymentStatements
	HistoryStatements
	ResourceStatements
	ArtifactStatements
	ModelStatements
	DeletionStatements
	ColumnStatements
	QueryCheckStatements
	StatsStatements
	TokenStatements
	PurgeStatements
	ImportStatements
	ExportStatements
	MetricStatements
	GCStatements
	VerifyStatements
	LineageStatements
}
