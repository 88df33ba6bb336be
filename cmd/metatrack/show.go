package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

// versionsShown is how many of the newest versions of each chain the table
// lists; -o json lists them all.
const versionsShown = 10

func newShowCmd(a *app) *cobra.Command {
	var maxRuns int
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show what a database holds: runs, resources by type, chains and deployments",
		Long: `show opens the database read-only and prints its runs (newest first), how
many resources of each type it holds, each version chain (a dataset or model
with its versions, their statuses, the latest and the deployed version), the
size of the database file and how many bytes of artifacts it records.

With -o json it prints one JSON document with the same facts under stable
snake_case names (every version of every chain, times in RFC 3339 UTC).`,
		Example: `  metatrack show --db titanic.db
  metatrack show --db titanic.db --runs 0
  metatrack show --db titanic.db -o json | jq '.chains[] | {name, latest_version, deployed_version}'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxRuns < 0 {
				return usageErrorf("--runs must not be negative, got %d", maxRuns)
			}
			return a.runShow(cmd.Context(), maxRuns)
		},
	}
	cmd.Flags().IntVar(&maxRuns, "runs", 10, "how many of the newest runs to list (0: all)")
	return cmd
}

// showJSON is the -o json document of show.
type showJSON struct {
	Database        databaseJSON   `json:"database"`
	RunCount        int            `json:"run_count"`
	Runs            []runJSON      `json:"runs"`
	ResourceCount   int            `json:"resource_count"`
	ResourcesByType map[string]int `json:"resources_by_type"`
	Chains          []chainJSON    `json:"chains"`
}

type runJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Host   string `json:"host"`
	User   string `json:"user"`
	PID    int    `json:"pid"`
	Error  string `json:"error"`
	// State is Status, or for a RUNNING run whether its process is alive
	// (RUNNING), gone (DIED) or on another host (RUNNING?); see runs.
	State           string     `json:"state"`
	StartedAt       time.Time  `json:"started_at"`
	EndedAt         *time.Time `json:"ended_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
}

type chainJSON struct {
	// Type is the versions' type (dataset_version), HeadType the head's
	// (dataset).
	Type          string `json:"type"`
	HeadType      string `json:"head_type"`
	Name          string `json:"name"`
	HeadID        string `json:"head_id"`
	VersionCount  int    `json:"version_count"`
	LatestVersion int    `json:"latest_version"`
	// DeployedVersion is the version deployed in the default environment,
	// null when none is (and for chains that are not models).
	DeployedVersion *int `json:"deployed_version"`
	// Deployments are the current deployments in every environment;
	// DeploymentCount counts every deployment ever made.
	Deployments     []deploymentJSON `json:"deployments"`
	DeploymentCount int              `json:"deployment_count"`
	Versions        []versionJSON    `json:"versions"`
}

type versionJSON struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// Aliases are the names of the aliases that point to the version;
	// absent when none do.
	Aliases []string `json:"aliases,omitempty"`
}

type deploymentJSON struct {
	Environment    string    `json:"environment"`
	Version        int       `json:"version"`
	ModelVersionID string    `json:"model_version_id"`
	DeployedAt     time.Time `json:"deployed_at"`
}

func (a *app) runShow(ctx context.Context, maxRuns int) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	out, err := gatherShow(ctx, t, location(t), maxRuns, a.runState)
	if err != nil {
		return err
	}
	if a.json() {
		return a.writeJSON(out)
	}
	return printShow(a.stdout, out)
}

func gatherShow(ctx context.Context, t metatrack.Store, path string, maxRuns int, state func(metatrack.Run) string) (showJSON, error) {
	out := showJSON{Runs: []runJSON{}, Chains: []chainJSON{}}
	st, err := t.Stats(ctx)
	if err != nil {
		return out, err
	}
	out.Database = databaseJSON{Path: path, SizeBytes: st.FileBytes, ArtifactCount: st.Artifacts, ArtifactBytes: st.ArtifactBytes}
	out.ResourceCount, out.ResourcesByType = st.Resources, st.ByType

	runs, err := t.Runs(ctx)
	if err != nil {
		return out, err
	}
	out.RunCount = len(runs)
	if maxRuns > 0 && len(runs) > maxRuns {
		runs = runs[:maxRuns]
	}
	for _, r := range runs {
		out.Runs = append(out.Runs, toRunJSON(r, state(r)))
	}

	chains, err := t.Chains(ctx)
	if err != nil {
		return out, err
	}
	for _, c := range chains {
		latest := c.Latest()
		cj := chainJSON{Type: latest.Type, HeadType: c.Head.Type, Name: c.Head.Name, HeadID: c.Head.ID,
			VersionCount: len(c.Versions), LatestVersion: latest.Version, Deployments: []deploymentJSON{}}
		als, err := t.Aliases(ctx, c.Head)
		if err != nil {
			return out, err
		}
		aliasesOf := map[string][]string{}
		for _, al := range als {
			aliasesOf[al.Version.ID] = append(aliasesOf[al.Version.ID], al.Name)
		}
		for _, v := range c.Versions {
			cj.Versions = append(cj.Versions, versionJSON{Version: v.Version, ID: v.ID, Status: v.Status, CreatedAt: v.CreatedAt,
				Aliases: aliasesOf[v.ID]})
		}
		if c.Head.Type == metatrack.TypeModel {
			// Chains gives the current versions; the deployment times and
			// the count of every deployment ever come from the history.
			deps, err := t.Deployments(ctx, c.Head)
			if err != nil {
				return out, err
			}
			cj.DeploymentCount = len(deps)
			for _, d := range deps {
				if !d.Current() {
					continue
				}
				cj.Deployments = append(cj.Deployments, deploymentJSON{Environment: d.Environment, Version: d.ModelVersion.Version,
					ModelVersionID: d.ModelVersion.ID, DeployedAt: d.DeployedAt})
			}
			if v, ok := c.Deployed[metatrack.DefaultEnvironment]; ok {
				n := v.Version
				cj.DeployedVersion = &n
			}
		}
		out.Chains = append(out.Chains, cj)
	}
	sortChains(out.Chains, func(c chainJSON) (string, string) { return c.HeadType, c.Name })
	return out, nil
}

