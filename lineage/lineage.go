// Package lineage walks metatrack's lineage graph: the resources table as
// nodes and the edges table as directed edges, data flowing from src to dst
// (dataset -version-> dataset_version -input-> model_version -child->
// experiment, promotion or prediction_job; model -version-> model_version;
// model_version -winning_experiment-> experiment).
//
// Every function takes a DB: a Queryer, so that the tracker can call it on
// its reader pool or inside one of its own transactions, with the texts of
// the statements in its engine's SQL (storage.LineageStatements, which each
// engine package writes); and resource seqs (the INTEGER keys of
// resources), not ids: the caller resolves ids and refs.
//
// Walk returns the resources reachable from one or many starts, upstream or
// downstream, with their shortest distance; ShortestPath returns one shortest
// path between two resources; Impact and Provenance are the two questions
// asked most often (what is deployed or predicting downstream of this, what
// data and experiments is this made of). A Graph is written as Graphviz DOT,
// Mermaid or JSON by its Write methods.
//
// The graph may contain cycles (edges are user data; nothing forbids linking
// an experiment back to a dataset version): every walk here terminates and
// reports each resource once, at its shortest distance.
package lineage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/metatrack/metatrack/storage"
)

// Sentinel errors, matched with errors.Is. They are this package's own
// because the root package, which imports lineage, cannot be imported by
// it; the tracker wraps them in its own sentinels where it exposes them
// (fmt.Errorf("%w: %w", ErrInvalidArgument, err) keeps both matchable).
var (
	// ErrInvalid: the options or arguments are malformed (no start, negative
	// depth or limit, unknown direction or strategy, a cursor that does not
	// parse, a graph to export whose edge names a node it does not hold or
	// that holds a node twice).
	ErrInvalid = errors.New("invalid lineage options")
	// ErrNotFound: a start, from or to resource seq is not in resources.
	ErrNotFound = errors.New("resource not found")
	// ErrNoPath: ShortestPath found no path within the options.
	ErrNoPath = errors.New("no lineage path")
)

// Queryer is what this package needs from a database or a transaction.
// *sql.DB, *sql.Tx, *sql.Conn, *sqlx.DB and *sqlx.Tx all satisfy it. Every
// function runs only reads through it.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// DB is a database or a transaction that holds a lineage graph, with the
// texts of the walks' statements in its engine's SQL.
type DB struct {
	// Q runs the statements.
	Q Queryer
	// SQL holds their texts: the LineageStatements of the engine's
	// storage.Statements (storage.Engine.SQL).
	SQL *storage.LineageStatements
}

var (
	_ Queryer = (*sql.DB)(nil)
	_ Queryer = (*sql.Tx)(nil)
	_ Queryer = (*sql.Conn)(nil)
	_ Queryer = (*sqlx.DB)(nil)
	_ Queryer = (*sqlx.Tx)(nil)
)

// Direction is the way a walk follows edges. It has no usable zero value:
// an unset Direction is rejected with ErrInvalid rather than guessed.
type Direction int

const (
	// Downstream follows edges from src to dst: where data went (from a
	// dataset version to the model versions trained on it and on to their
	// experiments and prediction jobs).
	Downstream Direction = iota + 1
	// Upstream follows edges from dst back to src: where data came from.
	Upstream
	// Both follows edges either way, as an undirected graph: the
	// neighbourhood of a resource.
	Both
)

