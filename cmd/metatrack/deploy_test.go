package main

import (
	"bytes"
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
	dir := t.TempDir()
	db := buildFixture(t, dir)
	repl := []string{dir + string(filepath.Separator), "<dir>/"}
	at := fixtureNow
	step := func(name string, code int, args ...string) {
		t.Helper()
		at = at.Add(time.Minute)
		var stdout, stderr bytes.Buffer
		a := fixtureApp(&stdout, &stderr)
		now := at
		a.now = func() time.Time { return now }
		got := a.execute(context.Background(), append(args, "--db", db))
		if got != code {
			t.Fatalf("%s: metatrack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), got, code, stdout.String(), stderr.String())
		}
		golden(t, "deploy/"+name, normalize(stdout.String()+stderr.String(), repl...))
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
	step("12_at", exitOK, "at", at.Format(time.RFC3339), "model/titanic_model")

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
		if strings.HasPrefix(r.Name, "metatrack ") {
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
