package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
)

func newAtCmd(a *app) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "at <time> [<ref>...]",
		Short: "Show what was deployed, or what resources looked like, at a moment in the past",
		Long: `at answers "what was true then?".

Without references it lists every model and the version that was deployed
in each of its environments at that time (--env keeps one environment).
With references it prints each resource as it was then: its status, tags,
metadata, attributes and deployments, rebuilt from its history.

The time is RFC 3339 (2024-05-01T12:00:00Z, or with an offset), a time as
every table prints it ("2024-05-01 12:00:00", UTC; seconds optional), a
date (2024-05-01, midnight UTC) or relative to now: now, now-30s, now-90m,
now-2h, now-7d, now-1w. A resource that did not exist yet at that time is
reported as such.`,
		Example: `  # what was deployed two hours ago
  metatrack at now-2h --db titanic.db

  # the model version and the dataset as they were on 1 May
  metatrack at 2024-05-01T12:00:00Z model_version/titanic_model@2 dataset_version/titanic_train@2
  metatrack at 2024-05-01 model/titanic_model -o json`,
		Args:              minArgs(1, "a time and optionally resource references"),
		ValidArgsFunction: a.completeRefsAfter(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseTime(args[0], a.now())
			if err != nil {
				return err
			}
			return a.runAt(cmd.Context(), at, args[1:], env)
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only this deployment environment (without references)")
	return listing(cmd)
}

