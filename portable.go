package metatrack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/metatrack/metatrack/portable"
	"github.com/metatrack/metatrack/query"
	"github.com/metatrack/metatrack/storage"
)

// Kinds of change that Import and Merge record when they reconcile two
// files (see package portable).
const (
	// ChangeRenumbered: a chain member got another version number because
	// both files numbered different members the same (Key "version", Old
	// and New the numbers).
	ChangeRenumbered = portable.ChangeRenumbered
	// ChangeUnified: two resources of the same name (two roots of a type,
	// or two children of one parent) became one (Old {"id": given up},
	// New {"id": kept}).
	ChangeUnified = portable.ChangeUnified
)

type (
	// TransferStats say what Export, Import or Merge moved.
	TransferStats = portable.Stats
	// Renumbering is one version number a chain member gave up in an
	// Import or Merge.
	Renumbering = portable.Renumbering
	// VerifyReport is what Verify found; Problems lists each problem.
	VerifyReport = storage.Report
	// Problem is one problem Verify found.
	Problem = storage.Problem
	// GCStats say what GC removed, or would remove.
	GCStats = storage.GCStats
)

// MaintenanceOption configures Export, Import, Merge, Verify and GC. Each
// of them ignores the options that are not its own.
type MaintenanceOption func(*maintenanceConfig)

type maintenanceConfig struct {
	filter    string
	noLineage bool
	progress  func(done, total int64)
	dryRun    bool
	stagedAge time.Duration
	purgeAge  time.Duration
}

