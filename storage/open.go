package storage

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// OpenOptions are what the domain asks of every engine when it opens a
// store.
type OpenOptions struct {
	// ReadOnly opens the store without write access: no migration, and
	// every write fails with ErrReadOnly.
	ReadOnly bool
}

// Opener opens (creating its schema if needed) the store at url, the URL
// as the user gave it.
type Opener func(ctx context.Context, url string, o OpenOptions) (Engine, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes metatrack.Open open the URLs of scheme (without its
// colon, in any case: "postgres") with open. An engine package calls it
// from its init function, so that importing the package is what links the
// engine in. A second Register of a scheme replaces the first.
func Register(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[strings.ToLower(scheme)] = open
}

// OpenerOf returns the Opener registered for scheme, or nil.
func OpenerOf(scheme string) Opener {
	openersMu.RLock()
	defer openersMu.RUnlock()
	return openers[strings.ToLower(scheme)]
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	s := make([]string, 0, len(openers))
	for k := range openers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}
