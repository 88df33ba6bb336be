package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/metatrack/metatrack/lineage"
)

// ErrNoPath: ShortestPath found no path between the two resources.
var ErrNoPath = lineage.ErrNoPath

// Lineage walks the lineage graph from the start resources (ids, references
// or Resource values) in opts.Direction (lineage.Upstream: what they were made
// from; lineage.Downstream: what was made from them), to opts.MaxDepth hops
// (0: all), and returns the subgraph: nodes with their shortest distance and
// the edges among them. It is cycle-safe. See lineage.Options for relation
// and type filters, node caps and paging.
func (t *Tracker) Lineage(ctx context.Context, starts []Resource, opts lineage.Options) (*lineage.Graph, error) {
	var g *lineage.Graph
	err := t.read(ctx, func(x *txn) error {
		seqs, err := x.seqsOf(ctx, starts)
		if err != nil {
			return err
		}
		g, err = lineage.Walk(ctx, x.lineage(), seqs, opts)
		return lineageErr(err)
	})
	return g, err
}

// Upstream returns everything res was made from, to depth hops (0: all).
func (t *Tracker) Upstream(ctx context.Context, res Resource, depth int) (*lineage.Graph, error) {
	return t.Lineage(ctx, []Resource{res}, lineage.Options{Direction: lineage.Upstream, MaxDepth: depth})
}

// Downstream returns everything made from res, to depth hops (0: all).
func (t *Tracker) Downstream(ctx context.Context, res Resource, depth int) (*lineage.Graph, error) {
	return t.Lineage(ctx, []Resource{res}, lineage.Options{Direction: lineage.Downstream, MaxDepth: depth})
}

// ShortestPath returns a shortest lineage path from one resource to another,
// or ErrNoPath.
func (t *Tracker) ShortestPath(ctx context.Context, from, to Resource, opts lineage.PathOptions) (*lineage.Path, error) {
	var p *lineage.Path
	err := t.read(ctx, func(x *txn) error {
		seqs, err := x.seqsOf(ctx, []Resource{from, to})
		if err != nil {
			return err
		}
		p, err = lineage.ShortestPath(ctx, x.lineage(), seqs[0], seqs[1], opts)
		return lineageErr(err)
	})
	return p, err
}

// Impact answers "what depends on this?": every deployed model version and
// every prediction job downstream of res (typically a dataset version).
func (t *Tracker) Impact(ctx context.Context, res Resource) (*lineage.ImpactReport, error) {
	var r *lineage.ImpactReport
	err := t.read(ctx, func(x *txn) error {
		seqs, err := x.seqsOf(ctx, []Resource{res})
		if err != nil {
			return err
		}
		r, err = lineage.Impact(ctx, x.lineage(), seqs[0], lineage.Options{})
		return lineageErr(err)
	})
	return r, err
}

// Provenance answers "what is this made of?": every dataset version and
// experiment upstream of res (typically a prediction job or model version),
// with the runs that created them.
func (t *Tracker) Provenance(ctx context.Context, res Resource) (*lineage.ProvenanceReport, error) {
	var r *lineage.ProvenanceReport
	err := t.read(ctx, func(x *txn) error {
		seqs, err := x.seqsOf(ctx, []Resource{res})
		if err != nil {
			return err
		}
		r, err = lineage.Provenance(ctx, x.lineage(), seqs[0], lineage.Options{})
		return lineageErr(err)
	})
	return r, err
}

func (x *txn) seqsOf(ctx context.Context, rs []Resource) ([]int64, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("%w: no start resource", ErrInvalidArgument)
	}
	seqs := make([]int64, len(rs))
	for i, r := range rs {
		// An id is one index probe for the seq alone; a reference, or an
		// id that names no live resource (for the error), is resolved.
		if r.ID != "" && !strings.Contains(r.ID, "/") {
			err := x.get(ctx, &seqs[i], x.sql.SeqByID, r.ID)
			if err == nil {
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
		row, err := x.resolveRes(ctx, r)
		if err != nil {
			return nil, err
		}
		seqs[i] = row.Seq
	}
	return seqs, nil
}

// lineage returns the graph as the lineage walks see it: x's transaction,
// its fixed statements run as the engine's cached prepared statements, and
// their texts in the engine's SQL.
func (x *txn) lineage() lineage.DB {
	return lineage.DB{Q: x.cached(), SQL: &x.sql.LineageStatements}
}

func lineageErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, lineage.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	case errors.Is(err, lineage.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
