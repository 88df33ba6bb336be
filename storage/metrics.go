package storage

// MetricStatements are the statements of the metric store (package
// storage/metricstore): series rows (metric_series), their unsealed tails
// (metric_tail) and their sealed blocks (metric_blocks). A point's value in
// the tail is the float64's bits as a signed 64-bit integer; a block's
// data and summary are package series' encodings.
type MetricStatements struct {
	// MetricSeriesOfResource reads seq, count, tail, summary of the series
	// of a resource. Args: resource seq, key.
	MetricSeriesOfResource string
	// MetricSeriesOfRun is MetricSeriesOfResource for a series of a run.
	// Args: run seq, key.
	MetricSeriesOfRun string
	// InsertMetricSeries creates an empty series and returns its seq.
	// Args: resource seq or NULL, run seq or NULL, key, the empty summary,
	// the writing run's seq or NULL, created_at, updated_at.
	InsertMetricSeries string
	// UpdateMetricSeries stores a series' count, its searchable columns,
	// tail length and summary. Args: count, last_step, last_value,
	// min_value, max_value (each NULL for NaN or none), tail, summary,
	// the writing run's seq, updated_at, seq.
	UpdateMetricSeries string
	// MetricSummariesOfResource reads key, summary of every series of a
	// resource, by key. Args: resource seq.
	MetricSummariesOfResource string
	// MetricSummariesOfRun is MetricSummariesOfResource for a run. Args:
	// run seq.
	MetricSummariesOfRun string
	// MetricKeysOfResource reads seq, key of every series of a resource,
	// by key. Args: resource seq.
	MetricKeysOfResource string
	// MetricKeysOfRun is MetricKeysOfResource for a run. Args: run seq.
	MetricKeysOfRun string
	// SummariesOfSet reads resource_seq, key, summary of the series of
	// many resources, its one argument the seqs as a JSON array, ordered by
	// resource_seq, key.
	SummariesOfSet string
	// SummariesOfSetKeys is SummariesOfSet restricted to the keys of its
	// second argument, a JSON array of strings.
	SummariesOfSetKeys string

	// InsertMetricTail adds one unsealed point. Args: series seq, ord,
	// step, time, value bits.
	InsertMetricTail string
	// MetricTailOf reads step, time, value of the unsealed points of a
	// series, in the order they were added (ord). Args: series seq.
	MetricTailOf string
	// DeleteMetricTail removes the unsealed points of a series. Args:
	// series seq.
	DeleteMetricTail string

	// InsertMetricBlock stores a sealed block. Args: series seq,
	// first_ord, count, min_step, max_step, min_time, max_time, summary,
	// data.
	InsertMetricBlock string
	// MetricBlocksIn reads first_ord, count, min_step, max_step,
	// min_time, max_time, summary (not data) of the blocks of a series that
	// may hold points in a step and time range, by first_ord. Args: series
	// seq, from step, to step, from time, to time.
	MetricBlocksIn string
	// MetricBlocksWithDataIn is MetricBlocksIn with each block's data.
	MetricBlocksWithDataIn string
	// MetricBlockRefsIn is MetricBlocksIn without the summary.
	MetricBlockRefsIn string
	// MetricBlockData reads the data of one block. Args: series seq,
	// first_ord.
	MetricBlockData string
	// MetricBlock reads first_ord, count, min_step, max_step, min_time,
	// max_time, summary, data of one block. Args: series seq, first_ord.
	MetricBlock string
	// MetricBlocksOfSeries reads first_ord, count, min_step, max_step,
	// min_time, max_time, summary of every block of a series, by
	// first_ord. Args: series seq.
	MetricBlocksOfSeries string
	// DeleteMetricBlock removes one block. Args: series seq, first_ord.
	DeleteMetricBlock string

	// CompactableMetricSeries lists, by seq, the series with more blocks
	// than their points need when each block is full. Args: points per
	// full block minus one, points per full block.
	CompactableMetricSeries string
	// AllMetricSeries reads, by seq, every series for verification: seq,
	// owner ("resource <id>", "run <id>", or "?" when the owner is
	// missing), key, count, tail, last_step, last_value, min_value,
	// max_value, summary.
	AllMetricSeries string
	// MetricTailStart reads the lowest ord of the unsealed points of a
	// series, NULL when there are none. Args: series seq.
	MetricTailStart string
}
