package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// cursor matches a listing's cursor where ls prints it. A cursor holds the
// last row's sort key in the engine's form (PostgreSQL sorts a metadata or
// attribute key as three columns, SQLite as two), so it continues a listing
// only on the engine that made it; that it continues correctly is tested on
// both engines by query's TestPages.
var cursor = regexp.MustCompile(`("next_cursor": )"[A-Za-z0-9_-]+"|(--cursor )[A-Za-z0-9_-]+`)

// cursorless replaces the cursors in out by <cursor>; a null cursor (no
// more rows) stays distinguishable.
func cursorless(out string) string {
	return cursor.ReplaceAllStringFunc(out, func(m string) string {
		sub := cursor.FindStringSubmatch(m)
		return sub[1] + sub[2] + "<cursor>"
	})
}

// dbSize matches the store's size where show and stats print it.
var dbSize = regexp.MustCompile(`(Database:\s+\S+(?:, | \())[0-9.]+ [KMGTPE]?i?B|("size_bytes": )[0-9]+`)

// sizeless replaces the store's size in out by <db size>; sizes other than
// zero stay distinguishable from zero.
func sizeless(out string) string {
	return dbSize.ReplaceAllStringFunc(out, func(m string) string {
		sub := dbSize.FindStringSubmatch(m)
		size := strings.TrimPrefix(strings.TrimPrefix(m, sub[1]), sub[2])
		if size == "0" || size == "0 B" {
			return m
		}
		return sub[1] + sub[2] + "<db size>"
	})
}

// TestPostgresGolden runs every golden case on the fixture written into
// PostgreSQL and checks that it prints what the same command prints on the
// SQLite file of the same fixture. Outputs differ only where the engine
// shows through: the store's name (the URL for the path), its size and the
// encoding of cursors.
func TestPostgresGolden(t *testing.T) {
	dir := t.TempDir()
	for _, fx := range []struct {
		name   string
		db, pg string
		cases  []goldenCase
	}{
		{"fixture", buildFixture(t, dir), buildFixtureAt(t, dir, pgtest.URL(t)), goldenCases},
		{"metrics", buildMetricsFixture(t, dir), buildMetricsFixtureAt(t, pgtest.URL(t)), goldenMetricsCases},
	} {
		for _, tc := range fx.cases {
			t.Run(fx.name+"/"+tc.name, func(t *testing.T) {
				local := runFixture(t, append(tc.args, "--db", fx.db)...)
				pg := runFixture(t, append(tc.args, "--db", fx.pg)...)
				local.stdout, local.stderr = normalize(local.stdout), normalize(local.stderr)
				pg.stdout = normalize(strings.ReplaceAll(pg.stdout, fx.pg, fx.db))
				pg.stderr = normalize(strings.ReplaceAll(pg.stderr, fx.pg, fx.db))
				// The store's size is the engine's: the file and its log on
				// SQLite, the schema's tables on PostgreSQL.
				local.stdout, pg.stdout = sizeless(local.stdout), sizeless(pg.stdout)
				local.stdout, pg.stdout = cursorless(local.stdout), cursorless(pg.stdout)
				cmd := "metatrack " + strings.Join(tc.args, " ")
				if pg.code != local.code {
					t.Fatalf("%s: exit %d on PostgreSQL, %d on the file\nPostgreSQL stderr:\n%s\nfile stderr:\n%s", cmd, pg.code, local.code, pg.stderr, local.stderr)
				}
				if pg.stdout != local.stdout {
					t.Errorf("%s: stdout differs on PostgreSQL:\n%s", cmd, lineDiff(local.stdout, pg.stdout))
				}
				if pg.stderr != local.stderr {
					t.Errorf("%s: stderr differs on PostgreSQL:\n%s", cmd, lineDiff(local.stderr, pg.stderr))
				}
			})
		}
	}
}

// TestPostgresCommands runs the commands that change a store, and the
// maintenance commands, on the fixture in PostgreSQL: the changes take
// effect there, and verify and gc run on the server as on a file.
func TestPostgresCommands(t *testing.T) {
	dir := t.TempDir()
	u := buildFixtureAt(t, dir, pgtest.URL(t))
	for _, step := range []struct {
		args []string
		code int
		want string // in stdout, or in stderr when code is not exitOK
	}{
		{[]string{"alias", "set", "model_version/titanic_model@2", "champion"}, exitOK, "Set model_version/titanic_model@champion to model_version/titanic_model@2"},
		{[]string{"get", "model_version/titanic_model@champion"}, exitOK, "model_version/titanic_model@2"},
		{[]string{"alias", "ls"}, exitOK, "1 alias"},
		{[]string{"alias", "rm", "model/titanic_model", "champion"}, exitOK, "Removed alias champion of model/titanic_model"},
		{[]string{"promote", "model_version/titanic_model@3", "--reason", "retrain"}, exitOK, "Promoted model_version/titanic_model@3"},
		{[]string{"deploy", "model_version/titanic_model@3", "--env", "staging"}, exitOK, "Deployed model_version/titanic_model@3 to staging"},
		{[]string{"undeploy", "model_version/titanic_model@3", "--env", "staging"}, exitOK, "Undeployed model_version/titanic_model@3 from staging"},
		{[]string{"rm", "model_version/titanic_model@3"}, exitOK, "Deleted model_version/titanic_model@3"},
		{[]string{"get", "model_version/titanic_model@3"}, exitFailure, "deleted"},
		{[]string{"restore", "model_version/titanic_model@3"}, exitOK, "Restored model_version/titanic_model@3"},
		{[]string{"token", "create", "--name", "ci", "--role", "read"}, exitOK, "token ci (read): mtk_"},
		{[]string{"token", "ls"}, exitOK, "ci    read"},
		{[]string{"token", "revoke", "ci"}, exitOK, "revoked token ci"},
		{[]string{"upgrade"}, exitOK, "is at schema version"},
		{[]string{"verify"}, exitOK, "Checked " + u + ": "},
		{[]string{"verify", "-o", "json"}, exitOK, `"ok": true`},
		{[]string{"gc"}, exitOK, "of artifacts nothing refers to"},
		{[]string{"gc", "--dry-run"}, exitOK, "of artifacts nothing refers to"},
		{[]string{"runs"}, exitOK, "metatrack restore"},
	} {
		r := runFixture(t, append(step.args, "--db", u)...)
		cmd := "metatrack " + strings.Join(step.args, " ")
		if r.code != step.code {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", cmd, r.code, step.code, r.stdout, r.stderr)
		}
		got := r.stdout
		if step.code != exitOK {
			got = r.stderr
		}
		if !strings.Contains(got, step.want) {
			t.Errorf("%s: want %q in\n%s", cmd, step.want, got)
		}
	}
}
