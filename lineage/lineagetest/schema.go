package lineagetest

import (
	"io/fs"
	"strings"

	"github.com/metatrack/metatrack/schema"
)

// Schema returns the statements of every metatrack migration, in order: the
// schema the walks run against (they read resources.deleted_at, which came
// after the first migration).
func Schema() (string, error) {
	fsys := schema.SQLite()
	names, err := fs.Glob(fsys, "*.up.sql")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, n := range names { // fs.Glob sorts: 0001_..., 0002_..., ...
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String(), nil
}
