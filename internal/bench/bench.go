package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/quaymirror"
)

// DefaultLatency is the injected per-request latency: a registry in
// another data centre of the same region.
const DefaultLatency = 20 * time.Millisecond

// Options apply to every scenario.
type Options struct {
	// Latency delays every request at both emulators (DefaultLatency
	// when zero; use a negative value for none).
	Latency time.Duration
	// Burst is the rate limiters' burst when a scenario sets a QPS
	// (default quaymirror.DefaultBurst).
	Burst int
	// SkipSyncNow leaves out the sync-now of every new mirror
	// (SYNC_NOW=false).
	SkipSyncNow bool
	// ServerLimit and ServerBurst, when ServerLimit is positive, put the
	// rate limit of Quay's bundled nginx in front of both registries
	// (FEATURE_RATE_LIMITS: 5 requests/s per client, burst 25; see
	// EmulatorSpec.Limit).
	ServerLimit float64
	ServerBurst int
	// Verify measures a verify after the steady run, once the
	// destination's mirror workers have copied the tags (see
	// measureVerify). Tags is the number of tags of each source
	// repository (default DefaultTags when Verify is set).
	Verify bool
	Tags   int
	// Launcher starts the emulators (default InProcess).
	Launcher Launcher
	// Progress, when set, gets a line as each run ends.
	Progress io.Writer
}

func (o Options) latency() time.Duration {
	switch {
	case o.Latency == 0:
		return DefaultLatency
	case o.Latency < 0:
		return 0
	}
	return o.Latency
}

func (o Options) burst() int {
	if o.Burst < 1 {
		return quaymirror.DefaultBurst
	}
	return o.Burst
}

// Result is the measure of one scenario.
type Result struct {
	Scenario
	Latency   time.Duration `json:"latency_ns"`
	Burst     int           `json:"burst"`
	SyncNow   bool          `json:"sync_now"`
	InProcess bool          `json:"emulators_in_process"`
	// ServerLimit and ServerBurst are the emulated nginx rate limit, if
	// any.
	ServerLimit float64 `json:"server_limit,omitempty"`
	ServerBurst int     `json:"server_burst,omitempty"`
	// Preflight is what `quaymirror sync` asks before planning, measured
	// once on the empty destination and left out of the runs.
	Preflight Side `json:"preflight"`
	// First is the run that creates every repository; Steady the run
	// that follows and finds nothing to do.
	First  Run `json:"first"`
	Steady Run `json:"steady"`
	// Verify is the verify measured after the steady run (Options.Verify),
	// of Tags tags per repository.
	Verify *Run `json:"verify,omitempty"`
	Tags   int  `json:"tags,omitempty"`
}

// Side is what the two emulators saw.
type Side struct {
	Source      Counts `json:"source"`
	Destination Counts `json:"destination"`
}

// Run is one measured Sync (Plan then Apply).
type Run struct {
	Kind string        `json:"kind"`
	Wall time.Duration `json:"wall_ns"`
	// PlanWall is the part of Wall spent in Plan.
	PlanWall time.Duration `json:"plan_wall_ns"`
	Side
	// Engine is what the engine counted (the emulators' counts also hold
	// the client's own requests, such as its one discovery read).
	Engine  quaymirror.Calls  `json:"engine_calls"`
	Outcome quaymirror.Counts `json:"outcome"`
	Heap    Heap              `json:"heap"`
	// CPU is the CPU time of this process (quaymirror, plus the emulators
	// when they run in it) and of the emulators' process.
	CPU          time.Duration `json:"cpu_ns"`
	EmulatorsCPU time.Duration `json:"emulators_cpu_ns"`
	// Bound is the least wall time the run's requests can take (see
	// bound); BoundBy names the term that set it.
	Bound   time.Duration `json:"bound_ns"`
	BoundBy string        `json:"bound_by"`
	// FirstError is the error of the first failed repository, if any.
	FirstError string `json:"first_error,omitempty"`
}

// Rejected is the requests the emulated rate limit refused with 429 (and
// the client retried).
func (r Run) Rejected() int { return r.Source.Rejected + r.Destination.Rejected }

