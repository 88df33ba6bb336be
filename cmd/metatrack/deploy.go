package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newDeployCmd(a *app) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "deploy <model_version ref>",
		Short: "Make a model version the deployed one of its model in an environment",
		Long: `deploy makes the model version named the deployed version of its model in
the environment (--env, default "default"): the deployment there before it
ends now and its version becomes DEMOTED (unless it is still deployed in
another environment), and this one becomes DEPLOYED. Deploying the deployed
version again changes nothing. 'metatrack at' shows what was deployed when.`,
		Example: `  metatrack deploy model_version/titanic_model@2 --env staging --db titanic.db
  metatrack deploy model_version/titanic_model@3`,
		Args:              exactArgs(1, "the model version to deploy"),
		ValidArgsFunction: a.completeRefsAfter(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDeploy(cmd.Context(), args[0], env, false)
		},
	}
	cmd.Flags().StringVar(&env, "env", metatrack.DefaultEnvironment, "deployment environment")
	return cmd
}

func newUndeployCmd(a *app) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "undeploy <model_version ref>",
		Short: "End the deployment of a model version in an environment",
		Long: `undeploy ends the current deployment of the model version named in the
environment (--env, default "default"). The version becomes DEMOTED unless it
is still deployed in another environment; once deployed nowhere it can be
deleted with 'metatrack rm'.`,
		Example: `  metatrack undeploy model_version/titanic_model@3 --db titanic.db
  metatrack undeploy model_version/titanic_model@3 --env staging`,
		Args:              exactArgs(1, "the deployed model version"),
		ValidArgsFunction: a.completeRefsAfter(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDeploy(cmd.Context(), args[0], env, true)
		},
	}
	cmd.Flags().StringVar(&env, "env", metatrack.DefaultEnvironment, "deployment environment")
	return cmd
}

// deployJSON is the -o json document of deploy and undeploy.
type deployJSON struct {
	ModelVersion resourceJSON `json:"model_version"`
	Environment  string       `json:"environment"`
	Deployed     bool         `json:"deployed"`
}

func (a *app) runDeploy(ctx context.Context, ref, env string, undeploy bool) error {
	what := "metatrack deploy"
	if undeploy {
		what = "metatrack undeploy"
	}
	var mv metatrack.Resource
	err := a.write(ctx, what, func(t metatrack.Store) error {
		r, err := a.resolve(ctx, t, ref)
		if err != nil {
			return err
		}
		if undeploy {
			err = t.Undeploy(ctx, r, metatrack.WithEnvironment(env))
		} else {
			_, err = t.Deploy(ctx, r, metatrack.WithEnvironment(env))
		}
		if err != nil {
			return err
		}
		mv, err = t.GetResource(ctx, r.ID, "")
		return err
	})
	if err != nil {
		return err
	}
	if a.json() {
		return a.writeJSON(deployJSON{ModelVersion: toResourceJSON(mv), Environment: env, Deployed: !undeploy})
	}
	if undeploy {
		fmt.Fprintf(a.stdout, "Undeployed %s from %s (now %s)\n", mv.Ref(), env, mv.Status)
	} else {
		fmt.Fprintf(a.stdout, "Deployed %s to %s\n", mv.Ref(), env)
	}
	return nil
}

func newPromoteCmd(a *app) *cobra.Command {
	var (
		p      metatrack.Promotion
		reason string
	)
	cmd := &cobra.Command{
		Use:   "promote <model_version ref>",
		Short: "Record a promotion of a model version, PENDING or --approved",
		Long: `promote records a promotion under the model version named, with a reason
and optionally the metric that improved (its value and the baseline it is
compared with), and marks the version PROMOTED. The promotion is PENDING
unless --approved is given. A deployed version cannot be promoted.`,
		Example: `  metatrack promote model_version/titanic_model@2 --reason UPLIFT --metric auc --value 0.87 --baseline 0.83 --db titanic.db
  metatrack promote model_version/titanic_model@1 --reason MANUAL --approved`,
		Args:              exactArgs(1, "the model version to promote"),
		ValidArgsFunction: a.completeRefsAfter(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usageErrorf("--reason is required (for example --reason UPLIFT)")
			}
			p.Reason = reason
			return a.runPromote(cmd.Context(), args[0], p)
		},
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why the version is promoted, for example UPLIFT (required)")
	f.StringVar(&p.Metric, "metric", "", "the metric that improved")
	f.Float64Var(&p.Value, "value", 0, "the metric's value for this version")
	f.Float64Var(&p.Baseline, "baseline", 0, "the metric's value for the version compared with")
	f.BoolVar(&p.Approved, "approved", false, "approve the promotion at once")
	return cmd
}

func (a *app) runPromote(ctx context.Context, ref string, p metatrack.Promotion) error {
	var promo metatrack.Resource
	err := a.write(ctx, "metatrack promote", func(t metatrack.Store) error {
		r, err := a.resolve(ctx, t, ref)
		if err != nil {
			return err
		}
		promo, err = t.Promote(ctx, r, p)
		return err
	})
	if err != nil {
		return err
	}
	if a.json() {
		return a.writeJSON(toResourceJSON(promo))
	}
	fmt.Fprintf(a.stdout, "Promoted %s: %s (%s)\n", ref, promo.Ref(), promo.Status)
	return nil
}
