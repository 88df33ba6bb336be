package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

func newExportCmd(a *app) *cobra.Command {
	var (
		out       string
		filter    string
		noLineage bool
	)
	cmd := &cobra.Command{
		Use:   "export [<file> | --out <file>]",
		Short: "Write the database, or the part a query selects, in the portable export format",
		Long: `export writes the database in metatrack's line-oriented export format (one
JSON record per line, artifact bytes included; documented in the Go package
github.com/metatrack/metatrack/portable), to the file given (as an argument
or with --out) or to stdout. It reads one
consistent snapshot while pipelines go on writing, and checks artifact bytes
against their SHA-256 as it reads them (a mismatch fails the export).

--filter exports only the resources a query selects (see 'metatrack ls
--help'; no ORDER BY or LIMIT), with what they need: their ancestors and
what they were made from, to the end of their upstream lineage (a model
version's dataset versions and datasets, its winning experiment; the
earlier versions of every chain as bare records), and of all these the
runs, tags, metadata, version-control records, history, artifacts and the
deployments and edges among them. --no-lineage leaves the upstream lineage
out: the selection and its ancestors only. 'metatrack import' reads the file into
another database; 'metatrack merge' does both at once from a database file.

Note that -o is the output format: the file to write is --out. It is
written beside its final name and renamed into place at the end, so a
failed export leaves no partial file. The summary (JSON with -o json) goes
to stdout when the export goes to a file. A progress bar shows on stderr
when it is a terminal.`,
		Example: `  metatrack export --db titanic.db titanic.ndjson
  metatrack export --db titanic.db --out titanic.jsonl
  metatrack export --filter "name = 'titanic_model'" --out model.jsonl -o json
  metatrack export --db titanic.db | gzip > titanic.jsonl.gz`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usageErrorf("%s takes at most one file, got %q", cmd.CommandPath(), args)
			case len(args) == 1 && out != "":
				return usageErrorf("give the export file as an argument or as --out, not both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				out = args[0]
			}
			if a.json() && (out == "" || out == "-") {
				return usageErrorf("-o json prints a summary, so the export needs --out <file>")
			}
			if noLineage && filter == "" {
				return usageErrorf("--no-lineage goes with --filter (an export without one holds everything)")
			}
			return a.runExport(cmd.Context(), out, filter, noLineage)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "write the export to this file instead of stdout (not -o: that is the output format)")
	f.StringVar(&filter, "filter", "", "export only the resources this query selects, with what they need")
	f.BoolVar(&noLineage, "no-lineage", false, "with --filter: leave out what the selection was made from")
	return cmd
}

// transferJSON is the -o json document of export, import and merge.
type transferJSON struct {
	Database string `json:"database"`
	// File is the export file written or read ("-": stdin or stdout), or
	// the database merged from.
	File    string           `json:"file"`
	Records int64            `json:"records"`
	Kinds   map[string]int64 `json:"kinds"`
	Bytes   int64            `json:"artifact_bytes"`
	// Import and merge only.
	Added      int64 `json:"added"`
	Updated    int64 `json:"updated"`
	Renumbered int64 `json:"renumbered"`
	Unified    int64 `json:"unified"`
	Closed     int64 `json:"deployments_closed"`
	// Renumberings: each version number a chain member gave up.
	Renumberings []renumberingJSON `json:"renumberings"`
	// DryRun: merge --dry-run; nothing was written.
	DryRun bool `json:"dry_run"`
}

// renumberingJSON is one version number a chain member gave up: the
// reference it had (in the database, or in the file it came from) and the
// one it has now.
type renumberingJSON struct {
	ID     string `json:"id"`
	OldRef string `json:"old_ref"`
	NewRef string `json:"new_ref"`
	// From is "database" when OldRef was this database's reference, "file"
	// when it was the imported file's.
	From string `json:"from"`
}

func toTransferJSON(db, file string, st metatrack.TransferStats) transferJSON {
	kinds := st.Kinds
	if kinds == nil {
		kinds = map[string]int64{}
	}
	out := transferJSON{Database: db, File: file, Records: st.Records, Kinds: kinds, Bytes: st.Bytes,
		Added: st.Added, Updated: st.Updated, Renumbered: st.Renumbered, Unified: st.Unified, Closed: st.Closed,
		Renumberings: []renumberingJSON{}, DryRun: st.DryRun}
	for _, r := range st.Renumberings {
		from := "database"
		if r.Incoming {
			from = "file"
		}
		out.Renumberings = append(out.Renumberings, renumberingJSON{ID: r.ID, From: from,
			OldRef: fmt.Sprintf("%s/%s@%d", r.Type, r.Name, r.Old), NewRef: fmt.Sprintf("%s/%s@%d", r.Type, r.Name, r.New)})
	}
	return out
}

