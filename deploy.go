package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/metatrack/metatrack/rules"
)

// Deployment is one interval during which a model version was the deployed
// version of its model in an environment.
type Deployment struct {
	ID           string    `json:"id"`
	Model        Resource  `json:"model"`
	ModelVersion Resource  `json:"model_version"`
	Environment  string    `json:"environment"`
	DeployedAt   time.Time `json:"deployed_at"`
	// UndeployedAt is zero while the deployment is current.
	UndeployedAt time.Time `json:"undeployed_at,omitzero"`
	RunID        string    `json:"run_id"`
}

// Current reports whether the deployment has not ended.
func (d Deployment) Current() bool { return d.UndeployedAt.IsZero() }

type deploymentRow struct {
	Seq             int64          `db:"seq"`
	ID              string         `db:"id"`
	ModelSeq        int64          `db:"model_seq"`
	ModelVersionSeq int64          `db:"model_version_seq"`
	Environment     string         `db:"environment"`
	DeployedAt      int64          `db:"deployed_at"`
	UndeployedAt    sql.NullInt64  `db:"undeployed_at"`
	RunID           sql.NullString `db:"run_id"`
}

// Deploy makes mv the deployed version of its model in the environment
// (WithEnvironment, default "default"): the previous deployment there ends
// at this moment and its version is DEMOTED (unless it is still deployed in
// another environment), and mv becomes DEPLOYED. Both the deployment
// interval and the status changes are recorded. Deploying the deployed
// version again changes nothing.
func (t *Tracker) Deploy(ctx context.Context, mv Resource, opts ...DeployOption) (Deployment, error) {
	cfg := deployOptions(opts)
	if err := rules.Environment(cfg.environment); err != nil {
		return Deployment{}, err
	}
	var out Deployment
	err := t.write(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, mv, TypeModelVersion)
		if err != nil {
			return err
		}
		if err := x.deploy(ctx, row, cfg.environment); err != nil {
			return err
		}
		var d deploymentRow
		if err := x.get(ctx, &d, x.sql.CurrentDeployment, row.ParentSeq.Int64, cfg.environment); err != nil {
			return err
		}
		out, err = x.deployment(ctx, d)
		return err
	})
	return out, err
}

