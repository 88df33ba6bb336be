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

func newImportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "import <file>",
		Short: "Read an export into the database, reconciling it with what is there",
		Long: `import reads a file written by 'metatrack export' ("-": stdin) into the
database of --db, which is created if it does not exist. What the database
already holds is reconciled with the export, record by record (the later
change wins; resources of the same name become one; version numbers that
both sides gave to different versions are reassigned by creation time and
recorded in the history as renumbered): importing the same file again
changes nothing.

The import is atomic: a malformed or truncated file fails with the line
that is wrong, and leaves the database as it was. The imported records
keep their runs; the import itself records no run. A progress bar shows on
stderr when it is a terminal.`,
		Example: `  metatrack import --db copy.db titanic.jsonl
  gunzip -c titanic.jsonl.gz | metatrack import --db copy.db - -o json`,
		Args: exactArgs(1, "the export file to read (- for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), args[0])
		},
	}
}

func (a *app) runImport(ctx context.Context, file string) error {
	var in io.Reader = a.stdin
	name := "stdin"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, file
	}
	if remote.IsRemote(a.dbURL) {
		return a.importIntoServer(ctx, in, name)
	}
	path, err := a.dbPath()
	if err != nil {
		return err
	}
	created := false
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	t, err := metatrack.Open(ctx, a.dbURL, metatrack.WithoutRun(), metatrack.WithClock(a.now))
	if err != nil {
		return err
	}
	bar := a.newProgress("importing", unitRecords, 0)
	st, err := t.Import(ctx, in, metatrack.WithProgress(bar.set))
	bar.done()
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if created {
			removeDB(path)
		}
		return fmt.Errorf("import %s: %w", name, err)
	}
	tj := toTransferJSON(path, name, st)
	if a.json() {
		return a.writeJSON(tj)
	}
	if created {
		fmt.Fprintf(a.stdout, "Created %s.\n", path)
	}
	printTransfer(a.stdout, "Imported", tj)
	return nil
}

// removeDB removes a database file that a failed command created.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// importIntoServer streams the export in (named name) to the server of
// --db, which imports it atomically; it needs an admin token.
func (a *app) importIntoServer(ctx context.Context, in io.Reader, name string) error {
	c, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	bar := a.newProgress("importing", unitBytes, 0)
	st, err := c.Import(ctx, &countingReader{r: in, add: bar.add}, false)
	bar.done()
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	tj := toTransferJSON(c.URL(), name, st)
	if a.json() {
		return a.writeJSON(tj)
	}
	printTransfer(a.stdout, "Imported", tj)
	return nil
}

// countingReader passes reads from r and their sizes to add.
type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.add(int64(n))
	return n, err
}
