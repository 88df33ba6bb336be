package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// References
//
// A reference names a resource by its type and name instead of its id:
//
//	ref   = step { "/" step } .
//	step  = type "/" name [ "@" ( version | "latest" | alias ) ] .
//
// One step names resources anywhere: type/name@N (or @latest, @alias) a
// member of a chain, type/name of a chain type its latest member, and
// type/name of any other type the resources of that type and name. Each
// further step names a child of what the steps before it name, so
// model_version/titanic_model@2/experiment/trial-1 is the experiment
// trial-1 of that version. A name may hold slashes: every way of reading
// the reference is tried, and all the resources they name count.
//
// A reference resolves only when it names exactly one resource; more is
// ErrAmbiguous (an *AmbiguousError listing them), none ErrNotFound. One
// exception makes every Ref unique: when type/name names a root (a
// resource without parent) and other resources too, it is the root, since
// the others' Refs are qualified by their parents.

// maxCandidates is how many resources an ambiguous reference lists.
const maxCandidates = 20

// maxRefSteps caps the steps of a reference, as the walk that writes
// parent references does; maxRefSlashes caps its slashes, names' included,
// so that reading every split stays cheap.
const (
	maxRefSteps   = 64
	maxRefSlashes = 256
)

// resolveRef returns the one resource that the reference key (parsed as r)
// names, or ErrAmbiguous, ErrNotFound or the reference's own error. It is
// the single place where references become resources: every lookup by
// reference (GetResource, parents, lineage, queries) goes through it.
func (x *txn) resolveRef(ctx context.Context, key string, r ref, perr error) (resourceRow, error) {
	if n := strings.Count(key, "/"); n > maxRefSlashes {
		return resourceRow{}, fmt.Errorf("%w: reference %.40q... has %d slashes, the limit is %d", ErrInvalidArgument, key, n, maxRefSlashes)
	}
	rows, err := x.refCandidates(ctx, key, map[string]refResult{}, 0)
	switch {
	case len(rows) == 1:
		return rows[0], nil
	case len(rows) > 1:
		return resourceRow{}, x.ambiguous(ctx, key, rows)
	case err != nil:
		return resourceRow{}, err
	case perr != nil:
		return resourceRow{}, perr
	}
	return resourceRow{}, x.notFound(ctx, key, r, true)
}

// refResult memoizes the candidates of a prefix of a reference.
type refResult struct {
	rows []resourceRow
	err  error
}

// refCandidates returns the resources key names, read every way (see
// References), at most maxCandidates+1, in seq order. err is the first
// error of a reading that found nothing (an unknown alias), for when no
// reading finds anything; database errors end the search.
func (x *txn) refCandidates(ctx context.Context, key string, memo map[string]refResult, depth int) ([]resourceRow, error) {
	if res, ok := memo[key]; ok {
		return res.rows, res.err
	}
	var (
		out   []resourceRow
		seen  = map[int64]bool{}
		first error
	)
	add := func(rows ...resourceRow) {
		for _, row := range rows {
			if !seen[row.Seq] && len(out) <= maxCandidates {
				seen[row.Seq] = true
				out = append(out, row)
			}
		}
	}
	// One step: type/name[@...] anywhere.
	if r, isRef, err := parseRef(key); isRef && err == nil {
		rows, err := x.stepAnywhere(ctx, key, r)
		if isDBError(err) {
			return nil, err
		}
		if err != nil && first == nil {
			first = err
		}
		add(rows...)
	} else if err != nil {
		first = err
	}
	// More steps: <prefix>/type/name[@...], the last step a child.
	if depth < maxRefSteps {
		for i := 0; i < len(key); i++ {
			if key[i] != '/' || !strings.Contains(key[:i], "/") {
				continue
			}
			r, isRef, err := parseRef(key[i+1:])
			if !isRef || err != nil {
				continue
			}
			parents, err := x.refCandidates(ctx, key[:i], memo, depth+1)
			if isDBError(err) {
				return nil, err
			}
			for _, p := range parents {
				rows, err := x.stepUnder(ctx, p, r)
				if err != nil {
					return nil, err
				}
				add(rows...)
			}
		}
	}
	memo[key] = refResult{out, first}
	return out, first
}

