package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// freeSpaceLine is gc's line about free pages, whose size depends on how
// SQLite laid out the file.
var freeSpaceLine = regexp.MustCompile(`(?m)^.* of free space .*\n`)

// TestAliasDeleteWorkflow runs the alias, rm, restore, ls --deleted and
// gc --purge-deleted commands on a copy of the fixture, one step after
// another, each at its own time, and compares each output with
// testdata/alias_delete/<step>.
func TestAliasDeleteWorkflow(t *testing.T) {
	t.Run("file", func(t *testing.T) { testAliasDeleteWorkflow(t, false) })
	// The same outputs through a server, gc and verify on the file as on
	// the server's machine.
	t.Run("server", func(t *testing.T) { testAliasDeleteWorkflow(t, true) })
}

// byRun are the steps whose output lists the runs: through a server the
// server's own run is one more.
var byRun = map[string]bool{"05_show": true}

// byActor are the steps whose output shows who made the changes: through
// a server that is also the token, so they have golden files of their own,
// testdata/alias_delete/<step>.server.
var byActor = map[string]bool{"08_get_model": true, "26_history": true}

func testAliasDeleteWorkflow(t *testing.T, viaServer bool) {
	dir := t.TempDir()
	db := buildFixture(t, dir)
	repl := []string{dir + string(filepath.Separator), "<dir>/"}
	w := newWorkflow(t, db, viaServer)
	step := func(name string, code int, args ...string) string {
		t.Helper()
		w.advance(time.Minute)
		r := w.run(args...)
		if r.code != code {
			t.Fatalf("%s: metatrack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
		}
		if viaServer && byRun[name] {
			return r.stdout
		}
		out := freeSpaceLine.ReplaceAllString(r.stdout+r.stderr, "")
		file := "alias_delete/" + name
		if viaServer && byActor[name] {
			file += ".server"
		}
		golden(t, file, normalize(out, append(repl, humanBytes(fileSize(db)), "<db size>")...))
		return r.stdout
	}
	step("01_set", exitOK, "alias", "set", "model_version/titanic_model@2", "champion")
	step("02_set_staging", exitOK, "alias", "set", "model_version/titanic_model@3", "staging")
	beforeMove := w.now().Add(30 * time.Second).Format(time.RFC3339)
	step("03_move", exitOK, "alias", "set", "model_version/titanic_model@3", "champion")
	step("04_set_again", exitOK, "alias", "set", "model_version/titanic_model@3", "champion")
	step("05_ls", exitOK, "alias", "ls")
	step("05_show", exitOK, "show")
	step("06_ls_json", exitOK, "alias", "ls", "model/titanic_model", "-o", "json")
	step("07_get", exitOK, "get", "model_version/titanic_model@champion", "--history", "0")
	step("08_get_model", exitOK, "get", "model/titanic_model", "--history", "3")
	step("09_query", exitOK, "ls", "alias = 'champion' OR alias = 'staging'")
	step("10_at_before_move", exitOK, "at", beforeMove, "model/titanic_model", "model_version/titanic_model@2")
	step("11_bad_alias", exitFailure, "alias", "set", "model_version/titanic_model@3", "7")
	step("12_rm_deployed", exitFailure, "rm", "model_version/titanic_model@2")
	step("13_rm", exitOK, "rm", "model_version/titanic_model@3")
	step("14_ls_deleted", exitOK, "ls", "--deleted")
	step("14_ls_deleted_json", exitOK, "ls", "--deleted", "type = 'experiment'", "-o", "json")
	step("15_get_deleted", exitFailure, "get", "model_version/titanic_model@3")
	step("16_alias_gone", exitOK, "alias", "ls")
	step("17_restore", exitOK, "restore", "model_version/titanic_model@3")
	step("18_alias_back", exitOK, "alias", "ls")
	step("19_rm_again", exitOK, "rm", "model_version/titanic_model@3", "-o", "json")
	step("20_purge_young", exitOK, "gc", "--purge-deleted", "--older-than", "30d", "--dry-run")
	step("21_purge", exitOK, "gc", "--purge-deleted")
	step("22_restore_purged", exitFailure, "restore", "model_version/titanic_model@3")
	step("23_set_after_purge", exitOK, "alias", "set", "model_version/titanic_model@1", "champion")
	step("24_alias_rm", exitOK, "alias", "rm", "model/titanic_model", "champion")
	step("25_alias_rm_again", exitFailure, "alias", "rm", "model/titanic_model", "champion")
	step("26_history", exitOK, "history", "model/titanic_model", "--kind", "alias")
	step("27_bad_age", exitUsage, "gc", "--purge-deleted", "--older-than", "soon")
	step("28_verify", exitOK, "verify")
	step("29_ls_after_purge", exitOK, "ls", "type = 'model_version'")
	// The purge record says when the version was deleted, as a time.
	step("30_history_purged", exitOK, "history", "model/titanic_model", "--kind", "purged", "-o", "json")
}
