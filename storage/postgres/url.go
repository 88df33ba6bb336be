package postgres

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/metatrack/metatrack/rules"
)

// DefaultSchema is the PostgreSQL schema a store lives in when its URL
// names none.
const DefaultSchema = "public"

// Schemes are the URL schemes of a PostgreSQL store.
var Schemes = []string{"postgres", "postgresql"}

// connParams are the URL parameters passed on to the driver: the libpq
// connection parameters pgx understands. Everything else in a URL is
// refused, so that a misspelt parameter is not silently ignored or sent to
// the server as a setting.
var connParams = map[string]bool{
	"host": true, "port": true, "dbname": true, "user": true,
	"password": true, "passfile": true, "connect_timeout": true,
	"sslmode": true, "sslkey": true, "sslcert": true, "sslrootcert": true,
	"sslpassword": true, "sslsni": true, "sslnegotiation": true, "sslcertmode": true,
	"channel_binding": true, "require_auth": true,
	"krbspn": true, "krbsrvname": true, "target_session_attrs": true,
	"service": true, "servicefile": true, "application_name": true,
}

// Location is a parsed store URL.
type Location struct {
	// ConnString is the URL for the driver: the given one without the
	// schema parameter. It may hold a password: never print it.
	ConnString string
	// Schema is the PostgreSQL schema that holds the store.
	Schema string
	// Redacted is the URL without its password, for messages.
	Redacted string
}

// IsURL reports whether s is a PostgreSQL store URL (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return false
	}
	for _, sc := range Schemes {
		if strings.EqualFold(scheme, sc) {
			return true
		}
	}
	return false
}

// ParseURL parses a store URL: postgres://user:password@host:port/db
// (postgresql:// too) with the libpq connection parameters and
// schema=NAME, the PostgreSQL schema that holds the store (created when
// missing; default public), so that several stores share one database.
// Unknown parameters and malformed URLs are ErrInvalidArgument; no message
// holds the password.
func ParseURL(raw string) (Location, error) {
	if !IsURL(raw) {
		return Location{}, fmt.Errorf("%w: %s is not a postgres:// or postgresql:// URL", rules.ErrInvalidArgument, redactRaw(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the whole URL, password included.
		return Location{}, fmt.Errorf("%w: malformed PostgreSQL URL %s", rules.ErrInvalidArgument, redactRaw(raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, fmt.Errorf("%w: PostgreSQL URL %s: malformed parameters", rules.ErrInvalidArgument, redact(u))
	}
	schema := DefaultSchema
	var unknown []string
	for k, vs := range q {
		switch {
		case k == "schema":
			if len(vs) != 1 {
				return Location{}, fmt.Errorf("%w: PostgreSQL URL %s gives schema %d times", rules.ErrInvalidArgument, redact(u), len(vs))
			}
			schema = vs[0]
		case k == "search_path" || k == "options":
			return Location{}, fmt.Errorf("%w: PostgreSQL URL %s: parameter %s is not supported; name the store's schema with schema=NAME", rules.ErrInvalidArgument, redact(u), k)
		case !connParams[k]:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Location{}, fmt.Errorf("%w: PostgreSQL URL %s: unknown parameter %s (known: schema and the libpq connection parameters %s)",
			rules.ErrInvalidArgument, redact(u), strings.Join(unknown, ", "), strings.Join(knownParams(), ", "))
	}
	if err := checkSchemaName(schema); err != nil {
		return Location{}, fmt.Errorf("%w: PostgreSQL URL %s: %v", rules.ErrInvalidArgument, redact(u), err)
	}
	q.Del("schema")
	conn := *u
	conn.RawQuery = q.Encode()
	red := *u
	red.User = nil
	if u.User != nil {
		red.User = url.User(u.User.Username())
	}
	rq := url.Values{}
	for k, vs := range q {
		if k == "password" || k == "sslpassword" {
			continue
		}
		rq[k] = vs
	}
	if schema != DefaultSchema {
		rq.Set("schema", schema)
	}
	red.RawQuery = rq.Encode()
	return Location{ConnString: conn.String(), Schema: schema, Redacted: red.String()}, nil
}

func knownParams() []string {
	var ks []string
	for k := range connParams {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkSchemaName admits names that need no quoting in PostgreSQL: lower
// case letters, digits and underscores, not starting with a digit, at most
// 63 bytes, and not one of PostgreSQL's own (pg_*, information_schema).
func checkSchemaName(s string) error {
	if s == "" {
		return fmt.Errorf("schema is empty")
	}
	if len(s) > 63 {
		return fmt.Errorf("schema %q is longer than 63 bytes", s)
	}
	for i, c := range s {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("schema %q: use lower-case letters, digits and underscores, not starting with a digit", s)
		}
	}
	if strings.HasPrefix(s, "pg_") || s == "information_schema" {
		return fmt.Errorf("schema %q is reserved by PostgreSQL", s)
	}
	return nil
}

// redact returns u without its password, in the URL or in a parameter.
func redact(u *url.URL) string {
	r := *u
	if u.User != nil {
		r.User = url.User(u.User.Username())
	}
	if q, err := url.ParseQuery(u.RawQuery); err == nil {
		q.Del("password")
		q.Del("sslpassword")
		r.RawQuery = q.Encode()
	} else {
		r.RawQuery = ""
	}
	return r.String()
}

// redactRaw redacts a text that may not parse as a URL: everything between
// the scheme and the last @ before the host is dropped but the user name,
// and the query is dropped.
func redactRaw(s string) string {
	s, _, _ = strings.Cut(s, "?")
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "..." + s[i:]
		}
		return s
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, _, _ := strings.Cut(rest[:i], ":")
		rest = user + rest[i:]
	}
	return scheme + "://" + rest
}
