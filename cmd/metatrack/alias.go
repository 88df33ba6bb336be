package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
)

func newAliasCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Set, move, remove and list aliases: named pointers to a model version",
		Long: `An alias is a name (champion, staging, ...) that points to one version of a
model, and can be moved to another: model_version/titanic_model@champion is
then a reference wherever references work (get, lineage, impact, queries,
the Go API), and alias = 'champion' a query. Names are unique per model; they
are keys that are not a number or "latest", without '@', '/' or white space.

Every set, move and removal is recorded in the model's history with the run
that made it (host and user); 'metatrack at' shows where aliases pointed at a
time. Deleting a version removes the aliases that point to it.`,
		Example: `  metatrack alias set model_version/titanic_model@3 champion --db titanic.db
  metatrack alias set model_version/titanic_model@2 champion   # moves it
  metatrack alias ls model/titanic_model
  metatrack alias rm model/titanic_model champion`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("%s needs a subcommand: set, rm or ls", cmd.CommandPath())
		},
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:               "set <version-ref> <alias>",
			Short:             "Point an alias of the version's model at the version (creating or moving it)",
			Example:           `  metatrack alias set model_version/titanic_model@3 champion`,
			Args:              exactArgs(2, "a version reference and an alias name"),
			ValidArgsFunction: a.completeRefs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runAliasSet(cmd.Context(), args[0], args[1])
			},
		},
		&cobra.Command{
			Use:               "rm <model-ref> <alias>",
			Short:             "Remove an alias of a model (or of the model of a version)",
			Example:           `  metatrack alias rm model/titanic_model staging`,
			Args:              exactArgs(2, "a model (or version) reference and an alias name"),
			ValidArgsFunction: a.completeRefs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runAliasRm(cmd.Context(), args[0], args[1])
			},
		},
		listing(&cobra.Command{
			Use:   "ls [<ref>...]",
			Short: "List aliases: of the models or versions given, or every alias",
			Example: `  metatrack alias ls
  metatrack alias ls model/titanic_model -o json`,
			ValidArgsFunction: a.completeRefsAfter(0),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runAliasLs(cmd.Context(), args)
			},
		}),
	)
	return cmd
}

