package sqlite

import (
	"strconv"
	"strings"

	"github.com/metatrack/metatrack/storage"
)

// lineageSQL holds the SQLite texts of the lineage walks. A set of seqs or
// strings is read from its JSON array with json_each; a unary + steers the
// planner away from an index (see NodesTyped).
var lineageSQL = storage.LineageStatements{
	Level:      lineageLevel,
	PathLevel:  lineagePathLevel,
	Walk:       lineageWalk,
	EdgesAmong: lineageEdgesAmong,
	Nodes:      lineageNodes,
	// NodesTyped: + keeps the planner on the seqs rather than an index on
	// type.
	NodesTyped: lineageNodes + lineageTyped,
	NodeTypes:  "SELECT seq, type FROM resources WHERE seq IN (SELECT value FROM json_each(?1))",
	OpenDeployments: "SELECT model_version_seq, environment FROM deployments" +
		" WHERE undeployed_at IS NULL AND model_version_seq IN (SELECT value FROM json_each(?1))" +
		" ORDER BY model_version_seq, environment",
	RunsOf: "SELECT r.seq, u.seq, u.id, u.name, u.status FROM resources AS r JOIN runs AS u ON u.seq = r.run_seq" +
		" WHERE r.seq IN (SELECT value FROM json_each(?1))",
	LevelRuns:     lineageLevelRuns,
	PathLevelRuns: lineagePathLevelRuns,
	NodesRuns:     lineageNodesRuns,
	// NodesTypedRuns: reading a run of rows and dropping those of other
	// types costs less than one probe of an index on type per row kept.
	NodesTypedRuns: lineageNodesRuns + lineageTyped,
}

// The node rows: the columns of a node, from resources AS r with its parent
// joined as p, so that a parent that is a chain member or a root gives its
// reference without a walk up the tree.
var (
	lineageNodeCols   = "r.seq, r.id, r.type, r.name, r.version, r.status, " + ParentRefSQL("r", "p")
	lineageParentJoin = " LEFT JOIN resources AS p ON p.seq = r.parent_seq"
	lineageNodes      = "SELECT " + lineageNodeCols + " FROM resources AS r" + lineageParentJoin +
		" WHERE r.seq IN (SELECT value FROM json_each(?1))"
	lineageTyped = " AND (+r.type IN (SELECT value FROM json_each(?2)) OR r.seq IN (SELECT value FROM json_each(?3)))"
	// lineageNodesRuns reads each run of ?1 as one range of the table
	// (CROSS JOIN keeps json_each the outer loop).
	lineageNodesRuns = "SELECT " + lineageNodeCols + " FROM json_each(?1) AS j CROSS JOIN resources AS r" + lineageParentJoin +
		" WHERE " + lineageInRun("r.seq", "j")
)

// lineageInRun is the condition that col is the seq of the row j of
// json_each over a set bound by runs, or lies in its run [first, last]:
// one range of an index on col. A seq is its own atom; a run's bounds are
// read from its pair (atom is NULL for an array), which costs parsing it,
// so a seq alone costs no more than in an IN list.
func lineageInRun(col, j string) string {
	return col + " BETWEEN coalesce(" + j + ".atom, " + j + ".value ->> 0) AND coalesce(" + j + ".atom, " + j + ".value ->> 1)"
}

// lineageLevel is LineageStatements.Level.
func lineageLevel(f storage.LineageFollow) string {
	rel := lineageRelations(f, "e.relation", 2)
	var parts []string
	if f.Downstream {
		parts = append(parts, "SELECT e.dst_seq FROM edges AS e WHERE e.src_seq IN (SELECT value FROM json_each(?1))"+rel+lineageLive("e.dst_seq"))
	}
	if f.Upstream {
		parts = append(parts, "SELECT e.src_seq FROM edges AS e WHERE e.dst_seq IN (SELECT value FROM json_each(?1))"+rel+lineageLive("e.src_seq"))
	}
	return strings.Join(parts, " UNION ALL ")
}

// lineageLevelRuns is LineageStatements.LevelRuns: each run of the frontier
// is one range of the edges' primary key (downstream) or of edges_dst
// (upstream), and group_concat makes the level one row.
func lineageLevelRuns(f storage.LineageFollow) string {
	parts := lineageRunSteps(f, func(_, far string) string { return far + " AS seq" })
	return "SELECT group_concat(seq) FROM (" + strings.Join(parts, " UNION ALL ") + ")"
}

