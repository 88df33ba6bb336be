package ui_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/demo"
	"github.com/metatrack/metatrack/ui"
)

// demoStore is a database filled by the demo (three rounds), made once
// per test binary and opened by each test.
type demoStore struct {
	path string
	sum  demo.Summary
}

var (
	demoOnce sync.Once
	demoDB   demoStore
	demoErr  error
)

// demoDir holds the demo database for the whole test binary; TestMain
// removes it.
var demoDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metatrack-ui-test-")
	if err != nil {
		panic(err)
	}
	demoDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// openDemo returns a tracker on a copy of the demo database.
func openDemo(t *testing.T) (*metatrack.Tracker, demo.Summary) {
	t.Helper()
	ctx := context.Background()
	demoOnce.Do(func() {
		path := filepath.Join(demoDir, "demo.db")
		tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("demo"))
		if err != nil {
			demoErr = err
			return
		}
		sum, err := demo.Run(ctx, tr, filepath.Join(demoDir, "work"), nil)
		if err == nil {
			err = tr.Close()
		}
		demoDB, demoErr = demoStore{path: path, sum: sum}, err
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	path := filepath.Join(t.TempDir(), "demo.db")
	b, err := os.ReadFile(demoDB.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := metatrack.Open(ctx, path, metatrack.WithRunName("ui test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, demoDB.sum
}

// serve serves h on a loopback port until the test ends and returns its
// base URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

// serveUI serves the UI of tr.
func serveUI(t *testing.T, tr *metatrack.Tracker, opts ...ui.Option) string {
	return serve(t, ui.New(tr, opts...))
}
