package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/demo"
	"github.com/metatrack/metatrack/storage/postgres"
)

func newDemoCmd(a *app) *cobra.Command {
	var (
		workDir string
		rounds  int
		quiet   bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the example ML workflow (process, train, deploy, predict) into a database",
		Long: `demo runs the four pipelines of an ML workflow for real against the
database: it generates a Titanic-like dataset, versions, profiles, checks and
compares it; trains logistic regressions in several hyperparameter trials;
promotes and deploys the new model version when it beats the deployed one;
and scores and evaluates a batch of predictions. Each round makes a new
version of the dataset "titanic_train" and of the model "titanic_model";
running demo again on the same database continues the chains.

The database is created if needed. Data, models and reports are written
under --workdir (default: the database path with the extension .demo),
where a content-addressed store stands in for git or DVC; keep it to run
demo again on the same database. Progress goes to stderr (-q hides it), a
summary to stdout.`,
		Example: `  # three rounds into ./metatrack.db, work files in ./metatrack.demo
  metatrack demo

  # into another database and work directory; a second run appends versions 4 to 6
  metatrack demo --db titanic.db --workdir titanic-work
  metatrack demo --db titanic.db --workdir titanic-work -q -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rounds < 1 {
				return usageErrorf("--rounds must be at least 1, not %d", rounds)
			}
			return a.runDemo(cmd.Context(), workDir, rounds, quiet)
		},
	}
	f := cmd.Flags()
	f.StringVar(&workDir, "workdir", "", "directory for data, models and reports (default: the database path with extension .demo; metatrack.demo for a PostgreSQL URL)")
	f.IntVar(&rounds, "rounds", 3, "rounds of the four pipelines to run")
	f.BoolVarP(&quiet, "quiet", "q", false, "do not print progress to stderr")
	return cmd
}

func (a *app) runDemo(ctx context.Context, workDir string, rounds int, quiet bool) error {
	path, err := a.storePath()
	if err != nil {
		return err
	}
	if workDir == "" && postgres.IsURL(a.dbURL) {
		workDir = "metatrack.demo"
	} else if workDir == "" {
		workDir = strings.TrimSuffix(path, filepath.Ext(path)) + ".demo"
	}
	t, err := metatrack.Open(ctx, a.dbURL, metatrack.WithRunName("demo"),
		metatrack.WithModelLoader(demo.TrainerName, demo.LoadModel))
	if err != nil {
		return err
	}
	progress := a.stderr
	if quiet {
		progress = io.Discard
	}
	sum, runErr := demo.Run(ctx, t, workDir, progress, demo.WithRounds(rounds))
	var size int64
	if postgres.IsURL(a.dbURL) && runErr == nil {
		size = a.storeSize(ctx, t, path)
	}
	// Record the outcome even when ctx was cancelled (Ctrl-C).
	if err := t.Stop(context.WithoutCancel(ctx), runErr); err != nil || runErr != nil {
		return errors.Join(runErr, err)
	}
	if !postgres.IsURL(a.dbURL) {
		size = fileSize(path)
	}
	out := demoOutput(sum, t.Run(), path, size)
	if a.json() {
		return a.writeJSON(out)
	}
	return printDemo(a.stdout, out, workDir)
}

// demoJSON is the -o json document of demo.
type demoJSON struct {
	Database       databaseJSON     `json:"database"`
	WorkDir        string           `json:"work_dir"`
	Run            runRefJSON       `json:"run"`
	ElapsedSeconds float64          `json:"elapsed_seconds"`
	Rounds         []roundJSON      `json:"rounds"`
	Created        map[string]int   `json:"created"`
	Artifacts      int              `json:"artifacts"`
	ArtifactBytes  int64            `json:"artifact_bytes"`
	Deployed       *resourceRefJSON `json:"deployed"`
}

type databaseJSON struct {
	Path          string `json:"path"`
	SizeBytes     int64  `json:"size_bytes"`
	ArtifactCount int    `json:"artifact_count"`
	ArtifactBytes int64  `json:"artifact_bytes"`
}

type runRefJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

type resourceRefJSON struct {
	ID      string `json:"id"`
	Ref     string `json:"ref"`
	Version int    `json:"version,omitempty"`
	Status  string `json:"status,omitempty"`
}

func refJSON(r metatrack.Resource) *resourceRefJSON {
	if r.ID == "" {
		return nil
	}
	return &resourceRefJSON{ID: r.ID, Ref: r.Ref(), Version: r.Version, Status: r.Status}
}

type roundJSON struct {
	Round              int              `json:"round"`
	DatasetVersion     *resourceRefJSON `json:"dataset_version"`
	DataChecks         string           `json:"data_checks"`
	DataDrift          string           `json:"data_drift"`
	ModelVersion       *resourceRefJSON `json:"model_version"`
	Experiments        int              `json:"experiments"`
	Winner             *resourceRefJSON `json:"winner"`
	ValidAUC           float64          `json:"valid_auc"`
	TestAUC            float64          `json:"test_auc"`
	TestAccuracy       float64          `json:"test_accuracy"`
	ModelChecks        string           `json:"model_checks"`
	Baseline           *resourceRefJSON `json:"baseline"`
	BaselineAUC        *float64         `json:"baseline_auc"`
	Promoted           bool             `json:"promoted"`
	PredictionJob      *resourceRefJSON `json:"prediction_job"`
	PredictedWith      *resourceRefJSON `json:"predicted_with"`
	PredictionChecks   string           `json:"prediction_checks"`
	PredictionAccuracy float64          `json:"prediction_accuracy"`
	PredictionAUC      float64          `json:"prediction_auc"`
	TimingsMS          map[string]int64 `json:"timings_ms"`
}

func demoOutput(sum demo.Summary, run metatrack.Run, path string, size int64) demoJSON {
	out := demoJSON{
		Database:       databaseJSON{Path: path, SizeBytes: size, ArtifactCount: sum.Artifacts, ArtifactBytes: sum.ArtifactBytes},
		WorkDir:        sum.WorkDir,
		Run:            runRefJSON{ID: run.ID, Name: run.Name, Status: run.Status},
		ElapsedSeconds: sum.Elapsed.Seconds(),
		Created:        sum.Created,
		Artifacts:      sum.Artifacts,
		ArtifactBytes:  sum.ArtifactBytes,
		Deployed:       refJSON(sum.Deployed),
		Rounds:         []roundJSON{},
	}
	for i, r := range sum.Rounds {
		rj := roundJSON{
			Round: i + 1, DatasetVersion: refJSON(r.DatasetVersion), DataChecks: r.DataChecks, DataDrift: r.DataDrift,
			ModelVersion: refJSON(r.ModelVersion), Experiments: r.Experiments, Winner: refJSON(r.Winner),
			ValidAUC: r.Valid.AUC, TestAUC: r.Test.AUC, TestAccuracy: r.Test.Accuracy, ModelChecks: r.ModelChecks,
			Baseline: refJSON(r.Baseline), Promoted: r.Promoted,
			PredictionJob: refJSON(r.PredictionJob), PredictedWith: refJSON(r.PredictedWith),
			PredictionChecks: r.PredictionChecks, PredictionAccuracy: r.Evaluation.Accuracy, PredictionAUC: r.Evaluation.AUC,
			TimingsMS: map[string]int64{
				"process": r.ProcessTime.Milliseconds(), "train": r.TrainTime.Milliseconds(),
				"deploy": r.DeployTime.Milliseconds(), "predict": r.PredictTime.Milliseconds(),
			},
		}
		if r.Baseline.ID != "" {
			auc := r.BaselineTest.AUC
			rj.BaselineAUC = &auc
		}
		out.Rounds = append(out.Rounds, rj)
	}
	return out
}

func printDemo(w io.Writer, out demoJSON, workDir string) error {
	fmt.Fprintf(w, "Ran %d round(s) of the demo workflow in %s (run %q, %s).\n\n", len(out.Rounds),
		(time.Duration(out.ElapsedSeconds * float64(time.Second))).Round(time.Millisecond), out.Run.Name, out.Run.ID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUND\tDATASET\tCHECKS\tDRIFT\tMODEL\tWINNER\tTEST AUC\tDEPLOYED AUC\tDECISION\tPREDICTED WITH\tACCURACY")
	for _, r := range out.Rounds {
		base, decision := "-", "kept deployed"
		if r.BaselineAUC != nil {
			base = fmt.Sprintf("%.4f", *r.BaselineAUC)
		}
		if r.Promoted {
			decision = "deployed"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.4f\t%s\t%s\t%s\t%.3f\n", r.Round, short(r.DatasetVersion), r.DataChecks,
			orDash(r.DataDrift), short(r.ModelVersion), short(r.Winner), r.TestAUC, base, decision, short(r.PredictedWith), r.PredictionAccuracy)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var created []string
	for _, typ := range sortedKeys(out.Created) {
		created = append(created, fmt.Sprintf("%s %d", typ, out.Created[typ]))
	}
	fmt.Fprintf(w, "\nCreated:   %s\n", strings.Join(created, ", "))
	fmt.Fprintf(w, "Artifacts: %d (%s)\n", out.Artifacts, humanBytes(out.ArtifactBytes))
	if out.Deployed != nil {
		fmt.Fprintf(w, "Deployed:  %s (environment %q)\n", out.Deployed.Ref, metatrack.DefaultEnvironment)
	} else {
		fmt.Fprintf(w, "Deployed:  nothing\n")
	}
	fmt.Fprintf(w, "Database:  %s (%s)\n", out.Database.Path, humanBytes(out.Database.SizeBytes))
	fmt.Fprintf(w, "Work dir:  %s\n", workDir)
	fmt.Fprintf(w, "\nSee it with: metatrack show --db %s\n", out.Database.Path)
	if n := len(out.Rounds); n > 0 && out.Rounds[n-1].ModelVersion != nil {
		// Every trial logged its learning curves.
		fmt.Fprintf(w, "Curves:      metatrack metrics --db %s --query \"type = 'experiment' AND parent = '%s'\" valid_loss --plot\n",
			out.Database.Path, out.Rounds[n-1].ModelVersion.Ref)
	}
	return nil
}

// short returns a reference without its type (name@version), or "-".
func short(r *resourceRefJSON) string {
	if r == nil {
		return "-"
	}
	if i := strings.IndexByte(r.Ref, '/'); i >= 0 {
		return r.Ref[i+1:]
	}
	return r.Ref
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
