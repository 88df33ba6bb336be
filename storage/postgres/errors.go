package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/metatrack/metatrack/storage"
)

// Errors of the PostgreSQL engine: its forms of the storage sentinels, so
// that messages name the engine and errors.Is matches either.
var (
	// ErrLoginRefused: the server refused the login (wrong password, an
	// unknown role, a role that may not log in, no pg_hba.conf entry, a
	// database that does not exist or may not be connected to). It matches
	// storage.ErrLoginRefused.
	ErrLoginRefused = fmt.Errorf("PostgreSQL %w", storage.ErrLoginRefused)
	// ErrUnavailable: the server could not be reached, or the connection to
	// it was lost (it restarted, or the network failed). The call that
	// meets it fails; the next one connects again. It matches
	// storage.ErrUnavailable.
	ErrUnavailable = fmt.Errorf("PostgreSQL %w", storage.ErrUnavailable)
)

// SQLSTATE codes the engine acts on. See PostgreSQL's "Error Codes"
// appendix.
const (
	codeSerializationFailure = "40001"
	codeDeadlock             = "40P01"
	codeReadOnlyTx           = "25006"
	codeDiskFull             = "53100"
	codeOutOfMemory          = "53200"
	codeDataCorrupted        = "XX001"
	codeIndexCorrupted       = "XX002"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeInsufficientPriv     = "42501"
	codeInvalidPassword      = "28P01"
	codeInvalidCatalogName   = "3D000"
)

// Code returns the SQLSTATE of err, read from the driver's error type
// (never from its text), or "" when err carries none.
func Code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// IsConstraint reports whether err is a violated integrity constraint:
// SQLSTATE class 23 (unique, check, foreign key, not null, exclusion).
func IsConstraint(err error) bool {
	return strings.HasPrefix(Code(err), "23")
}

// isRetryable reports whether err is a conflict with another transaction
// that running the transaction again resolves: a serialization failure or
// a deadlock.
func isRetryable(err error) bool {
	c := Code(err)
	return c == codeSerializationFailure || c == codeDeadlock
}

// isConnLoss reports whether err means the connection to the server is
// gone or could not be made: the server shut down or restarted (57P01,
// 57P02, 57P03), the socket failed, or the driver found the connection
// broken (or closed it after a failure: pgconn.ErrConnClosed).
func isConnLoss(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch c := Code(err); {
	case c == codeAdminShutdown || c == codeCrashShutdown || c == codeCannotConnectNow:
		return true
	case strings.HasPrefix(c, "08"): // connection exception
		return true
	case c != "":
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err)
}

// isLoginRefused reports whether err is the server refusing the login:
// SQLSTATE class 28 (invalid authorization), a database that does not
// exist, or no permission to connect to it.
func isLoginRefused(err error) bool {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return false
	}
	c := Code(err)
	return strings.HasPrefix(c, "28") || c == codeInvalidCatalogName || c == codeInsufficientPriv
}

// classify wraps err with the storage sentinel that matches its SQLSTATE,
// keeping the driver's error in the chain. loc names the store (no
// password) in the messages of lost connections.
func classify(err error, loc string) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{storage.ErrReadOnly, storage.ErrDiskFull, storage.ErrCorrupt, storage.ErrConflict, ErrUnavailable, ErrLoginRefused} {
		if errors.Is(err, s) {
			return err // classified already
		}
	}
	if errors.Is(err, syscall.ENOSPC) {
		return errors.Join(storage.ErrDiskFull, err)
	}
	switch c := Code(err); {
	case c == codeReadOnlyTx:
		return errors.Join(storage.ErrReadOnly, err)
	case c == codeDiskFull:
		return errors.Join(storage.ErrDiskFull, err)
	case c == codeDataCorrupted || c == codeIndexCorrupted:
		return errors.Join(storage.ErrCorrupt, err)
	case c == codeSerializationFailure || c == codeDeadlock:
		return errors.Join(storage.ErrConflict, err)
	}
	if isLoginRefused(err) {
		return &causeError{ErrLoginRefused, loc, err}
	}
	if isConnLoss(err) {
		return &causeError{ErrUnavailable, loc, err}
	}
	return err
}

// causeError is a sentinel with the store's location and the cause in a
// few words; the driver's error stays in the chain for errors.As.
type causeError struct {
	sentinel error
	loc      string
	cause    error
}

func (e *causeError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.sentinel, e.loc, serverMessage(e.cause))
}

func (e *causeError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// Scanned marks an error of reading rows that is not the server's, not
// "no rows", not the context's and not a lost connection as ErrCorrupt:
// database/sql failed to convert a stored value (a NULL, or text in a
// number column, where the schema allows neither), which only a damaged
// store produces. Get and Select of the engine's Tx apply it (see
// storage.ScanChecker).
func (e *Engine) Scanned(err error) error { return scanned(err) }

func scanned(err error) error {
	switch {
	case err == nil, errors.Is(err, sql.ErrNoRows), Code(err) != "",
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, sql.ErrTxDone),
		errors.Is(err, storage.ErrCorrupt), errors.Is(err, storage.ErrReadOnly),
		errors.Is(err, ErrUnavailable), errors.Is(err, ErrLoginRefused), errors.Is(err, errClosed),
		isConnLoss(err):
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
}

// serverMessage is the cause of a connection error in a few words: the
// server's message with its SQLSTATE, or the network error. pgx's own text
// of a failed connect repeats the user and database; this is only the
// cause.
func serverMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	var ce *pgconn.ConnectError
	msg := err.Error()
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		msg = ce.Unwrap().Error()
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return msg
}
