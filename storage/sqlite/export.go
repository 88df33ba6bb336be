package sqlite

import "github.com/metatrack/metatrack/storage/sharedsql"

// exportSQL holds the statements of an export: the texts both engines
// share, completed with SQLite's conditions and selection.
var exportSQL = sharedsql.Export(sharedsql.ExportDialect{In: in, Bare: bare, Selection: exportSelection})

// in is the condition that col is the seq of a selected resource, bare
// that it is the seq of a bare one.
func in(col string) string   { return col + ` IN (SELECT value FROM json_each(?1, '$.set'))` }
func bare(col string) string { return col + ` IN (SELECT value FROM json_each(?1, '$.stubs'))` }

func exportSelection(where string, lineage bool) string {
	upstream := ""
	if lineage {
		upstream = `
		UNION SELECT e.src_seq FROM edges e JOIN sel ON e.dst_seq = sel.seq
		UNION SELECT e.dst_seq FROM edges e JOIN sel ON e.src_seq = sel.seq WHERE e.relation = 'winning_experiment'`
	}
	return `WITH RECURSIVE sel(seq) AS (
		SELECT r.seq FROM resources r WHERE ` + where + `
		UNION SELECT p.parent_seq FROM resources p JOIN sel ON p.seq = sel.seq WHERE p.parent_seq IS NOT NULL` + upstream + `)
		SELECT seq FROM sel ORDER BY seq`
}
