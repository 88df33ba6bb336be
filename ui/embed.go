package ui

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/metatrack/metatrack"
)

// The vendored JavaScript libraries, rebuilt exactly from the committed
// lock file (needs Node.js and npm; go build does not):
//
//go:generate sh -c "cd jsdeps && npm ci --ignore-scripts --no-audit --no-fund && cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/cytoscape/dist/cytoscape.min.js ../static/vendor/ && cp node_modules/uplot/LICENSE ../static/vendor/uplot.LICENSE && cp node_modules/cytoscape/LICENSE ../static/vendor/cytoscape.LICENSE"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticHandler serves the embedded stylesheet, script and vendored
// libraries under /static/.
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"time":  fmtTime,
	"value": fmtValue,
	"num":   fmtNum,
	"bytes": fmtBytes,
	"rlink": resourcePath,
	"short": shortHash,
	"long":  func(s string) bool { return len(s) > longValue },
	"clip":  clip,
	"join":  strings.Join,
}

// parseTemplates parses each page with the layout.
func parseTemplates() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, p))
	}
	return out
}

// base is what the layout of every page needs.
type base struct {
	Title string
	// At is the time travelled to, zero for now.
	At time.Time
	// Path and Query are the request's, for the time-travel form.
	Path  string
	Query url.Values
	Login bool
}

// L returns the link to path with the page's ?at= kept.
func (b base) L(path string) string {
	if b.At.IsZero() {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "at=" + url.QueryEscape(b.At.UTC().Format(time.RFC3339))
}

// AtValue is the at parameter as the form shows it.
func (b base) AtValue() string {
	if b.At.IsZero() {
		return ""
	}
	return b.At.UTC().Format("2006-01-02T15:04:05")
}

// Hidden are the request's parameters other than at, for the time-travel
// form to keep.
func (b base) Hidden() [][2]string {
	var out [][2]string
	for _, k := range sortKeys(b.Query) {
		if k == "at" || k == "cursor" {
			continue
		}
		for _, v := range b.Query[k] {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// NowLink is the page's link without at.
func (b base) NowLink() string {
	q := url.Values{}
	for _, kv := range b.Hidden() {
		q.Add(kv[0], kv[1])
	}
	if len(q) == 0 {
		return b.Path
	}
	return b.Path + "?" + q.Encode()
}

func (h *Handler) base(r *http.Request, title string, at time.Time) base {
	return base{Title: title, At: at, Path: r.URL.Path, Query: r.URL.Query(), Login: h.cfg.login}
}

// render writes page name with data.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := h.tmpl[name]
	if !ok {
		panic("ui: no template " + name)
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		h.cfg.logger.Error("ui: rendering", "page", name, "err", err)
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(buf.String()))
}

type errorData struct {
	base
	Status     int
	Message    string
	Candidates []metatrack.Resource
}

// fail renders err as an error page with the status its sentinel means.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, metatrack.ErrNotFound), errors.Is(err, metatrack.ErrDeleted):
		status = http.StatusNotFound
	case errors.Is(err, metatrack.ErrAmbiguous):
		status = http.StatusConflict
	case errors.Is(err, metatrack.ErrInvalidArgument), errors.Is(err, metatrack.ErrInvalidQuery):
		status = http.StatusBadRequest
	}
	if status == http.StatusInternalServerError {
		h.cfg.logger.Error("ui: page failed", "path", r.URL.Path, "err", err)
	}
	data := errorData{base: h.base(r, http.StatusText(status), time.Time{}), Status: status, Message: err.Error()}
	var amb *metatrack.AmbiguousError
	if errors.As(err, &amb) {
		data.Candidates = amb.Candidates
	}
	h.render(w, r, status, "error", data)
}

// resourcePath is the page of a resource: /r/ and its unique reference,
// each step escaped.
func resourcePath(r metatrack.Resource) string { return refPath(r.Ref()) }

func refPath(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/r/" + strings.Join(parts, "/")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// fmtValue shows a decoded JSON value: strings as they are, others as
// compact JSON.
func fmtValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmtNum(v)
	}
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.6g", v)
}

func fmtBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// longValue is the length from which a value is shown folded.
const longValue = 100

// clip returns the first 60 characters of s.
func clip(s string) string {
	n := 0
	for i := range s {
		if n == 60 {
			return s[:i]
		}
		n++
	}
	return s
}

func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func sortKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
