package remote_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/server"
)

// TestStructuredErrors: an error with structure arrives whole: errors.As
// finds the *AmbiguousError with its candidates, the *query.Error with its
// position, the *portable.LineError with its line, each as the library
// gives it, and the message is the library's.
func TestStructuredErrors(t *testing.T) { testStructuredErrors(t, serve) }

// testStructuredErrors runs the test on the server serve starts.
func testStructuredErrors(t *testing.T, serve func(testing.TB, ...server.Option) (*metatrack.Tracker, string)) {
	ctx := context.Background()
	tr, url := serve(t)
	c := dial(t, url)
	for range 2 {
		mv, err := c.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateResource(ctx, metatrack.TypeExperiment, "trial-1", metatrack.WithParent(mv.ID)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Ambiguous", func(t *testing.T) {
		_, lib := tr.GetResource(ctx, "experiment/trial-1", "")
		_, err := c.GetResource(ctx, "experiment/trial-1", "")
		var want, got *metatrack.AmbiguousError
		if !errors.As(lib, &want) {
			t.Fatalf("library: %v", lib)
		}
		if !errors.Is(err, metatrack.ErrAmbiguous) || !errors.As(err, &got) {
			t.Fatalf("remote: %v, want an *AmbiguousError", err)
		}
		if err.Error() != lib.Error() || got.Error() != want.Error() || got.Ref != want.Ref || got.More != want.More || len(got.Candidates) != 2 {
			t.Fatalf("remote %+v\n%v\nlibrary %+v\n%v", got, err, want, lib)
		}
		for i, cand := range got.Candidates {
			w := want.Candidates[i]
			if cand.ID != w.ID || cand.Ref() != w.Ref() || !cand.CreatedAt.Equal(w.CreatedAt) {
				t.Errorf("candidate %d: %s %s, want %s %s", i, cand.ID, cand.Ref(), w.ID, w.Ref())
			}
		}
		// A candidate's reference resolves over the wire.
		if r, err := c.GetResource(ctx, got.Candidates[1].Ref(), ""); err != nil || r.ID != want.Candidates[1].ID {
			t.Errorf("candidate 1: %v %v", r.Ref(), err)
		}
	})

	t.Run("Query", func(t *testing.T) {
		const q = "type = 'experiment' AND\n  tags.stage = "
		_, lib := tr.Search(ctx, q)
		_, err := c.Search(ctx, q)
		var want, got *query.Error
		if !errors.As(lib, &want) || want.Line != 2 {
			t.Fatalf("library: %v", lib)
		}
		if !errors.Is(err, metatrack.ErrInvalidQuery) || !errors.Is(err, metatrack.ErrInvalidArgument) || !errors.As(err, &got) {
			t.Fatalf("remote: %v, want a *query.Error", err)
		}
		if got.Offset != want.Offset || got.Line != want.Line || got.Column != want.Column || got.Msg != want.Msg || got.Snippet != want.Snippet {
			t.Errorf("remote %+v, library %+v", got, want)
		}
		if err.Error() != lib.Error() || got.Error() != want.Error() {
			t.Errorf("remote message\n%v\nlibrary\n%v", err, lib)
		}
	})

	t.Run("ExportLine", func(t *testing.T) {
		var exp bytes.Buffer
		if _, err := tr.Export(ctx, &exp); err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(exp.String(), "\n")
		lines[2] = "{\"kind\":\"resource\",\"nonsense\":\n"
		bad := strings.Join(lines, "")
		_, lib := tr.Import(ctx, strings.NewReader(bad))
		_, err := c.Import(ctx, strings.NewReader(bad), false)
		var want, got *portable.LineError
		if !errors.As(lib, &want) || want.Line != 3 {
			t.Fatalf("library: %v", lib)
		}
		if !errors.Is(err, portable.ErrInvalid) || !errors.Is(err, metatrack.ErrInvalidArgument) || !errors.As(err, &got) {
			t.Fatalf("remote: %v, want a *portable.LineError", err)
		}
		if got.Line != want.Line || got.Kind != want.Kind || got.Error() != want.Error() || err.Error() != lib.Error() {
			t.Errorf("remote %+v: %v\nlibrary %+v: %v", got, err, want, lib)
		}
	})
}
