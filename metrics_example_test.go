package metatrack_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/metatrack/metatrack"
)

// A training loop logs its loss every step and its accuracy every epoch,
// then reads the curve back: the summaries, a range of steps, and a
// downsampled view for a chart.
func ExampleTracker_LogMetric() {
	ctx := context.Background()
	t, _, done := exampleTracker()
	defer done()

	mv, err := t.CreateResource(ctx, metatrack.TypeModelVersion, "titanic_model")
	if err != nil {
		log.Fatal(err)
	}
	exp, err := t.CreateResource(ctx, metatrack.TypeExperiment, "lr-0.1", metatrack.WithParent(mv.ID))
	if err != nil {
		log.Fatal(err)
	}
	// One transaction for the whole epoch: each point is still its own call.
	for epoch := range 5 {
		err := t.Batch(ctx, func(tx *metatrack.Tracker) error {
			for i := range 200 {
				step := int64(epoch*200 + i + 1)
				loss := 0.7*math.Exp(-float64(step)/300) + 0.05
				if err := tx.LogMetric(ctx, exp, "loss", loss, metatrack.WithStep(step)); err != nil {
					return err
				}
			}
			return tx.LogMetric(ctx, exp, "accuracy", 0.6+0.05*float64(epoch), metatrack.WithStep(int64(epoch)))
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	summaries, err := t.Metrics(ctx, exp)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range summaries {
		fmt.Printf("%-8s last %.4f at step %d, min %.4f, max %.4f, %d points\n", s.Key, s.Last, s.LastStep, s.Min, s.Max, s.Count)
	}
	pts, err := t.MetricHistory(ctx, exp, "loss", metatrack.WithStepRange(1, 3))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range pts {
		fmt.Printf("step %d: %.4f\n", p.Step, p.Value)
	}
	chart, err := t.MetricHistory(ctx, exp, "loss", metatrack.WithMaxPoints(30))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("a chart of %d points from %d to %d\n", len(chart), chart[0].Step, chart[len(chart)-1].Step)
	// Output:
	// accuracy last 0.8000 at step 4, min 0.6000, max 0.8000, 5 points
	// loss     last 0.0750 at step 1000, min 0.0750, max 0.7477, 1000 points
	// step 1: 0.7477
	// step 2: 0.7453
	// step 3: 0.7430
	// a chart of 20 points from 1 to 1000
}
