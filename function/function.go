package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/sethvargo/go-envconfig"

	"github.com/quaymirror/quaymirror/internal/app"
	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/quaymirror"
)

// DefaultTimeout is the time budget of a request when TIMEOUT is 0: with
// the two minutes repositories already started may still take
// (quaymirror.DefaultRepositoryTimeout), it stays below Knative's default
// revision timeout, 300 s.
const DefaultTimeout = 2 * time.Minute

// Outcome summarises a reply; it is the reply's "outcome" extension.
type Outcome string

// Outcomes.
const (
	// OutcomeOK: every named organisation converged (or was planned).
	OutcomeOK Outcome = "ok"
	// OutcomePartial: the time budget ran out, or the instance stopped,
	// before every repository was started; nothing failed.
	OutcomePartial Outcome = "partial"
	// OutcomeFailed: a repository or an organisation failed.
	OutcomeFailed Outcome = "failed"
	// OutcomePreflightFailed: an organisation's preflight failed, so
	// nothing was written to it.
	OutcomePreflightFailed Outcome = "preflight_failed"
)

// Function is quaymirror's func-go CloudEvents instance. Create it with
// New; func-go then calls Start, Handle (concurrently), Ready, Alive and
// Stop. Its methods are safe for concurrent use.
type Function struct {
	logOutput   io.Writer
	cfgOverride map[string]string // ServeWith's configuration, replacing func-go's
	started     chan struct{}     // closed when Start returns
	ready       atomic.Bool

	// Set by Start before started is closed, read-only afterwards.
	cfg    *config.Resolved
	app    *app.App
	logger hclog.Logger
	budget time.Duration
	source string
	base   context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	startCalled bool
	stopping    bool
	flights     map[flightKey]*flight
	runs        sync.WaitGroup

	// Tests only: called when Start begins and when a request joins a
	// running sync, and extra options for the App.
	beforeStart func()
	onJoin      func(org string)
	appOptions  []app.Option
}

// New returns a Function that is not ready until Start succeeds.
func New() *Function {
	return &Function{
		logOutput: os.Stderr,
		started:   make(chan struct{}),
		flights:   make(map[flightKey]*flight),
	}
}

// Start reads the configuration from cfg (func-go passes the ./cfg file
// overlaid with the environment), the same settings as the CLI, and
// prepares the clients. It sends no request. An invalid configuration is
// returned as the one-line *config.Error naming the setting, which makes
// func-go stop the service. Start may be called once.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	f.mu.Lock()
	if f.startCalled {
		f.mu.Unlock()
		return errors.New("function: Start called twice")
	}
	f.startCalled = true
	f.mu.Unlock()
	defer close(f.started)
	if f.beforeStart != nil {
		f.beforeStart()
	}

	if f.cfgOverride != nil {
		cfg = f.cfgOverride
	}
	c, err := config.Parse(ctx, envconfig.MapLookuper(cfg))
	if err != nil {
		return err
	}
	level := hclog.Info
	if c.Debug {
		level = hclog.Debug
	}
	f.logger = hclog.New(&hclog.LoggerOptions{
		Name: "quaymirror", Level: level, JSONFormat: true, Output: f.logOutput, TimeFormat: time.RFC3339Nano,
	})
	resolved, err := config.Resolve(c, config.NeedSync)
	if err != nil {
		f.logger.Error("invalid configuration", "error", err)
		return err
	}
	a, err := app.New(resolved, f.logger, f.appOptions...)
	if err != nil {
		f.logger.Error("cannot prepare the clients", "error", err)
		return fmt.Errorf("function: %w", err)
	}
	f.cfg, f.app = resolved, a
	f.budget = time.Duration(resolved.Timeout)
	if f.budget <= 0 {
		f.budget = DefaultTimeout
	}
	f.source = "/quaymirror"
	if svc := cfg["K_SERVICE"]; svc != "" {
		f.source += "/" + svc
	}
	f.base, f.cancel = context.WithCancel(context.Background())
	names := make([]string, len(resolved.Orgs))
	for i, o := range resolved.Orgs {
		names[i] = o.String()
	}
	f.logger.Info("ready", "organizations", strings.Join(names, ","), "destination", resolved.Destination.String(),
		"dry_run", bool(resolved.DryRun), "budget", f.budget.String())
	f.ready.Store(true)
	return nil
}

// Ready reports whether Start has succeeded and Stop has not been called
// (func-go's /health/readiness: 200, or 503 when false).
func (f *Function) Ready(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready.Load() && !f.stopping, nil
}

// Alive reports that the instance can answer (func-go's
// /health/liveness). A sync that takes long is not a reason to restart.
func (f *Function) Alive(context.Context) (bool, error) { return true, nil }

// Stop stops starting repositories (syncs in flight end as interrupted
// once the repositories already started finish) and waits for the syncs
// to end, or for ctx to end. Requests arriving afterwards get 503.
func (f *Function) Stop(ctx context.Context) error {
	f.mu.Lock()
	f.stopping = true
	f.mu.Unlock()
	select {
	case <-f.started:
	default:
		return nil // Start is still reading files; it sends nothing.
	}
	if f.cancel != nil {
		f.cancel()
	}
	done := make(chan struct{})
	go func() { f.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("function: syncs still running at stop: %w", ctx.Err())
	}
}

