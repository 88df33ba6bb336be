package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/query"
)

// defaultLimit is the page size of ls.
const defaultLimit = 50

func newLsCmd(a *app) *cobra.Command {
	var (
		order   string
		limit   int
		cursor  string
		all     bool
		deleted bool
		columns string
	)
	cmd := &cobra.Command{
		Use:     "ls [<query>]",
		Aliases: []string{"search"},
		Short:   "List the resources that match a query, one page at a time",
		Long: `ls (or search) lists the resources that match a query in metatrack's query
language, oldest first unless the query or --order sorts them. Without a
query it lists every resource. Arguments are joined by spaces into one query,
so quote it for the shell as a whole: metatrack ls "status = 'DEPLOYED'".

The language (see the Go package github.com/metatrack/metatrack/query):

  type = 'model_version' AND metadata.auc > 0.9 AND tags.env = 'prod'
  name LIKE 'titanic%' OR attrs.trainer IN ('xgboost', 'lightgbm')
  created_at > now-7d AND NOT status = 'FAILED' ORDER BY created_at DESC
  upstream_of('model_version/titanic_model@3') AND type = 'dataset_version'
  EXISTS tags.quality

Fields: id, type, name, status, version, created_at, updated_at,
started_at, ended_at, parent, run, run.name, run.status, alias (the
names of the aliases that point to a version: alias = 'champion'),
tags.<key>, metadata.<key>[.<key>...], attrs.<key>[.<key>...].

Deleted resources are hidden; --deleted lists them instead (with when they
were deleted), so that 'metatrack restore' can bring one back.

--columns adds values to each row, comma-separated fields of the language:
attrs.lr,metadata.auc,tags.owner (and tags.*, metadata.*, attrs.* for every
key of a kind, and resource fields such as status or created_at); the
table then shows the reference and those columns, -o json adds a columns
object to each resource and -o csv has id, ref and the columns. They are
read with the page, one query per kind of column, not one per row.

Results come in pages of --limit; a LIMIT in the query is the most
resources all pages together hold (with --all too). When there are more,
the table ends with the --cursor that continues after this page, and -o
json holds it as next_cursor (null on the last page); --all walks every
page.

A query that cannot match is an error with a caret under the culprit:
text compared with a metadata key that only holds numbers, a status or
type in the wrong case, a reference that names no resource or several. A
key, type or status that no resource has is no error, but ls says so on
stderr with the nearest one it has ("did you mean metadata.auc?"). A malformed query is reported with its
position and a caret under the error (exit status 1).`,
		Example: `  metatrack ls --db titanic.db
  metatrack ls "type = 'model_version'" --order 'metadata.auc DESC' --limit 5
  metatrack ls "type = 'experiment'" --columns attrs.learning_rate,attrs.l2,metadata.valid_auc -o csv
  metatrack search "tags.quality = 'gold' AND created_at > now-7d" -o json
  metatrack ls "type = 'experiment'" --limit 10   # prints the --cursor of the next page
  metatrack ls "downstream_of('dataset_version/titanic_train@1')" --all
  metatrack ls "alias = 'champion'"
  metatrack ls --deleted "type = 'model_version'"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return usageErrorf("--limit must be at least 1, not %d", limit)
			}
			cols, err := parseColumnsFlag(columns)
			if err != nil {
				return err
			}
			var extra []metatrack.SearchOption
			if deleted {
				extra = append(extra, metatrack.WithDeleted())
			}
			return a.runLs(cmd.Context(), strings.Join(args, " "), order, limit, cursor, all, cols, extra...)
		},
	}
	f := cmd.Flags()
	f.StringVar(&order, "order", "", "sort keys, as after ORDER BY: 'created_at DESC', 'metadata.auc DESC, name'")
	f.IntVar(&limit, "limit", defaultLimit, "resources per page")
	f.StringVar(&cursor, "cursor", "", "continue after the page that printed this cursor (same query and --order)")
	f.BoolVar(&all, "all", false, "list every page, not only the first")
	f.BoolVar(&deleted, "deleted", false, "list the deleted resources (and only them) that match; restore one with 'metatrack restore'")
	f.StringVar(&columns, "columns", "", "values to show with each row, comma-separated: attrs.lr,metadata.auc,tags.owner")
	cmd.RegisterFlagCompletionFunc("order", cobra.FixedCompletions([]string{
		"created_at DESC", "created_at", "name", "version DESC", "status", "updated_at DESC",
	}, cobra.ShellCompDirectiveNoFileComp))
	return listing(cmd)
}

// lsJSON is the -o json document of ls.
type lsJSON struct {
	Query     string           `json:"query"`
	Count     int              `json:"count"`
	Resources []lsResourceJSON `json:"resources"`
	// NextCursor continues after this page; null on the last.
	NextCursor *string `json:"next_cursor"`
}

// lsResourceJSON is a resource of ls, with the values of --columns.
type lsResourceJSON struct {
	resourceJSON
	Columns record `json:"columns,omitempty"`
}

func (a *app) runLs(ctx context.Context, filter, order string, limit int, cursor string, all bool, columns []string, extra ...metatrack.SearchOption) error {
	filter, err := withOrder(filter, order)
	if err != nil {
		return err
	}
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	var found []lsResourceJSON
	var header []string
	opts := append([]metatrack.SearchOption{metatrack.WithPageSize(limit)}, extra...)
	if columns != nil {
		opts = append(opts, metatrack.WithColumns(columns...))
	}
	if cursor == "" {
		if err := a.warnQuery(ctx, t, filter); err != nil {
			return err
		}
	}
	var bar *progress
	if all {
		bar = a.newProgress("searching", "resources", 0)
	}
	for {
		page, err := t.Search(ctx, filter, append(opts, metatrack.WithCursor(cursor))...)
		if err != nil {
			bar.done()
			return err
		}
		if columns == nil {
			for _, r := range page.Resources {
				found = append(found, lsResourceJSON{resourceJSON: toResourceJSON(r)})
			}
		}
		header = header[:0]
		for _, c := range page.Columns {
			header = append(header, c.String())
		}
		for _, row := range page.Rows {
			rec := record{}
			for _, c := range page.Columns {
				v, _ := row.Value(c)
				rec = append(rec, recordField{c.String(), jsonValue(v)})
			}
			found = append(found, lsResourceJSON{resourceJSON: toResourceJSON(row.Resource), Columns: rec})
		}
		bar.add(int64(len(page.Resources)))
		cursor = page.Next
		if !all || cursor == "" {
			break
		}
	}
	bar.done()
	if found == nil {
		found = []lsResourceJSON{}
	}
	out := lsJSON{Query: filter, Count: len(found), Resources: found, NextCursor: optString(cursor)}
	switch {
	case a.json():
		return a.writeJSON(out)
	case a.csv() && columns == nil:
		rs := make([]resourceJSON, len(found))
		for i, r := range found {
			rs[i] = r.resourceJSON
		}
		return a.writeCSV(rs)
	case a.csv():
		recs := make([]record, len(found))
		for i, r := range found {
			recs[i] = append(record{{"id", r.ID}, {"ref", r.Ref}}, r.Columns...)
		}
		return a.writeCSV(recs, append([]string{"id", "ref"}, header...)...)
	}
	return printLs(a.stdout, out, header)
}

// warnQuery prints on stderr what the query names that no resource has
// (a key, type or status): no error, since the query just matches nothing
// here, but likely a typo.
func (a *app) warnQuery(ctx context.Context, t metatrack.Store, filter string) error {
	warnings, err := t.QueryWarnings(ctx, filter)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(a.stderr, "metatrack: warning: %s\n", w)
	}
	return nil
}

// withOrder appends --order to the query as its ORDER BY. Each part is
// parsed alone first, so that a caret points into the text the user wrote
// (an --order error shows it after ORDER BY).
func withOrder(filter, order string) (string, error) {
	if _, err := query.Parse(filter); err != nil {
		return "", err
	}
	if order == "" {
		return filter, nil
	}
	if _, err := query.Parse("ORDER BY " + order); err != nil {
		return "", fmt.Errorf("--order: %w", err)
	}
	combined := strings.TrimSpace(filter + " ORDER BY " + order)
	if _, err := query.Parse(combined); err != nil {
		return "", usageErrorf("--order cannot be combined with a query that has its own ORDER BY or LIMIT; put the sort keys in one place")
	}
	return combined, nil
}

func printLs(w io.Writer, out lsJSON, columns []string) error {
	if len(out.Resources) == 0 {
		fmt.Fprintln(w, "No resources match.")
	} else if columns != nil {
		tw := newTable(w)
		fmt.Fprint(tw, "REF")
		for _, c := range columns {
			fmt.Fprintf(tw, "\t%s", strings.ToUpper(c))
		}
		fmt.Fprintln(tw)
		for _, r := range out.Resources {
			fmt.Fprint(tw, r.Ref)
			for _, c := range r.Columns {
				fmt.Fprintf(tw, "\t%s", cellValue(c.Value))
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	} else {
		tw := newTable(w)
		if out.Resources[0].DeletedAt != nil {
			fmt.Fprintln(tw, "REF\tSTATUS\tCREATED (UTC)\tDELETED (UTC)\tID")
			for _, r := range out.Resources {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Ref, orDash(r.Status), tableTime(r.CreatedAt), tablePtrTime(r.DeletedAt), r.ID)
			}
		} else {
			fmt.Fprintln(tw, "REF\tSTATUS\tCREATED (UTC)\tID")
			for _, r := range out.Resources {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Ref, orDash(r.Status), tableTime(r.CreatedAt), r.ID)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if out.NextCursor != nil {
		fmt.Fprintf(w, "\n%s shown; more with --cursor %s (or --all)\n", plural(out.Count, "resource"), *out.NextCursor)
	} else if out.Count > 0 {
		fmt.Fprintf(w, "\n%s\n", plural(out.Count, "resource"))
	}
	return nil
}

// parseColumnsFlag splits --columns at commas outside backtick-quoted keys
// and checks each column; nil when the flag is empty.
func parseColumnsFlag(flag string) ([]string, error) {
	if strings.TrimSpace(flag) == "" {
		return nil, nil
	}
	var cols []string
	start, quoted := 0, false
	for i, r := range flag {
		switch {
		case r == '`':
			quoted = !quoted
		case r == ',' && !quoted:
			cols = append(cols, flag[start:i])
			start = i + 1
		}
	}
	cols = append(cols, flag[start:])
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
		if _, err := query.ParseColumn(cols[i]); err != nil {
			var qerr *query.Error
			if errors.As(err, &qerr) {
				return nil, usageErrorf("--columns: column %q: %s", cols[i], qerr.Msg)
			}
			return nil, usageErrorf("--columns: column %q: %v", cols[i], err)
		}
	}
	return cols, nil
}
