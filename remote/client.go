// Package remote is a client of a metatrack server (metatrack serve, or
// the handler of package server mounted in another program). A *Client
// implements metatrack.Store (metatrack.MetadataTracker and the rest of
// the Tracker's API that needs no database file) with the same signatures
// and errors: errors.Is(err, metatrack.ErrNotFound) holds across the wire.
//
// Open opens any tracker URL, a file path, sqlite: or http(s)://, with the
// token and other settings given as options; it reads no environment.
// OpenFromEnv opens the URL in METATRACK_URL with the token in
// METATRACK_TOKEN, so that a training binary switches stores through its
// environment alone.
package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// EnvURL and EnvToken are the environment variables OpenFromEnv reads:
// the tracker's URL and a server's token. The metatrack command line reads
// the same two.
const (
	EnvURL   = "METATRACK_URL"
	EnvToken = "METATRACK_TOKEN"
)

// Open opens the tracker at rawURL: a client of the server at an http://
// or https:// URL, dialed with opts (WithToken gives its token), or else
// the SQLite file of metatrack.Open with the options of
// WithTrackerOptions (the client's options do not apply to a file). Open
// reads no environment: see OpenFromEnv. It lives here, not in package
// metatrack, because the root package cannot import its own client.
//
// It returns a metatrack.Store, the whole API that needs no database file
// (a MetadataTracker and more), and a nil Store on error.
func Open(ctx context.Context, rawURL string, opts ...Option) (metatrack.Store, error) {
	if IsRemote(rawURL) {
		c, err := Dial(ctx, rawURL, opts...)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	var c Client
	for _, o := range opts {
		o(&c)
	}
	t, err := metatrack.Open(ctx, rawURL, c.local...)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// OpenFromEnv is Open of the URL in METATRACK_URL, with the token in
// METATRACK_TOKEN (if set) before opts, so that a WithToken among opts
// wins. It reads the environment, so call it from main: it is the one
// call of a training binary that switches stores through its environment.
// An unset or empty METATRACK_URL is ErrInvalidArgument.
func OpenFromEnv(ctx context.Context, opts ...Option) (metatrack.Store, error) {
	u := os.Getenv(EnvURL)
	if u == "" {
		return nil, fmt.Errorf("%w: %s is not set: want a database file, a sqlite: URL or a server's http(s)://host:port", metatrack.ErrInvalidArgument, EnvURL)
	}
	if tok := os.Getenv(EnvToken); tok != "" {
		opts = append([]Option{WithToken(tok)}, opts...)
	}
	return Open(ctx, u, opts...)
}

// IsRemote reports whether url names a server (http:// or https://).
func IsRemote(rawURL string) bool {
	l := strings.ToLower(rawURL)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// Option configures Dial.
type Option func(*Client)

// WithToken sends token as the bearer token of every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithTrackerOptions gives the options of metatrack.Open for Open of a
// database file. A server ignores them: its run, clock and settings are
// the server's.
func WithTrackerOptions(opts ...metatrack.Option) Option {
	return func(c *Client) { c.local = append(c.local, opts...) }
}

// WithHTTPClient makes the client send its requests through hc (for TLS
// settings, a proxy, or a test's transport).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetryFor sets how long a call retries after connection failures
// (default 30s; 0 retries never). Writes are retried with the same
// idempotency key, so the server applies each at most once.
func WithRetryFor(d time.Duration) Option { return func(c *Client) { c.retryFor = d } }

// WithRunName names the run the client starts on the server (default:
// the program's name, as for an embedded Tracker).
func WithRunName(name string) Option { return func(c *Client) { c.runName = name } }

// WithoutRun starts no run on the server: the client's writes record the
// server's own run, and Run returns the zero Run. For clients that only
// read.
func WithoutRun() Option { return func(c *Client) { c.noRun = true } }

// Client is a MetadataTracker on a metatrack server. It is safe for
// concurrent use.
type Client struct {
	base     string
	hc       *http.Client
	token    string
	retryFor time.Duration
	runName  string
	noRun    bool
	// local holds WithTrackerOptions, for Open of a file.
	local []metatrack.Option

	mu     sync.Mutex
	closed bool
	run    metatrack.Run
}

var _ metatrack.MetadataTracker = (*Client)(nil)

// Dial connects to the server at rawURL (http://host:port, with an
// optional path prefix where the API is mounted) and starts the client's
// run there, named by WithRunName, with this machine's host name and user
// and this process's id: the client's writes record it, and Stop ends it.
// A client whose token may not write (a read token) starts none, as with
// WithoutRun.
func Dial(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: server URL %q: want http://host:port or https://host:port", metatrack.ErrInvalidArgument, rawURL)
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), hc: http.DefaultClient, retryFor: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	if !c.noRun {
		info := metatrack.RunInfo{Name: c.runName, PID: os.Getpid()}
		if info.Name == "" {
			info.Name = filepath.Base(os.Args[0])
		}
		info.Host, _ = os.Hostname()
		if u, err := user.Current(); err == nil {
			info.User = u.Username
		}
		var run metatrack.Run
		err := c.call(ctx, "StartRun", info, &run)
		if err == nil {
			c.run = run
			return c, nil
		}
		if !errors.Is(err, api.ErrForbidden) {
			return nil, err
		}
	}
	// Check that the server answers and takes the token.
	if err := c.call(ctx, "Run", api.Empty{}, &metatrack.Run{}); err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns the server's URL.
func (c *Client) URL() string { return c.base }

// Run returns the client's run on the server, which its writes record
// (the change log records its token's name as their actor); the zero Run
// when it started none.
func (c *Client) Run() metatrack.Run {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run
}

// Stop ends the client's run on the server, FINISHED when runErr is nil
// and FAILED with runErr's message otherwise, and closes the client (the
// server goes on). Stop on a closed client returns ErrClosed.
func (c *Client) Stop(ctx context.Context, runErr error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return metatrack.ErrClosed
	}
	c.closed = true
	run := c.run
	c.mu.Unlock()
	if run.ID == "" {
		return nil
	}
	// The run must end even when ctx is already cancelled, as an embedded
	// Tracker's Stop does, but not wait for ever.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	q := api.EndRunRequest{Run: run.ID}
	if runErr != nil {
		q.Failed, q.Error = true, runErr.Error()
	}
	var ended metatrack.Run
	if err := c.send(ctx, "EndRun", q, &ended); err != nil {
		return fmt.Errorf("ending run %s on %s: %w", run.ID, c.base, err)
	}
	c.mu.Lock()
	c.run = ended
	c.mu.Unlock()
	return nil
}

// Close closes the client; it is idempotent.
func (c *Client) Close() error {
	if err := c.Stop(context.Background(), nil); err != nil && !errors.Is(err, metatrack.ErrClosed) {
		return err
	}
	return nil
}

func (c *Client) runID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run.ID
}

func (c *Client) checkOpen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return metatrack.ErrClosed
	}
	return nil
}

