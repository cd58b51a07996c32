package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay"
)

// App runs quaymirror for a resolved configuration. It is safe for
// concurrent use.
type App struct {
	cfg          *config.Resolved
	logger       hclog.Logger
	srcTransport http.RoundTripper
	dstTransport http.RoundTripper
	srcLimiter   *rate.Limiter
	dstLimiter   *rate.Limiter
	progress     func(org string, p quaymirror.Progress)
	now          func() time.Time
}

// Option configures an App.
type Option func(*App)

// WithProgress reports the engine's progress per organisation.
func WithProgress(fn func(org string, p quaymirror.Progress)) Option {
	return func(a *App) { a.progress = fn }
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option {
	return func(a *App) { a.now = now }
}

// New prepares an App; it does no I/O.
func New(cfg *config.Resolved, logger hclog.Logger, opts ...Option) (*App, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	a := &App{cfg: cfg, logger: logger, now: time.Now}
	for _, opt := range opts {
		opt(a)
	}
	var err error
	if a.srcTransport, err = quay.NewTransport(quay.TransportOptions{CABundle: cfg.CABundle}); err != nil {
		return nil, err
	}
	if a.dstTransport, err = quay.NewTransport(quay.TransportOptions{CABundle: cfg.CABundle}); err != nil {
		return nil, err
	}
	if a.srcLimiter, err = quaymirror.NewLimiter(float64(cfg.QPS), int(cfg.Burst)); err != nil {
		return nil, err
	}
	if a.dstLimiter, err = quaymirror.NewLimiter(float64(cfg.QPS), int(cfg.Burst)); err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the configuration.
func (a *App) Config() *config.Resolved { return a.cfg }

func (a *App) client(base string, rt http.RoundTripper, token quaymirror.Secret) (*quay.Client, error) {
	opts := []quay.Option{
		quay.WithTransport(rt),
		quay.WithLogger(a.logger),
		quay.WithTimeout(time.Duration(a.cfg.RequestTimeout)),
	}
	if token != "" {
		opts = append(opts, quay.WithToken(token.Reveal()))
	}
	if a.cfg.AllowInsecureHTTP {
		opts = append(opts, quay.WithAllowInsecureHTTP())
	}
	return quay.New(base, opts...)
}

// Source returns the client of an organisation's source.
func (a *App) Source(o config.ResolvedOrg) (*quay.Client, error) {
	return a.client(a.cfg.Source.String(), a.srcTransport, o.SourceToken)
}

// Destination returns the client of an organisation's destination.
func (a *App) Destination(o config.ResolvedOrg) (*quay.Client, error) {
	return a.client(a.cfg.Destination.String(), a.dstTransport, o.DestinationToken)
}

// Engine returns the engine of an organisation pair.
func (a *App) Engine(o config.ResolvedOrg) (*quaymirror.Engine, error) {
	src, err := a.Source(o)
	if err != nil {
		return nil, err
	}
	dst, err := a.Destination(o)
	if err != nil {
		return nil, err
	}
	opts := []quaymirror.Option{
		quaymirror.WithConcurrency(int(a.cfg.Concurrency)),
		quaymirror.WithLimiters(a.srcLimiter, a.dstLimiter),
		quaymirror.WithLogger(a.logger.With("organization", o.Source)),
		quaymirror.WithClock(a.now),
	}
	if a.progress != nil {
		opts = append(opts, quaymirror.WithProgress(func(p quaymirror.Progress) { a.progress(o.Source, p) }))
	}
	return quaymirror.NewEngine(src, dst, a.cfg.Policy(o), opts...)
}

// OrgRun is the run of one organisation pair. Its JSON is the report's,
// plus the preflight checks and an organisation-level error.
type OrgRun struct {
	*quaymirror.Report
	Preflight quaymirror.Checklist `json:"preflight,omitempty"`
	// Error is set when the organisation could not be run at all
	// (preflight failed, a listing failed, the run was stopped first).
	Error string `json:"error,omitempty"`
}

// Run is the result of a sync or a plan over several organisations.
type Run struct {
	DryRun bool `json:"dry_run"`
	// Interrupted: the time budget ran out or the run was cancelled
	// before every repository was started.
	Interrupted   bool     `json:"interrupted"`
	Organizations []OrgRun `json:"organizations"`
	// PreflightFailed: a preflight check failed, so nothing was written.
	PreflightFailed bool `json:"preflight_failed"`
}

// OK reports whether every organisation converged.
func (r *Run) OK() bool {
	if r.PreflightFailed || r.Interrupted {
		return false
	}
	for _, o := range r.Organizations {
		if o.Error != "" || (o.Report != nil && !o.Report.OK()) {
			return false
		}
	}
	return true
}

// ErrPreflight is returned by Sync when a preflight check failed.
var ErrPreflight = quaymirror.ErrPreflight

// Sync runs preflight for every organisation, then (only when all passed)
// plans each one and, unless dryRun, applies the plan. Organisations run
// one after the other; each engine works on Concurrency repositories at
// once within the shared rate limits. When ctx ends, no new repository
// starts (in-flight ones finish) and the run is marked interrupted.
func (a *App) Sync(ctx context.Context, orgs []config.ResolvedOrg, dryRun bool) (*Run, error) {
	run := &Run{DryRun: dryRun}
	engines := make([]*quaymirror.Engine, len(orgs))
	for i, o := range orgs {
		e, err := a.Engine(o)
		if err != nil {
			return nil, err
		}
		engines[i] = e
		checks, err := e.Preflight(ctx)
		if err != nil {
			if ctx.Err() == nil {
				return nil, err
			}
			// Stopped (signal, time budget) during the preflights, before
			// any write: the organisations left are reported not started.
			run.Interrupted = true
			for _, rest := range orgs[i:] {
				run.Organizations = append(run.Organizations, OrgRun{Report: emptyReport(rest, dryRun), Error: "not started: the run was stopped"})
			}
			return run, nil
		}
		or := OrgRun{Report: emptyReport(o, dryRun), Preflight: checks}
		if err := checks.Err(); err != nil {
			or.Error = err.Error()
			run.PreflightFailed = true
			a.logger.Error("preflight failed", "organization", o.Source, "error", err)
		}
		run.Organizations = append(run.Organizations, or)
	}
	if run.PreflightFailed {
		return run, ErrPreflight
	}
	for i, o := range orgs {
		or := &run.Organizations[i]
		if ctx.Err() != nil {
			or.Error = "not started: the run was stopped"
			run.Interrupted = true
			continue
		}
		rep, err := a.syncOne(ctx, engines[i], dryRun)
		if err != nil {
			or.Error = err.Error()
			if ctx.Err() != nil {
				run.Interrupted = true
			}
			a.logger.Error("organization failed", "organization", o.Source, "error", err)
			continue
		}
		or.Report = rep
		if rep.Interrupted {
			run.Interrupted = true
		}
		a.logger.Info("organization done", "organization", o.Source, "created", rep.Created, "configured", rep.Configured,
			"updated", rep.Updated, "unchanged", rep.Unchanged, "skipped", rep.Skipped, "orphaned", rep.Orphaned, "failed", rep.Failed)
	}
	return run, nil
}

func (a *App) syncOne(ctx context.Context, e *quaymirror.Engine, dryRun bool) (*quaymirror.Report, error) {
	start := a.now()
	plan, err := e.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if dryRun {
		rep := plan.DryRun()
		rep.Duration = a.now().Sub(start)
		return rep, nil
	}
	return e.Apply(ctx, plan)
}

func emptyReport(o config.ResolvedOrg, dryRun bool) *quaymirror.Report {
	return &quaymirror.Report{Organization: o.Source, DestinationOrganization: o.Destination, DryRun: dryRun, Repositories: []quaymirror.Result{}}
}

// Check runs the preflight checks of every organisation.
func (a *App) Check(ctx context.Context, orgs []config.ResolvedOrg) ([]OrgCheck, error) {
	var out []OrgCheck
	for _, o := range orgs {
		e, err := a.Engine(o)
		if err != nil {
			return nil, err
		}
		checks, err := e.Preflight(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, OrgCheck{Organization: o.Source, DestinationOrganization: o.Destination, Checks: checks})
	}
	return out, nil
}

// OrgCheck is the preflight of one organisation pair.
type OrgCheck struct {
	Organization            string               `json:"organization"`
	DestinationOrganization string               `json:"destination_organization"`
	Checks                  quaymirror.Checklist `json:"checks"`
}

// Status reads the mirror health of every destination organisation; heal
// cancels and re-triggers stuck mirrors.
func (a *App) Status(ctx context.Context, orgs []config.ResolvedOrg, heal bool) ([]*quaymirror.Health, error) {
	var out []*quaymirror.Health
	var errs []error
	for _, o := range orgs {
		dst, err := a.Destination(o)
		if err != nil {
			return nil, err
		}
		opts := quaymirror.HealthOptions{
			Concurrency: int(a.cfg.Concurrency), Limiter: a.dstLimiter, Heal: heal, Now: a.now,
			Logger: a.logger.With("organization", o.Destination),
		}
		if a.cfg.Source != nil && o.SourceToken != "" {
			// Compare with the source: missing and unmirrored repositories
			// are problems too.
			if opts.Source, err = a.Source(o); err != nil {
				return nil, err
			}
			opts.SourceNamespace, opts.SourceLimiter, opts.Include, opts.Exclude = o.Source, a.srcLimiter, a.cfg.Include, a.cfg.Exclude
		}
		h, err := quaymirror.CheckHealth(ctx, dst, o.Destination, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Destination, err))
			continue
		}
		out = append(out, h)
	}
	return out, errors.Join(errs...)
}
