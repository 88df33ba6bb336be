package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

// TestDeployWorkflow undeploys, deploys and promotes from the command line
// on a copy of the fixture, comparing each output with testdata/deploy/<step>,
// and checks that every writing command that failed ended its run FAILED
// with the error, and every one that succeeded FINISHED.
func TestDeployWorkflow(t *testing.T) {
	t.Run("file", func(t *testing.T) { testDeployWorkflow(t, false) })
	// The same outputs through a server.
	t.Run("server", func(t *testing.T) { testDeployWorkflow(t, true) })
}

func testDeployWorkflow(t *testing.T, viaServer bool) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	repl := []string{dir + string(filepath.Separator), "<dir>/"}
	w := newWorkflow(t, db, viaServer)
	step := func(name string, code int, args ...string) {
		t.Helper()
		w.advance(time.Minute)
		r := w.run(args...)
		if r.code != code {
			t.Fatalf("%s: metatrack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
		}
		golden(t, "deploy/"+name, normalize(r.stdout+r.stderr, repl...))
	}
	step("01_rm_deployed", exitFailure, "rm", "model_version/titanic_model@2")
	step("02_rm_missing", exitFailure, "rm", "nothing/here")
	step("03_undeploy_staging", exitOK, "undeploy", "model_version/titanic_model@2", "--env", "staging")
	step("04_undeploy_again", exitFailure, "undeploy", "model_version/titanic_model@2", "--env", "staging")
	step("05_undeploy", exitOK, "undeploy", "model_version/titanic_model@2")
	step("06_promote_pending", exitOK, "promote", "model_version/titanic_model@1", "--reason", "ROLLBACK", "--metric", "auc", "--value", "0.83", "--baseline", "0.87")
	step("07_promote_no_reason", exitUsage, "promote", "model_version/titanic_model@1")
	step("08_deploy", exitOK, "deploy", "model_version/titanic_model@1", "-o", "json")
	step("09_promote_deployed", exitFailure, "promote", "model_version/titanic_model@1", "--reason", "UPLIFT")
	step("10_rm", exitOK, "rm", "model_version/titanic_model@2")
	step("11_restore_missing", exitFailure, "restore", "model_version/titanic_model@2", "nothing/here")
	step("12_at", exitOK, "at", w.now().Format(time.RFC3339), "model/titanic_model")

	ctx := context.Background()
	tr, err := metatrack.Open(ctx, db, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	runs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		// (Through a server each command starts its run there, beside
		// the server's own.)
		if strings.HasPrefix(r.Name, "metatrack ") && r.Name != "metatrack serve" {
			got = append(got, r.Name+" "+r.Status+" "+r.Error)
		}
	}
	want := []string{
		"metatrack rm FAILED conflict",
		"metatrack rm FAILED not found",
		"metatrack undeploy FINISHED ",
		"metatrack undeploy FAILED not found",
		"metatrack undeploy FINISHED ",
		"metatrack promote FINISHED ",
		"metatrack deploy FINISHED ",
		"metatrack promote FAILED conflict",
		"metatrack rm FINISHED ",
		"metatrack restore FAILED not found",
	}
	if len(got) != len(want) {
		t.Fatalf("runs of the commands:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	// Runs come newest first.
	for i, w := range want {
		g := got[len(got)-1-i]
		if !strings.HasPrefix(g, w) {
			t.Errorf("run %d = %q, want it to begin with %q", i, g, w)
		}
	}
}
