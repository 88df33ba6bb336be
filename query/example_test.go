package query_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage/sqlite"
)

func ExampleParse() {
	q, err := query.Parse(`Type = "model_version" and (metadata.accuracy > 0.9 or tags.env='prod')
		AND created_at > now-7d order by metadata.accuracy desc limit 10`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q)
	// Output:
	// type = 'model_version' AND (metadata.accuracy > 0.9 OR tags.env = 'prod') AND created_at > now-7d ORDER BY metadata.accuracy DESC LIMIT 10
}

func ExampleParse_error() {
	_, err := query.Parse("tags.env = 'prod' AND\n  metadata.accuracy > 'high' AND status =")
	fmt.Println(err)

	var e *query.Error
	if errors.As(err, &e) {
		fmt.Println(e.Line, e.Column, e.Offset, errors.Is(err, query.ErrInvalid))
	}
	// Output:
	// invalid query at line 2, column 42 (offset 63): expected a value after =, found end of query
	//  |   metadata.accuracy > 'high' AND status =
	//  |                                          ^
	// 2 42 63 true
}

func ExampleCompile() {
	// tags.env = 'prod' drives the query: SQLite walks the index of the tag
	// in seq order and stops at the end of the page.
	q, _ := query.Parse("tags.env = 'prod' AND metadata.params.lr < 0.01")
	c, err := query.Compile(q, query.Options{
		Dialect: sqlite.Dialect{},
		Now:     func() time.Time { return time.UnixMilli(1_700_000_000_000) },
		Limit:   20,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sql, args, _ := c.Select.ToSql()
	fmt.Println(sql)
	fmt.Println(args)
	// Output:
	// SELECT r.seq FROM tags dt JOIN resources r ON r.seq = dt.resource_seq WHERE (dt.key = ? AND dt.value = ? AND EXISTS (SELECT 1 FROM metadata m WHERE m.resource_seq = r.seq AND m.key = ? AND CASE WHEN json_type(m.value, ?) IN ('integer', 'real') THEN json_extract(m.value, ?) END < ?)) ORDER BY dt.resource_seq LIMIT 20
	// [env prod params $."lr" $."lr" 0.01]
}

func ExampleCompiled_Seqs() {
	// The pages of a search: each call continues after the previous one.
	var db query.Querier // a *sql.DB, *sqlx.DB or transaction
	if db == nil {
		return
	}
	q, _ := query.Parse("type = 'model_version' ORDER BY created_at DESC")
	cursor := ""
	for {
		c, err := query.Compile(q, query.Options{Dialect: sqlite.Dialect{}, Limit: 100, Cursor: cursor})
		if err != nil {
			return
		}
		seqs, next, err := c.Seqs(context.Background(), db)
		if err != nil {
			return
		}
		fmt.Println(seqs)
		if next == "" {
			return
		}
		cursor = next
	}
}
