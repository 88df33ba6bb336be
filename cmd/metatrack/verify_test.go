package main

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// TestVerifyPostgres: verify on a PostgreSQL URL checks the store: the
// fixture is clean (exit 0); one byte of stored artifact bytes changed
// with SQL is reported as a blob problem naming the artifact it breaks
// (exit 1), as on a file.
func TestVerifyPostgres(t *testing.T) {
	u := buildFixtureAt(t, t.TempDir(), pgtest.URL(t))
	if r := run(t, "verify", "--db", u); r.code != exitOK || !strings.Contains(r.stdout, "No problems found.") {
		t.Fatalf("verify of the clean store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE blob_chunks SET data = set_byte(data, 0, get_byte(data, 0) # 1)
		WHERE blob_seq = (SELECT blob_seq FROM artifacts WHERE name = 'model.json' ORDER BY seq LIMIT 1) AND idx = 0`); err != nil {
		t.Fatal(err)
	}
	r := run(t, "verify", "--db", u, "-o", "json")
	if r.code != exitFailure {
		t.Fatalf("verify of the damaged store: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep verifyJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Kind != "blob" || len(rep.Problems[0].Hits) == 0 ||
		rep.Problems[0].Hits[0].Artifact != "model.json" || !strings.HasPrefix(rep.Database, "postgres://") {
		t.Errorf("verify -o json: %+v", rep)
	}
}
