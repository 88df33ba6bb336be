package remote_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/metatracktest"
	"github.com/metatrack/metatrack/remote"
	"github.com/metatrack/metatrack/server"
)

// serve starts a server over a new SQLite file on 127.0.0.1 and returns
// its tracker and URL.
func serve(tb testing.TB, opts ...server.Option) (*metatrack.Tracker, string) {
	tb.Helper()
	tr, err := metatrack.Open(context.Background(), filepath.Join(tb.TempDir(), "server.db"))
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

func dial(tb testing.TB, url string, opts ...remote.Option) *remote.Client {
	tb.Helper()
	c, err := remote.Dial(context.Background(), url, append([]remote.Option{remote.WithHTTPClient(&http.Client{Transport: validating(tb)})}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestConformance runs the conformance suite against the remote client of
// a real server over SQLite, every request and response checked against
// the OpenAPI description.
func TestConformance(t *testing.T) {
	metatracktest.Run(t, func(tb testing.TB) metatracktest.Tracker {
		_, url := serve(tb)
		return dial(tb, url)
	})
}
