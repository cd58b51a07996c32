package quaymirror

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"
)

// Engine defaults. See docs/performance.md for the evidence behind them.
const (
	// DefaultConcurrency is the number of repositories worked on at once.
	// Requests in flight, not CPU, set the pace: n of them at round trip
	// L give n/L requests per second, so 8 keeps DefaultQPS saturated up
	// to a 320 ms round trip, while staying well below the 20 parallel
	// requests past which quay.io resets connections.
	DefaultConcurrency = 8
	// DefaultQPS and DefaultBurst pace requests to each registry. Quay's
	// bundled nginx, when its rate limits are on (FEATURE_RATE_LIMITS,
	// off by default), allows an HTTP/2 connection, which is what this
	// client negotiates over TLS, 50 requests/s with a burst of 100 on
	// /api/: 25 leaves half of it. An HTTP/1 client behind the PROXY
	// protocol gets 5 requests/s with a burst of 25, which no useful
	// default fits: there QPS must be set below 5 (4.5 converges; at 25
	// the requests meet two refusals each and a few repositories fail
	// after the client's retries, which do not slow the engine down).
	DefaultQPS   = 25
	DefaultBurst = 25
	// DefaultRepositoryTimeout bounds the writes of one repository once
	// they have started (see Apply).
	DefaultRepositoryTimeout = 2 * time.Minute
)

// Engine reconciles one destination organisation against one source
// organisation. It is safe for concurrent use; Plan and Apply may run
// concurrently for different plans.
type Engine struct {
	src    Source
	dst    Destination
	policy Policy

	concurrency int
	srcLimiter  *rate.Limiter
	dstLimiter  *rate.Limiter
	repoTimeout time.Duration
	logger      hclog.Logger
	now         func() time.Time

	breakerThreshold int
	breakerSet       bool

	// checks, when sliced, says which existing mirrors a run reads;
	// without, every one.
	checks Checks
	sliced bool

	progressMu sync.Mutex
	progress   func(Progress)
}

// Progress is reported while Plan, Sync and Apply run.
type Progress struct {
	// Phase is "list" while the organisations are listed, then "plan"
	// (Plan), "sync" (Sync) or "apply" (Apply).
	Phase string
	// Listed counts the source repositories listed so far ("list").
	Listed int
	// Done counts the repositories that needed a request (a read or a
	// write) and are finished; Sync starts creating repositories while
	// it lists.
	Done int
	// Total is the number of repositories that need a request, known
	// once the listings are complete (0 before).
	Total int
}

// Option configures an Engine.
type Option func(*Engine) error

// WithConcurrency sets how many repositories are read or written at once
// (default DefaultConcurrency). n must be at least 1.
func WithConcurrency(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return policyErr("Concurrency", "%d is below 1", n)
		}
		e.concurrency = n
		return nil
	}
}

// WithSourceRate limits requests to the source to qps per second with the
// given burst (default DefaultQPS, DefaultBurst). qps 0 means no limit.
func WithSourceRate(qps float64, burst int) Option {
	return func(e *Engine) (err error) {
		e.srcLimiter, err = newLimiter("SourceRate", qps, burst)
		return err
	}
}

// WithDestinationRate limits requests to the destination like
// WithSourceRate.
func WithDestinationRate(qps float64, burst int) Option {
	return func(e *Engine) (err error) {
		e.dstLimiter, err = newLimiter("DestinationRate", qps, burst)
		return err
	}
}

// WithLimiters makes the engine wait on the given limiters, so engines of
// several organisations on the same registries share one budget. A nil
// limiter keeps the engine's own.
func WithLimiters(source, destination *rate.Limiter) Option {
	return func(e *Engine) error {
		if source != nil {
			e.srcLimiter = source
		}
		if destination != nil {
			e.dstLimiter = destination
		}
		return nil
	}
}

// NewLimiter returns a limiter of qps requests per second and the given
// burst, for WithLimiters. qps 0 means no limit.
func NewLimiter(qps float64, burst int) (*rate.Limiter, error) { return newLimiter("QPS", qps, burst) }

func newLimiter(field string, qps float64, burst int) (*rate.Limiter, error) {
	switch {
	case qps < 0:
		return nil, policyErr(field, "requests per second %v is negative", qps)
	case qps == 0:
		return rate.NewLimiter(rate.Inf, 0), nil
	case burst < 1:
		return nil, policyErr(field, "burst %d is below 1", burst)
	}
	return rate.NewLimiter(rate.Limit(qps), burst), nil
}

