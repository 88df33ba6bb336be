package benchmarks

import (
	"strconv"
	"testing"

	"github.com/metatrack/metatrack"
)

// searchCase is a Tracker.Search and the bare SQL that returns the same
// page: bare selects resCols in the same order, with LIMIT ? last (the page
// size plus one, to know whether a next page exists).
type searchCase struct {
	name   string
	filter string
	page   int
	// page2 continues after the first page (a cursor for the library, a
	// keyset condition for the bare SQL, whose arguments keyset returns).
	page2  bool
	keyset func(d *bareDB) ([]any, error)
	bare   string
	args   []any
}

// The bare searches. Where rows must be sorted, the page's seqs are found
// first and only they are joined with their parent and run.
const (
	sqlBareByTag = "SELECT " + resCols + " FROM tags t JOIN resources r ON r.seq = t.resource_seq" + resJoins +
		" WHERE t.key = ? AND t.value = ? ORDER BY t.resource_seq LIMIT ?"
	sqlBareByNum = "SELECT " + resCols + " FROM (SELECT m.resource_seq AS seq FROM metadata m" +
		"   WHERE m.key = ? AND m.num > ? ORDER BY m.resource_seq LIMIT ?) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.seq"
	sqlBareByNumEq = "SELECT " + resCols + " FROM (SELECT m.resource_seq AS seq FROM metadata m" +
		"   WHERE m.key = ? AND m.num = ? ORDER BY m.resource_seq LIMIT ?) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.seq"
	sqlBareTopNum = "SELECT " + resCols + " FROM metadata m JOIN resources r ON r.seq = m.resource_seq" + resJoins +
		" WHERE m.key = ? AND m.num > ? ORDER BY m.num DESC, m.resource_seq LIMIT ?"
	sqlBareTopNumAfter = "SELECT " + resCols + " FROM metadata m JOIN resources r ON r.seq = m.resource_seq" + resJoins +
		" WHERE m.key = ?1 AND m.num > ?2 AND (m.num < ?3 OR m.num = ?3 AND m.resource_seq > ?4)" +
		" ORDER BY m.num DESC, m.resource_seq LIMIT ?5"
	// The attribute searches use attr_values and its index, as the
	// library does.
	sqlBareByAttr = "SELECT " + resCols + " FROM (SELECT a.resource_seq AS seq FROM attr_values a" +
		"   WHERE a.key = ?1 AND a.num > ?2 ORDER BY a.resource_seq LIMIT ?3) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.seq"
	sqlBareByTypeAttr = "SELECT " + resCols + " FROM (SELECT a.resource_seq AS seq FROM attr_values a" +
		"   JOIN resources t ON t.seq = a.resource_seq AND t.type = ?1" +
		"   WHERE a.key = ?2 AND a.num > ?3 ORDER BY a.resource_seq LIMIT ?4) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.seq"
	sqlBareCombined = "SELECT " + resCols + " FROM (SELECT r.seq, r.created_at FROM resources r" +
		"   JOIN tags t ON t.resource_seq = r.seq AND t.key = ? AND t.value = ?" +
		"   JOIN metadata m ON m.resource_seq = r.seq AND m.key = ? AND m.num > ?" +
		"   WHERE r.type = ? ORDER BY r.created_at DESC, r.seq LIMIT ?) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.created_at DESC, s.seq"
	// A nested metadata path reads the JSON document of each row of the
	// key: SQLite parses the text, PostgreSQL casts it to jsonb (pgBareSQL),
	// on both sides.
	sqlBareByNested = "SELECT " + resCols + " FROM (SELECT m.resource_seq AS seq FROM metadata m" +
		"   WHERE m.key = ?1 AND json_extract(m.value, '$.max_depth') = ?2 ORDER BY m.resource_seq LIMIT ?3) s" +
		" JOIN resources r ON r.seq = s.seq" + resJoins + " ORDER BY s.seq"
	sqlBareTopNumKey = "SELECT num, resource_seq FROM metadata WHERE key = ? AND num > ?" +
		" ORDER BY num DESC, resource_seq LIMIT 1 OFFSET ?"
)

