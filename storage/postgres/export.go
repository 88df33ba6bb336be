package postgres

import "github.com/metatrack/metatrack/storage/sharedsql"

// exportSQL holds the statements of an export: the texts both engines
// share, completed with PostgreSQL's conditions and selection.
var exportSQL = sharedsql.Export(sharedsql.ExportDialect{In: in, Bare: bare, Selection: exportSelection})

// in is the condition that col is the seq of a selected resource, bare
// that it is the seq of a bare one.
func in(col string) string {
	return col + ` IN (SELECT value::bigint FROM jsonb_array_elements_text($1::text::jsonb -> 'set'))`
}
func bare(col string) string {
	return col + ` IN (SELECT value::bigint FROM jsonb_array_elements_text($1::text::jsonb -> 'stubs'))`
}

// exportSelection walks the closure with one reference to sel in the
// recursive term (PostgreSQL allows no more): each step joins the
// resources one step away, laterally.
func exportSelection(where string, lineage bool) string {
	upstream := ""
	if lineage {
		upstream = `
			UNION ALL SELECT e.src_seq FROM edges e WHERE e.dst_seq = sel.seq
			UNION ALL SELECT e.dst_seq FROM edges e WHERE e.src_seq = sel.seq AND e.relation = 'winning_experiment'`
	}
	return `WITH RECURSIVE sel(seq) AS (
		SELECT r.seq FROM resources r WHERE ` + where + `
		UNION SELECT n.seq FROM sel JOIN LATERAL (
			SELECT p.parent_seq AS seq FROM resources p WHERE p.seq = sel.seq AND p.parent_seq IS NOT NULL` + upstream + `) n ON true)
		SELECT seq FROM sel ORDER BY seq`
}