// newKey returns a fresh idempotency key.
func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// call sends req to operation op and decodes the response into resp.
func (c *Client) call(ctx context.Context, op string, req, resp any) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	return c.send(ctx, op, req, resp)
}

// send is call on a client open or not (Stop ends the run after closing).
func (c *Client) send(ctx context.Context, op string, req, resp any) error {
	if s, bad := invalidUTF8(reflect.ValueOf(req)); bad {
		return fmt.Errorf("%w: %q is not valid UTF-8", metatrack.ErrInvalidArgument, s)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%w: %v", metatrack.ErrInvalidArgument, err)
	}
	res, err := c.do(ctx, func() (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/"+op, bytes.NewReader(body))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return responseError(res)
	}
	b, err := io.ReadAll(res.Body)
	if err == nil {
		err = decodeJSON(b, resp)
	}
	if err != nil {
		return fmt.Errorf("metatrack server %s: decoding the response of %s: %w", c.base, op, err)
	}
	return nil
}

// do sends the request that mk builds, with the token and one idempotency
// key for all its tries, retrying while the server cannot be reached
// (refused, reset, or gone before it answered) for up to retryFor.
func (c *Client) do(ctx context.Context, mk func() (*http.Request, error)) (*http.Response, error) {
	return c.doRetry(ctx, true, mk)
}

// doRetry is do, retrying only when retry is set.
func (c *Client) doRetry(ctx context.Context, retry bool, mk func() (*http.Request, error)) (*http.Response, error) {
	key := newKey()
	deadline := time.Now().Add(c.retryFor)
	wait := 20 * time.Millisecond
	for {
		req, err := mk()
		if err != nil {
			return nil, err
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		req.Header.Set(api.HeaderIdempotencyKey, key)
		if id := c.runID(); id != "" {
			req.Header.Set(api.HeaderRun, id)
		}
		res, err := c.hc.Do(req)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retry || !retryable(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("metatrack server %s: %w", c.base, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// retryable reports whether err means the request may not have reached
// the server, or its answer was lost: the server is down or restarting.
func retryable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// responseError turns a failed response into an *api.Error.
func responseError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
		return &api.Error{Code: api.CodeInternal, Status: res.StatusCode,
			Message: fmt.Sprintf("metatrack server: %s: %s", res.Status, strings.TrimSpace(string(b)))}
	}
	return eb.Error.Err(res.StatusCode)
}

// invalidUTF8 finds a string in v that is not valid UTF-8, which JSON
// would silently turn into another string.
func invalidUTF8(v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return v.String(), true
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return invalidUTF8(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if s, bad := invalidUTF8(v.Field(i)); bad {
				return s, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false
		}
		for i := range v.Len() {
			if s, bad := invalidUTF8(v.Index(i)); bad {
				return s, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if s, bad := invalidUTF8(iter.Key()); bad {
				return s, true
			}
			if s, bad := invalidUTF8(iter.Value()); bad {
				return s, true
			}
		}
	}
	return "", false
}
