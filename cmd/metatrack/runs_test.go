package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/metatrack/metatrack"
	"github.com/metatrack/metatrack/storage/postgres/pgtest"
)

// envHelperDB makes the test binary, started again by TestRunsDied, open a
// tracker on that database and exit without stopping its run, as a
// pipeline that is killed does.
const envHelperDB = "METATRACK_TEST_CRASH_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(envHelperDB); path != "" {
		t, err := metatrack.Open(context.Background(), path, metatrack.WithRunName("crashed"))
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		_ = t // never stopped: the process dies with its run RUNNING
		os.Exit(0)
	}
	pgtest.Main(m)
}

// TestRunsDied starts a process that opens a tracker and exits without
// stopping its run: runs, with the real host name and process table,
// reports that run DIED, and this process's own run RUNNING.
func TestRunsDied(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" {
		t.Skip("no process liveness check here")
	}
	db := filepath.Join(t.TempDir(), "runs.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelperDB+"="+db)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	live, err := metatrack.Open(context.Background(), db, metatrack.WithRunName("live"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	r := mustRun(t, "runs", "--db", db, "-o", "json")
	var out runsJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, run := range out.Runs {
		states[run.Name] = run.State
		if run.Name == "crashed" && (run.Status != metatrack.RunRunning || run.PID != cmd.Process.Pid) {
			t.Errorf("crashed run: %+v", run)
		}
	}
	if states["crashed"] != stateDied || states["live"] != metatrack.RunRunning {
		t.Errorf("states %v, want crashed %s and live RUNNING", states, stateDied)
	}
	if r := mustRun(t, "runs", "--db", db); !strings.Contains(r.stdout, "DIED: the run is RUNNING") {
		t.Errorf("no explanation of DIED:\n%s", r.stdout)
	}
}

func TestRunState(t *testing.T) {
	a := &app{
		hostname: func() (string, error) { return "here", nil },
		alive:    func(pid int) bool { return pid == 10 },
	}
	broken := &app{
		hostname: func() (string, error) { return "", errors.New("no host name") },
		alive:    func(int) bool { return false },
	}
	for name, tc := range map[string]struct {
		a    *app
		run  metatrack.Run
		want string
	}{
		"Finished":    {a, metatrack.Run{Status: metatrack.RunFinished, Host: "here", PID: 11}, metatrack.RunFinished},
		"Failed":      {a, metatrack.Run{Status: metatrack.RunFailed, Host: "there", PID: 11}, metatrack.RunFailed},
		"Alive":       {a, metatrack.Run{Status: metatrack.RunRunning, Host: "here", PID: 10}, metatrack.RunRunning},
		"Died":        {a, metatrack.Run{Status: metatrack.RunRunning, Host: "here", PID: 11}, stateDied},
		"OtherHost":   {a, metatrack.Run{Status: metatrack.RunRunning, Host: "there", PID: 11}, stateUnknown},
		"NoHost":      {a, metatrack.Run{Status: metatrack.RunRunning, PID: 11}, stateUnknown},
		"NoPID":       {a, metatrack.Run{Status: metatrack.RunRunning, Host: "here"}, stateUnknown},
		"HostUnknown": {broken, metatrack.Run{Status: metatrack.RunRunning, Host: "here", PID: 11}, stateUnknown},
	} {
		if got := tc.a.runState(tc.run); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}
