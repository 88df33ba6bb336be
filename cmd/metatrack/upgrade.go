package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/schema"
)

func newUpgradeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade",
		Short: "Bring a database written by an older metatrack to the current schema",
		Long: `upgrade applies the schema migrations this metatrack knows to the database
of --db. Commands that only look open a database read-only and cannot
upgrade it, so after installing a newer metatrack they ask for this once.
Writing commands (and the library's Open) upgrade by themselves. Upgrading
is safe while pipelines run: it takes the same lock as any opener, and a
crash part-way leaves the schema before or after, never between.`,
		Example: `  metatrack upgrade --db titanic.db`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, path, err := a.openExisting(cmd.Context(), metatrack.WithoutRun())
			if err != nil {
				return err
			}
			if err := t.Close(); err != nil {
				return err
			}
			latest, err := schema.Latest(schema.SQLite())
			if err != nil {
				return err
			}
			if a.json() {
				return a.writeJSON(map[string]any{"database": path, "schema_version": latest})
			}
			_, err = fmt.Fprintf(a.stdout, "%s is at schema version %d.\n", path, latest)
			return err
		},
	}
}
