// Package server serves a metatrack Tracker over HTTP: one typed JSON
// endpoint per operation of the library (see package api for the wire
// format), artifact bytes streamed both ways, errors as
// {"error":{"code":...,"message":...}} with the library's own message, and
// the API's OpenAPI 3 description at /api/openapi.json.
//
// New returns an http.Handler that a program mounts in its own server; the
// metatrack serve command wires flags to it. Routing uses the standard
// library's ServeMux method-and-path patterns (Go 1.22): every route is a
// fixed path, so a router library would add a dependency and nothing else.
package server

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/rules"
)

// DefaultMaxBodyBytes limits the JSON body of a request (8 MiB: room for
// a large batch of metric points). Artifact uploads have their own limit.
const DefaultMaxBodyBytes = 8 << 20

// DefaultMaxArtifactBytes limits one artifact upload (16 GiB).
const DefaultMaxArtifactBytes = 16 << 30

// Role is what a caller may do: read, write (read and write), or admin
// (everything, including managing tokens).
type Role int

// Roles, each allowing what the one before allows.
const (
	RoleRead Role = iota + 1
	RoleWrite
	RoleAdmin
)

// String returns read, write or admin.
func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Option configures New.
type Option func(*config)

type config struct {
	maxBody     int64
	maxArtifact int64
	tempDir     string
	logger      *slog.Logger
	auth        Authenticator
}

// WithMaxBodyBytes limits the size of a JSON request body.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithMaxArtifactBytes limits the size of one artifact upload.
func WithMaxArtifactBytes(n int64) Option { return func(c *config) { c.maxArtifact = n } }

// WithTempDir sets where uploads are spooled before they are stored
// (default: the system's temporary directory).
func WithTempDir(dir string) Option { return func(c *config) { c.tempDir = dir } }

// WithLogger logs one structured line per request to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Authenticator decides who makes a request: it returns the caller's role
// and a name the change log records, or an error matching
// api.ErrUnauthorized (or api.ErrTooManyRequests).
type Authenticator func(r *http.Request) (role Role, actor string, err error)

// WithAuth makes every API request pass auth; without it every caller
// is admin (for a server on a loopback address only).
func WithAuth(auth Authenticator) Option { return func(c *config) { c.auth = auth } }

// Handler serves the API. It is an http.Handler.
type Handler struct {
	tr  *metatrack.Tracker
	cfg config
	mux *http.ServeMux
}

// New returns the API handler of tr. tr stays open: the caller closes it
// after the server has shut down.
func New(tr *metatrack.Tracker, opts ...Option) *Handler {
	cfg := config{maxBody: DefaultMaxBodyBytes, maxArtifact: DefaultMaxArtifactBytes, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Handler{tr: tr, cfg: cfg, mux: http.NewServeMux()}
	methods := map[string][]string{}
	for _, e := range Endpoints() {
		h.mux.Handle(e.Method+" "+e.Path, h.guard(e, e.serve))
		methods[e.Path] = append(methods[e.Path], e.Method)
	}
	for path, ms := range methods {
		// Without this the mux would answer a wrong method in plain text.
		h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(ms, ", "))
			writeError(w, fmt.Errorf("%w: %s %s: use %s", api.ErrMethodNotAllowed, r.Method, path, strings.Join(ms, " or ")))
		})
	}
	h.mux.HandleFunc("GET /api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI)
	})
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no operation %s %s (see /api/openapi.json)", metatrack.ErrNotFound, r.Method, r.URL.Path))
	})
	return h
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// OpenAPI is the API's OpenAPI 3 description, served at /api/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

type viewKey struct{}

// tracker returns the tracker that serves r: a view whose writes record
// the client's run when r names one (see guard), h's tracker otherwise.
func (h *Handler) tracker(r *http.Request) *metatrack.Tracker {
	if v, ok := r.Context().Value(viewKey{}).(*metatrack.Tracker); ok {
		return v
	}
	return h.tr
}

// guard authenticates the request, checks the endpoint's role and, for a
// write (or Run) of a client that started a run, makes the view of the
// tracker whose writes record it.
func (h *Handler) guard(e Endpoint, next func(*Handler, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.auth != nil {
			role, actor, err := h.cfg.auth(r)
			if err != nil {
				writeError(w, err)
				return
			}
			if role < e.Role {
				writeError(w, fmt.Errorf("%w: %s needs a %s token; this one is %s", api.ErrForbidden, e.Op, e.Role, role))
				return
			}
			r = r.WithContext(metatrack.WithActor(r.Context(), actor))
		}
		if id := r.Header.Get(api.HeaderRun); id != "" && (e.Role >= RoleWrite || e.Op == "Run") {
			view, err := h.tr.ForRun(r.Context(), id)
			if err != nil {
				writeError(w, fmt.Errorf("%s header: %w", api.HeaderRun, err))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), viewKey{}, view))
		}
		next(h, w, r)
	})
}

