package remote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/remote"
	"github.com/metatrack/metatrack/server"
)

// envServe makes the test binary a server process: METATRACK_TEST_SERVE
// is "dbpath addr". The fault test kills it with SIGKILL.
const envServe = "METATRACK_TEST_SERVE"

func TestMain(m *testing.M) {
	if spec := os.Getenv(envServe); spec != "" {
		os.Exit(serveProcess(spec))
	}
	pgtest.Main(m)
}

func serveProcess(spec string) int {
	dbPath, addr, _ := strings.Cut(spec, " ")
	tr, err := metatrack.Open(context.Background(), dbPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	err = (&http.Server{Handler: server.New(tr)}).Serve(ln)
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// writes is how many writes each of the 16 clients makes: a few by
// default, 2,000 with METATRACK_SOAK=1.
func writes() int {
	if os.Getenv("METATRACK_SOAK") == "1" {
		return 2000
	}
	return 25
}

const clients = 16

// acked is what the clients were told was written.
type acked struct {
	mu       sync.Mutex
	tags     map[string]string // resource id + "/" + key -> value
	points   map[string]int    // resource id -> points acknowledged
	versions atomic.Int64      // dataset_version "shared" created
	arts     map[string]bool   // resource id + "/" + name
}

// load runs 16 clients against url, each writing tags, metadata, metric
// points, small artifacts and new versions of one shared chain, and
// returns what was acknowledged. onProgress is called after each write.
func load(t *testing.T, url string, n int, onProgress func(done int64)) *acked {
	t.Helper()
	ack := &acked{tags: map[string]string{}, points: map[string]int{}, arts: map[string]bool{}}
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	ctx := context.Background()
	artFile := filepath.Join(t.TempDir(), "small.bin")
	if err := os.WriteFile(artFile, []byte("small artifact bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := remote.Dial(ctx, url, remote.WithRetryFor(2*time.Minute))
			if err != nil {
				errs <- err
				return
			}
			ds, err := c.CreateResource(ctx, metatrack.TypeDataset, fmt.Sprintf("client-%d", w))
			if err != nil {
				errs <- err
				return
			}
			for i := range n {
				var err error
				switch i % 5 {
				case 0:
					err = c.LogTag(ctx, ds, fmt.Sprintf("t%d", i), strconv.Itoa(i))
					if err == nil {
						ack.mu.Lock()
						ack.tags[ds.ID+"/"+fmt.Sprintf("t%d", i)] = strconv.Itoa(i)
						ack.mu.Unlock()
					}
				case 1:
					err = c.LogMetadata(ctx, ds, fmt.Sprintf("m%d", i), i)
				case 2:
					err = c.LogMetric(ctx, ds, "loss", float64(i), metatrack.WithStep(int64(i)))
					if err == nil {
						ack.mu.Lock()
						ack.points[ds.ID]++
						ack.mu.Unlock()
					}
				case 3:
					_, err = c.LogArtifact(ctx, ds, fmt.Sprintf("a%d.bin", i), artFile)
					if err == nil {
						ack.mu.Lock()
						ack.arts[ds.ID+"/"+fmt.Sprintf("a%d.bin", i)] = true
						ack.mu.Unlock()
					}
				case 4:
					_, err = c.CreateResource(ctx, metatrack.TypeDatasetVersion, "shared")
					if err == nil {
						ack.versions.Add(1)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("client %d write %d: %w", w, i, err)
					return
				}
				if onProgress != nil {
					onProgress(done.Add(1))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return ack
}

// check verifies that every acknowledged write is in the file at dbPath,
// once: the shared chain has exactly the acknowledged versions, 1..n with
// no gap, and each series exactly its acknowledged points.
func check(t *testing.T, dbPath string, ack *acked) {
	t.Helper()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, dbPath, metatrack.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for k, v := range ack.tags {
		id, key, _ := strings.Cut(k, "/")
		if got, err := tr.GetTag(ctx, metatrack.Resource{ID: id}, key); err != nil || got != v {
			t.Errorf("acknowledged tag %s = %q, %v", k, got, err)
		}
	}
	for id, n := range ack.points {
		pts, err := tr.MetricHistory(ctx, metatrack.Resource{ID: id}, "loss")
		if err != nil || len(pts) != n {
			t.Errorf("series of %s: %d points, %v; %d acknowledged", id, len(pts), err, n)
		}
	}
	for k := range ack.arts {
		id, name, _ := strings.Cut(k, "/")
		if _, rc, err := tr.GetArtifact(ctx, metatrack.Resource{ID: id}, name); err != nil {
			t.Errorf("acknowledged artifact %s: %v", k, err)
		} else {
			rc.Close()
		}
	}
	vs, err := tr.Versions(ctx, metatrack.Resource{Type: metatrack.TypeDataset, Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(vs)) != ack.versions.Load() {
		t.Errorf("chain has %d versions, %d acknowledged", len(vs), ack.versions.Load())
	}
	for i, v := range vs {
		if v.Version != i+1 {
			t.Fatalf("chain has a gap: version %d at %d", v.Version, i+1)
		}
	}
}

// TestLoad: 16 concurrent clients against one server over SQLite: no
// errors, every acknowledged write present, the shared chain gap-free.
func TestLoad(t *testing.T) {
	tr, url := serve(t)
	ack := load(t, url, writes(), nil)
	check(t, tr.Path(), ack)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, dbPath, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServe+"="+dbPath+" "+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("server process did not start: %q, %v", line, err)
	}
	return cmd
}

// TestKillServerMidLoad kills the server process with SIGKILL while 16
// clients write, and starts it again on the same address: the clients
// retry through the outage, nothing acknowledged is lost and nothing is
// applied twice.
func TestKillServerMidLoad(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "killed.db")
	addr := freeAddr(t)
	srv := startServer(t, dbPath, addr)
	var once sync.Once
	var restarted = make(chan *exec.Cmd, 1)
	n := writes()
	total := int64(clients * n)
	ack := load(t, "http://"+addr, n, func(done int64) {
		if done < total/3 {
			return
		}
		once.Do(func() {
			if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
				t.Error(err)
			}
			err := srv.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Errorf("server exit: %v", err)
			}
			restarted <- startServer(t, dbPath, addr)
		})
	})
	select {
	case s := <-restarted:
		s.Process.Signal(syscall.SIGKILL)
		s.Wait()
	default:
		t.Fatal("the server was never killed")
	}
	check(t, dbPath, ack)
}