// parseTime parses the time argument of at: every absolute form of the
// query language (RFC 3339, a time as the tables print it, 2024-05-01
// 12:00:00 in UTC, a date), or now with an optional offset of one number
// and unit (s, m, h, d, w).
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, ok := query.ParseTime(s); ok {
		return t, nil
	}
	if strings.EqualFold(s, "now") {
		return now.UTC(), nil
	}
	if len(s) > 5 && strings.EqualFold(s[:3], "now") && (s[3] == '-' || s[3] == '+') {
		units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
		unit, ok := units[s[len(s)-1]]
		n, err := strconv.ParseUint(s[4:len(s)-1], 10, 32)
		if ok && err == nil {
			d := time.Duration(n) * unit
			if s[3] == '-' {
				d = -d
			}
			return now.Add(d).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q: give RFC 3339 (2024-05-01T12:00:00Z), a time as tables print it ('2024-05-01 12:00:00', UTC), a date (2024-05-01) or now-<n><unit> (now-2h, now-7d; units s, m, h, d, w)", s)
}

// atJSON is the -o json document of at: Deployments without references
// (States null), States with them (Deployments null).
type atJSON struct {
	At          time.Time      `json:"at"`
	Environment *string        `json:"environment"`
	Deployments []atDeployJSON `json:"deployments"`
	States      []stateJSON    `json:"states"`
}

// atDeployJSON is the version of a model deployed in an environment at the
// time; ModelVersion is null when none was.
type atDeployJSON struct {
	Model        resourceRefJSON  `json:"model"`
	Environment  string           `json:"environment"`
	ModelVersion *resourceRefJSON `json:"model_version"`
	// DeployedAt is when that deployment began.
	DeployedAt *time.Time `json:"deployed_at"`
}

// stateJSON is a resource as it was at the time. Existed is false when it
// was created later; the other fields are then empty.
type stateJSON struct {
	Resource resourceRefJSON   `json:"resource"`
	Existed  bool              `json:"existed"`
	Status   string            `json:"status"`
	Tags     map[string]string `json:"tags"`
	Metadata map[string]any    `json:"metadata"`
	Attrs    map[string]any    `json:"attrs"`
	// Deployed maps each environment to the id of the model version
	// deployed there (for a model), or to the version's own id (for a
	// model version deployed there).
	Deployed map[string]string `json:"deployed"`
	// Aliases maps each alias name to the id of the version it pointed to
	// (every alias of a model; for a model version, those that pointed to
	// it); absent when there were none.
	Aliases map[string]string `json:"aliases,omitempty"`
	// Metrics are the summaries of the resource's metric series over their
	// points up to the time; absent when it has none.
	Metrics map[string]metricAtJSON `json:"metrics,omitempty"`
}

// metricAtJSON is a metric summary; a value that is NaN or infinite is the
// string "NaN", "Inf" or "-Inf".
type metricAtJSON struct {
	Last     any       `json:"last"`
	LastStep int64     `json:"last_step"`
	LastTime time.Time `json:"last_time"`
	Min      any       `json:"min"`
	Max      any       `json:"max"`
	Count    int64     `json:"count"`
}

// finite returns v, or for NaN and infinities the string that names it
// (JSON has no such numbers).
func finite(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return v
}

func metricsAtJSON(sums map[string]metatrack.MetricSummary) map[string]metricAtJSON {
	if len(sums) == 0 {
		return nil
	}
	out := make(map[string]metricAtJSON, len(sums))
	for k, s := range sums {
		out[k] = metricAtJSON{Last: finite(s.Last), LastStep: s.LastStep, LastTime: s.LastTime,
			Min: finite(s.Min), Max: finite(s.Max), Count: s.Count}
	}
	return out
}

func (a *app) runAt(ctx context.Context, at time.Time, refs []string, env string) error {
	if len(refs) > 0 && env != "" {
		return usageErrorf("--env applies only without references")
	}
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	out := atJSON{At: at, Environment: optString(env)}
	if len(refs) == 0 {
		out.Deployments = []atDeployJSON{}
		if err := deployedAt(ctx, t, at, env, &out); err != nil {
			return err
		}
	} else {
		out.States = []stateJSON{}
		for _, ref := range refs {
			r, err := a.resolve(ctx, t, ref)
			if err != nil {
				return err
			}
			st, err := t.StateAt(ctx, r, at)
			sj := stateJSON{Resource: *refJSON(r), Tags: map[string]string{}, Metadata: map[string]any{},
				Attrs: map[string]any{}, Deployed: map[string]string{}}
			sj.Resource.Status = "" // the current status; the state has the one at the time
			switch {
			case errors.Is(err, metatrack.ErrNotFound):
			case err != nil:
				return err
			default:
				sj.Existed, sj.Status, sj.Tags, sj.Metadata, sj.Attrs, sj.Deployed = true, st.Status, st.Tags, st.Metadata, st.Attrs, st.Deployed
				sj.Metrics = metricsAtJSON(st.Metrics)
				if len(st.Aliases) > 0 {
					sj.Aliases = st.Aliases
				}
			}
			out.States = append(out.States, sj)
		}
	}
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() && len(refs) == 0 {
		return a.writeCSV(out.Deployments)
	}
	if a.csv() {
		return a.writeCSV(statesCSV(out.States))
	}
	if len(refs) == 0 {
		return printDeployedAt(a.stdout, out)
	}
	return printStatesAt(a.stdout, out, idRefs(ctx, t, out.States))
}

// deployedAt fills out.Deployments: for every model and every environment
// it was ever deployed in (or env), the version deployed there at time at.
func deployedAt(ctx context.Context, t metatrack.Store, at time.Time, env string, out *atJSON) error {
	models, err := t.ListResources(ctx, metatrack.TypeModel)
	if err != nil {
		return err
	}
	for _, m := range models {
		deps, err := t.Deployments(ctx, m)
		if err != nil {
			return err
		}
		var envs []string
		seen := map[string]bool{}
		for _, d := range deps {
			if !seen[d.Environment] && (env == "" || d.Environment == env) {
				seen[d.Environment] = true
				envs = append(envs, d.Environment)
			}
		}
		for _, e := range envs {
			dj := atDeployJSON{Model: *refJSON(m), Environment: e}
			dj.Model.Status = ""
			mv, err := t.DeployedAt(ctx, m, at, metatrack.WithEnvironment(e))
			if errors.Is(err, metatrack.ErrNotFound) {
				out.Deployments = append(out.Deployments, dj)
				continue
			} else if err != nil {
				return err
			}
			dj.ModelVersion = refJSON(mv)
			dj.ModelVersion.Status = ""
			for _, d := range deps {
				if d.Environment == e && d.ModelVersion.ID == mv.ID && !d.DeployedAt.After(at) &&
					(d.Current() || d.UndeployedAt.After(at)) {
					dj.DeployedAt = optTime(d.DeployedAt)
				}
			}
			out.Deployments = append(out.Deployments, dj)
		}
	}
	return nil
}

func printDeployedAt(w io.Writer, out atJSON) error {
	fmt.Fprintf(w, "Deployed at %s UTC:\n", tableTime(out.At))
	if len(out.Deployments) == 0 {
		if out.Environment != nil {
			fmt.Fprintf(w, "  no model was ever deployed in environment %q\n", *out.Environment)
		} else {
			fmt.Fprintln(w, "  no model was ever deployed")
		}
		return nil
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "MODEL\tENVIRONMENT\tVERSION\tDEPLOYED SINCE (UTC)")
	for _, d := range out.Deployments {
		version, since := "nothing deployed", "-"
		if d.ModelVersion != nil {
			version = fmt.Sprintf("@%d", d.ModelVersion.Version)
			since = tablePtrTime(d.DeployedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Model.Ref, d.Environment, version, since)
	}
	return tw.Flush()
}

// idRefs maps the ids that the states' deployments name to references.
func idRefs(ctx context.Context, t metatrack.Store, states []stateJSON) map[string]string {
	refs := map[string]string{}
	for _, st := range states {
		for _, id := range mergedIDs(st.Deployed, st.Aliases) {
			if _, ok := refs[id]; !ok {
				if r, err := t.GetResource(ctx, id, ""); err == nil {
					refs[id] = r.Ref()
				} else {
					refs[id] = id
				}
			}
		}
	}
	return refs
}

func printStatesAt(w io.Writer, out atJSON, refs map[string]string) error {
	fmt.Fprintf(w, "As of %s UTC:\n", tableTime(out.At))
	tw := newTable(w)
	for _, st := range out.States {
		fmt.Fprintf(w, "\n%s\n", st.Resource.Ref)
		if !st.Existed {
			fmt.Fprintln(w, "  did not exist yet")
			continue
		}
		fmt.Fprintf(tw, "  status\t%s\n", orDash(st.Status))
		if len(st.Deployed) > 0 {
			var envs []string
			for _, env := range sortedKeys(st.Deployed) {
				if id := st.Deployed[env]; id == st.Resource.ID {
					envs = append(envs, env)
				} else {
					envs = append(envs, refs[id]+" in "+env)
				}
			}
			fmt.Fprintf(tw, "  deployed\t%s\n", strings.Join(envs, ", "))
		}
		if len(st.Aliases) > 0 {
			var names []string
			for _, name := range sortedKeys(st.Aliases) {
				if id := st.Aliases[name]; id == st.Resource.ID {
					names = append(names, name)
				} else {
					names = append(names, name+" -> "+refs[id])
				}
			}
			fmt.Fprintf(tw, "  aliases\t%s\n", strings.Join(names, ", "))
		}
		for _, k := range sortedKeys(st.Tags) {
			fmt.Fprintf(tw, "  tags.%s\t%s\n", k, tableValue(st.Tags[k], 80))
		}
		for _, k := range sortedKeys(st.Metadata) {
			fmt.Fprintf(tw, "  metadata.%s\t%s\n", k, tableValue(st.Metadata[k], 80))
		}
		for _, k := range sortedKeys(st.Attrs) {
			fmt.Fprintf(tw, "  attrs.%s\t%s\n", k, tableValue(st.Attrs[k], 80))
		}
		for _, k := range sortedKeys(st.Metrics) {
			m := st.Metrics[k]
			fmt.Fprintf(tw, "  metrics.%s\t%v at step %d (min %v, max %v, %d points)\n", k, m.Last, m.LastStep, m.Min, m.Max, m.Count)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// statesCSV are the states for -o csv: one record for each value of each
// resource (status, deployed.<env>, tags.<key>, metadata.<key>,
// attrs.<key>), so that resources with different keys share one header.
func statesCSV(states []stateJSON) []record {
	var out []record
	add := func(st stateJSON, field string, v any) {
		out = append(out, record{{"id", st.Resource.ID}, {"ref", st.Resource.Ref}, {"existed", st.Existed},
			{"field", field}, {"value", jsonText(v)}})
	}
	for _, st := range states {
		if !st.Existed {
			add(st, "", nil)
			continue
		}
		add(st, "status", st.Status)
		for _, env := range sortedKeys(st.Deployed) {
			add(st, "deployed."+env, st.Deployed[env])
		}
		for _, name := range sortedKeys(st.Aliases) {
			add(st, "aliases."+name, st.Aliases[name])
		}
		for _, k := range sortedKeys(st.Tags) {
			add(st, "tags."+k, st.Tags[k])
		}
		for _, k := range sortedKeys(st.Metadata) {
			add(st, "metadata."+k, st.Metadata[k])
		}
		for _, k := range sortedKeys(st.Attrs) {
			add(st, "attrs."+k, st.Attrs[k])
		}
		for _, k := range sortedKeys(st.Metrics) {
			m := st.Metrics[k]
			for _, f := range []struct {
				name string
				v    any
			}{{"", m.Last}, {".step", m.LastStep}, {".min", m.Min}, {".max", m.Max}, {".count", m.Count}} {
				add(st, "metrics."+k+f.name, f.v)
			}
		}
	}
	return out
}

// mergedIDs returns the values of both maps.
func mergedIDs(a, b map[string]string) []string {
	ids := make([]string, 0, len(a)+len(b))
	for _, id := range a {
		ids = append(ids, id)
	}
	for _, id := range b {
		ids = append(ids, id)
	}
	return ids
}
