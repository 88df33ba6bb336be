package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// TestFailedLoginsSlowDown: each failed login from an address waits
// longer, and past maxFailures the address is refused (429) before any
// token check, even with a valid token; other addresses are not.
func TestFailedLoginsSlowDown(t *testing.T) {
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, secret, err := tr.CreateToken(ctx, "ok", metatrack.RoleRead)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	auth := tokenAuth(tr, &limiter{failures: map[string][]time.Time{}, sleep: func(d time.Duration) { waits = append(waits, d) }})
	login := func(addr, token string) error {
		r := httptest.NewRequest("POST", "/api/v1/Stats", nil)
		r.RemoteAddr = addr + ":1234"
		r.Header.Set("Authorization", "Bearer "+token)
		_, _, err := auth(r)
		return err
	}
	for range maxFailures {
		if err := login("10.0.0.1", "mtk_wrong"); !errors.Is(err, api.ErrUnauthorized) {
			t.Fatalf("bad token: %v", err)
		}
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] || waits[i] > maxFailureDelay {
			t.Fatalf("waits = %v", waits)
		}
	}
	if len(waits) != maxFailures || waits[len(waits)-1] <= waits[0] {
		t.Fatalf("waits do not grow: %v", waits)
	}
	if err := login("10.0.0.1", secret); !errors.Is(err, api.ErrTooManyRequests) {
		t.Fatalf("after %d failures: %v", maxFailures, err)
	}
	if err := login("10.0.0.2", secret); err != nil {
		t.Fatalf("another address: %v", err)
	}
}
