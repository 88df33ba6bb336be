package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack/lineage"
)

func newProvenanceCmd(a *app) *cobra.Command {
	return listing(&cobra.Command{
		Use:   "provenance <ref>",
		Short: "Show what a resource is made of: dataset versions and experiments upstream, and the runs that created them",
		Long: `provenance answers "what is this made of?" for a resource, typically a
prediction job or a model version: every dataset version and every
experiment upstream of it (the resource itself too, when it is one), each
with its distance in lineage steps and the run that created it, and those
runs.

'metatrack lineage <ref> --up' shows the whole upstream graph; 'metatrack
impact' answers the opposite question.`,
		Example: `  metatrack provenance prediction_job/batch-titanic_train-v3 --db titanic.db
  metatrack provenance model_version/titanic_model@latest -o json | jq -r '.dataset_versions[].ref'`,
		Args:              exactArgs(1, "a resource id or reference"),
		ValidArgsFunction: a.completeRefs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runProvenance(cmd.Context(), args[0])
		},
	})
}

// provenanceJSON is the -o json document of provenance.
type provenanceJSON struct {
	Resource        resourceRefJSON  `json:"resource"`
	DatasetVersions []originNodeJSON `json:"dataset_versions"`
	Experiments     []originNodeJSON `json:"experiments"`
	// Runs are the runs that created them, each once, oldest first.
	Runs      []runRefJSON `json:"runs"`
	Truncated bool         `json:"truncated"`
}

type originNodeJSON struct {
	ID     string `json:"id"`
	Ref    string `json:"ref"`
	Status string `json:"status"`
	// Depth is the number of lineage steps from the resource.
	Depth int `json:"depth"`
	// Run is the run that created the resource, null when none did.
	Run *runRefJSON `json:"run"`
}

func toRunRef(r *lineage.Run) *runRefJSON {
	if r == nil {
		return nil
	}
	return &runRefJSON{ID: r.ID, Name: r.Name, Status: r.Status}
}

func (a *app) runProvenance(ctx context.Context, ref string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	rep, err := t.Provenance(ctx, r)
	if err != nil {
		return err
	}
	out := provenanceJSON{Resource: *refJSON(r), DatasetVersions: []originNodeJSON{}, Experiments: []originNodeJSON{},
		Runs: []runRefJSON{}, Truncated: rep.Truncated}
	for _, o := range rep.DatasetVersions {
		out.DatasetVersions = append(out.DatasetVersions, originNodeJSON{ID: o.ID, Ref: o.Ref(), Status: o.Status, Depth: o.Depth, Run: toRunRef(o.Run)})
	}
	for _, o := range rep.Experiments {
		out.Experiments = append(out.Experiments, originNodeJSON{ID: o.ID, Ref: o.Ref(), Status: o.Status, Depth: o.Depth, Run: toRunRef(o.Run)})
	}
	for i := range rep.Runs {
		out.Runs = append(out.Runs, *toRunRef(&rep.Runs[i]))
	}
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() {
		// One list: what each row is comes first.
		var rows []record
		for _, group := range []struct {
			kind  string
			nodes []originNodeJSON
		}{{"dataset_version", out.DatasetVersions}, {"experiment", out.Experiments}} {
			for _, n := range group.nodes {
				run := runRefJSON{}
				if n.Run != nil {
					run = *n.Run
				}
				rows = append(rows, record{{"provenance", group.kind}, {"id", n.ID}, {"ref", n.Ref}, {"status", n.Status},
					{"depth", n.Depth}, {"run_id", run.ID}, {"run_name", run.Name}, {"run_status", run.Status}})
			}
		}
		return a.writeCSV(rows, "provenance", "id", "ref", "status", "depth", "run_id", "run_name", "run_status")
	}
	return printProvenance(a.stdout, out)
}

func printProvenance(w io.Writer, out provenanceJSON) error {
	fmt.Fprintf(w, "Upstream of %s: %s, %s, created by %s.\n", out.Resource.Ref,
		plural(len(out.DatasetVersions), "dataset version"), plural(len(out.Experiments), "experiment"), plural(len(out.Runs), "run"))
	runCell := func(r *runRefJSON) string {
		if r == nil {
			return "-"
		}
		return r.Name
	}
	tw := newTable(w)
	for _, group := range []struct {
		title string
		nodes []originNodeJSON
	}{{"Dataset versions", out.DatasetVersions}, {"Experiments", out.Experiments}} {
		if len(group.nodes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", group.title)
		fmt.Fprintln(tw, "  REF\tSTATUS\tSTEPS\tRUN")
		for _, n := range group.nodes {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", n.Ref, orDash(n.Status), n.Depth, runCell(n.Run))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(out.Runs) > 0 {
		fmt.Fprintf(w, "\nRuns:\n")
		fmt.Fprintln(tw, "  NAME\tSTATUS\tID")
		for _, r := range out.Runs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Name, orDash(r.Status), r.ID)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if out.Truncated {
		fmt.Fprintln(w, "\nThe walk was cut short: there may be more.")
	}
	return nil
}