// String returns "downstream", "upstream" or "both".
func (d Direction) String() string {
	switch d {
	case Downstream:
		return "downstream"
	case Upstream:
		return "upstream"
	case Both:
		return "both"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Directions are the valid directions, in the order of their values.
var Directions = []Direction{Downstream, Upstream, Both}

// MarshalText writes d as its name, so that JSON (the server's API, a
// saved walk) says "upstream" rather than a number. The zero Direction is
// written as "", which UnmarshalText reads back as zero.
func (d Direction) MarshalText() ([]byte, error) {
	if d == 0 {
		return nil, nil
	}
	for _, v := range Directions {
		if v == d {
			return []byte(d.String()), nil
		}
	}
	return nil, fmt.Errorf("%w: no such direction %s", ErrInvalid, d)
}

// UnmarshalText reads a direction's name ("downstream", "upstream",
// "both"); an empty text is the zero Direction, which a walk refuses.
func (d *Direction) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	for _, v := range Directions {
		if v.String() == string(b) {
			*d = v
			return nil
		}
	}
	return fmt.Errorf("%w: unknown direction %q: valid are downstream, upstream and both", ErrInvalid, b)
}

// Strategy is how Walk traverses. Both strategies return identical graphs;
// they differ only in speed.
type Strategy int

const (
	// Auto picks the strategy measured faster for the options and the
	// engine (see chooseStrategy and chooseFor). On an engine that
	// prefers its recursive statements (PostgreSQL) the level walk it
	// picks finds the depths in one recursive statement rather than one
	// a level, unless MaxNodes stops it early.
	Auto Strategy = iota
	// CTE runs the whole walk as one recursive common table expression
	// that also reads the row of every node reached, whatever the page.
	CTE
	// LevelWalk runs one query per level of the walk, the whole frontier
	// of the level bound as one JSON array parameter, over seqs alone, and
	// then reads the rows of the nodes it returns (those of the page).
	LevelWalk
)

// String returns "auto", "cte" or "levelwalk".
func (s Strategy) String() string {
	switch s {
	case Auto:
		return "auto"
	case CTE:
		return "cte"
	case LevelWalk:
		return "levelwalk"
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// Strategies are the valid strategies, in the order of their values.
var Strategies = []Strategy{Auto, CTE, LevelWalk}

// MarshalText writes s as its name ("auto", "cte", "levelwalk").
func (s Strategy) MarshalText() ([]byte, error) {
	for _, v := range Strategies {
		if v == s {
			return []byte(s.String()), nil
		}
	}
	return nil, fmt.Errorf("%w: no such strategy %s", ErrInvalid, s)
}

// UnmarshalText reads a strategy's name; an empty text is Auto.
func (s *Strategy) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Auto
		return nil
	}
	for _, v := range Strategies {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("%w: unknown strategy %q: valid are auto, cte and levelwalk", ErrInvalid, b)
}

// Options configure Walk.
type Options struct {
	// Direction is required.
	Direction Direction `json:"direction,omitempty"`
	// MaxDepth is the largest distance from a start to walk; 0 walks the
	// whole reachable graph.
	MaxDepth int `json:"max_depth"`
	// Relations, when not empty, are the only edge relations followed.
	Relations []string `json:"relations"`
	// ExcludeRelations are never followed; a relation in both lists is
	// excluded.
	ExcludeRelations []string `json:"exclude_relations"`
	// Types, when not empty, are the only resource types returned. The type
	// filter does not stop the walk: it goes on through resources of other
	// types (a walk from a dataset returning only experiments passes through
	// the dataset versions and model versions between them), and depths
	// stay the real distances in the whole graph. Use relation filters to
	// prune the walk itself.
	Types []string `json:"types"`
	// MaxNodes caps the walk: when more resources than this are reachable
	// (counted before the type filter), only the first MaxNodes in (depth,
	// seq) order are kept and Graph.Truncated is set. 0 is no cap. The
	// level walk stops expanding at the first level past the cap; the CTE
	// walks everything and then cuts, so Auto never picks it with a cap.
	MaxNodes int `json:"max_nodes"`
	// After, Offset and Limit page the returned nodes, which are sorted by
	// (depth, seq): nodes up to and including After are skipped, then
	// Offset more, and at most Limit are returned (0 is no limit).
	// Graph.Next is the After of the next page.
	After  *Cursor `json:"after"`
	Offset int     `json:"offset"`
	Limit  int     `json:"limit"`
	// Strategy picks the traversal; the result does not depend on it.
	Strategy Strategy `json:"strategy,omitempty"`
}

// Node is a resource reached by a walk.
type Node struct {
	Seq  int64  `json:"seq"`
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Version is the resource's number in its chain, 0 when NULL.
	Version int `json:"version"`
	// ParentRef is the unique reference of the parent of a resource that
	// is not a chain member and has one, "" otherwise (see Ref).
	ParentRef string `json:"parent_ref"`
	Status    string `json:"status"`
	// Depth is the shortest distance, in edges, from any start (0 for the
	// starts themselves) along the walk's direction and relations.
	Depth int `json:"depth"`
}

// Ref returns the unique reference of n: type/name@version for chain
// members, <parent ref>/type/name for other resources with a parent,
// type/name for roots (as metatrack.Resource.Ref).
func (n Node) Ref() string {
	switch {
	case n.Version != 0:
		return n.Type + "/" + n.Name + "@" + strconv.Itoa(n.Version)
	case n.ParentRef != "":
		return n.ParentRef + "/" + n.Type + "/" + n.Name
	}
	return n.Type + "/" + n.Name
}

// Edge is a lineage edge, always in its stored direction (data flows from
// Src to Dst) whatever the direction of the walk that found it.
type Edge struct {
	Src      int64  `json:"src"`
	Dst      int64  `json:"dst"`
	Relation string `json:"relation"`
}

// Graph is the result of a walk.
type Graph struct {
	// Nodes are sorted by (Depth, Seq).
	Nodes []Node `json:"nodes"`
	// Edges are every stored edge whose two ends are both in Nodes and whose
	// relation the options allow (the subgraph Nodes induce), sorted by the
	// positions of Src and then Dst in Nodes, then by Relation. That
	// includes edges the walk did not need, such as one closing a cycle
	// back to a start, and excludes edges to nodes the type filter dropped
	// or that are on other pages.
	Edges []Edge `json:"edges"`
	// Total is the number of nodes that passed the type filter, on all
	// pages.
	Total int `json:"total"`
	// Truncated is set when MaxNodes dropped reachable nodes.
	Truncated bool `json:"truncated"`
	// Next is the cursor of the following page, nil on the last one.
	Next *Cursor `json:"next"`
}

// Cursor is a position in the (depth, seq) order of a walk's nodes.
type Cursor struct {
	Depth int   `json:"depth"`
	Seq   int64 `json:"seq"`
}

// String encodes c as "depth.seq", for a command line or a URL.
func (c Cursor) String() string {
	return strconv.Itoa(c.Depth) + "." + strconv.FormatInt(c.Seq, 10)
}

// ParseCursor decodes what Cursor.String returned.
func ParseCursor(s string) (Cursor, error) {
	d, q, ok := strings.Cut(s, ".")
	depth, err1 := strconv.Atoi(d)
	seq, err2 := strconv.ParseInt(q, 10, 64)
	if !ok || err1 != nil || err2 != nil || depth < 0 {
		return Cursor{}, fmt.Errorf("%w: cursor %q is not depth.seq", ErrInvalid, s)
	}
	return Cursor{Depth: depth, Seq: seq}, nil
}

// before reports whether c sorts strictly before the place p.
func (c Cursor) before(p Cursor) bool {
	return p.Depth > c.Depth || p.Depth == c.Depth && p.Seq > c.Seq
}

// place returns n's place in the (depth, seq) order of a walk's nodes.
func (n Node) place() Cursor { return Cursor{Depth: n.Depth, Seq: n.Seq} }

// follow is the part of the options that decides which edges a traversal
// takes; Walk and ShortestPath share it.
type follow struct {
	dir      Direction
	maxDepth int // 0: unlimited
	include  []string
	exclude  []string
}

func (o Options) validate(starts []int64) error {
	switch {
	case len(starts) == 0:
		return fmt.Errorf("%w: no start resource", ErrInvalid)
	case o.MaxDepth < 0:
		return fmt.Errorf("%w: MaxDepth is %d, must be 0 (unlimited) or more", ErrInvalid, o.MaxDepth)
	case o.MaxNodes < 0:
		return fmt.Errorf("%w: MaxNodes is %d, must be 0 (no cap) or more", ErrInvalid, o.MaxNodes)
	case o.Offset < 0:
		return fmt.Errorf("%w: Offset is %d, must be 0 or more", ErrInvalid, o.Offset)
	case o.Limit < 0:
		return fmt.Errorf("%w: Limit is %d, must be 0 (no limit) or more", ErrInvalid, o.Limit)
	case o.Strategy < Auto || o.Strategy > LevelWalk:
		return fmt.Errorf("%w: unknown strategy %v", ErrInvalid, o.Strategy)
	}
	return validDirection(o.Direction)
}

func validDirection(d Direction) error {
	if d < Downstream || d > Both {
		if d == 0 {
			return fmt.Errorf("%w: Direction is not set (Downstream, Upstream or Both)", ErrInvalid)
		}
		return fmt.Errorf("%w: unknown direction %v", ErrInvalid, d)
	}
	return nil
}

// jsonInts encodes seqs as a JSON array, the form in which a set of seqs is
// bound to one parameter (see storage.LineageStatements).
func jsonInts(seqs []int64) string {
	b := make([]byte, 0, 2+len(seqs)*8)
	b = append(b, '[')
	for i, s := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return string(append(b, ']'))
}

// jsonRuns encodes seqs, sorted and without duplicates, as a set bound by
// runs (see storage.LineageStatements): a JSON array of the seqs where each
// run of at least minRun consecutive seqs is the pair [first, last].
// 1,2,3,4,7,8 is [[1,4],7,8].
func jsonRuns(seqs []int64) string {
	b := make([]byte, 0, 2+len(seqs)*4)
	b = append(b, '[')
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		if j-i+1 < minRun {
			for k := i; k <= j; k++ {
				if k > i {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, seqs[k], 10)
			}
		} else {
			b = append(b, '[')
			b = strconv.AppendInt(b, seqs[i], 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, seqs[j], 10)
			b = append(b, ']')
		}
		i = j + 1
	}
	return string(append(b, ']'))
}

// minRun is the shortest run that jsonRuns writes as a pair. A seq costs a
// probe of the index; a pair costs one probe and parsing the pair, about
// what a second probe costs (on SQLite), so two seqs stay two seqs.
const minRun = 3

// jsonStrings encodes ss as a JSON array of strings.
func jsonStrings(ss []string) string {
	b, err := json.Marshal(ss)
	if err != nil {
		panic(err) // a []string always marshals
	}
	return string(b)
}
