package metatrack_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
)

// TestPortableActor: the actor of a change (the token behind a server's
// write) travels in the export's history entries (format version 3);
// import and merge keep it; a version-2 file, which has no actor, still
// imports, and one that names an actor is refused.
func TestPortableActor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := portOpen(t, filepath.Join(dir, "src.db"))
	ds, err := src.CreateResource(metatrack.WithActor(ctx, "trainer"), metatrack.TypeDataset, "iris")
	portCheck(t, err)
	portCheck(t, src.LogTag(ctx, ds, "by", "library")) // no actor
	var buf bytes.Buffer
	_, err = src.Export(ctx, &buf)
	portCheck(t, err)
	if !strings.Contains(buf.String(), `"actor":"trainer"`) {
		t.Fatalf("the export has no actor:\n%s", buf.String())
	}
	actors := func(tr *metatrack.Tracker) []string {
		t.Helper()
		h, err := tr.History(ctx, ds)
		portCheck(t, err)
		var out []string
		for _, c := range h {
			out = append(out, c.Kind+":"+c.Actor)
		}
		return out
	}
	want := strings.Join(actors(src), " ")
	if want != "created:trainer tag:" {
		t.Fatalf("source history actors: %s", want)
	}

	imp := portOpen(t, filepath.Join(dir, "imp.db"))
	_, err = imp.Import(ctx, bytes.NewReader(buf.Bytes()))
	portCheck(t, err)
	if got := strings.Join(actors(imp), " "); got != want {
		t.Errorf("after import: %s, want %s", got, want)
	}
	mergedPath := filepath.Join(dir, "merged.db")
	merged := portOpen(t, mergedPath)
	src.Close()
	_, err = merged.Merge(ctx, filepath.Join(dir, "src.db"))
	portCheck(t, err)
	if got := strings.Join(actors(merged), " "); got != want {
		t.Errorf("after merge: %s, want %s", got, want)
	}

	// The same file as version 2: without the actor it imports, with it
	// it is refused, naming the line.
	v2 := strings.Replace(buf.String(), `"version":3,`, `"version":2,`, 1)
	withActor := portOpen(t, filepath.Join(dir, "v2.db"))
	_, err = withActor.Import(ctx, strings.NewReader(v2))
	var le *portable.LineError
	if !errors.Is(err, portable.ErrInvalid) || !errors.As(err, &le) || !strings.Contains(err.Error(), "new in format version 3") {
		t.Fatalf("version-2 file with an actor: %v", err)
	}
	if n, _ := withActor.ListResources(ctx, metatrack.TypeDataset); len(n) != 0 {
		t.Errorf("a refused import wrote %v", n)
	}
	_, err = withActor.Import(ctx, strings.NewReader(strings.ReplaceAll(v2, `"actor":"trainer",`, "")))
	portCheck(t, err)
	if got := strings.Join(actors(withActor), " "); got != "created: tag:" {
		t.Errorf("version-2 import: %s", got)
	}
}
