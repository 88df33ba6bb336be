package metatrack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// A batch of more tag writes than it holds back at once writes them in
// parts: a key set on both sides of a part's end records each change once,
// with the value it replaced, and each change keeps the time of its call.
func TestBatchManyTags(t *testing.T) {
	ctx := context.Background()
	clock := time.UnixMilli(1_700_000_000_000).UTC()
	tr := MustOpen(t, metatrack.WithClock(func() time.Time { return clock }))
	ds, err := tr.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	const calls = 10_000
	err = tr.Batch(ctx, func(b *metatrack.Tracker) error {
		for i := range calls {
			clock = clock.Add(time.Millisecond)
			// Keys k0..k9 take the values 0, 1, 2 in turn; every call
			// changes its key's value.
			if err := b.LogTag(ctx, ds, fmt.Sprintf("k%d", i%10), fmt.Sprint(i/10%3)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := tr.History(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	hist = hist[1:] // created
	if len(hist) != calls {
		t.Fatalf("%d changes, want %d", len(hist), calls)
	}
	start := time.UnixMilli(1_700_000_000_000)
	for i, c := range hist {
		want := metatrack.Change{Kind: metatrack.ChangeTag, Key: fmt.Sprintf("k%d", i%10), New: fmt.Sprint(i / 10 % 3)}
		if i >= 10 {
			want.Old = fmt.Sprint((i/10 - 1) % 3)
		}
		if c.Kind != want.Kind || c.Key != want.Key || c.Old != want.Old || c.New != want.New {
			t.Fatalf("change %d = %+v, want %+v", i, c, want)
		}
		if at := start.Add(time.Duration(i+1) * time.Millisecond); !c.At.Equal(at) {
			t.Fatalf("change %d at %v, want the time of its call %v", i, c.At, at)
		}
	}
	tags, err := tr.Tags(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 10 {
		if got, want := tags[fmt.Sprintf("k%d", k)], fmt.Sprint((calls/10-1)%3); got != want {
			t.Errorf("tag k%d = %q, want %q", k, got, want)
		}
	}
}