// aliasJSON is an alias in -o json documents.
type aliasJSON struct {
	Model     string    `json:"model"`
	ModelID   string    `json:"model_id"`
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	VersionID string    `json:"version_id"`
	Ref       string    `json:"ref"`
	RunID     *string   `json:"run_id"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toAliasesJSON(als []metatrack.Alias) []aliasJSON {
	out := make([]aliasJSON, 0, len(als))
	for _, al := range als {
		out = append(out, aliasJSON{Model: al.Head.Ref(), ModelID: al.Head.ID, Name: al.Name, Version: al.Version.Version,
			VersionID: al.Version.ID, Ref: al.Version.Type + "/" + al.Version.Name + "@" + al.Name,
			RunID: optString(al.RunID), UpdatedAt: al.UpdatedAt.UTC()})
	}
	return out
}

// openWrite opens the database of --db for a change made from the command
// line, as a run named what: the run records the host and user that made it.
func (a *app) openWrite(ctx context.Context, what string, opts ...metatrack.Option) (*metatrack.Tracker, error) {
	t, _, err := a.openExisting(ctx, append([]metatrack.Option{metatrack.WithRunName(what), metatrack.WithClock(a.now)}, opts...)...)
	return t, err
}

// write opens the database of --db for a change made from the command line,
// as a run named what, and runs fn with it. The run ends FAILED with fn's
// error when fn fails (the change was refused: 'metatrack runs' shows why)
// and FINISHED otherwise. Every command that writes goes through write, so
// that a failed command is never recorded as a successful run.
//
// Against a server (--db http(s)://) the run is the client's on the
// server, and the change log records the token's name as the actor too.
func (a *app) write(ctx context.Context, what string, fn func(t metatrack.Store) error) error {
	if remote.IsRemote(a.dbURL) {
		c, err := a.dial(ctx, remote.WithRunName(what))
		if err != nil {
			return err
		}
		err = fn(c)
		if serr := c.Stop(ctx, err); err == nil {
			err = serr
		}
		return err
	}
	return a.writeFile(ctx, what, func(t *metatrack.Tracker) error { return fn(t) })
}

// writeFile is write for the commands that change the database file itself
// (see fileOnly).
func (a *app) writeFile(ctx context.Context, what string, fn func(t *metatrack.Tracker) error, opts ...metatrack.Option) error {
	t, err := a.openWrite(ctx, what, opts...)
	if err != nil {
		return err
	}
	err = fn(t)
	if serr := t.Stop(ctx, err); err == nil {
		err = serr
	}
	return err
}

func (a *app) runAliasSet(ctx context.Context, ref, name string) error {
	var prev *metatrack.Alias
	var al metatrack.Alias
	err := a.write(ctx, "metatrack alias set", func(t metatrack.Store) error {
		mv, err := a.resolve(ctx, t, ref)
		if err != nil {
			return err
		}
		if mv.Version > 0 && mv.ParentID != "" {
			all, err := t.Aliases(ctx, metatrack.Resource{ID: mv.ParentID})
			if err != nil {
				return err
			}
			for i := range all {
				if all[i].Name == name {
					prev = &all[i]
				}
			}
		}
		al, err = t.SetAlias(ctx, mv, name)
		return err
	})
	if err != nil {
		return err
	}
	if a.json() {
		return a.writeJSON(toAliasesJSON([]metatrack.Alias{al})[0])
	}
	ref = al.Version.Type + "/" + al.Version.Name + "@" + al.Name
	switch {
	case prev == nil:
		fmt.Fprintf(a.stdout, "Set %s to %s\n", ref, al.Version.Ref())
	case prev.Version.ID == al.Version.ID:
		fmt.Fprintf(a.stdout, "%s already is %s\n", ref, al.Version.Ref())
	default:
		fmt.Fprintf(a.stdout, "Moved %s from %s to %s\n", ref, prev.Version.Ref(), al.Version.Ref())
	}
	return nil
}

func (a *app) runAliasRm(ctx context.Context, ref, name string) error {
	err := a.write(ctx, "metatrack alias rm", func(t metatrack.Store) error {
		r, err := a.resolve(ctx, t, ref)
		if err != nil {
			return err
		}
		return t.RemoveAlias(ctx, r, name)
	})
	if err != nil {
		return err
	}
	if a.json() {
		return a.writeJSON(map[string]any{"removed": name, "ref": ref})
	}
	fmt.Fprintf(a.stdout, "Removed alias %s of %s\n", name, ref)
	return nil
}

func (a *app) runAliasLs(ctx context.Context, refs []string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	var als []metatrack.Alias
	if len(refs) == 0 {
		versions, err := t.SearchAll(ctx, "alias IS NOT NULL ORDER BY type, name, version")
		if err != nil {
			return err
		}
		for _, v := range versions {
			va, err := t.Aliases(ctx, v)
			if err != nil {
				return err
			}
			als = append(als, va...)
		}
	}
	for _, ref := range refs {
		r, err := a.resolve(ctx, t, ref)
		if err != nil {
			return err
		}
		ra, err := t.Aliases(ctx, r)
		if err != nil {
			return err
		}
		als = append(als, ra...)
	}
	out := toAliasesJSON(als)
	switch {
	case a.json():
		return a.writeJSON(map[string]any{"aliases": out})
	case a.csv():
		return a.writeCSV(out)
	}
	return printAliases(a.stdout, out)
}

func printAliases(w io.Writer, out []aliasJSON) error {
	if len(out) == 0 {
		fmt.Fprintln(w, "No aliases.")
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "REF\tVERSION\tSET (UTC)\tVERSION ID")
	for _, al := range out {
		fmt.Fprintf(tw, "%s\t@%d\t%s\t%s\n", al.Ref, al.Version, tableTime(al.UpdatedAt), al.VersionID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", plural(len(out), "alias"))
	return nil
}
