package remote_test

import (
	"bytes"
	"context"
	"errors"
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
	t.Run("Rest", testRest)
	// Every operation of the description was called and checked.
	for _, e := range server.Endpoints() {
		seenMu.Lock()
		ok := seen[e.Op]
		seenMu.Unlock()
		if !ok {
			t.Errorf("operation %s was never checked against openapi.json", e.Op)
		}
	}
}

// testRest calls the operations the suite does not: deletion, aliases,
// query warnings, metadata removal, listings, export and import.
func testRest(t *testing.T) {
	ctx := context.Background()
	tr, url := serve(t)
	c := dial(t, url)
	mv, err := c.CreateResource(ctx, metatrack.TypeModelVersion, "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LogMetadata(ctx, mv, "auc", 0.9); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMetadata(ctx, mv, "auc"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMetadata(ctx, mv, "auc"); !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("deleted metadata: %v", err)
	}
	al, err := c.SetAlias(ctx, mv, "champion")
	if err != nil || al.Version.ID != mv.ID {
		t.Fatalf("SetAlias = %+v, %v", al, err)
	}
	if got, err := c.GetResource(ctx, "model_version/m@champion", ""); err != nil || got.ID != mv.ID {
		t.Fatalf("@champion = %+v, %v", got, err)
	}
	if als, err := c.Aliases(ctx, mv); err != nil || len(als) != 1 {
		t.Fatalf("Aliases = %+v, %v", als, err)
	}
	if err := c.RemoveAlias(ctx, metatrack.Resource{ID: mv.ParentID}, "champion"); err != nil {
		t.Fatal(err)
	}
	if ws, err := c.QueryWarnings(ctx, "status = 'x' AND status = 'y'"); err != nil {
		t.Fatalf("QueryWarnings = %v, %v", ws, err)
	}
	if rs, err := c.ListResources(ctx, metatrack.TypeModelVersion); err != nil || len(rs) != 1 {
		t.Fatalf("ListResources = %v, %v", rs, err)
	}
	gone, err := c.DeleteResource(ctx, mv)
	if err != nil || len(gone) != 1 {
		t.Fatalf("DeleteResource = %v, %v", gone, err)
	}
	_, err = c.GetResource(ctx, mv.ID, "")
	if !errors.Is(err, metatrack.ErrDeleted) || !errors.Is(err, metatrack.ErrNotFound) {
		t.Fatalf("deleted resource: %v", err)
	}
	if back, err := c.RestoreResource(ctx, mv); err != nil || len(back) != 1 {
		t.Fatalf("RestoreResource = %v, %v", back, err)
	}
	var buf bytes.Buffer
	if _, err := c.Export(ctx, &buf, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(ctx, &buf, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetResourceRef(ctx, mv); err != nil {
		t.Fatal(err)
	}
	// The server without auth makes every caller admin: it may list tokens.
	if _, _, err := tr.CreateToken(ctx, "ci", metatrack.RoleRead); err != nil {
		t.Fatal(err)
	}
	if toks, err := c.Tokens(ctx); err != nil || len(toks) != 1 || toks[0].Name != "ci" || toks[0].Role != metatrack.RoleRead {
		t.Fatalf("Tokens = %+v, %v", toks, err)
	}
}
