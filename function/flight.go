package function

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/quaymirror/quaymirror/internal/app"
	"github.com/quaymirror/quaymirror/internal/config"
)

// A flight is one sync of one organisation, shared by every request that
// asks for it while it runs (hand-written rather than
// golang.org/x/sync/singleflight: the run must outlive the request that
// started it, under the instance's context and the starter's deadline, and
// Stop must wait for it).
type flight struct {
	done chan struct{} // closed when the fields below are set
	run  *app.Run
	err  error
	// ended: the flight's context had ended when Sync returned.
	ended bool
}

// flightKey: dry runs are shared among themselves only, so a request for a
// sync never gets a plan and a dry run never waits for writes.
type flightKey struct {
	org    string
	dryRun bool
}

// join returns the flight running for key, or starts one that ends by
// deadline; joined reports the former.
func (f *Function) join(key flightKey, o config.ResolvedOrg, deadline time.Time) (fl *flight, joined bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return nil, false, errStopping
	}
	if fl, ok := f.flights[key]; ok {
		return fl, true, nil
	}
	fl = &flight{done: make(chan struct{})}
	f.flights[key] = fl
	f.runs.Add(1)
	go f.fly(key, fl, o, deadline)
	return fl, false, nil
}

func (f *Function) fly(key flightKey, fl *flight, o config.ResolvedOrg, deadline time.Time) {
	defer f.runs.Done()
	ctx, cancel := context.WithDeadline(f.base, deadline)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			f.logger.Error("sync panicked", "organization", o.Source, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			fl.run, fl.err = nil, fmt.Errorf("internal error: %v", r)
		}
		fl.ended = ctx.Err() != nil
		f.mu.Lock()
		delete(f.flights, key)
		f.mu.Unlock()
		close(fl.done)
	}()
	fl.run, fl.err = f.app.Sync(ctx, []config.ResolvedOrg{o}, key.dryRun)
}

// orgResult is what a flight means for one organisation of a reply.
type orgResult struct {
	org         app.OrgRun
	interrupted bool
	failed      bool
	preflight   bool
}

// result turns a finished flight into the organisation's part of a reply.
func (fl *flight) result(o config.ResolvedOrg, dryRun bool) orgResult {
	if fl.run == nil || len(fl.run.Organizations) != 1 {
		err := fl.err
		if err == nil {
			err = errors.New("no report")
		}
		r := orgResult{org: app.OrgRun{Report: emptyReport(o, dryRun), Error: err.Error()}}
		if fl.ended {
			r.interrupted = true
		} else {
			r.failed = true
		}
		return r
	}
	or := fl.run.Organizations[0]
	r := orgResult{org: or, interrupted: fl.run.Interrupted, preflight: fl.run.PreflightFailed}
	// An organisation-level error of an interrupted run is the
	// interruption itself (a listing cut short by the deadline, say).
	r.failed = (or.Report != nil && or.Report.Failed > 0) || (or.Error != "" && !fl.run.Interrupted && !r.preflight)
	return r
}
