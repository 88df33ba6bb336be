package pgtest

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnvVar) {
	case "nomain":
		os.Exit(m.Run()) // for TestMainRequired
	case "":
		leaveOutChildren()
	}
	Main(m)
}

// childEnvVar selects, in a copy of this test binary started by a test, which
// of the child tests below runs.
const childEnvVar = "PGTEST_CHILD"

// leaveOutChildren adds the TestChild* tests to -test.skip: they are the
// roles that copies of this binary play for the tests that start them
// (with childEnvVar set), not tests of their own, so a run of the tests
// leaves them out instead of reporting them as skipped.
func leaveOutChildren() {
	flag.Parse()
	skip := "^TestChild"
	if s := flag.Lookup("test.skip").Value.String(); s != "" {
		skip = s + "|" + skip
	}
	if err := flag.Set("test.skip", skip); err != nil {
		panic(err)
	}
}

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatalf("connecting to %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestURL(t *testing.T) {
	u := URL(t)
	if harness.isExternal() {
		t.Logf("connected to %s after %v", EnvURL, setupTime)
	} else {
		t.Logf("server ready after %v (initdb and first start) in %s", setupTime, harness.dir)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, u)
	if got, want := queryString(t, conn, "SELECT current_database()"), strings.TrimPrefix(parsed.Path, "/"); got != want {
		t.Errorf("current_database() = %q, want %q from the URL", got, want)
	}
	if !strings.Contains(parsed.Path, "testurl") {
		t.Errorf("database %s does not name the test", parsed.Path)
	}
	if got := queryString(t, conn, "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'"); got != "0" {
		t.Errorf("fresh database has %s tables in public", got)
	}
	if harness.isExternal() {
		return
	}
	if parsed.Hostname() != "127.0.0.1" {
		t.Errorf("host %q, want 127.0.0.1", parsed.Hostname())
	}
	for setting, want := range map[string]string{
		"listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "on", "server_encoding": "UTF8", "TimeZone": "UTC",
	} {
		if got := queryString(t, conn, "SELECT current_setting($1)", setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	if os.Geteuid() == 0 {
		if got := queryString(t, conn, "SELECT pg_stat_file('postmaster.pid')::text"); got == "" {
			t.Error("no postmaster.pid")
		}
		fi, err := os.Stat(harness.data)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != harness.cred.Uid || uid == 0 {
			t.Errorf("data directory owned by uid %d, want the postgres user's %d", uid, harness.cred.Uid)
		}
	}
}

func TestDatabasesIsolated(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls gave the same URL %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	ctx := context.Background()
	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int); INSERT INTO only_in_a VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	err := cb.QueryRow(ctx, "SELECT count(*) FROM only_in_a").Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("the table of one test database is visible in the other: count %d, err %v", n, err)
	}
}

