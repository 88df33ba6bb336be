package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/server"
)

// tokens are the secrets of a test server's tokens, by role.
type tokens map[string]string

// serveFile serves the database file db on 127.0.0.1 with token auth and
// returns the server's URL and a token of each role. With readOnly the
// server opens the file read-only, so that the commands run against it
// and against the file see the same bytes.
func serveFile(t *testing.T, db string, readOnly bool) (string, tokens) {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, db, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	toks := tokens{}
	for _, role := range []string{metatrack.RoleRead, metatrack.RoleWrite, metatrack.RoleAdmin} {
		_, secret, err := tr.CreateToken(ctx, role+"er", role)
		if err != nil {
			t.Fatal(err)
		}
		toks[role] = secret
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	opts := []metatrack.Option{metatrack.WithRunName("metatrack serve"), metatrack.WithClock(func() (tm time.Time) { return fixtureNow })}
	if readOnly {
		opts = []metatrack.Option{metatrack.WithReadOnly()}
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
		url, toks := serveFile(t, fx.db, true)
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