func maintenanceOptions(opts []MaintenanceOption) maintenanceConfig {
	var c maintenanceConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithExportFilter makes Export write only the resources that filter (a
// query in the language of package query) selects, with what they need:
// their ancestors and upstream lineage (unless WithoutLineage), runs, tags,
// metadata, version-control records, history, artifacts and their bytes,
// the edges among them and the deployments of the exported versions.
func WithExportFilter(filter string) MaintenanceOption {
	return func(c *maintenanceConfig) { c.filter = filter }
}

// WithoutLineage makes a filtered Export leave out the upstream lineage it
// adds by default (what the selected resources were made from: a model
// version's dataset versions, their datasets, its winning experiment, and
// so on): only the selection and its ancestors are written.
func WithoutLineage() MaintenanceOption {
	return func(c *maintenanceConfig) { c.noLineage = true }
}

// WithProgress has a long operation call fn as it goes, with done of total
// units: records for Export, Import and Merge (total 0 while unknown),
// bytes for Verify, blobs for GC. fn may be called often, and, for Merge,
// from another goroutine; it should return quickly.
func WithProgress(fn func(done, total int64)) MaintenanceOption {
	return func(c *maintenanceConfig) { c.progress = fn }
}

// WithDryRun makes GC count what it would remove, and remove nothing; and
// Import and Merge run in full in a transaction that is rolled back, so
// that their TransferStats (counts, Renumberings) say what they would do
// while nothing is written.
func WithDryRun() MaintenanceOption { return func(c *maintenanceConfig) { c.dryRun = true } }

// WithStagedAge sets how old an unfinished artifact upload must be before
// GC removes it (default storage.DefaultStagedAge, a day), so that uploads in
// progress in other processes survive.
func WithStagedAge(d time.Duration) MaintenanceOption {
	return func(c *maintenanceConfig) { c.stagedAge = d }
}

// Export writes the tracker's database, or the part WithExportFilter
// selects, to w in the documented line-oriented export format (see package
// portable), artifact bytes included. It reads one snapshot and streams:
// writers go on, memory stays small. Stored bytes that fail their SHA-256
// stop it with ErrCorrupt.
func (t *Tracker) Export(ctx context.Context, w io.Writer, opts ...MaintenanceOption) (TransferStats, error) {
	if err := t.checkOpen(); err != nil {
		return TransferStats{}, err
	}
	cfg := maintenanceOptions(opts)
	x := &txn{t: t, sql: t.sql, tx: t.db.Reader()}
	stats, err := portable.Export(ctx, t.db, w, portable.ExportOptions{
		Filter:    cfg.filter,
		NoLineage: cfg.noLineage,
		Now:       t.cfg.now,
		Resolve:   x.resolveSeq(ctx),
		Progress:  cfg.progress,
	})
	return stats, portableErr(err)
}

// Import reads an export from r into the tracker's database and reconciles
// it with what is there (package portable documents the rules); importing
// the same export again changes nothing. The imported records keep their
// runs; the tracker's own run records nothing. The import is atomic: a
// malformed or truncated input fails with ErrInvalidArgument naming the
// line (errors.As with *portable.LineError gives it) and leaves the
// database as it was.
func (t *Tracker) Import(ctx context.Context, r io.Reader, opts ...MaintenanceOption) (TransferStats, error) {
	if err := t.checkWrite("Import"); err != nil {
		return TransferStats{}, err
	}
	cfg := maintenanceOptions(opts)
	stats, err := portable.Import(ctx, t.db, r, portable.ImportOptions{Progress: cfg.progress, Now: t.cfg.now, DryRun: cfg.dryRun})
	return stats, portableErr(err)
}

// Merge brings every record and artifact of the database file at
// otherPath into this one, as Import of its export would; the other file
// is not changed. Merging again changes nothing, and merging A into B
// gives the same content as merging B into A. Version numbers of chains
// that both files extended are reassigned by creation time, so a reference
// such as model_version/m@3 may name another version afterwards; each
// change is in the member's history (ChangeRenumbered) and in the
// returned Renumberings. WithDryRun shows all that without writing.
func (t *Tracker) Merge(ctx context.Context, otherPath string, opts ...MaintenanceOption) (TransferStats, error) {
	if err := t.checkWrite("Merge"); err != nil {
		return TransferStats{}, err
	}
	path, err := PathFromURL(otherPath)
	if err != nil {
		return TransferStats{}, err
	}
	cfg := maintenanceOptions(opts)
	stats, err := portable.Merge(ctx, t.db, path, portable.MergeOptions{Progress: cfg.progress, Now: t.cfg.now, DryRun: cfg.dryRun})
	return stats, portableErr(err)
}

// Verify checks the store: its schema against its version's migrations,
// the engine's integrity checks (SQLite's integrity check on a file) and
// foreign keys, every stored JSON value, every artifact's bytes against its
// SHA-256 and size, every version chain (numbered 1..n, parents right),
// deployments, aliases, deletion, the attribute index and the change log
// (see storage.DomainCheck), and the metric series. When it finds a
// problem it returns the report and an error matching ErrCorrupt; the
// report lists every problem.
func (t *Tracker) Verify(ctx context.Context, opts ...MaintenanceOption) (VerifyReport, error) {
	if err := t.checkOpen(); err != nil {
		return VerifyReport{}, err
	}
	cfg := maintenanceOptions(opts)
	v, ok := t.db.(storage.Verifier)
	if !ok {
		return VerifyReport{}, t.unsupported("Verify")
	}
	rep, err := v.Verify(ctx, cfg.progress)
	if err != nil {
		return rep, err
	}
	if !rep.OK() {
		n := len(rep.Problems) + rep.Omitted
		return rep, fmt.Errorf("%w: %s: %d problems, the first: %s", ErrCorrupt, t.db.Location(), n, rep.Problems[0])
	}
	return rep, nil
}

// GC removes artifact bytes that no record refers to: those of artifacts
// logged again under the same name, and uploads abandoned longer ago than
// WithStagedAge. WithDryRun only counts them. The freed space is reused by
// later writes; Vacuum returns it to the file system.
func (t *Tracker) GC(ctx context.Context, opts ...MaintenanceOption) (GCStats, error) {
	cfg := maintenanceOptions(opts)
	if cfg.dryRun {
		if err := t.checkOpen(); err != nil {
			return GCStats{}, err
		}
	} else if err := t.checkWrite("GC"); err != nil {
		return GCStats{}, err
	}
	c, ok := t.db.(storage.Collector)
	if !ok {
		return GCStats{}, t.unsupported("GC")
	}
	return c.GC(ctx, storage.GCOptions{DryRun: cfg.dryRun, StagedAge: cfg.stagedAge, Now: t.cfg.now, Progress: cfg.progress})
}

// Vacuum rebuilds the database file without its free pages (after GC, for
// example), so that it shrinks. It holds the write lock while it runs.
func (t *Tracker) Vacuum(ctx context.Context) error {
	if err := t.checkWrite("Vacuum"); err != nil {
		return err
	}
	v, ok := t.db.(storage.Vacuumer)
	if !ok {
		return t.unsupported("Vacuum")
	}
	return v.Vacuum(ctx)
}

// checkWrite refuses a write that runs its own transactions inside a
// batch (it would wait for the batch forever) or on a read-only tracker.
func (t *Tracker) checkWrite(what string) error {
	if err := t.checkOpen(); err != nil {
		return err
	}
	if t.tx != nil {
		return fmt.Errorf("%w: %s inside Batch", ErrInvalidArgument, what)
	}
	if t.cfg.readOnly {
		return fmt.Errorf("%w: %s was opened read-only", ErrReadOnly, t.db.Location())
	}
	return nil
}

// portableErr maps the errors of package portable to the root sentinels.
func portableErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalidArgument):
		// A record that breaks a rule of package rules says so itself.
		return err
	case errors.Is(err, portable.ErrInvalid), errors.Is(err, portable.ErrSameDatabase):
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	case errors.Is(err, query.ErrInvalid):
		return invalidQuery(err)
	}
	return err
}
