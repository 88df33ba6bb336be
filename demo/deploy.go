package demo

import (
	"context"
	"fmt"
	"math"

	"github.com/metatrack/metatrack"
)

// chanceAUC is the baseline of the first model, when none is deployed: the
// AUC of a random ranking.
const chanceAUC = 0.5

// deploy is the deploy pipeline: rebuild the model from the tracker and
// check it, register it, and promote, approve and deploy it when it ranks
// the test split better than the deployed model.
func (e *env) deploy(ctx context.Context, r *Round, tr trained) error {
	t := e.t
	mv := tr.mv

	// 1. Rebuild the model from what the tracker recorded; it must be the
	// model that was trained.
	obj, err := t.LoadModel(ctx, mv)
	if err != nil {
		return err
	}
	m, ok := obj.(*Model)
	if !ok {
		return fmt.Errorf("the loader of %s returned a %T, not a *demo.Model", mv.Ref(), obj)
	}
	got, want := m.PredictProba(tr.test), tr.model.PredictProba(tr.test)
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			return fmt.Errorf("the model rebuilt from %s predicts %v for test row %d, the trained one %v", mv.Ref(), got[i], i, want[i])
		}
	}

	// 2. Register, then promote and deploy on uplift.
	if _, err := t.UpdateResource(ctx, mv, metatrack.Updates{"status": metatrack.StatusRegistered}); err != nil {
		return err
	}
	value, baseline := tr.testMetrics.AUC, chanceAUC
	if tr.baseline.ID != "" {
		baseline = tr.baseMetrics.AUC
	}
	if value <= baseline {
		kept := "no model"
		if tr.baseline.ID != "" {
			kept = tr.baseline.Ref()
		}
		e.logf("%s: not promoted, %s stays deployed (test auc %.4f <= %.4f)", mv.Ref(), kept, value, baseline)
		return t.LogMetadata(ctx, mv, "deploy_decision", map[string]any{
			"deployed": false, "metric": "auc", "value": value, "baseline": baseline, "baseline_version": tr.baseline.ID})
	}
	promo, err := t.Promote(ctx, mv, metatrack.Promotion{Reason: "UPLIFT", Metric: "auc", Value: value, Baseline: baseline})
	if err != nil {
		return err
	}
	e.sum.Created[metatrack.TypePromotion]++
	if promo, err = t.ApprovePromotion(ctx, promo); err != nil {
		return err
	}
	dep, err := t.Deploy(ctx, mv)
	if err != nil {
		return err
	}
	r.Promoted, r.Promotion = true, promo
	e.logf("%s: deployed to %q (test auc %.4f > %.4f)", mv.Ref(), dep.Environment, value, baseline)
	return t.LogMetadata(ctx, mv, "deploy_decision", map[string]any{
		"deployed": true, "metric": "auc", "value": value, "baseline": baseline, "baseline_version": tr.baseline.ID,
		"promotion": promo.ID})
}
