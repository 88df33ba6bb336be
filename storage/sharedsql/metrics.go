package sharedsql

import "github.com/metatrack/metatrack/storage"

// blocksInRange is the condition of the blocks of a series that may hold
// points in a step and time range.
const blocksInRange = `WHERE series_seq = ? AND max_step >= ? AND min_step <= ? AND max_time >= ? AND min_time <= ? ORDER BY first_ord`

// Metric holds the statements of the metric store (package
// storage/metricstore) that both engines run as written; each engine sets
// the rest (SummariesOfSet, SummariesOfSetKeys, CompactableMetricSeries)
// in its own words.
var Metric = storage.MetricStatements{
	MetricSeriesOfResource: `SELECT seq, count, tail, summary FROM metric_series WHERE resource_seq = ? AND key = ?`,
	MetricSeriesOfRun:      `SELECT seq, count, tail, summary FROM metric_series WHERE owner_run_seq = ? AND key = ?`,
	// RETURNING and a bound empty summary, rather than LastInsertId and
	// x'', are what both engines speak.
	InsertMetricSeries: `INSERT INTO metric_series (resource_seq, owner_run_seq, key, count, last_step, last_value,
		min_value, max_value, tail, summary, run_seq, created_at, updated_at) VALUES (?, ?, ?, 0, 0, NULL, NULL, NULL, 0, ?, ?, ?, ?) RETURNING seq`,
	UpdateMetricSeries: `UPDATE metric_series SET count = ?, last_step = ?, last_value = ?, min_value = ?, max_value = ?,
		tail = ?, summary = ?, run_seq = ?, updated_at = ? WHERE seq = ?`,
	MetricSummariesOfResource: `SELECT key, summary FROM metric_series WHERE resource_seq = ? ORDER BY key`,
	MetricSummariesOfRun:      `SELECT key, summary FROM metric_series WHERE owner_run_seq = ? ORDER BY key`,
	MetricKeysOfResource:      `SELECT seq, key FROM metric_series WHERE resource_seq = ? ORDER BY key`,
	MetricKeysOfRun:           `SELECT seq, key FROM metric_series WHERE owner_run_seq = ? ORDER BY key`,

	InsertMetricTail: `INSERT INTO metric_tail (series_seq, ord, step, time, value) VALUES (?, ?, ?, ?, ?)`,
	MetricTailOf:     `SELECT step, time, value FROM metric_tail WHERE series_seq = ? ORDER BY ord`,
	DeleteMetricTail: `DELETE FROM metric_tail WHERE series_seq = ?`,

	InsertMetricBlock: `INSERT INTO metric_blocks (series_seq, first_ord, count, min_step, max_step, min_time, max_time,
		summary, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	MetricBlocksIn: `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary FROM metric_blocks
		` + blocksInRange,
	MetricBlocksWithDataIn: `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary, data FROM metric_blocks
		` + blocksInRange,
	MetricBlockRefsIn: `SELECT first_ord, count, min_step, max_step, min_time, max_time FROM metric_blocks
		` + blocksInRange,
	MetricBlockData: `SELECT data FROM metric_blocks WHERE series_seq = ? AND first_ord = ?`,
	MetricBlock: `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary, data FROM metric_blocks
		WHERE series_seq = ? AND first_ord = ?`,
	MetricBlocksOfSeries: `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary
		FROM metric_blocks WHERE series_seq = ? ORDER BY first_ord`,
	DeleteMetricBlock: `DELETE FROM metric_blocks WHERE series_seq = ? AND first_ord = ?`,

	AllMetricSeries: `SELECT ms.seq, coalesce('resource '||r.id, 'run '||run.id, '?') AS owner, ms.key,
		ms.count, ms.tail, ms.last_step, ms.last_value, ms.min_value, ms.max_value, ms.summary
		FROM metric_series ms LEFT JOIN resources r ON r.seq = ms.resource_seq LEFT JOIN runs run ON run.seq = ms.owner_run_seq
		ORDER BY ms.seq`,
	MetricTailStart: `SELECT min(ord) FROM metric_tail WHERE series_seq = ?`,
}
