package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/api"
)

// Failed logins from one address are slowed down: each failure waits
// failureDelay times the failures of the last failureWindow (at most
// maxFailureDelay), and from maxFailures on the address is refused with
// 429 until the window has passed.
const (
	failureWindow   = time.Minute
	failureDelay    = 100 * time.Millisecond
	maxFailureDelay = time.Second
	maxFailures     = 10
)

// TokenAuth authenticates requests by the bearer token of their
// Authorization header against the tokens of tr (see
// metatrack.Tracker.CreateToken); the change log records the token's name.
func TokenAuth(tr *metatrack.Tracker) Authenticator {
	return tokenAuth(tr, &limiter{failures: map[string][]time.Time{}, sleep: time.Sleep})
}

func tokenAuth(tr *metatrack.Tracker, l *limiter) Authenticator {
	return func(r *http.Request) (Role, string, error) {
		addr := clientAddr(r)
		if n := l.recent(addr); n >= maxFailures {
			return 0, "", fmt.Errorf("%w: %d failed logins from %s in the last %s; wait", api.ErrTooManyRequests, n, addr, failureWindow)
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			return 0, "", fmt.Errorf("%w: no token: send Authorization: Bearer <token> (metatrack token create makes one)", api.ErrUnauthorized)
		}
		tok, err := tr.Authenticate(r.Context(), secret)
		if errors.Is(err, metatrack.ErrNotFound) {
			l.fail(addr)
			return 0, "", fmt.Errorf("%w: the token is not valid (unknown or revoked)", api.ErrUnauthorized)
		}
		if err != nil {
			return 0, "", err
		}
		return ParseRole(tok.Role), tok.Name, nil
	}
}

// ParseRole returns the Role named read, write or admin (0 for another
// name).
func ParseRole(s string) Role {
	switch s {
	case metatrack.RoleRead:
		return RoleRead
	case metatrack.RoleWrite:
		return RoleWrite
	case metatrack.RoleAdmin:
		return RoleAdmin
	}
	return 0
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type limiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	sleep    func(time.Duration)
}

// recent returns the failures of addr in the window.
func (l *limiter) recent(addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.prune(addr, time.Now()))
}

func (l *limiter) prune(addr string, now time.Time) []time.Time {
	fs := l.failures[addr]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) > failureWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, addr)
	} else {
		l.failures[addr] = fs
	}
	return fs
}

// fail records a failed login of addr and waits in proportion.
func (l *limiter) fail(addr string) {
	now := time.Now()
	l.mu.Lock()
	if len(l.failures) > 10000 {
		// Bound the table under a flood of addresses.
		for a := range l.failures {
			l.prune(a, now)
		}
	}
	fs := append(l.prune(addr, now), now)
	l.failures[addr] = fs
	n := len(fs)
	l.mu.Unlock()
	l.sleep(min(time.Duration(n)*failureDelay, maxFailureDelay))
}
