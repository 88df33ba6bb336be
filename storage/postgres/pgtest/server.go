package pgtest

import "sync"

// server is the PostgreSQL the tests use: the harness's own (local) or an
// external one named by METATRACK_TEST_POSTGRES_URL (ext).
type server struct {
	adminURL string // superuser URL of the admin database
	ext      bool

	sharedOnce sync.Once // creates shared
	shared     string    // the database of SchemaURL's schemas
	sharedErr  error

	templatesMu sync.Mutex
	templates   map[string]*template // TemplateURL's, by key

	local
}
