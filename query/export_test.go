package query

// testDialect is the SQLite dialect that the tests of this package compile
// with. It lives in storage/sqlite, which imports this package, so an
// external test file (dialect_test.go) sets it when the test binary starts.
var testDialect Dialect

// SetTestDialect sets the dialect of the package's own tests.
func SetTestDialect(d Dialect) { testDialect = d }

// SetTestPostgres sets the PostgreSQL dialect of the package's own tests.
func SetTestPostgres(d Dialect) { testPostgres = d }

// testJoin and testPostgresJoin are the engines' resource columns
// (storage.ResourceStatements.ResourceSelect and ResourceJoins), with
// which the tests run Compiled.Rows besides Seqs; dialect_test.go sets
// them, as it sets the dialects.
var testJoin, testPostgresJoin Join

// SetTestJoins sets the resource columns of the package's own tests on
// SQLite and on PostgreSQL.
func SetTestJoins(lite, pg Join) { testJoin, testPostgresJoin = lite, pg }
