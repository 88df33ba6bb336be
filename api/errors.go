package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/portable"
	"github.com/metatrack/metatrack/query"
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
	{"unavailable", http.StatusServiceUnavailable, []error{metatrack.ErrUnavailable}},
	{"login_refused", http.StatusServiceUnavailable, []error{metatrack.ErrLoginRefused}},
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
// library's own error message. An error with structure carries it too, so
// that a client rebuilds it (see Err): the candidates of an ambiguous
// reference, the position of a query error, the line of an export file.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Ambiguous is set for a *metatrack.AmbiguousError.
	Ambiguous *AmbiguousDetail `json:"ambiguous,omitempty"`
	// Query is set for a *query.Error with a position.
	Query *QueryDetail `json:"query,omitempty"`
	// ExportLine is set for a *portable.LineError.
	ExportLine *LineDetail `json:"export_line,omitempty"`
}

// AmbiguousDetail is a *metatrack.AmbiguousError on the wire.
type AmbiguousDetail struct {
	Ref        string               `json:"ref"`
	Candidates []metatrack.Resource `json:"candidates"`
	More       bool                 `json:"more"`
}

// QueryDetail is a *query.Error on the wire: where in the query, and what.
type QueryDetail struct {
	Offset  int    `json:"offset"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	Snippet string `json:"snippet"`
}

// LineDetail is a *portable.LineError on the wire; Cause is the message
// of the error it wraps.
type LineDetail struct {
	Line  int    `json:"line"`
	Kind  string `json:"kind,omitempty"`
	Row   string `json:"row,omitempty"`
	Table string `json:"table,omitempty"`
	Cause string `json:"cause"`
}

// Detail returns the ErrorDetail of err: its code, its message and its
// structure, if it has some.
func Detail(err error) ErrorDetail {
	code, _ := Classify(err)
	d := ErrorDetail{Code: code, Message: err.Error()}
	var amb *metatrack.AmbiguousError
	if errors.As(err, &amb) {
		d.Ambiguous = &AmbiguousDetail{Ref: amb.Ref, Candidates: amb.Candidates, More: amb.More}
	}
	var qe *query.Error
	// A query error without a line is about a cursor: its message is all
	// there is.
	if errors.As(err, &qe) && qe.Line > 0 {
		d.Query = &QueryDetail{Offset: qe.Offset, Line: qe.Line, Column: qe.Column, Message: qe.Msg, Snippet: qe.Snippet}
	}
	var le *portable.LineError
	if errors.As(err, &le) && le.Err != nil {
		d.ExportLine = &LineDetail{Line: le.Line, Kind: le.Kind, Row: le.Row, Table: le.Table, Cause: le.Err.Error()}
	}
	return d
}

// Err returns the error a client reports for d, received with an HTTP
// status: an *Error that matches the sentinels of d's code and unwraps to
// the structured error d carries, so errors.As finds a
// *metatrack.AmbiguousError with its candidates, a *query.Error with its
// position, or a *portable.LineError with its line.
func (d ErrorDetail) Err(status int) *Error {
	e := &Error{Code: d.Code, Message: d.Message, Status: status}
	var causes []error
	if a := d.Ambiguous; a != nil {
		causes = append(causes, &metatrack.AmbiguousError{Ref: a.Ref, Candidates: a.Candidates, More: a.More})
	}
	if q := d.Query; q != nil {
		causes = append(causes, &query.Error{Offset: q.Offset, Line: q.Line, Column: q.Column, Msg: q.Message, Snippet: q.Snippet})
	}
	if l := d.ExportLine; l != nil {
		causes = append(causes, &portable.LineError{Line: l.Line, Kind: l.Kind, Row: l.Row, Table: l.Table, Err: errors.New(l.Cause)})
	}
	e.causes = causes
	return e
}

// Error is an error received from a server: errors.Is matches it against
// the sentinels of its code, so errors.Is(err, metatrack.ErrNotFound)
// holds across the wire, and it unwraps to the structured errors the
// server sent (see ErrorDetail.Err).
type Error struct {
	Code    string
	Message string
	Status  int
	causes  []error
}

// Error returns the server's message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the structured errors the server sent, if any.
func (e *Error) Unwrap() []error { return e.causes }

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
