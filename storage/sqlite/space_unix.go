//go:build linux || darwin || freebsd

package sqlite

import (
	"path/filepath"
	"syscall"
)

// FreeSpace returns the bytes available to this process on the filesystem
// that holds the database file at path, and whether it could tell.
func FreeSpace(path string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
