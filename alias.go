package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/metatrack/metatrack/rules"
)

// ChangeAlias is the kind of history entry that records an alias being set,
// moved or removed. It is in the history of the chain head (the model); Key
// is the alias name, Old and New are {"id": <version id>, "version": N}, or
// nil when the alias did not exist before or was removed.
const ChangeAlias = "alias"

// Alias is a named, movable pointer from a chain head (a model) to one of
// its versions, such as champion or staging: model_version/titanic_model@champion
// is a reference wherever a reference works. Alias names are unique per
// chain head; moving an alias to another version replaces where it points.
type Alias struct {
	Name string `json:"name"`
	// Head is the chain head the alias belongs to (the model).
	Head Resource `json:"head"`
	// Version is the chain member the alias points to.
	Version Resource `json:"version"`
	// RunID is the run that last set or moved the alias.
	RunID     string    `json:"run_id"`
	UpdatedAt time.Time `json:"updated_at"`
}

// validateAlias checks an alias name (see rules.Alias).
func validateAlias(name string) error { return rules.Alias(name) }

type aliasRow struct {
	HeadSeq    int64          `db:"head_seq"`
	Name       string         `db:"name"`
	VersionSeq int64          `db:"version_seq"`
	RunID      sql.NullString `db:"run_id"`
	UpdatedAt  int64          `db:"updated_at"`
}

// aliasValue is what the history keeps of where an alias points.
func aliasValue(v resourceRow) map[string]any {
	return map[string]any{"id": v.ID, "version": v.Version.Int64}
}

// SetAlias points the alias name of mv's chain at mv: it creates the alias,
// or moves it from the version it pointed to. mv is a chain member (a model
// version; dataset versions and other chains take aliases too). The change is
// recorded in the history of the chain head, with the run that made it.
// Setting an alias where it already points changes nothing.
func (t *Tracker) SetAlias(ctx context.Context, mv Resource, name string) (Alias, error) {
	if err := validateAlias(name); err != nil {
		return Alias{}, err
	}
	var out Alias
	err := t.write(ctx, func(x *txn) error {
		v, err := x.resolveRes(ctx, mv)
		if err != nil {
			return err
		}
		if !v.Version.Valid || !v.ParentSeq.Valid {
			return fmt.Errorf("%w: %s is of type %s, which has no versions to alias", ErrInvalidArgument, v.ref(), v.Type)
		}
		head, err := x.bySeq(ctx, v.ParentSeq.Int64)
		if err != nil {
			return err
		}
		if err := x.setAlias(ctx, head, name, v); err != nil {
			return err
		}
		out, err = x.alias(ctx, head, name)
		return err
	})
	return out, err
}

func (x *txn) setAlias(ctx context.Context, head resourceRow, name string, v resourceRow) error {
	var old aliasRow
	err := x.get(ctx, &old, x.sql.AliasOf, head.Seq, name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var oldV any
	if err == nil {
		if old.VersionSeq == v.Seq {
			return nil
		}
		prev, err := x.bySeqAny(ctx, old.VersionSeq)
		if err != nil {
			return err
		}
		oldV = aliasValue(prev)
	}
	if _, err := x.exec(ctx, x.sql.UpsertAlias, head.Seq, name, v.Seq, x.runSeq(), x.now); err != nil {
		return err
	}
	return x.history(ctx, head.Seq, ChangeAlias, name, oldV, aliasValue(v))
}

// RemoveAlias removes the alias name from the chain of res (the chain head,
// any of its versions, or a reference such as model/titanic_model). The
// removal is recorded in the head's history. It returns ErrNotFound when the
// chain has no such alias.
func (t *Tracker) RemoveAlias(ctx context.Context, res Resource, name string) error {
	return t.write(ctx, func(x *txn) error {
		head, err := x.chainHeadOf(ctx, res)
		if err != nil {
			return err
		}
		var old aliasRow
		if err := x.get(ctx, &old, x.sql.AliasOf, head.Seq, name); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %s has no alias %q", ErrNotFound, head.ref(), name)
			}
			return err
		}
		return x.removeAlias(ctx, head, old)
	})
}

func (x *txn) removeAlias(ctx context.Context, head resourceRow, a aliasRow) error {
	prev, err := x.bySeqAny(ctx, a.VersionSeq)
	if err != nil {
		return err
	}
	if _, err := x.exec(ctx, x.sql.DeleteAlias, head.Seq, a.Name); err != nil {
		return err
	}
	return x.history(ctx, head.Seq, ChangeAlias, a.Name, aliasValue(prev), nil)
}

