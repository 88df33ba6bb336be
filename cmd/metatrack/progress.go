package main

import (
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progress shows how far a long operation got, as a bar on stderr when
// stderr is a terminal; on a pipe or a file it prints nothing, so that
// scripts and logs stay clean. Its methods are safe for concurrent use
// (Merge reports from another goroutine) and do nothing on a nil or
// silent progress.
type progress struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar // nil when silent
	max int64                    // the bar's total; -1 while unknown
}

// Units a progress counts.
const (
	unitRecords = "records"
	unitBytes   = "bytes"
	unitBlobs   = "blobs"
)

// terminal reports whether w is a terminal.
func terminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// newProgress starts a progress described by desc, counting unit, of total
// units (0 or less while unknown: a spinner until set learns the total).
func (a *app) newProgress(desc, unit string, total int64) *progress {
	if !terminal(a.stderr) {
		return &progress{}
	}
	max := int64(-1)
	if total > 0 {
		max = total
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	}
	if unit == unitBytes {
		opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionUseIECUnits(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString(unit))
	}
	return &progress{bar: progressbar.NewOptions64(max, opts...), max: max}
}

// set reports done of total units (total 0 or less: unknown). Its
// signature is that of the library's progress callbacks.
func (p *progress) set(done, total int64) {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if total > 0 && total != p.max {
		p.max = total
		p.bar.ChangeMax64(total)
	}
	p.bar.Set64(done)
}

// add reports n more units done.
func (p *progress) add(n int64) {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Add64(n)
}

// done removes the bar from the terminal; the command then prints its
// result. It is idempotent.
func (p *progress) done() {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Finish() // clears the line (OptionClearOnFinish), stops a spinner
	p.bar = nil
}

// progressWriter counts what passes through it into a progress.
type progressWriter struct{ p *progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.add(int64(len(b)))
	return len(b), nil
}