// toRunJSON is the JSON form of a run in the given state.
func toRunJSON(r metatrack.Run, state string) runJSON {
	rj := runJSON{ID: r.ID, Name: r.Name, Status: r.Status, Host: r.Host, User: r.User, PID: r.PID,
		Error: r.Error, State: state, StartedAt: r.StartedAt.UTC()}
	if !r.EndedAt.IsZero() {
		end, d := r.EndedAt.UTC(), r.EndedAt.Sub(r.StartedAt).Seconds()
		rj.EndedAt, rj.DurationSeconds = &end, &d
	}
	return rj
}

func printShow(w io.Writer, out showJSON) error {
	fmt.Fprintf(w, "Database: %s, %s; %d artifacts, %s\n", out.Database.Path, humanBytes(out.Database.SizeBytes),
		out.Database.ArtifactCount, humanBytes(out.Database.ArtifactBytes))

	fmt.Fprintf(w, "\nRuns: %d", out.RunCount)
	if len(out.Runs) < out.RunCount {
		fmt.Fprintf(w, " (the newest %d below; --runs 0 lists all)", len(out.Runs))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(out.Runs) > 0 {
		fmt.Fprintln(tw, "  NAME\tSTATUS\tHOST\tSTARTED (UTC)\tDURATION")
		for _, r := range out.Runs {
			dur := "-"
			if r.DurationSeconds != nil {
				dur = (time.Duration(*r.DurationSeconds * float64(time.Second))).Round(time.Millisecond).String()
			} else if r.State != stateDied {
				dur = "running"
			}
			status := r.State
			if r.Error != "" {
				status += ": " + truncate(r.Error, 60)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Name, status, orDash(r.Host), r.StartedAt.UTC().Format("2006-01-02 15:04:05"), dur)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nResources: %d\n", out.ResourceCount)
	for _, typ := range sortedKeys(out.ResourcesByType) {
		fmt.Fprintf(tw, "  %s\t%d\n", typ, out.ResourcesByType[typ])
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nChains: %d\n", len(out.Chains))
	for _, c := range out.Chains {
		fmt.Fprintf(w, "  %s/%s: %d versions, latest %d", c.HeadType, c.Name, c.VersionCount, c.LatestVersion)
		if c.HeadType == metatrack.TypeModel {
			deployed := "none"
			var envs []string
			for _, d := range c.Deployments {
				envs = append(envs, fmt.Sprintf("%d (%s)", d.Version, d.Environment))
			}
			if len(envs) > 0 {
				deployed = strings.Join(envs, ", ")
			}
			fmt.Fprintf(w, ", deployed %s, %d deployments in all", deployed, c.DeploymentCount)
		}
		fmt.Fprintln(w)
		deployedIn := map[int][]string{}
		for _, d := range c.Deployments {
			deployedIn[d.Version] = append(deployedIn[d.Version], d.Environment)
		}
		versions := c.Versions
		if len(versions) > versionsShown {
			fmt.Fprintf(tw, "    ...\t%d earlier versions\t\t\n", len(versions)-versionsShown)
			versions = versions[len(versions)-versionsShown:]
		}
		for _, v := range versions {
			var notes []string
			if v.Version == c.LatestVersion {
				notes = append(notes, "latest")
			}
			if envs := deployedIn[v.Version]; len(envs) > 0 {
				notes = append(notes, "deployed in "+strings.Join(envs, ", "))
			}
			if len(v.Aliases) > 0 {
				notes = append(notes, "@"+strings.Join(v.Aliases, ", @"))
			}
			fmt.Fprintf(tw, "    @%d\t%s\t%s\t%s\n", v.Version, orDash(v.Status), v.CreatedAt.UTC().Format("2006-01-02 15:04:05"), strings.Join(notes, "; "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
