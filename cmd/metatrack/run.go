package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/remote"
	"github.com/metatrack/metatrack/storage/postgres"
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
	outputCSV   = "csv"
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
	// token is --token: the bearer token of a server named by --db
	// http(s)://.
	token string

	// now is the clock of relative times (now-2h) and of durations of
	// running runs; tests fix it.
	now func() time.Time
	// hostname and alive tell whether a RUNNING run's process still
	// exists (see runs); tests replace them.
	hostname func() (string, error)
	alive    func(pid int) bool
}

// Run runs the metatrack command line with args (without the program
// name) and returns the exit code: 0 on success, 1 on failure, 2 on a
// usage error. It reads the environment only for METATRACK_URL and
// METATRACK_TOKEN.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, hostname: os.Hostname, alive: processAlive}
	return a.execute(ctx, args)
}

// execute runs the command line args on a and returns the exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	stderr := a.stderr
	root := newRootCmd(a, os.Getenv(envURL))
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "metatrack: %s\n", describe(err))
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
Commands that only look open it read-only, so they are safe beside running
pipelines. --db can also be the http(s):// URL of a 'metatrack serve', with
--token (or ` + remote.EnvToken + `): every command then works through the server
(export, import and merge need an admin token, token ls too), except those
that work on the database file itself (backup, verify, gc, upgrade, serve,
demo, token create and revoke), which say so and what to do instead.

Every listing prints a table by default, one JSON document with -o json
(stable snake_case field names, times in RFC 3339 UTC), and CSV with
-o csv: a header, then one record per row, nested fields as dotted columns
(attrs.lr), values unabridged.

A resource is named by its id or by a reference: type/name for a dataset,
model or other resource (dataset/titanic_train), type/name@N for version N of
a chain (model_version/titanic_model@3) and type/name@latest, or the bare
type/name, for its newest version.

Times (for at, and in queries) are RFC 3339 (2024-05-01T12:00:00Z), a date
(2024-05-01, midnight UTC) or relative to now: now, now-30s, now-90m,
now-2h, now-7d, now-1w (s, m, h, d, w; one number and unit).

Long operations show a progress bar on stderr when it is a terminal, and
print no progress otherwise.