// Route names.
const (
	routeList       = "GET /api/v1/repository"
	routeCreateRepo = "POST /api/v1/repository"
	routeGetMirror  = "GET /api/v1/repository/{repo}/mirror"
)

// Calls is every request of the run.
func (r Run) Calls() int { return r.Source.total() + r.Destination.total() }

// Writes is the destination's write requests.
func (r Run) Writes() int { return writes(r.Destination) }

// DestinationReads is the destination's read requests.
func (r Run) DestinationReads() int { return r.Destination.total() - r.Writes() }

// CPUUse is the CPU time of both processes over the machine's CPU time
// during the run: near 1, the machine, not the latency, sets the pace.
func (r Run) CPUUse() float64 {
	return float64(r.CPU+r.EmulatorsCPU) / (float64(r.Wall) * float64(runtime.NumCPU()))
}

// Ratio is the wall time over the bound.
func (r Run) Ratio() float64 {
	if r.Bound <= 0 {
		return 0
	}
	return float64(r.Wall) / float64(r.Bound)
}

// Pages is the listing pages read at each side.
func (r Run) Pages() (src, dst int) {
	return r.Source.Requests[routeList], r.Destination.Requests[routeList]
}

func writes(c Counts) int {
	n := 0
	for route, v := range c.Requests {
		if !isRead(route) {
			n += v
		}
	}
	return n
}

func isRead(route string) bool {
	method, _, _ := strings.Cut(route, " ")
	return method == "GET" || method == "HEAD" || method == "OPTIONS"
}

// perRepository reports whether a route is about one repository (as
// opposed to a listing page or a fixed request such as discovery).
func perRepository(route string) bool {
	return strings.Contains(route, "{repo}") || route == routeCreateRepo
}

// bound is the least wall time a run's requests can take, the largest
// of:
//
//   - latency: every request waits the injected latency and at most
//     Concurrency repositories are worked on at once, so calls x latency /
//     concurrency. (The two listings run beside the workers, so a run
//     whose reads overlap its listings can beat this term slightly.)
//   - qps: each registry has its own limiter, which lets a burst through
//     at once, so the busier side's (calls - burst) / QPS.
//   - listing: pages are fetched one after the other, so the longer
//     listing's pages x latency.
func bound(sc Scenario, latency time.Duration, burst int, r Run) (time.Duration, string) {
	by := "latency"
	b := time.Duration(int64(r.Calls()) * int64(latency) / int64(sc.Concurrency))
	if sc.QPS > 0 {
		busier := max(r.Source.total(), r.Destination.total(), burst) - burst
		if q := time.Duration(float64(busier) / sc.QPS * float64(time.Second)); q > b {
			b, by = q, "qps"
		}
	}
	src, dst := r.Pages()
	if l := time.Duration(max(src, dst)) * latency; l > b {
		b, by = l, "listing"
	}
	return b, by
}

// Measure starts the emulators of the scenario, then measures a first run
// and a steady-state run. Repositories that fail are counted (Failed), not
// errors: against an emulated rate limit they are a result.
func Measure(ctx context.Context, sc Scenario, opts Options) (*Result, error) {
	launch := opts.Launcher
	if launch == nil {
		launch = InProcess
	}
	if sc.Repos < 1 || sc.Concurrency < 1 || sc.QPS < 0 {
		return nil, fmt.Errorf("bench: invalid scenario %+v", sc)
	}
	spec := EmulatorSpec{Repos: sc.Repos, Latency: opts.latency(), Tags: opts.tags()}
	if opts.ServerLimit > 0 {
		spec.Limit, spec.LimitBurst = opts.ServerLimit, max(opts.ServerBurst, 1)
	}
	em, err := launch(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer em.Close()
	res := &Result{Scenario: sc, Latency: opts.latency(), Burst: opts.burst(), SyncNow: !opts.SkipSyncNow, InProcess: em.InProcess,
		ServerLimit: spec.Limit, ServerBurst: spec.LimitBurst, Tags: spec.Tags}

	// Preflight, measured alone.
	e, err := newEngine(ctx, em, sc, opts)
	if err != nil {
		return nil, err
	}
	if err := em.Reset(ctx); err != nil {
		return nil, err
	}
	checks, err := e.Preflight(ctx)
	if err != nil {
		return nil, err
	}
	if err := checks.Err(); err != nil {
		return nil, fmt.Errorf("bench: preflight: %w", err)
	}
	if res.Preflight.Source, res.Preflight.Destination, _, err = em.Counts(ctx); err != nil {
		return nil, err
	}

	for _, kind := range []string{"first", "steady"} {
		r, err := measureRun(ctx, em, sc, opts, kind)
		if err != nil {
			return nil, fmt.Errorf("bench: %s, %s run: %w", sc, kind, err)
		}
		if kind == "first" {
			res.First = r
		} else {
			res.Steady = r
		}
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "%-12s %-6s %6d calls in %-9s bound %-9s (%s) ratio %.2f, peak heap %s, %d failed\n",
				sc, kind, r.Calls(), round(r.Wall), round(r.Bound), r.BoundBy, r.Ratio(), mib(r.Heap.Peak), r.Outcome.Failed)
		}
	}
	if opts.Verify {
		if res.Verify, err = measureVerify(ctx, em, sc, opts); err != nil {
			return nil, fmt.Errorf("bench: %s, verify: %w", sc, err)
		}
	}
	return res, nil
}

