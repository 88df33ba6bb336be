package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack/lineage"
)

func newImpactCmd(a *app) *cobra.Command {
	return listing(&cobra.Command{
		Use:   "impact <ref>",
		Short: "Show what depends on a resource: deployed model versions and prediction jobs downstream",
		Long: `impact answers "what breaks if this is wrong?" for a resource, typically a
dataset version: every model version downstream of it that is deployed (with
the environments it is deployed in) and every prediction job downstream of
it, each with its distance in lineage steps.

'metatrack lineage <ref> --down' shows the whole downstream graph.`,
		Example: `  metatrack impact dataset_version/titanic_train@2 --db titanic.db
  metatrack impact dataset_version/titanic_train@2 -o json | jq -r '.deployed[].ref'`,
		Args:              exactArgs(1, "a resource id or reference"),
		ValidArgsFunction: a.completeRefs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImpact(cmd.Context(), args[0])
		},
	})
}

// impactJSON is the -o json document of impact.
type impactJSON struct {
	Resource       resourceRefJSON  `json:"resource"`
	Deployed       []impactNodeJSON `json:"deployed"`
	PredictionJobs []impactNodeJSON `json:"prediction_jobs"`
	Truncated      bool             `json:"truncated"`
}

type impactNodeJSON struct {
	ID     string `json:"id"`
	Ref    string `json:"ref"`
	Status string `json:"status"`
	// Depth is the number of lineage steps from the resource.
	Depth int `json:"depth"`
	// Environments are those the model version is deployed in now (only
	// in deployed).
	Environments []string `json:"environments,omitempty"`
}

func toImpactNode(n lineage.Node, envs []string) impactNodeJSON {
	return impactNodeJSON{ID: n.ID, Ref: n.Ref(), Status: n.Status, Depth: n.Depth, Environments: envs}
}

func (a *app) runImpact(ctx context.Context, ref string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	rep, err := t.Impact(ctx, r)
	if err != nil {
		return err
	}
	out := impactJSON{Resource: *refJSON(r), Deployed: []impactNodeJSON{}, PredictionJobs: []impactNodeJSON{}, Truncated: rep.Truncated}
	for _, d := range rep.Deployed {
		envs := d.Environments
		if envs == nil {
			envs = []string{}
		}
		out.Deployed = append(out.Deployed, toImpactNode(d.Node, envs))
	}
	for _, p := range rep.PredictionJobs {
		out.PredictionJobs = append(out.PredictionJobs, toImpactNode(p, nil))
	}
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() {
		// One list: what each row is comes first.
		var rows []record
		for _, group := range []struct {
			kind  string
			nodes []impactNodeJSON
		}{{"deployed", out.Deployed}, {"prediction_job", out.PredictionJobs}} {
			for _, n := range group.nodes {
				rows = append(rows, record{{"impact", group.kind}, {"id", n.ID}, {"ref", n.Ref}, {"status", n.Status},
					{"depth", n.Depth}, {"environments", strings.Join(n.Environments, " ")}})
			}
		}
		return a.writeCSV(rows, "impact", "id", "ref", "status", "depth", "environments")
	}
	return printImpact(a.stdout, out)
}

func printImpact(w io.Writer, out impactJSON) error {
	fmt.Fprintf(w, "Downstream of %s: %s, %s.\n", out.Resource.Ref,
		plural(len(out.Deployed), "deployed model version"), plural(len(out.PredictionJobs), "prediction job"))
	tw := newTable(w)
	if len(out.Deployed) > 0 {
		fmt.Fprintf(w, "\nDeployed model versions:\n")
		fmt.Fprintln(tw, "  REF\tSTATUS\tENVIRONMENTS\tSTEPS")
		for _, d := range out.Deployed {
			envs := strings.Join(d.Environments, ", ")
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", d.Ref, orDash(d.Status), orDash(envs), d.Depth)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(out.PredictionJobs) > 0 {
		fmt.Fprintf(w, "\nPrediction jobs:\n")
		fmt.Fprintln(tw, "  REF\tSTATUS\tSTEPS")
		for _, p := range out.PredictionJobs {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", p.Ref, orDash(p.Status), p.Depth)
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
