package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// dirPattern names the harness's directories under os.TempDir.
const dirPattern = "metatrack-pgtest-*"

// settings go into postgresql.conf after initdb: the data is thrown away,
// so durability is traded for speed.
var settings = []string{
	"listen_addresses = '127.0.0.1'",
	"fsync = off",
	"full_page_writes = off",
	"wal_level = minimal",
	"max_wal_senders = 0",
	"max_connections = 200",
	"max_wal_size = '256MB'", // the directory may be in memory
	"min_wal_size = '32MB'",
	"TimeZone = 'UTC'",
	"log_timezone = 'UTC'",
}

// local is the state of the harness's own server.
type local struct {
	dir      string // the temporary directory holding everything below
	data     string // the data directory
	logPath  string // the server's stdout and stderr
	bin      string // the directory of initdb and postgres
	port     int
	cred     *syscall.Credential // the postgres system user when running as root
	lockFile *os.File            // held while this binary lives; see sweep

	mu      sync.Mutex
	cmd     *exec.Cmd     // the running postmaster, nil when stopped
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, once exited is closed
}

// startServer creates the directory, runs initdb and starts postgres.
func startServer() (*server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	sweep()
	dir, err := os.MkdirTemp(baseDir(), dirPattern)
	if err != nil {
		return nil, err
	}
	s := &server{local: local{dir: dir, data: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "server.log"), bin: bin, cred: cred}}
	if err := s.create(); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

func (s *server) create() error {
	// The lock file gets its name only once locked, so a sweep never sees
	// it unlocked while this binary lives.
	lock, err := os.OpenFile(filepath.Join(s.dir, "lock.new"), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	s.lockFile = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	if err := os.Rename(lock.Name(), filepath.Join(s.dir, "lock")); err != nil {
		return err
	}
	sock := filepath.Join(s.dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return err
	}
	if s.cred != nil {
		for _, p := range []string{s.dir, sock} {
			if err := os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return fmt.Errorf("handing %s to the postgres user: %w", p, err)
			}
		}
	}
	// initdb: trust (loopback and socket only), C locale, no fsync of the
	// new files.
	initdb := exec.Command(filepath.Join(s.bin, "initdb"), "-D", s.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Env = childEnv()
	initdb.SysProcAttr = s.procAttr()
	var out bytes.Buffer
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := startLocked(initdb); err != nil {
		return fmt.Errorf("running initdb: %w", err)
	}
	if err := initdb.Wait(); err != nil {
		return fmt.Errorf("initdb failed (%v):\n%s", err, tail(out.Bytes(), 20))
	}
	conf := append([]string{"", "# pgtest: a throw-away server for tests"}, settings...)
	conf = append(conf, "unix_socket_directories = '"+sock+"'")
	f, err := os.OpenFile(filepath.Join(s.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strings.Join(conf, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// A free port can be taken by someone else before postgres binds it:
	// then try another one.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
		s.adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		err = s.start()
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 5 {
			return err
		}
	}
}

var errPortTaken = errors.New("port taken")

// start starts postgres when it is not running and waits until it accepts
// connections.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	logStart, _ := logf.Seek(0, 2)
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data, "-p", strconv.Itoa(s.port))
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = s.procAttr()
	if err := startLocked(cmd); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		s.waitErr = cmd.Wait() // read only after exited is closed
		close(exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		probe, cancelProbe := context.WithTimeout(ctx, 5*time.Second)
		err := s.admin(probe, "SELECT 1")
		cancelProbe()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			log := s.logSince(logStart)
			if strings.Contains(log, "could not bind") || strings.Contains(log, "could not create any TCP/IP sockets") {
				return fmt.Errorf("postgres could not listen on 127.0.0.1:%d: %w", s.port, errPortTaken)
			}
			return fmt.Errorf("postgres exited while starting (%v); %s:\n%s", s.waitErr, s.logPath, log)
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			s.cmd = nil
			return fmt.Errorf("postgres did not accept connections within 90s (last error: %v); %s:\n%s", err, s.logPath, s.logSince(logStart))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop shuts postgres down in mode, with the signal pg_ctl stop -m mode
// sends, and waits until it has exited.
func (s *server) stop(mode string) error {
	sig, ok := map[string]syscall.Signal{Smart: syscall.SIGTERM, Fast: syscall.SIGINT, Immediate: syscall.SIGQUIT}[mode]
	if !ok {
		return fmt.Errorf("unknown shutdown mode %q (want %q, %q or %q)", mode, Smart, Fast, Immediate)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping postgres: %w", err)
	}
	exited := s.exited
	s.mu.Unlock()
	<-exited
	s.mu.Lock()
	s.cmd = nil
	return nil
}

// shutdown stops postgres immediately and removes the directory.
func (s *server) shutdown() error {
	err := s.stop(Immediate)
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	if s.lockFile != nil {
		s.lockFile.Close()
	}
	return err
}

// procAttr makes a child run as the postgres user when we are root, and get
// SIGQUIT (immediate shutdown; SIGKILL for initdb would do too) when this
// binary dies, so a server cannot outlive its tests.
func (s *server) procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: deathSignal}
}

// deathSignal is what postgres gets when this binary dies; the tests of the
// sweep turn it off to leave a server behind.
var deathSignal = syscall.SIGQUIT

// launch runs functions on one goroutine locked to its OS thread. The
// kernel sends the parent-death signal when the thread that started the
// child exits, not the process; this thread never exits before the process.
var (
	launchOnce sync.Once
	launch     chan func()
)

func startLocked(cmd *exec.Cmd) error {
	launchOnce.Do(func() {
		launch = make(chan func())
		go func() {
			runtime.LockOSThread()
			for f := range launch {
				f()
			}
		}()
	})
	done := make(chan error)
	launch <- func() { done <- cmd.Start() }
	return <-done
}

// debianBins is where Debian's postgresql packages put the binaries.
var debianBins = "/usr/lib/postgresql/*/bin"

// findBinaries returns the directory holding initdb and postgres: initdb's
// on PATH, else the newest /usr/lib/postgresql/<version>/bin.
func findBinaries() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	debian, _ := filepath.Glob(debianBins)
	sort.Slice(debian, func(i, j int) bool { return versionOf(debian[i]) > versionOf(debian[j]) })
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("initdb and postgres not found on PATH nor in /usr/lib/postgresql/<version>/bin")
}

