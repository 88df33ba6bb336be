//go:build !(linux || darwin || freebsd)

package db

// FreeSpace cannot tell the free space here.
func FreeSpace(path string) (int64, bool) { return 0, false }
