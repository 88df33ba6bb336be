package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newStatsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Count what a database holds: runs, resources by type, chains, deployments, artifact bytes",
		Long: `stats opens the database read-only and prints its numbers: the file size,
runs by status, resources by type, lineage edges, recorded changes,
deployments, artifacts and their bytes (as logged, and as stored after
identical files were deduplicated), and one line per version chain with its
latest version and the versions deployed now.

show prints the same chains with each version, and the newest runs.`,
		Example: `  metatrack stats --db titanic.db
  metatrack stats --db titanic.db -o json | jq .resources_by_type`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runStats(cmd.Context())
		},
	}
}

// statsJSON is the -o json document of stats.
type statsJSON struct {
	Database           fileJSON         `json:"database"`
	Runs               int              `json:"runs"`
	RunsByStatus       map[string]int   `json:"runs_by_status"`
	Resources          int              `json:"resources"`
	ResourcesByType    map[string]int   `json:"resources_by_type"`
	DeletedResources   int              `json:"deleted_resources"`
	Edges              int              `json:"edges"`
	Changes            int              `json:"changes"`
	Deployments        int              `json:"deployments"`
	CurrentDeployments int              `json:"current_deployments"`
	Artifacts          int              `json:"artifacts"`
	ExternalArtifacts  int              `json:"external_artifacts"`
	ArtifactBytes      int64            `json:"artifact_bytes"`
	StoredBytes        int64            `json:"stored_bytes"`
	Chains             []chainStatsJSON `json:"chains"`
}

type fileJSON struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
}

// chainStatsJSON is one version chain in stats.
type chainStatsJSON struct {
	Type          string `json:"type"`
	HeadType      string `json:"head_type"`
	Name          string `json:"name"`
	HeadID        string `json:"head_id"`
	VersionCount  int    `json:"version_count"`
	LatestVersion int    `json:"latest_version"`
	LatestID      string `json:"latest_id"`
	// DeployedVersion is the version deployed in the default environment
	// (null when none is); Deployed maps every environment to its version.
	DeployedVersion *int           `json:"deployed_version"`
	Deployed        map[string]int `json:"deployed"`
}

func (a *app) runStats(ctx context.Context) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	where := location(t)
	st, err := t.Stats(ctx)
	if err != nil {
		return err
	}
	chains, err := t.Chains(ctx)
	if err != nil {
		return err
	}
	out := statsJSON{
		Database: fileJSON{Path: where, SizeBytes: st.FileBytes},
		Runs:     st.Runs, RunsByStatus: st.RunsByStatus, Resources: st.Resources, ResourcesByType: st.ByType,
		DeletedResources: st.DeletedResources,
		Edges:            st.Edges, Changes: st.Changes, Deployments: st.Deployments, CurrentDeployments: st.CurrentDeployments,
		Artifacts: st.Artifacts, ExternalArtifacts: st.ExternalArtifacts, ArtifactBytes: st.ArtifactBytes,
		StoredBytes: st.StoredBytes, Chains: chainStats(chains),
	}
	if a.json() {
		return a.writeJSON(out)
	}
	return printStats(a.stdout, out)
}

// chainStats summarises chains, sorted by head type and name.
func chainStats(chains []metatrack.Chain) []chainStatsJSON {
	out := make([]chainStatsJSON, 0, len(chains))
	for _, c := range chains {
		latest := c.Latest()
		cj := chainStatsJSON{Type: latest.Type, HeadType: c.Head.Type, Name: c.Head.Name, HeadID: c.Head.ID,
			VersionCount: len(c.Versions), LatestVersion: latest.Version, LatestID: latest.ID, Deployed: map[string]int{}}
		for env, v := range c.Deployed {
			cj.Deployed[env] = v.Version
			if env == metatrack.DefaultEnvironment {
				n := v.Version
				cj.DeployedVersion = &n
			}
		}
		out = append(out, cj)
	}
	sortChains(out, func(c chainStatsJSON) (string, string) { return c.HeadType, c.Name })
	return out
}

func printStats(w io.Writer, s statsJSON) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "Database:\t%s (%s)\n", s.Database.Path, humanBytes(s.Database.SizeBytes))
	fmt.Fprintf(tw, "Runs:\t%d%s\n", s.Runs, countsSuffix(s.RunsByStatus))
	fmt.Fprintf(tw, "Resources:\t%d\n", s.Resources)
	for _, typ := range sortedKeys(s.ResourcesByType) {
		fmt.Fprintf(tw, "  %s\t%d\n", typ, s.ResourcesByType[typ])
	}
	if s.DeletedResources > 0 {
		fmt.Fprintf(tw, "Deleted:\t%d (ls --deleted lists them, restore brings one back, gc --purge-deleted removes them)\n", s.DeletedResources)
	}
	fmt.Fprintf(tw, "Lineage edges:\t%d\n", s.Edges)
	fmt.Fprintf(tw, "Changes:\t%d\n", s.Changes)
	fmt.Fprintf(tw, "Deployments:\t%d (%d current)\n", s.Deployments, s.CurrentDeployments)
	fmt.Fprintf(tw, "Artifacts:\t%d stored, %s (%s after deduplication); %d external\n",
		s.Artifacts-s.ExternalArtifacts, humanBytes(s.ArtifactBytes), humanBytes(s.StoredBytes), s.ExternalArtifacts)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nChains: %d\n", len(s.Chains))
	if len(s.Chains) == 0 {
		return nil
	}
	fmt.Fprintln(tw, "  CHAIN\tVERSIONS\tLATEST\tDEPLOYED")
	for _, c := range s.Chains {
		deployed := "-"
		if len(c.Deployed) > 0 {
			var envs []string
			for _, env := range sortedKeys(c.Deployed) {
				envs = append(envs, fmt.Sprintf("@%d (%s)", c.Deployed[env], env))
			}
			deployed = strings.Join(envs, ", ")
		}
		fmt.Fprintf(tw, "  %s/%s\t%d\t@%d\t%s\n", c.HeadType, c.Name, c.VersionCount, c.LatestVersion, deployed)
	}
	return tw.Flush()
}

// countsSuffix formats counts by key as " (A 1, B 2)", or "" when empty.
func countsSuffix(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
