package storage

import (
	"errors"
	"syscall"
)

// Errors every engine classifies its own error codes onto (Engine.Classify),
// so that callers match them with errors.Is whatever the store runs on. The
// root package re-exports them.
var (
	// ErrCorrupt: stored data failed verification or the store is damaged.
	ErrCorrupt = errors.New("database or stored data is corrupt")
	// ErrNotDatabase: the store is not a metatrack database (not a SQLite
	// file, or one of another application; a PostgreSQL schema holding
	// tables that are not ours).
	ErrNotDatabase = errors.New("not a metatrack database")
	// ErrSchemaTooNew: the store's schema was written by a newer metatrack.
	ErrSchemaTooNew = errors.New("database schema is newer than this library")
	// ErrSchemaTooOld: the store's schema is older than this library and
	// could not be upgraded (it was opened read-only).
	ErrSchemaTooOld = errors.New("database schema is older than this library")
	// ErrReadOnly: a write on a store opened read-only, or one the process
	// may not write.
	ErrReadOnly = errors.New("database is read-only")
	// ErrDiskFull: a write failed for want of room.
	ErrDiskFull = errors.New("disk is full")
	// ErrUnexpectedSchema: the store's schema is not the one its version
	// defines (a view, a trigger, a table, column or index that metatrack's
	// migrations did not create, or one missing).
	ErrUnexpectedSchema = errors.New("the file's schema is not the one its version defines")
	// ErrConflict: the change, or a long read, met state that another
	// writer changed meanwhile.
	ErrConflict = errors.New("conflict")
	// ErrUnsupported: the engine does not offer the operation (a file
	// backup or a vacuum on a database server, say), or no engine is
	// linked in for the URL's scheme.
	ErrUnsupported = errors.New("not supported")
	// ErrUnavailable: the database server could not be reached, or the
	// connection to it was lost (it restarted, or the network failed). The
	// call that meets it fails; the next one connects again.
	ErrUnavailable = errors.New("server unavailable")
	// ErrLoginRefused: the database server refused the login (a wrong
	// password, an unknown role, no access to the database).
	ErrLoginRefused = errors.New("server refused the login")
)

// ClassifyOS wraps an operating-system "no space left on device" with
// ErrDiskFull (when it does not match it already) and returns other errors
// as they are: for the files the domain writes itself (artifacts saved to
// disk, spools of exports).
func ClassifyOS(err error) error {
	if errors.Is(err, syscall.ENOSPC) && !errors.Is(err, ErrDiskFull) {
		return errors.Join(ErrDiskFull, err)
	}
	return err
}
