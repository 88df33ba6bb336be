package storage

import (
	"strings"
	"sync"
)

// MaxRows is the most rows a many-row statement (UpsertTags,
// InsertHistories, ...) is asked to write or match at once; a caller with
// more splits them.
const MaxRows = 256

// RowsText returns a builder of many-row statements for the Statements
// fields that take a row count: head, then row n times separated by
// commas, then tail. Each text is built once per n, so that the engine's
// statement cache sees the same string.
func RowsText(head, row, tail string) func(n int) string {
	var mu sync.Mutex
	texts := map[int]string{}
	return func(n int) string {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := texts[n]; ok {
			return s
		}
		var b strings.Builder
		b.Grow(len(head) + n*(len(row)+1) + len(tail))
		b.WriteString(head)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		b.WriteString(tail)
		s := b.String()
		if n <= MaxRows {
			texts[n] = s
		}
		return s
	}
}
