package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func newBackupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "backup <file>",
		Short: "Write a consistent copy of a live database to a new file",
		Long: `backup copies the database into <file>, which must not exist, while
pipelines go on writing to it: the copy holds every write committed before
the backup began, in one file (no -wal or -shm beside it), compacted. Do
not copy a live database file with cp: a copy taken mid-write can be
corrupt, and the newest writes may still be in the -wal file.

The database is opened read-only. A spinner shows on stderr when it is a
terminal.`,
		Example: `  metatrack backup --db titanic.db titanic-$(date +%F).db
  METATRACK_URL=/data/metatrack.db metatrack backup /backups/metatrack.db -o json`,
		Args: exactArgs(1, "the file to write"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBackup(cmd.Context(), args[0])
		},
	}
}

// backupJSON is the -o json document of backup.
type backupJSON struct {
	Database  string `json:"database"`
	Backup    string `json:"backup"`
	SizeBytes int64  `json:"size_bytes"`
}

func (a *app) runBackup(ctx context.Context, dst string) error {
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
	err = t.Backup(ctx, dst)
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
