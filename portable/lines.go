package portable

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/metatrack/metatrack/rules"
)

// lineReader reads the lines of an export file, one at a time, refusing
// lines longer than MaxLineBytes.
type lineReader struct {
	r    *bufio.Reader
	line int
	buf  []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 2<<20)}
}

// next returns the next line without its line ending, or io.EOF. The
// slice is valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		l.buf = append(l.buf, frag...)
		if len(l.buf) > MaxLineBytes+2 {
			l.line++
			return nil, &LineError{Line: l.line, Err: fmt.Errorf("line is longer than %d bytes", MaxLineBytes)}
		}
		switch {
		case err == nil:
			l.line++
			return bytes.TrimRight(l.buf, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(l.buf) == 0 {
				return nil, io.EOF
			}
			// The last line has no line ending; if it was cut short,
			// decoding it fails.
			l.line++
			return bytes.TrimRight(l.buf, "\r"), nil
		}
		return nil, err
	}
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
// the object.
func decode(line []byte, rec any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(rec); err != nil {
		return fmt.Errorf("malformed record: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed record: data after the JSON object")
	}
	return nil
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