func (x *txn) deploy(ctx context.Context, row resourceRow, env string) error {
	model := row.ParentSeq.Int64
	var cur deploymentRow
	err := x.get(ctx, &cur, x.sql.CurrentDeployment, model, env)
	switch {
	case err == nil && cur.ModelVersionSeq == row.Seq:
		if row.Status != StatusDeployed {
			return x.setStatus(ctx, row, StatusDeployed)
		}
		return nil
	case err == nil:
		prev, err := x.bySeq(ctx, cur.ModelVersionSeq)
		if err != nil {
			return err
		}
		if err := x.endDeployment(ctx, cur, prev); err != nil {
			return err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	id := newID()
	if _, err := x.exec(ctx, x.sql.InsertDeployment, id, model, row.Seq, env, x.now, x.runSeq()); err != nil {
		return err
	}
	rec := map[string]any{"environment": env, "model_version": row.ID, "deployment": id}
	if err := x.history(ctx, row.Seq, ChangeDeployed, env, nil, rec); err != nil {
		return err
	}
	if err := x.history(ctx, model, ChangeDeployed, env, nil, rec); err != nil {
		return err
	}
	if row.Status != StatusDeployed {
		return x.setStatus(ctx, row, StatusDeployed)
	}
	return nil
}

// endDeployment closes d, whose version is mv, and demotes mv unless it is
// still deployed elsewhere.
func (x *txn) endDeployment(ctx context.Context, d deploymentRow, mv resourceRow) error {
	if _, err := x.exec(ctx, x.sql.EndDeployment, x.now, d.Seq); err != nil {
		return err
	}
	rec := map[string]any{"environment": d.Environment, "model_version": mv.ID, "deployment": d.ID}
	if err := x.history(ctx, mv.Seq, ChangeUndeployed, d.Environment, nil, rec); err != nil {
		return err
	}
	if err := x.history(ctx, d.ModelSeq, ChangeUndeployed, d.Environment, nil, rec); err != nil {
		return err
	}
	var still []deploymentRow
	if err := x.sel(ctx, &still, x.sql.OpenDeploymentsOf, mv.Seq); err != nil {
		return err
	}
	if len(still) == 0 && mv.Status != StatusDemoted {
		return x.setStatus(ctx, mv, StatusDemoted)
	}
	return nil
}

// refuseIfDeployed returns ErrConflict when mv has an open deployment:
// what (for example "promote") would leave its status and its deployment
// disagreeing. A model version is DEPLOYED exactly while it is deployed
// somewhere; only Deploy, Undeploy and the status DEMOTED change that.
func (x *txn) refuseIfDeployed(ctx context.Context, mv resourceRow, what string) error {
	var open []deploymentRow
	if err := x.sel(ctx, &open, x.sql.OpenDeploymentsOf, mv.Seq); err != nil {
		return err
	}
	if len(open) == 0 {
		return nil
	}
	envs := make([]string, len(open))
	for i, d := range open {
		envs[i] = strconv.Quote(d.Environment)
	}
	return fmt.Errorf("%w: cannot %s %s: it is deployed in %s; undeploy it first (Undeploy, or the status %s, which ends every deployment)",
		ErrConflict, what, mv.ref(), strings.Join(envs, ", "), StatusDemoted)
}

func (x *txn) undeployEverywhere(ctx context.Context, mv resourceRow) error {
	var open []deploymentRow
	if err := x.sel(ctx, &open, x.sql.OpenDeploymentsOf, mv.Seq); err != nil {
		return err
	}
	for _, d := range open {
		if _, err := x.exec(ctx, x.sql.EndDeployment, x.now, d.Seq); err != nil {
			return err
		}
		rec := map[string]any{"environment": d.Environment, "model_version": mv.ID, "deployment": d.ID}
		if err := x.history(ctx, mv.Seq, ChangeUndeployed, d.Environment, nil, rec); err != nil {
			return err
		}
		if err := x.history(ctx, d.ModelSeq, ChangeUndeployed, d.Environment, nil, rec); err != nil {
			return err
		}
	}
	return nil
}

// Undeploy ends the deployment of mv in the environment; mv is DEMOTED
// unless it is still deployed in another environment. It returns ErrNotFound
// when mv is not deployed there.
func (t *Tracker) Undeploy(ctx context.Context, mv Resource, opts ...DeployOption) error {
	cfg := deployOptions(opts)
	return t.write(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, mv, TypeModelVersion)
		if err != nil {
			return err
		}
		var cur deploymentRow
		err = x.get(ctx, &cur, x.sql.CurrentDeployment, row.ParentSeq.Int64, cfg.environment)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && cur.ModelVersionSeq != row.Seq) {
			return fmt.Errorf("%w: %s is not deployed in %q", ErrNotFound, row.ref(), cfg.environment)
		}
		if err != nil {
			return err
		}
		return x.endDeployment(ctx, cur, row)
	})
}

// GetCurrentlyDeployedModelVersion returns the version of mv's model that is
// deployed in the environment (WithEnvironment, default "default"). With no
// deployment it falls back as the seed's pipelines expect: the latest
// PROMOTED version before mv, else the version just before mv. mv may also
// be the model itself (the fallbacks then consider every version). It
// returns ErrNotFound when there is nothing to fall back to.
func (t *Tracker) GetCurrentlyDeployedModelVersion(ctx context.Context, mv Resource, opts ...DeployOption) (Resource, error) {
	cfg := deployOptions(opts)
	if r, ok, err := t.byIDFast(ctx, mv, t.sql.CurrentlyDeployedByID, mv.ID, cfg.environment); ok || err != nil {
		return r, err
	}
	var out Resource
	err := t.readOne(ctx, func(x *txn) error {
		row, err := x.targetOf(ctx, mv, TypeModelVersion, TypeModel)
		if err != nil {
			return err
		}
		model, name, before := row.Seq, row.Name, int64(1<<62)
		if row.Type == TypeModelVersion {
			model, before = row.ParentSeq.Int64, row.Version.Int64
		}
		var found resourceRow
		err = x.get(ctx, &found, x.sql.CurrentlyDeployed, model, cfg.environment, name, before, name, before)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s has no deployed, promoted or previous version", ErrNotFound, row.ref())
		}
		out = found.resource()
		return err
	})
	return out, err
}

