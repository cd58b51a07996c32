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
	"github.com/quaymirror/quaymirror/runner"
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
	// HeapProfile, when set, is the prefix of a heap profile written at
	// the end of each run, while its report is still held.
	HeapProfile string
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
	// once on the empty destination and left out of the first and
	// steady runs.
	Preflight Side `json:"preflight"`
	// First is the run that creates every repository (not measured for a
	// Mirrored scenario); Steady the run that follows and finds nothing
	// to do, checking every mirror (--full); Tick an incremental tick as
	// the function or an hourly CronJob runs it: the preflight, then the
	// sync of the largest slice of the automatic K.
	First  Run `json:"first"`
	Steady Run `json:"steady"`
	Tick   Run `json:"tick"`
	// Verify is the verify measured after the steady run (Options.Verify),
	// of Tags tags per repository.
	Verify *Run `json:"verify,omitempty"`
	Tags   int  `json:"tags,omitempty"`
	// Coverage is K consecutive ticks, for a scenario with Ticks.
	Coverage *Coverage `json:"coverage,omitempty"`
}

// Runs are the runs measured, in order: first (unless Mirrored), steady,
// tick, and verify if measured.
func (r *Result) Runs() []Run {
	out := []Run{r.First, r.Steady, r.Tick}
	if r.Mirrored {
		out = out[1:]
	}
	if r.Verify != nil {
		out = append(out, *r.Verify)
	}
	return out
}

// Coverage is what K consecutive incremental ticks did after a repository
// was added at the source and a mirror changed by hand. They run without
// a rate limit: what they show is which tick does what, not how fast.
type Coverage struct {
	// K is the number of slices, hence of ticks run.
	K int `json:"k"`
	// Mirrors is the existing mirrors; Checked how many of them were
	// read over the K ticks, Repeated how many more than once.
	Mirrors  int `json:"mirrors"`
	Checked  int `json:"checked"`
	Repeated int `json:"repeated"`
	// MostCalls is the most requests of one tick.
	MostCalls int `json:"most_calls"`
	// Added is the repository added at the source, CreatedAt the tick
	// (from 1) that created it, 0 if none did.
	Added     string `json:"added"`
	CreatedAt int    `json:"created_at_tick"`
	// Drifted is the mirror changed by hand, in the slice of the last
	// tick; RepairedAt the tick that repaired it (0 if none), and
	// UncheckedBefore whether every tick before reported it unchecked
	// and left it alone.
	Drifted         string `json:"drifted"`
	RepairedAt      int    `json:"repaired_at_tick"`
	UncheckedBefore bool   `json:"unchecked_before"`
	// Wall is the time of the K ticks.
	Wall time.Duration `json:"wall_ns"`
	// Changed lists the ticks whose K was not K: the repository added
	// took the organisation over a step of SlicesFor.
	Changed []string `json:"k_changed,omitempty"`
}

// Side is what the two emulators saw.
type Side struct {
	Source      Counts `json:"source"`
	Destination Counts `json:"destination"`
}

