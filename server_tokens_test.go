package metatrack_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestIdempotencyKeyExpires: a key older than IdempotencyWindow is not
// replayed by Once or Recall, even while its row is still in the table.
func TestIdempotencyKeyExpires(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	tr := MustOpen(t, metatrack.WithClock(now))

	calls := 0
	fn := func(tx *metatrack.Tracker) ([]byte, error) { calls++; return []byte(`"ok"`), nil }
	if _, replayed, err := tr.Once(ctx, "k1", "op", fn); err != nil || replayed {
		t.Fatalf("first Once: replayed=%v err=%v", replayed, err)
	}
	advance(time.Hour)
	if _, replayed, err := tr.Once(ctx, "k1", "op", fn); err != nil || !replayed || calls != 1 {
		t.Fatalf("Once within the window: replayed=%v calls=%d err=%v", replayed, calls, err)
	}
	if _, ok, err := tr.Recall(ctx, "k1", "op"); err != nil || !ok {
		t.Fatalf("Recall within the window: ok=%v err=%v", ok, err)
	}

	advance(metatrack.IdempotencyWindow)
	if _, ok, err := tr.Recall(ctx, "k1", "op"); err != nil || ok {
		t.Fatalf("Recall after the window: ok=%v err=%v, want forgotten", ok, err)
	}
	// A different op under the expired key is no conflict: the key is forgotten.
	if _, ok, err := tr.Recall(ctx, "k1", "other"); err != nil || ok {
		t.Fatalf("Recall of another op after the window: ok=%v err=%v", ok, err)
	}
	if _, replayed, err := tr.Once(ctx, "k1", "op", fn); err != nil || replayed || calls != 2 {
		t.Fatalf("Once after the window: replayed=%v calls=%d err=%v, want fn run again", replayed, calls, err)
	}
}

// TestTokenNameTakenAfterRevoke: a revoked token keeps its name, and the
// error says so rather than suggesting revoking frees it.
func TestTokenNameTakenAfterRevoke(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	if _, _, err := tr.CreateToken(ctx, "ci", metatrack.RoleWrite); err != nil {
		t.Fatal(err)
	}
	if err := tr.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	_, _, err := tr.CreateToken(ctx, "ci", metatrack.RoleWrite)
	if !errors.Is(err, metatrack.ErrAlreadyExists) {
		t.Fatalf("CreateToken of a revoked name: %v, want ErrAlreadyExists", err)
	}
	if strings.Contains(err.Error(), "revoke it") {
		t.Fatalf("error %q suggests revoking, which does not free a name", err)
	}
	if !strings.Contains(err.Error(), "pick another name") {
		t.Fatalf("error %q does not say what to do", err)
	}
}
