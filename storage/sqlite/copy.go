package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
)

// ReadDSN opens path for reading only; without a write-ahead log beside it
// the file is read immutable, which creates no -wal and -shm files.
func ReadDSN(path string) string {
	dsn := DSN(path, Options{}, true)
	if _, err := os.Stat(path + "-wal"); errors.Is(err, os.ErrNotExist) {
		dsn += "&immutable=1"
	}
	return dsn
}

// CopyFile writes a consistent copy of the database file at src to dst,
// a path that does not exist yet, without writing to src (see ReadDSN).
func CopyFile(ctx context.Context, src, dst string) error {
	conn, err := sql.Open("sqlite", ReadDSN(src))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, dst)
	return Classify(err)
}
