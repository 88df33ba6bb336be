package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

// TestServe starts metatrack serve on a loopback port, checks /healthz,
// /metrics and the API through the remote client, and stops it as SIGTERM
// does (its context ends): it shuts down cleanly with exit 0.
func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "team.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--no-auth"}, strings.NewReader(""), pw, &lockedWriter{w: &stderr})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v", err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.Fields(line)[2]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serve printed %q", line)
	}
	get := func(path string) string {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	if got := get("/healthz"); got != "ok\n" {
		t.Fatalf("healthz = %q", got)
	}
	c, err := remote.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := c.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LogTag(ctx, ds, "k", "v"); err != nil {
		t.Fatal(err)
	}
	// The web UI is at /, open without a login under --no-auth.
	if page := get("/r/dataset/d"); !strings.Contains(page, "<title>dataset/d · metatrack</title>") || !strings.Contains(page, `<th scope="row">k</th><td>v</td>`) {
		t.Fatalf("the UI's page of dataset/d lacks its tag:\n%s", page)
	}
	// stats works against the server.
	if r := mustRun(t, "stats", "--db", url); !strings.Contains(r.stdout, url+" (") || !strings.Contains(r.stdout, "  dataset") {
		t.Fatalf("stats --db %s:\n%s", url, r.stdout)
	}
	if m := get("/metrics"); !strings.Contains(m, `metatrack_http_requests_total{code="200",op="LogTag"} 1`) {
		t.Fatalf("metrics lack the LogTag request:\n%s", m)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d", code)
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"request"`, `"op":"LogTag"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %s:\n%s", want, logs)
		}
	}
	// What was written through the server is in the file.
	tr, err := metatrack.Open(context.Background(), db, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if v, err := tr.GetTag(context.Background(), ds, "k"); err != nil || v != "v" {
		t.Fatalf("tag = %q, %v", v, err)
	}
}

func TestServeRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "team.db")
	r := run(t, "serve", "--db", db, "--addr", "0.0.0.0:0", "--no-auth")
	if r.code != exitUsage || !strings.Contains(r.stderr, "loopback") {
		t.Fatalf("--no-auth on 0.0.0.0: %d %s", r.code, r.stderr)
	}
	r = run(t, "serve", "--db", db, "--tls-cert", "c.pem")
	if r.code != exitUsage || !strings.Contains(r.stderr, "go together") {
		t.Fatalf("--tls-cert alone: %d %s", r.code, r.stderr)
	}
	r = mustRun(t, "serve", "--help")
	if !strings.Contains(r.stdout, "every command but\nthose that work on the database file itself") {
		t.Fatalf("serve --help does not say which commands work against a server: %s", r.stdout)
	}
	if !strings.Contains(r.stdout, "or the http(s):// URL of a metatrack serve") {
		t.Fatalf("--db help does not say that it takes a server URL: %s", r.stdout)
	}
	r = run(t, "verify", "--db", "http://127.0.0.1:7070")
	if r.code != exitUsage || !strings.Contains(r.stderr, "is a server") {
		t.Fatalf("verify --db http: %d %s", r.code, r.stderr)
	}
}

func TestTokenCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "team.db")
	r := mustRun(t, "token", "create", "--name", "trainer", "--role", "write", "--db", db)
	secret := strings.TrimSuffix(strings.Fields(r.stdout)[3], "\n")
	if !strings.HasPrefix(secret, metatrack.TokenPrefix) {
		t.Fatalf("create printed %q", r.stdout)
	}
	if r := run(t, "token", "create", "--name", "x", "--role", "superuser", "--db", db); r.code != exitUsage ||
		!strings.Contains(r.stderr, "read, write, admin") {
		t.Fatalf("role superuser: exit %d, stderr %q; want a usage error listing the roles", r.code, r.stderr)
	}
	r = mustRun(t, "token", "ls", "--db", db)
	if !strings.Contains(r.stdout, "CREATED (UTC)") {
		t.Fatalf("ls header is not marked UTC: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "trainer  write") || strings.Contains(r.stdout, secret) {
		t.Fatalf("ls = %q", r.stdout)
	}
	mustRun(t, "token", "revoke", "trainer", "--db", db)
	r = mustRun(t, "token", "ls", "--db", db, "-o", "json")
	if !strings.Contains(r.stdout, `"revoked_at": "`) {
		t.Fatalf("ls -o json after revoke = %s", r.stdout)
	}
	if r := run(t, "token", "revoke", "nobody", "--db", db); r.code != exitFailure {
		t.Fatalf("revoke nobody: %d", r.code)
	}
}

// lockedWriter lets the test read what the server logs while it logs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestServeFinishesInFlight: a request in flight when serve is told to
// stop (its context ends, as on SIGTERM) is finished and answered before
// serve returns; new connections are refused meanwhile.
func TestServeFinishesInFlight(t *testing.T) {
	db := filepath.Join(t.TempDir(), "team.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--no-auth"}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.Fields(line)[2]
	c, err := remote.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := c.CreateResource(ctx, metatrack.TypeDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	// An upload whose body the test holds open.
	body, feed := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, url+"/api/v1/artifact?resource="+ds.ID+"&name=slow.bin", body)
	answered := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		answered <- res
	}()
	// More than the sockets buffer: once this write returns, the handler
	// is reading the body, so the request is in flight.
	first := strings.Repeat("a", 8<<20)
	if _, err := feed.Write([]byte(first)); err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM
	// serve does not return while the upload is in flight.
	select {
	case code := <-done:
		t.Fatalf("serve returned %d with a request in flight", code)
	default:
	}
	feed.Write([]byte("second half"))
	feed.Close()
	res := <-answered
	if res == nil {
		t.FailNow()
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("in-flight upload: %d %s", res.StatusCode, b)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d", code)
	}
	tr, err := metatrack.Open(context.Background(), db, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, rc, err := tr.GetArtifact(context.Background(), ds, "slow.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != first+"second half" {
		t.Fatalf("stored %d bytes, want %d", len(got), len(first)+len("second half"))
	}
}
