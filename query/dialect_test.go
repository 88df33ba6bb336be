package query_test

import (
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/sqlite"
)

func init() {
	query.SetTestDialect(sqlite.Dialect{})
	query.SetTestPostgres(postgres.Dialect{})
}