var errStopping = errors.New("the instance is stopping")

// Handle syncs the organisations the event names and replies with the
// report; see the package documentation for the statuses.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	select {
	case <-f.started:
	case <-ctx.Done():
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "not started yet")
	}
	if !f.ready.Load() {
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "not configured")
	}
	log := f.logger.With("event_id", e.ID(), "event_source", e.Source())
	req, err := parseRequest(e)
	if err != nil {
		log.Warn("refused event", "error", err)
		return nil, cehttp.NewResult(http.StatusBadRequest, "%s", err)
	}
	orgs, err := f.organizations(req.Organizations)
	if err != nil {
		log.Warn("refused event", "error", err)
		return nil, cehttp.NewResult(http.StatusBadRequest, "%s", err)
	}
	dryRun := req.DryRun || bool(f.cfg.DryRun)
	names := make([]string, len(orgs))
	for i, o := range orgs {
		names[i] = o.Source
	}
	log.Info("sync requested", "organizations", strings.Join(names, ","), "dry_run", dryRun)

	run, outcome, err := f.sync(ctx, log, orgs, dryRun)
	switch {
	case errors.Is(err, errStopping):
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "%s", err)
	case err != nil: // the caller went away; nobody reads this
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "%s", err)
	}
	reply, err := f.reply(run, outcome, names)
	if err != nil {
		log.Error("cannot encode the report", "error", err)
		return nil, fmt.Errorf("encoding the report: %w", err)
	}
	status := http.StatusOK
	if outcome == OutcomeFailed || outcome == OutcomePreflightFailed {
		status = http.StatusInternalServerError
	}
	log.Info("sync done", "organizations", strings.Join(names, ","), "outcome", string(outcome), "status", status,
		"interrupted", run.Interrupted)
	if status != http.StatusOK {
		return reply, cehttp.NewResult(status, "sync %s", outcome)
	}
	return reply, nil
}

// organizations maps source names to the configured organisations; none
// means all of them.
func (f *Function) organizations(names []string) ([]config.ResolvedOrg, error) {
	if len(names) == 0 {
		return f.cfg.Orgs, nil
	}
	out := make([]config.ResolvedOrg, 0, len(names))
	for _, n := range names {
		o, ok := f.cfg.Org(n)
		if !ok {
			known := make([]string, len(f.cfg.Orgs))
			for i, c := range f.cfg.Orgs {
				known[i] = c.Source
			}
			return nil, badRequest("unknown organization %s (configured: %s)", clip(n), orgNames(known))
		}
		out = append(out, o)
	}
	return out, nil
}

// sync runs (or joins) one sync per organisation, one after the other,
// within one time budget.
func (f *Function) sync(ctx context.Context, log hclog.Logger, orgs []config.ResolvedOrg, dryRun bool) (*app.Run, Outcome, error) {
	deadline := time.Now().Add(f.budget)
	run := &app.Run{DryRun: dryRun, Organizations: make([]app.OrgRun, 0, len(orgs))}
	var failed, preflight bool
	for _, o := range orgs {
		if !time.Now().Before(deadline) {
			run.Organizations = append(run.Organizations, app.OrgRun{Report: emptyReport(o, dryRun),
				Error: "not started: the time budget was spent"})
			run.Interrupted = true
			continue
		}
		fl, joined, err := f.join(flightKey{org: o.Source, dryRun: dryRun}, o, deadline)
		if err != nil {
			return nil, "", err
		}
		if joined {
			log.Info("joined the sync already running", "organization", o.Source)
			if f.onJoin != nil {
				f.onJoin(o.Source)
			}
		}
		select {
		case <-fl.done:
		case <-ctx.Done():
			return nil, "", fmt.Errorf("the request ended while waiting: %w", ctx.Err())
		}
		r := fl.result(o, dryRun)
		run.Organizations = append(run.Organizations, r.org)
		run.Interrupted = run.Interrupted || r.interrupted
		failed = failed || r.failed
		preflight = preflight || r.preflight
	}
	run.PreflightFailed = preflight
	switch {
	case preflight:
		return run, OutcomePreflightFailed, nil
	case failed:
		return run, OutcomeFailed, nil
	case run.Interrupted:
		return run, OutcomePartial, nil
	}
	return run, OutcomeOK, nil
}

func (f *Function) reply(run *app.Run, outcome Outcome, names []string) (*event.Event, error) {
	data, err := json.Marshal(run)
	if err != nil {
		return nil, err
	}
	r := event.New()
	r.SetID(uuid.NewString())
	r.SetSource(f.source)
	r.SetType(ReportEventType)
	r.SetTime(time.Now())
	r.SetSubject(strings.Join(names, ","))
	r.SetExtension("outcome", string(outcome))
	if err := r.SetData(event.ApplicationJSON, data); err != nil {
		return nil, err
	}
	return &r, nil
}

func emptyReport(o config.ResolvedOrg, dryRun bool) *quaymirror.Report {
	return &quaymirror.Report{Organization: o.Source, DestinationOrganization: o.Destination, DryRun: dryRun,
		Repositories: []quaymirror.Result{}}
}
