package postgres

import (
	"strconv"
	"strings"

	"github.com/metatrack/metatrack/storage"
)

// lineageSQL holds the PostgreSQL texts of the lineage walks. A set of
// seqs, bound as a JSON array, becomes an array once per statement (an
// InitPlan: ARRAY(SELECT ...)), and col = ANY of it is one index scan for
// the whole set. Casting the text itself to bigint[] in the condition, as
// translate(?, '[]', '{}')::bigint[], was fast in a custom plan, where the
// cast folds to a constant, and slow in the generic plan that pgx's cached
// statements reach after five runs, where it does not: walks downstream
// took 6 to 15 times the hand-written SQL's time in the benchmarks, against
// about 1 now. A set of strings (relations, types) is
// read from its JSON array with jsonb_array_elements_text.
var lineageSQL = storage.LineageStatements{
	Level:           lineageLevel,
	PathLevel:       lineagePathLevel,
	Walk:            lineageWalk,
	EdgesAmong:      lineageEdgesAmong,
	Nodes:           lineageNodes,
	NodesTyped:      lineageNodes + " AND (r.type IN (SELECT value FROM jsonb_array_elements_text(?2::jsonb)) OR r.seq = " + lineageSeqs("?3") + ")",
	NodeTypes:       "SELECT seq, type FROM resources WHERE seq = " + lineageSeqs("?1"),
	OpenDeployments: "SELECT model_version_seq, environment FROM deployments WHERE undeployed_at IS NULL AND model_version_seq = " + lineageSeqs("?1") + " ORDER BY model_version_seq, environment",
	RunsOf:          "SELECT r.seq, u.seq, u.id, u.name, u.status FROM resources AS r JOIN runs AS u ON u.seq = r.run_seq WHERE r.seq = " + lineageSeqs("?1"),
	Depths:          lineageDepths,
	WalkEdges:       lineageWalkEdges,
	NodesEdges:      lineageNodesEdges,
	// Each statement is a round trip: a walk of the benchmarks' graphs (17
	// levels) in one recursive statement took about three quarters of the
	// time of its level walk (see lineage's chooseStrategy).
	PreferRecursive: true,
}

// lineageSeqs returns ANY of the set of seqs bound as a JSON array to the
// parameter p, read into an array once per statement.
func lineageSeqs(p string) string {
	return "ANY(ARRAY(SELECT jsonb_array_elements_text(" + p + "::jsonb)::bigint))"
}

// The node rows: the columns of a node, from resources AS r with its parent
// joined as p, so that a parent that is a chain member or a root gives its
// reference without a walk up the tree (as in the rows of resources).
var (
	lineageNodeCols   = `r.seq, r.id, r.type, r.name, r.version, r.status, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN ` + parentRef + ` END`
	lineageParentJoin = ` LEFT JOIN resources AS p ON p.seq = r.parent_seq`
	lineageNodes      = `SELECT ` + lineageNodeCols + ` FROM resources AS r` + lineageParentJoin + ` WHERE r.seq = ` + lineageSeqs("?1")
)

// lineageSteps returns a SELECT for each direction of f: over the edges
// whose near end's column col passes near(col), the columns sel(near end,
// far end) of those that lead to a live resource, under the relation
// conditions rel.
func lineageSteps(f storage.LineageFollow, near func(col string) string, sel func(near, far string) string, rel string) []string {
	var parts []string
	if f.Downstream {
		parts = append(parts, "SELECT "+sel("e.src_seq", "e.dst_seq")+" FROM edges AS e WHERE "+near("e.src_seq")+rel+lineageLive("e.dst_seq"))
	}
	if f.Upstream {
		parts = append(parts, "SELECT "+sel("e.dst_seq", "e.src_seq")+" FROM edges AS e WHERE "+near("e.dst_seq")+rel+lineageLive("e.src_seq"))
	}
	return parts
}

// inFrontier is the condition that col is in the frontier, ?1.
func inFrontier(col string) string { return col + " = " + lineageSeqs("?1") }

// lineageLevel is LineageStatements.Level.
func lineageLevel(f storage.LineageFollow) string {
	return strings.Join(lineageSteps(f, inFrontier, func(_, far string) string { return far },
		lineageRelations(f, "e.relation", 2)), " UNION ALL ")
}

// lineagePathLevel is LineageStatements.PathLevel.
func lineagePathLevel(f storage.LineageFollow) string {
	return strings.Join(lineageSteps(f, inFrontier, func(near, far string) string {
		forward := "1"
		if near == "e.dst_seq" {
			forward = "0"
		}
		return near + ", " + far + ", e.relation, " + forward
	}, lineageRelations(f, "e.relation", 2)), " UNION ALL ")
}

// lineageWalk is LineageStatements.Walk: a recursive CTE over (seq, depth)
// rows whose UNION drops a row already produced; the outer query keeps each
// seq's shortest depth and joins its row. PostgreSQL takes one recursive
// term, so a walk both ways steps through a lateral union of the two
// directions.
func lineageWalk(f storage.LineageFollow, oneStart bool) string {
	return lineageRecursion(f, oneStart) +
		" SELECT " + lineageNodeCols + ", w.depth" +
		" FROM (SELECT seq, min(depth) AS depth FROM walk GROUP BY seq) AS w" + lineageRowOf("w") + lineageParentJoin
}

