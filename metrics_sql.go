package metatrack

// The SQL of metric series, in one place (tables in
// schema/sqlite/0005_metrics.up.sql).

var (
	sqlSeriesOfResource = `SELECT seq, count, tail, summary FROM metric_series WHERE resource_seq = ? AND key = ?`
	sqlSeriesOfRun      = `SELECT seq, count, tail, summary FROM metric_series WHERE owner_run_seq = ? AND key = ?`
	sqlInsertSeries     = `INSERT INTO metric_series (resource_seq, owner_run_seq, key, count, last_step, last_value,
		min_value, max_value, tail, summary, run_seq, created_at, updated_at) VALUES (?, ?, ?, 0, 0, NULL, NULL, NULL, 0, x'', ?, ?, ?)`
	sqlUpdateSeries = `UPDATE metric_series SET count = ?, last_step = ?, last_value = ?, min_value = ?, max_value = ?,
		tail = ?, summary = ?, run_seq = ?, updated_at = ? WHERE seq = ?`
	sqlSummariesOfResource = `SELECT key, summary FROM metric_series WHERE resource_seq = ? ORDER BY key`
	sqlSummariesOfRun      = `SELECT key, summary FROM metric_series WHERE owner_run_seq = ? ORDER BY key`

	sqlInsertTail = `INSERT INTO metric_tail (series_seq, ord, step, time, value) VALUES (?, ?, ?, ?, ?)`
	sqlTailOf     = `SELECT step, time, value FROM metric_tail WHERE series_seq = ? ORDER BY ord`
	sqlDeleteTail = `DELETE FROM metric_tail WHERE series_seq = ?`

	sqlInsertBlock = `INSERT INTO metric_blocks (series_seq, first_ord, count, min_step, max_step, min_time, max_time,
		summary, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// sqlBlocksIn lists the blocks of a series that may hold points in a
	// step and time range, in the order they were sealed, without their data.
	sqlBlocksIn = `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary FROM metric_blocks
		WHERE series_seq = ? AND max_step >= ? AND min_step <= ? AND max_time >= ? AND min_time <= ? ORDER BY first_ord`
	// sqlBlocksWithData is sqlBlocksIn with each block's data.
	sqlBlocksWithData = `SELECT first_ord, count, min_step, max_step, min_time, max_time, summary, data FROM metric_blocks
		WHERE series_seq = ? AND max_step >= ? AND min_step <= ? AND max_time >= ? AND min_time <= ? ORDER BY first_ord`
	sqlBlockData = `SELECT data FROM metric_blocks WHERE series_seq = ? AND first_ord = ?`
)

var (
	// sqlSummariesOfSet reads the series of many resources (a JSON array of
	// seqs) in one statement; sqlSummariesOfSetKeys only those keys (a JSON
	// array of strings).
	sqlSummariesOfSet = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value FROM json_each(?)) ORDER BY resource_seq, key`
	sqlSummariesOfSetKeys = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?)) ORDER BY resource_seq, key`
)
