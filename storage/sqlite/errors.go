package sqlite

import (
	"errors"
	"syscall"

	"github.com/metatrack/metatrack/schema"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of the storage layer. The root package re-exports them, so callers
// match them there with errors.Is.
var (
	ErrCorrupt      = errors.New("database or stored data is corrupt")
	ErrNotDatabase  = errors.New("not a metatrack database")
	ErrSchemaTooNew = errors.New("database schema is newer than this library")
	ErrReadOnly     = errors.New("database is read-only")
	ErrDiskFull     = errors.New("disk is full")
	ErrSchemaTooOld = errors.New("database schema is older than this library")
	// ErrUnexpectedSchema: the file's schema is not the one its version
	// defines (a view, a trigger, a table, column or index that
	// metatrack's migrations did not create, or one missing).
	ErrUnexpectedSchema = schema.ErrUnexpected
	// ErrConflict: the change, or a long read, met state that another
	// writer changed meanwhile.
	ErrConflict = errors.New("conflict")
)

// Code returns the primary SQLite result code of err, read from the driver's
// error type (never from its text), or 0 when err is not a SQLite error.
func Code(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// IsBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED: another
// connection holds a lock and the operation may succeed if tried again.
func IsBusy(err error) bool {
	c := Code(err)
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// IsConstraint reports whether err is a constraint violation (unique, check,
// foreign key, not null).
func IsConstraint(err error) bool {
	return Code(err) == sqlite3.SQLITE_CONSTRAINT
}

// Classify wraps err with the sentinel that matches its SQLite result code
// (read-only, corrupt, not a database, full), keeping the driver error in the
// chain. An operating-system "no space left on device" (from writing an
// artifact to disk, say) is ErrDiskFull too.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENOSPC) && !errors.Is(err, ErrDiskFull) {
		return errors.Join(ErrDiskFull, err)
	}
	switch Code(err) {
	case sqlite3.SQLITE_READONLY:
		return errors.Join(ErrReadOnly, err)
	case sqlite3.SQLITE_CORRUPT:
		return errors.Join(ErrCorrupt, err)
	case sqlite3.SQLITE_NOTADB:
		return errors.Join(ErrNotDatabase, err)
	case sqlite3.SQLITE_FULL:
		return errors.Join(ErrDiskFull, err)
	}
	return err
}
