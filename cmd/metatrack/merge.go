package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

func newMergeCmd(a *app) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "merge <other.db>",
		Short: "Bring everything of another database file into this one",
		Long: `merge brings every record and artifact of another database file into the
database of --db, reconciling them as 'metatrack import' does (it is an
export of the other file piped into an import, streaming); the other file
is only read. Merging again changes nothing, and merging A into B gives B
the same content as merging B into A gives A.

Version numbers of chains that both files extended are reassigned by
creation time, so a reference such as model_version/titanic_model@3 may
name another version afterwards. merge prints each renumbering, old
reference -> new reference, saying whose number it was (this database's or
the other file's); each change is also in that version's history
(metatrack history <ref> --kind renumbered). --dry-run runs the whole merge
in a transaction that is then rolled back: it prints the same report and
writes nothing. The merge is atomic. A progress bar shows on stderr when it
is a terminal.`,
		Example: `  # combine the laptop's and the CI's databases; first see what it would renumber
  metatrack merge --db team.db laptop.db --dry-run
  metatrack merge --db team.db laptop.db
  metatrack merge --db team.db ci.db -o json | jq '.renumberings[] | "\(.old_ref) -> \(.new_ref)"'`,
		Args: exactArgs(1, "the database file to merge from"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runMerge(cmd.Context(), args[0], dryRun)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what the merge would do (counts, renumberings) and write nothing")
	return cmd
}

func (a *app) runMerge(ctx context.Context, other string, dryRun bool) error {
	otherPath, err := metatrack.PathFromURL(other)
	if err != nil {
		return usageError{err}
	}
	if _, err := os.Stat(otherPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database %s does not exist", otherPath)
	} else if err != nil {
		return err
	}
	if remote.IsRemote(a.dbURL) {
		return a.mergeIntoServer(ctx, otherPath, dryRun)
	}
	t, path, err := a.openExisting(ctx, metatrack.WithoutRun(), metatrack.WithClock(a.now))
	if err != nil {
		return err
	}
	bar := a.newProgress("merging", unitRecords, 0)
	opts := []metatrack.MaintenanceOption{metatrack.WithProgress(bar.set)}
	if dryRun {
		opts = append(opts, metatrack.WithDryRun())
	}
	st, err := t.Merge(ctx, other, opts...)
	bar.done()
	cerr := t.Close()
	if err != nil {
		return err // Merge's errors name the other file
	}
	if cerr != nil {
		return cerr
	}
	tj := toTransferJSON(path, otherPath, st)
	if a.json() {
		return a.writeJSON(tj)
	}
	verb := "Merged"
	if tj.DryRun {
		verb += dryRunSuffix
	}
	printTransfer(a.stdout, verb, tj)
	return nil
}

// mergeIntoServer merges the file at otherPath into the server of --db:
// the file's export streams into the server's import, which is atomic and
// needs an admin token (a dry run too: it reads everything).
func (a *app) mergeIntoServer(ctx context.Context, otherPath string, dryRun bool) error {
	c, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	src, err := metatrack.Open(ctx, otherPath, metatrack.WithReadOnly())
	if err != nil {
		return err
	}
	defer src.Close()
	bar := a.newProgress("merging", unitRecords, 0)
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		_, err := src.Export(ctx, pw, metatrack.WithProgress(bar.set))
		pw.CloseWithError(err)
		exported <- err
	}()
	st, err := c.Import(ctx, pr, dryRun)
	errStopped := errors.New("the server stopped reading")
	pr.CloseWithError(errStopped) // unblocks the export if the import failed first
	eerr := <-exported
	bar.done()
	if eerr != nil && !errors.Is(eerr, errStopped) {
		return fmt.Errorf("merge %s: %w", otherPath, eerr)
	}
	if err != nil {
		return fmt.Errorf("merge %s into %s: %w", otherPath, c.URL(), err)
	}
	tj := toTransferJSON(c.URL(), otherPath, st)
	if a.json() {
		return a.writeJSON(tj)
	}
	verb := "Merged"
	if tj.DryRun {
		verb += dryRunSuffix
	}
	printTransfer(a.stdout, verb, tj)
	return nil
}