// isDBError reports whether err is an error of the database rather than
// of the reference.
func isDBError(err error) bool {
	return err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrAmbiguous)
}

// stepAnywhere returns the resources one step names, whatever their parent.
func (x *txn) stepAnywhere(ctx context.Context, key string, r ref) ([]resourceRow, error) {
	var row resourceRow
	var err error
	_, chain := ChainHead(r.typ)
	switch {
	case r.version > 0:
		err = x.get(ctx, &row, x.sql.ResourceByVer, r.typ, r.name, r.version)
	case r.alias != "":
		row, err = x.resolveAlias(ctx, key, r)
		if err != nil {
			return nil, err
		}
	case chain:
		err = x.get(ctx, &row, x.sql.ResourceLatestVersion, r.typ, r.name)
	default:
		var rows []resourceRow
		if err := x.sel(ctx, &rows, x.sql.ByTypeName, r.typ, r.name); err != nil {
			return nil, err
		}
		if len(rows) > 1 {
			// A root's Ref is type/name: it is what type/name names when
			// it has namesakes under parents.
			var roots []resourceRow
			for _, c := range rows {
				if !c.ParentSeq.Valid {
					roots = append(roots, c)
				}
			}
			if len(roots) == 1 {
				return roots, nil
			}
		}
		return rows, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []resourceRow{row}, nil
}

// stepUnder returns the children of p that the step r names.
func (x *txn) stepUnder(ctx context.Context, p resourceRow, r ref) ([]resourceRow, error) {
	var row resourceRow
	var err error
	_, chain := ChainHead(r.typ)
	switch {
	case r.alias != "":
		// An alias names a chain member by its chain, not by a parent.
		return nil, nil
	case r.version > 0:
		err = x.get(ctx, &row, x.sql.ChildVersion, p.Seq, r.typ, r.name, r.version)
	case chain:
		err = x.get(ctx, &row, x.sql.ChildLatestVer, p.Seq, r.typ, r.name)
	default:
		err = x.get(ctx, &row, x.sql.ChildByName, p.Seq, r.typ, r.name)
		if err == nil && row.DeletedAt.Valid {
			// x.sql.ChildByName finds deleted children too, which hold
			// their names; references name only live ones.
			err = sql.ErrNoRows
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []resourceRow{row}, nil
}

// AmbiguousError is the error of a reference that names more than one
// resource. It matches ErrAmbiguous.
type AmbiguousError struct {
	// Ref is the reference as given.
	Ref string
	// Candidates are the resources it names, oldest first, each with its
	// unique Ref (at most 20; More says how many were left out).
	Candidates []Resource
	More       bool
}

// Error lists the candidates, one a line, with their unique references,
// parents and creation times (UTC).
func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: reference %q names %d resources", ErrAmbiguous, e.Ref, len(e.Candidates))
	if e.More {
		b.WriteString(" or more")
	}
	b.WriteString("; use one of these references:")
	for _, c := range e.Candidates {
		parent := "no parent"
		if c.ParentRef != "" {
			parent = "parent " + c.ParentRef
		}
		fmt.Fprintf(&b, "\n  %s  (%s, created %s)", c.Ref(), parent, c.CreatedAt.UTC().Format("2006-01-02 15:04:05"))
	}
	return b.String()
}

// Unwrap makes errors.Is match ErrAmbiguous.
func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

func (x *txn) ambiguous(_ context.Context, key string, rows []resourceRow) error {
	e := &AmbiguousError{Ref: key}
	if len(rows) > maxCandidates {
		rows, e.More = rows[:maxCandidates], true
	}
	for _, r := range rows {
		e.Candidates = append(e.Candidates, r.resource())
	}
	return e
}
