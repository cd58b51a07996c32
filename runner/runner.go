package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Org is one organisation pair: the source organisation Source mirrored
// into the destination organisation Destination.
type Org struct {
	// Source is the source organisation. It names the pair in results
	// and logs, and is unique within a run.
	Source string
	// Destination is the destination organisation; empty means Source.
	Destination string
	// Policy is how Sync and Plan mirror the pair and what Check checks.
	// Its namespaces may be left empty (they are the pair's); when set
	// they must be the pair's. Status does not read it.
	Policy quaymirror.Policy
}

// DestinationOrg returns the destination organisation's name.
func (o Org) DestinationOrg() string {
	if o.Destination == "" {
		return o.Source
	}
	return o.Destination
}

// policy returns the pair's policy with its namespaces filled in.
func (o Org) policy() quaymirror.Policy {
	p := o.Policy
	p.SourceNamespace, p.DestinationNamespace = o.Source, o.DestinationOrg()
	return p
}

// check reports an Org that cannot be run.
func (o Org) check() error {
	p := o.Policy
	switch {
	case o.Source == "":
		return errors.New("runner: an organization pair has no source organization")
	case p.SourceNamespace != "" && p.SourceNamespace != o.Source:
		return fmt.Errorf("runner: %s: the policy's source namespace is %s", o.Source, p.SourceNamespace)
	case p.DestinationNamespace != "" && p.DestinationNamespace != o.DestinationOrg():
		return fmt.Errorf("runner: %s: the policy's destination namespace is %s, not %s", o.Source, p.DestinationNamespace, o.DestinationOrg())
	}
	return nil
}

// Backends returns the source and the destination of an organisation
// pair. The runner calls it once per pair each time it runs the pair; it
// should not send requests (the runner's preflight does). Status reads
// the destination, and the source when there is one: a nil source is fine
// there. An error is reported
// as the pair's organisation-level error and the other pairs go on.
type Backends func(ctx context.Context, org Org) (quaymirror.Source, quaymirror.Destination, error)

// Clock is the runner's time: Now for the clock of the engines and the
// durations it reports, AfterFunc for the time budget. The default is the
// system's; tests give a clock they move by hand.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed; stop
	// cancels that and reports whether it did (time.AfterFunc's contract).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Sentinel errors.
var (
	// ErrClosed: the runner was closed; it starts nothing any more.
	ErrClosed = errors.New("runner: closed")
	// ErrBudgetSpent is the cause of a run's context once its time
	// budget is spent (context.Cause).
	ErrBudgetSpent = errors.New("the time budget was spent")
)

// Runner runs organisation pairs. Its methods are safe for concurrent use.
type Runner struct {
	backends    Backends
	concurrency int
	srcLimiter  *rate.Limiter
	dstLimiter  *rate.Limiter
	budget      time.Duration
	logger      hclog.Logger
	clock       Clock
	progress    func(org string, p quaymirror.Progress)
	observer    func(Event)
	engineOpts  []quaymirror.Option
	slicing     slicing

	// base ends when Close is called; every run stops with it.
	base   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	flights map[flightKey]*flight
	active  int           // calls in progress
	idle    chan struct{} // closed when active falls to 0
}

// Option configures a Runner.
type Option func(*Runner) error

// WithConcurrency sets how many repositories each organisation's engine
// works on at once, and how many mirrors Status reads at once (default
// quaymirror.DefaultConcurrency). Organisations run one after the other.
func WithConcurrency(n int) Option {
	return func(r *Runner) error {
		if n < 1 {
			return &quaymirror.PolicyError{Field: "Concurrency", Reason: fmt.Sprintf("%d is below 1", n)}
		}
		r.concurrency = n
		return nil
	}
}

// WithRate paces the requests to each registry side at qps per second
// with the given burst, shared by every organisation of every run (default
// quaymirror.DefaultQPS and DefaultBurst). qps 0 means no limit.
func WithRate(qps float64, burst int) Option {
	return func(r *Runner) (err error) {
		if r.srcLimiter, err = quaymirror.NewLimiter(qps, burst); err != nil {
			return err
		}
		r.dstLimiter, err = quaymirror.NewLimiter(qps, burst)
		return err
	}
}

