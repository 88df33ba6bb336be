package postgres_test

import (
	"testing"

	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testURL returns the URL of a new, empty database for t.
func testURL(t *testing.T) string { return pgtest.URL(t) }
