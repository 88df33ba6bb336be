package postgres

import "github.com/metatrack/metatrack/storage"

// resourceSQL holds the PostgreSQL texts of the statements of resources,
// their chains and their edges. The statements that read resource rows
// select the columns of the domain's resourceRow. Those whose rows are
// chain members (their condition names a version) select NULL as the
// parent's reference, which a chain member never has: PostgreSQL plans a
// statement with a LIMIT parameter afresh on every call, and planning the
// reference's recursive subquery took about 0.5 ms of
// GetPrevResourceVersion's 0.6 ms.
var resourceSQL = storage.ResourceStatements{
	FilteredPrevVersions:  filteredPrevVersions,
	ResourceBySeq:         `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.seq = ?`,
	ResourceByID:          `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.id = ?`,
	ResourceByVer:         `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.type = ? AND r.name = ? AND r.version = ?`,
	ResourceLatestVersion: `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.type = ? AND r.name = ? AND r.version IS NOT NULL ORDER BY r.version DESC LIMIT 1`,
	ResourceBare:          `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, r.status, r.attrs, r.created_at, r.updated_at, r.started_at, r.ended_at FROM resources r WHERE r.id = ? AND r.deleted_at IS NULL`,
	ResourcesBySeqs:       resourceColumns + ` WHERE r.seq IN (SELECT value::bigint FROM jsonb_array_elements_text(?::jsonb))`,
	ResourceSelect:        resourceSelectNear,
	ParentRefs:            parentRefs,
	ResourceJoins:         resourceJoins,
	PrevVersions:          `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.type = ? AND r.name = ? AND r.version < ? ORDER BY r.version DESC LIMIT ?`,
	PrevVersionsByID:      `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq JOIN resources c ON c.type = r.type AND c.name = r.name AND c.version > r.version WHERE r.deleted_at IS NULL AND c.id = ? AND c.deleted_at IS NULL ORDER BY r.version DESC LIMIT ?`,
	MaxVersion:            `SELECT greatest((SELECT coalesce(max(version), 0) FROM resources WHERE type = $1 AND name = $2 AND version IS NOT NULL), (SELECT coalesce(max(version), 0) FROM purged WHERE type = $1 AND name = $2 AND version IS NOT NULL))`,
	RootByName:            `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.type = ? AND r.name = ? AND r.parent_seq IS NULL`,
	ChildByName:           `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.parent_seq = ? AND r.type = ? AND r.name = ? AND r.version IS NULL`,
	InsertResource:        `INSERT INTO resources (id,type,name,version,parent_seq,status,attrs,run_seq,created_at,updated_at,started_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING seq`,
	InsertEdge:            `INSERT INTO edges (src_seq,dst_seq,relation,run_seq,created_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING`,
	SetStatus:             `UPDATE resources SET status = ?, updated_at = ? WHERE seq = ?`,
	SetStarted:            `UPDATE resources SET started_at = ?, updated_at = ? WHERE seq = ?`,
	SetEnded:              `UPDATE resources SET ended_at = ?, updated_at = ? WHERE seq = ?`,
	SetAttrs:              `UPDATE resources SET attrs = ?, updated_at = ? WHERE seq = ?`,
	AttrsOf:               `SELECT attrs FROM resources WHERE seq = ?`,
	ByTypeName:            `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.type = ? AND r.name = ? ORDER BY r.seq LIMIT 21`,
	ChildVersion:          `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.parent_seq = ? AND r.type = ? AND r.name = ? AND r.version = ?`,
	ChildLatestVer:        `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.parent_seq = ? AND r.type = ? AND r.name = ? AND r.version IS NOT NULL ORDER BY r.version DESC LIMIT 1`,
	VersionsOf:            `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.parent_seq = ? AND r.version IS NOT NULL ORDER BY r.version`,
	ChainMembers:          `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, NULL::text AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.version IS NOT NULL ORDER BY r.parent_seq, r.version`,
	ChildrenOf:            `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.parent_seq = ? ORDER BY r.seq`,
	ChildrenOfType:        `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.parent_seq = ? AND r.type = ? ORDER BY r.seq`,
	AllResources:          `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL ORDER BY r.seq`,
	ResourcesOfType:       `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.type = ? ORDER BY r.seq`,
	ChainHeads:            `SELECT r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END AS parent_ref FROM resources r LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq WHERE r.deleted_at IS NULL AND r.seq IN (SELECT DISTINCT parent_seq FROM resources WHERE version IS NOT NULL AND deleted_at IS NULL) ORDER BY r.seq`,
	SeqByID:               `SELECT seq FROM resources WHERE id = ? AND deleted_at IS NULL`,
}

