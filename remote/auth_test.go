package remote_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/remote"
	"github.com/metatrack/metatrack/server"
)

// TestTokens: no token is 401, a read token writing is 403, a revoked
// token is 401, and the change log names the token behind each change.
func TestTokens(t *testing.T) {
	ctx := context.Background()
	var tr *metatrack.Tracker
	tr, url := serve(t, server.WithAuth(func(r *http.Request) (server.Role, string, error) {
		return server.TokenAuth(tr)(r)
	}))
	_, readSecret, err := tr.CreateToken(ctx, "reader", metatrack.RoleRead)
	if err != nil {
		t.Fatal(err)
	}
	_, writeSecret, err := tr.CreateToken(ctx, "trainer", metatrack.RoleWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.CreateToken(ctx, "trainer", metatrack.RoleRead); !errors.Is(err, metatrack.ErrAlreadyExists) {
		t.Fatalf("second token named trainer: %v", err)
	}
	toks, err := tr.Tokens(ctx)
	if err != nil || len(toks) != 2 {
		t.Fatalf("tokens = %v, %v", toks, err)
	}

	_, err = remote.Dial(ctx, url, remote.WithRetryFor(0))
	var aerr *api.Error
	if !errors.Is(err, api.ErrUnauthorized) || !errors.As(err, &aerr) || aerr.Status != 401 {
		t.Fatalf("no token: %v", err)
	}
	reader := dial(t, url, remote.WithToken(readSecret))
	writer := dial(t, url, remote.WithToken(writeSecret))
	ds, err := writer.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.LogTag(ctx, ds, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := reader.GetTag(ctx, ds, "k"); err != nil || v != "v" {
		t.Fatalf("reader GetTag = %q, %v", v, err)
	}
	err = reader.LogTag(ctx, ds, "k", "w")
	if !errors.Is(err, api.ErrForbidden) || !errors.As(err, &aerr) || aerr.Status != 403 {
		t.Fatalf("read token writing: %v", err)
	}
	if v, _ := tr.GetTag(ctx, ds, "k"); v != "v" {
		t.Fatalf("a refused write changed the tag to %q", v)
	}
	hist, err := tr.History(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range hist {
		if c.Actor != "trainer" {
			t.Fatalf("change %+v does not name its token", c)
		}
	}
	// The actor travels too.
	if rh, err := reader.History(ctx, ds); err != nil || rh[len(rh)-1].Actor != "trainer" {
		t.Fatalf("remote history = %+v, %v", rh, err)
	}
	if err := tr.RevokeToken(ctx, "trainer"); err != nil {
		t.Fatal(err)
	}
	if err := writer.LogTag(ctx, ds, "k", "x"); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}
	// A bad token in the header is 401 too; the description and health
	// need none.
	req, _ := http.NewRequest(http.MethodGet, url+"/api/openapi.json", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("openapi.json with auth: %d", res.StatusCode)
	}
}

// TestIdempotencyKey: a write sent twice with one key is applied once and
// both answers are the same.
func TestIdempotencyKey(t *testing.T) {
	tr, url := serve(t)
	send := func(key string) string {
		req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/CreateResource",
			strings.NewReader(`{"type":"dataset_version","name":"d","options":{}}`))
		req.Header.Set(api.HeaderIdempotencyKey, key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
		return string(b)
	}
	first, again := send("k1"), send("k1")
	if first != again {
		t.Fatalf("replay differs:\n%s\n%s", first, again)
	}
	third := send("k2")
	ctx := context.Background()
	vs, err := tr.Versions(ctx, metatrack.Resource{Type: metatrack.TypeDataset, Name: "d"})
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions after k1, k1, k2 = %v, %v (want 2)", vs, err)
	}
	if !strings.Contains(third, `"version":2`) {
		t.Fatalf("third = %s", third)
	}
	// A key reused for another operation is refused.
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/LogTag",
		strings.NewReader(`{"resource":"`+vs[0].ID+`","key":"a","value":"b"}`))
	req.Header.Set(api.HeaderIdempotencyKey, "k1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("key reused for another operation: %d", res.StatusCode)
	}
}