// lineagePathLevelRuns is LineageStatements.PathLevelRuns: PathLevel's
// rows, each run of the frontier one range of an index as in LevelRuns.
func lineagePathLevelRuns(f storage.LineageFollow) string {
	return strings.Join(lineageRunSteps(f, func(near, far string) string {
		forward := "1"
		if near == "e.dst_seq" {
			forward = "0"
		}
		return near + ", " + far + ", e.relation, " + forward
	}), " UNION ALL ")
}

// lineageRunSteps returns a SELECT for each direction of f: over the edges
// whose near end lies in a run of the frontier ?1 (see lineageInRun) and
// whose far end is live, under f's relation conditions (bound from ?2), the
// columns sel(near end, far end).
func lineageRunSteps(f storage.LineageFollow, sel func(near, far string) string) []string {
	rel := lineageRelations(f, "e.relation", 2)
	var parts []string
	step := func(near, far string) {
		parts = append(parts, "SELECT "+sel(near, far)+" FROM json_each(?1) AS j CROSS JOIN edges AS e WHERE "+
			lineageInRun(near, "j")+rel+lineageLive(far))
	}
	if f.Downstream {
		step("e.src_seq", "e.dst_seq")
	}
	if f.Upstream {
		step("e.dst_seq", "e.src_seq")
	}
	return parts
}

// lineagePathLevel is LineageStatements.PathLevel.
func lineagePathLevel(f storage.LineageFollow) string {
	rel := lineageRelations(f, "e.relation", 2)
	var parts []string
	if f.Downstream {
		parts = append(parts, "SELECT e.src_seq, e.dst_seq, e.relation, 1 FROM edges AS e WHERE e.src_seq IN (SELECT value FROM json_each(?1))"+rel+lineageLive("e.dst_seq"))
	}
	if f.Upstream {
		parts = append(parts, "SELECT e.dst_seq, e.src_seq, e.relation, 0 FROM edges AS e WHERE e.dst_seq IN (SELECT value FROM json_each(?1))"+rel+lineageLive("e.src_seq"))
	}
	return strings.Join(parts, " UNION ALL ")
}

// lineageWalk is LineageStatements.Walk: a recursive CTE over (seq, depth)
// rows, with one recursive step a direction (SQLite takes several), whose
// UNION drops a row already produced; the outer query keeps each seq's
// shortest depth and joins its row. One start is bound as it is: json_each
// parses.
func lineageWalk(f storage.LineageFollow, oneStart bool) string {
	seed := "SELECT value, 0 FROM json_each(?1)"
	if oneStart {
		seed = "SELECT ?1, 0"
	}
	rel := lineageRelations(f, "e.relation", 3)
	var steps []string
	if f.Downstream {
		steps = append(steps, "SELECT e.dst_seq, w.depth + 1 FROM walk AS w JOIN edges AS e ON e.src_seq = w.seq WHERE w.depth < ?2"+rel+lineageLive("e.dst_seq"))
	}
	if f.Upstream {
		steps = append(steps, "SELECT e.src_seq, w.depth + 1 FROM walk AS w JOIN edges AS e ON e.dst_seq = w.seq WHERE w.depth < ?2"+rel+lineageLive("e.src_seq"))
	}
	return "WITH RECURSIVE walk(seq, depth) AS (" + seed + " UNION " + strings.Join(steps, " UNION ") + ")" +
		" SELECT " + lineageNodeCols + ", w.depth" +
		" FROM (SELECT seq, min(depth) AS depth FROM walk GROUP BY seq) AS w JOIN resources AS r ON r.seq = w.seq" + lineageParentJoin
}

// lineageEdgesAmong is LineageStatements.EdgesAmong.
func lineageEdgesAmong(f storage.LineageFollow) string {
	return "SELECT e.src_seq, e.dst_seq, e.relation FROM edges AS e" +
		" WHERE e.src_seq IN (SELECT value FROM json_each(?1)) AND e.dst_seq IN (SELECT value FROM json_each(?1))" +
		lineageRelations(f, "e.relation", 2)
}

// lineageLive returns the condition that the resource seq col is not
// deleted. The subquery reads the partial index resources_deleted once per
// statement.
func lineageLive(col string) string {
	return " AND " + col + " NOT IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)"
}

// lineageRelations returns the conditions on the relation column col that
// f's relation lists ask for ("" when none), the first list bound as ?n.
func lineageRelations(f storage.LineageFollow, col string, n int) string {
	var b strings.Builder
	if f.Relations {
		b.WriteString(" AND " + col + " IN (SELECT value FROM json_each(?" + strconv.Itoa(n) + "))")
		n++
	}
	if f.ExcludeRelations {
		b.WriteString(" AND " + col + " NOT IN (SELECT value FROM json_each(?" + strconv.Itoa(n) + "))")
	}
	return b.String()
}
