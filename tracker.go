// Package metatrack tracks the metadata of machine-learning workflows (runs,
// datasets and their versions, models and their versions, experiments,
// promotions, prediction jobs, tags, typed metadata, artifacts and the lineage
// graph that connects them) in one cgo-free SQLite file.
//
// Open a tracker, create resources, log to them, and look things up:
//
//	t, err := metatrack.Open(ctx, "metatrack.db")
//	dv, err := t.CreateResource(ctx, metatrack.TypeDatasetVersion, "titanic_train")
//	err = t.LogTag(ctx, dv, "source", "s3://bucket/titanic.csv")
//	prev, err := t.GetPrevResourceVersion(ctx, dv)
//	err = t.Stop(ctx, nil)
//
// MetadataTracker is the interface of the workflow framework this library
// serves; *Tracker implements it and adds what that interface lacks (history,
// deployments, artifact listing, batches).
package metatrack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/metatrack/metatrack/portable"
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage"
	"github.com/metatrack/metatrack/storage/sqlite"
)

// MetadataTracker is the tracker interface that ML pipelines call, one Go
// method for each method of the framework's BaseMetadataTracker. Resources
// are passed as Resource values; a Resource whose ID holds a human reference
// (model_version/titanic_model@3) works too.
type MetadataTracker interface {
	// URL returns where the tracker stores its data, for links in
	// notifications.
	URL() string

	// LogArtifact stores the file at path as the artifact name of res.
	LogArtifact(ctx context.Context, res Resource, name, path string, opts ...ArtifactOption) (Artifact, error)
	// GetArtifact returns the record of artifact name of res and a reader of
	// its bytes, verified against the stored SHA-256 as they are read.
	GetArtifact(ctx context.Context, res Resource, name string) (Artifact, io.ReadCloser, error)
	// LogTag sets the string tag key of res to value.
	LogTag(ctx context.Context, res Resource, key, value string) error
	// GetTag returns the tag key of res.
	GetTag(ctx context.Context, res Resource, key string) (string, error)
	// LogMetadata stores value (any JSON-encodable value) under key on res.
	LogMetadata(ctx context.Context, res Resource, key string, value any) error
	// GetMetadata returns the value under key on res, decoded from JSON with
	// numbers as float64 or int64, objects as map[string]any.
	GetMetadata(ctx context.Context, res Resource, key string) (any, error)
	// CreateResource creates a resource of type typ named name.
	CreateResource(ctx context.Context, typ, name string, opts ...CreateOption) (Resource, error)
	// GetResource returns the resource with the given id or reference. A
	// non-empty typ must match its type.
	GetResource(ctx context.Context, idOrRef, typ string) (Resource, error)
	// UpdateResource changes fields of res (see Updates) and returns it.
	UpdateResource(ctx context.Context, res Resource, updates Updates) (Resource, error)
	// CleanResource closes res: it records its end time and marks it
	// FINISHED if it was running or had no status.
	CleanResource(ctx context.Context, res Resource, typ string) error
	// GetPrevResourceVersion returns the version before res in its chain, or
	// the latest earlier one that matches the given filters.
	GetPrevResourceVersion(ctx context.Context, res Resource, opts ...PrevOption) (Resource, error)
	// GetCurrentlyDeployedModelVersion returns the deployed version of the
	// model of mv, falling back to the latest PROMOTED earlier version and
	// then to the previous version.
	GetCurrentlyDeployedModelVersion(ctx context.Context, mv Resource, opts ...DeployOption) (Resource, error)
	// GetPredictionJobModelVersion returns the model version of a
	// prediction job.
	GetPredictionJobModelVersion(ctx context.Context, job Resource) (Resource, error)
	// GetLatestModelResource returns the newest resource of type typ under
	// any version of model (a model or one of its versions).
	GetLatestModelResource(ctx context.Context, model Resource, typ string) (Resource, error)
	// GetWinningExperiment returns the winning experiment of mv.
	GetWinningExperiment(ctx context.Context, mv Resource) (Resource, error)
	// BuildModelLineage records that mv was trained on datasetVersions; with
	// none, it reuses those of the previous model version.
	BuildModelLineage(ctx context.Context, mv Resource, datasetVersions []Resource) error
	// GetResourceID returns the unique id of res.
	GetResourceID(ctx context.Context, res Resource) (string, error)
	// GetParentID returns the id of the parent of res, or "" if it has none.
	// A non-empty typ must match the parent's type.
	GetParentID(ctx context.Context, res Resource, typ string) (string, error)
	// RegisterVCResource stores the version-control info returned for res.
	RegisterVCResource(ctx context.Context, res Resource, info map[string]any, opts ...VCOption) error
	// GetVCInfo returns the version-control info stored under key.
	GetVCInfo(ctx context.Context, res Resource, key string) (map[string]any, error)
	// LogDataProfile stores a data profile report.
	LogDataProfile(ctx context.Context, res Resource, path string, opts ...ArtifactOption) (Artifact, error)
	// LogChecks stores a check report of the given check type (data, model,
	// prediction, ...).
	LogChecks(ctx context.Context, res Resource, path, checkType string, opts ...ArtifactOption) (Artifact, error)
	// LogDataComparison stores a data comparison report.
	LogDataComparison(ctx context.Context, res Resource, path string, opts ...ArtifactOption) (Artifact, error)
	// Stop ends the tracker's run, FINISHED, or FAILED when runErr is not
	// nil, and closes the tracker.
	Stop(ctx context.Context, runErr error) error
	// LoadModel rebuilds the model of mv's winning experiment with the
	// loader registered for its recorded trainer.
	LoadModel(ctx context.Context, mv Resource, opts ...LoadOption) (any, error)

	// LogMetric appends a point to the series key of res (any resource, or
	// a run), at the next step and now unless WithStep or WithTime say
	// otherwise.
	LogMetric(ctx context.Context, res Resource, key string, value float64, opts ...MetricOption) error
	// LogMetrics appends many points to the series key of res in one write.
	LogMetrics(ctx context.Context, res Resource, key string, points []MetricPoint) error
	// MetricHistory returns the points of series key of res in step order,
	// in a step or time range, downsampled above a maximum number.
	MetricHistory(ctx context.Context, res Resource, key string, opts ...MetricHistoryOption) ([]MetricPoint, error)
	// Metrics returns the summary (last, min, max, count) of each series of
	// res.
	Metrics(ctx context.Context, res Resource) ([]MetricSummary, error)
}

