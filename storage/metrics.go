package storage

// MetricStatements are the statements of the metric store (package
// storage/sqlite's Metrics) whose text differs between engines; the rest
// of its statements are portable SQL.
type MetricStatements struct {
	// SummariesOfSet reads resource_seq, key, summary of the series of
	// many resources, its one argument the seqs as a JSON array, ordered by
	// resource_seq, key.
	SummariesOfSet string
	// SummariesOfSetKeys is SummariesOfSet restricted to the keys of its
	// second argument, a JSON array of strings.
	SummariesOfSetKeys string
}
