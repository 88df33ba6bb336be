package metatrack

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage/metricstore"
)

// WithColumns asks Search to return, beside each resource of the page, the
// values of the given columns, in Page.Rows: fields of the query language
// such as "tags.owner", "metadata.auc", "attrs.lr", "metadata.params.lr"
// or "status", metric summaries ("metrics.loss" for the last value,
// "metrics.loss.min", .max, .count, .step), or every key of one kind with
// "tags.*", "metadata.*", "attrs.*" and "metrics.*". They are read in the search's own read transaction with one
// query for each kind of column over the whole page, never one per row.
// A malformed column is ErrInvalidArgument (and ErrInvalidQuery).
func WithColumns(columns ...string) SearchOption {
	return func(c *searchConfig) { c.columns = append(append([]string{}, c.columns...), columns...) }
}

// Row is one search result with the values of the columns WithColumns
// asked for. Attributes are always all there, in Resource.Attrs.
type Row struct {
	Resource
	// Tags holds the resource's tags among those asked for (all of them
	// with tags.*); nil when no tag column was asked for.
	Tags map[string]string `json:"tags"`
	// Metadata holds its metadata values among those asked for, by key (a
	// column metadata.params.lr brings the whole value of params), decoded
	// as GetMetadata decodes them; nil when no metadata column was asked for.
	Metadata map[string]any `json:"metadata"`
	// Metrics holds the summaries of its metric series among those asked
	// for, by key; nil when no metric column was asked for.
	Metrics map[string]MetricSummary `json:"metrics"`
}

// Value returns the value of column c in r, and false when r has none
// (a tag, metadata key, attribute or path it does not have, or an unset
// time or version), with a nil value. Resource fields come as their Go values (string, int,
// time.Time), tags as strings, metadata and attributes decoded from JSON,
// metrics as float64 (last, min, max) or int64 (count, step); a column
// with All gives the whole map (map[string]string for tags,
// map[string]MetricSummary for metrics).
func (r Row) Value(c query.Column) (any, bool) {
	v, ok := r.value(c)
	if !ok {
		return nil, false
	}
	return v, true
}

func (r Row) value(c query.Column) (any, bool) {
	switch c.Field {
	case "id":
		return r.ID, true
	case "type":
		return r.Type, true
	case "name":
		return r.Name, true
	case "status":
		return r.Status, true
	case "version":
		return r.Version, r.Version > 0
	case "created_at":
		return r.CreatedAt, true
	case "updated_at":
		return r.UpdatedAt, true
	case "started_at":
		return r.StartedAt, !r.StartedAt.IsZero()
	case "ended_at":
		return r.EndedAt, !r.EndedAt.IsZero()
	case "parent":
		return r.ParentID, r.ParentID != ""
	case "run":
		return r.RunID, r.RunID != ""
	case "tags":
		if c.All {
			return r.Tags, r.Tags != nil
		}
		if len(c.Keys) == 0 {
			return nil, false
		}
		v, ok := r.Tags[c.Keys[0]]
		return v, ok
	case "metadata":
		if c.All {
			return r.Metadata, r.Metadata != nil
		}
		return valueAt(r.Metadata, c.Keys)
	case "attrs":
		if c.All {
			return r.Attrs, true
		}
		return valueAt(r.Attrs, c.Keys)
	case query.MetricsField:
		if c.All {
			return r.Metrics, r.Metrics != nil
		}
		if len(c.Keys) == 0 {
			return nil, false
		}
		m, ok := r.Metrics[c.Keys[0]]
		if !ok {
			return nil, false
		}
		part := "last"
		if len(c.Keys) > 1 {
			part = c.Keys[1]
		}
		switch part {
		case "min":
			return m.Min, true
		case "max":
			return m.Max, true
		case "count":
			return m.Count, true
		case "step":
			return m.LastStep, true
		}
		return m.Last, true
	}
	return nil, false
}

// valueAt follows path through decoded JSON objects.
func valueAt(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, k := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, len(path) > 0
}

// columnSet is what a page's columns need read: for tags and metadata,
// every key (all) or the listed keys.
type columnSet struct {
	tags, meta, metrics keySet
}

// keySet is a set of keys of one kind of column.
type keySet struct {
	wanted bool
	all    bool
	keys   []string
	seen   map[string]bool
}

func (k *keySet) add(c query.Column) {
	k.wanted = true
	if c.All {
		k.all = true
		return
	}
	if k.seen == nil {
		k.seen = map[string]bool{}
	}
	if key := c.Keys[0]; !k.seen[key] {
		k.seen[key] = true
		k.keys = append(k.keys, key)
	}
}