// Run is one measured Sync (and for a tick, its preflight).
type Run struct {
	Kind string        `json:"kind"`
	Wall time.Duration `json:"wall_ns"`
	// Listed is the part of Wall until both listings were complete (the
	// new repositories are being created meanwhile).
	Listed time.Duration `json:"listed_ns"`
	// Slice, Slices and Checked are the report's: the slice of existing
	// mirrors read, and how many were.
	Slice   int `json:"slice"`
	Slices  int `json:"slices"`
	Checked int `json:"checked"`
	Side
	// Engine is what the engine counted in its sync (the emulators'
	// counts also hold the client's own requests, such as its one
	// discovery read, and a tick's preflight).
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
//
// For a tick whose K is automatic (Slices > 1), the mirrors of its slice
// are read once both listings are complete (K depends on their number),
// so the latency term is the longer listing's pages x latency plus the
// other calls x latency / concurrency.
func bound(sc Scenario, latency time.Duration, burst int, r Run) (time.Duration, string) {
	by := "latency"
	b := time.Duration(int64(r.Calls()) * int64(latency) / int64(sc.Concurrency))
	if r.Kind == "tick" && r.Slices > 1 {
		src, dst := r.Pages()
		rest := max(0, r.Calls()-src-dst)
		b = time.Duration(max(src, dst))*latency + time.Duration(int64(rest)*int64(latency)/int64(sc.Concurrency))
		by = "listing+"
	}
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
// (unless the scenario is Mirrored), a steady-state run checking every
// mirror, and one incremental tick; with Ticks, K ticks after changes
// (Coverage). Repositories that fail are counted (Failed), not errors:
// against an emulated rate limit they are a result.
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
	e, err := newEngine(ctx, em, sc.Concurrency, sc.QPS, opts, quaymirror.Checks{Slices: 1})
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

	if sc.Mirrored {
		// What a first run leaves, made as fast as the machine allows.
		e, err := newEngine(ctx, em, 32, 0, opts, quaymirror.Checks{Slices: 1})
		if err != nil {
			return nil, err
		}
		rep, err := e.Sync(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: %s, mirroring the destination: %w", sc, err)
		}
		if rep.Created != sc.Repos {
			return nil, fmt.Errorf("bench: %s, mirroring the destination: %+v", sc, rep.Counts)
		}
	}
	full := quaymirror.Checks{Slices: 1}
	tick := quaymirror.Checks{Tick: int64(largestSlice(sc.Repos))}
	for _, kind := range []string{"first", "steady", "tick"} {
		if kind == "first" && sc.Mirrored {
			continue
		}
		checks := full
		if kind == "tick" {
			checks = tick
		}
		r, err := measureRun(ctx, em, sc, opts, kind, checks)
		if err != nil {
			return nil, fmt.Errorf("bench: %s, %s run: %w", sc, kind, err)
		}
		switch kind {
		case "first":
			res.First = r
		case "steady":
			res.Steady = r
		default:
			res.Tick = r
		}
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "%-12s %-6s %6d calls in %-9s bound %-9s (%s) ratio %.2f, peak heap %s, %d failed\n",
				sc, kind, r.Calls(), round(r.Wall), round(r.Bound), r.BoundBy, r.Ratio(), mib(r.Heap.Peak), r.Outcome.Failed)
		}
	}
	if sc.Ticks {
		if res.Coverage, err = measureCoverage(ctx, em, sc, opts); err != nil {
			return nil, fmt.Errorf("bench: %s, ticks: %w", sc, err)
		}
		if opts.Progress != nil {
			c := res.Coverage
			fmt.Fprintf(opts.Progress, "%-12s %d ticks: %d of %d mirrors read (%d twice), added created on tick %d, drift repaired on tick %d\n",
				sc, c.K, c.Checked, c.Mirrors, c.Repeated, c.CreatedAt, c.RepairedAt)
		}
	}
	if opts.Verify {
		if res.Verify, err = measureVerify(ctx, em, sc, opts); err != nil {
			return nil, fmt.Errorf("bench: %s, verify: %w", sc, err)
		}
	}
	return res, nil
}

// names are the repositories of a scenario, as the emulators seed them.
func names(repos int) []string {
	out := make([]string, repos)
	for i, r := range demo.Repositories(Org, "repo", repos) {
		out[i] = r.Name
	}
	return out
}

