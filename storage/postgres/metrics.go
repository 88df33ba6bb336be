package postgres

// The metric store's statements (package storage/metricstore; the tables
// are schema/postgres/0005_metrics.up.sql).

import (
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sharedsql"
)

// metricSQL holds the statements of the metric store: the texts both
// engines share, and PostgreSQL's texts of the rest.
var metricSQL = func() storage.MetricStatements {
	s := sharedsql.Metric
	s.SummariesOfSet = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb)) ORDER BY resource_seq, key`
	s.SummariesOfSetKeys = `SELECT resource_seq, key, summary FROM metric_series
		WHERE resource_seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb))
		AND key IN (SELECT value FROM jsonb_array_elements_text(?::jsonb)) ORDER BY resource_seq, key`
	// sum of a bigint is numeric, whose division is not integer division:
	// back to bigint first, so that a series of n points needs
	// (n + full - 1) / full blocks, rounded down.
	s.CompactableMetricSeries = `SELECT series_seq FROM metric_blocks GROUP BY series_seq
		HAVING count(*) > (sum(count)::bigint + ?) / ? ORDER BY series_seq`
	return s
}()
