package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newVerifyCmd(a *app) *cobra.Command {
	return listing(&cobra.Command{
		Use:   "verify",
		Short: "Check the store: its schema, integrity, artifact bytes against their SHA-256, chains, deployments",
		Long: `verify opens the store read-only and checks it: its schema against the one
its version's migrations create (no view, trigger, function, table, column or
index they did not), SQLite's integrity check (on a file) and the foreign
keys, every stored JSON value, the bytes of every artifact against its
SHA-256 and size, every version chain (numbered 1..n, parents right), that
at most one deployment is open per model and environment and that statuses
agree with deployments, aliases and deleted resources, the attribute index,
the change log and the metric series. On PostgreSQL it reads one
snapshot; writers go on meanwhile.
Damaged artifact bytes are named by the artifacts and resources they break
(one stored file may hold the bytes of several artifacts), in the detail
and, with -o json, in the problem's "hits".

It prints what it checked, and each problem found (at most 1000, then a
count). The exit status is 0 when nothing is wrong and 1 when something is
(or the file cannot be read), so that scripts and cron jobs can act on it;
-o json prints the same report. A progress bar, in bytes of artifacts
checked, shows on stderr when it is a terminal.`,
		Example: `  metatrack verify --db titanic.db
  metatrack verify --db 'postgres://metatrack@db.example.com/ml?schema=team_a'
  metatrack verify --db /data/metatrack.db -o json || alert "metatrack database damaged"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runVerify(cmd.Context())
		},
	})
}

// verifyJSON is the -o json document of verify.
type verifyJSON struct {
	Database  string        `json:"database"`
	OK        bool          `json:"ok"`
	Resources int64         `json:"resources"`
	Blobs     int64         `json:"blobs"`
	Bytes     int64         `json:"bytes"`
	Problems  []problemJSON `json:"problems"`
	// Omitted counts the problems beyond those listed.
	Omitted int `json:"omitted"`
}

type problemJSON struct {
	Kind   string `json:"kind"`
	What   string `json:"what"`
	Detail string `json:"detail"`
	// Hits are the artifacts a damaged blob breaks (empty for other
	// problems).
	Hits []hitJSON `json:"hits"`
}

// hitJSON is an artifact that a damaged blob breaks.
type hitJSON struct {
	Artifact    string `json:"artifact"`
	ArtifactID  string `json:"artifact_id"`
	ResourceID  string `json:"resource_id"`
	ResourceRef string `json:"resource_ref"`
}

func (a *app) runVerify(ctx context.Context) error {
	t, err := a.openFile(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	bar := a.newProgress("verifying", unitBytes, 0)
	rep, err := t.Verify(ctx, metatrack.WithProgress(bar.set))
	bar.done()
	if err != nil && rep.OK() {
		return err // it could not check, rather than found something wrong
	}
	out := verifyJSON{Database: t.Path(), OK: rep.OK(), Resources: rep.Resources, Blobs: rep.Blobs, Bytes: rep.Bytes,
		Problems: []problemJSON{}, Omitted: rep.Omitted}
	for _, p := range rep.Problems {
		pj := problemJSON{Kind: p.Kind, What: p.What, Detail: p.Detail, Hits: []hitJSON{}}
		for _, h := range p.Hits {
			pj.Hits = append(pj.Hits, hitJSON{Artifact: h.Artifact, ArtifactID: h.ArtifactID, ResourceID: h.ResourceID, ResourceRef: h.ResourceRef})
		}
		out.Problems = append(out.Problems, pj)
	}
	if a.json() {
		if err := a.writeJSON(out); err != nil {
			return err
		}
	} else if a.csv() {
		if err := a.writeCSV(out.Problems); err != nil {
			return err
		}
	} else {
		printVerify(a.stdout, out)
	}
	if !out.OK {
		return fmt.Errorf("%s: %s found", t.Path(), plural(len(out.Problems)+out.Omitted, "problem"))
	}
	return nil
}

func printVerify(w io.Writer, v verifyJSON) {
	fmt.Fprintf(w, "Checked %s: %s, %s of artifacts (%s).\n", v.Database, plural(int(v.Resources), "resource"),
		humanBytes(v.Bytes), plural(int(v.Blobs), "stored file"))
	if v.OK {
		fmt.Fprintln(w, "No problems found.")
		return
	}
	fmt.Fprintf(w, "\n%s:\n", plural(len(v.Problems)+v.Omitted, "problem"))
	tw := newTable(w)
	fmt.Fprintln(tw, "  KIND\tWHAT\tDETAIL")
	for _, p := range v.Problems {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Kind, p.What, p.Detail)
	}
	tw.Flush()
	if v.Omitted > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", v.Omitted)
	}
}