// WithBudget bounds each Sync and Plan call: once d has passed since the
// call began, no new repository and no new organisation is started, the
// repositories in flight finish, and the result says it was interrupted.
// 0 (the default) means no budget.
func WithBudget(d time.Duration) Option {
	return func(r *Runner) error {
		if d < 0 {
			return &quaymirror.PolicyError{Field: "Budget", Reason: fmt.Sprintf("%s is negative", d)}
		}
		r.budget = d
		return nil
	}
}

// WithLogger sets the logger (default: none). Each organisation's engine
// logs through it with an "organization" field.
func WithLogger(l hclog.Logger) Option {
	return func(r *Runner) error {
		if l != nil {
			r.logger = l
		}
		return nil
	}
}

// WithClock sets the clock (default: the system's).
func WithClock(c Clock) Option {
	return func(r *Runner) error {
		if c != nil {
			r.clock = c
		}
		return nil
	}
}

// WithProgress reports the engines' progress, per source organisation.
func WithProgress(fn func(org string, p quaymirror.Progress)) Option {
	return func(r *Runner) error {
		r.progress = fn
		return nil
	}
}

// WithObserver registers a function called with every Event, from the
// goroutine of the run it is about (package metrics records runs this
// way).
func WithObserver(fn func(Event)) Option {
	return func(r *Runner) error {
		r.observer = fn
		return nil
	}
}

// WithTickPeriod sets the time between two ticks (default
// quaymirror.DefaultTickPeriod, an hour): the tick number of a run, which
// picks the slice of existing mirrors it checks, is the clock's Unix
// time divided by it. Give the schedule of the PingSource or CronJob.
func WithTickPeriod(d time.Duration) Option {
	return func(r *Runner) error {
		if d < time.Second {
			return &quaymirror.PolicyError{Field: "TickPeriod", Reason: fmt.Sprintf("%s is below one second", d)}
		}
		r.slicing.period = d
		return nil
	}
}

// WithFullCheckEvery makes every existing mirror checked once every k
// ticks, a slice of them per tick (k 1: every mirror on every tick). The
// default, 0, chooses k from the number of mirrors: the fewest slices
// that keep a tick within the check budget (WithCheckBudget).
func WithFullCheckEvery(k int) Option {
	return func(r *Runner) error {
		if k < 0 {
			return &quaymirror.PolicyError{Field: "FullCheckEvery", Reason: fmt.Sprintf("%d is negative", k)}
		}
		r.slicing.every = k
		return nil
	}
}

// WithCheckBudget sets the most existing mirrors a tick checks when the
// number of slices is automatic (default quaymirror.DefaultCheckBudget).
func WithCheckBudget(n int) Option {
	return func(r *Runner) error {
		if n < 1 {
			return &quaymirror.PolicyError{Field: "CheckBudget", Reason: fmt.Sprintf("%d is below 1", n)}
		}
		r.slicing.budget = n
		return nil
	}
}

// WithFullCheck makes every run check every existing mirror, whatever
// WithFullCheckEvery says; the slice is then never narrowed to fit the
// time budget.
func WithFullCheck() Option {
	return func(r *Runner) error {
		r.slicing.full = true
		return nil
	}
}

// WithTick fixes the tick number of every run instead of the clock's, to
// look at one slice.
func WithTick(n int64) Option {
	return func(r *Runner) error {
		if n < 0 {
			return &quaymirror.PolicyError{Field: "Tick", Reason: fmt.Sprintf("%d is negative", n)}
		}
		r.slicing.tick, r.slicing.fixedTick = n, true
		return nil
	}
}

// WithEngineOptions adds options to every engine the runner builds, after
// its own (concurrency, limiters, logger, clock, progress).
func WithEngineOptions(opts ...quaymirror.Option) Option {
	return func(r *Runner) error {
		r.engineOpts = append(r.engineOpts, opts...)
		return nil
	}
}