// WithRepositoryTimeout bounds the writes of one repository once Apply has
// started them (default DefaultRepositoryTimeout).
func WithRepositoryTimeout(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return policyErr("RepositoryTimeout", "%s is not positive", d)
		}
		e.repoTimeout = d
		return nil
	}
}

// WithLogger sets the logger (default: none).
func WithLogger(l hclog.Logger) Option {
	return func(e *Engine) error {
		if l != nil {
			e.logger = l
		}
		return nil
	}
}

// WithClock sets the clock used for the start dates of new mirrors
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(e *Engine) error {
		if now != nil {
			e.now = now
		}
		return nil
	}
}

// WithProgress registers a function called as repositories are planned and
// applied. It is called from the engine's workers, one call at a time.
func WithProgress(fn func(Progress)) Option {
	return func(e *Engine) error {
		e.progress = fn
		return nil
	}
}

// NewEngine returns an engine that mirrors policy.SourceNamespace of src
// into policy.DestinationNamespace of dst. It validates the policy and the
// options and does no I/O.
func NewEngine(src Source, dst Destination, policy Policy, opts ...Option) (*Engine, error) {
	if src == nil || dst == nil {
		return nil, fmt.Errorf("quaymirror: NewEngine needs a source and a destination")
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		src:         src,
		dst:         dst,
		policy:      policy.withDefaults(),
		concurrency: DefaultConcurrency,
		repoTimeout: DefaultRepositoryTimeout,
		logger:      hclog.NewNullLogger(),
		now:         time.Now,
	}
	e.srcLimiter = rate.NewLimiter(DefaultQPS, DefaultBurst)
	e.dstLimiter = rate.NewLimiter(DefaultQPS, DefaultBurst)
	for _, opt := range opts {
		if err := opt(e); err != nil {
			return nil, err
		}
	}
	if !e.breakerSet {
		e.breakerThreshold = max(3, e.concurrency)
	}
	return e, nil
}

// String describes the engine without its credentials, so that printing
// an Engine (%v, %+v) never shows the password.
func (e *Engine) String() string {
	return fmt.Sprintf("quaymirror.Engine(%s/%s -> %s)", e.policy.SourceRegistry, e.policy.SourceNamespace, e.policy.DestinationNamespace)
}

// GoString is String.
func (e *Engine) GoString() string { return e.String() }

// Policy returns the engine's policy with its defaults filled in.
func (e *Engine) Policy() Policy { return e.policy }

// Calls counts the requests the engine made, by side and kind.
type Calls struct {
	SourceReads       int64 `json:"source_reads"`
	DestinationReads  int64 `json:"destination_reads"`
	DestinationWrites int64 `json:"destination_writes"`
}

// Total is the sum of all calls.
func (c Calls) Total() int64 { return c.SourceReads + c.DestinationReads + c.DestinationWrites }

// Add returns the sum of c and o.
func (c Calls) Add(o Calls) Calls {
	return Calls{c.SourceReads + o.SourceReads, c.DestinationReads + o.DestinationReads, c.DestinationWrites + o.DestinationWrites}
}

// counter counts calls made for one Plan or Apply.
type counter struct {
	srcReads, dstReads, dstWrites atomic.Int64
	srcBreaker, dstBreaker        breaker
	// checked counts the mirror configurations read for source
	// repositories; started the repositories whose writes began.
	checked, started atomic.Int64
}

func (c *counter) calls() Calls {
	return Calls{c.srcReads.Load(), c.dstReads.Load(), c.dstWrites.Load()}
}

type side int

const (
	sourceRead side = iota
	destinationRead
	destinationWrite
)

// call waits for the side's limiter, counts the call and runs fn. Every
// request the engine makes goes through here.
func (e *Engine) call(ctx context.Context, c *counter, s side, fn func() error) error {
	lim := e.dstLimiter
	if s == sourceRead {
		lim = e.srcLimiter
	}
	if err := lim.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The wait would outlast the context's deadline.
		return context.DeadlineExceeded
	}
	b, which := &c.dstBreaker, "destination"
	if s == sourceRead {
		b, which = &c.srcBreaker, "source"
	}
	if b.open.Load() {
		return b.errOpen(which, e.breakerThreshold)
	}
	switch s {
	case sourceRead:
		c.srcReads.Add(1)
	case destinationRead:
		c.dstReads.Add(1)
	default:
		c.dstWrites.Add(1)
	}
	err := fn()
	b.record(err, e.breakerThreshold)
	return err
}

func (e *Engine) report(p Progress) {
	if e.progress == nil {
		return
	}
	e.progressMu.Lock()
	defer e.progressMu.Unlock()
	e.progress(p)
}
