package metatrack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of history entry that deletion records.
const (
	// ChangeDeleted: the resource was deleted (DeleteResource). New is
	// {"root": <id>}, the id of the resource the deletion was asked for:
	// the resource itself, or the ancestor it was deleted with.
	ChangeDeleted = "deleted"
	// ChangeRestored: the resource was restored (RestoreResource). New is
	// {"root": <id>}, like ChangeDeleted.
	ChangeRestored = "restored"
	// ChangePurged is recorded on the surviving parent of a resource that
	// PurgeDeleted removed for good: Key is its id, New is
	// {"ref", "type", "deleted_at"} (deleted_at in Unix milliseconds).
	ChangePurged = "purged"
)

// ErrDeleted comes with ErrNotFound when what a lookup names is a deleted
// resource (see DeleteResource): RestoreResource brings it back.
var ErrDeleted = errors.New("deleted")

// Deletion works in two steps, as MLflow's soft delete and gc do.
// DeleteResource marks a resource and everything under it by parent
// (the versions of a model, the experiments, promotions and prediction
// jobs of a version) deleted: from then on they are hidden from lookups,
// references, listings, searches, lineage walks and a chain's latest and
// previous versions, while their rows, artifacts and history stay in the
// file. RestoreResource brings them back. PurgeDeleted removes deleted
// resources for good, with their artifacts (GC then reclaims the bytes)
// and their history, and keeps one row per purged resource in the file.
//
// Version numbers are never reused: a new version after a deleted or purged
// one gets the next number, so a reference written down never comes to name
// another version.

// bySeqAny is bySeq that finds deleted resources too.
func (x *txn) bySeqAny(ctx context.Context, seq int64) (resourceRow, error) {
	var row resourceRow
	err := x.get(ctx, &row, x.sql.ResourceBySeqAny, seq)
	if errors.Is(err, sql.ErrNoRows) {
		return row, fmt.Errorf("%w: resource #%d", ErrNotFound, seq)
	}
	return row, err
}

// findDeleted finds the deleted resource key names: an id, type/name@N, or
// type/name (the newest deleted one of that type and name). It returns
// sql.ErrNoRows when there is none.
func (x *txn) findDeleted(ctx context.Context, key string) (resourceRow, error) {
	var row resourceRow
	r, isRef, err := parseRef(key)
	switch {
	case err != nil:
		return row, err
	case !isRef:
		err = x.get(ctx, &row, x.sql.DeletedByID, key)
	case r.version > 0:
		err = x.get(ctx, &row, x.sql.DeletedByVer, r.typ, r.name, r.version)
	case r.alias != "":
		err = sql.ErrNoRows
	default:
		err = x.get(ctx, &row, x.sql.DeletedLatest, r.typ, r.name)
	}
	if errors.Is(err, sql.ErrNoRows) && isRef {
		if child, ok := x.deletedChild(ctx, key); ok {
			return child, nil
		}
	}
	return row, err
}

// deletedChild finds the deleted child that a reference qualified by its
// parent names (model_version/m@2/experiment/e): the parent is live, the
// child of that name deleted.
//
// The parent is looked up among live resources only (refCandidates, one
// memo for every split), never through resolve: a parent that is not found
// must not look for deleted resources in turn, which would repeat the
// search for every shorter prefix.
func (x *txn) deletedChild(ctx context.Context, key string) (resourceRow, bool) {
	memo := map[string]refResult{}
	for i := len(key) - 1; i > 0; i-- {
		if key[i] != '/' || !strings.Contains(key[:i], "/") {
			continue
		}
		c, ok, err := parseRef(key[i+1:])
		if !ok || err != nil || c.alias != "" {
			continue
		}
		parents, err := x.refCandidates(ctx, key[:i], memo, 0)
		if err != nil || len(parents) != 1 {
			continue
		}
		parent := parents[0]
		var row resourceRow
		if c.version > 0 {
			err = x.get(ctx, &row, x.sql.DeletedByVer, c.typ, c.name, c.version)
			if err == nil && row.ParentSeq.Int64 != parent.Seq {
				continue
			}
		} else {
			err = x.get(ctx, &row, x.sql.ChildByName, parent.Seq, c.typ, c.name)
		}
		if err == nil && row.DeletedAt.Valid {
			return row, true
		}
	}
	return resourceRow{}, false
}

