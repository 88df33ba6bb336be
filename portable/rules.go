package portable

import (
	"github.com/jmoiron/sqlx"

	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/metatrack/metatrack/rules"
)

// The checks of an import that span records: the rules of package rules
// about how resources hang together (version chains, winners, the
// endpoints of edges), checked against what the file and the database
// hold together.

// metadataWinner is the metadata key that names a model version's winning
// experiment; the tracker accepts only an experiment of that version.
const metadataWinner = "winning_experiment_id"

// touchChain remembers that the file holds a member of chain k, and the
// first line that does, for the check at the end.
func (im *importer) touchChain(k chainKey) {
	if _, ok := im.touched[k]; !ok {
		im.touched[k] = im.lr.line
	}
}

// winnerMetadata checks winning_experiment_id on the resource seq: on a
// model version it must be a string, and if it names a resource of the
// file or the database, one of the version's experiments.
func (im *importer) winnerMetadata(seq int64, value json.RawMessage) error {
	var typ string
	if err := im.get(&typ, im.sql.ResourceType, seq); err != nil {
		return err
	}
	if typ != rules.TypeModelVersion {
		return nil
	}
	var id string
	if err := json.Unmarshal(value, &id); err != nil {
		return im.ruleErr(fmt.Errorf("%w: %s of a model_version must be an experiment id (a string)", rules.ErrInvalidArgument, metadataWinner))
	}
	// A filtered export may leave the experiment out (it carries the
	// winner edge only with both ends); a resource it names that is here
	// must be an experiment of this version.
	exp, ok := im.aliases[id]
	if !ok {
		found, err := found(im.get(&exp, im.sql.ResourceSeq, id))
		if err != nil || !found {
			return err
		}
	}
	return im.experimentOf(seq, exp, metadataWinner+" "+id)
}

// experimentOf checks that exp is an experiment of the model version mv,
// or of a sweep (a trial run before the model version existed).
func (im *importer) experimentOf(mv, exp int64, what string) error {
	var e struct {
		Type       string        `db:"type"`
		Name       string        `db:"name"`
		ParentSeq  sql.NullInt64 `db:"parent_seq"`
		ParentType string        `db:"parent_type"`
	}
	if err := im.get(&e, im.sql.ExperimentShape, exp); err != nil {
		return err
	}
	if e.Type != rules.TypeExperiment || !e.ParentSeq.Valid || (e.ParentSeq.Int64 != mv && e.ParentType != rules.TypeSweep) {
		return im.ruleErr(fmt.Errorf("%w: %s: the %s %q is not an experiment of this model_version, nor of a sweep", rules.ErrInvalidArgument, what, e.Type, e.Name))
	}
	return nil
}

// edgeShape checks the endpoints of an edge: never a resource to itself;
// a version edge from a chain member's head to it; a winning experiment
// from a model version to one of its experiments.
func (im *importer) edgeShape(src, dst int64, r edgeRec) error {
	if src == dst {
		return im.ruleErr(rules.NotSelf(r.Src, r.Dst))
	}
	switch r.Relation {
	case rules.RelationVersion:
		var d resRow
		if err := im.get(&d, im.sql.ResourceRowBySeq, dst); err != nil {
			return err
		}
		if _, chain := rules.ChainHead(d.Type); !chain || !d.Version.Valid || d.ParentSeq.Int64 != src {
			return im.ruleErr(fmt.Errorf("%w: a version edge from %s to %s, which is not a version of it", rules.ErrInvalidArgument, r.Src, r.Dst))
		}
	case rules.RelationWinningExperiment:
		var typ string
		if err := im.get(&typ, im.sql.ResourceType, src); err != nil {
			return err
		}
		if typ != rules.TypeModelVersion {
			return im.ruleErr(fmt.Errorf("%w: a winning_experiment edge from a %s, not a model_version", rules.ErrInvalidArgument, typ))
		}
		return im.experimentOf(src, dst, "winning_experiment edge to "+r.Dst)
	}
	return nil
}

func (im *importer) historyRules(r historyRec) error {
	var oldV, newV []byte
	if r.Old != nil {
		oldV = r.Old
	}
	if r.New != nil {
		newV = r.New
	}
	if err := rules.Text("history actor", r.Actor, rules.MaxNameBytes, true); err != nil {
		return err
	}
	return rules.History(r.ID, r.Change, r.Key, oldV, newV)
}

// checkChains checks, after renumbering, every chain the file holds a
// member of as the tracker keeps it: numbered 1..n, each member under its
// chain head with the version edge from it. A file whose chains arrive
// with gaps (a chain that starts at 3, or jumps from 1 to 5) is refused
// here, naming the line of the chain's first member in the file.
func (im *importer) checkChains() error {
	keys := sortedChainKeys(im.touched)
	for _, k := range keys {
		fail := func(format string, args ...any) error {
			return &LineError{Line: im.touched[k], Kind: KindResource, Row: fmt.Sprintf("type %s, name %q", k.typ, k.name),
				Err: fmt.Errorf("chain %s/%s: %w", k.typ, k.name, fmt.Errorf(format, args...))}
		}
		var members []struct {
			ID      string `db:"id"`
			Version int64  `db:"version"`
			Shape   bool   `db:"shape"`
		}
		err := im.tx.Select(im.ctx, &members, im.sql.ChainShape, k.typ, k.name)
		if err != nil {
			return err
		}
		// Purged members keep their numbers taken.
		var versions []int64
		if err := sqlx.SelectContext(im.ctx, im.tx, &versions, im.sql.PurgedVersions, k.typ, k.name); err != nil {
			return err
		}
		for _, m := range members {
			versions = append(versions, m.Version)
		}
		slices.Sort(versions)
		if err := rules.ChainNumbers(versions); err != nil {
			return fail("%w (a file's chains must be numbered 1..n without gaps)", err)
		}
		for _, m := range members {
			if !m.Shape {
				return fail("%w: version %d (%s) lacks the version edge from its chain head", rules.ErrInvalidArgument, m.Version, m.ID)
			}
		}
	}
	return nil
}