// New returns a runner over backends. It validates the options and does
// no I/O. Close stops it.
func New(backends Backends, opts ...Option) (*Runner, error) {
	if backends == nil {
		return nil, errors.New("runner: New needs Backends")
	}
	r := &Runner{
		backends:    backends,
		concurrency: quaymirror.DefaultConcurrency,
		logger:      hclog.NewNullLogger(),
		clock:       systemClock{},
		flights:     make(map[flightKey]*flight),
		slicing:     slicing{period: quaymirror.DefaultTickPeriod},
	}
	r.srcLimiter = rate.NewLimiter(quaymirror.DefaultQPS, quaymirror.DefaultBurst)
	r.dstLimiter = rate.NewLimiter(quaymirror.DefaultQPS, quaymirror.DefaultBurst)
	for _, opt := range opts {
		if err := opt(r); err != nil {
			return nil, err
		}
	}
	r.base, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Engine returns the engine the runner would run for org now: its
// backends, the shared rate limiters, the checks of the current tick (its
// slice is not narrowed to a budget) and the runner's engine options. For
// callers that drive Plan, Apply or Sync themselves.
func (r *Runner) Engine(ctx context.Context, org Org) (*quaymirror.Engine, error) {
	if err := org.check(); err != nil {
		return nil, err
	}
	src, dst, err := r.backends(ctx, org)
	if err != nil {
		return nil, err
	}
	return r.engine(org, src, dst, r.checks(nil))
}

func (r *Runner) engine(org Org, src quaymirror.Source, dst quaymirror.Destination, checks quaymirror.Checks) (*quaymirror.Engine, error) {
	opts := []quaymirror.Option{
		quaymirror.WithConcurrency(r.concurrency),
		quaymirror.WithLimiters(r.srcLimiter, r.dstLimiter),
		quaymirror.WithLogger(r.logger.With("organization", org.Source)),
		quaymirror.WithClock(r.clock.Now),
		quaymirror.WithChecks(checks),
	}
	if r.progress != nil {
		opts = append(opts, quaymirror.WithProgress(func(p quaymirror.Progress) { r.progress(org.Source, p) }))
	}
	return quaymirror.NewEngine(src, dst, org.policy(), append(opts, r.engineOpts...)...)
}

// Close stops the runner: runs in progress start no new repository and no
// new organisation (the repositories in flight finish, and their results
// say they were interrupted), and later calls return ErrClosed. Close
// waits for the runs to end, or for ctx to end.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	idle := r.idle
	if r.active == 0 {
		idle = nil
	}
	r.mu.Unlock()
	r.cancel()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runner: runs still in progress at close: %w", ctx.Err())
	}
}

// start registers a call; the caller must call end when it returns. It
// fails once the runner is closed.
func (r *Runner) start() (end func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.active == 0 {
		r.idle = make(chan struct{})
	}
	r.active++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.active--; r.active == 0 {
			close(r.idle)
		}
	}, nil
}

// scope returns ctx ended also by Close and, when withBudget, by the time
// budget; release frees it.
func (r *Runner) scope(ctx context.Context, withBudget bool) (_ context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stopClose := context.AfterFunc(r.base, func() { cancel(ErrClosed) })
	stopBudget := func() bool { return false }
	if withBudget && r.budget > 0 {
		stopBudget = r.clock.AfterFunc(r.budget, func() { cancel(ErrBudgetSpent) })
	}
	return ctx, func() {
		stopBudget()
		stopClose()
		cancel(nil)
	}
}

// observe hands e, stamped with the clock and its pair, to the observer.
func (r *Runner) observe(c Command, org Org, e Event) {
	if r.observer != nil {
		e.Command, e.Org, e.Time = c, org, r.clock.Now()
		r.observer(e)
	}
}

func checkOrgs(orgs []Org) error {
	seen := make(map[string]bool, len(orgs))
	for _, o := range orgs {
		if err := o.check(); err != nil {
			return err
		}
		if seen[o.Source] {
			return fmt.Errorf("runner: organization %s is listed twice", o.Source)
		}
		seen[o.Source] = true
	}
	return nil
}

// Select returns the pairs of orgs whose sources are named, in the order
// of names and without repeats; no names means every pair. A name that
// is not a source of orgs is an error listing the known ones.
func Select(orgs []Org, names ...string) ([]Org, error) {
	if len(names) == 0 {
		return orgs, nil
	}
	out := make([]Org, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(orgs, func(o Org) bool { return o.Source == n })
		if i < 0 {
			known := make([]string, len(orgs))
			for j, o := range orgs {
				known[j] = o.Source
			}
			slices.Sort(known)
			return nil, fmt.Errorf("unknown organization %.80q (configured: %s)", n, strings.Join(known, ", "))
		}
		if !slices.ContainsFunc(out, func(o Org) bool { return o.Source == n }) {
			out = append(out, orgs[i])
		}
	}
	return out, nil
}
