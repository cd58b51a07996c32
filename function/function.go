package function

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	ce "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/runner"
)

// Setup is what a Function runs with.
type Setup struct {
	Runner *runner.Runner // Stop closes it
	// Orgs are the organisations an event may name (by Source).
	Orgs   []runner.Org
	DryRun bool         // every event is a dry run
	Logger hclog.Logger // default: none
	// Sink, when set, is an http(s) URL the report event is also sent to
	// (K_SINK, set by a Knative SinkBinding): the reply to a PingSource
	// is dropped. A failed send is a warning.
	Sink string
}

// sinkTimeout bounds the send of one report to the sink.
const sinkTimeout = 30 * time.Second

// Configure builds a Function's Setup from func-go's configuration map
// (the ./cfg file overlaid with the environment). It should send no
// request; its error stops the service.
type Configure func(ctx context.Context, cfg map[string]string) (*Setup, error)

// Function is quaymirror's func-go CloudEvents instance: func-go calls
// Start once, then Handle (concurrently), Ready, Alive and Stop.
type Function struct {
	configure Configure
	started   chan struct{} // closed when Start returns

	mu       sync.Mutex
	stopping bool
	setup    *Setup    // set by a successful Start
	source   string    // of the replies
	sink     ce.Client // to Setup.Sink; nil without one
}

// New returns a Function that is not ready until Start succeeds.
func New(configure Configure) *Function {
	return &Function{configure: configure, started: make(chan struct{})}
}

// Start builds the Setup with the Configure given to New.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	defer close(f.started)
	s, err := f.configure(ctx, cfg)
	if err != nil {
		return err
	}
	if s.Logger == nil {
		s.Logger = hclog.NewNullLogger()
	}
	var sink ce.Client
	if s.Sink != "" {
		if sink, err = ce.NewClientHTTP(); err != nil {
			return err
		}
	}
	s.Logger.Info("ready", "organizations", names(s.Orgs), "dry_run", s.DryRun, "sink", s.Sink != "")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setup, f.source = s, strings.TrimSuffix("/quaymirror/"+cfg["K_SERVICE"], "/")
	f.sink = sink
	return nil
}

// ready returns the Setup once Start has succeeded and until Stop.
func (f *Function) ready() *Setup {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return nil
	}
	return f.setup
}

// Ready is func-go's /health/readiness: 200 once Start has succeeded and
// until Stop, 503 otherwise.
func (f *Function) Ready(context.Context) (bool, error) { return f.ready() != nil, nil }

// Alive is func-go's /health/liveness: a long sync is no reason to
// restart the instance.
func (f *Function) Alive(context.Context) (bool, error) { return true, nil }

// Stop refuses new events (503) and closes the runner: runs in progress
// start nothing new and end interrupted once their repositories in flight
// finish. It waits for them, or for ctx.
func (f *Function) Stop(ctx context.Context) error {
	f.mu.Lock()
	f.stopping = true
	s := f.setup
	f.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Runner.Close(ctx)
}

// Status is the HTTP status of a reply whose outcome is o: 200 for ok and
// partial, 500 for the others (see the package documentation).
func Status(o runner.Outcome) int {
	if o == runner.OutcomeOK || o == runner.OutcomePartial {
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// Handle syncs the organisations the event names and replies with the
// report.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	select {
	case <-f.started:
	case <-ctx.Done():
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "not started yet")
	}
	s := f.ready()
	if s == nil {
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "not ready")
	}
	log := s.Logger.With("event_id", e.ID(), "event_source", e.Source())
	req, err := parseRequest(e, s.Orgs)
	if err != nil {
		log.Warn("refused event", "error", err)
		return nil, cehttp.NewResult(http.StatusBadRequest, "%s", err)
	}
	subject := names(req.orgs)
	dryRun := req.dryRun || s.DryRun
	log.Info("sync requested", "organizations", subject, "dry_run", dryRun)
	run := s.Runner.Sync
	if dryRun {
		run = s.Runner.Plan
	}
	// The caller does not stop the run (a PingSource giving up would cut
	// it short for every delivery joining it): the budget and Stop do.
	res, err := run(context.WithoutCancel(ctx), req.orgs)
	if err != nil { // runner.ErrClosed: stopping
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "%s", err)
	}
	reply := event.New()
	reply.SetID(uuid.NewString())
	reply.SetSource(f.source)
	reply.SetType(ReportEventType)
	reply.SetTime(time.Now())
	reply.SetSubject(subject)
	reply.SetExtension("outcome", string(res.Outcome))
	if err := reply.SetData(event.ApplicationJSON, res); err != nil {
		return nil, err
	}
	f.send(context.WithoutCancel(ctx), s, log, reply)
	status := Status(res.Outcome)
	log.Info("sync done", "organizations", subject, "outcome", string(res.Outcome), "status", status, "interrupted", res.Interrupted)
	if status != http.StatusOK {
		return &reply, cehttp.NewResult(status, "sync %s", res.Outcome)
	}
	return &reply, nil
}

func names(orgs []runner.Org) string { return strings.Join(sources(orgs), ",") }

// send sends the report to the sink, when there is one; a failure is a
// warning. (The metrics of the run are pushed, if at all, by the runner's
// observer as each organisation ends: see metrics.Pusher.Observer.)
func (f *Function) send(ctx context.Context, s *Setup, log hclog.Logger, report event.Event) {
	f.mu.Lock()
	sink := f.sink
	f.mu.Unlock()
	if sink == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ce.ContextWithTarget(ctx, s.Sink), sinkTimeout)
	result := sink.Send(sctx, report)
	cancel()
	if !ce.IsACK(result) {
		// The result may quote the sink's URL: it is K_SINK, which
		// carries no secret of ours.
		log.Warn("sending the report to K_SINK failed; the run's result stands", "error", result)
	}
}

func sources(orgs []runner.Org) []string {
	s := make([]string, len(orgs))
	for i, o := range orgs {
		s[i] = o.Source
	}
	return s
}
