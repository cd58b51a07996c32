package quaymirror

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is what happened to one repository.
type Outcome string

// Outcomes. A dry run reports the outcome Apply would have.
const (
	OutcomeCreated    Outcome = "created"
	OutcomeConfigured Outcome = "configured"
	OutcomeUpdated    Outcome = "updated"
	OutcomeUnchanged  Outcome = "unchanged"
	OutcomeSkipped    Outcome = "skipped"
	OutcomeOrphaned   Outcome = "orphaned"
	OutcomeFailed     Outcome = "failed"
	// OutcomeUnchecked: an existing mirror outside the run's slice, not
	// read (ActionUnchecked). Nothing is known of it.
	OutcomeUnchecked Outcome = "unchecked"
	// OutcomeNotStarted: Apply stopped (context ended, time budget spent)
	// before this repository was started. The next run picks it up.
	OutcomeNotStarted Outcome = "not_started"
)

// Result is the outcome of one repository.
type Result struct {
	Name    string  `json:"name"`
	Action  Action  `json:"action"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// Changes names the fields written (or that would be written).
	Changes []Field `json:"changes,omitempty"`
	// Diff holds the field-level differences, secrets redacted.
	Diff []Change `json:"diff,omitempty"`
	// Error is the failure, when Outcome is OutcomeFailed.
	Error string `json:"error,omitempty"`
	// Warning reports a problem that did not stop the repository from
	// converging (a refused sync-now, say).
	Warning string `json:"warning,omitempty"`

	err error
}

// Err returns the failure as an error (wrapping the sentinels), or nil.
func (r Result) Err() error { return r.err }

// Counts counts results by outcome.
type Counts struct {
	Created    int `json:"created"`
	Configured int `json:"configured"`
	Updated    int `json:"updated"`
	Unchanged  int `json:"unchanged"`
	Skipped    int `json:"skipped"`
	Orphaned   int `json:"orphaned"`
	Failed     int `json:"failed"`
	NotStarted int `json:"not_started"`
	// Unchecked counts the existing mirrors outside the run's slice.
	Unchecked int `json:"unchecked"`
}

func (c *Counts) add(o Outcome) {
	switch o {
	case OutcomeCreated:
		c.Created++
	case OutcomeConfigured:
		c.Configured++
	case OutcomeUpdated:
		c.Updated++
	case OutcomeUnchanged:
		c.Unchanged++
	case OutcomeSkipped:
		c.Skipped++
	case OutcomeOrphaned:
		c.Orphaned++
	case OutcomeFailed:
		c.Failed++
	case OutcomeNotStarted:
		c.NotStarted++
	case OutcomeUnchecked:
		c.Unchecked++
	}
}

// Report is the result of a run for one organisation pair.
type Report struct {
	Organization            string `json:"organization"`
	DestinationOrganization string `json:"destination_organization"`
	DryRun                  bool   `json:"dry_run"`
	// Interrupted is set when the run stopped before starting every
	// repository; the rest are OutcomeNotStarted.
	Interrupted bool `json:"interrupted"`
	// Slice and Slices say which slice of the existing mirrors the run
	// checked (see WithChecks): slice Slice of Slices, every mirror when
	// Slices is 1. Checked counts the mirror configurations read.
	Slice   int `json:"slice"`
	Slices  int `json:"slices"`
	Checked int `json:"checked"`
	Counts
	// OrganizationError is set when a write met an error about the whole
	// organisation, which stopped its writes (see Apply). The
	// repositories it stopped are failed, "not attempted".
	OrganizationError *OrganizationError `json:"organization_error,omitempty"`
	Repositories      []Result           `json:"repositories"`
	// Calls counts the requests of Plan and Apply together.
	Calls    Calls         `json:"calls"`
	Duration time.Duration `json:"duration_ns"`
}

// OK reports whether nothing failed, nothing was left unstarted and no
// organisation-level error stopped the run.
func (r *Report) OK() bool { return r.Failed == 0 && r.NotStarted == 0 && r.OrganizationError == nil }

// Errors returns the failures, one per failed repository.
func (r *Report) Errors() []error {
	var out []error
	for _, res := range r.Repositories {
		if res.err != nil {
			out = append(out, res.err)
		}
	}
	return out
}

// DryRun turns a plan into the report Apply would produce, writing nothing.
func (p *Plan) DryRun() *Report {
	rep := p.newReport(len(p.Items))
	rep.DryRun = true
	for i := range p.Items {
		rep.add(p.Items[i].result(plannedOutcome(p.Items[i]), nil, ""))
	}
	return rep
}

func (p *Plan) newReport(capacity int) *Report {
	return &Report{
		Organization:            p.SourceNamespace,
		DestinationOrganization: p.DestinationNamespace,
		Slice:                   p.Slice.Index,
		Slices:                  max(p.Slice.Count, 1),
		Checked:                 p.Checked,
		Repositories:            make([]Result, 0, capacity),
		Calls:                   p.Calls,
	}
}

func (r *Report) add(res Result) {
	r.Counts.add(res.Outcome)
	r.Repositories = append(r.Repositories, res)
}

func plannedOutcome(it Item) Outcome {
	switch {
	case it.Err != nil:
		return OutcomeFailed
	case it.notStarted:
		return OutcomeNotStarted
	}
	switch it.Action {
	case ActionCreate:
		return OutcomeCreated
	case ActionConfigure:
		return OutcomeConfigured
	case ActionUpdate:
		return OutcomeUpdated
	case ActionUnchanged:
		return OutcomeUnchanged
	case ActionOrphan:
		return OutcomeOrphaned
	case ActionUnchecked:
		return OutcomeUnchecked
	}
	return OutcomeSkipped
}

func (it Item) result(o Outcome, err error, warning string) Result {
	if err == nil {
		err = it.Err
	}
	res := Result{
		Name: it.Name, Action: it.Action, Outcome: o, Reason: it.Reason,
		Changes: it.fields, Diff: it.Changes, Warning: warning, err: err,
	}
	if err != nil {
		res.Outcome = OutcomeFailed
		res.Error = err.Error()
	}
	return res
}

// Apply carries out a plan made by this engine's Plan and reports what
// happened to every repository. A failure in one repository never stops
// the others.
//
// When ctx ends, Apply starts no new repository; the ones not started are
// reported OutcomeNotStarted and the report is marked Interrupted. The
// writes of a repository that has started are finished under their own
// timeout (WithRepositoryTimeout) even if ctx ends, so that no repository
// is left half-configured by a cancellation.
//
// Writes per repository: create is CreateRepository, CreateMirror (which
// sets the state to MIRROR) and SyncNow unless Policy.SkipSyncNow;
// configure is CreateMirror and SyncNow; update is one UpdateMirror and,
// for a NORMAL repository, ChangeState to MIRROR after it. ChangeState is
// never called before a mirror configuration exists.
//
// An error about the whole organisation (see OrganizationError) stops its
// writes: no repository starts after it (those in flight finish), the
// ones not started are failed, "not attempted", and the report carries
// the error once, with its fix. So that it is met by one repository and
// not by a wave of them, the first repository that needs a new mirror
// configuration is written alone before the others start.
func (e *Engine) Apply(ctx context.Context, plan *Plan) (*Report, error) {
	if plan == nil || plan.engine != e {
		return nil, errors.New("quaymirror: Apply needs a plan made by this engine's Plan")
	}
	start := time.Now()
	c := &counter{}
	results := make([]Result, len(plan.Items))
	started := make([]bool, len(plan.Items))
	total := 0
	for _, it := range plan.Items {
		if writes(it) {
			total++
		}
	}
	done := 0
	progress := func() {
		done++
		e.report(Progress{Phase: "apply", Done: done, Total: total})
	}
	var mu sync.Mutex
	stopped := &stop{}
	run := func(i int, it Item) {
		var res Result
		if oe := stopped.get(); oe != nil {
			res = notAttempted(it, oe)
		} else {
			// Once started, a repository's writes finish even if ctx
			// ends, bounded by the repository timeout.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.repoTimeout)
			res = e.applyItem(rctx, c, it)
			cancel()
			if oe := e.organizationError(res.err, it.Name); oe != nil {
				stopped.set(oe)
			}
		}
		mu.Lock()
		results[i] = res
		progress()
		mu.Unlock()
	}

	first := canary(plan.Items)
	if first >= 0 && ctx.Err() == nil {
		run(first, plan.Items[first])
		started[first] = true
	}
	pool := newPool(ctx, e.concurrency)
	for i, it := range plan.Items {
		switch {
		case i == first:
			continue
		case !writes(it):
			results[i] = it.result(plannedOutcome(it), nil, "")
			started[i] = true
			continue
		case first >= 0 && !started[first]:
			continue // stopped before the canary: none is started
		case stopped.get() != nil:
			run(i, it) // not attempted; no need to wait for a worker
			started[i] = true
			continue
		}
		if !pool.Go(func() { run(i, it) }) {
			break
		}
		started[i] = true
	}
	pool.Wait()

	// The results become the report's, in place: a second copy of them
	// would be the largest allocation of a run over many repositories.
	rep := plan.newReport(0)
	for i, it := range plan.Items {
		switch r := results[i]; {
		case it.notStarted:
			rep.Interrupted = true
		case !started[i]:
			rep.Interrupted = true
			results[i] = it.result(OutcomeNotStarted, nil, "")
		case r.err != nil && writes(it):
			e.logger.Warn("repository failed", "repository", plan.DestinationNamespace+"/"+it.Name, "action", it.Action, "error", r.Error)
		}
		rep.Counts.add(results[i].Outcome)
	}
	rep.Repositories = results
	if oe := stopped.get(); oe != nil {
		rep.OrganizationError = oe
		e.logger.Error("writes to the organization stopped", "organization", oe.Organization, "repository", oe.Repository,
			"reason", oe.Reason, "detail", oe.Detail, "fix", oe.Fix)
	}
	rep.Calls = rep.Calls.Add(c.calls())
	rep.Duration = time.Since(start)
	return rep, nil
}

// writes reports whether applying the item writes anything.
func writes(it Item) bool {
	if it.Err != nil {
		return false
	}
	switch it.Action {
	case ActionCreate, ActionConfigure, ActionUpdate:
		return true
	case ActionOrphan:
		return len(it.fields) > 0
	}
	return false
}

// Sync lists both sides, decides and writes in one pass: what Plan then
// Apply do, with the writes of each repository made as soon as its plan
// is known. A repository missing at the destination is created while the
// source is still being listed (once the destination listing is
// complete, which alone can tell that it is missing); orphans wait for
// both listings. So a first run does not wait for the whole source
// listing before its first write, and a run holds no plan beside its
// report.
//
// The rules are Apply's: a failure in one repository never stops the
// others; once a repository's writes start they finish under their own
// timeout even if ctx ends; an OrganizationError stops the writes (the
// first repository to be written, and the first to get a new mirror
// configuration, are each written alone so that such an error is met
// once, not by a wave of repositories).
//
// When ctx ends, no new repository is started: the ones known but not
// started are reported OutcomeNotStarted and the report is Interrupted.
// The error is ctx's only when it ended before both listings were
// complete (the report then lacks the repositories not yet listed); it is
// the listing's error when a listing failed. In both cases the report
// holds what was done.
func (e *Engine) Sync(ctx context.Context) (*Report, error) {
	start := time.Now()
	p := e.policy
	c := &counter{}
	w := &writer{e: e, ctx: ctx, c: c, gate: newGate()}
	d, err := e.decide(ctx, c, true, w.emit)
	rep := &Report{
		Organization:            p.SourceNamespace,
		DestinationOrganization: p.DestinationNamespace,
		Slice:                   d.slice.Index,
		Slices:                  max(d.slice.Count, 1),
		Checked:                 d.checked,
		Repositories:            w.results.sorted(),
		Interrupted:             w.interrupted.Load() || ctx.Err() != nil,
	}
	for _, r := range rep.Repositories {
		rep.Counts.add(r.Outcome)
	}
	if oe := w.stopped.get(); oe != nil {
		rep.OrganizationError = oe
		e.logger.Error("writes to the organization stopped", "organization", oe.Organization, "repository", oe.Repository,
			"reason", oe.Reason, "detail", oe.Detail, "fix", oe.Fix)
	}
	rep.Calls = c.calls()
	rep.Duration = time.Since(start)
	if err != nil && d.listed && ctx.Err() != nil {
		err = nil // every repository is in the report; the rest were not started
	}
	return rep, err
}

// writer carries out the items of a Sync as they are decided and keeps
// their results.
type writer struct {
	e    *Engine
	ctx  context.Context
	c    *counter
	gate *gate

	stopped stop

	results     results
	interrupted atomic.Bool
}

// emit writes what the item calls for and records its result. It is
// called from the goroutine that decided the item.
func (w *writer) emit(it Item) {
	var res Result
	switch {
	case it.notStarted:
		res = it.result(OutcomeNotStarted, nil, "")
	case !writes(it):
		res = it.result(plannedOutcome(it), nil, "")
	default:
		res = w.write(it)
	}
	if res.Outcome == OutcomeNotStarted {
		w.interrupted.Store(true)
	}
	w.results.add(res)
}

func (w *writer) write(it Item) Result {
	e := w.e
	leave := w.gate.enter(w.gate.claim(it))
	defer leave()
	if oe := w.stopped.get(); oe != nil {
		return notAttempted(it, oe)
	}
	if w.ctx.Err() != nil {
		return it.result(OutcomeNotStarted, nil, "")
	}
	w.c.started.Add(1)
	// Once started, a repository's writes finish even if ctx ends,
	// bounded by the repository timeout.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), e.repoTimeout)
	res := e.applyItem(rctx, w.c, it)
	cancel()
	if oe := e.organizationError(res.err, it.Name); oe != nil {
		w.stopped.set(oe)
	}
	if res.err != nil {
		e.logger.Warn("repository failed", "repository", e.policy.DestinationNamespace+"/"+it.Name, "action", it.Action, "error", res.Error)
	}
	return res
}

// applyItem performs one repository's writes. On ErrAlreadyExists from a
// create (another writer, or a retried request that had succeeded) it
// reads the repository again and carries out what that state calls for,
// once.
func (e *Engine) applyItem(ctx context.Context, c *counter, it Item) Result {
	ns := e.policy.DestinationNamespace
	out, warning, err := e.write(ctx, c, it)
	if errors.Is(err, ErrAlreadyExists) {
		e.logger.Debug("already exists; re-reading", "repository", ns+"/"+it.Name)
		var again Item
		again, err = e.replan(ctx, c, it)
		if err == nil {
			if !writes(again) {
				return again.result(plannedOutcome(again), nil, "")
			}
			it = again
			out, warning, err = e.write(ctx, c, it)
		}
	}
	if err != nil {
		e.logger.Debug("write failed", "repository", ns+"/"+it.Name, "error", err)
		return it.result(OutcomeFailed, err, "")
	}
	if out == OutcomeSkipped {
		// The repository changed since the plan; warning is the reason.
		it.Action, it.Reason, it.fields, warning = ActionSkip, warning, nil, ""
	}
	e.logger.Info(string(out), "repository", ns+"/"+it.Name)
	return it.result(out, nil, warning)
}

// replan decides again for a repository after a write found it in an
// unexpected state.
func (e *Engine) replan(ctx context.Context, c *counter, it Item) (Item, error) {
	ns := e.policy.DestinationNamespace
	var repo *Repository
	err := e.call(ctx, c, destinationRead, func() (err error) {
		repo, err = e.dst.GetRepository(ctx, ns, it.Name)
		return err
	})
	if err != nil {
		return it, &RepositoryError{Op: "re-read repository", Repository: ns + "/" + it.Name, Err: err}
	}
	again := e.planExisting(ctx, c, it.Name, repo.State)
	again.description, again.public = it.description, it.public
	if again.Err != nil {
		return it, again.Err
	}
	return again, nil
}

// write performs the item's writes in order.
func (e *Engine) write(ctx context.Context, c *counter, it Item) (Outcome, string, error) {
	ns, name := e.policy.DestinationNamespace, it.Name
	wrap := func(op string, err error) error {
		return &RepositoryError{Op: op, Repository: ns + "/" + name, Err: err}
	}
	switch it.Action {
	case ActionCreate:
		repo := Repository{Namespace: ns, Name: name, Description: it.description, Visibility: e.visibility(it.public)}
		if err := e.call(ctx, c, destinationWrite, func() error { return e.dst.CreateRepository(ctx, repo) }); err != nil {
			return "", "", wrap("create repository", err)
		}
		warning, err := e.createMirror(ctx, c, it)
		return OutcomeCreated, warning, err
	case ActionConfigure:
		if reason, err := e.stillEmpty(ctx, c, it); err != nil || reason != "" {
			return OutcomeSkipped, reason, err
		}
		warning, err := e.createMirror(ctx, c, it)
		return OutcomeConfigured, warning, err
	case ActionUpdate, ActionOrphan:
		if it.toState != "" {
			if reason, err := e.stillEmpty(ctx, c, it); err != nil || reason != "" {
				return OutcomeSkipped, reason, err
			}
		}
		if len(it.fields) > 0 {
			if err := e.call(ctx, c, destinationWrite, func() error {
				return e.dst.UpdateMirror(ctx, ns, name, e.withPassword(e.target(it)), it.fields)
			}); err != nil {
				return "", "", wrap("update mirror", err)
			}
		}
		if it.toState != "" {
			// The configuration exists (it was read at plan time), so
			// the repository is never MIRROR without one.
			if err := e.call(ctx, c, destinationWrite, func() error {
				return e.dst.ChangeState(ctx, ns, name, it.toState)
			}); err != nil {
				return "", "", wrap("change state", err)
			}
		}
		if it.Action == ActionOrphan {
			return OutcomeOrphaned, "", nil
		}
		return OutcomeUpdated, "", nil
	}
	return "", "", fmt.Errorf("quaymirror: nothing to write for action %q", it.Action)
}

// stillEmpty reads again a repository that was an empty NORMAL one at
// plan time, right before the write that would make it a mirror: a tag
// pushed since (a large plan takes minutes) must not be deleted by the
// mirror. It returns the reason to skip, or "".
func (e *Engine) stillEmpty(ctx context.Context, c *counter, it Item) (string, error) {
	if !it.recheck {
		return "", nil
	}
	ns := e.policy.DestinationNamespace
	var repo *Repository
	if err := e.call(ctx, c, destinationRead, func() (err error) {
		repo, err = e.dst.GetRepository(ctx, ns, it.Name)
		return err
	}); err != nil {
		return "", &RepositoryError{Op: "re-read repository", Repository: ns + "/" + it.Name, Err: err}
	}
	if n := len(repo.Tags); n > 0 {
		return holdsTags(n) + " (pushed since the plan)", nil
	}
	return "", nil
}

// createMirror creates the configuration with a staggered start date, then
// asks for a first synchronisation.
func (e *Engine) createMirror(ctx context.Context, c *counter, it Item) (string, error) {
	ns, name := e.policy.DestinationNamespace, it.Name
	cfg := e.withPassword(e.target(it))
	cfg.SyncStartDate = StaggeredStart(ns+"/"+name, cfg.SyncInterval, e.now())
	if err := e.call(ctx, c, destinationWrite, func() error { return e.dst.CreateMirror(ctx, ns, name, cfg) }); err != nil {
		return "", &RepositoryError{Op: "create mirror", Repository: ns + "/" + name, Err: err}
	}
	if e.policy.SkipSyncNow {
		return "", nil
	}
	if err := e.call(ctx, c, destinationWrite, func() error { return e.dst.SyncNow(ctx, ns, name) }); err != nil {
		// The mirror is configured and will start at its start date.
		return fmt.Sprintf("sync-now refused (%v); the mirror starts at %s", err, cfg.SyncStartDate.Format(time.RFC3339)), nil
	}
	return "", nil
}

// visibility is the visibility of a new repository whose source is
// public or not.
func (e *Engine) visibility(public bool) Visibility {
	switch e.policy.Visibility {
	case VisibilityPublic:
		return Public
	case VisibilitySource:
		if public {
			return Public
		}
	}
	return Private
}

// gate makes the first repository a Sync writes, and the first that gets
// a new mirror configuration, be written alone: no other write runs
// beside them, so an error about the whole organisation (see
// OrganizationError) is met by one repository and stops the others
// before they start. A role is claimed by a worker when it is about to
// write, holding its place in the pool, never before: a canary waiting
// for a place that writers waiting for the canary hold would wait
// forever.
type gate struct {
	mu            sync.Mutex
	first, mirror bool          // claimed
	firstDone     chan struct{} // closed when the first write is done
	rw            sync.RWMutex  // held for reading by every other write
}

// gateRole is what a repository's writes are to the gate.
type gateRole uint8

const (
	roleFirst  gateRole = iota // the first repository written
	roleMirror                 // the first new mirror configuration, after the first write
	roleOther
)

func newGate() *gate { return &gate{firstDone: make(chan struct{})} }

// claim gives the item its role; the first caller gets roleFirst.
func (g *gate) claim(it Item) gateRole {
	newMirror := it.Action == ActionCreate || it.Action == ActionConfigure
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !g.first:
		g.first, g.mirror = true, newMirror
		return roleFirst
	case !g.mirror && newMirror:
		g.mirror = true
		return roleMirror
	}
	return roleOther
}

// enter waits until a write of the role may run and returns the function
// to call once it is done.
func (g *gate) enter(role gateRole) (leave func()) {
	switch role {
	case roleFirst:
		g.rw.Lock()
		return func() {
			g.rw.Unlock()
			close(g.firstDone)
		}
	case roleMirror:
		<-g.firstDone
		g.rw.Lock() // waits for the writes in flight, holds back new ones
		return g.rw.Unlock
	}
	<-g.firstDone
	g.rw.RLock()
	return g.rw.RUnlock
}
