package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newMergeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "merge <other.db>",
		Short: "Bring everything of another database file into this one",
		Long: `merge brings every record and artifact of another database file into the
database of --db, reconciling them as 'metatrack import' does (it is an
export of the other file piped into an import, streaming); the other file
is only read. Merging again changes nothing, and merging A into B gives B
the same content as merging B into A gives A.

Version numbers of chains that both files extended are reassigned by
creation time, so a reference such as model_version/titanic_model@3 may
name another version afterwards; each change is in that version's history
(metatrack history <ref> --kind renumbered). Take a backup first if that
matters. The merge is atomic. A progress bar shows on stderr when it is a
terminal.`,
		Example: `  # combine the laptop's and the CI's databases
  metatrack merge --db team.db laptop.db
  metatrack merge --db team.db ci.db -o json`,
		Args: exactArgs(1, "the database file to merge from"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runMerge(cmd.Context(), args[0])
		},
	}
}

func (a *app) runMerge(ctx context.Context, other string) error {
	otherPath, err := metatrack.PathFromURL(other)
	if err != nil {
		return usageError{err}
	}
	if _, err := os.Stat(otherPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database %s does not exist", otherPath)
	} else if err != nil {
		return err
	}
	t, path, err := a.openExisting(ctx, metatrack.WithoutRun(), metatrack.WithClock(a.now))
	if err != nil {
		return err
	}
	bar := a.newProgress("merging", unitRecords, 0)
	st, err := t.Merge(ctx, other, metatrack.WithProgress(bar.set))
	bar.done()
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("merge %s: %w", otherPath, err)
	}
	tj := toTransferJSON(path, otherPath, st)
	if a.json() {
		return a.writeJSON(tj)
	}
	printTransfer(a.stdout, "Merged", tj)
	return nil
}
