package remote_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/remote"
	"github.com/metatrack/metatrack/server"
)

// TestOpenTakesItsOptions: Open reads no environment (the token comes
// through WithToken), passes WithTrackerOptions to a local file, and
// OpenFromEnv is the one call that reads METATRACK_URL and METATRACK_TOKEN.
func TestOpenTakesItsOptions(t *testing.T) {
	ctx := context.Background()
	var tr *metatrack.Tracker
	tr, url := serve(t, server.WithAuth(func(r *http.Request) (server.Role, string, error) {
		return server.TokenAuth(tr)(r)
	}))
	_, secret, err := tr.CreateToken(ctx, "trainer", metatrack.RoleWrite)
	if err != nil {
		t.Fatal(err)
	}
	closeIt := func(m metatrack.MetadataTracker) {
		if c, ok := m.(io.Closer); ok {
			c.Close()
		}
	}

	t.Setenv(remote.EnvToken, secret)
	if m, err := remote.Open(ctx, url, remote.WithRetryFor(0)); !errors.Is(err, api.ErrUnauthorized) || m != nil {
		if err == nil {
			closeIt(m)
		}
		t.Fatalf("Open without WithToken: %v, %v, want unauthorized and a nil Store (Open must not read %s)", m, err, remote.EnvToken)
	}
	// A failed Open of a file is a nil Store too, not a nil *Tracker in one.
	if m, err := remote.Open(ctx, filepath.Join(t.TempDir(), "no-dir", "x.db")); err == nil || m != nil {
		t.Fatalf("Open of a file in a missing directory = %v, %v", m, err)
	}
	m, err := remote.Open(ctx, url, remote.WithToken(secret))
	if err != nil {
		t.Fatalf("Open with WithToken: %v", err)
	}
	closeIt(m)

	t.Setenv(remote.EnvURL, url)
	m, err = remote.OpenFromEnv(ctx)
	if err != nil {
		t.Fatalf("OpenFromEnv: %v", err)
	}
	if _, err := m.CreateResource(ctx, metatrack.TypeDataset, "from-env"); err != nil {
		t.Fatalf("write through OpenFromEnv: %v", err)
	}
	closeIt(m)
	t.Setenv(remote.EnvURL, "")
	if _, err := remote.OpenFromEnv(ctx); !errors.Is(err, metatrack.ErrInvalidArgument) {
		t.Fatalf("OpenFromEnv without %s: %v", remote.EnvURL, err)
	}

	path := filepath.Join(t.TempDir(), "local.db")
	m, err = remote.Open(ctx, path, remote.WithToken("ignored"), remote.WithTrackerOptions(metatrack.WithRunName("trainer-local")))
	if err != nil {
		t.Fatal(err)
	}
	defer closeIt(m)
	lt, ok := m.(*metatrack.Tracker)
	if !ok {
		t.Fatalf("Open of a file = %T, want *metatrack.Tracker", m)
	}
	if got := lt.Run().Name; got != "trainer-local" {
		t.Fatalf("run name = %q: WithTrackerOptions did not reach metatrack.Open", got)
	}
}
