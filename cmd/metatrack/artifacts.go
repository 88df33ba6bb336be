package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newArtifactsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artifacts",
		Short: "List the artifacts of a resource, or read one back",
		Long: `artifacts lists the files stored for a resource (models, reports, data
profiles, checks) and reads them back, verified against the SHA-256
recorded when they were logged.`,
		Example: `  metatrack artifacts ls model_version/titanic_model@3 --db titanic.db
  metatrack artifacts get model_version/titanic_model@3/experiment/trial-1 model.json --out model.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("%s needs a subcommand: ls or get", cmd.CommandPath())
		},
	}
	cmd.AddCommand(newArtifactsLsCmd(a), newArtifactsGetCmd(a))
	return cmd
}

func newArtifactsLsCmd(a *app) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "ls <ref>",
		Short: "List the artifacts of a resource",
		Long: `artifacts ls lists the artifacts of one resource, oldest first: name, kind
(artifact, data_profile, checks, data_comparison), size, media type, the
start of the SHA-256 and when it was logged. An external artifact (recorded
by URI, its bytes elsewhere) shows its URI. --kind keeps one kind.`,
		Example: `  metatrack artifacts ls model_version/titanic_model@3 --db titanic.db
  metatrack artifacts ls dataset_version/titanic_train@2 --kind checks -o json`,
		Args:              exactArgs(1, "a resource id or reference"),
		ValidArgsFunction: a.completeRefs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runArtifactsLs(cmd.Context(), args[0], kind)
		},
	}
	enumFlag(cmd, &kind, "kind", "", "only artifacts of this kind", []string{
		metatrack.KindArtifact, metatrack.KindDataProfile, metatrack.KindChecks, metatrack.KindDataComparison,
	})
	return listing(cmd)
}

func newArtifactsGetCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "get <ref> <name> [--out <file>]",
		Short: "Write the bytes of an artifact to a file or stdout, verified against its SHA-256",
		Long: `artifacts get reads the bytes of artifact <name> of a resource back from the
database and checks them against the SHA-256 and size recorded when the
file was logged.

Note that -o is the output format (table or json), as everywhere; the file
to write is --out. With --out the bytes go to a temporary file beside it
that is renamed into place only once the hash checked out, so a corrupt
artifact never leaves a file behind; --out may name a directory, to write
into it under the artifact's base name. Without --out the bytes stream to
stdout, and a hash mismatch, found at the end, makes the command fail (exit
status 1) after the bytes were written.

A progress bar shows on stderr when it is a terminal. With -o json and
--out, the artifact's record is printed as JSON.`,
		Example: `  metatrack artifacts get model_version/titanic_model@3/experiment/trial-1 model.json --out model.json
  metatrack artifacts get model_version/titanic_model@3/experiment/trial-1 model.json --out models/
  metatrack artifacts get dataset_version/titanic_train@2 checks/data/data_checks.json | jq .`,
		Args:              exactArgs(2, "a resource id or reference and an artifact name"),
		ValidArgsFunction: a.completeArtifactArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.json() && (out == "" || out == "-") {
				return usageErrorf("-o json prints the artifact's record, so the bytes need --out <file>")
			}
			return a.runArtifactsGet(cmd.Context(), args[0], args[1], out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the bytes to this file or directory instead of stdout (not -o: that is the output format)")
	return cmd
}

