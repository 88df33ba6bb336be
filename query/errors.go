package query

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is matched by errors.Is for every error that Parse, Compile,
// Where and the cursor functions return because of the query, its options or
// a cursor.
var ErrInvalid = errors.New("invalid query")

// Error is a parse or compile error. Offset, Line and Column locate it in the
// query text; they are zero for errors that have no position (a bad cursor).
type Error struct {
	// Offset is the byte offset of the error in the query, from 0.
	Offset int
	// Line and Column are 1-based; Column counts characters, not bytes.
	Line, Column int
	// Msg says what is wrong, without position.
	Msg string
	// Snippet is the line of the query holding the error and a line with a
	// caret under the error, each prefixed with " | ". Empty when there is
	// no position.
	Snippet string
	// Err is the cause, such as the error returned by Options.Resolve. It
	// may be nil.
	Err error
	// cursor says that the error is about a cursor, not the query: its
	// message (which begins "invalid cursor") is printed alone.
	cursor bool
}

// Error returns the message with its position and snippet:
//
//	invalid query at line 1, column 9 (offset 8): expected a value after =, found end of query
//	 | status =
//	 |         ^
func (e *Error) Error() string {
	if e.cursor {
		return e.Msg
	}
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d, column %d (offset %d)", e.Line, e.Column, e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Snippet != "" {
		b.WriteByte('\n')
		b.WriteString(e.Snippet)
	}
	return b.String()
}

// Unwrap makes errors.Is match ErrInvalid and the cause, if any.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// snippetWidth is the widest part of a line shown in a snippet, in
// characters.
const snippetWidth = 72

// errorAt returns an *Error at byte offset off of src.
func errorAt(src string, off int, format string, args ...any) *Error {
	if off < 0 {
		off = 0
	}
	if off > len(src) {
		off = len(src)
	}
	lineStart := strings.LastIndexByte(src[:off], '\n') + 1
	lineEnd := strings.IndexByte(src[off:], '\n')
	if lineEnd < 0 {
		lineEnd = len(src)
	} else {
		lineEnd += off
	}
	line := strings.TrimRight(src[lineStart:lineEnd], "\r")
	col := utf8.RuneCountInString(src[lineStart:off]) + 1
	return &Error{
		Offset:  off,
		Line:    strings.Count(src[:off], "\n") + 1,
		Column:  col,
		Msg:     fmt.Sprintf(format, args...),
		Snippet: snippet(line, col-1),
	}
}

// snippet renders line and a caret under its character at index at, both
// cut to snippetWidth characters around the caret.
func snippet(line string, at int) string {
	runes := []rune(line)
	start, prefix, suffix := 0, "", ""
	if len(runes) > snippetWidth {
		start = max(0, at-snippetWidth/2)
		if start > 0 {
			prefix = "..."
		}
		end := min(len(runes), start+snippetWidth)
		if end < len(runes) {
			suffix = "..."
		}
		runes = runes[start:end]
	}
	var caret strings.Builder
	caret.WriteString(" | ")
	caret.WriteString(strings.Repeat(" ", len(prefix)))
	for i := start; i < at && i-start < len(runes); i++ {
		if runes[i-start] == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	for i := start + len(runes); i < at; i++ {
		caret.WriteByte(' ')
	}
	caret.WriteByte('^')
	text := strings.TrimRight(prefix+string(runes)+suffix, " \t")
	return " | " + text + "\n" + caret.String()
}

// errorNoPos returns an *Error without a position.
func errorNoPos(cause error, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: cause}
}
