// Package pgtest gives tests a real PostgreSQL: one server per test binary,
// started on first use, and a fresh database per test.
//
// Use it from any package's tests (it does not import the root package):
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.URL(t) // postgres://postgres@127.0.0.1:<port>/<fresh database>?sslmode=disable
//		...
//	}
//
// # The server
//
// The first call to [URL] (or [Restart], [Stop], [Start]) starts PostgreSQL
// from the binaries on PATH (initdb and postgres; when initdb is not on PATH,
// the Debian layout /usr/lib/postgresql/<version>/bin is searched too, newest
// version first) in a new directory named metatrack-pgtest-* under /dev/shm
// when that is a tmpfs with 2 GiB free (creating a database was three to four
// times faster there than on a busy disk), else under [os.TempDir]: the data directory, a unix socket directory and the
// server log (server.log, quoted when the server fails to start) all live
// there. The server listens on a free port of 127.0.0.1 only, trusts every
// local connection, and runs with settings that trade durability for speed,
// since the data is thrown away: fsync=off and full_page_writes=off (safe
// against a crash of PostgreSQL, not of the machine), wal_level=minimal with
// max_wal_senders=0, max_wal_size=256MB (the directory may be in memory), and
// TimeZone=UTC; max_connections is raised to 200 for tests with many processes. synchronous_commit stays on, so a commit that
// returned survives [Restart] in [Immediate] mode, as it must for tests of
// acknowledged writes. The superuser is "postgres".
//
// PostgreSQL refuses to run as root. When the test binary runs as root (CI
// does), the directory is handed to the "postgres" system user and initdb and
// postgres run as that user (through the credentials of the child process,
// no su or sudo needed).
//
// The server never outlives its test binary: postgres is a child of the test
// binary that the kernel sends SIGQUIT (PostgreSQL's immediate shutdown) when
// the binary exits for any reason, a panic, a -timeout or a kill -9 included.
// [Main], which the package's TestMain must call, also stops it and removes
// its directory after the tests. A directory
// left behind by a binary that died is found by the next binary that starts a
// server (each live binary holds a lock on its directory), which kills any
// postgres still running in it and removes it.
//
// Starting the server is Linux only; elsewhere point METATRACK_TEST_POSTGRES_URL
// at a server.
//
// # The environment
//
//   - METATRACK_TEST_POSTGRES_URL=postgres://user:password@host:port/db points the
//     tests at an existing server instead. pgtest then starts nothing: it
//     connects with this URL to create a database per test (so the user needs
//     CREATEDB) and drops it afterwards, and it refuses [Restart], [Stop] and
//     [Start].
//   - CI=true turns every "PostgreSQL is not available" (no binaries, a
//     server that fails to start, an unreachable METATRACK_TEST_POSTGRES_URL, a
//     restart asked of an external server) from a skip into a test failure
//     that gives the reason, so CI never passes by skipping.
//
// # Databases and schemas
//
// [URL] gives a test a database of its own; [SchemaURL] gives it a schema of
// its own in a database its binary's tests share, for metatrack's PostgreSQL
// engine (the schema= parameter), about ten times cheaper (measured on 2 busy
// cores with the server in /dev/shm: 55 to 85 ms for a database created and
// dropped, 4 to 6 ms for a schema; see BenchmarkURL and BenchmarkSchema).
// [TemplateURL] gives a test a copy of a database prepared once per binary,
// for tests that would otherwise each run the same migrations and fixture.
// Opening a metatrack store (storage/postgres.Open, migrations included) on
// a fresh URL took about 200 ms, on a fresh SchemaURL 85 ms, and on a
// TemplateURL copy of a migrated database 75 ms (same machine, 20 runs each):
// a suite that opens a store per test should take one of the latter two.
//
// A test that starts copies of its binary (to test several processes) must
// pass them the URL it got, in the environment for example: a child that
// called URL itself would start a server of its own.
//
// Tests that use [Restart] or [Stop] interrupt every connection to the server,
// so they must not run in parallel with other PostgreSQL tests of the same
// binary (do not call t.Parallel in them).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that points the tests at an
// existing PostgreSQL instead of a server of their own.
const EnvURL = "METATRACK_TEST_POSTGRES_URL"

// howTo is appended to the message of a skipped test.
const howTo = "install PostgreSQL (Debian: apt-get install postgresql; initdb and postgres must be on PATH " +
	"or in /usr/lib/postgresql/<version>/bin), or set " + EnvURL +
	"=postgres://user:password@host:port/db to use a running server whose user may CREATE DATABASE"

// Shutdown modes of [Restart] and [Stop], as pg_ctl names them.
const (
	// Smart waits for every session to end.
	Smart = "smart"
	// Fast rolls back open transactions and disconnects every session.
	Fast = "fast"
	// Immediate kills every process without a shutdown checkpoint: the
	// next start runs crash recovery, as after a power cut.
	Immediate = "immediate"
)

var (
	once    sync.Once
	harness *server // nil when unavailable
	failure error   // why harness is nil
	seq     atomic.Int64
	inMain  atomic.Bool // Main runs the tests

	setupTime time.Duration // how long setup took, for the tests' logs
)

