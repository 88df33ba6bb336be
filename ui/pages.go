package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/lineage"
	"github.com/metatrack/metatrack/query"
)

// Limits of what one page shows.
const (
	recentRuns       = 15
	maxCompared      = 10
	maxCharts        = 12
	chartPoints      = 1000
	maxLineageNodes  = 150
	maxHistory       = 300
	maxInlineBytes   = 256 << 10
	defaultPageSize  = 50
	maxPageSize      = 500
	defaultDepth     = 2
	maxDepth         = 10
	csvPageSize      = 1000
	maxChildrenShown = 200
)

// parseAt reads the at parameter: the moment the page shows the store as
// of, zero for now.
func parseAt(r *http.Request) (time.Time, error) {
	s := strings.TrimSpace(r.URL.Query().Get("at"))
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := query.ParseTime(s); ok {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%w: bad time %q in ?at=: give RFC 3339 (2024-05-01T12:00:00Z), a time as the pages print it (2024-05-01 12:00:00, UTC) or a date (2024-05-01)", metatrack.ErrInvalidArgument, s)
}

// existedAt reports whether r existed at at (always, for zero at).
func existedAt(r metatrack.Resource, at time.Time) bool {
	return at.IsZero() || !r.CreatedAt.After(at)
}

// ---- home ----

type chainView struct {
	Head     metatrack.Resource
	Latest   metatrack.Resource
	Versions int
	Deployed []envVersion
	Aliases  []aliasView
}

type envVersion struct {
	Env     string
	Version metatrack.Resource
	Since   time.Time
}

type aliasView struct {
	Name    string
	Version metatrack.Resource
}

type runView struct {
	metatrack.Run
	// State is the status, or DIED for a RUNNING run whose process on
	// this host is gone, RUNNING? when it cannot be checked.
	State string
	Died  bool
	Ended time.Time
}

type homeData struct {
	base
	Chains     []chainView
	MoreChains string
	Runs       []runView
	Total      int
}

// chainsPage is how many chains the home page shows at once.
const chainsPage = 50

// chainsQuery lists the chain heads, newest first.
const chainsQuery = "(type = 'model' OR type = 'dataset') ORDER BY created_at DESC"

func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	at, err := parseAt(r)
	if err != nil {
		return err
	}
	data := homeData{base: h.base(r, "Home", at)}
	page, err := h.tr.Search(ctx, chainsQuery, metatrack.WithPageSize(chainsPage), metatrack.WithCursor(r.URL.Query().Get("chains")))
	if err != nil {
		return err
	}
	if page.Next != "" {
		v := r.URL.Query()
		v.Set("chains", page.Next)
		data.MoreChains = "/?" + v.Encode()
	}
	for _, head := range page.Resources {
		if !existedAt(head, at) {
			continue
		}
		cv := chainView{Head: head}
		versions, err := h.tr.Versions(ctx, head)
		if err != nil {
			return err
		}
		byID := map[string]metatrack.Resource{}
		for _, v := range versions {
			if existedAt(v, at) {
				cv.Versions++
				byID[v.ID] = v
				if v.Version > cv.Latest.Version {
					cv.Latest = v
				}
			}
		}
		if head.Type == metatrack.TypeModel {
			deps, err := h.tr.Deployments(ctx, head)
			if err != nil {
				return err
			}
			when := at
			if when.IsZero() {
				when = h.cfg.now()
			}
			cv.Deployed = deployedAt(deps, when)
			aliases, err := h.aliasesAt(ctx, head, at)
			if err != nil {
				return err
			}
			for _, name := range sortKeys(aliases) {
				cv.Aliases = append(cv.Aliases, aliasView{Name: name, Version: byID[aliases[name]]})
			}
		}
		data.Chains = append(data.Chains, cv)
	}
	runs, err := h.tr.Runs(ctx)
	if err != nil {
		return err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartedAt.After(runs[j].StartedAt) })
	for _, run := range runs {
		if !at.IsZero() && run.StartedAt.After(at) {
			continue
		}
		data.Total++
		if len(data.Runs) < recentRuns {
			data.Runs = append(data.Runs, h.runView(run, at))
		}
	}
	h.render(w, r, http.StatusOK, "home", data)
	return nil
}

// aliasesAt maps the alias names of a chain head to the ids of the
// versions they pointed to at at (now for zero at).
func (h *Handler) aliasesAt(ctx context.Context, head metatrack.Resource, at time.Time) (map[string]string, error) {
	if !at.IsZero() {
		st, _, err := h.stateAt(ctx, head, at)
		if err == nil && st.Aliases != nil {
			return st.Aliases, nil
		}
		if err != nil {
			return nil, err
		}
	}
	as, err := h.tr.Aliases(ctx, head)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(as))
	for _, a := range as {
		out[a.Name] = a.Version.ID
	}
	return out, nil
}

