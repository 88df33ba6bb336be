package query

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind is the kind of a lexical token.
type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokIdent            // a bare word: a field, keyword, function or key
	tokQuoted           // a backtick-quoted key; val holds the key
	tokString           // a single- or double-quoted string; val holds it decoded
	tokInt              // an integer; text holds it
	tokFloat            // a number with a fraction or an exponent
	tokNow              // now, now-7d, now+1h; val holds the canonical form
	tokTime             // an unquoted date or time: 2024-05-01, 2024-05-01T10:00:00Z
	tokLParen
	tokRParen
	tokComma
	tokDot
	tokOp // = != <> < <= > >=
)

// token is one lexical token. pos and end are byte offsets into the source.
type token struct {
	kind tokenKind
	pos  int
	end  int
	text string // the source text of the token
	val  string // the decoded value of strings, quoted keys and now forms
}

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		return "string " + shorten(t.text)
	case tokQuoted:
		return "key " + shorten(t.text)
	case tokInt, tokFloat:
		return "number " + shorten(t.text)
	case tokTime:
		return "time " + shorten(t.text)
	}
	return strconv.Quote(shorten(t.text))
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 24 {
		return s
	}
	return string([]rune(s)[:21]) + "..."
}

// lexer turns a query into tokens. It is a state machine in the manner of
// text/template/parse: each state consumes some input and returns the next
// state, or nil when the input is exhausted or an error occurred.
type lexer struct {
	src    string
	start  int // start of the current token
	pos    int // current position
	tokens []token
	err    *Error
}

// stateFn is a lexer state.
type stateFn func(*lexer) stateFn

// lex returns the tokens of src, ending with a tokEOF token.
func lex(src string) ([]token, *Error) {
	l := &lexer{src: src}
	for state := lexAny; state != nil; {
		state = state(l)
	}
	if l.err != nil {
		return nil, l.err
	}
	return l.tokens, nil
}

func (l *lexer) peek() byte {
	if l.pos < len(l.src) {
		return l.src[l.pos]
	}
	return 0
}

func (l *lexer) emit(kind tokenKind, val string) {
	l.tokens = append(l.tokens, token{kind: kind, pos: l.start, end: l.pos, text: l.src[l.start:l.pos], val: val})
	l.start = l.pos
}

func (l *lexer) fail(off int, format string, args ...any) stateFn {
	l.err = errorAt(l.src, off, format, args...)
	return nil
}

// lexAny skips white space and dispatches on the next character.
func lexAny(l *lexer) stateFn {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	l.start = l.pos
	if l.pos >= len(l.src) {
		l.emit(tokEOF, "")
		return nil
	}
	c := l.src[l.pos]
	switch {
	case isIdentStart(c):
		return lexIdent
	case isDigit(c), c == '-' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
		return lexNumber
	case c == '\'' || c == '"':
		return lexString
	case c == '`':
		return lexQuotedKey
	}
	l.pos++
	switch c {
	case '(':
		l.emit(tokLParen, "")
	case ')':
		l.emit(tokRParen, "")
	case ',':
		l.emit(tokComma, "")
	case '.':
		l.emit(tokDot, "")
	case '=':
		l.emit(tokOp, "=")
	case '<':
		switch l.peek() {
		case '=':
			l.pos++
			l.emit(tokOp, "<=")
		case '>':
			l.pos++
			l.emit(tokOp, "!=")
		default:
			l.emit(tokOp, "<")
		}
	case '>':
		if l.peek() == '=' {
			l.pos++
			l.emit(tokOp, ">=")
		} else {
			l.emit(tokOp, ">")
		}
	case '!':
		if l.peek() != '=' {
			return l.fail(l.start, `unexpected "!"; did you mean "!=" or NOT?`)
		}
		l.pos++
		l.emit(tokOp, "!=")
	case '-':
		if hint := l.keyHint(); hint != "" {
			return l.fail(l.start, `unexpected "-" in a key: %s`, hint)
		}
		return l.fail(l.start, `unexpected "-": write negative numbers as -5, relative times as now-7d, and quote keys with other characters in backticks`)
	default:
		r, _ := utf8.DecodeRuneInString(l.src[l.start:])
		if hint := l.keyHint(); hint != "" {
			return l.fail(l.start, "unexpected character %q in a key: %s", r, hint)
		}
		return l.fail(l.start, "unexpected character %q; quote keys with other characters in backticks (metadata.`f1-score`) and values in quotes", r)
	}
	return lexAny
}

