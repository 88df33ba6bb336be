package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Change is one entry of a resource's history: what changed, when, and by
// which run. Old and New are the decoded JSON values (nil when absent: a new
// tag has no Old, a deleted one no New).
type Change struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	RunID string    `json:"run_id"`
	// Actor is the name of the API token that made the change through a
	// server (see WithActor), "" otherwise.
	Actor string `json:"actor,omitempty"`
	// Kind is one of the Change* constants.
	Kind string `json:"kind"`
	// Key is the tag or metadata key, attribute, field, artifact name,
	// version-control key, edge relation or environment that changed.
	Key string `json:"key"`
	Old any    `json:"old"`
	New any    `json:"new"`
}

type changeRow struct {
	Seq   int64          `db:"seq"`
	At    int64          `db:"at"`
	RunID sql.NullString `db:"run_id"`
	Actor sql.NullString `db:"actor"`
	Kind  string         `db:"kind"`
	Key   string         `db:"key"`
	Old   sql.NullString `db:"old_value"`
	New   sql.NullString `db:"new_value"`
}

func (r changeRow) change() (Change, error) {
	c := Change{Seq: r.Seq, At: fromMillis(r.At), RunID: r.RunID.String, Actor: r.Actor.String, Kind: r.Kind, Key: r.Key}
	var err error
	if r.Old.Valid {
		if c.Old, err = decodeJSON([]byte(r.Old.String)); err != nil {
			return c, err
		}
	}
	if r.New.Valid {
		if c.New, err = decodeJSON([]byte(r.New.String)); err != nil {
			return c, err
		}
	}
	return c, nil
}

// History returns every recorded change of res, oldest first. The history of
// a deleted resource stays readable (by id or reference) until it is purged.
func (t *Tracker) History(ctx context.Context, res Resource) ([]Change, error) {
	return t.historyUntil(ctx, res, time.UnixMilli(1<<62))
}

func (t *Tracker) historyUntil(ctx context.Context, res Resource, until time.Time) ([]Change, error) {
	var out []Change
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, res)
		if errors.Is(err, ErrNotFound) {
			// The change log keeps deleted resources: their history stays
			// readable until they are purged.
			if d, derr := x.findDeleted(ctx, res.key()); derr == nil {
				row, err = d, nil
			}
		}
		if err != nil {
			return err
		}
		var rows []changeRow
		if err := x.sel(ctx, &rows, x.sql.HistoryUntil, row.Seq, until.UnixMilli()); err != nil {
			return err
		}
		for _, r := range rows {
			c, err := r.change()
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// State is what a resource looked like at one moment, rebuilt from its
// history.
type State struct {
	At       time.Time         `json:"at"`
	Resource Resource          `json:"resource"`
	Status   string            `json:"status"`
	Tags     map[string]string `json:"tags"`
	Metadata map[string]any    `json:"metadata"`
	Attrs    map[string]any    `json:"attrs"`
	// Deployed maps each environment to the id of the model version that
	// was deployed there at At (for a model), or lists the environments the
	// version was deployed in (for a model version, the value is its own id).
	Deployed map[string]string `json:"deployed"`
	// Aliases maps each alias name to the id of the version it pointed to
	// at At: every alias of the chain for a chain head (a model), those
	// that pointed to it for a chain member (a model version).
	Aliases map[string]string `json:"aliases"`
	// Metrics are the summaries of the resource's metric series over their
	// points with a time at or before At (the change log holds no row per
	// point: the series are their own record).
	Metrics map[string]MetricSummary `json:"metrics"`
}

// StateAt answers "what were this resource's status, tags, metadata,
// attributes and deployments at time at?". It returns ErrNotFound when the
// resource did not exist yet.
func (t *Tracker) StateAt(ctx context.Context, res Resource, at time.Time) (State, error) {
	current, err := t.GetResource(ctx, res.key(), "")
	if err != nil {
		return State{}, err
	}
	changes, err := t.historyUntil(ctx, current, at)
	if err != nil {
		return State{}, err
	}
	st := State{At: at.UTC(), Resource: current, Tags: map[string]string{}, Metadata: map[string]any{},
		Attrs: map[string]any{}, Deployed: map[string]string{}}
	created := false
	for _, c := range changes {
		switch c.Kind {
		case ChangeCreated:
			created = true
			if rec, ok := c.New.(map[string]any); ok {
				st.Status, _ = rec["status"].(string)
				if attrs, ok := rec["attrs"].(map[string]any); ok {
					st.Attrs = attrs
				}
			}
		case ChangeStatus:
			st.Status, _ = c.New.(string)
		case ChangeTag:
			if s, ok := c.New.(string); ok {
				st.Tags[c.Key] = s
			} else {
				delete(st.Tags, c.Key)
			}
		case ChangeMetadata:
			if c.New == nil {
				delete(st.Metadata, c.Key)
			} else {
				st.Metadata[c.Key] = c.New
			}
		case ChangeAttr:
			if c.New == nil {
				delete(st.Attrs, c.Key)
			} else {
				st.Attrs[c.Key] = c.New
			}
		case ChangeDeployed:
			if rec, ok := c.New.(map[string]any); ok {
				st.Deployed[c.Key], _ = rec["model_version"].(string)
			}
		case ChangeUndeployed:
			if rec, ok := c.New.(map[string]any); ok && st.Deployed[c.Key] == rec["model_version"] {
				delete(st.Deployed, c.Key)
			}
		}
	}
	if !created {
		return State{}, fmt.Errorf("%w: %s did not exist at %s", ErrNotFound, current.Ref(), at.UTC().Format(time.RFC3339Nano))
	}
	st.Resource.Status = st.Status
	st.Resource.Attrs = st.Attrs
	st.Aliases = aliasesAt(changes)
	if current.Version > 0 && current.ParentID != "" {
		head, err := t.historyUntil(ctx, Resource{ID: current.ParentID}, at)
		if err != nil {
			return State{}, err
		}
		for name, id := range aliasesAt(head) {
			if id == current.ID {
				st.Aliases[name] = id
			}
		}
	}
	if st.Metrics, err = t.metricsAt(ctx, current, at); err != nil {
		return State{}, err
	}
	return st, nil
}
