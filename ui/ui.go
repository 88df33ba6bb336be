// Package ui is metatrack's web UI: server-rendered pages over a Tracker
// for people who would rather look than read. Home (chains with their
// latest, deployed and aliased versions; recent runs), search (the query
// language, chosen columns, sort, paging, CSV), compare (trials side by
// side, their curves overlaid), a page per resource (values, metric
// charts, artifacts shown in place, change log, the lineage picture) and
// deployments (a timeline per model and environment). Every page takes
// ?at=T and then shows the store as it was at T.
//
// New returns an http.Handler that a program mounts at the root of its
// own server; metatrack serve mounts it beside the API. Pages are
// html/template; the charts (uPlot) and the lineage picture (Cytoscape.js)
// are vendored, minified, into static/vendor and embedded, so that the
// binary works offline and go build needs no Node.js. The go:generate line
// in embed.go rebuilds static/vendor exactly from jsdeps/package-lock.json.
package ui

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/metatrack/metatrack"
)

// SessionCookie is the name of the cookie that holds a logged-in
// browser's session.
const SessionCookie = "metatrack_session"

// SessionLifetime is how long a login lasts.
const SessionLifetime = 12 * time.Hour

// maxSessions bounds the session table.
const maxSessions = 10000

// Option configures New.
type Option func(*config)

type config struct {
	login  bool
	logger *slog.Logger
	now    func() time.Time
}

// WithTokenLogin makes every page ask for an API token of the tracker
// (see metatrack.Tracker.CreateToken; any role may read the UI) on a
// login page, which then sets an HttpOnly, SameSite=Strict session cookie
// (Secure when the request came over TLS). A revoked token ends its
// sessions at their next request. Without this option every page is open:
// for a server on a loopback address only.
func WithTokenLogin() Option { return func(c *config) { c.login = true } }

// WithLogger logs the errors of pages to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Handler serves the UI. It is an http.Handler.
type Handler struct {
	tr   *metatrack.Tracker
	cfg  config
	mux  *http.ServeMux
	tmpl map[string]*template.Template

	mu       sync.Mutex
	sessions map[string]session
	failures map[string][]time.Time
	host     string
}

type session struct {
	secret  string
	expires time.Time
}

// New returns the UI of tr. tr stays open: the caller closes it after the
// server has shut down.
func New(tr *metatrack.Tracker, opts ...Option) *Handler {
	cfg := config{logger: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Handler{tr: tr, cfg: cfg, mux: http.NewServeMux(), tmpl: parseTemplates(),
		sessions: map[string]session{}, failures: map[string][]time.Time{}, host: hostname()}
	h.mux.Handle("GET /static/", staticHandler())
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("POST /logout", h.logout)
	page := func(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
		h.mux.Handle(pattern, h.guard(fn))
	}
	page("GET /{$}", h.home)
	page("GET /search", h.search)
	page("GET /search.csv", h.searchCSV)
	page("GET /compare", h.compare)
	page("GET /r/{ref...}", h.resource)
	page("GET /artifact", h.artifact)
	page("GET /deployments", h.deployments)
	page("/", func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("%w: no page %s", metatrack.ErrNotFound, r.URL.Path)
	})
	return h
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// guard checks the session (with WithTokenLogin), then serves the page,
// rendering its error as an error page.
func (h *Handler) guard(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.login {
			ok, err := h.authenticated(r)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			if !ok {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// authenticated reports whether r carries the cookie of a live session
// whose token is still valid.
func (h *Handler) authenticated(r *http.Request) (bool, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return false, nil
	}
	h.mu.Lock()
	s, ok := h.sessions[c.Value]
	if ok && h.cfg.now().After(s.expires) {
		delete(h.sessions, c.Value)
		ok = false
	}
	h.mu.Unlock()
	if !ok {
		return false, nil
	}
	if _, err := h.tr.Authenticate(r.Context(), s.secret); errors.Is(err, metatrack.ErrNotFound) {
		h.mu.Lock()
		delete(h.sessions, c.Value)
		h.mu.Unlock()
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// Failed logins from one address: from maxFailures in failureWindow on,
// the address is refused until the window has passed.
const (
	failureWindow = time.Minute
	maxFailures   = 10
)

type loginData struct {
	base
	Next    string
	Message string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.login {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", loginData{base: h.base(r, "Log in", time.Time{}), Next: localPath(r.URL.Query().Get("next"))})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.login {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, fmt.Errorf("%w: the login form: %v", metatrack.ErrInvalidArgument, err))
		return
	}
	next := localPath(r.PostForm.Get("next"))
	data := loginData{base: h.base(r, "Log in", time.Time{}), Next: next}
	addr := clientAddr(r)
	now := h.cfg.now()
	h.mu.Lock()
	recent := h.recentFailures(addr, now)
	h.mu.Unlock()
	if recent >= maxFailures {
		data.Message = fmt.Sprintf("%d failed logins from %s in the last minute: wait a minute before trying again.", recent, addr)
		h.render(w, r, http.StatusTooManyRequests, "login", data)
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if secret == "" {
		data.Message = "Give a token (metatrack token create makes one)."
		h.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	if _, err := h.tr.Authenticate(r.Context(), secret); errors.Is(err, metatrack.ErrNotFound) {
		h.mu.Lock()
		h.failures[addr] = append(h.failures[addr], now)
		h.mu.Unlock()
		data.Message = "That token is not valid (unknown or revoked)."
		h.render(w, r, http.StatusUnauthorized, "login", data)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	var b [32]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	h.mu.Lock()
	if len(h.sessions) >= maxSessions {
		h.pruneSessions(now)
	}
	h.sessions[id] = session{secret: secret, expires: now.Add(SessionLifetime)}
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionLifetime / time.Second)})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		h.mu.Lock()
		delete(h.sessions, c.Value)
		h.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// recentFailures returns the failed logins of addr in the window, dropping
// older ones. h.mu is held.
func (h *Handler) recentFailures(addr string, now time.Time) int {
	fs := h.failures[addr]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) > failureWindow {
		i++
	}
	if fs = fs[i:]; len(fs) == 0 {
		delete(h.failures, addr)
	} else {
		h.failures[addr] = fs
	}
	if len(h.failures) > maxSessions {
		for a := range h.failures {
			if a != addr {
				delete(h.failures, a)
				break
			}
		}
	}
	return len(fs)
}

// pruneSessions drops expired sessions, and the one that expires first
// while the table is still full. h.mu is held.
func (h *Handler) pruneSessions(now time.Time) {
	var first string
	for id, s := range h.sessions {
		if now.After(s.expires) {
			delete(h.sessions, id)
		} else if first == "" || s.expires.Before(h.sessions[first].expires) {
			first = id
		}
	}
	if len(h.sessions) >= maxSessions {
		delete(h.sessions, first)
	}
}

// localPath returns p when it is a path on this server, "/" otherwise (no
// redirect to another site after login).
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

func clientAddr(r *http.Request) string {
	addr := r.RemoteAddr
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		addr = addr[:i]
	}
	return strings.Trim(addr, "[]")
}
