package storage

// LineageFollow is what a statement of the lineage walks follows from the
// resources it is given: which way along the edges, and which lists of
// relations it binds. The statements that take one are built for it, since
// an engine's planner does best with a text that names only the conditions
// it applies.
type LineageFollow struct {
	// Downstream follows edges from src to dst, Upstream from dst to src;
	// a walk in both directions sets both.
	Downstream, Upstream bool
	// Relations: the statement binds the only relations followed, as a
	// JSON array of strings. ExcludeRelations: it binds the relations never
	// followed, after Relations' list when both are set.
	Relations, ExcludeRelations bool
}

// LineageStatements are the statements of the lineage walks (package
// lineage): the resources table as nodes, the edges table as edges. A set
// of seqs or of strings is bound as one argument, a JSON array as text.
// Deleted resources (deleted_at set) are not part of the graph: the walks
// neither reach them nor pass through them. A node row is (seq, id, type,
// name, version, status, parent reference), the parent reference being
// that of ResourceStatements' rows (NULL for a chain member or a root).
type LineageStatements struct {
	// Level reads one level of a breadth-first walk: the seq of every live
	// resource one edge that f follows away from a resource of the
	// frontier (a seq may come more than once). Args: ?1 the frontier (JSON
	// seqs), then the relation lists f binds (?2, ?3).
	Level func(f LineageFollow) string
	// PathLevel reads one level of a shortest path search: (near, far,
	// relation, forward) for every edge that f follows from a resource of
	// the frontier (near) to a live resource (far); forward is 1 when the
	// edge points from near to far, 0 when it points back. Args: as Level.
	PathLevel func(f LineageFollow) string
	// Walk walks from the starts to a depth in one recursive statement and
	// returns the node row of every resource reached, followed by its
	// shortest depth, in no order. Args: ?1 the starts (one seq when
	// oneStart, else JSON seqs), ?2 the largest depth, then the relation
	// lists f binds (?3, ?4).
	Walk func(f LineageFollow, oneStart bool) string
	// EdgesAmong lists (src, dst, relation) of the edges whose two ends are
	// in a set of seqs and whose relation f's lists allow (its directions
	// do not matter), in no order. Args: ?1 the seqs (JSON), then the
	// relation lists f binds (?2, ?3).
	EdgesAmong func(f LineageFollow) string
	// Nodes reads the node rows of a set of seqs, in no order; a seq that
	// is not a resource has none. Args: ?1 the seqs (JSON).
	Nodes string
	// NodesTyped is Nodes keeping only the resources of some types and the
	// starts. Args: ?1 the seqs (JSON), ?2 the types (JSON strings), ?3 the
	// starts (JSON seqs).
	NodesTyped string
	// NodeTypes reads (seq, type) of a set of seqs. Args: ?1 the seqs
	// (JSON).
	NodeTypes string
	// OpenDeployments lists (model version seq, environment) of the open
	// deployments (undeployed_at NULL) of a set of model versions, sorted
	// by both. Args: ?1 the model version seqs (JSON).
	OpenDeployments string
	// RunsOf lists (resource seq, run seq, run id, run name, run status)
	// for each of a set of resources created in a run. Args: ?1 the
	// resource seqs (JSON).
	RunsOf string

	// The statements below fold the work of several of those above into
	// one, for an engine where each statement costs a round trip to a
	// server (PostgreSQL); an engine without them leaves them nil, and the
	// walks run the statements above instead. Each is named in the walk
	// that uses it (package lineage).

	// Depths walks as Walk does and returns (seq, shortest depth) of every
	// resource reached, without its row, in no order. Args: as Walk.
	Depths func(f LineageFollow, oneStart bool) string `storage:"optional"`
	// WalkEdges is Walk and EdgesAmong of its nodes in one statement. Each
	// row is a node row of Walk (its depth included) followed by (dst,
	// relation), both NULL; or an edge among the nodes: (src, '', '', '',
	// NULL, '', NULL, 0, dst, relation). Args: as Walk.
	WalkEdges func(f LineageFollow, oneStart bool) string `storage:"optional"`
	// NodesEdges is Nodes and EdgesAmong of the same seqs in one
	// statement. Each row is a node row followed by (dst, relation), both
	// NULL; or an edge: (src, '', '', '', NULL, '', NULL, dst, relation).
	// Args: ?1 the seqs (JSON), then the relation lists f binds (?2, ?3).
	NodesEdges func(f LineageFollow) string `storage:"optional"`
	// PreferRecursive tells the Auto strategy that the engine runs a walk
	// faster in one recursive statement (Walk, WalkEdges, Depths) than in
	// one statement a level, at every depth and in every direction,
	// wherever the options allow one: on PostgreSQL each level's round
	// trip costs more than the recursive statement expanding a resource
	// once per length of path that reaches it.
	PreferRecursive bool `storage:"optional"`

	// The run forms below are optional too, for an engine whose cost is
	// the probes of its indexes (SQLite): one that sets them reads a set
	// of seqs by its runs, and the walks then use them instead of Level,
	// PathLevel, Nodes and NodesTyped. The set is bound as a JSON array, ascending, of its seqs
	// where each run of three or more consecutive seqs is written as the
	// pair [first, last] (the set 1,2,3,4,7,8 is [[1,4],7,8]); a pair is one
	// range of an index. Resources created together (a model version and
	// its experiments, a dataset and its versions) have consecutive seqs,
	// so a level of a walk or the rows of the nodes it reached are a few
	// ranges rather than one probe of the index per seq.

	// LevelRuns is Level with ?1 the runs of the frontier, returning one
	// row: the seqs reached, comma-separated (a seq may come more than
	// once), or NULL when there are none. One row rather than a row a seq:
	// the rows are most of what a level costs.
	LevelRuns func(f LineageFollow) string `storage:"optional"`
	// PathLevelRuns is PathLevel with ?1 the runs of the frontier.
	PathLevelRuns func(f LineageFollow) string `storage:"optional"`
	// NodesRuns is Nodes with ?1 the runs of the seqs.
	NodesRuns string `storage:"optional"`
	// NodesTypedRuns is NodesTyped with ?1 the runs of the seqs (?2 the
	// types and ?3 the starts as in NodesTyped).
	NodesTypedRuns string `storage:"optional"`
}
