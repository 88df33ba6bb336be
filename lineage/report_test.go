package lineage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func deployedString(ds []DeployedVersion) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%d:%d%v", d.Seq, d.Depth, d.Environments))
	}
	return strings.Join(parts, " ")
}

func originsString(os []Origin) string {
	var parts []string
	for _, o := range os {
		run := "-"
		if o.Run != nil {
			run = o.Run.Name
		}
		parts = append(parts, fmt.Sprintf("%d:%d/%s", o.Seq, o.Depth, run))
	}
	return strings.Join(parts, " ")
}

func TestImpact(t *testing.T) { forEachFixture(t, testImpact) }

func testImpact(t *testing.T, db fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		start     int64
		opts      Options
		deployed  string
		jobs      string
		truncated bool
	}{
		// 7 is DEPLOYED and open in prod; 8 is PROMOTED but open in
		// staging; 14 was deployed once and is not now.
		{name: "FromDataset", start: 1, deployed: "7:2[prod] 8:2[staging]", jobs: "11:3 13:3"},
		{name: "FromModel", start: 6, deployed: "7:1[prod] 8:1[staging]", jobs: "11:2 13:2"},
		{name: "FromDeployedVersion", start: 7, deployed: "7:0[prod]", jobs: "11:1"},
		{name: "FromJob", start: 13, jobs: "13:0"},
		{name: "NotDeployed", start: 14},
		{name: "MaxDepth", start: 1, opts: Options{MaxDepth: 2}, deployed: "7:2[prod] 8:2[staging]"},
		{name: "Relations", start: 1, opts: Options{ExcludeRelations: []string{"child"}}, deployed: "7:2[prod] 8:2[staging]"},
		{name: "Truncated", start: 1, opts: Options{MaxNodes: 4, Strategy: CTE}, deployed: "7:2[prod]", truncated: true},
		{name: "ExplicitDirection", start: 3, opts: Options{Direction: Downstream, Strategy: LevelWalk}, deployed: "8:1[staging]", jobs: "13:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Impact(ctx, db.DB, tc.start, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := deployedString(r.Deployed); got != tc.deployed {
				t.Errorf("deployed\n got %s\nwant %s", got, tc.deployed)
			}
			if got := nodesString(r.PredictionJobs); got != tc.jobs {
				t.Errorf("jobs\n got %s\nwant %s", got, tc.jobs)
			}
			if r.Truncated != tc.truncated {
				t.Errorf("Truncated = %v", r.Truncated)
			}
		})
	}

	t.Run("StatusAloneCounts", func(t *testing.T) {
		// Close 7's deployment: its DEPLOYED status still marks it, with
		// no environment.
		db.exec(t, `UPDATE deployments SET undeployed_at = 200 WHERE seq = 1`)
		r, err := Impact(ctx, db.DB, 7, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := deployedString(r.Deployed); got != "7:0[]" {
			t.Errorf("got %s", got)
		}
	})
}

func TestProvenance(t *testing.T) { forEachFixture(t, testProvenance) }

func testProvenance(t *testing.T, db fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		start       int64
		opts        Options
		datasets    string
		experiments string
		runs        string
	}{
		// promo_1 (12) was decided on exp_b (10): upstream of it are the
		// dataset versions of titanic_model@2 and that experiment.
		{name: "FromPromotion", start: 12, datasets: "2:2/ingest 3:2/ingest 5:2/-", experiments: "10:1/train", runs: "ingest train"},
		{name: "FromJob", start: 13, datasets: "2:2/ingest 3:2/ingest 5:2/-", runs: "ingest"},
		{name: "FromDatasetVersion", start: 2, datasets: "2:0/ingest", runs: "ingest"},
		{name: "FromDataset", start: 1},
		{name: "MaxDepth", start: 12, opts: Options{MaxDepth: 1}, experiments: "10:1/train", runs: "train"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Provenance(ctx, db.DB, tc.start, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := originsString(r.DatasetVersions); got != tc.datasets {
				t.Errorf("dataset versions\n got %s\nwant %s", got, tc.datasets)
			}
			if got := originsString(r.Experiments); got != tc.experiments {
				t.Errorf("experiments\n got %s\nwant %s", got, tc.experiments)
			}
			var runs []string
			for _, u := range r.Runs {
				runs = append(runs, u.Name)
				if u.ID == "" || u.Status != "FINISHED" || u.Seq == 0 {
					t.Errorf("run fields not loaded: %+v", u)
				}
			}
			if got := strings.Join(runs, " "); got != tc.runs {
				t.Errorf("runs\n got %s\nwant %s", got, tc.runs)
			}
		})
	}
}

func TestReportErrors(t *testing.T) { forEachFixture(t, testReportErrors) }

func testReportErrors(t *testing.T, db fixture) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts Options
		want error
	}{
		{"ErrDirection", Options{Direction: Both}, ErrInvalid},
		{"ErrTypes", Options{Types: []string{"model"}}, ErrInvalid},
		{"ErrLimit", Options{Limit: 3}, ErrInvalid},
		{"ErrOffset", Options{Offset: 3}, ErrInvalid},
		{"ErrAfter", Options{After: &Cursor{}}, ErrInvalid},
		{"ErrDepth", Options{MaxDepth: -1}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Impact(ctx, db.DB, 1, tc.opts); !errors.Is(err, tc.want) {
				t.Errorf("Impact: err = %v, want %v", err, tc.want)
			}
			if _, err := Provenance(ctx, db.DB, 12, tc.opts); !errors.Is(err, tc.want) {
				t.Errorf("Provenance: err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Impact(ctx, db.DB, 999, Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Impact of a missing resource: err = %v", err)
	}
	if _, err := Provenance(ctx, db.DB, 999, Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Provenance of a missing resource: err = %v", err)
	}
	// The direction a report walks is accepted when given.
	if _, err := Provenance(ctx, db.DB, 12, Options{Direction: Upstream}); err != nil {
		t.Errorf("Provenance with Upstream: %v", err)
	}
}