func searchCases(fx *Fixture) []searchCase {
	accuracy, _ := strconv.ParseFloat(fx.Accuracy, 64)
	return []searchCase{
		{name: "tag-selective", filter: "tags.commit = '" + fx.Commit + "'", page: 100,
			bare: sqlBareByTag, args: []any{"commit", fx.Commit}},
		{name: "tag-1000rows", filter: "tags.optimizer = 'adam'", page: 1000,
			bare: sqlBareByTag, args: []any{"optimizer", "adam"}},
		{name: "meta-selective", filter: "metadata.accuracy = " + fx.Accuracy, page: 100,
			bare: sqlBareByNumEq, args: []any{"accuracy", accuracy}},
		{name: "meta-selective-count", filter: "metadata.prediction_count > 999000", page: 100,
			bare: sqlBareByNum, args: []any{"prediction_count", 999000}},
		{name: "meta-order-top100", filter: "metadata.accuracy > 0.9 ORDER BY metadata.accuracy DESC", page: 100,
			bare: sqlBareTopNum, args: []any{"accuracy", 0.9}},
		{name: "meta-order-page2", filter: "metadata.accuracy > 0.9 ORDER BY metadata.accuracy DESC", page: 100,
			page2: true, bare: sqlBareTopNumAfter, args: []any{"accuracy", 0.9},
			keyset: func(d *bareDB) ([]any, error) {
				var num float64
				var seq int64
				err := d.queryRow(ctx, sqlBareTopNumKey, "accuracy", 0.9, 99).Scan(&num, &seq)
				return []any{num, seq}, err
			}},
		{name: "attr-selective", filter: "attrs.prediction_count > 999000", page: 100,
			bare: sqlBareByAttr, args: []any{"prediction_count", 999000}},
		{name: "attr-selective-typed", filter: "type = 'prediction_job' AND attrs.prediction_count > 999000", page: 100,
			bare: sqlBareByTypeAttr, args: []any{metatrack.TypePredictionJob, "prediction_count", 999000}},
		{name: "meta-nested", filter: "metadata.training_params.max_depth = 5", page: 100,
			bare: sqlBareByNested, args: []any{"training_params", 5}},
		{name: "combined-order", page: 50,
			filter: "type = 'model_version' AND tags.framework = 'xgboost' AND metadata.auc > 0.95 ORDER BY created_at DESC",
			bare:   sqlBareCombined, args: []any{"framework", "xgboost", "auc", 0.95, metatrack.TypeModelVersion}},
	}
}

// BenchmarkSearch runs Tracker.Search with selective and broad filters on
// tags, metadata numbers and attributes, with ORDER BY and a second page.
func BenchmarkSearch(b *testing.B) {
	onEngine(b, "sqlite")
	benchSearch(b, getReadEnv(b))
}

// benchSearch runs the search cases on e's engine.
func benchSearch(b *testing.B, e *env) {
	for _, c := range searchCases(e.fx) {
		runCase(b, c.name, func(b *testing.B) {
			b.Run("lib", func(b *testing.B) {
				run, err := c.lib(e.lib)
				if err != nil {
					b.Fatal(err)
				}
				var n int
				bench(b, func() error {
					p, err := run()
					n = len(p.Resources)
					return err
				})
				b.ReportMetric(float64(n), "rows")
			})
			b.Run("bare", func(b *testing.B) {
				run, err := c.bareRun(e.bare)
				if err != nil {
					b.Fatal(err)
				}
				bench(b, func() error { _, err := run(); return err })
			})
		})
	}
}

// lib returns the library call of c; for a second page it fetches the
// first page's cursor first.
func (c searchCase) lib(t *metatrack.Tracker) (func() (metatrack.Page, error), error) {
	opts := []metatrack.SearchOption{metatrack.WithPageSize(c.page)}
	if c.page2 {
		first, err := t.Search(ctx, c.filter, opts...)
		if err != nil {
			return nil, err
		}
		opts = append(opts, metatrack.WithCursor(first.Next))
	}
	return func() (metatrack.Page, error) { return t.Search(ctx, c.filter, opts...) }, nil
}

// bareRun returns the bare query of c. Its page's Next is "more" when there
// is a next page: the bare query knows it, but encodes no cursor.
func (c searchCase) bareRun(d *bareDB) (func() (metatrack.Page, error), error) {
	args := append([]any(nil), c.args...)
	if c.page2 {
		k, err := c.keyset(d)
		if err != nil {
			return nil, err
		}
		args = append(args, k...)
	}
	args = append(args, c.page+1)
	return func() (metatrack.Page, error) {
		var p metatrack.Page
		rows, err := d.planned(ctx, c.bare, args...)
		if err != nil {
			return p, err
		}
		p.Resources = make([]metatrack.Resource, 0, c.page)
		for rows.Next() {
			if len(p.Resources) == c.page {
				p.Next = "more"
				break
			}
			_, r, err := scanResource(rows)
			if err != nil {
				rows.Close()
				return p, err
			}
			p.Resources = append(p.Resources, r)
		}
		return p, closeRows(rows)
	}, nil
}