// chainHeadOf returns the chain head res names: res itself when it heads a
// chain (a dataset or model), its parent when it is a chain member.
func (x *txn) chainHeadOf(ctx context.Context, res Resource) (resourceRow, error) {
	row, err := x.resolveRes(ctx, res)
	if err != nil {
		return row, err
	}
	if row.Version.Valid && row.ParentSeq.Valid {
		return x.bySeq(ctx, row.ParentSeq.Int64)
	}
	if row.ParentSeq.Valid {
		return row, fmt.Errorf("%w: %s is of type %s, which heads no chain of versions", ErrInvalidArgument, row.ref(), row.Type)
	}
	return row, nil
}

// Aliases returns the aliases of res, by name: every alias of the chain when
// res is a chain head (a model), the aliases that point to res when it is a
// chain member (a model version). Other resources have none.
func (t *Tracker) Aliases(ctx context.Context, res Resource) ([]Alias, error) {
	var out []Alias
	err := t.read(ctx, func(x *txn) error {
		row, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		out, err = x.aliasesOf(ctx, row)
		return err
	})
	return out, err
}

func (x *txn) aliasesOf(ctx context.Context, row resourceRow) ([]Alias, error) {
	var rows []aliasRow
	var err error
	if row.Version.Valid {
		err = x.sel(ctx, &rows, x.sql.AliasesOfVer, row.Seq)
	} else {
		err = x.sel(ctx, &rows, x.sql.AliasesOfHead, row.Seq)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Alias, 0, len(rows))
	for _, a := range rows {
		al, err := x.aliasFrom(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, al)
	}
	return out, nil
}

func (x *txn) alias(ctx context.Context, head resourceRow, name string) (Alias, error) {
	var a aliasRow
	if err := x.get(ctx, &a, x.sql.AliasOf, head.Seq, name); err != nil {
		return Alias{}, err
	}
	return x.aliasFrom(ctx, a)
}

func (x *txn) aliasFrom(ctx context.Context, a aliasRow) (Alias, error) {
	h, err := x.bySeq(ctx, a.HeadSeq)
	if err != nil {
		return Alias{}, err
	}
	v, err := x.bySeq(ctx, a.VersionSeq)
	if err != nil {
		return Alias{}, err
	}
	return Alias{Name: a.Name, Head: h.resource(), Version: v.resource(), RunID: a.RunID.String,
		UpdatedAt: fromMillis(a.UpdatedAt)}, nil
}

// resolveAlias resolves type/name@alias. A chain whose own name is
// name@alias (names may contain '@') is found too; when both exist the
// reference is refused rather than guessed.
func (x *txn) resolveAlias(ctx context.Context, key string, r ref) (resourceRow, error) {
	headType, _ := ChainHead(r.typ)
	var row resourceRow
	err := x.get(ctx, &row, x.sql.AliasTarget, headType, r.name, r.alias, r.typ)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return row, err
	}
	found := err == nil
	var whole resourceRow
	werr := x.get(ctx, &whole, x.sql.ResourceLatestVersion, r.typ, r.name+"@"+r.alias)
	if werr != nil && !errors.Is(werr, sql.ErrNoRows) {
		return row, werr
	}
	switch {
	case found && werr == nil:
		return row, fmt.Errorf("%w: reference %q names both %s (alias %s of %s/%s) and %s: use an id",
			ErrInvalidArgument, key, row.ref(), r.alias, headType, r.name, whole.ref())
	case found:
		return row, nil
	case werr == nil:
		return whole, nil
	}
	return row, fmt.Errorf("%w: resource %q: %s/%s has no alias %q", ErrNotFound, key, headType, r.name, r.alias)
}

// aliasesAt rebuilds the aliases of a chain head at a moment from its
// history: alias name -> version id.
func aliasesAt(changes []Change) map[string]string {
	out := map[string]string{}
	for _, c := range changes {
		if c.Kind != ChangeAlias {
			continue
		}
		if rec, ok := c.New.(map[string]any); ok {
			if id, ok := rec["id"].(string); ok {
				out[c.Key] = id
				continue
			}
		}
		delete(out, c.Key)
	}
	return out
}
