package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// removeIdleLog removes the empty -wal and the -shm beside path when no
// connection of any process holds the file any more, so that a read-only
// open leaves the directory as it found it (SQLite creates both files for a
// read-only reader of a WAL database, and a read-only connection may not
// remove them when it closes).
//
// It never decides by itself that the files are unused: it opens one
// read-write connection, reads, and closes it, and SQLite's own close logic
// removes the -wal and -shm only if that connection can take the exclusive
// lock on the file, which fails while any other connection, in this process
// or another, has it open. A -wal that holds frames is left alone (closing
// would checkpoint them into the file, and a read-only tracker changes no
// byte of it), as is a file or directory this process may not write. Errors
// are ignored: the files are only untidy, never wrong.
func removeIdleLog(path string) {
	wal, err := os.Stat(path + "-wal")
	switch {
	case err == nil && wal.Size() > 0:
		return
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		if _, err := os.Stat(path + "-shm"); err != nil {
			return // nothing to remove
		}
	}
	if !writable(path) || !writable(filepath.Dir(path)) {
		return
	}
	// mode=rw: never create the file if it went away meanwhile. No
	// journal-mode pragma: the file says WAL itself.
	conn, err := sql.Open("sqlite", "file:"+escapePath(path)+"?mode=rw&_busy_timeout=1000")
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A read opens the -wal; the close that follows removes it and the
	// -shm if this is the last connection.
	var n int
	conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE 0`).Scan(&n)
}