// RunAll measures every scenario, one after the other.
func RunAll(ctx context.Context, scenarios []Scenario, opts Options) ([]*Result, error) {
	var out []*Result
	for _, sc := range scenarios {
		r, err := Measure(ctx, sc, opts)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func measureRun(ctx context.Context, em *Emulators, sc Scenario, opts Options, kind string) (Run, error) {
	// A new engine, clients and transports per run, as each run of the
	// CronJob or of the function starts afresh.
	e, err := newEngine(ctx, em, sc, opts)
	if err != nil {
		return Run{}, err
	}
	if err := em.Reset(ctx); err != nil {
		return Run{}, err
	}
	heap := sampleHeap()
	cpu := processCPU()
	start := time.Now()
	// Sync is Plan then Apply; they are called apart to time the plan.
	var rep *quaymirror.Report
	plan, err := e.Plan(ctx)
	planned := time.Since(start)
	if err == nil {
		rep, err = e.Apply(ctx, plan)
	}
	plan = nil
	wall := time.Since(start)
	cpu = processCPU() - cpu
	h := heap.Stop()
	if err != nil {
		return Run{}, err
	}
	r := Run{Kind: kind, Wall: wall, PlanWall: planned, Engine: rep.Calls, Outcome: rep.Counts, Heap: h, CPU: cpu}
	if r.Source, r.Destination, r.EmulatorsCPU, err = em.Counts(ctx); err != nil {
		return Run{}, err
	}
	if errs := rep.Errors(); len(errs) > 0 {
		r.FirstError = errs[0].Error()
	}
	r.Bound, r.BoundBy = bound(sc, opts.latency(), opts.burst(), r)
	return r, nil
}

// newEngine builds the engine exactly as `quaymirror sync` does, from the
// configuration the demo environment gives plus the scenario's settings.
func newEngine(ctx context.Context, em *Emulators, sc Scenario, opts Options) (*quaymirror.Engine, error) {
	env := &demo.Env{Source: &demo.Registry{URL: em.SourceURL}, Destination: &demo.Registry{URL: em.DestinationURL}, Orgs: []string{Org}}
	environ := env.Environ(
		"CONCURRENCY="+strconv.Itoa(sc.Concurrency),
		"QPS="+strconv.FormatFloat(sc.QPS, 'g', -1, 64),
		"BURST="+strconv.Itoa(opts.burst()),
		"SYNC_NOW="+strconv.FormatBool(!opts.SkipSyncNow),
	)
	cfg, err := config.Parse(ctx, config.MapLookuper(environ))
	if err != nil {
		return nil, err
	}
	r, err := config.Resolve(cfg, config.NeedSync)
	if err != nil {
		return nil, err
	}
	run, err := wiring.New(r, nil)
	if err != nil {
		return nil, err
	}
	return run.Engine(ctx, wiring.Orgs(r)[0])
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }
