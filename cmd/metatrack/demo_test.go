package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoThenShow(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "titanic.db")
	work := filepath.Join(dir, "work")

	r := mustRun(t, "demo", "--db", db, "--workdir", work)
	for _, want := range []string{"titanic_train@3", "titanic_model@3", "Deployed:  model_version/titanic_model@3", db} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "process data") {
		t.Errorf("demo printed no progress to stderr:\n%s", r.stderr)
	}

	t.Run("Table", func(t *testing.T) {
		r := mustRun(t, "show", "--db", db)
		for _, want := range []string{
			"dataset/titanic_train: 3 versions, latest 3",
			"model/titanic_model: 3 versions, latest 3, deployed 3 (default)",
			"DEPLOYED", "DEMOTED", "latest; deployed in default",
			"experiment       18", "demo  FINISHED",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("show output lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		r := mustRun(t, "show", "--db", db, "-o", "json")
		var out showJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("show -o json: %v\n%s", err, r.stdout)
		}
		if out.RunCount != 1 || out.Runs[0].Name != "demo" || out.Runs[0].Status != "FINISHED" || out.Runs[0].DurationSeconds == nil {
			t.Errorf("runs: %+v", out.Runs)
		}
		if out.ResourcesByType["experiment"] != 18 || out.ResourcesByType["prediction_job"] != 3 {
			t.Errorf("resources by type: %v", out.ResourcesByType)
		}
		if out.Database.SizeBytes == 0 || out.Database.ArtifactCount == 0 || out.Database.ArtifactBytes == 0 {
			t.Errorf("database: %+v", out.Database)
		}
		if len(out.Chains) != 2 {
			t.Fatalf("chains: %+v", out.Chains)
		}
		ds, model := out.Chains[0], out.Chains[1]
		if ds.Name != "titanic_train" || ds.HeadType != "dataset" || ds.LatestVersion != 3 || len(ds.Versions) != 3 || ds.DeployedVersion != nil {
			t.Errorf("dataset chain: %+v", ds)
		}
		if model.Name != "titanic_model" || model.LatestVersion != 3 || model.DeployedVersion == nil || *model.DeployedVersion != 3 ||
			model.DeploymentCount != 3 || model.Versions[2].Status != "DEPLOYED" {
			t.Errorf("model chain: %+v", model)
		}
		// Field names are part of the interface.
		for _, key := range []string{`"resources_by_type"`, `"latest_version"`, `"deployed_version"`, `"artifact_bytes"`, `"duration_seconds"`} {
			if !strings.Contains(r.stdout, key) {
				t.Errorf("JSON lacks %s", key)
			}
		}
	})

	t.Run("DemoAgainAppends", func(t *testing.T) {
		r := mustRun(t, "demo", "--db", db, "--workdir", work, "-q", "-o", "json")
		if r.stderr != "" {
			t.Errorf("-q printed to stderr:\n%s", r.stderr)
		}
		var out demoJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("demo -o json: %v\n%s", err, r.stdout)
		}
		if len(out.Rounds) != 3 || out.Rounds[0].DatasetVersion.Version != 4 || out.Rounds[2].ModelVersion.Version != 6 {
			t.Fatalf("second demo: %+v", out.Rounds)
		}
		if out.Rounds[0].Baseline == nil || out.Rounds[0].Baseline.Version != 3 {
			t.Errorf("version 4 was compared with %+v, want the deployed version 3", out.Rounds[0].Baseline)
		}
		if out.Run.Status != "FINISHED" || out.Created["model"] != 0 || out.Created["model_version"] != 3 {
			t.Errorf("run %+v, created %v", out.Run, out.Created)
		}
		var show showJSON
		if err := json.Unmarshal([]byte(mustRun(t, "show", "--db", db, "-o", "json").stdout), &show); err != nil {
			t.Fatal(err)
		}
		if show.RunCount != 2 || show.Chains[1].LatestVersion != 6 || show.Chains[1].VersionCount != 6 {
			t.Errorf("after two demos: %d runs, model chain %+v", show.RunCount, show.Chains[1])
		}
	})

	t.Run("DatabaseFromEnvironment", func(t *testing.T) {
		t.Setenv(envURL, "sqlite:"+db)
		r := mustRun(t, "show", "--runs", "1")
		if !strings.Contains(r.stdout, "model/titanic_model") || !strings.Contains(r.stdout, "--runs 0 lists all") {
			t.Errorf("show with %s:\n%s", envURL, r.stdout)
		}
	})
}