// parseColumns parses the columns of WithColumns.
func parseColumns(specs []string) ([]query.Column, columnSet, error) {
	var set columnSet
	cols := make([]query.Column, 0, len(specs))
	for _, s := range specs {
		c, err := query.ParseColumn(s)
		if err != nil {
			return nil, set, fmt.Errorf("%w: column %q: %w", ErrInvalidArgument, s, err)
		}
		switch c.Field {
		case "tags":
			set.tags.add(c)
		case "metadata":
			set.meta.add(c)
		case query.MetricsField:
			set.metrics.add(c)
		}
		cols = append(cols, c)
	}
	return cols, set, nil
}

// columnsOf returns the rows of the resources rows, in that order, with
// the values want names: one statement for each kind of column, each over
// all the rows at once.
func (x *txn) columnsOf(ctx context.Context, rows []resourceRow, want columnSet) ([]Row, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Row, len(rows))
	index := make(map[int64]int, len(rows))
	seqs := make([]int64, len(rows))
	for i, r := range rows {
		out[i].Resource = r.resource()
		index[r.Seq] = i
		seqs[i] = r.Seq
	}
	seqArr, err := json.Marshal(seqs)
	if err != nil {
		return nil, err
	}
	if want.tags.wanted {
		for i := range out {
			out[i].Tags = map[string]string{}
		}
		err := x.keyValuesOfSeqs(ctx, x.sql.TagsOfSeqs, x.sql.TagsOfSeqsKeys, string(seqArr), want.tags, func(seq int64, k, v string) error {
			out[index[seq]].Tags[k] = v
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if want.metrics.wanted {
		var keys []string
		if !want.metrics.all {
			keys = want.metrics.keys
		}
		sums, err := x.metricSummariesOfSeqs(ctx, string(seqArr), keys)
		if err != nil {
			return nil, err
		}
		for i := range out {
			list := sums[rows[i].Seq]
			out[i].Metrics = make(map[string]MetricSummary, len(list))
			for _, s := range list {
				out[i].Metrics[s.Key] = metricSummary(s.Key, s.Summary)
			}
		}
	}
	if want.meta.wanted {
		for i := range out {
			out[i].Metadata = map[string]any{}
		}
		err := x.keyValuesOfSeqs(ctx, x.sql.MetadataOfSeqs, x.sql.MetadataOfSeqsKeys, string(seqArr), want.meta, func(seq int64, k, v string) error {
			d, err := decodeJSON([]byte(v))
			if err != nil {
				return fmt.Errorf("metadata %q of %s: %w", k, out[index[seq]].Ref(), err)
			}
			out[index[seq]].Metadata[k] = d
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keyValuesOfSeqs runs allQuery (every key) or keysQuery (the keys of ks)
// over the seqs of the JSON array seqArr and calls fn for each row.
func (x *txn) keyValuesOfSeqs(ctx context.Context, allQuery, keysQuery, seqArr string, ks keySet, fn func(seq int64, key, value string) error) error {
	var (
		rows *sql.Rows
		err  error
	)
	if ks.all {
		rows, err = x.cached().QueryContext(ctx, allQuery, seqArr)
	} else {
		keyArr, merr := json.Marshal(ks.keys)
		if merr != nil {
			return merr
		}
		rows, err = x.cached().QueryContext(ctx, keysQuery, seqArr, string(keyArr))
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq        int64
			key, value string
		)
		if err := rows.Scan(&seq, &key, &value); err != nil {
			return x.scanned(err)
		}
		if err := fn(seq, key, value); err != nil {
			return err
		}
	}
	return x.scanned(rows.Err())
}

// metricSummariesOfSeqs reads the summaries of the series of the resources
// in the JSON array seqArr (only keys, when not nil) in one cached
// statement, scanned without reflection.
func (x *txn) metricSummariesOfSeqs(ctx context.Context, seqArr string, keys []string) (map[int64][]metricstore.NamedSummary, error) {
	args := []any{seqArr}
	if keys != nil {
		arr, err := json.Marshal(keys)
		if err != nil {
			return nil, err
		}
		args = append(args, string(arr))
	}
	query := x.sql.SummariesOfSet
	if keys != nil {
		query = x.sql.SummariesOfSetKeys
	}
	rows, err := x.cached().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	sums, err := metricstore.ScanSummaries(rows)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		err = x.scanned(err)
	}
	return sums, err
}