Exit status:
  0  success
  1  failure: the database is missing or unreadable, a reference names
     nothing, a query or time is malformed (the message points at the
     error), an artifact fails its SHA-256, verify found problems, a
     demo pipeline failed, ...
  2  usage error (unknown command or flag, bad flag value, extra arguments)`,
		Example: `  # fill a database with the example workflow, then look at it
  metatrack demo --db titanic.db
  metatrack show --db titanic.db

  # the same, as JSON, with the database named by the environment
  METATRACK_URL=titanic.db metatrack show -o json

  # what is deployed, what was it trained on, what would a bad dataset break
  metatrack ls "status = 'DEPLOYED'" --db titanic.db
  metatrack lineage model_version/titanic_model@latest --up --db titanic.db
  metatrack impact dataset_version/titanic_train@2 --db titanic.db

  # completion for the current bash session
  source <(metatrack completion bash)`,
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
			if err := a.checkOutput(cmd); err != nil {
				return err
			}
			name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
			if why, ok := fileOnly[name]; ok && remote.IsRemote(a.dbURL) {
				return usageError{fmt.Errorf("%w: --db %s is a server, and %s %s", errNeedsFile, a.dbURL, name, why)}
			}
			return nil
		},
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.dbURL, "db", defaultDB, "database file or sqlite:/file: URL, or the http(s):// URL of a metatrack serve (env "+envURL+")")
	pf.StringVar(&a.token, "token", os.Getenv(remote.EnvToken), "token for a --db http(s):// server (env "+remote.EnvToken+")")
	pf.StringVarP(&a.output, "output", "o", outputTable, "output format: table, json, or csv for listings (not a file: commands that write files take --out)")
	root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputTable, outputJSON, outputCSV}, cobra.ShellCompDirectiveNoFileComp))
	root.MarkPersistentFlagFilename("db", "db", "sqlite", "sqlite3")

	root.AddCommand(
		newDemoCmd(a),
		newShowCmd(a),
		newStatsCmd(a),
		newLsCmd(a),
		newCompareCmd(a),
		newMetricsCmd(a),
		newGetCmd(a),
		newHistoryCmd(a),
		newAtCmd(a),
		newLineageCmd(a),
		newImpactCmd(a),
		newPathCmd(a),
		newProvenanceCmd(a),
		newArtifactsCmd(a),
		newRunsCmd(a),
		newBackupCmd(a),
		newExportCmd(a),
		newUpgradeCmd(a),
		newImportCmd(a),
		newMergeCmd(a),
		newVerifyCmd(a),
		newGCCmd(a),
		newAliasCmd(a),
		newRmCmd(a),
		newRestoreCmd(a),
		newDeployCmd(a),
		newUndeployCmd(a),
		newPromoteCmd(a),
		newServeCmd(a),
		newTokenCmd(a),
	)
	initCompletionCmd(root)
	return root
}

// checkOutput checks -o for cmd.
func (a *app) checkOutput(cmd *cobra.Command) error {
	switch a.output {
	case outputTable, outputJSON:
		return nil
	case outputCSV:
		if isListing(cmd) {
			return nil
		}
		return usageErrorf("-o csv is for listings (ls, history, at, impact, artifacts ls, runs, lineage, verify, compare, metrics); %s prints no list: use -o json", cmd.CommandPath())
	}
	return usageErrorf("--output must be %s, %s or %s, not %q", outputTable, outputJSON, outputCSV, a.output)
}

// errNeedsFile is the error of a command that works on the database file
// itself given a server as --db.
var errNeedsFile = errors.New("this command needs the database file")

// fileOnly lists the commands that work on the database file itself, so
// not through a server, each with why and what to do instead. Every other
// command works against --db http(s)://.
var fileOnly = map[string]string{
	"backup": "copies the database file page by page, so it runs where the file is: 'metatrack backup --db FILE' on the server's machine; " +
		"from here, 'metatrack export --db URL --out FILE' (an admin token) copies everything the server holds",
	"verify": "reads every page of the database file and every stored blob, so it runs where the file is: 'metatrack verify --db FILE' on the server's machine " +
		"(what you download through the server is checked against its SHA-256 as it streams)",
	"gc": "purges deleted resources, removes unreferenced blobs and compacts the file the server has open, so it runs where the file is: " +
		"'metatrack gc --db FILE' on the server's machine",
	"upgrade": "migrates the schema of a database file, which the server did itself when it opened its file; " +
		"a server of an older schema is upgraded by restarting it with this metatrack",
	"serve": "serves a database file (or sqlite: URL): --db names the store to serve, not another server",
	"demo": "runs its example pipelines in this process on a database file of its own: run 'metatrack demo --db FILE', " +
		"then 'metatrack merge --db URL FILE' (an admin token) sends its records to the server",
	"token create": "makes tokens only where the database file is, so that no token over the network can mint another: " +
		"'metatrack token create --db FILE --name NAME --role ROLE' on the server's machine ('metatrack token ls --db URL' lists them to an admin token)",
	"token revoke": "revokes tokens only where the database file is, so that a stolen admin token cannot lock the team out: " +
		"'metatrack token revoke --db FILE NAME' on the server's machine ('metatrack token ls --db URL' lists them to an admin token)",
}

// initCompletionCmd adds cobra's completion command (it would add it
// itself on Execute) and makes its misuse a usage error: cobra's prints
// help and succeeds on an unknown shell or none.
func initCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Long += `
References (model_version/titanic_model@3), artifact names and flag values
complete from the database of --db or ` + envURL + `.`
		c.Example = `  # bash, for this shell; add the line to ~/.bashrc to keep it
  source <(metatrack completion bash)
  # zsh
  metatrack completion zsh > "${fpath[1]}/_metatrack"
  # fish
  metatrack completion fish > ~/.config/fish/completions/metatrack.fish`
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown shell %q: bash, zsh, fish or powershell", args[0])
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, args []string) error {
			return usageErrorf("%s needs a shell: bash, zsh, fish or powershell", cmd.CommandPath())
		}
	}
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

// storePath names the store of --db in output: the file path, or for a
// PostgreSQL URL the URL without its password.
func (a *app) storePath() (string, error) {
	if postgres.IsURL(a.dbURL) {
		loc, err := postgres.ParseURL(a.dbURL)
		if err != nil {
			return "", usageError{err}
		}
		return loc.Redacted, nil
	}
	return a.dbPath()
}

// storeSize returns the bytes the store at path takes: the file and its
// write-ahead log, or on PostgreSQL what t's engine reports (its schema's
// tables); 0 when it cannot tell.
func (a *app) storeSize(ctx context.Context, t *metatrack.Tracker, path string) int64 {
	if !postgres.IsURL(a.dbURL) {
		return fileSize(path)
	}
	st, err := t.Stats(ctx)
	if err != nil {
		return 0
	}
	return st.FileBytes
}

// dbPath returns the file path of --db.
func (a *app) dbPath() (string, error) {
	if remote.IsRemote(a.dbURL) {
		// (The commands that need the file refuse a server before they
		// run: see fileOnly.)
		return "", usageErrorf("--db %s is a server: this command needs a database file", a.dbURL)
	}
	p, err := metatrack.PathFromURL(a.dbURL)
	if err != nil {
		return "", usageError{err}
	}
	return p, nil
}

// dial connects to the server of --db http(s):// with --token. Without
// opts it starts no run: only write does, as with a file.
func (a *app) dial(ctx context.Context, opts ...remote.Option) (*remote.Client, error) {
	if len(opts) == 0 {
		opts = []remote.Option{remote.WithoutRun()}
	}
	return remote.Dial(ctx, a.dbURL, append([]remote.Option{remote.WithToken(a.token), remote.WithRetryFor(5 * time.Second)}, opts...)...)
}

// describe returns the message of err for stderr. A query error from the
// library is shown as the query package writes it, with its position and a
// caret under the offending spot, without the sentinel that wraps it.
func describe(err error) string {
	var qerr *query.Error
	if errors.As(err, &qerr) && errors.Is(err, metatrack.ErrInvalidArgument) {
		return qerr.Error()
	}
	return stripPackagePrefixes(err.Error())
}

// stripPackagePrefixes removes the names of the packages an error passed
// through ("db: ", "db: backup: ") from a message for the user: the path
// and the reason stay.
func stripPackagePrefixes(msg string) string {
	for _, p := range []string{"db: backup: ", "db: "} {
		msg = strings.TrimPrefix(msg, p)
		msg = strings.ReplaceAll(msg, ": "+p, ": ")
	}
	return msg
}

// openRead opens the store of --db, which must exist, for reading: a
// database file read-only (the inspection commands never write, and start
// no run), or a server with --token.
func (a *app) openRead(ctx context.Context) (metatrack.Store, error) {
	if remote.IsRemote(a.dbURL) {
		return a.dial(ctx)
	}
	t, _, err := a.openExisting(ctx, metatrack.WithReadOnly(), metatrack.WithClock(a.now))
	return t, err
}

// openFile opens the database file of --db, which must exist, read-only,
// for the commands that read the file itself (see fileOnly).
func (a *app) openFile(ctx context.Context) (*metatrack.Tracker, error) {
	t, _, err := a.openExisting(ctx, metatrack.WithReadOnly(), metatrack.WithClock(a.now))
	return t, err
}

// location names the store t for messages and listings: the path of a
// database file, the URL of a server.
func location(t metatrack.Store) string {
	if tr, ok := t.(*metatrack.Tracker); ok {
		return tr.Path()
	}
	return t.URL()
}

// resolve returns the resource an id or reference names, with a message
// that says where it looked when there is none.
func (a *app) resolve(ctx context.Context, t metatrack.Store, ref string) (metatrack.Resource, error) {
	r, err := t.GetResource(ctx, ref, "")
	if errors.Is(err, metatrack.ErrDeleted) {
		return r, fmt.Errorf("%w ('metatrack restore %s' brings it back; 'metatrack ls --deleted' lists what is deleted)", err, ref)
	}
	if errors.Is(err, metatrack.ErrNotFound) {
		return r, fmt.Errorf("no resource %s in %s (%s)", ref, location(t), a.notFoundHint(ctx, t, ref))
	}
	return r, err
}

// notFoundHint says what there is instead of ref: the type/name form for a
// bare name, the versions of a chain for a version that is not in it, the
// aliases of a model for an alias it does not have.
func (a *app) notFoundHint(ctx context.Context, t metatrack.Store, ref string) string {
	const list = "list what there is with 'metatrack ls'"
	typ, rest, ok := strings.Cut(ref, "/")
	if !ok {
		if _, err := uuid.Parse(ref); err == nil {
			return list
		}
		return "a reference is type/name, such as model/" + ref + " or model_version/" + ref + "@1; " + list
	}
	name, at, ok := strings.Cut(rest, "@")
	head, isChain := strings.CutSuffix(typ, "_version")
	if !ok || !isChain || strings.Contains(at, "/") || strings.Contains(name, "/") {
		return list
	}
	headRef := metatrack.Resource{ID: head + "/" + name}
	vs, err := t.Versions(ctx, headRef)
	if err != nil || len(vs) == 0 {
		return fmt.Sprintf("there is no %s %s; %s", head, name, list)
	}
	lo, hi := vs[0].Version, vs[0].Version
	for _, v := range vs {
		lo, hi = min(lo, v.Version), max(hi, v.Version)
	}
	if _, err := strconv.Atoi(at); err == nil || at == "" {
		return fmt.Sprintf("the chain has @%d..@%d", lo, hi)
	}
	als, err := t.Aliases(ctx, headRef)
	if err != nil {
		return list
	}
	names := make([]string, 0, len(als))
	for _, al := range als {
		names = append(names, al.Name)
	}
	if len(names) == 0 {
		return fmt.Sprintf("no alias %s on %s %s, which has none; the chain has @%d..@%d", at, head, name, lo, hi)
	}
	return fmt.Sprintf("no alias %s on %s %s (aliases: %s)", at, head, name, strings.Join(names, ", "))
}

// openExisting opens the database of --db, which must exist, with opts.
func (a *app) openExisting(ctx context.Context, opts ...metatrack.Option) (*metatrack.Tracker, string, error) {
	if postgres.IsURL(a.dbURL) {
		// A database server: no file to look for; Open says what is
		// wrong with the URL, the login or the schema.
		t, err := metatrack.Open(ctx, a.dbURL, opts...)
		if err != nil {
			return nil, "", err
		}
		return t, t.Path(), nil
	}
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
	if errors.Is(err, metatrack.ErrSchemaTooOld) {
		return nil, path, fmt.Errorf("%w (upgrade it with 'metatrack upgrade --db %s')", err, path)
	}
	return t, path, err
}

// json reports whether -o json was given.
func (a *app) json() bool { return a.output == outputJSON }

// writeJSON prints v as one indented JSON document.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
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

// exactArgs is the Args of commands that take n positional arguments,
// described by what in the usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// minArgs is the Args of commands that take at least n positional
// arguments.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("%s takes %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}
