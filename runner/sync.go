package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/quaymirror/quaymirror/quaymirror"
)

// Sync mirrors the organisation pairs, one after the other. Each one runs
// its own preflight; one that fails it is reported (Preflight, Error,
// OutcomePreflightFailed) and nothing is written to it, while the others
// go on. A pair that passes is planned and the plan applied. A failure in
// one pair never stops the next.
//
// When ctx ends, the time budget (WithBudget) is spent or the runner is
// closed, no new repository and no new pair is started, the repositories
// in flight finish, and the result says it was interrupted.
//
// A pair already being synced by another call of this runner is not
// synced twice: the call waits for that run and reports its result (dry
// runs are shared among themselves only).
//
// The error is non-nil only for invalid pairs (empty or repeated source,
// namespaces that contradict the pair) and ErrClosed; every failure of a
// pair is in the Result.
func (r *Runner) Sync(ctx context.Context, orgs []Org) (*Result, error) {
	return r.run(ctx, orgs, false)
}

// Plan is Sync without writing: each pair's preflight and plan, reported
// as the result a sync would have (a dry run).
func (r *Runner) Plan(ctx context.Context, orgs []Org) (*Result, error) {
	return r.run(ctx, orgs, true)
}

func (r *Runner) run(ctx context.Context, orgs []Org, dryRun bool) (*Result, error) {
	var deadline time.Time
	if r.budget > 0 {
		deadline = r.clock.Now().Add(r.budget)
	}
	res := &Result{DryRun: dryRun, Outcome: OutcomeOK, Organizations: make([]OrgResult, 0, len(orgs))}
	err := runCommand(r, ctx, orgs, command[OrgResult]{
		name: commandOf(dryRun), budget: true,
		run: func(ctx context.Context, o Org) (OrgResult, error) {
			return r.flight(ctx, o, dryRun, deadline), nil
		},
		failed: failedOrgResult(dryRun),
		notStarted: func(o Org, why string) OrgResult {
			or := newOrgResult(o, dryRun)
			or.end(interrupted(why))
			return or
		},
		// flight observes: the run's end once, the calls that join it.
		add: res.add,
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func commandOf(dryRun bool) Command {
	if dryRun {
		return CommandPlan
	}
	return CommandSync
}

// stopReason says why ctx ended.
func stopReason(ctx context.Context) string {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrBudgetSpent), errors.Is(cause, context.DeadlineExceeded):
		return "the time budget was spent"
	case errors.Is(cause, ErrClosed):
		return "the runner was stopped"
	}
	return "the run was stopped"
}

// A flight is the run of one pair, shared by every call that asks for the
// pair while it runs.
type flight struct {
	done chan struct{} // closed once res is set
	res  OrgResult
}

type flightKey struct {
	org    string
	dryRun bool
}

// flight runs org, or waits for the run of it already in progress.
func (r *Runner) flight(ctx context.Context, org Org, dryRun bool, deadline time.Time) (res OrgResult) {
	key := flightKey{org.Source, dryRun}
	r.mu.Lock()
	fl, joined := r.flights[key]
	if !joined {
		fl = &flight{done: make(chan struct{})}
		r.flights[key] = fl
	}
	r.mu.Unlock()

	if joined {
		r.logger.Info("joined the run of the organization in progress", "organization", org.Source, "dry_run", dryRun)
		r.observe(commandOf(dryRun), org, Event{Kind: EventJoined, Organization: org.Source})
		select {
		case <-fl.done:
			return fl.res
		case <-ctx.Done():
			res = newOrgResult(org, dryRun)
			res.end(interrupted("stopped while waiting for the run of the organization in progress: " + stopReason(ctx)))
			return res
		}
	}

	// Guarded here too, so that a panic still ends the flight and the
	// calls waiting for it get its result.
	res, _ = guard(r, commandOf(dryRun), org, func() (OrgResult, error) {
		return r.syncOrg(ctx, org, dryRun, deadline), nil
	}, failedOrgResult(dryRun))
	fl.res = res
	r.mu.Lock()
	delete(r.flights, key)
	r.mu.Unlock()
	close(fl.done)
	r.observe(commandOf(dryRun), org, Event{Kind: EventSynced, Organization: org.Source, Result: &res})
	return res
}

// failedOrgResult returns the result of a pair that failed with err
// before its run reported anything.
func failedOrgResult(dryRun bool) func(o Org, err error) OrgResult {
	return func(o Org, err error) OrgResult {
		res := newOrgResult(o, dryRun)
		res.end(failed(err))
		return res
	}
}

// syncOrg runs one pair: preflight, then the sync (or, when dryRun, the
// plan). Once both listings are complete, before the mirrors of its slice
// are read, the estimator forecasts what the run still needs and narrows
// the slice to what fits before deadline (zero: no budget).
func (r *Runner) syncOrg(ctx context.Context, org Org, dryRun bool, deadline time.Time) OrgResult {
	start := r.clock.Now()
	res := newOrgResult(org, dryRun)
	log := r.logger.With("organization", org.Source)
	est := &estimator{r: r, policy: org.policy(), deadline: deadline, full: r.slicing.full}
	e, checks, stop := r.prepare(ctx, log, org, r.checks(est.decide), (*quaymirror.Engine).Preflight)
	res.Preflight = checks
	if stop != nil {
		res.end(*stop)
		return res
	}
	var rep *quaymirror.Report
	var err error
	if dryRun {
		var plan *quaymirror.Plan
		if plan, err = e.Plan(ctx); err == nil {
			rep = plan.DryRun()
		}
	} else {
		rep, err = e.Sync(ctx)
	}
	res.Estimate = est.result
	if x := est.result; x != nil {
		args := []any{"requests", x.Requests, "seconds", math.Round(x.Seconds), "offered", x.Offered.String(), "narrowed", x.Narrowed}
		if x.Note != "" {
			log.Warn("estimate: "+x.Note, args...)
		} else {
			log.Info("estimate", args...)
		}
	}
	if err != nil {
		if rep != nil && len(rep.Repositories) > 0 {
			rep.Duration = r.clock.Now().Sub(start)
			res.Report = rep
		}
		if ctx.Err() != nil {
			res.end(interrupted("stopped before both organizations were listed: " + stopReason(ctx)))
			return res
		}
		log.Error("organization failed", "error", err)
		res.end(failed(err))
		return res
	}
	rep.Duration = r.clock.Now().Sub(start)
	res.Report = rep
	res.classify()
	log.Info("organization done", "created", rep.Created, "configured", rep.Configured, "updated", rep.Updated,
		"unchanged", rep.Unchanged, "unchecked", rep.Unchecked, "skipped", rep.Skipped, "orphaned", rep.Orphaned,
		"failed", rep.Failed, "not_started", rep.NotStarted, "slice", rep.Slice, "slices", rep.Slices, "checked", rep.Checked)
	return res
}

// prepare returns the engine of a pair once the pair passed its
// preflight (Engine.Preflight, or VerifyPreflight), and the preflight's
// checklist. When the pair cannot go on (its backends failed, ctx ended
// during the preflight, the preflight failed), it returns how the pair's
// run ended instead of the engine.
func (r *Runner) prepare(ctx context.Context, log hclog.Logger, org Org, checks quaymirror.Checks,
	preflight func(*quaymirror.Engine, context.Context) (quaymirror.Checklist, error)) (*quaymirror.Engine, quaymirror.Checklist, *ending) {
	e, err := r.engineFor(ctx, org, checks)
	if err != nil {
		log.Error("organization failed", "error", err)
		stop := failed(err)
		return nil, nil, &stop
	}
	list, err := preflight(e, ctx)
	if err != nil { // ctx ended
		stop := interrupted("stopped during the preflight: " + stopReason(ctx))
		return nil, list, &stop
	}
	if err := list.Err(); err != nil {
		log.Error("preflight failed", "error", err)
		return nil, list, &ending{OutcomePreflightFailed, err.Error()}
	}
	return e, list, nil
}

func (r *Runner) engineFor(ctx context.Context, org Org, checks quaymirror.Checks) (*quaymirror.Engine, error) {
	src, dst, err := r.backends(ctx, org)
	if err != nil {
		return nil, err
	}
	return r.engine(org, src, dst, checks)
}

// Check runs the preflight of every pair, writing nothing. A pair whose
// backends fail is reported with Error and the others are checked. The
// error is non-nil only for invalid pairs, ErrClosed, or when ctx ends
// before every pair was checked.
func (r *Runner) Check(ctx context.Context, orgs []Org) (*CheckResult, error) {
	res := &CheckResult{OK: true, Organizations: make([]OrgCheck, 0, len(orgs))}
	err := runCommand(r, ctx, orgs, command[OrgCheck]{
		name: CommandCheck,
		run: func(ctx context.Context, o Org) (OrgCheck, error) {
			c := OrgCheck{Organization: o.Source, DestinationOrganization: o.DestinationOrg()}
			e, err := r.engineFor(ctx, o, r.checks(nil))
			if err != nil {
				c.Error = err.Error()
				return c, nil
			}
			c.Checks, err = e.Preflight(ctx)
			return c, err
		},
		failed: func(o Org, err error) OrgCheck {
			return OrgCheck{Organization: o.Source, DestinationOrganization: o.DestinationOrg(), Error: err.Error()}
		},
		event: func(o Org, c *OrgCheck) Event {
			return Event{Kind: EventChecked, Organization: o.Source, Check: c}
		},
		add: func(c OrgCheck) {
			res.OK = res.OK && c.OK()
			res.Organizations = append(res.Organizations, c)
		},
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Status reads the mirror health of every destination organisation;
// heal cancels and re-triggers stuck mirrors. An organisation whose health
// cannot be read is left out of the list and its error, naming it, is
// joined into the returned error; the others are read.
func (r *Runner) Status(ctx context.Context, orgs []Org, heal bool) ([]*quaymirror.Health, error) {
	var out []*quaymirror.Health
	var errs []error
	err := runCommand(r, ctx, orgs, command[orgHealth]{
		name: CommandStatus,
		run: func(ctx context.Context, o Org) (orgHealth, error) {
			h, err := r.status(ctx, o, heal)
			return orgHealth{o.DestinationOrg(), h, err}, nil
		},
		failed: func(o Org, err error) orgHealth { return orgHealth{o.DestinationOrg(), nil, err} },
		event: func(_ Org, h *orgHealth) Event {
			return Event{Kind: EventStatus, Organization: h.org, Health: h.health, Err: h.err}
		},
		add: func(h orgHealth) {
			if h.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", h.org, h.err))
				return
			}
			out = append(out, h.health)
		},
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

// orgHealth is the status of one destination organisation, org: its
// health or why it could not be read.
type orgHealth struct {
	org    string
	health *quaymirror.Health
	err    error
}

func (r *Runner) status(ctx context.Context, o Org, heal bool) (*quaymirror.Health, error) {
	src, dst, err := r.backends(ctx, o)
	if err != nil {
		return nil, err
	}
	checks := r.checks(nil)
	opts := quaymirror.HealthOptions{
		Concurrency: r.concurrency, Limiter: r.dstLimiter, Heal: heal, Now: r.clock.Now,
		Logger: r.logger.With("organization", o.DestinationOrg()), Checks: &checks,
	}
	if src != nil {
		// Source repositories missing or not mirrored are problems too.
		opts.Source, opts.SourceNamespace, opts.SourceLimiter = src, o.Source, r.srcLimiter
		opts.Include, opts.Exclude = o.Policy.Include, o.Policy.Exclude
	}
	return quaymirror.CheckHealth(ctx, dst, o.DestinationOrg(), opts)
}
