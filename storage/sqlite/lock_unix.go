//go:build unix

package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on the directory that holds path and
// returns its release, so that concurrent openers of a file (in this process
// or others) run schema setup one at a time. The lock is on the directory,
// never on the database file: opening and closing another descriptor of the
// database file would drop the POSIX locks SQLite holds on it in this process.
func lockFile(ctx context.Context, path string) (func(), error) {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(dir.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			dir.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			dir.Close()
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return func() {
		syscall.Flock(int(dir.Fd()), syscall.LOCK_UN)
		dir.Close()
	}, nil
}

// writable reports whether this process may write path, without opening it
// (see lockFile for why the database file is never opened here).
func writable(path string) bool {
	return syscall.Access(path, 2 /* W_OK */) == nil
}