// largestSlice is the slice of the automatic K with the most of the
// scenario's repositories: its tick is the one measured, the worst case.
func largestSlice(repos int) int {
	k := quaymirror.SlicesFor(repos, 0)
	sizes := make([]int, k)
	for _, name := range names(repos) {
		sizes[quaymirror.SliceOf(name, k)]++
	}
	best := 0
	for i, n := range sizes {
		if n > sizes[best] {
			best = i
		}
	}
	return best
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

// measureRun measures one Sync with the given checks; a tick's preflight
// is part of it.
func measureRun(ctx context.Context, em *Emulators, sc Scenario, opts Options, kind string, checks quaymirror.Checks) (Run, error) {
	// A new engine, clients and transports per run, as each run of the
	// CronJob or of the function starts afresh.
	var start time.Time
	var listed time.Duration
	checks.Decide = func(l quaymirror.Listing) quaymirror.Slice {
		listed = time.Since(start)
		return l.Slice
	}
	e, err := newEngine(ctx, em, sc.Concurrency, sc.QPS, opts, checks)
	if err != nil {
		return Run{}, err
	}
	if err := em.Reset(ctx); err != nil {
		return Run{}, err
	}
	heap := sampleHeap()
	cpu := processCPU()
	start = time.Now()
	if kind == "tick" {
		list, err := e.Preflight(ctx)
		if err == nil {
			err = list.Err()
		}
		if err != nil {
			heap.Stop()
			return Run{}, fmt.Errorf("preflight: %w", err)
		}
	}
	rep, err := e.Sync(ctx)
	wall := time.Since(start)
	cpu = processCPU() - cpu
	h := heap.Stop()
	if err != nil {
		return Run{}, err
	}
	if opts.HeapProfile != "" {
		if err := writeHeapProfile(fmt.Sprintf("%s-%s-%s", opts.HeapProfile, strings.ReplaceAll(sc.String(), "/", "-"), kind)); err != nil {
			return Run{}, err
		}
		runtime.KeepAlive(rep)
	}
	r := Run{Kind: kind, Wall: wall, Listed: listed, Slice: rep.Slice, Slices: rep.Slices, Checked: rep.Checked,
		Engine: rep.Calls, Outcome: rep.Counts, Heap: h, CPU: cpu}
	if r.Source, r.Destination, r.EmulatorsCPU, err = em.Counts(ctx); err != nil {
		return Run{}, err
	}
	if errs := rep.Errors(); len(errs) > 0 {
		r.FirstError = errs[0].Error()
	}
	r.Bound, r.BoundBy = bound(sc, opts.latency(), opts.burst(), r)
	return r, nil
}

// measureCoverage adds a repository at the source, changes by hand a
// mirror of the last tick's slice, and runs K consecutive ticks from
// slice 0, without a rate limit.
func measureCoverage(ctx context.Context, em *Emulators, sc Scenario, opts Options) (*Coverage, error) {
	all := names(sc.Repos)
	k := quaymirror.SlicesFor(sc.Repos, 0)
	c := &Coverage{K: k, Mirrors: sc.Repos, Added: "added-at-the-source", UncheckedBefore: true}
	for _, name := range all {
		if quaymirror.SliceOf(name, k) == k-1 {
			c.Drifted = name
			break
		}
	}
	if err := em.AddSource(ctx, c.Added); err != nil {
		return nil, err
	}
	if err := em.Drift(ctx, c.Drifted); err != nil {
		return nil, err
	}
	existing := make(map[string]int, len(all))
	for _, name := range all {
		existing[name] = 0
	}
	start := time.Now()
	for tick := 1; tick <= k; tick++ {
		e, err := newEngine(ctx, em, sc.Concurrency, 0, opts, quaymirror.Checks{Tick: int64(tick - 1)})
		if err != nil {
			return nil, err
		}
		if err := em.Reset(ctx); err != nil {
			return nil, err
		}
		rep, err := e.Sync(ctx)
		if err != nil {
			return nil, err
		}
		if rep.Slices != k {
			// The added repository took the organisation over a step of
			// the automatic K: the slices changed.
			c.Changed = append(c.Changed, fmt.Sprintf("tick %d: slice %d of %d", tick, rep.Slice, rep.Slices))
		}
		src, dst, _, err := em.Counts(ctx)
		if err != nil {
			return nil, err
		}
		c.MostCalls = max(c.MostCalls, src.total()+dst.total())
		for _, r := range rep.Repositories {
			switch {
			case r.Name == c.Added:
				if r.Outcome == quaymirror.OutcomeCreated && c.CreatedAt == 0 {
					c.CreatedAt = tick
				}
				continue
			case r.Name == c.Drifted && c.RepairedAt == 0:
				if r.Outcome == quaymirror.OutcomeUpdated {
					c.RepairedAt = tick
				} else if r.Action != quaymirror.ActionUnchecked {
					c.UncheckedBefore = false
				}
			}
			if r.Action != quaymirror.ActionUnchecked {
				if _, ok := existing[r.Name]; ok {
					existing[r.Name]++
				}
			}
		}
	}
	c.Wall = time.Since(start)
	for _, n := range existing {
		if n > 0 {
			c.Checked++
		}
		if n > 1 {
			c.Repeated++
		}
	}
	return c, nil
}

// newEngine builds the engine exactly as `quaymirror sync` does, from the
// configuration the demo environment gives plus the scenario's settings,
// with the given checks (what --full, --tick and FULL_CHECK_EVERY set).
func newEngine(ctx context.Context, em *Emulators, concurrency int, qps float64, opts Options, checks quaymirror.Checks) (*quaymirror.Engine, error) {
	env := &demo.Env{Source: &demo.Registry{URL: em.SourceURL}, Destination: &demo.Registry{URL: em.DestinationURL}, Orgs: []string{Org}}
	environ := env.Environ(
		"CONCURRENCY="+strconv.Itoa(concurrency),
		"QPS="+strconv.FormatFloat(qps, 'g', -1, 64),
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
	run, err := wiring.New(r, nil, runner.WithEngineOptions(quaymirror.WithChecks(checks)))
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
