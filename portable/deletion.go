package portable

import (
	"github.com/jmoiron/sqlx"

	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/metatrack/metatrack/rules"
)

// Kinds of change whose entries decide, after an import, whether a resource
// is deleted and where its chain's aliases point (see reconcile).
const (
	changeDeleted  = "deleted"
	changeRestored = "restored"
	changeAlias    = "alias"
)

// noteReconcile remembers the resource of a history entry that reconcile
// must look at.
func (im *importer) noteReconcile(seq int64, change string) {
	switch change {
	case changeDeleted, changeRestored, changeAlias:
		if im.reconcileSeqs == nil {
			im.reconcileSeqs = map[int64]bool{}
		}
		im.reconcileSeqs[seq] = true
	}
}

// aliasRecord imports an alias. Where both files have the alias, the later
// move (updated_at) wins here; reconcile then settles it from the history of
// both files, which also sees removals.
func (im *importer) aliasRecord(r aliasRec) error {
	if err := checkAll(rules.ID("alias head", r.Head), rules.ID("alias version", r.Version), rules.Alias(r.Name)); err != nil {
		return im.ruleErr(fmt.Errorf("alias %q of %s: %w", r.Name, r.Head, err))
	}
	head, err := im.resourceSeq(r.Head, "alias head")
	if err != nil {
		return err
	}
	version, err := im.resourceSeq(r.Version, "alias version")
	if err != nil {
		return err
	}
	var v resRow
	if err := im.get(&v, im.sql.ResourceRowBySeq, version); err != nil {
		return err
	}
	if !v.Version.Valid || v.ParentSeq.Int64 != head {
		return im.ruleErr(fmt.Errorf("%w: alias %q of %s points to %s, which is not a version of its chain", rules.ErrInvalidArgument, r.Name, r.Head, r.Version))
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	im.noteReconcile(head, changeAlias)
	return im.added(im.exec(im.sql.MergeAlias, head, r.Name, version, run, r.UpdatedAt))
}

// purgedRecord imports the record of a resource purged for good: its
// version number stays taken. A resource this database still holds keeps
// its data.
func (im *importer) purgedRecord(r purgedRec) error {
	if err := checkAll(rules.ID("purged resource", r.ID), rules.Type(r.Type), rules.Name(r.Type, r.Name)); err != nil {
		return im.ruleErr(fmt.Errorf("purged resource %s: %w", r.ID, err))
	}
	if _, chain := rules.ChainHead(r.Type); chain != (r.Version != nil) || (r.Version != nil && *r.Version <= 0) {
		return im.errf("purged resource %s: a version is set exactly for chain types, and positive", r.ID)
	}
	run, err := im.runSeq(r.Run)
	if err != nil {
		return err
	}
	return im.added(im.exec(im.sql.AddPurged,
		r.ID, r.Type, r.Name, nullable(nullInt(r.Version)), r.Parent, r.CreatedAt, r.DeletedAt, r.PurgedAt, run))
}

// reconcile settles, once every record is in, what two files may disagree
// on, from the change log of both:
//
//   - A resource with deleted or restored entries is deleted exactly when
//     the latest of them (by time, then by order) is a deletion.
//   - A live resource under a deleted parent is deleted with it (and the
//     deletion recorded), so that nothing live hangs under a deleted one.
//   - Each alias with entries points where the latest entry says, or is
//     gone when that entry removed it or its version is deleted.
//
// So when two files moved the same alias, the later move wins, and both
// moves stay in the history.
func (im *importer) reconcile() error {
	if len(im.reconcileSeqs) == 0 && !im.hasDeleted() {
		return nil
	}
	seqs := make([]int64, 0, len(im.reconcileSeqs))
	for s := range im.reconcileSeqs {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	set, err := json.Marshal(seqs)
	if err != nil {
		return err
	}
	if _, err := im.tx.ExecContext(im.ctx, im.sql.DeletedFromHistory, string(set)); err != nil {
		return err
	}
	if err := im.keepDeployedLive(); err != nil {
		return err
	}
	for {
		var orphans []struct {
			Seq       int64  `db:"seq"`
			ID        string `db:"id"`
			DeletedAt int64  `db:"deleted_at"`
			Parent    string `db:"parent_id"`
		}
		if err := sqlx.SelectContext(im.ctx, im.tx, &orphans, im.sql.Orphans); err != nil {
			return err
		}
		if len(orphans) == 0 {
			break
		}
		for _, o := range orphans {
			if _, err := im.exec(im.sql.SetDeletedAt, o.DeletedAt, o.Seq); err != nil {
				return err
			}
			if _, err := im.note(derivedID(changeDeleted, o.ID, fmt.Sprint(o.DeletedAt)), o.Seq, o.DeletedAt,
				changeDeleted, "", nil, map[string]any{"root": o.Parent}); err != nil {
				return err
			}
		}
	}
	var latest []struct {
		Head int64          `db:"resource_seq"`
		Name string         `db:"key"`
		At   int64          `db:"at"`
		Run  sql.NullInt64  `db:"run_seq"`
		New  sql.NullString `db:"new_value"`
	}
	if err := sqlx.SelectContext(im.ctx, im.tx, &latest, im.sql.LatestAliasChanges, string(set)); err != nil {
		return err
	}
	for _, a := range latest {
		var to struct {
			ID string `json:"id"`
		}
		var version int64
		ok := false
		if a.New.Valid && json.Unmarshal([]byte(a.New.String), &to) == nil && to.ID != "" {
			ok, err = found(im.get(&version, im.sql.LiveVersionOf, to.ID, a.Head))
			if err != nil {
				return err
			}
		}
		if !ok {
			if _, err := im.exec(im.sql.DropAlias, a.Head, a.Name); err != nil {
				return err
			}
			continue
		}
		if _, err := im.exec(im.sql.SetAlias,
			a.Head, a.Name, version, nullable(a.Run), a.At); err != nil {
			return err
		}
	}
	// Aliases to versions that are deleted now.
	_, err = im.tx.ExecContext(im.ctx, im.sql.DropAliasesToDeleted)
	return err
}

// keepDeployedLive restores a deleted version that has an open deployment
// (one file deleted it while the other deployed it): deletion refuses
// deployed versions, and the result of a merge keeps to the same rule. What
// was deleted with the version comes back with it, and its deleted
// ancestors too; each restore is recorded, at the later of the deletion and
// the deployment.
func (im *importer) keepDeployedLive() error {
	var deployed []struct {
		Seq        int64  `db:"seq"`
		ID         string `db:"id"`
		DeletedAt  int64  `db:"deleted_at"`
		DeployedAt int64  `db:"deployed_at"`
	}
	if err := sqlx.SelectContext(im.ctx, im.tx, &deployed, im.sql.DeletedDeployed); err != nil {
		return err
	}
	for _, dv := range deployed {
		at := max(dv.DeletedAt, dv.DeployedAt)
		var seqs []int64
		if err := sqlx.SelectContext(im.ctx, im.tx, &seqs, im.sql.RestoreSet, dv.Seq, dv.DeletedAt); err != nil {
			return err
		}
		for _, seq := range seqs {
			var id string
			if err := im.get(&id, im.sql.ResourceID, seq); err != nil {
				return err
			}
			if _, err := im.exec(im.sql.ClearDeletedAt, seq); err != nil {
				return err
			}
			if _, err := im.note(derivedID(changeRestored, id, dv.ID, fmt.Sprint(at)), seq, at,
				changeRestored, "", nil, map[string]any{"root": dv.ID}); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasDeleted reports whether the database holds deleted resources, under
// which the file may have added live ones.
func (im *importer) hasDeleted() bool {
	var n int
	return im.get(&n, im.sql.HasDeleted) == nil && n > 0
}
