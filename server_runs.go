package metatrack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/metatrack/metatrack/rules"
)

// The runs a server keeps for its clients: each client of a server starts
// a run of its own (StartRun), its writes record that run (ForRun), and
// its Stop ends it (EndRun), as an embedded Tracker's Open and Stop do
// for the Tracker's own run.

// RunInfo describes a run that a server starts for a client: the
// client's name for it and the machine, user and process it runs as.
type RunInfo struct {
	Name string `json:"name"`
	Host string `json:"host"`
	User string `json:"user"`
	PID  int    `json:"pid"`
}

// runView is the run that a ForRun view's writes record.
type runView struct {
	seq int64
	run Run
}

// StartRun starts a RUNNING run described by info, beside the Tracker's
// own run, and returns it.
func (t *Tracker) StartRun(ctx context.Context, info RunInfo) (Run, error) {
	if err := rules.RunName(info.Name); err != nil {
		return Run{}, err
	}
	if err := rules.Run(info.Host, info.User, RunRunning, ""); err != nil {
		return Run{}, err
	}
	if info.PID < 0 {
		return Run{}, fmt.Errorf("%w: run pid %d is negative", ErrInvalidArgument, info.PID)
	}
	var row runRow
	err := t.write(ctx, func(x *txn) error {
		row = runRow{ID: newID(), Name: info.Name, Host: info.Host, User: info.User, PID: info.PID,
			Status: RunRunning, StartedAt: x.now}
		_, err := x.exec(ctx, x.sql.InsertRun, row.ID, row.Name, row.Host, row.User, row.PID, row.Status, row.StartedAt)
		return err
	})
	if err != nil {
		return Run{}, err
	}
	return row.run(), nil
}

// ForRun returns a view of t whose writes record the run with this id
// instead of t's own run (a server makes one for each request of a client
// that started a run), and whose Run returns that run. It is
// ErrNotFound when there is no such run. The view shares t's database:
// do not Stop or Close it.
func (t *Tracker) ForRun(ctx context.Context, id string) (*Tracker, error) {
	row, err := t.runRow(ctx, id)
	if err != nil {
		return nil, err
	}
	view := *t
	view.view = &runView{seq: row.Seq, run: row.run()}
	return &view, nil
}

// EndRun ends the run with this id, FINISHED when runErr is nil and
// FAILED with runErr's message otherwise, as Stop ends the Tracker's own
// run (which EndRun refuses), and returns it. A run that has ended
// already is ErrConflict.
func (t *Tracker) EndRun(ctx context.Context, id string, runErr error) (Run, error) {
	status, msg := RunFinished, ""
	if runErr != nil {
		status, msg = RunFailed, runErr.Error()
	}
	if err := rules.Run("", "", status, msg); err != nil {
		return Run{}, err
	}
	t.shared.mu.Lock()
	own := t.shared.run.ID
	t.shared.mu.Unlock()
	if own != "" && own == id {
		return Run{}, fmt.Errorf("%w: run %s is the tracker's own run; Stop ends it", ErrInvalidArgument, id)
	}
	var row runRow
	err := t.write(ctx, func(x *txn) error {
		err := x.get(ctx, &row, x.sql.RunByID, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: run %q", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if row.Status != RunRunning {
			return fmt.Errorf("%w: run %s (%s) has ended already: it is %s", ErrConflict, row.Name, id, row.Status)
		}
		row.Status, row.Error, row.EndedAt = status, msg, sql.NullInt64{Int64: x.now, Valid: true}
		_, err = x.exec(ctx, x.sql.EndRun, status, msg, x.now, row.Seq)
		return err
	})
	if err != nil {
		return Run{}, err
	}
	return row.run(), nil
}

func (t *Tracker) runRow(ctx context.Context, id string) (runRow, error) {
	var row runRow
	err := t.readOne(ctx, func(x *txn) error { return x.get(ctx, &row, x.sql.RunByID, id) })
	if errors.Is(err, sql.ErrNoRows) {
		return row, fmt.Errorf("%w: run %q", ErrNotFound, id)
	}
	return row, err
}
