package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

// Exit codes of Run.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// envURL names the environment variable that sets the default of --db.
const envURL = "METATRACK_URL"

// Output formats of -o/--output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// app is what every subcommand shares: the standard streams and the values
// of the persistent flags. A subcommand lives in its own file as
// newXxxCmd(a *app) *cobra.Command and is added in newRootCmd.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	// dbURL is --db: a file path or a sqlite:/file: URL.
	dbURL string
	// output is -o/--output: table or json.
	output string
}

// Run runs the metatrack command line with args (without the program
// name) and returns the exit code: 0 on success, 1 on failure, 2 on a
// usage error. It reads the environment only for METATRACK_URL.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(a, os.Getenv(envURL))
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "metatrack: %v\n", err)
	var uerr usageError
	if errors.As(err, &uerr) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitFailure
}

func newRootCmd(a *app, envDB string) *cobra.Command {
	defaultDB := envDB
	if defaultDB == "" {
		defaultDB = metatrack.DefaultPath
	}
	root := &cobra.Command{
		Use:   "metatrack",
		Short: "Track the metadata of machine-learning workflows in one SQLite file",
		Long: `metatrack records the runs, datasets, models, experiments, promotions,
prediction jobs, metadata, artifacts and lineage of ML workflows in one
SQLite database file, and shows what is in it.

The database is --db, a file path or a sqlite: or file: URL; its default
comes from the environment variable ` + envURL + `, else ` + metatrack.DefaultPath + `.

Exit status:
  0  success
  1  failure (the database is missing or unreadable, a pipeline failed, ...)
  2  usage error (unknown command or flag, bad flag value, extra arguments)`,
		Example: `  # fill a database with the example workflow, then look at it
  metatrack demo --db titanic.db
  metatrack show --db titanic.db

  # the same, as JSON, with the database named by the environment
  METATRACK_URL=titanic.db metatrack show -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
				}
				return usageError{errors.New(msg)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("no command given")
		},
		// Subcommands must not define PersistentPreRunE: cobra runs only
		// the nearest one, and this one checks the persistent flags.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case outputTable, outputJSON:
				return nil
			}
			return usageErrorf("--output must be %s or %s, not %q", outputTable, outputJSON, a.output)
		},
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.dbURL, "db", defaultDB, "database file or sqlite:/file: URL (env "+envURL+")")
	pf.StringVarP(&a.output, "output", "o", outputTable, "output format: table or json")

	root.AddCommand(
		newDemoCmd(a),
		newShowCmd(a),
	)
	return root
}

// usageError marks an error as the caller's misuse of the command line
// (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// noArgs is the Args of commands that take no positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// dbPath returns the file path of --db.
func (a *app) dbPath() (string, error) {
	p, err := metatrack.PathFromURL(a.dbURL)
	if err != nil {
		return "", usageError{err}
	}
	return p, nil
}

// openExisting opens the database of --db, which must exist, with opts.
func (a *app) openExisting(ctx context.Context, opts ...metatrack.Option) (*metatrack.Tracker, string, error) {
	path, err := a.dbPath()
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, path, fmt.Errorf("database %s does not exist (give another with --db or %s; 'metatrack demo' creates one)", path, envURL)
	} else if err != nil {
		return nil, path, err
	}
	t, err := metatrack.Open(ctx, a.dbURL, opts...)
	return t, path, err
}

// json reports whether -o json was given.
func (a *app) json() bool { return a.output == outputJSON }

// writeJSON prints v as one indented JSON document.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fileSize returns the size of the database file and its write-ahead log.
func fileSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// humanBytes formats n bytes in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
