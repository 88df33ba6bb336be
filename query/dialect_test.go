package query_test

import (
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/sqlite"
)

func init() {
	query.SetTestDialect(sqlite.Dialect{})
	query.SetTestPostgres(postgres.Dialect{})
	// The columns of a resource row, as the tracker scans them.
	names := []string{"seq", "id", "type", "name", "version", "parent_seq", "parent_id", "status", "attrs",
		"run_id", "created_at", "updated_at", "started_at", "ended_at", "deleted_at", "parent_ref"}
	lite, pg := (&sqlite.DB{}).SQL(), (&postgres.Engine{}).SQL()
	query.SetTestJoins(
		query.Join{Columns: lite.ResourceSelect, From: lite.ResourceJoins, Names: names},
		query.Join{Columns: pg.ResourceSelect, From: pg.ResourceJoins, Names: names})
}