// keyHint returns, when the character at l.start continues a key of tags,
// metadata or attrs written without backticks (metadata.loss/00001), the
// advice to quote that key, spelled out: metadata.`loss/00001`.
func (l *lexer) keyHint() string {
	stop := func(c byte) bool { return isSpace(c) || strings.IndexByte("()=<>!,'\"`", c) >= 0 }
	from := l.start
	for from > 0 && !stop(l.src[from-1]) {
		from--
	}
	to := l.start
	for to < len(l.src) && !stop(l.src[to]) {
		to++
	}
	word := l.src[from:to]
	name, keys, ok := strings.Cut(word, ".")
	if !ok || from == l.start {
		return ""
	}
	switch strings.ToLower(name) {
	case "tags", "metadata", "attrs":
	default:
		return ""
	}
	if strings.EqualFold(name, "tags") {
		return "quote the key in backticks: " + name + ".`" + keys + "`"
	}
	// Quote the key of the path that holds the character.
	at := l.start - (from + len(name) + 1)
	parts := strings.Split(keys, ".")
	var b strings.Builder
	b.WriteString(name)
	off := 0
	for _, k := range parts {
		b.WriteByte('.')
		if at >= off && at < off+len(k) || !isBareKey(k) {
			b.WriteString("`" + strings.ReplaceAll(k, "`", "``") + "`")
		} else {
			b.WriteString(k)
		}
		off += len(k) + 1
	}
	return "quote the key in backticks: " + b.String()
}

// lexIdent scans a bare word. The word now directly followed by a sign and
// a number with a unit (now-7d) is one relative-time token.
func lexIdent(l *lexer) stateFn {
	for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
		l.pos++
	}
	word := l.src[l.start:l.pos]
	if strings.EqualFold(word, "now") {
		if c := l.peek(); (c == '-' || c == '+') && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]) {
			return lexRelative
		}
		l.emit(tokNow, "now")
		return lexAny
	}
	l.emit(tokIdent, "")
	return lexAny
}

// lexRelative scans the offset of a relative time after "now": a sign,
// digits and one unit letter.
func lexRelative(l *lexer) stateFn {
	sign := l.src[l.pos]
	l.pos++
	digits := l.pos
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	n, err := strconv.ParseInt(l.src[digits:l.pos], 10, 64)
	if err != nil {
		return l.fail(digits, "relative time out of range")
	}
	unitAt := l.pos
	for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
		l.pos++
	}
	unit := l.src[unitAt:l.pos]
	if _, ok := units[unit]; !ok {
		return l.fail(unitAt, "relative time needs one unit of s, m, h, d or w after the number, found %q", unit)
	}
	if _, ok := relativeOffset(sign, n, unit); !ok {
		return l.fail(digits, "relative time out of range")
	}
	l.emit(tokNow, "now"+string(sign)+strconv.FormatInt(n, 10)+unit)
	return lexAny
}

