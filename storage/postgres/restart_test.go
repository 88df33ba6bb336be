package postgres_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/postgres"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// childRestartWriter is run by TestRestartMidWorkload in copies of the
// test binary: it adds versions to one chain, each with a tag, until its
// stdin closes, and prints "ack <id>" for every version whose call
// returned, "lost <message>" for every call that failed with
// ErrUnavailable. Any other error ends it with a failure.
func childRestartWriter(u string) error {
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		return fmt.Errorf("Open: %v", err)
	}
	defer tr.Close()
	out := bufio.NewWriter(os.Stdout)
	for !stop.Load() {
		call := "CreateResource"
		r, err := tr.CreateResource(ctx, metatrack.TypeDatasetVersion, "restart")
		if err == nil {
			call = "LogTag"
			err = tr.LogTag(ctx, r, "writer", "child")
		}
		switch {
		case err == nil:
			fmt.Fprintf(out, "ack %s\n", r.ID)
		case errors.Is(err, postgres.ErrUnavailable):
			fmt.Fprintf(out, "lost %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		default:
			out.Flush()
			return fmt.Errorf("%s failed with an error that is not ErrUnavailable: %v (%T)", call, err, err)
		}
		out.Flush()
	}
	return nil
}

// TestRestartMidWorkload: four processes write through the library while
// PostgreSQL restarts in immediate mode (every backend killed, no
// checkpoint). The calls in flight fail with ErrUnavailable, whose message
// names the server; the next calls connect again and succeed; afterwards
// every acknowledged version and its tag is there, and the chain is
// numbered 1..n without gaps.
func TestRestartMidWorkload(t *testing.T) {
	u := testURL(t)
	ctx := context.Background()
	tr, err := metatrack.Open(ctx, u, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()

	const writers, before, after = 4, 20, 20
	type child struct {
		cmd   *exec.Cmd
		stdin io.Closer
		log   strings.Builder // stderr
		acks  []string
		lost  []string
		// afterRestart counts the acks read after the restart.
		afterRestart int
		ended        bool
	}
	var (
		mu        sync.Mutex
		cond      = sync.NewCond(&mu)
		restarted bool
		children  = make([]*child, writers)
		readers   sync.WaitGroup
	)
	for i := range children {
		c := &child{cmd: exec.Command(os.Args[0])}
		c.cmd.Env = append(os.Environ(), "PGENGINE_CHILD_RESTART="+u)
		c.cmd.Stderr = &c.log
		stdout, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children[i] = c
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				mu.Lock()
				switch {
				case strings.HasPrefix(line, "ack "):
					c.acks = append(c.acks, strings.TrimPrefix(line, "ack "))
					if restarted {
						c.afterRestart++
					}
				case strings.HasPrefix(line, "lost "):
					c.lost = append(c.lost, strings.TrimPrefix(line, "lost "))
				default:
					c.log.WriteString(line + "\n") // go test's own lines
				}
				cond.Broadcast()
				mu.Unlock()
			}
			mu.Lock()
			c.ended = true // a writer that died is waited for no more
			cond.Broadcast()
			mu.Unlock()
		}()
	}
	wait := func(done func(c *child) bool) {
		mu.Lock()
		defer mu.Unlock()
		for {
			all := true
			for _, c := range children {
				all = all && done(c)
			}
			if all {
				return
			}
			cond.Wait()
		}
	}
	// Every writer is under way, then the server restarts under them.
	wait(func(c *child) bool { return len(c.acks) >= before || c.ended })
	mu.Lock()
	restarted = true
	mu.Unlock()
	pgtest.Restart(t, pgtest.Immediate)
	// Every writer gets through again.
	wait(func(c *child) bool { return c.afterRestart >= after || c.ended })
	for _, c := range children {
		c.stdin.Close()
	}
	for i, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v\n%s", i, err, c.log.String())
		}
	}
	readers.Wait()
	if t.Failed() {
		return
	}

	acked := map[string]bool{}
	var lost []string
	for _, c := range children {
		for _, id := range c.acks {
			acked[id] = true
		}
		lost = append(lost, c.lost...)
	}
	if len(lost) == 0 {
		t.Fatal("no call failed across the restart: the test did not catch a call in flight")
	}
	for _, msg := range lost {
		if !strings.Contains(msg, "PostgreSQL server unavailable") || !strings.Contains(msg, "127.0.0.1") {
			t.Errorf("the failure does not say that the server at 127.0.0.1 is unavailable: %s", msg)
		}
	}
	db := admin(t, u)
	rows, err := db.Query(`SELECT r.id FROM resources r JOIN tags g ON g.resource_seq = r.seq AND g.key = 'writer'
		WHERE r.type = 'dataset_version' AND r.name = 'restart'`)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		present[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id := range acked {
		if !present[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged versions (with their tag) are missing after the restart", missing, len(acked))
	}
	var count, distinct, top int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version), coalesce(max(version), 0)
		FROM resources WHERE type = 'dataset_version' AND name = 'restart'`).Scan(&count, &distinct, &top); err != nil {
		t.Fatal(err)
	}
	if count != distinct || count != top {
		t.Errorf("the chain has %d versions, %d distinct, highest %d: not 1..n without gaps", count, distinct, top)
	}
	t.Logf("%d writers: %d acknowledged versions, all present; %d calls failed with ErrUnavailable across the restart (%q); chain 1..%d without gaps",
		writers, len(acked), len(lost), lost[0], top)
}