// notFound is the error of a lookup of key that found nothing: it says so
// when key names a deleted resource, whose reference then fails like that of
// a resource that does not exist.
func (x *txn) notFound(ctx context.Context, key string, r ref, isRef bool) error {
	deleted := func(row resourceRow) error {
		return fmt.Errorf("%w: resource %q: %s (%s) was %w at %s", ErrNotFound, key,
			row.ref(), row.ID, ErrDeleted, fromMillis(row.DeletedAt.Int64).Format(time.RFC3339))
	}
	if !isRef || r.version > 0 {
		// findDeleted also tries a deleted child of a live parent.
		if row, err := x.findDeleted(ctx, key); err == nil {
			return deleted(row)
		}
	} else if row, ok := x.deletedChild(ctx, key); ok {
		return deleted(row)
	}
	return fmt.Errorf("%w: resource %q", ErrNotFound, key)
}

// DeleteResource deletes res and everything under it by parent (a model's
// versions, a version's experiments, promotions and prediction jobs) and
// returns what it deleted, res first. Deleted resources are hidden from
// every lookup, reference, listing, search, lineage walk and chain "latest"
// and "previous", but stay in the file with their history until
// PurgeDeleted; RestoreResource brings them back. Aliases that pointed to a
// deleted version are removed (and recorded). Deleting a model version that
// is deployed, or a resource with a deployed version under it, fails with
// ErrConflict: undeploy it first.
func (t *Tracker) DeleteResource(ctx context.Context, res Resource) ([]Resource, error) {
	var out []Resource
	err := t.write(ctx, func(x *txn) error {
		root, err := x.resolveRes(ctx, res)
		if err != nil {
			return err
		}
		var seqs []int64
		if err := x.sel(ctx, &seqs, x.sql.Subtree, root.Seq); err != nil {
			return err
		}
		set, err := json.Marshal(seqs)
		if err != nil {
			return err
		}
		var dep struct {
			Seq int64  `db:"model_version_seq"`
			Env string `db:"environment"`
		}
		if err := x.get(ctx, &dep, x.sql.DeployedIn, string(set)); err == nil {
			mv, err := x.bySeq(ctx, dep.Seq)
			if err != nil {
				return err
			}
			if mv.Seq == root.Seq {
				return fmt.Errorf("%w: %s is deployed in %s: undeploy it before deleting it", ErrConflict, mv.ref(), dep.Env)
			}
			return fmt.Errorf("%w: %s has %s under it, deployed in %s: undeploy it before deleting %s",
				ErrConflict, root.ref(), mv.ref(), dep.Env, root.ref())
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var aliases []aliasRow
		if err := x.sel(ctx, &aliases, x.sql.AliasesToSeqs, string(set)); err != nil {
			return err
		}
		for _, a := range aliases {
			head, err := x.bySeqAny(ctx, a.HeadSeq)
			if err != nil {
				return err
			}
			if err := x.removeAlias(ctx, head, a); err != nil {
				return err
			}
		}
		mark := map[string]any{"root": root.ID}
		for _, seq := range seqs {
			row, err := x.bySeq(ctx, seq)
			if err != nil {
				return err
			}
			if _, err := x.exec(ctx, x.sql.SetDeleted, x.now, seq); err != nil {
				return err
			}
			if err := x.history(ctx, seq, ChangeDeleted, "", nil, mark); err != nil {
				return err
			}
			row.DeletedAt = sql.NullInt64{Int64: x.now, Valid: true}
			out = append(out, row.resource())
		}
		if x.t.targets != nil {
			clear(x.t.targets)
		}
		return nil
	})
	return out, err
}

// RestoreResource brings back the deleted resource that res names (by id,
// or by a reference such as model_version/titanic_model@3; type/name alone
// is the newest deleted resource of that type and name), with what was
// deleted together with it, and returns them, res first. The aliases its
// deletion removed come back where their name is still free. A resource
// whose parent is still deleted cannot be restored alone (ErrConflict:
// restore the parent); one that is not deleted is ErrConflict too.
func (t *Tracker) RestoreResource(ctx context.Context, res Resource) ([]Resource, error) {
	var out []Resource
	err := t.write(ctx, func(x *txn) error {
		key := res.key()
		if key == "" {
			return fmt.Errorf("%w: no resource given (empty id)", ErrInvalidArgument)
		}
		root, err := x.findDeleted(ctx, key)
		if errors.Is(err, sql.ErrNoRows) {
			if live, lerr := x.resolve(ctx, key); lerr == nil {
				return fmt.Errorf("%w: %s is not deleted", ErrConflict, live.ref())
			}
			return fmt.Errorf("%w: no deleted resource %q", ErrNotFound, key)
		}
		if err != nil {
			return err
		}
		if root.ParentSeq.Valid {
			p, err := x.bySeqAny(ctx, root.ParentSeq.Int64)
			if err != nil {
				return err
			}
			if p.DeletedAt.Valid {
				return fmt.Errorf("%w: the parent of %s, %s (%s), is deleted: restore it first", ErrConflict, root.ref(), p.ref(), p.ID)
			}
		}
		deletedAt := root.DeletedAt.Int64
		var seqs []int64
		if err := x.sel(ctx, &seqs, x.sql.DeletedSubtree, root.Seq, deletedAt); err != nil {
			return err
		}
		mark := map[string]any{"root": root.ID}
		restored := map[string]resourceRow{}
		heads := map[int64]bool{}
		for _, seq := range seqs {
			if _, err := x.exec(ctx, x.sql.SetDeleted, nil, seq); err != nil {
				return err
			}
			if err := x.history(ctx, seq, ChangeRestored, "", nil, mark); err != nil {
				return err
			}
			row, err := x.bySeq(ctx, seq)
			if err != nil {
				return err
			}
			restored[row.ID] = row
			if row.Version.Valid && row.ParentSeq.Valid {
				heads[row.ParentSeq.Int64] = true
			}
			out = append(out, row.resource())
		}
		// The aliases the deletion removed: entries of the heads' history
		// at the moment of the deletion that removed an alias of a
		// restored version.
		for headSeq := range heads {
			var removed []struct {
				Key string         `db:"key"`
				Old sql.NullString `db:"old_value"`
			}
			if err := x.sel(ctx, &removed, x.sql.RemovedAliasesAt, headSeq, deletedAt); err != nil {
				return err
			}
			head, err := x.bySeq(ctx, headSeq)
			if err != nil {
				return err
			}
			for _, r := range removed {
				var old struct {
					ID string `json:"id"`
				}
				if json.Unmarshal([]byte(r.Old.String), &old) != nil {
					continue
				}
				v, ok := restored[old.ID]
				if !ok {
					continue
				}
				if _, err := x.alias(ctx, head, r.Key); err == nil {
					continue // set again since: it stays where it is
				} else if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if err := x.setAlias(ctx, head, r.Key, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// WithDeleted makes Search and SearchAll return deleted resources, and only
// them, instead of the live ones (metatrack ls --deleted).
func WithDeleted() SearchOption { return func(c *searchConfig) { c.deleted = true } }

// DeleteMetadata removes the metadata key from res (recorded in its
// history). Removing a key that is not there is not an error.
func (t *Tracker) DeleteMetadata(ctx context.Context, res Resource, key string) error {
	return t.write(ctx, func(x *txn) error {
		row, err := x.target(ctx, res)
		if err != nil {
			return err
		}
		var old sql.NullString
		if err := x.get(ctx, &old, x.sql.MetadataOf, row.Seq, key); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		}
		if _, err := x.exec(ctx, x.sql.DeleteMetadataKey, row.Seq, key); err != nil {
			return err
		}
		return x.history(ctx, row.Seq, ChangeMetadata, key, json.RawMessage(old.String), nil)
	})
}

// PurgeStats say what PurgeDeleted removed, or would remove.
type PurgeStats struct {
	// Resources purged, with their artifacts and history entries.
	Resources, Artifacts, Changes int64
}

// WithPurgeOlderThan makes PurgeDeleted remove only resources deleted at
// least d ago (gc --purge-deleted --older-than 30d).
func WithPurgeOlderThan(d time.Duration) MaintenanceOption {
	return func(c *maintenanceConfig) { c.purgeAge = d }
}

// PurgeDeleted removes for good the resources deleted at least
// WithPurgeOlderThan ago (all deleted ones without it), with everything
// under them by parent, their tags, metadata, version-control records,
// artifacts, edges, past deployments, aliases and history. The purged table
// keeps one row for each (id, type, name, version, parent, created, deleted
// and purged times), and a surviving parent gets a "purged" entry in its
// history, so the change log still says what was there. The artifact bytes
// no other artifact uses are reclaimed by GC afterwards. WithDryRun counts
// and changes nothing.
func (t *Tracker) PurgeDeleted(ctx context.Context, opts ...MaintenanceOption) (PurgeStats, error) {
	cfg := maintenanceOptions(opts)
	var st PurgeStats
	fn := func(x *txn) error {
		cutoff := x.now - cfg.purgeAge.Milliseconds()
		var rows []resourceRow
		err := x.sel(ctx, &rows, x.sql.PurgeCandidates, cutoff)
		if err != nil || len(rows) == 0 {
			return err
		}
		seqs := make([]int64, len(rows))
		purging := map[int64]bool{}
		for i, r := range rows {
			seqs[i] = r.Seq
			purging[r.Seq] = true
		}
		set, err := json.Marshal(seqs)
		if err != nil {
			return err
		}
		var counts struct {
			Artifacts int64 `db:"artifacts"`
			Changes   int64 `db:"changes"`
		}
		if err := x.get(ctx, &counts, x.sql.PurgeCounts, string(set)); err != nil {
			return err
		}
		st = PurgeStats{Resources: int64(len(rows)), Artifacts: counts.Artifacts, Changes: counts.Changes}
		if cfg.dryRun {
			return nil
		}
		q := x.tx
		for _, s := range x.sql.PurgeRows {
			if _, err := q.ExecContext(ctx, s, string(set)); err != nil {
				return err
			}
		}
		for _, r := range rows {
			deleted := r.DeletedAt.Int64
			if !r.DeletedAt.Valid { // under a deleted parent but never marked: only a damaged or hand-edited file
				deleted = x.now
			}
			if _, err := q.ExecContext(ctx, x.sql.InsertPurged,
				r.ID, r.Type, r.Name, nullable(r.Version), r.ParentID.String, r.CreatedAt, deleted, x.now, x.runSeq()); err != nil {
				return err
			}
			if r.ParentSeq.Valid && !purging[r.ParentSeq.Int64] {
				if err := x.history(ctx, r.ParentSeq.Int64, ChangePurged, r.ID,
					nil, map[string]any{"ref": r.ref(), "type": r.Type, "deleted_at": deleted}); err != nil {
					return err
				}
			}
		}
		// Children before parents: one statement, checked at its end.
		if _, err := q.ExecContext(ctx, x.sql.PurgeResources, string(set)); err != nil {
			return err
		}
		if x.t.targets != nil {
			clear(x.t.targets)
		}
		return nil
	}
	var err error
	if cfg.dryRun {
		err = t.read(ctx, fn)
	} else if err = t.checkWrite("PurgeDeleted"); err == nil {
		err = t.write(ctx, fn)
	}
	return st, err
}