func TestDroppedAtCleanup(t *testing.T) {
	var name string
	t.Run("uses", func(t *testing.T) {
		u := URL(t)
		name = strings.TrimPrefix(mustParse(t, u).Path, "/")
		// A connection the test forgets to close does not keep the database.
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn
	})
	conn := connect(t, URL(t))
	if got := queryString(t, conn, "SELECT count(*)::text FROM pg_database WHERE datname = $1", name); got != "0" {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestSchemaURL(t *testing.T) {
	var a, b string
	t.Run("uses", func(t *testing.T) {
		a, b = SchemaURL(t), SchemaURL(t)
		if a == b {
			t.Fatalf("two calls gave the same URL %s", a)
		}
		conn := connect(t, withoutSchema(t, a))
		for _, u := range []string{a, b} {
			name := mustParse(t, u).Query().Get("schema")
			if got := queryString(t, conn, "SELECT count(*)::text FROM pg_namespace WHERE nspname = $1", name); got != "1" {
				t.Errorf("schema %s of %s does not exist", name, u)
			}
		}
		if mustParse(t, a).Path != mustParse(t, b).Path {
			t.Errorf("SchemaURL gave two databases: %s and %s", a, b)
		}
		if _, err := conn.Exec(context.Background(), "CREATE TABLE "+mustParse(t, a).Query().Get("schema")+".t (x int)"); err != nil {
			t.Fatal(err)
		}
	})
	conn := connect(t, withoutSchema(t, a))
	for _, u := range []string{a, b} {
		name := mustParse(t, u).Query().Get("schema")
		if got := queryString(t, conn, "SELECT count(*)::text FROM pg_namespace WHERE nspname = $1", name); got != "0" {
			t.Errorf("schema %s still exists after its test ended", name)
		}
	}
}

func TestTemplateURL(t *testing.T) {
	calls := 0
	prepare := func(ctx context.Context, u string) error {
		calls++
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE fixture (n int); INSERT INTO fixture VALUES (1), (2)")
		return err
	}
	a, b := TemplateURL(t, "fixture", prepare), TemplateURL(t, "fixture", prepare)
	if calls != 1 {
		t.Errorf("prepare ran %d times, want once", calls)
	}
	ca, cb := connect(t, a), connect(t, b)
	ctx := context.Background()
	if _, err := ca.Exec(ctx, "INSERT INTO fixture VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, ca, "SELECT sum(n)::text FROM fixture"); got != "6" {
		t.Errorf("first copy holds sum %s, want 6", got)
	}
	if got := queryString(t, cb, "SELECT sum(n)::text FROM fixture"); got != "3" {
		t.Errorf("second copy holds sum %s, want 3: the copies are not independent", got)
	}
	tpl := harness.templates["fixture"].name
	if _, err := pgx.Connect(ctx, harness.databaseURL(tpl)); err == nil || !strings.Contains(err.Error(), "not currently accepting connections") {
		t.Errorf("connecting to the template: %v, want a refusal", err)
	}

	failing := 0
	boom := errors.New("boom")
	for range 2 {
		_, err := harness.template("failing", func(context.Context, string) error { failing++; return boom })
		if !errors.Is(err, boom) {
			t.Errorf("template with a failing prepare: %v", err)
		}
	}
	if failing != 1 {
		t.Errorf("a failing prepare ran %d times, want once", failing)
	}
}

// withoutSchema drops the schema parameter, which pgx does not know.
func withoutSchema(t *testing.T, raw string) string {
	u := mustParse(t, raw)
	q := u.Query()
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String()
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRestart(t *testing.T) {
	u := URL(t)
	ctx := context.Background()
	conn := connect(t, u)
	if _, err := conn.Exec(ctx, "CREATE TABLE acked (n int)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO acked VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	if harness != nil && harness.isExternal() {
		// Restart must refuse; see TestExternalURL for what it says.
		return
	}
	before := harness.cmd.Process.Pid
	Restart(t, Immediate)
	if after := harness.cmd.Process.Pid; after == before {
		t.Errorf("postmaster pid %d unchanged by Restart", after)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a session open across an immediate restart still works")
	}
	// Every acknowledged insert survived the crash-like shutdown.
	again := connect(t, u)
	if got := queryString(t, again, "SELECT count(*)::text || ' ' || sum(n)::text FROM acked"); got != "100 5050" {
		t.Errorf("after the restart acked holds count, sum = %s, want 100 5050", got)
	}

	Stop(t, Fast)
	if _, err := pgx.Connect(ctx, u); err == nil {
		t.Error("connected to a stopped server")
	}
	Start(t)
	connect(t, u)

	t.Run("BadMode", func(t *testing.T) {
		if err := harness.stop("sudden"); err == nil || !strings.Contains(err.Error(), `unknown shutdown mode "sudden"`) {
			t.Errorf("stop(sudden) = %v", err)
		}
	})
	t.Run("StoppedAtTestEnd", func(t *testing.T) {
		Stop(t, Immediate) // the cleanup starts it again
	})
	connect(t, u)
}

// runChild runs the test named by run in a copy of this binary with env
// added, and returns its output and exit code.
func runChild(t *testing.T, run string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^"+run+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", run, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// withoutCI unsets CI and METATRACK_TEST_POSTGRES_URL for a child (pgtest
// takes an empty value as unset).
func withoutCI() []string { return []string{"CI=", EnvURL + "="} }

func TestExternalURL(t *testing.T) {
	if harness == nil {
		URL(t)
	}
	if harness.isExternal() {
		// External mode is what every test of this run already uses; the
		// check of starting it from our own server needs that server.
		unavailable(t, fmt.Errorf("TestExternalURL needs the harness's own server, and %s points at an external one", EnvURL))
	}
	ext := harness.databaseURL("postgres")
	out, code := runChild(t, "TestChildExternal", append(withoutCI(), childEnvVar+"=external", EnvURL+"="+ext)...)
	if code != 0 || !strings.Contains(out, "--- PASS: TestChildExternal/uses") ||
		!strings.Contains(out, "--- SKIP: TestChildExternal/restart") || !strings.Contains(out, "points at an external server") {
		t.Errorf("without CI: exit %d, output:\n%s", code, out)
	}
	// The child's database was made on our server and dropped when it ended.
	conn := connect(t, URL(t))
	if got := queryString(t, conn, "SELECT coalesce(string_agg(datname, ' '), '') FROM pg_database WHERE datname ~ '^pgtest_[0-9]+_[0-9]+_(testchildexternal|template_x)|^pgtest_[0-9]+_schemas'"); got != "" {
		t.Errorf("databases of the child left behind: %s", got)
	}

	out, code = runChild(t, "TestChildExternal", childEnvVar+"=external", EnvURL+"="+ext, "CI=true")
	if code == 0 || !strings.Contains(out, "--- FAIL: TestChildExternal/restart") || !strings.Contains(out, "required under CI=true") {
		t.Errorf("with CI=true a refused restart must fail: exit %d, output:\n%s", code, out)
	}

	bad := "postgres://nobody@127.0.0.1:1/postgres?connect_timeout=5"
	out, code = runChild(t, "TestChildExternal", append(withoutCI(), childEnvVar+"=external", EnvURL+"="+bad)...)
	if code != 0 || !strings.Contains(out, "--- SKIP: TestChildExternal") || !strings.Contains(out, "connecting to "+EnvURL) {
		t.Errorf("unreachable external server without CI: exit %d, output:\n%s", code, out)
	}
	out, code = runChild(t, "TestChildExternal", childEnvVar+"=external", EnvURL+"="+bad, "CI=true")
	if code == 0 || !strings.Contains(out, "--- FAIL: TestChildExternal") {
		t.Errorf("unreachable external server with CI=true: exit %d, output:\n%s", code, out)
	}
}

func TestChildExternal(t *testing.T) {
	if os.Getenv(childEnvVar) != "external" {
		t.Fatalf("a role that TestExternalURL starts with %s=external", childEnvVar)
	}
	t.Run("uses", func(t *testing.T) {
		u := URL(t)
		if !harness.isExternal() {
			t.Fatal("not in external mode")
		}
		name := strings.TrimPrefix(mustParse(t, u).Path, "/")
		if !strings.HasPrefix(name, fmt.Sprintf("pgtest_%d_", os.Getpid())) {
			t.Errorf("database %s on a shared server does not carry the process id", name)
		}
		conn := connect(t, u)
		if got := queryString(t, conn, "SELECT current_database()"); got != name {
			t.Errorf("current_database() = %s, want %s", got, name)
		}
	})
	t.Run("schema", func(t *testing.T) {
		u := SchemaURL(t)
		if db := mustParse(t, u).Path; db != fmt.Sprintf("/pgtest_%d_schemas", os.Getpid()) {
			t.Errorf("SchemaURL's database %s on a shared server does not carry the process id", db)
		}
	})
	t.Run("template", func(t *testing.T) {
		TemplateURL(t, "x", func(context.Context, string) error { return nil })
	})
	t.Run("restart", func(t *testing.T) {
		Restart(t, Immediate)
		t.Error("Restart returned on an external server")
	})
}

func TestMissingPostgres(t *testing.T) {
	noPath := "PATH=" + t.TempDir()
	out, code := runChild(t, "TestChildMissing", append(withoutCI(), childEnvVar+"=missing", noPath)...)
	if code != 0 || !strings.Contains(out, "--- SKIP: TestChildMissing") || !strings.Contains(out, "initdb and postgres not found") ||
		!strings.Contains(out, "apt-get install postgresql") || !strings.Contains(out, EnvURL) {
		t.Errorf("without CI: exit %d, output:\n%s", code, out)
	}
	out, code = runChild(t, "TestChildMissing", childEnvVar+"=missing", noPath, EnvURL+"=", "CI=true")
	if code == 0 || !strings.Contains(out, "--- FAIL: TestChildMissing") || !strings.Contains(out, "required under CI=true: initdb and postgres not found") {
		t.Errorf("with CI=true: exit %d, output:\n%s", code, out)
	}
}

func TestMainRequired(t *testing.T) {
	out, code := runChild(t, "TestChildNoMain", childEnvVar+"=nomain")
	if code == 0 || !strings.Contains(out, "--- FAIL: TestChildNoMain") || !strings.Contains(out, "must call pgtest.Main(m)") {
		t.Errorf("a binary whose TestMain does not call Main: exit %d, output:\n%s", code, out)
	}
}

func TestChildNoMain(t *testing.T) {
	if os.Getenv(childEnvVar) != "nomain" {
		t.Fatalf("a role that TestMainRequired starts with %s=nomain", childEnvVar)
	}
	URL(t)
}

func TestChildMissing(t *testing.T) {
	if os.Getenv(childEnvVar) != "missing" {
		t.Fatalf("a role that TestMissingPostgres starts with %s=missing", childEnvVar)
	}
	debianBins = filepath.Join(t.TempDir(), "*", "bin")
	URL(t)
	t.Error("URL returned without PostgreSQL")
}

// TestNoLeftovers kills a test binary that runs a server with SIGKILL: its
// postgres dies with it, and the next sweep removes its directory. With the
// death signal off (as if it had failed), the sweep kills the postgres too.
func TestNoLeftovers(t *testing.T) {
	if harness == nil {
		URL(t)
	}
	if harness.isExternal() {
		unavailable(t, fmt.Errorf("TestNoLeftovers needs the harness's own server, and %s points at an external one", EnvURL))
	}
	for _, tc := range []struct {
		name, child string
		survives    bool
	}{
		{"DiesWithBinary", "leave", false},
		{"KilledBySweep", "leave-running", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestChildLeave$", "-test.v")
			cmd.Env = append(os.Environ(), childEnvVar+"="+tc.child, EnvURL+"=")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var dir string
			var pid int
			lines := bufio.NewScanner(stdout)
			for lines.Scan() {
				if _, err := fmt.Sscanf(lines.Text(), "PGTEST_SERVER %s %d", &dir, &pid); err == nil {
					break
				}
			}
			if pid == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("the child did not report its server")
			}
			cmd.Process.Kill()
			cmd.Wait()
			if tc.survives {
				if !alive(pid) {
					t.Fatalf("postmaster %d died without its death signal", pid)
				}
			} else if !waitGone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("postmaster %d outlived its test binary", pid)
			}
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("the dead child's directory: %v", err)
			}
			sweep()
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("sweep left %s (%v)", dir, err)
			}
			if !waitGone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("sweep left postmaster %d running", pid)
			}
			// Our own directory, locked by this binary, survives every sweep.
			if _, err := os.Stat(harness.data); err != nil {
				t.Errorf("sweep removed the live server's directory: %v", err)
			}
		})
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// waitGone waits up to a minute (a bound, not a measurement) for pid to end.
func waitGone(pid int) bool {
	for i := 0; i < 600; i++ {
		if !alive(pid) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func TestChildLeave(t *testing.T) {
	switch os.Getenv(childEnvVar) {
	case "leave":
	case "leave-running":
		deathSignal = 0
	default:
		t.Fatalf("a role that TestNoLeftovers starts with %s=leave or leave-running", childEnvVar)
	}
	URL(t)
	fmt.Printf("PGTEST_SERVER %s %d\n", harness.dir, harness.cmd.Process.Pid)
	select {} // until killed
}

// BenchmarkURL measures what URL costs a test: CREATE DATABASE and, at
// cleanup, DROP DATABASE.
func BenchmarkURL(b *testing.B) {
	s := get(b)
	ctx := context.Background()
	for b.Loop() {
		name := databaseName(b.Name(), s.isExternal())
		if err := s.createDatabase(ctx, name, "template0"); err != nil {
			b.Fatal(err)
		}
		if err := s.dropDatabase(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchema measures the alternative of a fresh schema per test in one
// shared database, for comparison with BenchmarkURL.
func BenchmarkSchema(b *testing.B) {
	u := URL(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		conn, err := pgx.Connect(ctx, u) // a test opens its own connection either way
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("s%d", i)
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			b.Fatal(err)
		}
		conn.Close(ctx)
	}
}
