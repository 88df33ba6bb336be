package db

import "strings"

// parentRefSQL is the template of ParentRefSQL; R stands for the alias of
// the resources table.
const parentRefSQL = `CASE WHEN R.version IS NULL AND R.parent_seq IS NOT NULL THEN (` +
	`WITH RECURSIVE up(s, ref, more, depth) AS (` +
	`SELECT R.parent_seq, '', 1, 0 ` +
	`UNION ALL SELECT x.parent_seq, ` +
	`x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || ` +
	`CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, ` +
	`x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 ` +
	`FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) ` +
	`SELECT ref FROM up WHERE NOT more) END`

// ParentRefSQL returns a SQL expression, for the resources table aliased
// alias (a fixed name of the caller), that is the unique reference of the
// parent of a resource that needs one: a resource that is not a chain member
// and has a parent. Its reference is that of its parent, then /type/name;
// the expression walks up until a root or a chain member, whose own
// references are unique (type/name, type/name@N). It is NULL for other
// resources.
func ParentRefSQL(alias string) string {
	return strings.ReplaceAll(parentRefSQL, "R.", alias+".")
}
