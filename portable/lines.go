package portable

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/metatrack/metatrack/rules"
)

// lineReader reads the lines of an export file, one at a time, refusing
// lines longer than MaxLineBytes. A line that fits in its buffer is
// returned in place, without a copy. A longer one is gathered in pieces and
// copied once into a slice of its exact length, so reading a line of n
// bytes holds at most 2n bytes for a moment and n bytes after, where a
// growing buffer would hold up to 3n and leave as much garbage behind.
type lineReader struct {
	r      *bufio.Reader
	line   int
	pieces [][]byte // the parts of a long line read so far
}

// lineBufSize is the size of the reader's buffer: lines up to this long
// (a chunk record of a 1 MiB chunk is 1.4 MB) are never copied.
const lineBufSize = 2 << 20

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, lineBufSize)}
}

// next returns the next line without its line ending, or io.EOF. The
// slice is valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	l.pieces = l.pieces[:0]
	total := 0
	for {
		frag, err := l.r.ReadSlice('\n')
		total += len(frag)
		if total > MaxLineBytes+2 {
			l.line++
			l.pieces = nil
			return nil, &LineError{Line: l.line, Err: fmt.Errorf("line is longer than %d bytes", MaxLineBytes)}
		}
		switch {
		case err == nil:
			l.line++
			return bytes.TrimRight(l.join(frag, total), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			// frag is the reader's buffer, which the next read reuses.
			l.pieces = append(l.pieces, bytes.Clone(frag))
			continue
		case errors.Is(err, io.EOF):
			if total == 0 {
				return nil, io.EOF
			}
			// The last line has no line ending; if it was cut short,
			// decoding it fails.
			l.line++
			return bytes.TrimRight(l.join(frag, total), "\r"), nil
		}
		return nil, err
	}
}

// join returns the line whose earlier pieces are l.pieces and whose last
// is frag, total bytes in all.
func (l *lineReader) join(frag []byte, total int) []byte {
	if len(l.pieces) == 0 {
		return frag
	}
	line := make([]byte, 0, total)
	for i, p := range l.pieces {
		line = append(line, p...)
		l.pieces[i] = nil // garbage as soon as copied
	}
	l.pieces = l.pieces[:0]
	return append(line, frag...)
}

// peekKind returns the kind of the record on line. The exporter writes
// "kind" first, which makes this cheap; other lines are decoded.
func peekKind(line []byte) (string, error) {
	const prefix = `{"kind":"`
	if rest, ok := bytes.CutPrefix(line, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), nil
		}
	}
	var k struct {
		Kind *string `json:"kind"`
	}
	if err := json.Unmarshal(line, &k); err != nil {
		return "", fmt.Errorf("malformed JSON: %v", err)
	}
	if k.Kind == nil {
		return "", errors.New(`the record has no "kind"`)
	}
	return *k.Kind, nil
}

// decode decodes line into rec strictly: no unknown fields, nothing after
// the object. It decodes in place: a json.Decoder would first copy the
// whole line into a buffer of its own, growing it as it goes, which for a
// line of tens of megabytes is several times its size. The records are
// flat structs, so the unknown fields are the object's top-level keys
// that name no field.
func decode(line []byte, rec any) error {
	if err := json.Unmarshal(line, rec); err != nil {
		if end, ok := objectEnd(line); ok && len(bytes.TrimSpace(line[end:])) > 0 {
			return errors.New("malformed record: data after the JSON object")
		}
		return fmt.Errorf("malformed record: %v", err)
	}
	t := reflect.TypeOf(rec)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	fields := fieldsOf(t.Elem())
	return eachKey(line, func(key string) error {
		if _, ok := fields[key]; ok {
			return nil
		}
		for f := range fields {
			// encoding/json matches a key to a field's name ignoring case.
			if strings.EqualFold(f, key) {
				return nil
			}
		}
		return fmt.Errorf("malformed record: json: unknown field %q", key)
	})
}

// recordFields caches fieldsOf.
var recordFields sync.Map // reflect.Type -> map[string]struct{}

// fieldsOf returns the JSON names of the fields of the struct type t.
func fieldsOf(t reflect.Type) map[string]struct{} {
	if m, ok := recordFields.Load(t); ok {
		return m.(map[string]struct{})
	}
	m := map[string]struct{}{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		m[name] = struct{}{}
	}
	recordFields.Store(t, m)
	return m
}

// eachKey calls fn with each top-level key of the JSON object b, which
// json.Unmarshal has found valid.
func eachKey(b []byte, fn func(key string) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil // not an object: Unmarshal has refused it already
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i++
			continue
		}
		end := skipString(b, i)
		var key string
		if err := json.Unmarshal(b[i:end], &key); err != nil {
			return fmt.Errorf("malformed record: %v", err)
		}
		if err := fn(key); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ':' {
			i++
		}
		i = skipValue(b, skipSpace(b, i))
	}
}

// objectEnd returns the index just after the JSON value that starts b
// (after spaces), and whether it is complete.
func objectEnd(b []byte) (int, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	end := skipValue(b, i)
	return end, end <= len(b) && end > i && b[end-1] == '}'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// fastChunk decodes a chunk record in the form the exporter writes,
// {"kind":"chunk","blob":"<sha256>","idx":<n>,"data":"<base64>"}, without
// the JSON decoder, which is slow on a megabyte of base64. It reports
// false for any other spelling, which is then decoded as JSON.
func fastChunk(line []byte, r *chunkRec) bool {
	rest, ok := bytes.CutPrefix(line, []byte(`{"kind":"chunk","blob":"`))
	if !ok || len(rest) < 64 {
		return false
	}
	blob := rest[:64]
	rest, ok = bytes.CutPrefix(rest[64:], []byte(`","idx":`))
	if !ok {
		return false
	}
	i := bytes.IndexByte(rest, ',')
	if i <= 0 {
		return false
	}
	idx, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return false
	}
	data, ok := bytes.CutPrefix(rest[i:], []byte(`,"data":"`))
	if !ok {
		return false
	}
	data, ok = bytes.CutSuffix(data, []byte(`"}`))
	if !ok || bytes.IndexByte(data, '"') >= 0 || bytes.IndexByte(data, '\\') >= 0 {
		return false
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Strict().Decode(buf, data)
	if err != nil {
		return false
	}
	r.Kind, r.Blob, r.Idx, r.Data = KindChunk, string(blob), idx, buf[:n]
	return true
}

// checkText refuses a line that is not valid UTF-8 or holds a lone UTF-16
// surrogate or the escape \ufffd in a string: decoding would silently turn
// those into U+FFFD, and store other text than the file's.
func checkText(line []byte) error {
	if !utf8.Valid(line) {
		i := 0
		for i < len(line) {
			r, n := utf8.DecodeRune(line[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return fmt.Errorf("the line is not valid UTF-8 (byte %d)", i+1)
	}
	if err := rules.Escapes(line); err != nil {
		return fmt.Errorf("the line %v", err)
	}
	return nil
}
