package metatrack

import (
	"context"

	"github.com/metatrack/metatrack/storage"
)

// Stats summarises what a database holds.
type Stats struct {
	// FileBytes is the size of the database file and its write-ahead log.
	FileBytes    int64          `json:"file_bytes"`
	Runs         int            `json:"runs"`
	RunsByStatus map[string]int `json:"runs_by_status"`
	// Resources counts the live resources, ByType by type;
	// DeletedResources those deleted and not yet purged (gc
	// --purge-deleted), which Restore can bring back.
	Resources        int            `json:"resources"`
	ByType           map[string]int `json:"resources_by_type"`
	DeletedResources int            `json:"deleted_resources"`
	Edges            int            `json:"edges"`
	Changes          int            `json:"changes"`
	// Deployments counts deployment intervals; CurrentDeployments the open
	// ones.
	Deployments        int `json:"deployments"`
	CurrentDeployments int `json:"current_deployments"`
	Artifacts          int `json:"artifacts"`
	ExternalArtifacts  int `json:"external_artifacts"`
	// ArtifactBytes adds up the sizes of the stored artifacts as logged;
	// StoredBytes is what their bytes take after deduplication.
	ArtifactBytes int64 `json:"artifact_bytes"`
	StoredBytes   int64 `json:"stored_bytes"`
}

// Stats counts what the database holds, in one read snapshot.
func (t *Tracker) Stats(ctx context.Context) (Stats, error) {
	st := Stats{RunsByStatus: map[string]int{}, ByType: map[string]int{}}
	err := t.read(ctx, func(x *txn) error {
		var groups []struct {
			Key string `db:"k"`
			N   int    `db:"n"`
		}
		if err := x.sel(ctx, &groups, x.sql.ResourcesByType); err != nil {
			return err
		}
		for _, g := range groups {
			st.ByType[g.Key], st.Resources = g.N, st.Resources+g.N
		}
		groups = nil
		if err := x.sel(ctx, &groups, x.sql.RunsByStatus); err != nil {
			return err
		}
		for _, g := range groups {
			st.RunsByStatus[g.Key], st.Runs = g.N, st.Runs+g.N
		}
		var c struct {
			Deleted     int   `db:"deleted"`
			Edges       int   `db:"edges"`
			Changes     int   `db:"changes"`
			Deployments int   `db:"deployments"`
			Current     int   `db:"current"`
			Artifacts   int   `db:"artifacts"`
			External    int   `db:"external"`
			Logical     int64 `db:"logical"`
			Stored      int64 `db:"stored"`
		}
		err := x.get(ctx, &c, x.sql.Counts)
		st.DeletedResources, st.Edges, st.Changes, st.Deployments, st.CurrentDeployments = c.Deleted, c.Edges, c.Changes, c.Deployments, c.Current
		st.Artifacts, st.ExternalArtifacts, st.ArtifactBytes, st.StoredBytes = c.Artifacts, c.External, c.Logical, c.Stored
		return err
	})
	if sz, ok := t.db.(storage.Sizer); ok && err == nil {
		st.FileBytes, err = sz.Bytes(ctx)
	}
	return st, err
}

// Chain is a chain head (a dataset or model) with its versions.
type Chain struct {
	Head     Resource   `json:"head"`
	Versions []Resource `json:"versions"`
	// Deployed maps each environment to the version deployed there now.
	Deployed map[string]Resource `json:"deployed"`
}

// Latest returns the newest version of the chain (zero if it has none).
func (c Chain) Latest() Resource {
	if len(c.Versions) == 0 {
		return Resource{}
	}
	return c.Versions[len(c.Versions)-1]
}

// Chains returns every version chain, heads in creation order, versions
// oldest first, with their current deployments. It reads in three
// statements, whatever the number of chains.
func (t *Tracker) Chains(ctx context.Context) ([]Chain, error) {
	var out []Chain
	err := t.read(ctx, func(x *txn) error {
		var heads, members []resourceRow
		if err := x.sel(ctx, &heads, x.sql.ChainHeads); err != nil {
			return err
		}
		if err := x.sel(ctx, &members, x.sql.ChainMembers); err != nil {
			return err
		}
		var deps []deploymentRow
		if err := x.sel(ctx, &deps, x.sql.AllOpenDeployments); err != nil {
			return err
		}
		versions := map[int64][]Resource{} // by head seq
		bySeq := map[int64]Resource{}
		for _, m := range members {
			if m.ParentSeq.Valid {
				r := m.resource()
				versions[m.ParentSeq.Int64] = append(versions[m.ParentSeq.Int64], r)
				bySeq[m.Seq] = r
			}
		}
		deployed := map[int64]map[string]Resource{} // by model seq
		for _, d := range deps {
			v, ok := bySeq[d.ModelVersionSeq]
			if !ok {
				continue
			}
			if deployed[d.ModelSeq] == nil {
				deployed[d.ModelSeq] = map[string]Resource{}
			}
			deployed[d.ModelSeq][d.Environment] = v
		}
		for _, h := range heads {
			c := Chain{Head: h.resource(), Versions: versions[h.Seq], Deployed: deployed[h.Seq]}
			if c.Deployed == nil {
				c.Deployed = map[string]Resource{}
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}
