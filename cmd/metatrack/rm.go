package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm <ref>...",
		Short: "Delete resources, with what hangs under them; restore brings them back",
		Long: `rm deletes each resource named (by id or reference) with everything under it
by parent: a model with its versions, a version with its experiments,
promotions and prediction jobs. Deleted resources are hidden from every
listing, search, lookup, reference and lineage walk, but stay in the file
with their history: 'metatrack ls --deleted' lists them and
'metatrack restore' brings one back. 'metatrack gc --purge-deleted' removes
them for good.

A deployed model version (or a model with one) cannot be deleted: undeploy
it first. Aliases that point to a deleted version are removed, and come back
with a restore. Version numbers are never reused: the next version after a
deleted @3 is still @4.`,
		Example: `  metatrack rm model_version/titanic_model@2 --db titanic.db
  metatrack rm model_version/titanic_model@1/experiment/trial-1
  metatrack undeploy model_version/titanic_model@3 && metatrack rm model_version/titanic_model@3
  metatrack ls --deleted`,
		Args:              minArgs(1, "at least one resource id or reference"),
		ValidArgsFunction: a.completeRefsAfter(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDelete(cmd.Context(), args, false)
		},
	}
}

func newRestoreCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "restore <ref>...",
		Short: "Bring back deleted resources, with what was deleted with them",
		Long: `restore brings back each deleted resource named, by id or by reference
(type/name@N, or type/name for the newest deleted one of that name), with
everything its deletion took, and the aliases that deletion removed (unless
the name was set again since). A resource whose parent is still deleted
cannot be restored alone: restore the parent.`,
		Example: `  metatrack ls --deleted --db titanic.db
  metatrack restore model_version/titanic_model@2`,
		Args: minArgs(1, "at least one deleted resource's id or reference"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDelete(cmd.Context(), args, true)
		},
	}
}

// deleteJSON is the -o json document of rm and restore.
type deleteJSON struct {
	Deleted  []resourceJSON `json:"deleted,omitempty"`
	Restored []resourceJSON `json:"restored,omitempty"`
}

func (a *app) runDelete(ctx context.Context, refs []string, restore bool) error {
	what := "metatrack rm"
	if restore {
		what = "metatrack restore"
	}
	var done []metatrack.Resource
	var lines []string
	err := a.write(ctx, what, func(t metatrack.Store) error {
		// All or nothing: one transaction for every reference.
		rs := make([]metatrack.Resource, len(refs))
		for i, ref := range refs {
			rs[i] = metatrack.Resource{ID: ref}
		}
		var each [][]metatrack.Resource
		var err error
		if restore {
			each, err = t.RestoreResources(ctx, rs)
		} else {
			each, err = t.DeleteResources(ctx, rs)
		}
		for _, rs := range each {
			done = append(done, rs...)
			lines = append(lines, describeDeleted(rs, restore))
		}
		return err
	})
	if !restore && errors.Is(err, metatrack.ErrConflict) && strings.Contains(err.Error(), "undeploy it") {
		return fmt.Errorf("%w ('metatrack undeploy <ref> --env <environment>' ends a deployment)", err)
	}
	if err != nil {
		return err
	}
	if a.json() {
		var out deleteJSON
		if restore {
			out.Restored = toResourcesJSON(done)
		} else {
			out.Deleted = toResourcesJSON(done)
		}
		return a.writeJSON(out)
	}
	return printDeleted(a.stdout, lines, restore)
}

// describeDeleted says what one rm or restore did: the resource, and how
// many others came with it, by type.
func describeDeleted(rs []metatrack.Resource, restore bool) string {
	verb := "Deleted"
	if restore {
		verb = "Restored"
	}
	s := fmt.Sprintf("%s %s (%s)", verb, rs[0].Ref(), rs[0].ID)
	if len(rs) > 1 {
		byType := map[string]int{}
		var types []string
		for _, r := range rs[1:] {
			if byType[r.Type] == 0 {
				types = append(types, r.Type)
			}
			byType[r.Type]++
		}
		var parts []string
		for _, typ := range types {
			parts = append(parts, plural(byType[typ], typ))
		}
		s += " with " + strings.Join(parts, ", ") + " under it"
	}
	return s
}

func printDeleted(w io.Writer, lines []string, restore bool) error {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if !restore {
		fmt.Fprintln(w, "List deleted resources with 'metatrack ls --deleted'; bring one back with 'metatrack restore <ref>'.")
	}
	return nil
}
