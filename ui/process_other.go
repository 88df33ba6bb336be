//go:build !unix

package ui

// processAlive cannot check a process here; canCheckProcesses says so.
func processAlive(pid int) bool { return true }

// canCheckProcesses reports whether processAlive can answer.
const canCheckProcesses = false
