package lineage

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"sync"

	"github.com/metatrack/metatrack/storage/sqlite"
)

// The walks write their statements in SQLite's SQL. On PostgreSQL (a
// Queryer whose EngineName is "postgres") each text is rewritten once into
// PostgreSQL's: the JSON arrays bound as arguments are read with
// jsonb_array_elements_text (as bigint where they hold seqs), a lone start
// is typed, SQLite's unary + that steers its planner is dropped, and the
// parent's reference is PostgreSQL's expression of it.

// EngineNamer is implemented by a Queryer that names its engine ("sqlite"
// or "postgres"); one that does not is taken to be SQLite.
type EngineNamer interface {
	EngineName() string
}

// forEngine returns q, on PostgreSQL wrapped to rewrite the walk's texts.
func forEngine(q Queryer) Queryer {
	if n, ok := q.(EngineNamer); ok && n.EngineName() == "postgres" {
		return pgQueryer{q}
	}
	return q
}

type pgQueryer struct{ q Queryer }

func (p pgQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.q.QueryContext(ctx, postgresText(query), args...)
}

var (
	pgTexts sync.Map // SQLite text -> PostgreSQL text
	// pgStrings: the arrays of relations and types hold strings.
	pgStrings = regexp.MustCompile(`(relation|type) (NOT )?IN \(SELECT value FROM json_each\((\?\d+)\)\)`)
	// pgSeqs: every other array holds seqs.
	pgSeqs      = regexp.MustCompile(`SELECT value(, 0)? FROM json_each\((\?\d+)\)`)
	pgRewriter  = strings.NewReplacer("SELECT ?1, 0", "SELECT ?1::bigint, 0", "+r.type", "r.type", sqlite.ParentRefSQL("r", "p"), pgParentRef)
	pgParentRef = `CASE WHEN r.version IS NULL AND r.parent_seq IS NOT NULL THEN COALESCE(CASE WHEN p.version IS NOT NULL THEN p.type || '/' || p.name || '@' || p.version WHEN p.parent_seq IS NULL THEN p.type || '/' || p.name END, (WITH RECURSIVE up(s, ref, more, depth) AS (SELECT r.parent_seq, ''::text, true, 0 UNION ALL SELECT x.parent_seq, x.type || '/' || x.name || CASE WHEN x.version IS NOT NULL THEN '@' || x.version ELSE '' END || CASE WHEN up.ref = '' THEN '' ELSE '/' || up.ref END, x.version IS NULL AND x.parent_seq IS NOT NULL, up.depth + 1 FROM resources x JOIN up ON x.seq = up.s WHERE up.more AND up.depth < 64) SELECT ref FROM up WHERE NOT more)) END`
)

// postgresText returns the PostgreSQL text of a walk's SQLite text.
func postgresText(query string) string {
	if t, ok := pgTexts.Load(query); ok {
		return t.(string)
	}
	t := pgStrings.ReplaceAllString(query, "$1 ${2}IN (SELECT value FROM jsonb_array_elements_text(${3}::jsonb))")
	t = pgSeqs.ReplaceAllString(t, "SELECT value::bigint$1 FROM jsonb_array_elements_text(${2}::jsonb)")
	t = pgRewriter.Replace(t)
	pgTexts.Store(query, t)
	return t
}