// Endpoint describes one operation of the API.
type Endpoint struct {
	// Op is the operation's name, the last element of its path.
	Op     string
	Method string
	Path   string
	// Role is the least role that may call it.
	Role Role
	// Request and Response are the types of its JSON bodies (nil for a
	// stream).
	Request, Response reflect.Type
	// Doc says what it does.
	Doc   string
	serve func(*Handler, http.ResponseWriter, *http.Request)
}

// rpc makes the endpoint POST /api/v1/<op> that decodes a Req, calls fn and
// encodes its Resp.
func rpc[Req, Resp any](op string, role Role, doc string, fn func(ctx context.Context, tr *metatrack.Tracker, req Req) (Resp, error)) Endpoint {
	return Endpoint{
		Op: op, Method: http.MethodPost, Path: "/api/v1/" + op, Role: role, Doc: doc,
		Request: reflect.TypeFor[Req](), Response: reflect.TypeFor[Resp](),
		serve: func(h *Handler, w http.ResponseWriter, r *http.Request) {
			var req Req
			if err := decode(w, r, h.cfg.maxBody, &req); err != nil {
				writeError(w, err)
				return
			}
			key := r.Header.Get(api.HeaderIdempotencyKey)
			if role < RoleWrite || key == "" {
				resp, err := fn(r.Context(), h.tracker(r), req)
				if err != nil {
					writeError(w, err)
					return
				}
				writeJSON(w, http.StatusOK, resp)
				return
			}
			// The write and the record of its key commit together: a retry
			// with the key gets this response and changes nothing.
			b, replayed, err := h.tracker(r).Once(r.Context(), key, op, func(tx *metatrack.Tracker) ([]byte, error) {
				resp, err := fn(r.Context(), tx, req)
				if err != nil {
					return nil, err
				}
				return marshal(resp)
			})
			if err != nil {
				writeError(w, err)
				return
			}
			if replayed {
				w.Header().Set("Idempotent-Replayed", "true")
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(append(b, '\n'))
		},
	}
}

// decode reads one JSON object of the request body into dst, refusing
// bodies over max bytes, text that JSON decoding would silently change
// (bytes that are not UTF-8, lone UTF-16 surrogates, the \ufffd of a
// replaced byte), anything but one object, and unknown fields.
func decode(w http.ResponseWriter, r *http.Request, max int64, dst any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%w: the request body is over %d bytes", api.ErrTooLarge, max)
	case err != nil:
		return fmt.Errorf("reading the request body: %w", err)
	}
	body := bytes.TrimSpace(b)
	switch {
	case len(body) == 0:
		return fmt.Errorf("%w: request body: empty, want a JSON object", metatrack.ErrInvalidArgument)
	case !utf8.Valid(body):
		return fmt.Errorf("%w: request body: not valid UTF-8 (byte %d)", metatrack.ErrInvalidArgument, invalidAt(b)+1)
	case body[0] != '{':
		return fmt.Errorf("%w: request body: want a JSON object, not %s", metatrack.ErrInvalidArgument, jsonKind(body[0]))
	}
	if err := rules.Escapes(body); err != nil {
		return fmt.Errorf("%w: request body: %s", metatrack.ErrInvalidArgument, strings.TrimPrefix(err.Error(), metatrack.ErrInvalidArgument.Error()+": "))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Errorf("%w: request body: %s: %s where %s belongs", metatrack.ErrInvalidArgument, typeErr.Field, article(typeErr.Value), jsonType(typeErr.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: request body: unexpected EOF (the JSON ends too early)", metatrack.ErrInvalidArgument)
	case errors.Is(err, metatrack.ErrInvalidArgument):
		// A value's own decoder (a metric value) said what is wrong.
		return fmt.Errorf("%w: request body: %s", metatrack.ErrInvalidArgument, strings.TrimPrefix(err.Error(), metatrack.ErrInvalidArgument.Error()+": "))
	}
	return fmt.Errorf("%w: request body: %s", metatrack.ErrInvalidArgument, strings.TrimPrefix(err.Error(), "json: "))
}

// invalidAt returns the offset of the first byte of b that is not UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonKind names the JSON value that starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return fmt.Sprintf("%q", c)
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	if t == reflect.TypeFor[time.Time]() {
		return "a time (RFC 3339 string)"
	}
	return "an object"
}

// article puts a or an before what encoding/json calls a value ("string",
// "number 1e400", "array").
func article(v string) string {
	if v != "" && strings.ContainsRune("aeiou", rune(v[0])) {
		return "an " + v
	}
	return "a " + v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeError(w, fmt.Errorf("encoding the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers with err's code, status and message.
func writeError(w http.ResponseWriter, err error) {
	_, status := api.Classify(err)
	b, _ := marshal(api.ErrorBody{Error: api.Detail(err)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// marshal encodes v as JSON without escaping <, > and & (messages quote
// them).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

var operations = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range Endpoints() {
		m[e.Op] = true
	}
	return m
}()

// HasOperation reports whether op names an operation of the API.
func HasOperation(op string) bool { return operations[op] }
