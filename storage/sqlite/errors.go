package sqlite

import (
	"errors"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/metatrack/metatrack/storage"
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
// artifact to disk, say) is storage.ErrDiskFull too.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ENOSPC) {
		return storage.ClassifyOS(err)
	}
	switch Code(err) {
	case sqlite3.SQLITE_READONLY:
		return errors.Join(storage.ErrReadOnly, err)
	case sqlite3.SQLITE_CORRUPT:
		return errors.Join(storage.ErrCorrupt, err)
	case sqlite3.SQLITE_NOTADB:
		return errors.Join(storage.ErrNotDatabase, err)
	case sqlite3.SQLITE_FULL:
		return errors.Join(storage.ErrDiskFull, err)
	}
	return err
}
