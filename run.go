package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/metatrack/metatrack/rules"
	"github.com/metatrack/metatrack/storage"
)

// Run statuses.
const (
	RunRunning  = "RUNNING"
	RunFinished = "FINISHED"
	RunFailed   = "FAILED"
)

// Run is one execution of a workflow: what a tracker records everything
// under. Open starts one; Stop ends it.
type Run struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Host   string `json:"host"`
	User   string `json:"user"`
	PID    int    `json:"pid"`
	Status string `json:"status"`
	// Error is the message of the error Stop was given, for FAILED runs.
	Error     string    `json:"error"`
	StartedAt time.Time `json:"started_at"`
	// EndedAt is zero while the run is RUNNING.
	EndedAt time.Time `json:"ended_at,omitzero"`
}

type runRow struct {
	Seq       int64         `db:"seq"`
	ID        string        `db:"id"`
	Name      string        `db:"name"`
	Host      string        `db:"host"`
	User      string        `db:"username"`
	PID       int           `db:"pid"`
	Status    string        `db:"status"`
	Error     string        `db:"error"`
	StartedAt int64         `db:"started_at"`
	EndedAt   sql.NullInt64 `db:"ended_at"`
}

func (r runRow) run() Run {
	run := Run{ID: r.ID, Name: r.Name, Host: r.Host, User: r.User, PID: r.PID, Status: r.Status,
		Error: r.Error, StartedAt: fromMillis(r.StartedAt)}
	if r.EndedAt.Valid {
		run.EndedAt = fromMillis(r.EndedAt.Int64)
	}
	return run
}

func (t *Tracker) startRun(ctx context.Context) error {
	if t.cfg.noRun || t.cfg.readOnly {
		return nil
	}
	if t.cfg.attachRun != "" {
		return t.write(ctx, func(x *txn) error {
			var row runRow
			err := x.get(ctx, &row, x.sql.RunByID, t.cfg.attachRun)
			if errors.Is(err, sql.ErrNoRows) {
				err = x.get(ctx, &row, x.sql.RunByName, t.cfg.attachRun)
			}
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: run %q", ErrNotFound, t.cfg.attachRun)
			}
			if err != nil {
				return err
			}
			if row.Status != RunRunning {
				if _, err := x.exec(ctx, x.sql.ReopenRun, RunRunning, "", nil, row.Seq); err != nil {
					return err
				}
				row.Status, row.Error, row.EndedAt = RunRunning, "", sql.NullInt64{}
			}
			t.setRun(row)
			return nil
		})
	}
	host, _ := os.Hostname()
	username := ""
	if u, err := user.Current(); err == nil {
		username = u.Username
	}
	name := t.cfg.runName
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	if err := rules.RunName(name); err != nil {
		return err
	}
	return t.write(ctx, func(x *txn) error {
		row := runRow{ID: newID(), Name: name, Host: host, User: username, PID: os.Getpid(),
			Status: RunRunning, StartedAt: x.now}
		if err := x.get(ctx, &row.Seq, x.sql.InsertRun, row.ID, row.Name, row.Host, row.User, row.PID, row.Status, row.StartedAt); err != nil {
			return err
		}
		t.setRun(row)
		return nil
	})
}

func (t *Tracker) setRun(row runRow) {
	t.shared.mu.Lock()
	defer t.shared.mu.Unlock()
	t.shared.run, t.shared.runSeq = row.run(), row.Seq
}

// endRun marks the run FINISHED or FAILED. It runs after the tracker is
// marked closed, so it writes directly.
func (t *Tracker) endRun(ctx context.Context, runErr error) error {
	t.shared.mu.Lock()
	seq := t.shared.runSeq
	t.shared.mu.Unlock()
	if seq == 0 {
		return nil
	}
	status, msg := RunFinished, ""
	if runErr != nil {
		status, msg = RunFailed, runErr.Error()
	}
	now := t.now().UnixMilli()
	return t.db.WriteTx(ctx, func(tx storage.Tx) error {
		_, err := tx.ExecContext(ctx, t.sql.EndRun, status, msg, now, seq)
		if err == nil {
			t.shared.mu.Lock()
			t.shared.run.Status, t.shared.run.Error, t.shared.run.EndedAt = status, msg, fromMillis(now)
			t.shared.mu.Unlock()
		}
		return err
	})
}

// Runs returns every run, newest first.
func (t *Tracker) Runs(ctx context.Context) ([]Run, error) {
	var rows []runRow
	err := t.readOne(ctx, func(x *txn) error {
		return x.sel(ctx, &rows, x.sql.AllRuns)
	})
	if err != nil {
		return nil, err
	}
	runs := make([]Run, len(rows))
	for i, r := range rows {
		runs[i] = r.run()
	}
	return runs, nil
}

// GetRun returns the run with the given id (or name: the newest of that
// name).
func (t *Tracker) GetRun(ctx context.Context, idOrName string) (Run, error) {
	var row runRow
	err := t.readOne(ctx, func(x *txn) error {
		err := x.get(ctx, &row, x.sql.RunByID, idOrName)
		if errors.Is(err, sql.ErrNoRows) {
			err = x.get(ctx, &row, x.sql.RunByName, idOrName)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: run %q", ErrNotFound, idOrName)
		}
		return err
	})
	return row.run(), err
}
