//go:build !(linux || darwin || freebsd)

package sqlite

// FreeSpace cannot tell the free space here.
func FreeSpace(path string) (int64, bool) { return 0, false }
