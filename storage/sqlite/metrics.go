package sqlite

// The metric store's statements (package storage/metricstore; the tables
// are schema/sqlite/0005_metrics.up.sql).

import (
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sharedsql"
)

// metricSQL holds the statements of the metric store: the texts both
// engines share, and SQLite's texts of the rest.
var metricSQL = func() storage.MetricStatements {
	s := sharedsql.Metric
	s.SummariesOfSet = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value FROM json_each(?)) ORDER BY resource_seq, key`
	s.SummariesOfSetKeys = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?)) ORDER BY resource_seq, key`
	// Integer division: a series of n points needs (n + full - 1) / full
	// blocks.
	s.CompactableMetricSeries = `SELECT series_seq FROM metric_blocks GROUP BY series_seq
		HAVING count(*) > (sum(count) + ?) / ? ORDER BY series_seq`
	return s
}()
