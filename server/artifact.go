package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
	"github.com/metatrack/metatrack/rules"
)

// The artifact stream endpoints take their arguments as query parameters,
// since their bodies are the bytes.
func artifactEndpoints() []Endpoint {
	return []Endpoint{
		{Op: "PutArtifact", Method: http.MethodPut, Path: "/api/v1/artifact", Role: RoleWrite,
			Doc:      "Stores the request body as an artifact (or a report of a kind) of a resource; with uri and file=false, records an external artifact by URI only.",
			Response: typeOf[metatrack.Artifact](), serve: (*Handler).putArtifact},
		{Op: "GetArtifact", Method: http.MethodGet, Path: "/api/v1/artifact", Role: RoleRead,
			Doc:      "Streams the bytes of an artifact (by name) or of the newest report of a kind; the record is in the Metatrack-Artifact header. A failure after the first byte is in the Metatrack-Error trailer.",
			Response: nil, serve: (*Handler).getArtifact},
		{Op: "Export", Method: http.MethodGet, Path: "/api/v1/export", Role: RoleAdmin,
			Doc:      "Streams an export of the store (or of what the filter query selects) in the portable line format; its counts, or a failure after the first byte, are in the Metatrack-Stats and Metatrack-Error trailers.",
			Response: nil, serve: (*Handler).export},
		{Op: "Import", Method: http.MethodPut, Path: "/api/v1/import", Role: RoleAdmin,
			Doc:      "Imports an export from the request body, atomically; dry_run=true counts without writing.",
			Response: typeOf[metatrack.TransferStats](), serve: (*Handler).importExport},
	}
}

// TrailerStats carries the JSON TransferStats of an export.
const TrailerStats = "Metatrack-Stats"

func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	var opts []metatrack.MaintenanceOption
	if f := r.URL.Query().Get("filter"); f != "" {
		opts = append(opts, metatrack.WithExportFilter(f))
	}
	if r.URL.Query().Get("lineage") == "false" {
		opts = append(opts, metatrack.WithoutLineage())
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Trailer", api.TrailerError+", "+TrailerStats)
	cw := &countingWriter{w: w}
	st, err := h.tracker(r).Export(r.Context(), cw, opts...)
	if err != nil {
		if cw.n == 0 {
			writeError(w, err)
			return
		}
		b, _ := marshal(api.Detail(err))
		w.Header().Set(api.TrailerError, string(b))
		return
	}
	b, _ := marshal(st)
	w.Header().Set(TrailerStats, string(b))
}