func (a *app) runExport(ctx context.Context, out, filter string, noLineage bool) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	toStdout := out == "" || out == "-"
	bar := &progress{} // silent
	if !toStdout || !terminal(a.stdout) {
		// (A bar between the records on the same terminal would garble them.)
		unit := unitRecords
		if remote.IsRemote(a.dbURL) {
			unit = unitBytes
		}
		bar = a.newProgress("exporting", unit, 0)
	}
	defer bar.done()
	opts := []metatrack.MaintenanceOption{metatrack.WithProgress(bar.set)}
	if filter != "" {
		opts = append(opts, metatrack.WithExportFilter(filter))
	}
	if noLineage {
		opts = append(opts, metatrack.WithoutLineage())
	}
	export := func(w io.Writer) (metatrack.TransferStats, error) {
		switch t := t.(type) {
		case *metatrack.Tracker:
			return t.Export(ctx, w, opts...)
		case *remote.Client:
			// The server streams it; the bar counts the bytes.
			w = &countingWriter{w: w, add: bar.add}
			if noLineage {
				return t.ExportWithoutLineage(ctx, w, filter)
			}
			return t.Export(ctx, w, filter)
		}
		return metatrack.TransferStats{}, fmt.Errorf("export: %T cannot export", t)
	}
	if toStdout {
		st, err := export(a.stdout)
		bar.done()
		if err != nil {
			return err
		}
		if terminal(a.stderr) {
			printTransfer(a.stderr, "Exported", toTransferJSON(location(t), "stdout", st))
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	st, err := export(tmp)
	if err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	bar.done()
	tj := toTransferJSON(location(t), out, st)
	if a.json() {
		return a.writeJSON(tj)
	}
	printTransfer(a.stdout, "Exported", tj)
	return nil
}

// dryRunSuffix marks the verb of printTransfer for merge --dry-run.
const dryRunSuffix = " (dry run)"

// printTransfer prints what export, import or merge moved (or, for a dry
// run, would move).
func printTransfer(w io.Writer, verb string, t transferJSON) {
	switch verb {
	case "Exported":
		fmt.Fprintf(w, "Exported %s to %s: %s, %s of artifact bytes.\n", t.Database, t.File, plural(int(t.Records), "record"), humanBytes(t.Bytes))
	case "Imported":
		fmt.Fprintf(w, "Imported %s into %s: %s, %s of artifact bytes.\n", t.File, t.Database, plural(int(t.Records), "record"), humanBytes(t.Bytes))
	case "Merged" + dryRunSuffix:
		fmt.Fprintf(w, "Dry run, nothing was written: merging %s into %s would read %s, %s of artifact bytes.\n", t.File, t.Database, plural(int(t.Records), "record"), humanBytes(t.Bytes))
	default:
		fmt.Fprintf(w, "Merged %s into %s: %s, %s of artifact bytes.\n", t.File, t.Database, plural(int(t.Records), "record"), humanBytes(t.Bytes))
	}
	if verb != "Exported" {
		fmt.Fprintf(w, "  %d added, %d updated, %d already there", t.Added, t.Updated, max(0, t.Records-t.Added-t.Updated))
		if t.Renumbered > 0 || t.Unified > 0 || t.Closed > 0 {
			fmt.Fprintf(w, "; %s renumbered, %s unified, %s closed", plural(int(t.Renumbered), "version"),
				plural(int(t.Unified), "resource"), plural(int(t.Closed), "deployment"))
		}
		fmt.Fprintln(w)
	}
	if len(t.Renumberings) > 0 {
		fmt.Fprintln(w, "  Renumbered (a reference with the old number now names another version, or none):")
		tw := newTable(w)
		for _, r := range t.Renumberings {
			whose := "this database's"
			if r.From == "file" {
				whose = filepath.Base(t.File) + "'s"
			}
			fmt.Fprintf(tw, "    %s\t->\t%s\t(%s number)\n", r.OldRef, r.NewRef, whose)
		}
		tw.Flush()
	}
	if len(t.Kinds) > 0 {
		fmt.Fprintln(w, "  Records by kind:")
		tw := newTable(w)
		for _, k := range sortedKeys(t.Kinds) {
			fmt.Fprintf(tw, "    %s\t%d\n", k, t.Kinds[k])
		}
		tw.Flush()
	}
}

// countingWriter passes writes to w and their sizes to add.
type countingWriter struct {
	w   io.Writer
	add func(int64)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.add(int64(n))
	return n, err
}
