package postgres_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// children are the roles that copies of this test binary play for the
// tests that start real processes. The parent names the role by setting
// its environment variable to the store's URL; the copy then runs that role
// instead of the tests, and exits 1 with the error if it fails.
var children = map[string]func(url string) error{
	"PGENGINE_CHILD_OPEN":    childOpen,
	"PGENGINE_CHILD_WRITE":   childWrite,
	"PGENGINE_CHILD_RESTART": childRestartWriter,
	"PGENGINE_CHILD_CHAIN":   childChain,
}

func TestMain(m *testing.M) {
	for env, role := range children {
		if u := os.Getenv(env); u != "" {
			flag.Parse()
			if err := role(u); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", env, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	pgtest.Main(m)
}

// testURL returns the URL of a new, empty database for t.
func testURL(t *testing.T) string { return pgtest.URL(t) }
