package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/metatrack/metatrack"
)

// States of a run that runs shows besides the stored statuses.
const (
	// stateDied: the run is RUNNING in the database, it was started on
	// this host, and its process no longer exists.
	stateDied = "DIED"
	// stateUnknown: the run is RUNNING in the database and was started on
	// another host, where this command cannot look for its process.
	stateUnknown = "RUNNING?"
)

func newRunsCmd(a *app) *cobra.Command {
	var (
		limit int
		state string
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the runs, newest first, with status, host and duration; spot runs whose process died",
		Long: `runs lists the runs recorded in the database, newest first: name, state,
host, user, process id, start time, duration and the error of failed runs.

A run is RUNNING in the database from the moment a pipeline opens the
tracker until it stops it. A process that was killed, or crashed, never
stops its run, so runs checks RUNNING runs against the processes of this
machine:
  RUNNING   started on this host, and its process still exists
  DIED      started on this host, and its process no longer exists: it
            ended without stopping the run (killed, crashed, out of memory)
  RUNNING?  started on another host (or with no process id recorded):
            it cannot be checked from here; run 'metatrack runs' there
The check compares host names and looks the process id up, so a process
id reused by an unrelated process makes a dead run look RUNNING. The
database is not changed; the duration of a RUNNING run is the time so far.`,
		Example: `  metatrack runs --db titanic.db
  metatrack runs --state DIED -o json | jq -r '.runs[].id'
  metatrack runs --limit 5`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageErrorf("--limit must not be negative, got %d", limit)
			}
			return a.runRuns(cmd.Context(), limit, state)
		},
	}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 0, "list at most this many of the newest runs (0: all)")
	enumFlag(cmd, &state, "state", "", "only runs in this state (any case)", []string{
		metatrack.RunRunning, metatrack.RunFinished, metatrack.RunFailed, stateDied, stateUnknown,
	}, enumUpper)
	return listing(cmd)
}

// runsJSON is the -o json document of runs.
type runsJSON struct {
	Count int       `json:"count"`
	Runs  []runJSON `json:"runs"`
}

func (a *app) runRuns(ctx context.Context, limit int, state string) error {
	t, err := a.openRead(ctx)
	if err != nil {
		return err
	}
	defer t.Close()
	runs, err := t.Runs(ctx)
	if err != nil {
		return err
	}
	out := runsJSON{Runs: []runJSON{}}
	for _, r := range runs {
		st := a.runState(r)
		if state != "" && st != state {
			continue
		}
		if limit > 0 && len(out.Runs) == limit {
			break
		}
		out.Runs = append(out.Runs, toRunJSON(r, st))
	}
	out.Count = len(out.Runs)
	if a.json() {
		return a.writeJSON(out)
	}
	if a.csv() {
		return a.writeCSV(out.Runs)
	}
	return printRuns(a.stdout, out, a.now())
}

// runState is the stored status of r, unless r is RUNNING: then whether
// its process still exists (RUNNING), does not (DIED), or cannot be
// checked from this host (RUNNING?).
func (a *app) runState(r metatrack.Run) string {
	if r.Status != metatrack.RunRunning {
		return r.Status
	}
	host, err := a.hostname()
	if err != nil || r.Host == "" || r.Host != host || r.PID <= 0 {
		return stateUnknown
	}
	if a.alive(r.PID) {
		return metatrack.RunRunning
	}
	return stateDied
}

func printRuns(w io.Writer, out runsJSON, now time.Time) error {
	if len(out.Runs) == 0 {
		fmt.Fprintln(w, "No runs.")
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tSTATE\tHOST\tUSER\tPID\tSTARTED (UTC)\tDURATION\tERROR")
	notes := map[string]bool{}
	for _, r := range out.Runs {
		var dur string
		switch {
		case r.DurationSeconds != nil:
			dur = duration(time.Duration(*r.DurationSeconds * float64(time.Second)))
		case r.State == stateDied:
			dur = "-"
		default:
			dur = duration(now.Sub(r.StartedAt).Round(time.Second)) + " so far"
		}
		pid := "-"
		if r.PID > 0 {
			pid = strconv.Itoa(r.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.State, orDash(r.Host), orDash(r.User), pid,
			tableTime(r.StartedAt), dur, orDash(truncate(r.Error, 60)))
		notes[r.State] = true
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if notes[stateDied] || notes[stateUnknown] {
		fmt.Fprintln(w)
	}
	if notes[stateDied] {
		fmt.Fprintln(w, "DIED: the run is RUNNING in the database, but its process on this host no longer exists.")
	}
	if notes[stateUnknown] {
		fmt.Fprintln(w, "RUNNING?: the run is RUNNING in the database and was started on another host; check there.")
	}
	return nil
}