// artifactJSON is an artifact in -o json documents.
type artifactJSON struct {
	ID         string    `json:"id"`
	ResourceID string    `json:"resource_id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	CheckType  string    `json:"check_type"`
	MediaType  string    `json:"media_type"`
	SizeBytes  int64     `json:"size_bytes"`
	SHA256     string    `json:"sha256"`
	URI        string    `json:"uri"`
	SourcePath string    `json:"source_path"`
	RunID      *string   `json:"run_id"`
	CreatedAt  time.Time `json:"created_at"`
}

func toArtifactsJSON(arts []metatrack.Artifact) []artifactJSON {
	out := make([]artifactJSON, len(arts))
	for i, x := range arts {
		out[i] = toArtifactJSON(x)
	}
	return out
}

func toArtifactJSON(x metatrack.Artifact) artifactJSON {
	return artifactJSON{ID: x.ID, ResourceID: x.ResourceID, Name: x.Name, Kind: x.Kind, CheckType: x.CheckType,
		MediaType: x.MediaType, SizeBytes: x.Size, SHA256: x.SHA256, URI: x.URI, SourcePath: x.SourcePath,
		RunID: optString(x.RunID), CreatedAt: x.CreatedAt.UTC()}
}

// artifactsJSON is the -o json document of artifacts ls.
type artifactsJSON struct {
	Resource  resourceRefJSON `json:"resource"`
	Artifacts []artifactJSON  `json:"artifacts"`
}

func (a *app) runArtifactsLs(ctx context.Context, ref, kind string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	arts, err := t.Artifacts(ctx, r, kind)
	if err != nil {
		return err
	}
	out := artifactsJSON{Resource: *refJSON(r), Artifacts: toArtifactsJSON(arts)}
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() {
		return a.writeCSV(out.Artifacts)
	}
	fmt.Fprintf(a.stdout, "%s: %s\n", r.Ref(), plural(len(arts), "artifact"))
	if len(arts) == 0 {
		return nil
	}
	fmt.Fprintln(a.stdout)
	tw := newTable(a.stdout)
	writeArtifactRows(tw, "", out.Artifacts)
	return tw.Flush()
}

// writeArtifactRows writes a table of artifacts to tw, each line led by
// indent.
func writeArtifactRows(tw *tabwriter.Writer, indent string, arts []artifactJSON) {
	fmt.Fprintf(tw, "%sNAME\tKIND\tSIZE\tMEDIA TYPE\tSHA-256\tLOGGED (UTC)\n", indent)
	for _, x := range arts {
		kind := x.Kind
		if x.CheckType != "" {
			kind += " (" + x.CheckType + ")"
		}
		sum := x.SHA256
		if len(sum) > 12 {
			sum = sum[:12] + "..."
		}
		name := x.Name
		if x.URI != "" {
			name += " -> " + x.URI
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", indent, name, kind, humanBytes(x.SizeBytes), orDash(x.MediaType), orDash(sum), tableTime(x.CreatedAt))
	}
}

func (a *app) runArtifactsGet(ctx context.Context, ref, name, out string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	art, rc, err := t.GetArtifact(ctx, r, name)
	if errors.Is(err, metatrack.ErrNotFound) {
		return fmt.Errorf("%s has no artifact %q (list them with 'metatrack artifacts ls %s')", r.Ref(), name, r.Ref())
	}
	if errors.Is(err, metatrack.ErrExternalArtifact) {
		return fmt.Errorf("artifact %q of %s is stored outside the database, at %s", name, r.Ref(), art.URI)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	toStdout := out == "" || out == "-"
	bar := &progress{} // silent
	if !toStdout || !terminal(a.stdout) {
		// (A bar between the bytes on the same terminal would garble them.)
		bar = a.newProgress(path.Base(art.Name), unitBytes, art.Size)
	}
	defer bar.done()
	src := io.TeeReader(rc, progressWriter{bar})
	buf := make([]byte, metatrack.ChunkSize)
	if toStdout {
		_, err := io.CopyBuffer(a.stdout, src, buf)
		return err
	}
	// The one safe way to write a stored name to disk: it refuses a
	// forged name, whatever operating system this runs on.
	if out, err = metatrack.WriteArtifactFile(out, art, src); err != nil {
		return err
	}
	bar.done()
	if a.json() {
		return a.writeJSON(toArtifactJSON(art))
	}
	check := "SHA-256 " + art.SHA256 + " verified"
	if art.SHA256 == "" {
		check = "no SHA-256 recorded to verify"
	}
	fmt.Fprintf(a.stdout, "Wrote %s (%s, %s).\n", out, humanBytes(art.Size), check)
	return nil
}
