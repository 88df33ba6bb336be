package metatrack

import (
	"errors"

	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/storage"
)

// Sentinel errors. Every error a caller can cause wraps one of these, so
// callers match them with errors.Is and never by message. The message of the
// wrapping error names the resource and what was wrong.
var (
	// ErrNotFound: the resource, tag, metadata key, artifact, version-control
	// record, run, deployment or previous version asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: an argument is malformed or not allowed (empty or
	// unknown type, bad name, unknown update field, a directory given as a
	// file, a parent of the wrong type, ...).
	ErrInvalidArgument = rules.ErrInvalidArgument
	// ErrAmbiguous: a reference names more than one resource (three
	// experiments trial-1, one under each model version). The error is an
	// *AmbiguousError listing them with their unique references.
	ErrAmbiguous = errors.New("ambiguous reference")
	// ErrAlreadyExists: a resource that must be unique exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the change contradicts the stored state, for example a
	// status change or a promotion of a model version that is deployed
	// (its deployment would disagree with its status). The message says
	// what to do first; nothing was changed. Also: bytes an artifact
	// stream or an export was reading were removed meanwhile (replaced,
	// then gc); read again.
	ErrConflict = storage.ErrConflict
	// ErrCorrupt: stored bytes failed verification (an artifact whose SHA-256
	// no longer matches) or the file is damaged.
	ErrCorrupt = storage.ErrCorrupt
	// ErrNotDatabase: the file is not a SQLite database, or is a SQLite
	// database of another application.
	ErrNotDatabase = storage.ErrNotDatabase
	// ErrSchemaTooNew: the file was written by a newer metatrack whose schema
	// this library does not know. The file is left untouched.
	ErrSchemaTooNew = storage.ErrSchemaTooNew
	// ErrSchemaTooOld: a file written by an older metatrack was opened
	// read-only, so its schema could not be upgraded. Open it once without
	// WithReadOnly to upgrade it. It comes with ErrReadOnly.
	ErrSchemaTooOld = storage.ErrSchemaTooOld
	// ErrUnexpectedSchema: a database file's schema is not the one its
	// version defines: it carries a view, a trigger, or a table, column or
	// index that metatrack did not create (or lacks one). Merge refuses
	// such a file, and Open does not upgrade it; Verify reports it.
	ErrUnexpectedSchema = storage.ErrUnexpectedSchema
	// ErrReadOnly: a write was attempted on a tracker opened read-only, or on
	// a file the process may not write.
	ErrReadOnly = storage.ErrReadOnly
	// ErrDiskFull: a write failed because the disk is full. Nothing
	// acknowledged before it is lost; writes resume once space is freed.
	ErrDiskFull = storage.ErrDiskFull
	// ErrUnsupported: the store's engine does not offer the operation
	// (a file backup, vacuum or integrity check of a SQLite file on a
	// database server), or no engine is linked in for the URL's scheme.
	ErrUnsupported = storage.ErrUnsupported
	// ErrUnavailable: the store's database server could not be reached, or
	// the connection to it was lost; the call fails, the next one connects
	// again. A write that met it while committing may or may not be stored
	// (its message says which).
	ErrUnavailable = storage.ErrUnavailable
	// ErrLoginRefused: the store's database server refused the login.
	ErrLoginRefused = storage.ErrLoginRefused
	// ErrClosed: the tracker was stopped or closed.
	ErrClosed = errors.New("tracker is closed")
	// ErrNoModelLoader: LoadModel found a trainer name with no registered
	// loader.
	ErrNoModelLoader = errors.New("no model loader registered")
	// ErrExternalArtifact: the artifact is recorded by URI only and its bytes
	// are not in the database.
	ErrExternalArtifact = errors.New("artifact is stored externally")
	// ErrResourceClosed: a metric point was logged to a resource that has
	// ended (CleanResource recorded its end time) or to a run that has
	// ended. Nothing is stored.
	ErrResourceClosed = errors.New("resource is closed")
)