// stateAt returns res as it was at at. A resource that existed then but
// has no change log (bulk-loaded data has none) is given its current
// values, and noHistory says so.
func (h *Handler) stateAt(ctx context.Context, res metatrack.Resource, at time.Time) (st metatrack.State, noHistory bool, err error) {
	st, err = h.tr.StateAt(ctx, res, at)
	if err == nil || !errors.Is(err, metatrack.ErrNotFound) || !existedAt(res, at) {
		return st, false, err
	}
	hist, herr := h.tr.History(ctx, res)
	if herr != nil || len(hist) > 0 {
		return st, false, err
	}
	st = metatrack.State{At: at, Resource: res, Status: res.Status, Attrs: res.Attrs, Deployed: map[string]string{}}
	if st.Tags, err = h.tr.Tags(ctx, res); err != nil {
		return st, true, err
	}
	if st.Metadata, err = h.tr.Metadata(ctx, res); err != nil {
		return st, true, err
	}
	sums, err := h.tr.Metrics(ctx, res)
	if err != nil {
		return st, true, err
	}
	st.Metrics = map[string]metatrack.MetricSummary{}
	for _, s := range sums {
		st.Metrics[s.Key] = s
	}
	return st, true, nil
}

// deployedAt returns, per environment, the version deployed at at.
func deployedAt(deps []metatrack.Deployment, at time.Time) []envVersion {
	var out []envVersion
	for _, d := range deps {
		if !d.DeployedAt.After(at) && (d.Current() || d.UndeployedAt.After(at)) {
			out = append(out, envVersion{Env: d.Environment, Version: d.ModelVersion, Since: d.DeployedAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

func (h *Handler) runView(run metatrack.Run, at time.Time) runView {
	v := runView{Run: run, State: run.Status, Ended: run.EndedAt}
	if !at.IsZero() {
		if run.EndedAt.IsZero() || run.EndedAt.After(at) {
			v.State, v.Ended = metatrack.RunRunning, time.Time{}
		}
		return v
	}
	if run.Status == metatrack.RunRunning {
		switch {
		case !canCheckProcesses || run.Host == "" || run.Host != h.host || run.PID <= 0:
			v.State = "RUNNING?"
		case !processAlive(run.PID):
			v.State, v.Died = "DIED", true
		}
	}
	return v
}

// ---- search ----

type searchData struct {
	base
	Q, Cols, Sort string
	Desc          bool
	N             int
	Columns       []sortColumn
	Rows          []searchRow
	Next          string
	First         bool
	FirstLink     string
	Err           *queryErr
	Warnings      []metatrack.QueryWarning
	CSV           string
	Suggest       []string
	Ran           bool
	Sortable      bool
}

// sortColumn is a column header of the results: a link that sorts by it
// (descending when it sorts ascending now).
type sortColumn struct {
	Name, Link string
	// Order is ascending or descending when the results are sorted by it.
	Order string
}

func (h *Handler) sortColumn(r *http.Request, col, sortField string, desc bool) sortColumn {
	sc := sortColumn{Name: col}
	v := r.URL.Query()
	v.Del("cursor")
	v.Set("sort", col)
	v.Del("desc")
	if col == sortField {
		sc.Order = "ascending"
		if desc {
			sc.Order = "descending"
		} else {
			v.Set("desc", "1")
		}
	}
	sc.Link = "/search?" + v.Encode()
	return sc
}

type searchRow struct {
	Resource metatrack.Resource
	Status   string
	Values   []string
}

// queryErr is a query error placed in the text that was run.
type queryErr struct {
	Msg                  string
	Line, Column         int
	Before, At, After    string
	HasPosition, InQuery bool
}

var orderBy = regexp.MustCompile(`(?i)\border\s+by\b`)

// searchParams reads the search parameters: the filter that runs (the
// query, with ORDER BY from the sort control when the query has none) and
// the columns.
func searchParams(r *http.Request) (q, filter string, cols []string, sortField string, desc bool, err error) {
	v := r.URL.Query()
	q = v.Get("q")
	for _, c := range strings.Split(v.Get("cols"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			cols = append(cols, c)
		}
	}
	sortField = strings.TrimSpace(v.Get("sort"))
	desc = v.Get("desc") == "1"
	filter = q
	if sortField != "" && !orderBy.MatchString(q) {
		filter = strings.TrimRight(q, " \n\t") + " ORDER BY " + sortField
		if desc {
			filter += " DESC"
		}
	}
	return q, filter, cols, sortField, desc, nil
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	at, err := parseAt(r)
	if err != nil {
		return err
	}
	q, filter, cols, sortField, desc, _ := searchParams(r)
	v := r.URL.Query()
	n := defaultPageSize
	if s := v.Get("n"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > maxPageSize {
			return fmt.Errorf("%w: page size %q: want 1 to %d", metatrack.ErrInvalidArgument, s, maxPageSize)
		}
	}
	data := searchData{base: h.base(r, "Search", at), Q: q, Cols: v.Get("cols"), Sort: sortField, Desc: desc, N: n,
		First: v.Get("cursor") == "", Suggest: suggestions}
	for _, c := range cols {
		data.Columns = append(data.Columns, h.sortColumn(r, c, sortField, desc))
	}
	data.Sortable = !orderBy.MatchString(q)
	status := http.StatusOK
	if _, ran := v["q"]; ran {
		data.Ran = true
		opts := []metatrack.SearchOption{metatrack.WithPageSize(n), metatrack.WithCursor(v.Get("cursor"))}
		if len(cols) > 0 {
			opts = append(opts, metatrack.WithColumns(cols...))
		}
		page, err := h.tr.Search(ctx, filter, opts...)
		if err != nil {
			if !errors.Is(err, metatrack.ErrInvalidQuery) && !errors.Is(err, metatrack.ErrInvalidArgument) {
				return err
			}
			data.Err = placeError(err, filter, len(q))
			status = http.StatusBadRequest
		} else {
			if data.Warnings, err = h.tr.QueryWarnings(ctx, filter); err != nil {
				return err
			}
			for i, res := range page.Resources {
				if !existedAt(res, at) {
					continue
				}
				row := searchRow{Resource: res, Status: res.Status}
				var st *metatrack.State
				if !at.IsZero() {
					s, _, err := h.stateAt(ctx, res, at)
					if err != nil {
						return err
					}
					st, row.Status = &s, s.Status
				}
				for _, c := range page.Columns {
					row.Values = append(row.Values, columnValue(page.Rows[i], c, st))
				}
				data.Rows = append(data.Rows, row)
			}
			fv := r.URL.Query()
			fv.Del("cursor")
			data.FirstLink = "/search?" + fv.Encode()
			if page.Next != "" {
				nv := r.URL.Query()
				nv.Set("cursor", page.Next)
				data.Next = "/search?" + nv.Encode()
			}
			cv := r.URL.Query()
			cv.Del("cursor")
			cv.Del("n")
			data.CSV = "/search.csv?" + cv.Encode()
		}
	}
	h.render(w, r, status, "search", data)
	return nil
}

// suggestions are the columns the search page offers.
var suggestions = []string{"status", "version", "created_at", "parent", "tags.*", "metadata.*", "attrs.*", "metrics.*"}

// placeError places a query error in filter, the text that ran (its first
// qlen bytes are the user's query).
func placeError(err error, filter string, qlen int) *queryErr {
	qe := &queryErr{Msg: err.Error()}
	var e *query.Error
	if !errors.As(err, &e) {
		return qe
	}
	qe.Msg = e.Msg
	if e.Line == 0 {
		return qe
	}
	qe.HasPosition, qe.Line, qe.Column = true, e.Line, e.Column
	off := min(max(e.Offset, 0), len(filter))
	end := off
	if end < len(filter) {
		_, size := utf8DecodeRune(filter[end:])
		end += size
	}
	qe.Before, qe.At, qe.After = filter[:off], filter[off:end], filter[end:]
	qe.InQuery = off < qlen || qlen == len(filter)
	return qe
}

func utf8DecodeRune(s string) (rune, int) {
	for i, r := range s {
		if i > 0 {
			return r, i
		}
	}
	return 0, len(s)
}

// columnValue is the text of column c of row, or with st of the state at
// a time (for tags, metadata, attributes, status and metrics).
func columnValue(row metatrack.Row, c query.Column, st *metatrack.State) string {
	if st != nil {
		switch c.Field {
		case "status":
			return st.Status
		case "tags", "metadata", "attrs", "metrics":
			return stateValue(*st, c)
		}
	}
	v, ok := row.Value(c)
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case time.Time:
		return fmtTime(v)
	case metatrack.MetricSummary:
		return fmtNum(v.Last)
	case float64:
		return fmtNum(v)
	}
	return fmtValue(v)
}

func stateValue(st metatrack.State, c query.Column) string {
	var m map[string]any
	switch c.Field {
	case "tags":
		if c.All {
			return fmtValue(st.Tags)
		}
		return st.Tags[c.Keys[0]]
	case "metadata":
		m = st.Metadata
	case "attrs":
		m = st.Attrs
	case "metrics":
		if c.All {
			out := map[string]float64{}
			for k, s := range st.Metrics {
				out[k] = s.Last
			}
			return fmtValue(out)
		}
		s, ok := st.Metrics[c.Keys[0]]
		if !ok {
			return ""
		}
		part := "last"
		if len(c.Keys) > 1 {
			part = c.Keys[1]
		}
		switch part {
		case "min":
			return fmtNum(s.Min)
		case "max":
			return fmtNum(s.Max)
		case "count":
			return strconv.FormatInt(s.Count, 10)
		case "step":
			return strconv.FormatInt(s.LastStep, 10)
		}
		return fmtNum(s.Last)
	}
	if c.All {
		return fmtValue(m)
	}
	var v any = m
	for _, k := range c.Keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if v, ok = mm[k]; !ok {
			return ""
		}
	}
	return fmtValue(v)
}

// searchCSV writes every match of the query, with its columns, as CSV.
func (h *Handler) searchCSV(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	at, err := parseAt(r)
	if err != nil {
		return err
	}
	_, filter, cols, _, _, _ := searchParams(r)
	opts := []metatrack.SearchOption{metatrack.WithPageSize(csvPageSize)}
	if len(cols) > 0 {
		opts = append(opts, metatrack.WithColumns(cols...))
	}
	page, err := h.tr.Search(ctx, filter, opts...)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="metatrack-search.csv"`)
	cw := csv.NewWriter(w)
	header := []string{"id", "ref", "type", "name", "version", "status", "created_at"}
	for _, c := range page.Columns {
		header = append(header, c.String())
	}
	cw.Write(header)
	for {
		for i, res := range page.Resources {
			if !existedAt(res, at) {
				continue
			}
			status := res.Status
			var st *metatrack.State
			if !at.IsZero() {
				s, _, err := h.stateAt(ctx, res, at)
				if err != nil {
					return err
				}
				st, status = &s, s.Status
			}
			rec := []string{res.ID, res.Ref(), res.Type, res.Name, strconv.Itoa(res.Version), status, res.CreatedAt.UTC().Format(time.RFC3339Nano)}
			for _, c := range page.Columns {
				rec = append(rec, columnValue(page.Rows[i], c, st))
			}
			cw.Write(rec)
		}
		if page.Next == "" {
			break
		}
		if page, err = h.tr.Search(ctx, filter, append(opts, metatrack.WithCursor(page.Next))...); err != nil {
			// The header is out: the error can only end the file.
			cw.Flush()
			fmt.Fprintf(w, "\nerror: %s\n", err)
			return nil
		}
	}
	cw.Flush()
	return cw.Error()
}

// ---- compare ----

type compareData struct {
	base
	Resources []metatrack.Resource
	Rows      []compareRow
	Charts    []chart
	Differ    int
}

type compareRow struct {
	Key     string
	Values  []string
	Differs bool
}

func (h *Handler) compare(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	at, err := parseAt(r)
	if err != nil {
		return err
	}
	var refs []string
	for _, s := range r.URL.Query()["r"] {
		for _, ref := range strings.Split(s, ",") {
			if ref = strings.TrimSpace(ref); ref != "" && !slices.Contains(refs, ref) {
				refs = append(refs, ref)
			}
		}
	}
	if len(refs) > maxCompared {
		return fmt.Errorf("%w: %d resources to compare: at most %d", metatrack.ErrInvalidArgument, len(refs), maxCompared)
	}
	data := compareData{base: h.base(r, "Compare", at)}
	type values struct {
		fields   map[string]string
		tags     map[string]string
		metadata map[string]any
		attrs    map[string]any
		metrics  map[string]metatrack.MetricSummary
	}
	var all []values
	for _, ref := range refs {
		res, err := h.tr.GetResource(ctx, ref, "")
		if err != nil {
			return err
		}
		if !existedAt(res, at) {
			return fmt.Errorf("%w: %s was created at %s, after %s", metatrack.ErrNotFound, res.Ref(), fmtTime(res.CreatedAt), fmtTime(at))
		}
		vals := values{fields: map[string]string{"type": res.Type, "status": res.Status, "created_at": fmtTime(res.CreatedAt), "run": res.RunID}}
		if res.ParentID != "" {
			vals.fields["parent"] = res.ParentRef
		}
		if at.IsZero() {
			if vals.tags, err = h.tr.Tags(ctx, res); err != nil {
				return err
			}
			if vals.metadata, err = h.tr.Metadata(ctx, res); err != nil {
				return err
			}
			vals.attrs = res.Attrs
			sums, err := h.tr.Metrics(ctx, res)
			if err != nil {
				return err
			}
			vals.metrics = map[string]metatrack.MetricSummary{}
			for _, s := range sums {
				vals.metrics[s.Key] = s
			}
		} else {
			st, _, err := h.stateAt(ctx, res, at)
			if err != nil {
				return err
			}
			vals.fields["status"] = st.Status
			vals.tags, vals.metadata, vals.attrs, vals.metrics = st.Tags, st.Metadata, st.Attrs, st.Metrics
		}
		data.Resources = append(data.Resources, res)
		all = append(all, vals)
	}
	addRows := func(prefix string, get func(v values) map[string]string) {
		keys := map[string]bool{}
		for _, v := range all {
			for k := range get(v) {
				keys[k] = true
			}
		}
		for _, k := range sortKeys(keys) {
			row := compareRow{Key: prefix + k}
			for i, v := range all {
				s, ok := get(v)[k]
				if !ok {
					s = "—"
				}
				row.Values = append(row.Values, s)
				if i > 0 && s != row.Values[0] {
					row.Differs = true
				}
			}
			if row.Differs {
				data.Differ++
			}
			data.Rows = append(data.Rows, row)
		}
	}
	text := func(m map[string]any) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = fmtValue(v)
		}
		return out
	}
	addRows("", func(v values) map[string]string { return v.fields })
	addRows("attrs.", func(v values) map[string]string { return text(v.attrs) })
	addRows("tags.", func(v values) map[string]string { return v.tags })
	addRows("metadata.", func(v values) map[string]string { return text(v.metadata) })
	addRows("metrics.", func(v values) map[string]string {
		out := map[string]string{}
		for k, s := range v.metrics {
			out[k] = fmtNum(s.Last)
		}
		return out
	})
	keys := map[string]bool{}
	for _, v := range all {
		for k := range v.metrics {
			keys[k] = true
		}
	}
	for _, key := range sortKeys(keys) {
		if len(data.Charts) == maxCharts {
			break
		}
		c, err := h.chart(r, key, data.Resources, at)
		if err != nil {
			return err
		}
		data.Charts = append(data.Charts, c)
	}
	h.render(w, r, http.StatusOK, "compare", data)
	return nil
}

// chart is one metric chart: the series key of each resource, downsampled
// on the server to chartPoints, overlaid on steps.
type chart struct {
	ID    string
	Title string
	Spec  template.JS
}

type chartSpec struct {
	Title  string        `json:"title"`
	X      []int64       `json:"x"`
	Series []chartSeries `json:"series"`
}

type chartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
}

var chartSeq = strings.NewReplacer(".", "-", " ", "-", "/", "-")

func (h *Handler) chart(r *http.Request, key string, resources []metatrack.Resource, at time.Time) (chart, error) {
	opts := []metatrack.MetricHistoryOption{metatrack.WithMaxPoints(chartPoints)}
	if !at.IsZero() {
		opts = append(opts, metatrack.WithTimeRange(time.Time{}, at))
	}
	type series struct {
		label string
		pts   map[int64]float64
	}
	var ss []series
	steps := map[int64]bool{}
	for _, res := range resources {
		pts, err := h.tr.MetricHistory(r.Context(), res, key, opts...)
		if errors.Is(err, metatrack.ErrNotFound) {
			pts, err = nil, nil
		}
		if err != nil {
			return chart{}, err
		}
		s := series{label: res.Ref(), pts: make(map[int64]float64, len(pts))}
		for _, p := range pts {
			s.pts[p.Step] = p.Value
			steps[p.Step] = true
		}
		ss = append(ss, s)
	}
	spec := chartSpec{Title: key}
	for s := range steps {
		spec.X = append(spec.X, s)
	}
	slices.Sort(spec.X)
	for _, s := range ss {
		cs := chartSeries{Label: s.label, Values: make([]*float64, len(spec.X))}
		for i, x := range spec.X {
			if v, ok := s.pts[x]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				cs.Values[i] = &v
			}
		}
		spec.Series = append(spec.Series, cs)
	}
	b, err := json.Marshal(spec) // escapes <, > and &: safe in a script element
	if err != nil {
		return chart{}, err
	}
	return chart{ID: "chart-" + chartSeq.Replace(key), Title: key, Spec: template.JS(b)}, nil
}

// ---- resource ----

type resourceData struct {
	base
	R          metatrack.Resource
	Status     string
	Parent     *metatrack.Resource
	Fields     []kv
	Attrs      []kv
	Tags       []kv
	Metadata   []kv
	VC         []vcView
	Metrics    []metatrack.MetricSummary
	Charts     []chart
	Artifacts  []artifactView
	Versions   []metatrack.Resource
	Children   []metatrack.Resource
	MoreKids   int
	Aliases    []aliasView
	Deployed   []envVersion
	History    []metatrack.Change
	MoreHist   int
	Lineage    template.JS
	Nodes      []lineageNode
	Dir        string
	Depth      int
	Truncated  bool
	NoHistory  bool
	IsModel    bool
	Comparable bool
}

type kv struct{ Key, Value string }

type vcView struct {
	Key    string
	Fields []kv
}

type artifactView struct {
	metatrack.Artifact
	Download string
	Image    string
	Text     string
}

type lineageNode struct {
	ID, Ref, Href, Type string
	Depth               int
}

func kvs[V any](m map[string]V) []kv {
	out := make([]kv, 0, len(m))
	for _, k := range sortKeys(m) {
		out = append(out, kv{k, fmtValue(any(m[k]))})
	}
	return out
}

func (h *Handler) resource(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	at, err := parseAt(r)
	if err != nil {
		return err
	}
	res, err := h.tr.GetResource(ctx, r.PathValue("ref"), "")
	if err != nil {
		return err
	}
	if !existedAt(res, at) {
		return fmt.Errorf("%w: %s did not exist yet at %s (created %s)", metatrack.ErrNotFound, res.Ref(), fmtTime(at), fmtTime(res.CreatedAt))
	}
	v := r.URL.Query()
	data := resourceData{base: h.base(r, res.Ref(), at), R: res, Status: res.Status, Dir: "both", Depth: defaultDepth,
		IsModel: res.Type == metatrack.TypeModel}
	if d := v.Get("dir"); d != "" {
		data.Dir = d
	}
	if s := v.Get("depth"); s != "" {
		if data.Depth, err = strconv.Atoi(s); err != nil || data.Depth < 1 || data.Depth > maxDepth {
			return fmt.Errorf("%w: lineage depth %q: want 1 to %d", metatrack.ErrInvalidArgument, s, maxDepth)
		}
	}
	dir := map[string]lineage.Direction{"up": lineage.Upstream, "down": lineage.Downstream, "both": lineage.Both}[data.Dir]
	if dir == 0 {
		return fmt.Errorf("%w: lineage direction %q: want up, down or both", metatrack.ErrInvalidArgument, data.Dir)
	}
	if res.ParentID != "" {
		p, err := h.tr.GetResource(ctx, res.ParentID, "")
		if err != nil {
			return err
		}
		data.Parent = &p
	}
	data.Fields = []kv{{"id", res.ID}, {"type", res.Type}, {"name", res.Name}}
	if res.Version > 0 {
		data.Fields = append(data.Fields, kv{"version", strconv.Itoa(res.Version)})
	}
	data.Fields = append(data.Fields, kv{"created", fmtTime(res.CreatedAt)}, kv{"updated", fmtTime(res.UpdatedAt)})
	if !res.StartedAt.IsZero() {
		data.Fields = append(data.Fields, kv{"started", fmtTime(res.StartedAt)})
	}
	if !res.EndedAt.IsZero() && (at.IsZero() || !res.EndedAt.After(at)) {
		data.Fields = append(data.Fields, kv{"ended", fmtTime(res.EndedAt)})
	}
	data.Fields = append(data.Fields, kv{"run", res.RunID})
	var metrics map[string]metatrack.MetricSummary
	if at.IsZero() {
		tags, err := h.tr.Tags(ctx, res)
		if err != nil {
			return err
		}
		md, err := h.tr.Metadata(ctx, res)
		if err != nil {
			return err
		}
		data.Tags, data.Metadata, data.Attrs = kvs(tags), kvs(md), kvs(res.Attrs)
		if data.Metrics, err = h.tr.Metrics(ctx, res); err != nil {
			return err
		}
	} else {
		st, noHistory, err := h.stateAt(ctx, res, at)
		if err != nil {
			return err
		}
		data.NoHistory = noHistory
		data.Status = st.Status
		data.Tags, data.Metadata, data.Attrs = kvs(st.Tags), kvs(st.Metadata), kvs(st.Attrs)
		metrics = st.Metrics
		for _, k := range sortKeys(metrics) {
			data.Metrics = append(data.Metrics, metrics[k])
		}
	}
	for _, m := range data.Metrics {
		if len(data.Charts) == maxCharts {
			break
		}
		c, err := h.chart(r, m.Key, []metatrack.Resource{res}, at)
		if err != nil {
			return err
		}
		data.Charts = append(data.Charts, c)
	}
	vcs, err := h.tr.VCInfos(ctx, res)
	if err != nil {
		return err
	}
	for _, k := range sortKeys(vcs) {
		data.VC = append(data.VC, vcView{Key: k, Fields: kvs(vcs[k])})
	}
	if err := h.artifacts(r, res, at, &data); err != nil {
		return err
	}
	if res.Type == metatrack.TypeDataset || res.Type == metatrack.TypeModel {
		vs, err := h.tr.Versions(ctx, res)
		if err != nil {
			return err
		}
		for _, x := range vs {
			if existedAt(x, at) {
				data.Versions = append(data.Versions, x)
			}
		}
	}
	kids, err := h.tr.Children(ctx, res, "")
	if err != nil {
		return err
	}
	for _, k := range kids {
		if !existedAt(k, at) || (res.Type == metatrack.TypeDataset || res.Type == metatrack.TypeModel) && k.Version > 0 {
			continue
		}
		if len(data.Children) == maxChildrenShown {
			data.MoreKids++
			continue
		}
		data.Children = append(data.Children, k)
		if k.Type == metatrack.TypeExperiment {
			data.Comparable = true
		}
	}
	if err := h.modelState(r, res, at, &data); err != nil {
		return err
	}
	hist, err := h.tr.History(ctx, res)
	if err != nil {
		return err
	}
	for i := len(hist) - 1; i >= 0; i-- {
		c := hist[i]
		if !at.IsZero() && c.At.After(at) {
			continue
		}
		if len(data.History) == maxHistory {
			data.MoreHist++
			continue
		}
		data.History = append(data.History, c)
	}
	if err := h.lineage(r, res, dir, at, &data); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "resource", data)
	return nil
}

// modelState fills the aliases and deployments of a model or model version.
func (h *Handler) modelState(r *http.Request, res metatrack.Resource, at time.Time, data *resourceData) error {
	ctx := r.Context()
	var model metatrack.Resource
	switch res.Type {
	case metatrack.TypeModel:
		model = res
	case metatrack.TypeModelVersion:
		model = *data.Parent
	default:
		return nil
	}
	deps, err := h.tr.Deployments(ctx, model)
	if err != nil {
		return err
	}
	when := at
	if when.IsZero() {
		when = h.cfg.now()
	}
	for _, d := range deployedAt(deps, when) {
		if res.Type == metatrack.TypeModel || d.Version.ID == res.ID {
			data.Deployed = append(data.Deployed, d)
		}
	}
	aliases, err := h.aliasesAt(ctx, model, at)
	if err != nil {
		return err
	}
	for _, name := range sortKeys(aliases) {
		id := aliases[name]
		if res.Type == metatrack.TypeModelVersion && id != res.ID {
			continue
		}
		v, err := h.tr.GetResource(ctx, id, "")
		if err != nil {
			return err
		}
		data.Aliases = append(data.Aliases, aliasView{Name: name, Version: v})
	}
	return nil
}

// inlineImage are the media types shown in place as images (an SVG in an
// img element runs no script).
var inlineImage = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/svg+xml": true}

func baseMediaType(mt string) string {
	mt, _, _ = strings.Cut(mt, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func isJSON(a metatrack.Artifact) bool {
	mt := baseMediaType(a.MediaType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.EqualFold(path.Ext(a.Name), ".json")
}

func isText(a metatrack.Artifact) bool {
	mt := baseMediaType(a.MediaType)
	return mt == "text/plain" || mt == "text/csv" || mt == "text/markdown"
}

func (h *Handler) artifacts(r *http.Request, res metatrack.Resource, at time.Time, data *resourceData) error {
	ctx := r.Context()
	arts, err := h.tr.Artifacts(ctx, res, "")
	if err != nil {
		return err
	}
	for _, a := range arts {
		if !at.IsZero() && a.CreatedAt.After(at) {
			continue
		}
		av := artifactView{Artifact: a}
		if !a.External() {
			av.Download = artifactPath(res, a.Name, false)
			switch {
			case inlineImage[baseMediaType(a.MediaType)]:
				av.Image = artifactPath(res, a.Name, true)
			case (isJSON(a) || isText(a)) && a.Size <= maxInlineBytes:
				text, err := h.artifactText(r, res, a)
				if err != nil {
					return err
				}
				av.Text = text
			}
		}
		data.Artifacts = append(data.Artifacts, av)
	}
	return nil
}

func artifactPath(res metatrack.Resource, name string, inline bool) string {
	q := "/artifact?res=" + url.QueryEscape(res.ID) + "&name=" + url.QueryEscape(name)
	if inline {
		q += "&inline=1"
	}
	return q
}

// artifactText reads a small JSON or text artifact for showing in place
// (JSON indented).
func (h *Handler) artifactText(r *http.Request, res metatrack.Resource, a metatrack.Artifact) (string, error) {
	_, rc, err := h.tr.GetArtifact(r.Context(), res, a.Name)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxInlineBytes+1))
	if err != nil {
		return "", err
	}
	if isJSON(a) {
		var buf bytes.Buffer
		if json.Indent(&buf, b, "", "  ") == nil {
			return buf.String(), nil
		}
	}
	return string(b), nil
}

// artifact serves the bytes of an artifact: as a download, or with
// inline=1 an image for an img element.
func (h *Handler) artifact(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	resID, name := v.Get("res"), v.Get("name")
	if resID == "" || name == "" {
		return fmt.Errorf("%w: /artifact needs res (an id or reference) and name", metatrack.ErrInvalidArgument)
	}
	res, err := h.tr.GetResource(r.Context(), resID, "")
	if err != nil {
		return err
	}
	arts, err := h.tr.Artifacts(r.Context(), res, "")
	if err != nil {
		return err
	}
	i := slices.IndexFunc(arts, func(a metatrack.Artifact) bool { return a.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: %s has no artifact %q", metatrack.ErrNotFound, res.Ref(), name)
	}
	if arts[i].External() {
		return fmt.Errorf("%w: artifact %q of %s is external (%s): its bytes are not in the store", metatrack.ErrNotFound, name, res.Ref(), arts[i].URI)
	}
	a, rc, err := h.tr.GetArtifact(r.Context(), res, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	hd := w.Header()
	mt := baseMediaType(a.MediaType)
	if v.Get("inline") == "1" && inlineImage[mt] {
		hd.Set("Content-Type", mt)
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	} else {
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(path.Base(a.Name)))
	}
	hd.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	if a.SHA256 != "" {
		hd.Set("ETag", `"`+a.SHA256+`"`)
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The status is out: a broken download is all that can be said.
		h.cfg.logger.Error("ui: artifact download", "res", res.ID, "name", name, "err", err)
	}
	return nil
}

// lineage fills the lineage picture of res.
func (h *Handler) lineage(r *http.Request, res metatrack.Resource, dir lineage.Direction, at time.Time, data *resourceData) error {
	ctx := r.Context()
	g, err := h.tr.Lineage(ctx, []metatrack.Resource{res}, lineage.Options{Direction: dir, MaxDepth: data.Depth, MaxNodes: maxLineageNodes})
	if err != nil {
		return err
	}
	data.Truncated = g.Truncated
	type elem struct {
		Data map[string]any `json:"data"`
	}
	var els []elem
	ids := map[int64]string{}
	for _, n := range g.Nodes {
		if !at.IsZero() && n.Depth > 0 {
			x, err := h.tr.GetResource(ctx, n.ID, "")
			if err != nil {
				return err
			}
			if !existedAt(x, at) {
				continue
			}
		}
		ids[n.Seq] = n.ID
		href := data.L(refPath(n.Ref()))
		data.Nodes = append(data.Nodes, lineageNode{ID: n.ID, Ref: n.Ref(), Href: href, Type: n.Type, Depth: n.Depth})
		label := n.Type + "/" + n.Name
		if n.Version > 0 {
			label += "@" + strconv.Itoa(n.Version)
		}
		els = append(els, elem{map[string]any{"id": n.ID, "label": label, "ref": n.Ref(), "href": href, "type": n.Type, "start": n.Depth == 0}})
	}
	for _, e := range g.Edges {
		src, ok1 := ids[e.Src]
		dst, ok2 := ids[e.Dst]
		if ok1 && ok2 {
			els = append(els, elem{map[string]any{"id": fmt.Sprintf("e%d-%d-%s", e.Src, e.Dst, e.Relation), "source": src, "target": dst, "label": e.Relation}})
		}
	}
	b, err := json.Marshal(map[string]any{"elements": els, "root": res.ID})
	if err != nil {
		return err
	}
	data.Lineage = template.JS(b)
	return nil
}

// ---- deployments ----

// modelsPage is how many models the deployments page shows at once.
const modelsPage = 50

// modelsQuery lists the models, newest first.
const modelsQuery = "type = 'model' ORDER BY created_at DESC"

type deploymentsData struct {
	base
	More   string
	Models []modelDeployments
	Never  int
	End    time.Time
}

type modelDeployments struct {
	Model   metatrack.Resource
	Envs    []envTimeline
	Aliases []aliasView
	Start   time.Time
}

type envTimeline struct {
	Env   string
	Items []deploymentView
}

type deploymentView struct {
	metatrack.Deployment
	// Until is when it ended, zero while current (at the page's time).
	Until time.Time
	// Left and Width place its bar on the model's time axis, in percent.
	Left, Width string
}

func (h *Handler) deployments(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	at, err := parseAt(r)
	if err != nil {
		return err
	}
	end := at
	if end.IsZero() {
		end = h.cfg.now().UTC()
	}
	data := deploymentsData{base: h.base(r, "Deployments", at), End: end}
	page, err := h.tr.Search(ctx, modelsQuery, metatrack.WithPageSize(modelsPage), metatrack.WithCursor(r.URL.Query().Get("models")))
	if err != nil {
		return err
	}
	if page.Next != "" {
		v := r.URL.Query()
		v.Set("models", page.Next)
		data.More = "/deployments?" + v.Encode()
	}
	for _, m := range page.Resources {
		if !existedAt(m, at) {
			continue
		}
		deps, err := h.tr.Deployments(ctx, m)
		if err != nil {
			return err
		}
		md := modelDeployments{Model: m}
		byEnv := map[string][]deploymentView{}
		for _, d := range deps {
			if d.DeployedAt.After(end) {
				continue
			}
			dv := deploymentView{Deployment: d, Until: d.UndeployedAt}
			if !dv.Until.IsZero() && dv.Until.After(end) {
				dv.Until = time.Time{}
			}
			byEnv[d.Environment] = append(byEnv[d.Environment], dv)
			if md.Start.IsZero() || d.DeployedAt.Before(md.Start) {
				md.Start = d.DeployedAt
			}
		}
		if at.IsZero() {
			as, err := h.tr.Aliases(ctx, m)
			if err != nil {
				return err
			}
			for _, a := range as {
				md.Aliases = append(md.Aliases, aliasView{Name: a.Name, Version: a.Version})
			}
		} else {
			aliases, err := h.aliasesAt(ctx, m, at)
			if err != nil {
				return err
			}
			for _, name := range sortKeys(aliases) {
				v, err := h.tr.GetResource(ctx, aliases[name], "")
				if err != nil {
					return err
				}
				md.Aliases = append(md.Aliases, aliasView{Name: name, Version: v})
			}
		}
		if len(byEnv) == 0 && len(md.Aliases) == 0 {
			data.Never++
			continue
		}
		span := end.Sub(md.Start)
		for _, env := range sortKeys(byEnv) {
			items := byEnv[env]
			sort.Slice(items, func(i, j int) bool { return items[i].DeployedAt.Before(items[j].DeployedAt) })
			for i := range items {
				until := items[i].Until
				if until.IsZero() {
					until = end
				}
				left, width := 0.0, 100.0
				if span > 0 {
					left = 100 * float64(items[i].DeployedAt.Sub(md.Start)) / float64(span)
					width = max(100*float64(until.Sub(items[i].DeployedAt))/float64(span), 0.5)
				}
				items[i].Left, items[i].Width = fmt.Sprintf("%.2f%%", left), fmt.Sprintf("%.2f%%", min(width, 100-left))
			}
			slices.Reverse(items) // newest first in the list
			md.Envs = append(md.Envs, envTimeline{Env: env, Items: items})
		}
		data.Models = append(data.Models, md)
	}
	h.render(w, r, http.StatusOK, "deployments", data)
	return nil
}

// marshalJSON encodes v without escaping <, > and & (html/template
// escapes what it prints).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
