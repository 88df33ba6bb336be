package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

// Dynamic shell completion. cobra provides the completion command (bash,
// zsh, fish, powershell) and the hidden __complete command that the
// scripts call; these functions complete resource references and artifact
// names from the database of --db, read-only. Any failure completes
// nothing: a completion never prints an error into the user's prompt.

// completionTimeout bounds how long a completion may take.
const completionTimeout = 2 * time.Second

// maxCompletions is how many resources one completion looks at.
const maxCompletions = 200

// completeRefs completes the first n arguments as references.
func (a *app) completeRefs(n int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.refCompletions(cmd.Context(), toComplete)
	}
}

// completeRefsAfter completes every argument after the first skip as a
// reference.
func (a *app) completeRefsAfter(skip int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) < skip {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.refCompletions(cmd.Context(), toComplete)
	}
}

// completeArtifactArgs completes a reference, then one of its artifacts'
// names.
func (a *app) completeArtifactArgs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return a.refCompletions(cmd.Context(), toComplete)
	case 1:
		ctx, cancel := context.WithTimeout(contextOf(cmd), completionTimeout)
		defer cancel()
		t, err := a.openRead(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer t.Close()
		arts, err := t.Artifacts(ctx, metatrack.Resource{ID: args[0]}, "")
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, x := range arts {
			if strings.HasPrefix(x.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(x.Name, fmt.Sprintf("%s, %s", x.Kind, humanBytes(x.Size))))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// refCompletions completes a reference: first its type ("model_version/",
// from the types the database holds), then the names of that type, and
// for chain types each version (name@3) and name@latest.
func (a *app) refCompletions(ctx context.Context, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	t, err := a.openRead(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer t.Close()

	if out, ok := childCompletions(ctx, t, toComplete); ok {
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	typ, prefix, hasType := strings.Cut(toComplete, "/")
	if !hasType {
		st, err := t.Stats(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, k := range sortedKeys(st.ByType) {
			if strings.HasPrefix(k, toComplete) {
				out = append(out, k+"/")
			}
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	_, chain := metatrack.ChainHead(typ)
	if chain {
		if i := strings.LastIndexByte(prefix, '@'); i >= 0 {
			prefix = prefix[:i]
		}
	}
	filter := fmt.Sprintf("type = '%s' AND name LIKE '%s%%' ORDER BY name, version DESC LIMIT %d",
		quoteString(typ), quoteLike(prefix), maxCompletions)
	page, err := t.Search(ctx, filter)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	names := map[string]int{}
	for _, r := range page.Resources {
		names[r.Name]++
	}
	for _, r := range page.Resources {
		if latest := typ + "/" + r.Name + "@latest"; chain && !seen[latest] && strings.HasPrefix(latest, toComplete) {
			seen[latest] = true
			out = append(out, cobra.CompletionWithDesc(latest, fmt.Sprintf("version %d", r.Version)))
		}
		// A name that several resources share (an experiment trial-1 under
		// each model version) is offered by each unique reference; a name
		// of one resource also in its short form, which names it alone.
		c := r.Ref()
		if short := typ + "/" + r.Name; !chain && names[r.Name] == 1 {
			c = short
		}
		if strings.HasPrefix(c, toComplete) && !seen[c] {
			seen[c] = true
			out = append(out, cobra.CompletionWithDesc(c, orDash(r.Status)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// childCompletions completes a reference qualified by its parent: after
// model_version/titanic_model@2/ come the unique references of that
// version's experiments, promotions and prediction jobs. ok is false when
// toComplete does not start with the reference of a resource and a slash.
func childCompletions(ctx context.Context, t metatrack.Store, toComplete string) ([]cobra.Completion, bool) {
	for i := len(toComplete) - 1; i > 0; i-- {
		if toComplete[i] != '/' || !strings.Contains(toComplete[:i], "/") {
			continue
		}
		parent, err := t.GetResource(ctx, toComplete[:i], "")
		if err != nil {
			continue
		}
		kids, err := t.Children(ctx, parent, "")
		if err != nil {
			return nil, true
		}
		var out []cobra.Completion
		for _, k := range kids {
			if k.Version > 0 {
				continue // a chain member's reference is type/name@N
			}
			if c := toComplete[:i] + "/" + k.Type + "/" + k.Name; strings.HasPrefix(c, toComplete) && len(out) < maxCompletions {
				out = append(out, cobra.CompletionWithDesc(c, orDash(k.Status)))
			}
		}
		return out, true
	}
	return nil, false
}

// quoteString escapes s for a single-quoted string of the query language.
func quoteString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// quoteLike escapes s for a LIKE pattern inside a single-quoted string:
// %, _ and the backslash match themselves.
func quoteLike(s string) string {
	return strings.NewReplacer(`\`, `\\\\`, `'`, `\'`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// completeMetricArgs completes a reference, then the keys of its metric
// series not given yet; with --query nothing (the results are not known
// before the query runs).
func (a *app) completeMetricArgs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if q, _ := cmd.Flags().GetString("query"); q != "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if len(args) == 0 {
		return a.refCompletions(cmd.Context(), toComplete)
	}
	ctx, cancel := context.WithTimeout(contextOf(cmd), completionTimeout)
	defer cancel()
	t, err := a.openRead(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer t.Close()
	sums, err := t.Metrics(ctx, metatrack.Resource{ID: args[0]})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, s := range sums {
		if strings.HasPrefix(s.Key, toComplete) && !slices.Contains(args[1:], s.Key) {
			out = append(out, cobra.CompletionWithDesc(s.Key, plural(int(s.Count), "point")))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
