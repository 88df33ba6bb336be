package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/server"
)

// tokens are the secrets of a test server's tokens, by role.
type tokens map[string]string

// serveFile serves the database file db on 127.0.0.1 with token auth and
// returns the server's URL and a token of each role. With a nil clock the
// server opens the file read-only, so that the commands run against it
// and against the file see the same bytes; else it writes as a run
// "metatrack serve" on that clock.
func serveFile(t *testing.T, db string, clock func() time.Time) (string, tokens) {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, db, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	toks := tokens{}
	for role, name := range map[string]string{metatrack.RoleRead: "reader", metatrack.RoleWrite: "writer", metatrack.RoleAdmin: "admin"} {
		_, secret, err := tr.CreateToken(ctx, name, role)
		if err != nil {
			t.Fatal(err)
		}
		toks[role] = secret
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	opts := []metatrack.Option{metatrack.WithReadOnly(), metatrack.WithClock(func() time.Time { return fixtureNow })}
	if clock != nil {
		opts = []metatrack.Option{metatrack.WithRunName("metatrack serve"), metatrack.WithClock(clock)}
	}
	srvTr, err := metatrack.Open(ctx, db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(srvTr, server.WithAuth(server.TokenAuth(srvTr))))
	t.Cleanup(func() {
		srv.Close()
		srvTr.Close()
	})
	return srv.URL, toks
}

// runBoth runs args against the file db and against the server at url
// with token, and fails t unless both exit alike and print the same (the
// server's URL read as the file's path).
func runBoth(t *testing.T, db, url, token string, args ...string) result {
	t.Helper()
	local := runFixture(t, append(args, "--db", db)...)
	far := runFixture(t, append(args, "--db", url, "--token", token)...)
	far.stdout = strings.ReplaceAll(far.stdout, url, db)
	far.stderr = strings.ReplaceAll(far.stderr, url, db)
	cmd := "metatrack " + strings.Join(args, " ")
	if far.code != local.code {
		t.Fatalf("%s: exit %d against the server, %d on the file\nserver stderr:\n%s\nfile stderr:\n%s", cmd, far.code, local.code, far.stderr, local.stderr)
	}
	if far.stdout != local.stdout {
		t.Errorf("%s: stdout differs against the server:\n%s", cmd, lineDiff(local.stdout, far.stdout))
	}
	if far.stderr != local.stderr {
		t.Errorf("%s: stderr differs against the server:\n%s", cmd, lineDiff(local.stderr, far.stderr))
	}
	return local
}

// TestRemoteGolden runs every golden case against a server over the
// fixture, with a read token, and checks that it prints what the same
// command prints on the file; the commands that need the file refuse.
func TestRemoteGolden(t *testing.T) {
	dir := t.TempDir()
	for _, fx := range []struct {
		name  string
		db    string
		cases []goldenCase
	}{
		{"fixture", buildFixture(t, filepath.Join(dir)), goldenCases},
		{"metrics", buildMetricsFixture(t, dir), goldenMetricsCases},
	} {
		url, toks := serveFile(t, fx.db, nil)
		before, err := os.ReadFile(fx.db)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range fx.cases {
			t.Run(fx.name+"/"+tc.name, func(t *testing.T) {
				if _, ok := fileOnly[tc.args[0]]; ok {
					r := runFixture(t, append(tc.args, "--db", url, "--token", toks[metatrack.RoleRead])...)
					if r.code != exitUsage || !strings.Contains(r.stderr, "needs the database file") {
						t.Fatalf("%s against a server: exit %d\n%s", tc.args[0], r.code, r.stderr)
					}
					return
				}
				runBoth(t, fx.db, url, toks[metatrack.RoleRead], tc.args...)
			})
		}
		after, err := os.ReadFile(fx.db)
		if err != nil {
			t.Fatal(err)
		}
		if string(before) != string(after) {
			t.Errorf("%s: the read commands through the server changed the file", fx.name)
		}
	}
}

// workflow runs the steps of a golden workflow on db: on the file itself,
// or through a server over it with a write token (the commands that need
// the file still run on it, as on the server's machine). Each step runs
// at its own time, the server's clock with it.
type workflow struct {
	t     *testing.T
	db    string
	url   string
	token string
	at    atomic.Pointer[time.Time]
}

func newWorkflow(t *testing.T, db string, viaServer bool) *workflow {
	w := &workflow{t: t, db: db}
	at := fixtureNow
	w.at.Store(&at)
	if viaServer {
		var toks tokens
		w.url, toks = serveFile(t, db, func() time.Time { return *w.at.Load() })
		w.token = toks[metatrack.RoleWrite]
	}
	return w
}

// now returns the time of the current step.
func (w *workflow) now() time.Time { return *w.at.Load() }

// advance moves the clock on by d.
func (w *workflow) advance(d time.Duration) {
	at := w.now().Add(d)
	w.at.Store(&at)
}

// run runs args at the current time and returns its exit code and output,
// the server's URL read as the file's path.
func (w *workflow) run(args ...string) result {
	var stdout, stderr bytes.Buffer
	a := fixtureApp(&stdout, &stderr)
	now := w.now()
	a.now = func() time.Time { return now }
	db := []string{"--db", w.db}
	if _, ok := fileOnly[args[0]]; w.url != "" && !ok {
		db = []string{"--db", w.url, "--token", w.token}
	}
	code := a.execute(context.Background(), append(args, db...))
	r := result{code, stdout.String(), stderr.String()}
	if w.url != "" {
		r.stdout = strings.ReplaceAll(r.stdout, w.url, w.db)
		r.stderr = strings.ReplaceAll(r.stderr, w.url, w.db)
	}
	return r
}

// viaServer reports whether the workflow goes through a server.
func (w *workflow) viaServer() bool { return w.url != "" }

// TestRemoteTransfer: export, import, merge, artifacts get --out and
// token ls through a server give what they give on a file; the roles
// they need are enforced.
func TestRemoteTransfer(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	url, toks := serveFile(t, db, nil)
	admin, read := toks[metatrack.RoleAdmin], toks[metatrack.RoleRead]
	path := func(name string) string { return filepath.Join(dir, name) }
	file := func(name string) string {
		b, err := os.ReadFile(path(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	same := func(what string, far, local result, farFile, localFile string) {
		t.Helper()
		if far.code != exitOK || local.code != exitOK {
			t.Fatalf("%s: exit %d through the server, %d on the file\n%s\n%s", what, far.code, local.code, far.stderr, local.stderr)
		}
		got := strings.NewReplacer(url, db, farFile, localFile).Replace(far.stdout)
		if got != local.stdout {
			t.Errorf("%s: the server's output differs:\n%s", what, lineDiff(local.stdout, got))
		}
	}

	// Export, all of it and a selection without lineage: the same bytes.
	for _, args := range [][]string{{"export"}, {"export", "--filter", "type = 'model_version'", "--no-lineage"}} {
		local := runFixture(t, append(args, "--out", path("local.jsonl"), "--db", db)...)
		far := runFixture(t, append(args, "--out", path("far.jsonl"), "--db", url, "--token", admin)...)
		same(strings.Join(args, " "), far, local, path("far.jsonl"), path("local.jsonl"))
		if file("far.jsonl") != file("local.jsonl") {
			t.Errorf("%s: the server's export differs from the file's:\n%s", strings.Join(args, " "), lineDiff(file("local.jsonl"), file("far.jsonl")))
		}
	}
	r := runFixture(t, "export", "--db", url, "--token", read)
	if r.code != exitFailure || !strings.Contains(r.stderr, "Export needs a admin token; this one is read") || r.stdout != "" {
		t.Fatalf("export with a read token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Import the export, and merge the file, into empty stores: the
	// server ends with what the file ends with.
	runFixture(t, "export", "--out", path("all.jsonl"), "--db", db)
	for _, args := range [][]string{{"import", path("all.jsonl")}, {"merge", db, "--dry-run"}, {"merge", db}} {
		name := args[0] + strings.Join(args[2:], "")
		empty := path(name + "-server.db")
		emptyURL, emptyToks := serveFile(t, empty, func() time.Time { return fixtureNow })
		if tr, err := metatrack.Open(context.Background(), path(name+"-file.db"), metatrack.WithoutRun()); err != nil || tr.Close() != nil {
			t.Fatal(err)
		}
		local := runFixture(t, append(args, "--db", path(name+"-file.db"))...)
		far := runFixture(t, append(args, "--db", emptyURL, "--token", emptyToks[metatrack.RoleAdmin])...)
		local.stdout = strings.TrimPrefix(local.stdout, "Created "+path(name+"-file.db")+".\n")
		same(strings.Join(args, " "), far, local, emptyURL, path(name+"-file.db"))
		lsLocal := runFixture(t, "ls", "-o", "json", "--all", "--db", path(name+"-file.db"))
		lsFar := runFixture(t, "ls", "-o", "json", "--all", "--db", emptyURL, "--token", emptyToks[metatrack.RoleRead])
		if lsFar.stdout != lsLocal.stdout || lsLocal.code != exitOK {
			t.Errorf("%s: the server holds other resources than the file:\n%s", name, lineDiff(lsLocal.stdout, lsFar.stdout))
		}
		if strings.Contains(name, "dry") == (strings.Count(lsFar.stdout, `"ref"`) > 0) {
			t.Errorf("%s: the server holds %d resources", name, strings.Count(lsFar.stdout, `"ref"`))
		}
		r := runFixture(t, append(args, "--db", emptyURL, "--token", emptyToks[metatrack.RoleWrite])...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "needs a admin token") {
			t.Errorf("%s with a write token: exit %d\n%s", name, r.code, r.stderr)
		}
	}

	// An artifact to a file.
	local := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "model.json", "--out", path("local.json"), "--db", db)
	far := runFixture(t, "artifacts", "get", "model_version/titanic_model@2", "model.json", "--out", path("far.json"), "--db", url, "--token", read)
	same("artifacts get --out", far, local, path("far.json"), path("local.json"))
	if file("far.json") != file("local.json") || file("local.json") == "" {
		t.Errorf("the artifact downloaded through the server differs")
	}

	// The tokens, to an admin.
	local = runFixture(t, "token", "ls", "--db", db)
	far = runFixture(t, "token", "ls", "--db", url, "--token", admin)
	same("token ls", far, local, "", "")
	if !strings.Contains(local.stdout, "reader") {
		t.Errorf("token ls:\n%s", local.stdout)
	}
	if r := runFixture(t, "token", "ls", "--db", url, "--token", read); r.code != exitFailure || !strings.Contains(r.stderr, "needs a admin token") {
		t.Errorf("token ls with a read token: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRemoteRefusals: a read token cannot write, no token is refused, and
// each command that needs the database file says so, why, and what to do
// instead, with the usage exit code and nothing printed on stdout.
func TestRemoteRefusals(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	url, toks := serveFile(t, db, func() time.Time { return fixtureNow })
	r := runFixture(t, "alias", "set", "model_version/titanic_model@2", "champion", "--db", url, "--token", toks[metatrack.RoleRead])
	if r.code != exitFailure || !strings.Contains(r.stderr, "SetAlias needs a write token; this one is read") {
		t.Fatalf("alias set with a read token: exit %d\n%s", r.code, r.stderr)
	}
	r = runFixture(t, "ls", "--db", url)
	if r.code != exitFailure || !strings.Contains(r.stderr, "unauthorized") {
		t.Fatalf("ls without a token: exit %d\n%s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"backup", path0(dir, "b.db")}, {"verify"}, {"gc"}, {"upgrade"}, {"serve"}, {"demo"},
		{"token", "create", "--name", "x", "--role", "read"}, {"token", "revoke", "reader"},
	} {
		name := strings.Join(args[:min(2, len(args))], " ")
		if args[0] != "token" {
			name = args[0]
		}
		r := runFixture(t, append(args, "--db", url, "--token", toks[metatrack.RoleAdmin])...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "this command needs the database file: --db "+url+" is a server, and "+name+" ") ||
			!strings.Contains(r.stderr, "--db FILE") && !strings.Contains(r.stderr, "restarting") && !strings.Contains(r.stderr, "names the store to serve") {
			t.Errorf("%s against a server: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
	}
}

func path0(dir, name string) string { return filepath.Join(dir, name) }

// TestRemoteCursorsPlotsCompletion: a cursor continues the same listing
// through a server, --svg draws the same picture, and completion offers
// the same references.
func TestRemoteCursorsPlotsCompletion(t *testing.T) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	url, toks := serveFile(t, db, nil)
	read := toks[metatrack.RoleRead]

	page := runBoth(t, db, url, read, "ls", "type = 'experiment'", "--limit", "2", "-o", "json")
	var first lsJSON
	if err := json.Unmarshal([]byte(page.stdout), &first); err != nil || first.NextCursor == nil {
		t.Fatalf("first page: %v\n%s", err, page.stdout)
	}
	next := runBoth(t, db, url, read, "ls", "type = 'experiment'", "--limit", "2", "--cursor", *first.NextCursor)
	if !strings.Contains(next.stdout, "experiment/") {
		t.Fatalf("second page:\n%s", next.stdout)
	}

	curves := buildMetricsFixture(t, dir)
	curvesURL, curvesToks := serveFile(t, curves, nil)
	for _, where := range []struct{ db, token, out string }{{curves, "", "file.svg"}, {curvesURL, curvesToks[metatrack.RoleRead], "server.svg"}} {
		r := runFixture(t, "metrics", "--query", sweepTrials, "loss", "--svg", filepath.Join(dir, where.out), "--db", where.db, "--token", where.token)
		if r.code != exitOK {
			t.Fatalf("--svg on %s: exit %d\n%s", where.db, r.code, r.stderr)
		}
	}
	fileSVG, _ := os.ReadFile(filepath.Join(dir, "file.svg"))
	serverSVG, _ := os.ReadFile(filepath.Join(dir, "server.svg"))
	if len(fileSVG) == 0 || string(fileSVG) != string(serverSVG) {
		t.Errorf("--svg through the server draws another picture (%d bytes, %d on the file)", len(serverSVG), len(fileSVG))
	}

	for _, args := range [][]string{
		{"get", ""}, {"history", "model_version/"}, {"get", "model_version/titanic_model@2/"},
		{"artifacts", "get", "model_version/titanic_model@2", ""},
	} {
		local := runFixture(t, append([]string{"__complete", "--db", db}, args...)...)
		far := runFixture(t, append([]string{"__complete", "--db", url, "--token", read}, args...)...)
		if far.stdout != local.stdout || strings.Count(local.stdout, "\n") < 2 {
			t.Errorf("complete %q through the server:\n%s", args, lineDiff(local.stdout, far.stdout))
		}
	}
}
