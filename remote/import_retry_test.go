package remote_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

// loseFirstAnswer passes every request on, but loses the answer of the
// first import it sees, as a connection that breaks after the server
// committed would.
type loseFirstAnswer struct {
	mu       sync.Mutex
	imports  int
	replayed []string
}

func (l *loseFirstAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Path != "/api/v1/import" {
		return res, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.imports++
	l.replayed = append(l.replayed, res.Header.Get("Idempotent-Replayed"))
	if l.imports == 1 {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return res, nil
}

// TestImportRetry: an import from a file whose answer was lost is sent
// again with the same idempotency key and applied once: the retry gets the
// first import's counts, and the store holds each record once. An import
// from a stream that cannot be read again is not retried.
func TestImportRetry(t *testing.T) {
	ctx := context.Background()
	src, err := metatrack.Open(ctx, filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ds, _ := src.CreateResource(ctx, metatrack.TypeDataset, "d")
	for _, k := range []string{"a", "b", "c"} {
		if err := src.LogTag(ctx, ds, k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := src.Export(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	to, url := serve(t)
	lose := &loseFirstAnswer{}
	c := dial(t, url, remote.WithHTTPClient(&http.Client{Transport: lose}))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := c.Import(ctx, f, false)
	if err != nil {
		t.Fatalf("import with a lost answer: %v", err)
	}
	if lose.imports != 2 || lose.replayed[1] != "true" {
		t.Fatalf("%d imports sent, replayed %q; want the second a replay", lose.imports, lose.replayed)
	}
	if st.Added == 0 || st.Records == 0 {
		t.Errorf("the retry's counts %+v are not the first import's", st)
	}
	hist, err := to.History(ctx, ds)
	if err != nil || len(hist) != 4 {
		t.Fatalf("history after the retried import: %d entries, %v; want 4", len(hist), err)
	}
	// A second import of the same file, under a new key, changes nothing.
	f.Seek(0, io.SeekStart)
	again, err := c.Import(ctx, f, false)
	if err != nil || again.Added != 0 || again.Updated != 0 {
		t.Fatalf("importing the file again: %+v, %v; want nothing added", again, err)
	}

	// A plain stream is read once: its lost answer is an error.
	lose2 := &loseFirstAnswer{}
	c2 := dial(t, url, remote.WithHTTPClient(&http.Client{Transport: lose2}))
	_, err = c2.Import(ctx, struct{ io.Reader }{bytes.NewReader(buf.Bytes())}, false)
	if !errors.Is(err, io.ErrUnexpectedEOF) || lose2.imports != 1 {
		t.Fatalf("stream import with a lost answer: %v after %d tries; want the error after 1", err, lose2.imports)
	}
}
