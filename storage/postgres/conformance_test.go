package postgres_test

import (
	"context"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/metatracktest"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// TestConformance runs the conformance suite against the tracker on
// PostgreSQL, each test in a schema of its own.
func TestConformance(t *testing.T) {
	metatracktest.Run(t, func(tb testing.TB) metatracktest.Tracker {
		tr, err := metatrack.Open(context.Background(), pgtest.SchemaURL(tb))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { tr.Close() })
		return tr
	})
}

// TestMetricSeries runs the metric-series suite against the tracker on
// PostgreSQL, each test in a schema of its own.
func TestMetricSeries(t *testing.T) {
	metatracktest.RunMetricSeries(t, func(tb testing.TB, opts ...metatrack.Option) *metatrack.Tracker {
		tr, err := metatrack.Open(context.Background(), pgtest.SchemaURL(tb), opts...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if err := tr.Close(); err != nil {
				tb.Error(err)
			}
		})
		return tr
	})
}
