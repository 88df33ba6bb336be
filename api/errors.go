package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/metatrack/metatrack"
)

// Error codes of the API besides those of the library's sentinel errors.
const (
	CodeUnauthorized    = "unauthorized"
	CodeForbidden       = "forbidden"
	CodeTooLarge        = "payload_too_large"
	CodeInternal        = "internal"
	CodeCanceled        = "canceled"
	CodeTimeout         = "timeout"
	CodeTooManyRequests = "too_many_requests"
)

// ErrUnauthorized: the request carried no token, or one the server does
// not know (revoked, mistyped).
var ErrUnauthorized = errors.New("unauthorized")

// ErrForbidden: the token's role does not allow the operation (a read
// token writing).
var ErrForbidden = errors.New("forbidden")

// ErrTooLarge: the request body is over the server's limit.
var ErrTooLarge = errors.New("request body too large")

// ErrMethodNotAllowed: the operation exists but not with this HTTP
// method (every JSON operation is POST).
var ErrMethodNotAllowed = errors.New("method not allowed")

// ErrTooManyRequests: too many failed logins from this address; wait.
var ErrTooManyRequests = errors.New("too many failed logins")

// codes is the one table that maps errors to codes and statuses: the
// server picks the first entry whose first sentinel the error matches, and
// a client turns a code back into an error matching every sentinel of its
// entry (an invalid query is an invalid argument too). Entries with
// several sentinels come before their parts.
var codes = []struct {
	code      string
	status    int
	sentinels []error
}{
	{"invalid_query", http.StatusBadRequest, []error{metatrack.ErrInvalidQuery, metatrack.ErrInvalidArgument}},
	{"schema_too_old", http.StatusConflict, []error{metatrack.ErrSchemaTooOld, metatrack.ErrReadOnly}},
	{"deleted", http.StatusNotFound, []error{metatrack.ErrDeleted, metatrack.ErrNotFound}},
	{"not_found", http.StatusNotFound, []error{metatrack.ErrNotFound}},
	{"no_path", http.StatusNotFound, []error{metatrack.ErrNoPath}},
	{"ambiguous", http.StatusConflict, []error{metatrack.ErrAmbiguous}},
	{"already_exists", http.StatusConflict, []error{metatrack.ErrAlreadyExists}},
	{"resource_closed", http.StatusConflict, []error{metatrack.ErrResourceClosed}},
	{"conflict", http.StatusConflict, []error{metatrack.ErrConflict}},
	{"external_artifact", http.StatusConflict, []error{metatrack.ErrExternalArtifact}},
	{"no_model_loader", http.StatusNotFound, []error{metatrack.ErrNoModelLoader}},
	{"invalid_argument", http.StatusBadRequest, []error{metatrack.ErrInvalidArgument}},
	{"read_only", http.StatusConflict, []error{metatrack.ErrReadOnly}},
	{"corrupt", http.StatusInternalServerError, []error{metatrack.ErrCorrupt}},
	{"not_database", http.StatusInternalServerError, []error{metatrack.ErrNotDatabase}},
	{"schema_too_new", http.StatusInternalServerError, []error{metatrack.ErrSchemaTooNew}},
	{"unexpected_schema", http.StatusInternalServerError, []error{metatrack.ErrUnexpectedSchema}},
	{"disk_full", http.StatusInsufficientStorage, []error{metatrack.ErrDiskFull}},
	{"closed", http.StatusServiceUnavailable, []error{metatrack.ErrClosed}},
	{CodeUnauthorized, http.StatusUnauthorized, []error{ErrUnauthorized}},
	{CodeForbidden, http.StatusForbidden, []error{ErrForbidden}},
	{CodeTooLarge, http.StatusRequestEntityTooLarge, []error{ErrTooLarge}},
	{CodeTooManyRequests, http.StatusTooManyRequests, []error{ErrTooManyRequests}},
	{"method_not_allowed", http.StatusMethodNotAllowed, []error{ErrMethodNotAllowed}},
	{CodeCanceled, 499, []error{context.Canceled}},
	{CodeTimeout, http.StatusGatewayTimeout, []error{context.DeadlineExceeded}},
}

// Codes returns every error code the API uses, for its description.
func Codes() []string {
	out := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		out = append(out, c.code)
	}
	return append(out, CodeInternal)
}

// Classify returns the code and HTTP status of err.
func Classify(err error) (code string, status int) {
	for _, c := range codes {
		if errors.Is(err, c.sentinels[0]) {
			return c.code, c.status
		}
	}
	return CodeInternal, http.StatusInternalServerError
}

// ErrorBody is the JSON body of every failed request:
// {"error":{"code":"not_found","message":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the code and message of a failed request. Message is the
// library's own error message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error received from a server: errors.Is matches it against
// the sentinels of its code, so errors.Is(err, metatrack.ErrNotFound)
// holds across the wire.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error returns the server's message.
func (e *Error) Error() string { return e.Message }

// Is reports whether target is one of the sentinels of e's code.
func (e *Error) Is(target error) bool {
	for _, c := range codes {
		if c.code != e.Code {
			continue
		}
		for _, s := range c.sentinels {
			if s == target {
				return true
			}
		}
	}
	return false
}