func versionOf(bin string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
	return v
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// credential returns the postgres system user's credentials when running
// as root (PostgreSQL refuses root), nil otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root, but there is no postgres system user to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// childEnv is this process's environment without the PG* variables that
// could redirect initdb or postgres, and with the C locale.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logSince returns the server log written since offset, at most its last 30 lines.
func (s *server) logSince(offset int64) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if offset < int64(len(b)) {
		b = b[offset:]
	}
	return tail(b, 30)
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sweep removes the directories of earlier test binaries that died without
// cleaning up, killing any postgres still running in them. A live binary
// holds an exclusive lock on its directory's lock file, which the kernel
// drops when the binary dies.
func sweep() {
	for _, base := range []string{shm, os.TempDir()} {
		dirs, _ := filepath.Glob(filepath.Join(base, dirPattern))
		for _, dir := range dirs {
			sweepOne(dir)
		}
	}
}

// shm is the usual memory file system of Linux.
const shm = "/dev/shm"

// baseDir is where the server's directory goes: in memory (shm) when it
// is a writable tmpfs with 2 GiB free, since the disk's write-back under
// load made a database three to four times slower to create, else
// os.TempDir.
func baseDir() string {
	var fs syscall.Statfs_t
	const tmpfsMagic = 0x01021994
	if syscall.Statfs(shm, &fs) == nil && fs.Type == tmpfsMagic && fs.Bavail*uint64(fs.Bsize) >= 2<<30 &&
		syscall.Access(shm, 2 /* W_OK */) == nil {
		return shm
	}
	return os.TempDir()
}

func sweepOne(dir string) {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // its binary is alive
	}
	data := filepath.Join(dir, "data")
	if real, err := filepath.EvalSymlinks(data); err == nil {
		data = real
	}
	if pid := postmasterPID(data); pid > 0 && runsIn(pid, data) {
		_ = syscall.Kill(pid, syscall.SIGQUIT)
		for i := 0; i < 100 && runsIn(pid, data); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = os.RemoveAll(dir)
}

// postmasterPID reads the pid of postmaster.pid in data, 0 when there is none.
func postmasterPID(data string) int {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid
}

// runsIn reports whether process pid runs with data as its working
// directory, as a postmaster does (a zombie has none): a pid reused by
// another program is never killed.
func runsIn(pid int, data string) bool {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return err == nil && cwd == data
}
