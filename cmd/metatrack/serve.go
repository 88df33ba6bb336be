package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/server"
	"github.com/metatrack/metatrack/ui"
)

// shutdownGrace is how long serve waits for in-flight requests after
// SIGTERM or SIGINT.
const shutdownGrace = 30 * time.Second

func newServeCmd(a *app) *cobra.Command {
	var (
		addr, certFile, keyFile string
		noAuth                  bool
		maxBody, maxArtifact    int64
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the database over HTTP for a team (the library's API as JSON, with tokens)",
		Long: `serve serves the whole library over HTTP with JSON, one endpoint per
operation (described at /api/openapi.json), for training binaries that
open it with METATRACK_URL=http://host:port and METATRACK_TOKEN (see
remote.OpenFromEnv). The command line works against a server too
(--db http://host:port with --token or METATRACK_TOKEN), every command but
those that work on the database file itself (backup, verify, gc, upgrade,
serve, demo, token create and revoke): run those on the server's machine.

Every request needs a bearer token ('metatrack token create' makes one):
read tokens may read, write tokens also write, admin tokens do anything.
--no-auth serves without tokens, on a loopback address only.

The web UI is at / (with tokens, its login page takes one; with --no-auth
it opens directly). Also served: /healthz (200 while the database answers), /metrics
(Prometheus). One JSON log line per request goes to stderr. SIGTERM or
SIGINT stops accepting connections and waits up to 30s for requests in
flight.`,
		Example: `  metatrack token create --name trainer --role write --db team.db
  metatrack serve --db team.db --addr 127.0.0.1:7070
  metatrack serve --db team.db --addr :7443 --tls-cert cert.pem --tls-key key.pem`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (certFile == "") != (keyFile == "") {
				return usageErrorf("--tls-cert and --tls-key go together")
			}
			if noAuth && !loopback(addr) {
				return usageErrorf("--no-auth serves anyone who can connect: it is accepted only on a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT), not %q", addr)
			}
			return a.serve(cmd.Context(), addr, certFile, keyFile, noAuth, maxBody, maxArtifact)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:7070", "address to listen on (host:port)")
	fl.BoolVar(&noAuth, "no-auth", false, "serve without tokens (loopback addresses only)")
	fl.StringVar(&certFile, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS")
	fl.StringVar(&keyFile, "tls-key", "", "TLS private key file (PEM)")
	fl.Int64Var(&maxBody, "max-body", server.DefaultMaxBodyBytes, "largest JSON request body, in bytes")
	fl.Int64Var(&maxArtifact, "max-artifact", server.DefaultMaxArtifactBytes, "largest artifact upload, in bytes")
	return cmd
}

// loopback reports whether addr (host:port) listens on a loopback address
// only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *app) serve(ctx context.Context, addr, certFile, keyFile string, noAuth bool, maxBody, maxArtifact int64) error {
	tr, err := metatrack.Open(ctx, a.dbURL, metatrack.WithRunName("metatrack serve"))
	if err != nil {
		return err
	}
	defer tr.Close()
	log := slog.New(slog.NewJSONHandler(a.stderr, nil))
	opts := []server.Option{server.WithMaxBodyBytes(maxBody), server.WithMaxArtifactBytes(maxArtifact)}
	uiOpts := []ui.Option{ui.WithLogger(log)}
	if !noAuth {
		opts = append(opts, server.WithAuth(server.TokenAuth(tr)))
		uiOpts = append(uiOpts, ui.WithTokenLogin())
		if toks, err := tr.Tokens(ctx); err == nil && len(toks) == 0 {
			log.Warn("no tokens: every API request will be refused; make one with 'metatrack token create --name NAME --role write'")
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "metatrack_http_requests_total",
		Help: "API requests by operation and status code."}, []string{"op", "code"})
	durations := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "metatrack_http_request_duration_seconds",
		Help: "API request durations by operation.", Buckets: prometheus.DefBuckets}, []string{"op"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "metatrack_http_requests_in_flight", Help: "API requests being served."})
	reg.MustRegister(requests, durations, inflight)

	mux := http.NewServeMux()
	mux.Handle("/api/", server.New(tr, opts...))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := tr.Stats(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", ui.New(tr, uiOpts...))

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		inflight.Inc()
		mux.ServeHTTP(rec, r)
		inflight.Dec()
		op := operation(r.URL.Path)
		d := time.Since(start)
		requests.WithLabelValues(op, strconv.Itoa(rec.status)).Inc()
		durations.WithLabelValues(op).Observe(d.Seconds())
		log.Info("request", "method", r.Method, "path", r.URL.Path, "op", op, "status", rec.status,
			"bytes", rec.bytes, "duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn), // TLS handshake failures and the like, as JSON lines too
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	scheme := "http"
	if certFile != "" {
		scheme = "https"
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "db", tr.Path(), "auth", !noAuth)
	fmt.Fprintf(a.stdout, "metatrack serve: %s://%s (database %s)\n", scheme, ln.Addr(), tr.Path())
	done := make(chan error, 1)
	go func() {
		if certFile != "" {
			done <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// operation is the label of a request path: the operation of an API
// path, or the path itself.
func operation(path string) string {
	if op, ok := strings.CutPrefix(path, "/api/v1/"); ok {
		if op == "artifact" {
			return "artifact"
		}
		if server.HasOperation(op) {
			return op
		}
		return "unknown"
	}
	switch path {
	case "/healthz", "/metrics", "/api/openapi.json":
		return path
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Flush passes flushes through (artifact downloads stream).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