// unquotedTime matches a date or time written without quotes: 2024-05-01,
// 2024-05-01T10:00:00Z, 2024-05-01T10:00:00.5+02:00, and the form the CLI
// prints, 2026-12-04 14:23:15 (a space before the time of day).
var unquotedTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}| UTC)?)?`)

// lexNumber scans an integer or a float: -?digits[.digits][e[+-]digits],
// or an unquoted date or time.
func lexNumber(l *lexer) stateFn {
	if m := unquotedTime.FindString(l.src[l.pos:]); m != "" {
		end := l.pos + len(m)
		if end >= len(l.src) || !isIdentPart(l.src[end]) && l.src[end] != '.' && l.src[end] != ':' {
			l.pos = end
			l.emit(tokTime, m)
			return lexAny
		}
	}
	kind := tokInt
	if l.peek() == '-' {
		l.pos++
	}
	l.digits()
	if l.peek() == '.' {
		l.pos++
		if !isDigit(l.peek()) {
			return l.fail(l.pos, "expected a digit after the decimal point")
		}
		l.digits()
		kind = tokFloat
	}
	if c := l.peek(); c == 'e' || c == 'E' {
		l.pos++
		if c := l.peek(); c == '+' || c == '-' {
			l.pos++
		}
		if !isDigit(l.peek()) {
			return l.fail(l.pos, "expected a digit in the exponent")
		}
		l.digits()
		kind = tokFloat
	}
	if c := l.peek(); isIdentPart(c) || c == '.' {
		return l.fail(l.pos, "unexpected %q after number %s", c, l.src[l.start:l.pos])
	}
	text := l.src[l.start:l.pos]
	if kind == tokInt {
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return l.fail(l.start, "integer %s out of range", text)
		}
	} else if _, err := strconv.ParseFloat(text, 64); err != nil {
		return l.fail(l.start, "number %s out of range", text)
	}
	l.emit(kind, "")
	return lexAny
}

func (l *lexer) digits() {
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
}

// lexString scans a quoted string. The escapes are \\ \' \" \n \r \t and
// \uXXXX; \% and \_ are kept with their backslash, for LIKE patterns. A
// doubled quote character stands for one, as in SQL: 'it”s'.
func lexString(l *lexer) stateFn {
	quote := l.src[l.pos]
	l.pos++
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return l.fail(l.start, "unterminated string")
		}
		c := l.src[l.pos]
		switch {
		case c == quote && l.pos+1 < len(l.src) && l.src[l.pos+1] == quote:
			// SQL style: a doubled quote stands for one ('it''s').
			b.WriteByte(quote)
			l.pos += 2
			continue
		case c == quote:
			l.pos++
			l.emit(tokString, b.String())
			return lexAny
		case c != '\\':
			b.WriteByte(c)
			l.pos++
			continue
		}
		esc := l.pos
		l.pos++
		if l.pos >= len(l.src) {
			return l.fail(l.start, "unterminated string")
		}
		c = l.src[l.pos]
		l.pos++
		switch c {
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '%', '_':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 'u':
			if l.pos+4 > len(l.src) {
				return l.fail(esc, `\u needs four hex digits`)
			}
			n, err := strconv.ParseUint(l.src[l.pos:l.pos+4], 16, 16)
			if err != nil || !utf8.ValidRune(rune(n)) || (n >= 0xD800 && n <= 0xDFFF) {
				return l.fail(esc, `\u needs four hex digits of a valid character`)
			}
			l.pos += 4
			b.WriteRune(rune(n))
		default:
			r, _ := utf8.DecodeRuneInString(l.src[esc+1:])
			return l.fail(esc, `unknown escape \%c in string (use \\ for a backslash)`, r)
		}
	}
}

// lexQuotedKey scans a backtick-quoted key; a doubled backtick stands for
// one backtick.
func lexQuotedKey(l *lexer) stateFn {
	l.pos++
	var b strings.Builder
	for {
		i := strings.IndexByte(l.src[l.pos:], '`')
		if i < 0 {
			return l.fail(l.start, "unterminated quoted key")
		}
		b.WriteString(l.src[l.pos : l.pos+i])
		l.pos += i + 1
		if l.peek() != '`' {
			break
		}
		b.WriteByte('`')
		l.pos++
	}
	l.emit(tokQuoted, b.String())
	return lexAny
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isBareKey(key string) bool {
	return key != "" && isIdentStart(key[0]) && strings.IndexFunc(key, notIdentRune) < 0
}
func notIdentRune(r rune) bool { return r >= utf8.RuneSelf || !isIdentPart(byte(r)) }
