package sqlite

import "strings"

// parentRefWalk is the general form of ParentRefSQL: R stands for the
// alias of the resources table.
const parentRefWalk = `(` +
	`WITH RECURSIVE up(s, ref, more, depth) AS (` +
	`SELECT R.parent_seq, '', 1 = 1, 0 ` +
	`UNION ALL SELECT x.parent_seq, ` +
	`x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || ` +
	`CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, ` +
	`x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 ` +
	`FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) ` +
	`SELECT ref FROM up WHERE NOT more)`

// parentRefJoined is the reference of the parent P when it is a chain
// member or a root, the common case, read from the joined row.
const parentRefJoined = `CASE WHEN P.version IS NOT NULL THEN P.type || '/' || P.name || '@' || P.version ` +
	`WHEN P.parent_seq IS NULL THEN P.type || '/' || P.name END`

// ParentRefSQL returns a SQL expression, for the resources table aliased
// alias, that is the unique reference of the parent of a resource that
// needs one: a resource that is not a chain member and has a parent. Its
// reference is that of its parent, then /type/name; the expression walks up
// until a root or a chain member, whose own references are unique
// (type/name, type/name@N). It is NULL for other resources. When the
// query joins the parent row as parentAlias (not ""), a parent that is a
// chain member or a root is read from it without a walk. Both aliases are
// fixed names of the caller.
func ParentRefSQL(alias, parentAlias string) string {
	walk := strings.ReplaceAll(parentRefWalk, "R.", alias+".")
	expr := walk
	if parentAlias != "" {
		expr = "COALESCE(" + strings.ReplaceAll(parentRefJoined, "P.", parentAlias+".") + ", " + walk + ")"
	}
	return "CASE WHEN " + alias + ".version IS NULL AND " + alias + ".parent_seq IS NOT NULL THEN " + expr + " END"
}
