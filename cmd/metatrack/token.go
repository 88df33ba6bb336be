package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

func newTokenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the API tokens of metatrack serve",
		Long: `token makes, lists and revokes the bearer tokens that metatrack serve
accepts. A read token may call every read, a write token also every
write, an admin token anything. The secret is printed once, by create:
the database keeps only its SHA-256. The change log records the name of
the token behind each change made through the server.

token works on the database file, on the server's machine.`,
		Example: `  metatrack token create --name trainer --role write --db team.db
  metatrack token ls --db team.db
  metatrack token revoke trainer --db team.db`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("%s needs a subcommand: create, ls or revoke", cmd.CommandPath())
		},
	}
	var name, role string
	create := &cobra.Command{
		Use:     "create --name NAME --role read|write|admin",
		Short:   "Make a token and print its secret (shown only this once)",
		Example: `  metatrack token create --name trainer --role write --db team.db`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageErrorf("token create needs --name")
			}
			return a.runTokenCreate(cmd.Context(), name, role)
		},
	}
	create.Flags().StringVar(&name, "name", "", "the token's name, recorded as the actor of its changes")
	enumFlag(create, &role, "role", metatrack.RoleRead, "what the token may do", []string{metatrack.RoleRead, metatrack.RoleWrite, metatrack.RoleAdmin})
	cmd.AddCommand(create,
		&cobra.Command{
			Use:     "ls",
			Short:   "List the tokens (never their secrets)",
			Example: `  metatrack token ls --db team.db -o json`,
			Args:    noArgs,
			RunE:    func(cmd *cobra.Command, args []string) error { return a.runTokenLs(cmd.Context()) },
		},
		&cobra.Command{
			Use:     "revoke NAME|ID",
			Short:   "Revoke a token: the server refuses it from then on",
			Example: `  metatrack token revoke trainer --db team.db`,
			Args:    exactArgs(1, "a token name or id"),
			RunE:    func(cmd *cobra.Command, args []string) error { return a.runTokenRevoke(cmd.Context(), args[0]) },
		},
	)
	return cmd
}

// openTokens opens --db for token management, creating the database if
// it does not exist yet (a new team server's first step).
func (a *app) openTokens(ctx context.Context, what string) (*metatrack.Tracker, error) {
	if _, err := a.storePath(); err != nil {
		return nil, err
	}
	return metatrack.Open(ctx, a.dbURL, metatrack.WithRunName(what), metatrack.WithClock(a.now))
}

type tokenJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Secret    string     `json:"secret,omitempty"`
}

func toTokenJSON(t metatrack.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt.UTC(), RevokedAt: optTime(t.RevokedAt)}
}

func (a *app) runTokenCreate(ctx context.Context, name, role string) error {
	t, err := a.openTokens(ctx, "metatrack token create")
	if err != nil {
		return err
	}
	defer t.Close()
	tok, secret, err := t.CreateToken(ctx, name, role)
	if err != nil {
		return err
	}
	if err := t.Close(); err != nil {
		return err
	}
	if a.json() {
		j := toTokenJSON(tok)
		j.Secret = secret
		return a.writeJSON(j)
	}
	fmt.Fprintf(a.stdout, "token %s (%s): %s\n", tok.Name, tok.Role, secret)
	fmt.Fprintln(a.stdout, "This is the only time the secret is shown; the database keeps its SHA-256.")
	return nil
}

func (a *app) runTokenLs(ctx context.Context) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	// A server lists its tokens to an admin token.
	tl, ok := t.(interface {
		Tokens(context.Context) ([]metatrack.Token, error)
	})
	if !ok {
		return fmt.Errorf("%s cannot list tokens", location(t))
	}
	toks, err := tl.Tokens(ctx)
	if err != nil {
		return err
	}
	if a.json() {
		out := make([]tokenJSON, 0, len(toks))
		for _, tok := range toks {
			out = append(out, toTokenJSON(tok))
		}
		return a.writeJSON(out)
	}
	w := newTable(a.stdout)
	fmt.Fprintln(w, "NAME\tROLE\tCREATED (UTC)\tSTATE")
	for _, tok := range toks {
		state := "valid"
		if !tok.RevokedAt.IsZero() {
			state = "revoked " + tableTime(tok.RevokedAt)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", tok.Name, tok.Role, tableTime(tok.CreatedAt), state)
	}
	return w.Flush()
}

func (a *app) runTokenRevoke(ctx context.Context, nameOrID string) error {
	err := a.writeFile(ctx, "metatrack token revoke", func(t *metatrack.Tracker) error {
		return t.RevokeToken(ctx, nameOrID)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "revoked token %s\n", nameOrID)
	return nil
}
