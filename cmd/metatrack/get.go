package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

// childrenShown is how many children the table of get lists; -o json
// lists them all.
const childrenShown = 20

func newGetCmd(a *app) *cobra.Command {
	var recent int
	cmd := &cobra.Command{
		Use:   "get <ref>",
		Short: "Show one resource with its tags, metadata, artifacts, version control, parent, children and recent history",
		Long: `get shows everything recorded about one resource, named by its id or a
reference (model_version/titanic_model@3, model_version/titanic_model@latest,
dataset/titanic_train): its fields and attributes, the run that created it,
its tags, metadata, artifacts, version-control records, parent and children
(the versions of a dataset or model; the experiments, promotions and
prediction jobs of a model version), where a model or model version is
deployed now, and its newest changes (--history; 'metatrack history' lists
them all).`,
		Example: `  metatrack get model_version/titanic_model@latest --db titanic.db
  metatrack get dataset_version/titanic_train@2 --history 0
  metatrack get model_version/titanic_model@3/experiment/trial-1 -o json | jq .metadata`,
		Args:              exactArgs(1, "a resource id or reference"),
		ValidArgsFunction: a.completeRefs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if recent < 0 {
				return usageErrorf("--history must not be negative, got %d", recent)
			}
			return a.runGet(cmd.Context(), args[0], recent)
		},
	}
	cmd.Flags().IntVar(&recent, "history", 10, "how many of the newest changes to show")
	return cmd
}

// getJSON is the -o json document of get.
type getJSON struct {
	Resource resourceJSON      `json:"resource"`
	Run      *runRefJSON       `json:"run"`
	Parent   *resourceRefJSON  `json:"parent"`
	Children []resourceJSON    `json:"children"`
	Tags     map[string]string `json:"tags"`
	Metadata map[string]any    `json:"metadata"`
	// VCInfo maps each version-control key to its record; "" is the
	// resource's own record.
	VCInfo    map[string]map[string]any `json:"vc_info"`
	Artifacts []artifactJSON            `json:"artifacts"`
	// Deployed lists the current deployments of a model or model version.
	Deployed []deploymentJSON `json:"deployed"`
	// Aliases are the aliases of a model, or those that point to a model
	// version; absent when there are none.
	Aliases []aliasJSON `json:"aliases,omitempty"`
	// Metrics are the summaries of the resource's metric series by key
	// (see metatrack metrics); absent when it has none.
	Metrics map[string]metricAtJSON `json:"metrics,omitempty"`
	// History holds the newest changes, oldest first; HistoryCount counts
	// them all.
	History      []changeJSON `json:"history"`
	HistoryCount int          `json:"history_count"`
}

func (a *app) runGet(ctx context.Context, ref string, recent int) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := a.resolve(ctx, t, ref)
	if err != nil {
		return err
	}
	out := getJSON{Resource: toResourceJSON(r), Deployed: []deploymentJSON{}}
	if r.RunID != "" {
		run, err := t.GetRun(ctx, r.RunID)
		if err != nil {
			return err
		}
		out.Run = &runRefJSON{ID: run.ID, Name: run.Name, Status: run.Status}
	}
	if r.ParentID != "" {
		p, err := t.GetResource(ctx, r.ParentID, "")
		if err != nil {
			return err
		}
		out.Parent = refJSON(p)
	}
	children, err := t.Children(ctx, r, "")
	if err != nil {
		return err
	}
	out.Children = toResourcesJSON(children)
	if out.Tags, err = t.Tags(ctx, r); err != nil {
		return err
	}
	if out.Metadata, err = t.Metadata(ctx, r); err != nil {
		return err
	}
	if out.VCInfo, err = t.VCInfos(ctx, r); err != nil {
		return err
	}
	sums, err := t.Metrics(ctx, r)
	if err != nil {
		return err
	}
	for _, s := range sums {
		if out.Metrics == nil {
			out.Metrics = map[string]metricAtJSON{}
		}
		out.Metrics[s.Key] = toMetricAtJSON(s)
	}
	arts, err := t.Artifacts(ctx, r, "")
	if err != nil {
		return err
	}
	out.Artifacts = toArtifactsJSON(arts)
	if r.Type == metatrack.TypeModel || r.Type == metatrack.TypeModelVersion {
		deps, err := t.Deployments(ctx, r)
		if err != nil && !errors.Is(err, metatrack.ErrNotFound) {
			return err
		}
		for _, d := range deps {
			if d.Current() {
				out.Deployed = append(out.Deployed, deploymentJSON{Environment: d.Environment, Version: d.ModelVersion.Version,
					ModelVersionID: d.ModelVersion.ID, DeployedAt: d.DeployedAt.UTC()})
			}
		}
	}
	als, err := t.Aliases(ctx, r)
	if err != nil {
		return err
	}
	out.Aliases = toAliasesJSON(als)
	changes, err := t.History(ctx, r)
	if err != nil {
		return err
	}
	out.HistoryCount = len(changes)
	changes = changes[len(changes)-min(recent, len(changes)):]
	runNames, err := runNames(ctx, t)
	if err != nil {
		return err
	}
	out.History = toChangesJSON(changes, runNames)
	if a.json() {
		return a.writeJSON(out)
	}
	return printGet(a.stdout, out, changeRefs(ctx, t, out.History))
}