var _ MetadataTracker = (*Tracker)(nil)

// DefaultPath is the database file used when Open is given an empty URL.
const DefaultPath = "./metatrack.db"

// Tracker is a MetadataTracker on a store: a SQLite database file, or a
// database server. It is safe for concurrent use by many goroutines, and
// many processes may open the same store at once.
type Tracker struct {
	db storage.Engine
	// sql holds the texts of the engine's fixed statements.
	sql    *storage.Statements
	url    string
	cfg    config
	shared *shared
	// tx is set on the Tracker that Batch hands to its function, and
	// targets caches, for the batch, the resources it logged to by id.
	tx      storage.Tx
	targets map[string]resourceRow
	// metrics holds, for the batch, the metric points logged in it, written
	// when it ends (or before anything else reads or writes in it).
	metrics *metricBuffer
	// kv holds, for the batch, the tag and metadata writes not written yet
	// (see kvBuffer).
	kv *kvBuffer
	// view is set on a ForRun view: the run its writes record.
	view *runView
}

// shared is the state that a Tracker and its batch views have in common.
type shared struct {
	mu     sync.Mutex
	closed bool
	run    Run
	runSeq int64
	// plans remembers the choices between the forms of searches.
	plans query.Plans
}

// Open opens the tracker database at url, creating the store and its
// schema if needed, and starts a run (see WithRun and WithoutRun). url is
// a file path, a sqlite: or file: URL, or empty for DefaultPath: a SQLite
// file; or a URL of a database server whose engine is linked in
// (postgres:// and postgresql:// once the PostgreSQL engine's package is
// imported; see storage.Register). Another scheme is ErrInvalidArgument; a
// known one whose engine is not linked in is ErrUnsupported.
func Open(ctx context.Context, url string, opts ...Option) (*Tracker, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if url == "" {
		url = DefaultPath
	}
	d, err := openEngine(ctx, url, cfg)
	if err != nil {
		return nil, err
	}
	if d.ReadOnly() {
		// The store cannot be written (a read-only mount, no permission):
		// serve reads, start no run, and fail every write with ErrReadOnly.
		cfg.readOnly = true
	}
	t := &Tracker{db: d, sql: d.SQL(), url: url, cfg: cfg, shared: &shared{}}
	if err := t.startRun(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return t, nil
}

// serverSchemes are the schemes of database servers that metatrack has an
// engine for, linked in or not.
var serverSchemes = []string{"postgres", "postgresql"}

// openEngine opens the engine of url: SQLite for a path or a sqlite: or
// file: URL, the registered Opener of its scheme otherwise.
func openEngine(ctx context.Context, url string, cfg config) (storage.Engine, error) {
	scheme := urlScheme(url)
	switch scheme {
	case "", "sqlite", "sqlite3", "file":
		path, err := PathFromURL(url)
		if err != nil {
			return nil, err
		}
		o := sqlite.Options{
			Synchronous: cfg.synchronous,
			BusyTimeout: cfg.busyTimeout,
			ReadOnly:    cfg.readOnly,
			WALLimit:    cfg.walLimit,
		}
		if cfg.mmapSet {
			switch {
			case cfg.mmapSize < 0:
				return nil, fmt.Errorf("%w: WithMmapSize(%d): the size must be 0 (no memory map) or more", ErrInvalidArgument, cfg.mmapSize)
			case cfg.mmapSize == 0:
				o.MmapSize = -1 // sqlite.Options: negative is off, 0 the default
			default:
				o.MmapSize = cfg.mmapSize
			}
		}
		d, err := sqlite.Open(ctx, path, o)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	if open := storage.OpenerOf(scheme); open != nil {
		return open(ctx, url, storage.OpenOptions{ReadOnly: cfg.readOnly})
	}
	if slices.Contains(serverSchemes, scheme) {
		return nil, fmt.Errorf("%w: tracker URL scheme %s: the PostgreSQL engine (package storage/postgres) is not linked into this program", ErrUnsupported, scheme)
	}
	return nil, unsupportedScheme(scheme)
}

// unsupportedScheme is the error of a URL whose scheme no engine opens: it
// names the schemes that are supported.
func unsupportedScheme(scheme string) error {
	supported := append([]string{"sqlite:", "file:"}, serverSchemes...)
	for _, s := range storage.Schemes() {
		if !slices.Contains(serverSchemes, s) {
			supported = append(supported, s)
		}
	}
	for i, s := range supported[2:] {
		supported[i+2] = s + "://"
	}
	return fmt.Errorf("%w: tracker URL scheme %q is not supported; use a file path or a URL of %s", ErrInvalidArgument, scheme, strings.Join(supported, ", "))
}

// urlScheme returns the lower-case scheme of a URL with "://", or of a
// sqlite:, sqlite3: or file: URL, and "" for a plain path.
func urlScheme(s string) string {
	l := strings.ToLower(s)
	for _, scheme := range []string{"sqlite:", "sqlite3:", "file:"} {
		if strings.HasPrefix(l, scheme) {
			return strings.TrimSuffix(scheme, ":")
		}
	}
	scheme, _, ok := strings.Cut(l, "://")
	if !ok || scheme == "" {
		return ""
	}
	for i, c := range scheme {
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return scheme
}

// PathFromURL returns the file path of a tracker URL: a plain path,
// sqlite:path, sqlite://path, sqlite:///abs/path, file:path or
// file:///abs/path.
func PathFromURL(s string) (string, error) {
	for _, scheme := range []string{"sqlite:", "sqlite3:", "file:"} {
		rest, ok := strings.CutPrefix(s, scheme)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "//") {
			u, err := url.Parse(s)
			if err != nil {
				return "", fmt.Errorf("%w: tracker URL %q: %v", ErrInvalidArgument, s, err)
			}
			if u.Host != "" && u.Host != "localhost" {
				// sqlite://relative/path: the "host" is the first segment.
				return u.Host + u.Path, nil
			}
			return u.Path, nil
		}
		rest, _, _ = strings.Cut(rest, "?")
		if rest == "" {
			return "", fmt.Errorf("%w: tracker URL %q has no path", ErrInvalidArgument, s)
		}
		return rest, nil
	}
	if strings.Contains(s, "://") {
		scheme := urlScheme(s)
		if slices.Contains(serverSchemes, scheme) || storage.OpenerOf(scheme) != nil {
			return "", fmt.Errorf("%w: tracker URL %q names a database server, not a file", ErrInvalidArgument, withoutPassword(s))
		}
		return "", unsupportedScheme(scheme)
	}
	return s, nil
}

// withoutPassword returns the URL s without the password of its user
// information, for messages.
func withoutPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return urlScheme(s) + "://..."
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// URL returns the URL the tracker was opened with.
func (t *Tracker) URL() string { return t.url }

// Path returns the database file's path, or for a database server its
// URL without the password.
func (t *Tracker) Path() string { return t.db.Location() }

// Run returns the tracker's run (zero when opened WithoutRun).
func (t *Tracker) Run() Run {
	if t.view != nil {
		return t.view.run
	}
	t.shared.mu.Lock()
	defer t.shared.mu.Unlock()
	return t.shared.run
}

// Stop ends the tracker's run, FINISHED when runErr is nil and FAILED with
// runErr's message otherwise, and closes the tracker. Stop on a closed
// tracker returns ErrClosed.
func (t *Tracker) Stop(ctx context.Context, runErr error) error {
	if t.tx != nil {
		return fmt.Errorf("%w: Stop inside Batch", ErrInvalidArgument)
	}
	t.shared.mu.Lock()
	if t.shared.closed {
		t.shared.mu.Unlock()
		return ErrClosed
	}
	t.shared.closed = true
	t.shared.mu.Unlock()
	// The run must end even when ctx is already cancelled (Stop is often
	// called on the way out of a cancelled job), but not wait for ever.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err := t.endRun(ctx, runErr)
	return errors.Join(err, t.db.Close())
}

// Close ends the run as FINISHED if Stop was not called, checkpoints the
// write-ahead log into the database file and closes it, so that the file
// alone holds everything. Close is idempotent.
func (t *Tracker) Close() error {
	err := t.Stop(context.Background(), nil)
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// Backup writes a consistent copy of the live database to path, which must
// not exist, as one SQLite file. Writers in this and other processes go on
// while it runs; the copy holds every write acknowledged before Backup
// began. A store on another engine (PostgreSQL) is exported into the
// import of a new file, renamed to path when whole.
//
// With WithExportFilter the file holds only the part of the store that
// the query selects, with what it needs, exactly as a filtered Export
// (WithoutLineage leaves the upstream lineage out), on every engine.
func (t *Tracker) Backup(ctx context.Context, path string, opts ...MaintenanceOption) error {
	if err := t.checkOpen(); err != nil {
		return err
	}
	cfg := maintenanceOptions(opts)
	b, ok := t.db.(storage.Backuper)
	if !ok || cfg.filter != "" {
		// Another engine, or a part: the export streamed into a new
		// SQLite file.
		x := &txn{t: t, sql: t.sql, tx: t.db.Reader()}
		return portableErr(portable.Backup(ctx, t.db, path, portable.BackupOptions{Filter: cfg.filter, NoLineage: cfg.noLineage,
			Now: t.cfg.now, Resolve: x.resolveSeq(ctx), Progress: cfg.progress}))
	}
	return b.Backup(ctx, path)
}

// Batch runs fn with a Tracker whose calls all go into one write
// transaction, committed when fn returns nil and rolled back otherwise.
// Each call keeps its meaning; only the commit is shared, which makes
// logging inside a training loop many times faster. Calls on the outer
// tracker from inside fn would wait for the batch: use the one given.
func (t *Tracker) Batch(ctx context.Context, fn func(tx *Tracker) error) error {
	if t.tx != nil {
		return fn(t)
	}
	if err := t.checkOpen(); err != nil {
		return err
	}
	return t.db.WriteTx(ctx, func(tx storage.Tx) error {
		inner := *t
		inner.tx, inner.targets, inner.metrics, inner.kv = tx, map[string]resourceRow{}, &metricBuffer{}, &kvBuffer{}
		if err := fn(&inner); err != nil {
			return err
		}
		if err := inner.flushHeld(ctx); err != nil {
			return err
		}
		return inner.flushMetrics(ctx)
	})
}

// unsupported is the error of an operation that t's engine lacks.
func (t *Tracker) unsupported(what string) error {
	return fmt.Errorf("%w: %s on a %s store (%s)", ErrUnsupported, what, t.db.Name(), t.db.Location())
}

func (t *Tracker) checkOpen() error {
	t.shared.mu.Lock()
	defer t.shared.mu.Unlock()
	if t.shared.closed {
		return ErrClosed
	}
	return nil
}

func (t *Tracker) now() time.Time { return t.cfg.now().UTC() }