// resourceHead is the select list of a resource row over resources r and
// the tables of resourceJoins, up to its parent's reference.
const resourceHead = `r.seq, r.id, r.type, r.name, r.version, r.parent_seq, p.id AS parent_id, r.status, r.attrs, run.id AS run_id, r.created_at, r.updated_at, r.started_at, r.ended_at, r.deleted_at, `

// nearParentRef is the reference of the parent p of an unversioned child
// when p is a chain member or a root, else NULL.
const nearParentRef = `CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END`

// parentRefStep is the recursive step of the walk up(s, ref, more, depth)
// that builds a reference from a parent seq: one parent x more, its
// type/name[@version] before the reference so far, until a chain member or
// a root (more false), at most 64 levels.
const parentRefStep = `x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, ` +
	`x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64`

// parentRef is the reference of the parent of an unversioned child r:
// nearParentRef, else the walk up its parents.
const parentRef = `COALESCE(` + nearParentRef + `, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 ` +
	`UNION ALL SELECT x.parent_seq, ` + parentRefStep + `) SELECT ref FROM up WHERE NOT more))`

// resourceSelect is the select list of a resource row over resources r
// and the tables of resourceJoins, the parent's reference walked up the
// chain of parents where p is itself a nested child.
const resourceSelect = resourceHead + `CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN ` + parentRef + ` END AS parent_ref`

// resourceSelectNear is resourceSelect without the recursive subquery,
// for the generated statements of searches (ResourceStatements.
// ResourceSelect), which PostgreSQL plans for their arguments on every
// call: planning the subquery took 0.6 ms of a 1.2 ms plan for a page of
// an ordered search at 10k resources, for a reference that only a child
// two levels or more below a chain member or a root needs. The tracker
// reads those with ParentRefs.
const resourceSelectNear = resourceHead + `CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN ` + nearParentRef + ` END AS parent_ref`

// parentRefs is ResourceStatements.ParentRefs: parentRef's walk, from
// every parent seq of a JSON array at once.
const parentRefs = `WITH RECURSIVE up(start, s, ref, more, depth) AS (SELECT v::bigint, v::bigint, ''::text, true, 0 FROM jsonb_array_elements_text(?::jsonb) AS v` +
	` UNION ALL SELECT up.start, x.parent_seq, ` + parentRefStep + `) SELECT start AS seq, ref FROM up WHERE NOT more`

// resourceJoins are the joins after resources r that resourceSelect reads.
const resourceJoins = `LEFT JOIN resources p ON p.seq = r.parent_seq LEFT JOIN runs run ON run.seq = r.run_seq`

// resourceColumns selects the columns of a resource row from resources r,
// deleted resources included.
const resourceColumns = "SELECT " + resourceSelect + " FROM resources r " + resourceJoins

// filteredPrevVersions is ResourceStatements.FilteredPrevVersions.
func filteredPrevVersions(status bool, tags int, where string) string {
	q := resourceColumns + " WHERE r.deleted_at IS NULL AND r.type = ? AND r.name = ? AND r.version < ?"
	if status {
		q += " AND r.status = ?"
	}
	for range tags {
		q += " AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_seq = r.seq AND t.key = ? AND t.value = ?)"
	}
	if where != "" {
		q += " AND (" + where + ")"
	}
	return q + " ORDER BY r.version DESC LIMIT ?"
}
