package metatrack_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/metatrack/metatrack"
)

// TestMetricsQuery checks the metrics.* fields of the query language
// against the summaries, for filters, EXISTS and IS NULL, ORDER BY and
// paging, and the errors of a malformed metric field.
func TestMetricsQuery(t *testing.T) {
	ctx := context.Background()
	tr := MustOpen(t)
	mv, err := tr.CreateResource(ctx, metatrack.TypeModelVersion, "m")
	metricsCheck(t, err)
	type trial struct {
		res metatrack.Resource
		sum metatrack.MetricSummary
		has bool
	}
	var trials []trial
	for i := range 30 {
		exp, err := tr.CreateResource(ctx, metatrack.TypeExperiment, fmt.Sprintf("t%02d", i), metatrack.WithParent(mv.ID))
		metricsCheck(t, err)
		tl := trial{res: exp}
		if i%5 != 4 {
			var pts []metatrack.MetricPoint
			for s := range 10 + i {
				v := 1/float64(s+1) + float64(i)/100
				if i == 7 && s == 3 {
					v = -2 // a dip below the last value
				}
				pts = append(pts, metatrack.MetricPoint{Step: int64(s), Value: v})
			}
			if i == 13 {
				pts = append(pts, metatrack.MetricPoint{Step: 99, Value: math.NaN()})
			}
			metricsCheck(t, tr.LogMetrics(ctx, exp, "loss", pts))
			metricsCheck(t, tr.LogMetric(ctx, exp, "val.loss", float64(i)))
			sums, err := tr.Metrics(ctx, exp)
			metricsCheck(t, err)
			tl.sum, tl.has = sums[0], true
		}
		trials = append(trials, tl)
	}
	ids := func(q string) []string {
		t.Helper()
		rs, err := tr.SearchAll(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	want := func(keep func(trial) bool) []string {
		var out []string
		for _, tl := range trials {
			if keep(tl) {
				out = append(out, tl.res.ID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		keep func(trial) bool
	}{
		{"metrics.loss < 0.2", func(tl trial) bool { return tl.has && tl.sum.Last < 0.2 }},
		{"metrics.loss.last >= 0.2", func(tl trial) bool { return tl.has && tl.sum.Last >= 0.2 }},
		{"metrics.loss.min < 0", func(tl trial) bool { return tl.has && tl.sum.Min < 0 }},
		{"metrics.loss.max > 1.2", func(tl trial) bool { return tl.has && tl.sum.Max > 1.2 }},
		{"metrics.loss.count = 20", func(tl trial) bool { return tl.has && tl.sum.Count == 20 }},
		{"metrics.loss.step IN (9, 12, 99)", func(tl trial) bool {
			return tl.has && slices.Contains([]int64{9, 12, 99}, tl.sum.LastStep)
		}},
		{"metrics.`val.loss` >= 20 AND metrics.loss.count > 30", func(tl trial) bool { return tl.has && tl.sum.Count > 30 }},
		{"EXISTS metrics.loss", func(tl trial) bool { return tl.has }},
		{"metrics.loss IS NULL AND type = 'experiment'", func(tl trial) bool { return !tl.has }},
		{"metrics.loss IS NOT NULL", func(tl trial) bool { return tl.has }},
		{"NOT metrics.loss < 0.2 AND type = 'experiment'", func(tl trial) bool { return !(tl.has && tl.sum.Last < 0.2) }},
		{"metrics.acc > 0", func(trial) bool { return false }},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got, w := ids(tc.q), want(tc.keep)
			slices.Sort(got)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("%d resources, want %d", len(got), len(w))
			}
		})
	}
	// ORDER BY the last value, paged by cursors: NaN (NULL) and missing
	// series last.
	var paged []string
	cursor := ""
	for range 20 {
		opts := []metatrack.SearchOption{metatrack.WithPageSize(4)}
		if cursor != "" {
			opts = append(opts, metatrack.WithCursor(cursor))
		}
		page, err := tr.Search(ctx, "type = 'experiment' ORDER BY metrics.loss DESC", opts...)
		metricsCheck(t, err)
		for _, r := range page.Resources {
			paged = append(paged, r.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	sorted := slices.Clone(trials)
	slices.SortStableFunc(sorted, func(a, b trial) int {
		av, bv := a.has && !math.IsNaN(a.sum.Last), b.has && !math.IsNaN(b.sum.Last)
		switch {
		case av && bv:
			if a.sum.Last != b.sum.Last {
				if a.sum.Last > b.sum.Last {
					return -1
				}
				return 1
			}
		case av:
			return -1
		case bv:
			return 1
		}
		return 0 // ties by creation order (seq)
	})
	if len(paged) != len(sorted) {
		t.Fatalf("paging returned %d resources, want %d", len(paged), len(sorted))
	}
	for i := range sorted {
		if paged[i] != sorted[i].res.ID {
			t.Fatalf("ORDER BY metrics.loss DESC: position %d is %s, want %s (last %v)", i, paged[i], sorted[i].res.Name, sorted[i].sum.Last)
		}
	}
	first, err := tr.SearchAll(ctx, "type = 'experiment' AND metrics.loss.count > 0 ORDER BY metrics.loss.min ASC LIMIT 1")
	metricsCheck(t, err)
	if len(first) != 1 || first[0].ID != trials[7].res.ID {
		t.Errorf("ORDER BY metrics.loss.min: %+v", first)
	}
	for _, q := range []string{
		"metrics.loss = 'low'",
		"metrics.loss > true",
		"metrics.loss > now-1d",
		"metrics.loss LIKE 'a%'",
		"metrics > 1",
		"metrics.val.loss > 1",
		"metrics.loss.`min` > 1",
		"metrics.loss.min.max > 1",
	} {
		if _, err := tr.Search(ctx, q); !errors.Is(err, metatrack.ErrInvalidQuery) {
			t.Errorf("%s: %v, want ErrInvalidQuery", q, err)
		}
	}
}