// DeployedAt returns the version of model (a model or one of its versions)
// that was deployed in the environment at time at, or ErrNotFound.
func (t *Tracker) DeployedAt(ctx context.Context, model Resource, at time.Time, opts ...DeployOption) (Resource, error) {
	cfg := deployOptions(opts)
	var out Resource
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, model, TypeModelVersion, TypeModel)
		if err != nil {
			return err
		}
		if row.Type == TypeModelVersion {
			if row, err = x.bySeq(ctx, row.ParentSeq.Int64); err != nil {
				return err
			}
		}
		var seq int64
		ms := at.UnixMilli()
		err = x.get(ctx, &seq, x.sql.DeployedAt, row.Seq, cfg.environment, ms, ms)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no version of %s was deployed in %q at %s", ErrNotFound, row.ref(), cfg.environment, at.UTC().Format(time.RFC3339Nano))
		}
		if err != nil {
			return err
		}
		found, err := x.bySeq(ctx, seq)
		out = found.resource()
		return err
	})
	return out, err
}

// Deployments returns the deployment history of model (a model or one of its
// versions), oldest first, in every environment.
func (t *Tracker) Deployments(ctx context.Context, model Resource) ([]Deployment, error) {
	var out []Deployment
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, model, TypeModelVersion, TypeModel)
		if err != nil {
			return err
		}
		query := x.sql.DeploymentsOfModel
		if row.Type == TypeModelVersion {
			query = x.sql.DeploymentsOfVersion
		}
		var rows []deploymentRow
		if err := x.sel(ctx, &rows, query, row.Seq); err != nil {
			return err
		}
		for _, d := range rows {
			dep, err := x.deployment(ctx, d)
			if err != nil {
				return err
			}
			out = append(out, dep)
		}
		return nil
	})
	return out, err
}

func (x *txn) deployment(ctx context.Context, d deploymentRow) (Deployment, error) {
	m, err := x.bySeq(ctx, d.ModelSeq)
	if err != nil {
		return Deployment{}, err
	}
	mv, err := x.bySeq(ctx, d.ModelVersionSeq)
	if err != nil {
		return Deployment{}, err
	}
	dep := Deployment{ID: d.ID, Model: m.resource(), ModelVersion: mv.resource(), Environment: d.Environment,
		DeployedAt: fromMillis(d.DeployedAt), RunID: d.RunID.String}
	if d.UndeployedAt.Valid {
		dep.UndeployedAt = fromMillis(d.UndeployedAt.Int64)
	}
	return dep, nil
}

// Promotion describes a request to promote a model version.
type Promotion struct {
	// Reason is why, for example UPLIFT.
	Reason string `json:"reason"`
	// Metric names the improvement metric; Value is mv's, Baseline the
	// compared version's.
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Baseline float64 `json:"baseline"`
	// Approved approves the promotion at once (automatic approval).
	Approved bool `json:"approved"`
}

// Promotion statuses.
const (
	PromotionPending  = "PENDING"
	PromotionApproved = "APPROVED"
)

// Promote records a promotion resource under mv with the reason and metrics,
// PENDING or APPROVED, and marks mv PROMOTED. A deployed mv is refused with
// ErrConflict: it is past promotion, and PROMOTED would contradict its open
// deployment.
func (t *Tracker) Promote(ctx context.Context, mv Resource, p Promotion) (Resource, error) {
	if err := rules.Text("promotion reason", p.Reason, MaxNameBytes, false); err != nil {
		return Resource{}, err
	}
	status := PromotionPending
	if p.Approved {
		status = PromotionApproved
	}
	var out Resource
	err := t.write(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, mv, TypeModelVersion)
		if err != nil {
			return err
		}
		if err := x.refuseIfDeployed(ctx, row, "promote"); err != nil {
			return err
		}
		promo, err := x.createResource(ctx, TypePromotion, "", createConfig{
			parent: row.ID,
			status: status,
			attrs: map[string]any{"reason": p.Reason, "metric": p.Metric, "value": p.Value,
				"baseline": p.Baseline},
		})
		if err != nil {
			return err
		}
		if row.Status != StatusPromoted {
			if err := x.setStatus(ctx, row, StatusPromoted); err != nil {
				return err
			}
		}
		out = promo.resource()
		return nil
	})
	return out, err
}

// ApprovePromotion marks a promotion APPROVED.
func (t *Tracker) ApprovePromotion(ctx context.Context, promotion Resource) (Resource, error) {
	var out Resource
	err := t.write(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, promotion, TypePromotion)
		if err != nil {
			return err
		}
		if row.Status != PromotionApproved {
			if err := x.setStatus(ctx, row, PromotionApproved); err != nil {
				return err
			}
		}
		row, err = x.bySeq(ctx, row.Seq)
		out = row.resource()
		return err
	})
	return out, err
}