// get returns the harness's server, starting it on first use. When
// PostgreSQL is not available it skips t, or fails it under CI=true.
func get(t testing.TB) *server {
	t.Helper()
	if !inMain.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main(m), which stops the server and removes its directory after the tests")
	}
	once.Do(func() {
		begin := time.Now()
		harness, failure = setup()
		setupTime = time.Since(begin)
	})
	if failure != nil {
		unavailable(t, failure)
	}
	return harness
}

func setup() (*server, error) {
	if raw := os.Getenv(EnvURL); raw != "" {
		return external(raw)
	}
	return startServer()
}

// inCI reports whether CI is set to a true value (CI=true, CI=1).
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// unavailable skips t with err and how to get PostgreSQL, or fails t under CI.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if inCI() {
		t.Fatalf("pgtest: PostgreSQL is required under CI=true: %v", err)
	}
	t.Skipf("pgtest: PostgreSQL tests skipped: %v\nTo run them, %s.", err, howTo)
}

// Main runs the tests of m, then stops the harness's server (if one was
// started) and removes its directory, or, against an external server, drops
// the databases of [SchemaURL] and [TemplateURL], and exits with the tests' code. Call it
// from TestMain: the other functions fail the tests of a binary that does
// not (without Main the server would still die with the binary, but its
// directory, perhaps in memory, would stay until a later run removed it).
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is [Main] for a TestMain that has cleaning of its own to do after the
// tests: it runs them, stops the server as Main does, and returns the
// tests' code instead of exiting.
func Run(m *testing.M) int {
	inMain.Store(true)
	code := m.Run()
	if harness != nil {
		var err error
		if harness.isExternal() {
			err = harness.dropShared()
		} else {
			err = harness.shutdown()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// URL creates a fresh, empty database for t and returns a URL for it, with
// the superuser of the harness's server (or the user of
// METATRACK_TEST_POSTGRES_URL). The database is dropped when t ends, after
// the cleanups t registers later (such as closing a store), and connections
// still open to it then are terminated.
//
// Creating and dropping a database costs tens of milliseconds; see the
// package documentation for the figures.
func URL(t testing.TB) string {
	t.Helper()
	return get(t).newDatabase(t, "template0")
}

// newDatabase creates a database for t from template, dropped when t ends.
func (s *server) newDatabase(t testing.TB, template string) string {
	t.Helper()
	name := databaseName(t.Name(), s.isExternal())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.createDatabase(ctx, name, template); err != nil {
		if s.isExternal() {
			unavailable(t, fmt.Errorf("creating database %s on %s: %w", name, redact(s.adminURL), err))
		}
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.dropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return s.databaseURL(name)
}

// TemplateURL is [URL] for tests that all start from the same prepared
// database: the fresh database is a copy of a template that prepare filled
// once per test binary and key (with a schema's migrations and a fixture,
// say), so a test pays for a copy instead of for running them again.
// prepare gets the template's URL and must close its connections; the first
// test to ask for key runs it, and if it fails every test asking for key fails
// with its error. Nothing may connect to the template after prepare (pgtest
// forbids it: a copy needs a template nobody uses).
func TemplateURL(t testing.TB, key string, prepare func(ctx context.Context, url string) error) string {
	t.Helper()
	s := get(t)
	tpl, err := s.template(key, prepare)
	if err != nil {
		t.Fatalf("pgtest: preparing template %q: %v", key, err)
	}
	return s.newDatabase(t, tpl)
}

// template returns the database of key, preparing it on first use.
func (s *server) template(key string, prepare func(ctx context.Context, url string) error) (string, error) {
	s.templatesMu.Lock()
	if s.templates == nil {
		s.templates = map[string]*template{}
	}
	tpl := s.templates[key]
	if tpl == nil {
		tpl = &template{}
		s.templates[key] = tpl
	}
	s.templatesMu.Unlock()
	tpl.once.Do(func() {
		tpl.name = databaseName("template_"+key, s.isExternal())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if tpl.err = s.createDatabase(ctx, tpl.name, "template0"); tpl.err != nil {
			return
		}
		if tpl.err = prepare(ctx, s.databaseURL(tpl.name)); tpl.err != nil {
			return
		}
		ident := pgx.Identifier{tpl.name}.Sanitize()
		tpl.err = s.admin(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS false; "+
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+tpl.name+"'")
	})
	return tpl.name, tpl.err
}

// template is a database TemplateURL copies.
type template struct {
	once sync.Once
	name string
	err  error
}

// SchemaURL creates a fresh, empty schema for t in a database that all of
// the test binary's SchemaURL calls share, and returns that database's URL
// with schema=<name>, the parameter that puts a metatrack PostgreSQL store in
// a schema of its own. The schema and everything in it is dropped when t ends
// (a session of t still holding a lock on it then makes the drop fail after
// ten seconds).
//
// It is for tests that need a store, not a database: a schema costs a few
// milliseconds where a database costs tens, but the tests share the
// database's other schemas, its advisory locks and its connection limit.
// schema= is metatrack's parameter, not libpq's: the URL is for the engine,
// not for pgx.Connect.
func SchemaURL(t testing.TB) string {
	t.Helper()
	s := get(t)
	shared, err := s.sharedDatabase()
	if err != nil {
		t.Fatalf("pgtest: creating the database for SchemaURL: %v", err)
	}
	name := databaseName(t.Name(), false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.exec(ctx, s.databaseURL(shared), "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.exec(ctx, s.databaseURL(shared), "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.databaseURL(shared))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("schema", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// sharedDatabase creates, once, the database of SchemaURL's schemas.
func (s *server) sharedDatabase() (string, error) {
	s.sharedOnce.Do(func() {
		s.shared = "pgtest_schemas"
		if s.isExternal() {
			s.shared = fmt.Sprintf("pgtest_%d_schemas", os.Getpid())
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.sharedErr = s.createDatabase(ctx, s.shared, "template0")
	})
	return s.shared, s.sharedErr
}

// Restart stops the harness's server in mode ([Smart], [Fast] or
// [Immediate]), as pg_ctl restart -m mode does, and starts it again on the
// same port with the same data, returning once it accepts connections.
// Sessions open at the time are cut; URLs handed out before stay valid. It
// refuses (skips t, or fails it under CI=true) when the tests run against
// METATRACK_TEST_POSTGRES_URL.
func Restart(t testing.TB, mode string) {
	t.Helper()
	Stop(t, mode)
	Start(t)
}

// Stop stops the harness's server in mode ([Smart], [Fast] or [Immediate])
// and returns once it has exited. Calls fail until [Start]; if t ends with
// the server stopped, it is started again for the tests that follow. Like
// [Restart], it refuses to touch an external server.
func Stop(t testing.TB, mode string) {
	t.Helper()
	s := own(t)
	if err := s.stop(mode); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.start(); err != nil {
			t.Errorf("pgtest: starting PostgreSQL again after the test: %v", err)
		}
	})
}

// Start starts the harness's server again after [Stop], on the same port
// with the same data, and returns once it accepts connections. It does
// nothing when the server runs.
func Start(t testing.TB) {
	t.Helper()
	s := own(t)
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// own returns the harness's own server, refusing an external one.
func own(t testing.TB) *server {
	t.Helper()
	s := get(t)
	if s.isExternal() {
		unavailable(t, fmt.Errorf("%s points at an external server, which pgtest does not stop or restart", EnvURL))
	}
	return s
}

// databaseName makes a database name that says which test it belongs to. Against an
// external server, which other runs may share, it also carries the process id.
func databaseName(test string, external bool) string {
	prefix := fmt.Sprintf("pgtest_%d_", seq.Add(1))
	if external {
		prefix = fmt.Sprintf("pgtest_%d_%d_", os.Getpid(), seq.Add(1))
	}
	name := prefix + strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if len(name) > 63 { // PostgreSQL's identifier limit
		name = name[:63]
	}
	return name
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// external checks that raw is a URL pgtest can use and that it reaches a server.
func external(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("%s=%q is not a postgres://user@host:port/db URL", EnvURL, redact(raw))
	}
	s := &server{adminURL: raw, ext: true}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.admin(ctx, "SELECT 1"); err != nil {
		return nil, fmt.Errorf("connecting to %s=%s: %w", EnvURL, redact(raw), err)
	}
	return s, nil
}

// redact hides the password of a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// admin runs one statement over a fresh connection to the admin database.
// A connection per statement costs a few milliseconds and survives restarts.
func (s *server) admin(ctx context.Context, sql string) error {
	return s.exec(ctx, s.adminURL, sql)
}

// exec runs sql over a fresh connection to the database of url.
func (s *server) exec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// createDatabase creates a database as a copy of template.
func (s *server) createDatabase(ctx context.Context, name, template string) error {
	return s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize()+" ENCODING 'UTF8'")
}

// dropDatabase drops a database, terminating the sessions still open to it.
func (s *server) dropDatabase(ctx context.Context, name string) error {
	return s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// dropShared drops SchemaURL's database and TemplateURL's templates from an
// external server.
func (s *server) dropShared() error {
	var names []string
	if s.shared != "" && s.sharedErr == nil {
		names = append(names, s.shared)
	}
	s.templatesMu.Lock()
	for _, tpl := range s.templates {
		if tpl.name != "" {
			names = append(names, tpl.name)
		}
	}
	s.templatesMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for _, name := range names {
		errs = append(errs, s.dropDatabase(ctx, name))
	}
	return errors.Join(errs...)
}

// databaseURL is the admin URL with its database replaced by name.
func (s *server) databaseURL(name string) string {
	u, err := url.Parse(s.adminURL)
	if err != nil { // checked when the server was set up
		panic(err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func (s *server) isExternal() bool { return s.ext }

// errUnsupported is returned where pgtest cannot start a server itself.
var errUnsupported = errors.New("pgtest starts its own PostgreSQL only on Linux; set " + EnvURL)
