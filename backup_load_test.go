//go:build unix

package metatrack_test

// Live backup under load: the parent takes backups with Tracker.Backup while
// four writer processes write to the file. Each backup must pass PRAGMA
// integrity_check and hold every write that a child had acknowledged, and
// the parent had read from its standard output, before the backup began.
//
// The default size (4 processes x 300 calls, a backup every 10-60 ms) takes
// a few seconds. The full size (4 x 5000 calls, a backup every 0.2-1.2 s):
//
//	METATRACK_SOAK=1 go test -run 'TestBackupUnderLoad' -timeout 60m -v .

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/metatrack/metatrack"
)

const (
	backupProcs     = 4
	backupTxsQuick  = 300
	backupTxsSoak   = 5000
	backupMinQuick  = 10 * time.Millisecond
	backupSpanQuick = 50 * time.Millisecond
	backupMinSoak   = 200 * time.Millisecond
	backupSpanSoak  = time.Second
)

// TestBackupUnderLoad starts 4 mixed writers (see chaosMixed) on one file
// and, while they run, takes a backup with Tracker.Backup every so often
// from the parent's own tracker. Before each backup it records the writes
// acknowledged so far: a child prints a write only after the call returned,
// and the parent has read it, so each of them committed before the backup
// began. Once the writers are done, each backup is opened read-only and
// must pass PRAGMA integrity_check and foreign_key_check, hold every write
// recorded before it began (artifacts read back with their hash verified),
// and be consistent (see chaosInvariants: chains gap-free, no lost
// increment, artifact storage whole).
func TestBackupUnderLoad(t *testing.T) {
	txs, minGap, span := backupTxsQuick, backupMinQuick, backupSpanQuick
	if procSoak() {
		txs, minGap, span = backupTxsSoak, backupMinSoak, backupSpanSoak
	}
	ctx := procContext(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	chaosNewFile(t, ctx, path)
	tr, err := metatrack.Open(ctx, path, metatrack.WithoutRun())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 3))

	g := chaosStart(t, ctx, backupProcs, "mixed", func(int) []string {
		return []string{chaosDBEnv + "=" + path, chaosDirEnv + "=" + filepath.Join(dir, "scratch"), chaosTxsEnv + "=" + strconv.Itoa(txs)}
	})
	g.waitReady(t)
	g.release()
	finished := make(chan struct{})
	go func() {
		g.wait(t)
		close(finished)
	}()

	type backup struct {
		path  string
		acked []chaosRecord // acknowledged before the backup began
		took  time.Duration
		live  bool // the writers were still running when it began
	}
	var backups []backup
	for running := true; running; {
		select {
		case <-finished:
			running = false
		case <-time.After(minGap + time.Duration(rng.Int64N(int64(span)))):
		}
		b := backup{path: filepath.Join(dir, fmt.Sprintf("backup-%03d.db", len(backups))), acked: g.snapshot()}
		select {
		case <-finished:
		default:
			b.live = true
		}
		t0 := time.Now()
		err := tr.Backup(ctx, b.path)
		b.took = time.Since(t0)
		if err != nil {
			t.Errorf("backup %d: %v", len(backups), err)
			<-finished
			break
		}
		backups = append(backups, b)
	}
	g.checkLines(t)
	if t.Failed() {
		t.FailNow()
	}

	var live, checked int
	var took []time.Duration
	for i, b := range backups {
		if b.live {
			live++
		}
		took = append(took, b.took)
		conn, err := sql.Open("sqlite", "file:"+b.path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		procIntegrity(t, conn)
		btr, err := metatrack.Open(ctx, b.path, metatrack.WithReadOnly())
		if err != nil {
			t.Fatalf("backup %d: open read-only: %v", i, err)
		}
		chaosCheck(t, ctx, btr, conn, b.acked)
		chaosInvariants(t, ctx, conn, b.acked, -1)
		checked += len(b.acked)
		btr.Close()
		conn.Close()
		if t.Failed() {
			t.Fatalf("backup %d (taken with %d writes acknowledged, writers running: %v) failed the checks", i, len(b.acked), b.live)
		}
	}
	if live < 2 {
		t.Errorf("only %d backups began while the writers ran: the test did not test a live backup", live)
	}
	var size int64
	if len(backups) > 0 {
		if info, err := os.Stat(backups[len(backups)-1].path); err == nil {
			size = info.Size()
		}
	}
	recs := g.snapshot()
	t.Logf("%d processes x %d calls: %d backups (%d while writing, seed %d), %d acknowledged writes checked in them; backup time %s; last backup %d KiB",
		backupProcs, txs, len(backups), live, seed, checked, chaosDurations(took), size>>10)

	conn := chaosConn(t, path)
	defer conn.Close()
	chaosCheck(t, ctx, tr, conn, recs)
	chaosInvariants(t, ctx, conn, recs, 0)
}
