package metatrack_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/metatracktest"
)

// MustOpen opens a tracker on a new database file in tb's temporary
// directory and closes it when the test ends.
func MustOpen(tb testing.TB, opts ...metatrack.Option) *metatrack.Tracker {
	tb.Helper()
	tr, err := metatrack.Open(context.Background(), filepath.Join(tb.TempDir(), "metatrack.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := tr.Close(); err != nil {
			tb.Error(err)
		}
	})
	return tr
}

func TestConformanceSQLite(t *testing.T) {
	metatracktest.Run(t, func(tb testing.TB) metatracktest.Tracker { return MustOpen(tb) })
}

// TestMetricSeriesSQLite runs the metric-series suite on SQLite files
// (storage/postgres runs it on PostgreSQL).
func TestMetricSeriesSQLite(t *testing.T) {
	metatracktest.RunMetricSeries(t, MustOpen)
}