// lineageRowOf joins each row of the walk w to its resource row, as r, by
// one probe of the primary key each. PostgreSQL estimates a walk at 200
// rows whatever it holds, and on a small table that estimate made it hash
// the whole resources table for the few nodes of a short walk (5 ms where
// the probes take 0.1 ms at 10k resources); a lateral subquery that is not
// flattened (OFFSET 0) is always probed row by row.
func lineageRowOf(w string) string {
	return " CROSS JOIN LATERAL (SELECT * FROM resources AS r0 WHERE r0.seq = " + w + ".seq OFFSET 0) AS r"
}

// lineageRecursion is the recursive CTE walk(seq, depth) of the walks from
// ?1 to the depth ?2.
func lineageRecursion(f storage.LineageFollow, oneStart bool) string {
	seed := "SELECT jsonb_array_elements_text(?1::jsonb)::bigint, 0"
	if oneStart {
		seed = "SELECT ?1::bigint, 0"
	}
	steps := lineageSteps(f, func(col string) string { return col + " = w.seq" },
		func(_, far string) string { return far + " AS seq" }, lineageRelations(f, "e.relation", 3))
	step := "SELECT x.seq, w.depth + 1 FROM walk AS w CROSS JOIN LATERAL (" + strings.Join(steps, " UNION ALL ") + ") AS x WHERE w.depth < ?2::integer"
	return "WITH RECURSIVE walk(seq, depth) AS (" + seed + " UNION " + step + ")"
}

// lineageDepths is LineageStatements.Depths.
func lineageDepths(f storage.LineageFollow, oneStart bool) string {
	return lineageRecursion(f, oneStart) + " SELECT seq, min(depth) FROM walk GROUP BY seq"
}

// lineageWalkEdges is LineageStatements.WalkEdges: the nodes of the walk,
// w, referenced twice and so computed once, then the edges among them:
// those of each node's out-edges (one probe of the primary key per node,
// see lineageRowOf) that end in w.
func lineageWalkEdges(f storage.LineageFollow, oneStart bool) string {
	return lineageRecursion(f, oneStart) + ", w AS (SELECT seq, min(depth) AS depth FROM walk GROUP BY seq)" +
		" SELECT " + lineageNodeCols + ", w.depth, NULL::bigint, NULL::text" +
		" FROM w" + lineageRowOf("w") + lineageParentJoin +
		" UNION ALL SELECT e.src_seq, '', '', '', NULL, '', NULL, 0, e.dst_seq, e.relation FROM w AS ws" +
		" CROSS JOIN LATERAL (SELECT * FROM edges AS e0 WHERE e0.src_seq = ws.seq OFFSET 0) AS e" +
		" WHERE e.dst_seq IN (SELECT seq FROM w)" + lineageRelations(f, "e.relation", 3)
}

// lineageNodesEdges is LineageStatements.NodesEdges.
func lineageNodesEdges(f storage.LineageFollow) string {
	return "SELECT " + lineageNodeCols + ", NULL::bigint, NULL::text FROM resources AS r" + lineageParentJoin +
		" WHERE r.seq = " + lineageSeqs("?1") +
		" UNION ALL SELECT e.src_seq, '', '', '', NULL, '', NULL, e.dst_seq, e.relation FROM edges AS e" +
		" WHERE e.src_seq = " + lineageSeqs("?1") + " AND e.dst_seq = " + lineageSeqs("?1") + lineageRelations(f, "e.relation", 2)
}

// lineageEdgesAmong is LineageStatements.EdgesAmong.
func lineageEdgesAmong(f storage.LineageFollow) string {
	return "SELECT e.src_seq, e.dst_seq, e.relation FROM edges AS e" +
		" WHERE e.src_seq = " + lineageSeqs("?1") + " AND e.dst_seq = " + lineageSeqs("?1") +
		lineageRelations(f, "e.relation", 2)
}

// lineageLive returns the condition that the resource seq col is not
// deleted: one hashed subplan over the deleted resources per statement.
func lineageLive(col string) string {
	return " AND " + col + " NOT IN (SELECT seq FROM resources WHERE deleted_at IS NOT NULL)"
}

// lineageRelations returns the conditions on the relation column col that
// f's relation lists ask for ("" when none), the first list bound as ?n.
func lineageRelations(f storage.LineageFollow, col string, n int) string {
	var b strings.Builder
	if f.Relations {
		b.WriteString(" AND " + col + " IN (SELECT value FROM jsonb_array_elements_text(?" + strconv.Itoa(n) + "::jsonb))")
		n++
	}
	if f.ExcludeRelations {
		b.WriteString(" AND " + col + " NOT IN (SELECT value FROM jsonb_array_elements_text(?" + strconv.Itoa(n) + "::jsonb))")
	}
	return b.String()
}
