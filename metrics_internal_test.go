package metatrack

import (
	"context"
	"path/filepath"
	"testing"
)

func TestMetricSummariesOf(t *testing.T) {
	ctx := context.Background()
	tr, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var seqs []int64
	for i, name := range []string{"a", "b", "c"} {
		ds, err := tr.CreateResource(ctx, TypeDataset, name)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := tr.LogMetrics(ctx, ds, "loss", []MetricPoint{{Step: 1, Value: 3}, {Step: 2, Value: float64(i)}}); err != nil {
				t.Fatal(err)
			}
			if err := tr.LogMetric(ctx, ds, "acc", 0.5); err != nil {
				t.Fatal(err)
			}
		}
		err = tr.read(ctx, func(x *txn) error {
			row, err := x.target(ctx, ds)
			seqs = append(seqs, row.Seq)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		keys  []string
		count int
	}{{nil, 2}, {[]string{"loss"}, 1}, {[]string{"nope"}, 0}} {
		var got map[int64]map[string]MetricSummary
		err := tr.read(ctx, func(x *txn) error {
			var err error
			got, err = x.metricSummariesOf(ctx, seqs, tc.keys)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got[seqs[2]]; ok {
			t.Fatalf("keys %v: a resource without series has summaries: %+v", tc.keys, got)
		}
		for i := range 2 {
			if len(got[seqs[i]]) != tc.count {
				t.Fatalf("keys %v: resource %d has %d series, want %d: %+v", tc.keys, i, len(got[seqs[i]]), tc.count, got)
			}
			if tc.count > 0 {
				if s := got[seqs[i]]["loss"]; s.Last != float64(i) || s.Count != 2 || s.Max != 3 {
					t.Fatalf("summary of %d = %+v", i, s)
				}
			}
		}
	}
}
