package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newBackupCmd(a *app) *cobra.Command {
	var (
		filter    string
		noLineage bool
	)
	cmd := &cobra.Command{
		Use:   "backup <file> [--filter QUERY [--no-lineage]]",
		Short: "Write a consistent copy of a live store, or the part a query selects, to a new file",
		Long: `backup copies the database into <file>, which must not exist, while
pipelines go on writing to it: the copy holds every write committed before
the backup began, in one file (no -wal or -shm beside it), compacted. Do
not copy a live database file with cp: a copy taken mid-write can be
corrupt, and the newest writes may still be in the -wal file.

A store on PostgreSQL is backed up the same way, into one SQLite file
that every command (and 'metatrack merge') opens: its export, read on one
snapshot, streamed into a new file.

--filter backs up only the resources a query selects, with what they need,
exactly as 'metatrack export --filter' writes them (see its help): their
ancestors and upstream lineage, and of all these the runs, tags, metadata,
version-control records, history, artifacts and the deployments and edges
among them. --no-lineage leaves the upstream lineage out: the selection and
its ancestors only. The file is a working database of its own: take part of
a team's store offline, work on it, and 'metatrack merge' it back.

The store is opened read-only. A spinner shows on stderr when it is a
terminal.`,
		Example: `  metatrack backup --db titanic.db titanic-$(date +%F).db
  METATRACK_URL=/data/metatrack.db metatrack backup /backups/metatrack.db -o json
  metatrack backup --db 'postgres://metatrack@db.example.com/ml?schema=team_a' team_a.db
  metatrack backup --db 'postgres://metatrack@db.example.com/ml?schema=team_a' model.db \
      --filter "type = 'model_version' AND name = 'titanic_model'"`,
		Args: exactArgs(1, "the file to write"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if noLineage && filter == "" {
				return usageErrorf("--no-lineage goes with --filter (a backup without one holds everything)")
			}
			return a.runBackup(cmd.Context(), args[0], filter, noLineage)
		},
	}
	f := cmd.Flags()
	f.StringVar(&filter, "filter", "", "back up only the resources this query selects, with what they need")
	f.BoolVar(&noLineage, "no-lineage", false, "with --filter: leave out what the selection was made from")
	return cmd
}

// backupJSON is the -o json document of backup.
type backupJSON struct {
	Database  string `json:"database"`
	Backup    string `json:"backup"`
	SizeBytes int64  `json:"size_bytes"`
}

func (a *app) runBackup(ctx context.Context, dst, filter string, noLineage bool) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s exists; backup writes a new file only", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if dir := filepath.Dir(dst); dir != "" {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot back up to %s: the directory %s does not exist", dst, dir)
		}
	}
	t, err := a.openFile(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	bar := a.newProgress("backing up "+t.Path(), unitBytes, 0)
	var opts []metatrack.MaintenanceOption
	if filter != "" {
		opts = append(opts, metatrack.WithExportFilter(filter))
	}
	if noLineage {
		opts = append(opts, metatrack.WithoutLineage())
	}
	err = t.Backup(ctx, dst, opts...)
	bar.done()
	if err != nil {
		// Nothing to clean up: the copy is renamed to dst only when whole.
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	out := backupJSON{Database: t.Path(), Backup: dst, SizeBytes: fileSize(dst)}
	if a.json() {
		return a.writeJSON(out)
	}
	fmt.Fprintf(a.stdout, "Backed up %s to %s (%s).\n", out.Database, out.Backup, humanBytes(out.SizeBytes))
	return nil
}
