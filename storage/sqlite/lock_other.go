//go:build !unix

package sqlite

import (
	"context"
	"os"
)

// lockFile is a no-op without flock: concurrent first opens of one file rely
// on SQLite's own locking and the retry in Open.
func lockFile(ctx context.Context, path string) (func(), error) {
	return func() {}, nil
}

func writable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().Perm()&0o200 != 0
}