// importExport imports the body. An import is safe to apply twice (its
// records are matched by their ids, so a second import of a file changes
// nothing), but its counts are not: with an idempotency key, a retry of an
// import that was applied gets the first import's counts, as an upload
// does (the key is recalled before and recorded after the import, which
// commits in a transaction of its own).
func (h *Handler) importExport(w http.ResponseWriter, r *http.Request) {
	dryRun := r.URL.Query().Get("dry_run") == "true"
	var opts []metatrack.MaintenanceOption
	if dryRun {
		opts = append(opts, metatrack.WithDryRun())
	}
	key := r.Header.Get(api.HeaderIdempotencyKey)
	if dryRun {
		key = "" // writes nothing, so a retry repeats it
	}
	tr := h.tracker(r)
	if key != "" {
		b, ok, err := tr.Recall(r.Context(), key, "Import")
		if err != nil {
			writeError(w, err)
			return
		}
		if ok {
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.Write(append(b, '\n'))
			return
		}
	}
	st, err := tr.Import(r.Context(), http.MaxBytesReader(w, r.Body, h.cfg.maxArtifact), opts...)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = fmt.Errorf("%w: the import is over %d bytes", api.ErrTooLarge, h.cfg.maxArtifact)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if key != "" {
		b, _, err := tr.Once(r.Context(), key, "Import", func(*metatrack.Tracker) ([]byte, error) { return marshal(st) })
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *Handler) putArtifact(w http.ResponseWriter, r *http.Request) {
	// An upload streams in transactions of its own, so its key is recalled
	// before and recorded after it (see Tracker.Recall).
	key := r.Header.Get(api.HeaderIdempotencyKey)
	if key != "" {
		b, ok, err := h.tracker(r).Recall(r.Context(), key, "PutArtifact")
		if err != nil {
			writeError(w, err)
			return
		}
		if ok {
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.Write(append(b, '\n'))
			return
		}
	}
	q := r.URL.Query()
	resKey, name, kind, checkType := q.Get("resource"), q.Get("name"), q.Get("kind"), q.Get("check_type")
	spec := metatrack.ArtifactSpec{Name: name, MediaType: q.Get("media_type"), URI: q.Get("uri"),
		SHA256: q.Get("sha256"), SourcePath: q.Get("source_path")}
	if s := q.Get("size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			writeError(w, fmt.Errorf("%w: size %q is not a number", metatrack.ErrInvalidArgument, s))
			return
		}
		if n < 0 {
			writeError(w, fmt.Errorf("%w: size %d is negative", metatrack.ErrInvalidArgument, n))
			return
		}
		spec.Size = n
	}
	// Refuse a bad name before receiving the bytes, which may be large.
	if name != "" {
		if err := rules.ArtifactName(name); err != nil {
			writeError(w, err)
			return
		}
	}
	path := ""
	if q.Get("file") != "false" {
		// Spool the body to a file named like the client's, in a directory
		// of its own: the library reads artifacts from paths, and a report's
		// default name comes from the file's base name.
		dir, err := os.MkdirTemp(h.cfg.tempDir, "metatrack-upload-")
		if err != nil {
			writeError(w, err)
			return
		}
		defer os.RemoveAll(dir)
		base := filepath.Base(filepath.FromSlash(spec.SourcePath))
		if rules.ArtifactName(base) != nil || strings.ContainsRune(base, filepath.Separator) {
			base = "upload" // no file name this machine can hold
		}
		if base == "upload" && name != "" {
			base = filepath.Base(filepath.FromSlash(name))
		}
		path = filepath.Join(dir, base)
		if err := spool(path, http.MaxBytesReader(w, r.Body, h.cfg.maxArtifact), h.cfg.maxArtifact); err != nil {
			writeError(w, err)
			return
		}
		if spec.SourcePath == "" {
			// Record no spool path: the artifact came over the wire.
			spec.SourcePath = "-"
		}
	}
	res := metatrack.Resource{ID: resKey}
	opts := spec.Options()
	var a metatrack.Artifact
	var err error
	switch kind {
	case "", metatrack.KindArtifact:
		a, err = h.tracker(r).LogArtifact(r.Context(), res, name, path, opts...)
	case metatrack.KindDataProfile:
		a, err = h.tracker(r).LogDataProfile(r.Context(), res, path, opts...)
	case metatrack.KindChecks:
		a, err = h.tracker(r).LogChecks(r.Context(), res, path, checkType, opts...)
	case metatrack.KindDataComparison:
		a, err = h.tracker(r).LogDataComparison(r.Context(), res, path, opts...)
	default:
		err = fmt.Errorf("%w: artifact kind %q: want one of artifact, data_profile, checks, data_comparison", metatrack.ErrInvalidArgument, kind)
	}
	if err != nil {
		writeError(w, hideSpool(err, path, spec.SourcePath, name))
		return
	}
	if key != "" {
		b, _, err := h.tracker(r).Once(r.Context(), key, "PutArtifact", func(*metatrack.Tracker) ([]byte, error) { return json.Marshal(a) })
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// hideSpool returns err with the path of the server's spool file replaced
// by the name the client knows the bytes by: the client's source path, the
// artifact's name, or "the upload".
func hideSpool(err error, path, sourcePath, name string) error {
	if path == "" || !strings.Contains(err.Error(), path) {
		return err
	}
	known := sourcePath
	if known == "" || known == "-" {
		known = name
	}
	if known == "" {
		known = "the upload"
	}
	return &reworded{msg: strings.ReplaceAll(err.Error(), path, known), err: err}
}

// reworded is an error with another message; errors.Is and errors.As see
// the error it rewords.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }

func spool(path string, body io.Reader, max int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: the artifact is over %d bytes", api.ErrTooLarge, max)
	}
	if err != nil {
		return fmt.Errorf("receiving the artifact: %w", err)
	}
	return nil
}

func (h *Handler) getArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res := metatrack.Resource{ID: q.Get("resource")}
	var a metatrack.Artifact
	var rc io.ReadCloser
	var err error
	switch kind := q.Get("kind"); kind {
	case "", metatrack.KindArtifact:
		a, rc, err = h.tracker(r).GetArtifact(r.Context(), res, q.Get("name"))
	case metatrack.KindDataProfile:
		a, rc, err = h.tracker(r).GetDataProfile(r.Context(), res)
	case metatrack.KindChecks:
		a, rc, err = h.tracker(r).GetChecks(r.Context(), res, q.Get("check_type"))
	case metatrack.KindDataComparison:
		a, rc, err = h.tracker(r).GetDataComparison(r.Context(), res)
	default:
		err = fmt.Errorf("%w: artifact kind %q: want one of artifact, data_profile, checks, data_comparison", metatrack.ErrInvalidArgument, kind)
	}
	if err == nil && a.External() {
		// The library would open a file: URI on this machine; a server
		// must not hand out its own files.
		rc.Close()
		err = fmt.Errorf("%w: %s is recorded by URI %s; its bytes are not in the store", metatrack.ErrExternalArtifact, a.Name, a.URI)
	}
	if a.ID != "" {
		rec, _ := json.Marshal(a)
		w.Header().Set(api.HeaderArtifact, string(rec))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Trailer", api.TrailerError)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		b, _ := json.Marshal(api.Detail(err))
		w.Header().Set(api.TrailerError, string(b))
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
