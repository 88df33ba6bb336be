//go:build unix

package ui

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with the given id exists on this
// machine: signal 0 checks without sending anything, and EPERM means it
// exists but belongs to another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// canCheckProcesses reports whether processAlive can answer.
const canCheckProcesses = true
