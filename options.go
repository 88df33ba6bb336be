package metatrack

import (
	"time"

	"github.com/metatrack/metatrack/storage/sqlite"
)

// Option configures Open.
type Option func(*config)

type config struct {
	now         func() time.Time
	synchronous string
	busyTimeout time.Duration
	walLimit    int64
	// mmapSize is WithMmapSize's value; mmapSet says it was given.
	mmapSize  int64
	mmapSet   bool
	readOnly  bool
	runName   string
	attachRun string
	noRun     bool
	loaders   map[string]ModelLoader
}

func defaultConfig() config {
	return config{now: time.Now, synchronous: sqlite.SyncNormal}
}

// WithClock makes the tracker read the time from now (tests fix it). Order
// within chains never depends on it: "latest" and "previous" follow the
// database's own sequence.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithSynchronousFull flushes every commit to stable storage before it
// returns, so that not even a power loss loses an acknowledged write. The
// default (synchronous=NORMAL in WAL mode) loses nothing when a process dies
// but may lose the newest commits on power loss.
func WithSynchronousFull() Option { return func(c *config) { c.synchronous = sqlite.SyncFull } }

// WithBusyTimeout sets how long one statement waits for another process's
// lock before the tracker retries (default 5s). Write calls retry until
// their context ends, so this only tunes how often they poll.
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithWALLimit sets the size of the write-ahead log (the -wal file beside
// the database) above which a commit checkpoints it and starts it afresh
// (default 64 MiB). Busy writers in several processes and long artifact
// streams then leave it at about this size plus the largest transaction
// of each writer; a read transaction held open for long (a Batch that
// reads, an export's snapshot) still keeps it from restarting meanwhile.
func WithWALLimit(bytes int64) Option { return func(c *config) { c.walLimit = bytes } }

// WithMmapSize sets how much of a SQLite file the tracker reads through a
// memory map of the file (PRAGMA mmap_size) instead of into SQLite's page
// cache; 0 turns mapping off. The default, 2 GiB on 64-bit platforms
// (256 MiB elsewhere), keeps one large lineage walk from evicting the
// cached pages of every other lookup, at two costs: the mapped pages count
// in the process's resident memory (they are the file's own, shared with
// the operating system's cache), and an I/O error while reading the file
// ends the process with SIGBUS instead of returning an error. SQLite caps
// the size at its compile-time limit (just under 2 GiB). Negative bytes
// are ErrInvalidArgument from the Open of a file. Only the SQLite engine
// maps its file; the option means nothing to a database server.
func WithMmapSize(bytes int64) Option {
	return func(c *config) { c.mmapSize, c.mmapSet = bytes, true }
}

// WithReadOnly opens the file for reading only: no run is started and every
// write fails with ErrReadOnly.
func WithReadOnly() Option { return func(c *config) { c.readOnly = true } }

// WithRunName names the run that Open starts (default: the program name).
func WithRunName(name string) Option { return func(c *config) { c.runName = name } }

// WithRun attaches the tracker to the existing run id (or run name) instead
// of starting a new one, for example in the worker processes of one
// hyperparameter search. Stop then ends that run.
func WithRun(idOrName string) Option { return func(c *config) { c.attachRun = idOrName } }

// WithoutRun opens the tracker without a run: what it writes records no run.
// Inspection tools use it.
func WithoutRun() Option { return func(c *config) { c.noRun = true } }

// WithModelLoader registers loader for trainer name on this tracker, ahead
// of the loaders registered with RegisterModelLoader.
func WithModelLoader(name string, loader ModelLoader) Option {
	return func(c *config) {
		if c.loaders == nil {
			c.loaders = map[string]ModelLoader{}
		}
		c.loaders[name] = loader
	}
}

// CreateOption configures CreateResource.
type CreateOption func(*createConfig)

type createConfig struct {
	parent      string
	attrs       map[string]any
	status      string
	ifNotExists bool
	startedAt   time.Time
}

// WithParent hangs the new resource under parent (an id or a reference).
// Experiments, promotions and prediction jobs need a model version parent;
// chain members (dataset_version, model_version) get theirs automatically.
func WithParent(idOrRef string) CreateOption {
	return func(c *createConfig) { c.parent = idOrRef }
}

// WithAttrs sets attributes of the new resource (for example
// prediction_count, or a promotion's reason and metrics). Values must be
// JSON-encodable.
func WithAttrs(attrs map[string]any) CreateOption {
	return func(c *createConfig) {
		if c.attrs == nil {
			c.attrs = map[string]any{}
		}
		for k, v := range attrs {
			c.attrs[k] = v
		}
	}
}

// WithAttr sets one attribute of the new resource.
func WithAttr(key string, value any) CreateOption {
	return WithAttrs(map[string]any{key: value})
}

// WithStatus sets the initial status.
func WithStatus(status string) CreateOption { return func(c *createConfig) { c.status = status } }

// WithStartedAt sets the start time.
func WithStartedAt(t time.Time) CreateOption { return func(c *createConfig) { c.startedAt = t } }

// IfNotExists makes CreateResource return the existing resource of that
// type and name (under that parent) instead of ErrAlreadyExists. It has no
// effect on chain types, which always append a new version.
func IfNotExists() CreateOption { return func(c *createConfig) { c.ifNotExists = true } }

// ArtifactOption configures LogArtifact and the report calls.
type ArtifactOption func(*artifactConfig)

type artifactConfig struct {
	name      string
	mediaType string
	uri       string
	sha256    string
	size      int64
	// sourcePath, when set, is recorded as the artifact's SourcePath in
	// place of the path it was read from (a server's upload file).
	sourcePath string
}

// WithMediaType records the artifact's media type (default: guessed from the
// file name's extension).
func WithMediaType(mediaType string) ArtifactOption {
	return func(c *artifactConfig) { c.mediaType = mediaType }
}

// WithExternalURI records the artifact by URI without copying its bytes into
// the database. The path argument may then be empty; if it names a local
// file, its size and SHA-256 are recorded.
func WithExternalURI(uri string) ArtifactOption { return func(c *artifactConfig) { c.uri = uri } }

// WithSHA256 records the known SHA-256 (hex) of an external artifact, or
// checks that a stored file has it.
func WithSHA256(hexDigest string) ArtifactOption {
	return func(c *artifactConfig) { c.sha256 = hexDigest }
}

// WithSize records the size of an external artifact.
func WithSize(n int64) ArtifactOption { return func(c *artifactConfig) { c.size = n } }

// WithArtifactName names a report (default: its kind and the file's base
// name, such as checks/data/report.json).
func WithArtifactName(name string) ArtifactOption { return func(c *artifactConfig) { c.name = name } }

// PrevOption configures GetPrevResourceVersion.
type PrevOption func(*prevConfig)

type prevConfig struct {
	status string
	tags   map[string]string
	filter string
}

// WithPrevFilter makes GetPrevResourceVersion return the latest earlier
// version that matches filter, a query in the language of package query
// (for example "tags.quality = 'gold' AND metadata.rows > 1000").
func WithPrevFilter(filter string) PrevOption { return func(c *prevConfig) { c.filter = filter } }

// WithPrevStatus makes GetPrevResourceVersion return the latest earlier
// version with this status.
func WithPrevStatus(status string) PrevOption { return func(c *prevConfig) { c.status = status } }

// WithPrevTag makes GetPrevResourceVersion return the latest earlier version
// with tag key set to value. Several tags must all match.
func WithPrevTag(key, value string) PrevOption {
	return func(c *prevConfig) {
		if c.tags == nil {
			c.tags = map[string]string{}
		}
		c.tags[key] = value
	}
}

// DeployOption configures deployment calls.
type DeployOption func(*deployConfig)

type deployConfig struct{ environment string }

// DefaultEnvironment is the deployment environment when none is given.
const DefaultEnvironment = "default"

// WithEnvironment names the deployment environment (default "default").
func WithEnvironment(env string) DeployOption { return func(c *deployConfig) { c.environment = env } }

func deployOptions(opts []DeployOption) deployConfig {
	c := deployConfig{environment: DefaultEnvironment}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// VCOption configures RegisterVCResource.
type VCOption func(*vcConfig)

type vcConfig struct {
	key      string
	metadata map[string]any
}

// WithVCKey stores the info under key (for example X_train), so that
// GetVCInfo(res, "X_train") or GetVCInfo(res, "X_train_hexsha") finds it.
// Without it the info is the resource's default record ("hexsha").
func WithVCKey(key string) VCOption { return func(c *vcConfig) { c.key = key } }

// WithAdditionalMetadata logs each entry as metadata of the resource in the
// same transaction (for example training_params and model_trainer).
func WithAdditionalMetadata(m map[string]any) VCOption {
	return func(c *vcConfig) { c.metadata = m }
}

// LoadOption configures LoadModel.
type LoadOption func(*loadConfig)

type loadConfig struct {
	modelObject    any
	reference      any
	pipelineConfig map[string]any
}

// WithModelObject hands an already fitted model object to the loader.
func WithModelObject(obj any) LoadOption { return func(c *loadConfig) { c.modelObject = obj } }

// WithReferenceModel hands a reference trainer (similar configuration) to
// the loader.
func WithReferenceModel(ref any) LoadOption { return func(c *loadConfig) { c.reference = ref } }

// WithPipelineConfig hands the pipeline configuration to the loader.
func WithPipelineConfig(cfg map[string]any) LoadOption {
	return func(c *loadConfig) { c.pipelineConfig = cfg }
}