func printGet(w io.Writer, g getJSON, refs map[string]string) error {
	r := g.Resource
	fmt.Fprintln(w, r.Ref)
	tw := newTable(w)
	fmt.Fprintf(tw, "  id\t%s\n", r.ID)
	fmt.Fprintf(tw, "  status\t%s\n", orDash(r.Status))
	parent := "-"
	if g.Parent != nil {
		parent = g.Parent.Ref
	}
	fmt.Fprintf(tw, "  parent\t%s\n", parent)
	run := "-"
	if g.Run != nil {
		run = fmt.Sprintf("%s (%s, %s)", g.Run.Name, g.Run.ID, g.Run.Status)
	}
	fmt.Fprintf(tw, "  run\t%s\n", run)
	fmt.Fprintf(tw, "  created\t%s\n", tableTime(r.CreatedAt))
	fmt.Fprintf(tw, "  updated\t%s\n", tableTime(r.UpdatedAt))
	if r.StartedAt != nil || r.EndedAt != nil {
		fmt.Fprintf(tw, "  started\t%s\n", tablePtrTime(r.StartedAt))
		fmt.Fprintf(tw, "  ended\t%s\n", tablePtrTime(r.EndedAt))
	}
	if r.Type == metatrack.TypeModel || r.Type == metatrack.TypeModelVersion {
		deployed := "nowhere"
		if len(g.Deployed) > 0 {
			var envs []string
			for _, d := range g.Deployed {
				what := d.Environment
				if r.Type == metatrack.TypeModel {
					what = fmt.Sprintf("@%d in %s", d.Version, d.Environment)
				}
				envs = append(envs, fmt.Sprintf("%s since %s", what, tableTime(d.DeployedAt)))
			}
			deployed = strings.Join(envs, "; ")
		}
		fmt.Fprintf(tw, "  deployed\t%s\n", deployed)
	}
	if len(g.Aliases) > 0 {
		var names []string
		for _, al := range g.Aliases {
			if r.Version != nil {
				names = append(names, al.Name)
			} else {
				names = append(names, fmt.Sprintf("%s -> @%d", al.Name, al.Version))
			}
		}
		fmt.Fprintf(tw, "  aliases\t%s\n", strings.Join(names, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	section(w, "Attributes", len(r.Attrs))
	for _, k := range sortedKeys(r.Attrs) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, tableValue(r.Attrs[k], 80))
	}
	tw.Flush()
	section(w, "Tags", len(g.Tags))
	for _, k := range sortedKeys(g.Tags) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, tableValue(g.Tags[k], 80))
	}
	tw.Flush()
	section(w, "Metadata", len(g.Metadata))
	for _, k := range sortedKeys(g.Metadata) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, tableValue(g.Metadata[k], 80))
	}
	if len(g.Metrics) > 0 {
		tw.Flush()
		section(w, "Metrics", len(g.Metrics))
		fmt.Fprintln(tw, "  KEY\tLAST\tSTEP\tMIN\tMAX\tPOINTS")
		for _, k := range sortedKeys(g.Metrics) {
			m := g.Metrics[k]
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%d\n", k, metricValue(m.Last), m.LastStep, metricValue(m.Min), metricValue(m.Max), m.Count)
		}
	}
	tw.Flush()
	section(w, "Artifacts", len(g.Artifacts))
	if len(g.Artifacts) > 0 {
		writeArtifactRows(tw, "  ", g.Artifacts)
	}
	tw.Flush()
	section(w, "Version control", len(g.VCInfo))
	for _, k := range sortedKeys(g.VCInfo) {
		key := k
		if key == "" {
			key = "(own)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", key, tableValue(g.VCInfo[k], 80))
	}
	tw.Flush()
	section(w, "Children", len(g.Children))
	children := g.Children
	if len(children) > childrenShown {
		children = children[:childrenShown]
	}
	for _, c := range children {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Ref, orDash(c.Status), tableTime(c.CreatedAt))
	}
	tw.Flush()
	if len(children) < len(g.Children) {
		fmt.Fprintf(w, "  ... %d more: metatrack ls \"parent = '%s'\"\n", len(g.Children)-len(children), r.ID)
	}

	fmt.Fprintf(w, "\nHistory: %d changes", g.HistoryCount)
	if len(g.History) < g.HistoryCount {
		fmt.Fprintf(w, ", the newest %d below ('metatrack history %s' lists all)", len(g.History), r.Ref)
	}
	fmt.Fprintln(w)
	if len(g.History) > 0 {
		writeChangeRows(tw, "  ", g.History, refs)
	}
	return tw.Flush()
}

// section prints the heading of a section of get.
func section(w io.Writer, name string, n int) {
	if n == 0 {
		fmt.Fprintf(w, "\n%s: none\n", name)
		return
	}
	fmt.Fprintf(w, "\n%s: %d\n", name, n)
}

func tablePtrTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return tableTime(*t)
}
