package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// pgBroken lists the golden cases that do not yet give the file's output on
// PostgreSQL, each with what goes wrong: SQL of the root package and of
// lineage/ that is still SQLite's (json_each's value compared with a
// number: PostgreSQL's json_each yields json). The test skips them with
// the reason while they differ, and says so when one of them passes.
var pgBroken = map[string]string{
	"fixture/compare": pgJSONEq, "fixture/compare_diff_json": pgJSONEq, "fixture/compare_csv": pgJSONEq,
	"fixture/lineage_up": pgLineage, "fixture/lineage_down": pgLineage, "fixture/lineage_both": pgLineage,
	"fixture/lineage_dot": pgLineage, "fixture/lineage_mermaid": pgLineage, "fixture/lineage_json": pgLineage,
	"fixture/lineage_no_direction": pgLineage, "fixture/lineage_csv": pgLineage,
	"fixture/impact": pgLineage, "fixture/impact_json": pgLineage, "fixture/impact_csv": pgLineage,
	"metrics/ls_metric_columns": pgJSONEq, "metrics/ls_metric_columns_json": pgJSONEq,
	"metrics/compare_metrics": pgJSONEq, "metrics/compare_metrics_json": pgJSONEq,
}

const (
	pgJSONEq  = "ERROR: operator does not exist: bigint = json (SQLSTATE 42883)"
	pgLineage = "lineage: walk: ERROR: operator does not exist: bigint = json or text (SQLSTATE 42883)"
)

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
// shows through: the store's name (the URL for the path) and its size.
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
				cmd := "metatrack " + strings.Join(tc.args, " ")
				if why, ok := pgBroken[fx.name+"/"+tc.name]; ok {
					if pg.code == local.code && pg.stdout == local.stdout && pg.stderr == local.stderr {
						// Fixed meanwhile (by a change elsewhere): it passes,
						// and says so, so that the list gets shorter.
						t.Logf("%s now prints the file's output on PostgreSQL: remove it from pgBroken", cmd)
						return
					}
					t.Skipf("not yet on PostgreSQL (%s): exit %d\n%s%s", why, pg.code, pg.stderr, lineDiff(local.stdout, pg.stdout))
				}
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

// exitUnsupported marks a step of TestPostgresCommands that either works
// or fails with ErrUnsupported's message.
const exitUnsupported = -1

// TestPostgresCommands runs the commands that change a store, and the
// maintenance commands, on the fixture in PostgreSQL: the changes take
// effect there; the maintenance that PostgreSQL's engine does not offer
// yet (verify, gc) says so with ErrUnsupported's message and the store's
// URL.
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
		// Until the engine offers them: ErrUnsupported, naming the store.
		{[]string{"verify"}, exitUnsupported, "not supported: Verify on a postgres store (" + u + ")"},
		{[]string{"gc"}, exitUnsupported, "not supported: GC on a postgres store (" + u + ")"},
		{[]string{"runs"}, exitOK, "metatrack restore"},
	} {
		r := runFixture(t, append(step.args, "--db", u)...)
		cmd := "metatrack " + strings.Join(step.args, " ")
		if step.code == exitUnsupported {
			if r.code == exitOK {
				t.Logf("%s works on PostgreSQL now:\n%s", cmd, r.stdout)
				continue
			}
			step.code = exitFailure
		}
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
