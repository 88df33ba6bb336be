package remote_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/metatracktest"
	"github.com/metatrack/metatrack/server"
	_ "github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// servePostgres starts a server over a new PostgreSQL store (a schema of
// its own) on 127.0.0.1.
func servePostgres(tb testing.TB, opts ...server.Option) (*metatrack.Tracker, string) {
	tb.Helper()
	tr, err := metatrack.Open(context.Background(), pgtest.SchemaURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(server.New(tr, opts...))
	tb.Cleanup(func() {
		srv.Close()
		tr.Close()
	})
	return tr, srv.URL
}

// TestClientRunPostgres: client runs and actors with the server over
// PostgreSQL.
func TestClientRunPostgres(t *testing.T) { testClientRun(t, servePostgres) }

// TestStructuredErrorsPostgres: structured errors with the server over
// PostgreSQL.
func TestStructuredErrorsPostgres(t *testing.T) { testStructuredErrors(t, servePostgres) }

// TestLoadPostgres: 16 concurrent clients against one server over
// PostgreSQL: no errors, every acknowledged write present, the shared
// chain gap-free.
func TestLoadPostgres(t *testing.T) {
	u := pgtest.SchemaURL(t)
	tr, err := metatrack.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(tr))
	t.Cleanup(func() {
		srv.Close()
		tr.Close()
	})
	begin := time.Now()
	ack := load(t, srv.URL, writes(), nil)
	t.Logf("16 clients x %d writes over PostgreSQL in %v", writes(), time.Since(begin).Round(time.Millisecond))
	check(t, u, ack)
}

// TestConformancePostgres runs the conformance suite against the remote
// client of a real server over PostgreSQL.
func TestConformancePostgres(t *testing.T) {
	metatracktest.Run(t, func(tb testing.TB) metatracktest.Tracker {
		_, url := servePostgres(tb)
		return dial(tb, url)
	})
}
