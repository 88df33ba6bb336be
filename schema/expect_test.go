package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/metatrack/metatrack/schema"
)

// migrated returns a database file migrated to the latest version.
func migrated(t *testing.T) *sql.DB {
	t.Helper()
	d, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	d.SetMaxOpenConns(1)
	t.Cleanup(func() { d.Close() })
	if err := schema.Migrate(context.Background(), d, schema.SQLite()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"OK", ``, ""},
		{"ErrView", `DROP TABLE tags; CREATE VIEW tags AS SELECT r.seq AS resource_seq, 'k' AS key, 'v' AS value, NULL AS run_seq, 0 AS updated_at FROM resources r, resources s`, "view tags"},
		{"ErrTrigger", `CREATE TRIGGER evil AFTER INSERT ON schema_applied BEGIN UPDATE resources SET status = 'PWNED'; END`, "trigger evil"},
		{"ErrExtraTable", `CREATE TABLE evil (x)`, "table evil"},
		{"ErrExtraIndex", `CREATE INDEX evil ON resources (status, name)`, "index evil"},
		{"ErrMissingIndex", `DROP INDEX tags_key_value`, "index tags_key_value: is missing"},
		{"ErrExtraColumn", `ALTER TABLE tags ADD COLUMN extra TEXT`, "table tags"},
		{"ErrChangedTrigger", `DROP TRIGGER attr_values_insert; CREATE TRIGGER attr_values_insert AFTER INSERT ON resources BEGIN SELECT 1; END`, "trigger attr_values_insert"},
		{"ErrChangedIndex", `DROP INDEX resources_name; CREATE INDEX resources_name ON resources (name, status)`, "index resources_name"},
		{"ErrUpperCaseTwin", `CREATE VIEW "Tags2" AS SELECT 1`, "view Tags2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := migrated(t)
			if tc.sql != "" {
				if _, err := d.Exec(tc.sql); err != nil {
					t.Fatal(err)
				}
			}
			err := schema.Check(ctx, d)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, schema.ErrUnexpected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want ErrUnexpected naming %q", err, tc.want)
			}
		})
	}
}

// Every version's expected schema is built from the migrations alone.
func TestExpectedEveryVersion(t *testing.T) {
	versions, err := schema.Versions(schema.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	prev := 0
	for _, v := range versions {
		objs, err := schema.Expected(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) <= prev {
			t.Fatalf("version %d has %d objects, version before it %d", v, len(objs), prev)
		}
		prev = len(objs)
	}
}
