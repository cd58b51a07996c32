package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

// repos are the source repositories of each organisation of the tests.
var repos = map[string][]string{
	"alpha": {"app", "db", "web"},
	"beta":  {"tools"},
}

// world is a source and a destination registry holding both
// organisations, and the backends of a runner over them.
type world struct {
	src, dst *fake.Registry
	// expired names the organisations whose destination token the
	// destination rejects.
	expired map[string]bool
	// broken names the organisations whose backends cannot be opened.
	broken map[string]error
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{src: fake.New(), dst: fake.New(), expired: map[string]bool{}, broken: map[string]error{}}
	for org, names := range repos {
		for _, n := range names {
			must(t, w.src.AddRepository(quaymirror.Repository{Namespace: org, Name: n}))
		}
		must(t, w.dst.AddRobot(org, "mirror"))
	}
	return w
}

// expiredToken is a destination whose token the registry rejects.
type expiredToken struct{ *fake.Registry }

func (expiredToken) CurrentUser(context.Context) (*quaymirror.User, error) {
	return nil, fmt.Errorf("401: the token expired: %w", quaymirror.ErrUnauthorized)
}

func (w *world) backends(_ context.Context, o runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
	if err := w.broken[o.Source]; err != nil {
		return nil, nil, err
	}
	if w.expired[o.Source] {
		return w.src, expiredToken{w.dst}, nil
	}
	return w.src, w.dst, nil
}

func (w *world) runner(t *testing.T, opts ...runner.Option) *runner.Runner {
	t.Helper()
	r, err := runner.New(w.backends, append([]runner.Option{runner.WithRate(0, 0), runner.WithConcurrency(1)}, opts...)...)
	must(t, err)
	t.Cleanup(func() { must(t, r.Close(context.Background())) })
	return r
}

// converged reports whether every source repository of org is a mirror at
// the destination.
func (w *world) converged(org string) bool {
	for _, n := range repos[org] {
		if m, ok := w.dst.Mirror(org, n); !ok || m.Config.ExternalReference != "quay.example.com/"+org+"/"+n {
			return false
		}
	}
	return true
}

func org(name string) runner.Org {
	return runner.Org{Source: name, Policy: quaymirror.Policy{SourceRegistry: "quay.example.com", Robot: name + "+mirror"}}
}

func orgs(names ...string) []runner.Org {
	out := make([]runner.Org, len(names))
	for i, n := range names {
		out[i] = org(n)
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSyncConvergesEveryOrganization(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.runner(t)
	res, err := r.Sync(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeOK || !res.OK() || res.DryRun || res.Interrupted || res.PreflightFailed || len(res.Organizations) != 2 {
		t.Fatalf("result = %+v", res)
	}
	for i, name := range []string{"alpha", "beta"} {
		o := res.Organizations[i]
		if o.Organization != name || o.Outcome != runner.OutcomeOK || o.Created != len(repos[name]) || o.Error != "" || !o.Preflight.OK() || len(o.Preflight) == 0 {
			t.Errorf("%s: %+v", name, o)
		}
		if !w.converged(name) {
			t.Errorf("%s did not converge", name)
		}
	}

	// A plan afterwards finds nothing to do and writes nothing.
	writes := w.dst.Writes()
	res, err = r.Plan(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if !res.DryRun || res.Outcome != runner.OutcomeOK || res.Organizations[0].Unchanged != 3 || w.dst.Writes() != writes {
		t.Errorf("plan = %+v, %d writes", res, w.dst.Writes()-writes)
	}
}

// One organisation's expired token does not stop the other: it is
// reported with its fix, nothing is written to it, the other converges,
// and the run's outcome is preflight_failed.
func TestOnePreflightFailureLeavesTheOthersRunning(t *testing.T) {
	t.Parallel()
	for _, order := range [][]string{{"alpha", "beta"}, {"beta", "alpha"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.expired["beta"] = true
			res, err := w.runner(t).Sync(t.Context(), orgs(order...))
			must(t, err)
			if res.Outcome != runner.OutcomePreflightFailed || !res.PreflightFailed || res.OK() || len(res.Organizations) != 2 {
				t.Fatalf("result = %+v", res)
			}
			for _, o := range res.Organizations {
				switch o.Organization {
				case "alpha":
					if o.Outcome != runner.OutcomeOK || o.Created != 3 || !w.converged("alpha") {
						t.Errorf("alpha = %+v", o)
					}
				case "beta":
					failed := o.Preflight.Failed()
					if o.Outcome != runner.OutcomePreflightFailed || len(failed) != 1 || failed[0].Name != "destination credentials" ||
						failed[0].Fix == "" || !strings.Contains(o.Error, "destination credentials") || o.Created != 0 {
						t.Errorf("beta = %+v, failed checks %+v", o, failed)
					}
				}
			}
			if got := len(w.dst.Repositories("beta")); got != 0 {
				t.Errorf("%d repositories written to beta after its preflight failed", got)
			}
		})
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	t.Run("a failed repository", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.dst.FailOn(fake.OpCreateMirror, "alpha", "db", fmt.Errorf("refused: %w", quaymirror.ErrInvalid))
		res, err := w.runner(t).Sync(t.Context(), orgs("alpha", "beta"))
		must(t, err)
		a, b := res.Organizations[0], res.Organizations[1]
		if res.Outcome != runner.OutcomeFailed || a.Outcome != runner.OutcomeFailed || a.Failed != 1 || a.Created != 2 || b.Outcome != runner.OutcomeOK {
			t.Errorf("result %s: alpha %+v, beta %+v", res.Outcome, a.Counts, b.Counts)
		}
	})
	t.Run("backends that cannot be opened", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.broken["alpha"] = errors.New("no token for alpha")
		res, err := w.runner(t).Sync(t.Context(), orgs("alpha", "beta"))
		must(t, err)
		a, b := res.Organizations[0], res.Organizations[1]
		if res.Outcome != runner.OutcomeFailed || a.Outcome != runner.OutcomeFailed || a.Error != "no token for alpha" || b.Outcome != runner.OutcomeOK || !w.converged("beta") {
			t.Errorf("result %s: alpha %+v, beta %+v", res.Outcome, a, b)
		}
	})
	t.Run("a listing that fails after the preflight", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		var lists atomic.Int32
		w.src.SetHook(func(_ context.Context, op fake.Op, ns, _ string) error {
			// The preflight lists the first page; the plan's listing fails.
			if op == fake.OpListRepositories && ns == "alpha" && lists.Add(1) > 1 {
				return fmt.Errorf("listing: %w", quaymirror.ErrUnavailable)
			}
			return nil
		})
		res, err := w.runner(t).Plan(t.Context(), orgs("alpha", "beta"))
		must(t, err)
		a, b := res.Organizations[0], res.Organizations[1]
		if res.Outcome != runner.OutcomeFailed || a.Outcome != runner.OutcomeFailed || !strings.Contains(a.Error, "listing") ||
			!a.Preflight.OK() || b.Outcome != runner.OutcomeOK {
			t.Errorf("result %s: alpha %+v, beta %s", res.Outcome, a, b.Outcome)
		}
	})
	t.Run("a preflight failure outranks a failed repository", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.expired["beta"] = true
		w.dst.FailOn(fake.OpCreateMirror, "alpha", "db", fmt.Errorf("refused: %w", quaymirror.ErrInvalid))
		res, err := w.runner(t).Sync(t.Context(), orgs("alpha", "beta"))
		must(t, err)
		if res.Outcome != runner.OutcomePreflightFailed || res.Organizations[0].Outcome != runner.OutcomeFailed {
			t.Errorf("result %s, alpha %s", res.Outcome, res.Organizations[0].Outcome)
		}
	})
	t.Run("a panic is the organization's failure", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		r, err := runner.New(func(ctx context.Context, o runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
			if o.Source == "alpha" {
				panic("backend bug")
			}
			return w.backends(ctx, o)
		}, runner.WithRate(0, 0))
		must(t, err)
		res, err := r.Sync(t.Context(), orgs("alpha", "beta"))
		must(t, err)
		if a := res.Organizations[0]; a.Outcome != runner.OutcomeFailed || !strings.Contains(a.Error, "backend bug") || !w.converged("beta") {
			t.Errorf("alpha = %+v", a)
		}
		// The flight of alpha ended: a new run of it does not wait forever.
		if res, err := r.Sync(t.Context(), orgs("alpha")); err != nil || res.Outcome != runner.OutcomeFailed {
			t.Errorf("second run = %+v, %v", res, err)
		}
	})
}

// A panic met by one organisation is that organisation's failure in
// every command, with its event, and the other organisations are run.
func TestEveryCommandIsolatesAPanic(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var mu sync.Mutex
	events := map[runner.Command][]runner.Event{}
	r, err := runner.New(func(ctx context.Context, o runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		if o.Source == "alpha" {
			panic("backend bug")
		}
		return w.backends(ctx, o)
	}, runner.WithRate(0, 0), runner.WithObserver(func(e runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		events[e.Command] = append(events[e.Command], e)
	}))
	must(t, err)
	t.Cleanup(func() { must(t, r.Close(context.Background())) })
	pairs := orgs("alpha", "beta")
	bug := func(msg string) bool { return strings.Contains(msg, "internal error: backend bug") }

	for _, run := range []func() (*runner.Result, error){
		func() (*runner.Result, error) { return r.Plan(t.Context(), pairs) },
		func() (*runner.Result, error) { return r.Sync(t.Context(), pairs) },
	} {
		res, err := run()
		must(t, err)
		if a, b := res.Organizations[0], res.Organizations[1]; a.Outcome != runner.OutcomeFailed || !bug(a.Error) ||
			a.Organization != "alpha" || b.Outcome != runner.OutcomeOK || res.Outcome != runner.OutcomeFailed {
			t.Errorf("dry run %v: alpha %+v, beta %s", res.DryRun, a, b.Outcome)
		}
	}
	if !w.converged("beta") {
		t.Error("beta did not converge")
	}

	check, err := r.Check(t.Context(), pairs)
	must(t, err)
	if a, b := check.Organizations[0], check.Organizations[1]; check.OK || a.Organization != "alpha" || !bug(a.Error) || !b.OK() {
		t.Errorf("check: alpha %+v, beta %+v", a, b)
	}

	health, err := r.Status(t.Context(), pairs, false)
	if err == nil || !strings.Contains(err.Error(), "alpha: internal error: backend bug") || strings.Contains(err.Error(), "beta") ||
		len(health) != 1 || health[0].Organization != "beta" {
		t.Errorf("status: %v, %+v", err, health)
	}

	ver, err := r.Verify(t.Context(), pairs)
	must(t, err)
	if a, b := ver.Organizations[0], ver.Organizations[1]; a.Outcome != runner.OutcomeFailed || !bug(a.Error) ||
		a.Organization != "alpha" || b.Outcome == runner.OutcomeFailed || ver.Outcome != runner.OutcomeFailed {
		t.Errorf("verify: alpha %+v, beta %+v", a, b)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, c := range []runner.Command{runner.CommandPlan, runner.CommandSync, runner.CommandCheck, runner.CommandStatus, runner.CommandVerify} {
		if len(events[c]) != 2 || events[c][0].Org.Source != "alpha" || events[c][1].Org.Source != "beta" {
			t.Errorf("%s: events %+v", c, events[c])
		}
	}
	if e := events[runner.CommandStatus][0]; e.Err == nil || e.Health != nil {
		t.Errorf("status event of alpha: %+v", e)
	}
}

func TestInvalidOrganizations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.runner(t)
	mismatched := org("alpha")
	mismatched.Policy.DestinationNamespace = "beta"
	for name, list := range map[string][]runner.Org{
		"repeated":    orgs("alpha", "alpha"),
		"no source":   {{Policy: org("alpha").Policy}},
		"mismatched":  {mismatched},
		"other names": {{Source: "alpha", Policy: quaymirror.Policy{SourceNamespace: "beta"}}},
	} {
		if _, err := r.Sync(t.Context(), list); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := len(w.dst.Calls()); n != 0 {
		t.Errorf("invalid input caused calls: %v", w.dst.Calls())
	}
}

// When the budget runs out while a repository is being written, that
// repository finishes, no other starts, the next organisation is not
// started, and the result is partial; the next run completes.
func TestBudget(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := runnertest.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	const budget = 10 * time.Minute
	r := w.runner(t, runner.WithBudget(budget), runner.WithClock(clock))
	var once sync.Once
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository {
			once.Do(func() { clock.Advance(budget) })
		}
		return nil
	})
	res, err := r.Sync(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	a, b := res.Organizations[0], res.Organizations[1]
	if res.Outcome != runner.OutcomePartial || !res.Interrupted || res.OK() {
		t.Fatalf("result %s, interrupted %v", res.Outcome, res.Interrupted)
	}
	if a.Outcome != runner.OutcomePartial || a.Created != 1 || a.NotStarted != 2 || a.Failed != 0 {
		t.Errorf("alpha = %s %+v", a.Outcome, a.Counts)
	}
	if b.Outcome != runner.OutcomePartial || b.Error != "not started: the time budget was spent" || w.dst.RepositoryCount("beta") != 0 {
		t.Errorf("beta = %+v", b)
	}

	// The budget is per call: the next one converges.
	w.dst.SetHook(nil)
	res, err = r.Sync(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeOK || !w.converged("alpha") || !w.converged("beta") {
		t.Errorf("next run: %+v", res)
	}
}

// Two calls for the same organisation at once run it once; both get its
// result. A dry run does not join a sync.
func TestConcurrentRunsOfAnOrganizationJoin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	joined := make(chan string, 1)
	r := w.runner(t, runner.WithObserver(func(e runner.Event) {
		if e.Kind == runner.EventJoined {
			joined <- e.Organization
		}
	}))
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	w.src.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCurrentUser && first.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
		return nil
	})
	results := make(chan *runner.Result, 2)
	sync := func() {
		res, err := r.Sync(context.Background(), orgs("alpha"))
		if err != nil {
			t.Error(err)
		}
		results <- res
	}
	go sync()
	<-entered
	go sync()
	if got := <-joined; got != "alpha" {
		t.Errorf("joined %s", got)
	}
	// A plan is not a sync: it runs on its own.
	plan, err := r.Plan(t.Context(), orgs("alpha"))
	must(t, err)
	if !plan.DryRun || plan.Organizations[0].Created != 3 {
		t.Errorf("plan = %+v", plan.Organizations[0].Counts)
	}
	close(release)
	a, b := <-results, <-results
	if a.Organizations[0].Report != b.Organizations[0].Report || a.Organizations[0].Created != 3 {
		t.Errorf("the calls got different runs: %+v, %+v", a.Organizations[0].Counts, b.Organizations[0].Counts)
	}
	if n := w.dst.Calls()[fake.OpCreateRepository]; n != 3 {
		t.Errorf("%d repositories created, want 3", n)
	}
}

// Close interrupts the runs in progress, waits for the repositories in
// flight, and refuses new runs.
func TestClose(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r, err := runner.New(w.backends, runner.WithRate(0, 0), runner.WithConcurrency(1))
	must(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository {
			once.Do(func() { close(entered); <-release })
		}
		return nil
	})
	done := make(chan *runner.Result, 1)
	go func() {
		res, err := r.Sync(context.Background(), orgs("alpha", "beta"))
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- r.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a repository was in flight", err)
	case res := <-done:
		t.Fatalf("the run ended while a repository was in flight: %+v", res)
	case <-time.After(20 * time.Millisecond): // only a chance to catch a bug: either way the test goes on
	}
	close(release)
	must(t, <-closed)
	res := <-done
	if res.Outcome != runner.OutcomePartial || res.Organizations[0].Created != 1 || res.Organizations[1].Error != "not started: the runner was stopped" {
		t.Errorf("result = %+v", res)
	}
	if _, err := r.Sync(t.Context(), orgs("alpha")); !errors.Is(err, runner.ErrClosed) {
		t.Errorf("Sync after Close = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Close(ctx); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCheckIsolatesOrganizations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.expired["alpha"] = true
	w.broken["gamma"] = errors.New("no token for gamma")
	res, err := w.runner(t).Check(t.Context(), orgs("alpha", "beta", "gamma"))
	must(t, err)
	if res.OK || len(res.Organizations) != 3 {
		t.Fatalf("result = %+v", res)
	}
	a, b, g := res.Organizations[0], res.Organizations[1], res.Organizations[2]
	if a.OK() || len(a.Checks.Failed()) != 1 || !b.OK() || len(b.Checks) == 0 || g.OK() || g.Error != "no token for gamma" {
		t.Errorf("checks: alpha %+v, beta %+v, gamma %+v", a, b, g)
	}
	if n := w.dst.Writes(); n != 0 {
		t.Errorf("check wrote %d times", n)
	}
}

func TestStatusIsolatesOrganizations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.runner(t)
	_, err := r.Sync(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	w.broken["alpha"] = errors.New("no token for alpha")
	health, err := r.Status(t.Context(), []runner.Org{{Source: "alpha"}, {Source: "beta"}}, false)
	if err == nil || !strings.Contains(err.Error(), "alpha: no token for alpha") {
		t.Errorf("error = %v", err)
	}
	if len(health) != 1 || health[0].Organization != "beta" || health[0].Mirrors != 1 || !health[0].Healthy() {
		t.Errorf("health = %+v", health)
	}
}

// The engines of every organisation wait on the runner's two limiters:
// with a burst of 6 requests and no refill, 6 destination requests are
// sent in all, although alpha alone needs more and beta has its own
// engine. (The context's deadline makes a wait that cannot end in time
// fail at once, so nothing here waits.)
func TestOrganizationsShareTheRateLimiters(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.runner(t, runner.WithRate(1e-9, 6))
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	res, err := r.Sync(ctx, orgs("alpha", "beta"))
	must(t, err)
	total := 0
	for _, n := range w.dst.Calls() {
		total += n
	}
	if total != 6 {
		t.Errorf("%d destination requests, want the shared burst of 6: %v", total, w.dst.Calls())
	}
	if b := res.Organizations[1]; b.Outcome != runner.OutcomePreflightFailed {
		t.Errorf("beta = %s %+v: its requests should have found the limiter spent", b.Outcome, b.Preflight)
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	all := orgs("alpha", "beta", "gamma")
	got, err := runner.Select(all, "gamma", "alpha", "gamma")
	if err != nil || len(got) != 2 || got[0].Source != "gamma" || got[1].Source != "alpha" || got[1].Policy.Robot != "alpha+mirror" {
		t.Errorf("Select = %+v, %v", got, err)
	}
	if got, err := runner.Select(all); err != nil || len(got) != 3 {
		t.Errorf("Select() = %+v, %v; want every pair", got, err)
	}
	if _, err := runner.Select(all, "alpha", "delta"); err == nil || !strings.Contains(err.Error(), `"delta"`) ||
		!strings.Contains(err.Error(), "alpha, beta, gamma") {
		t.Errorf("unknown name: %v", err)
	}
}

// A run stopped during a preflight (a signal) writes nothing and returns
// a result that says so, every organisation listed, rather than an error.
func TestStoppedDuringThePreflight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpGetOrganization {
			cancel()
		}
		return nil
	})
	res, err := w.runner(t).Sync(ctx, orgs("alpha", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomePartial || !res.Interrupted || len(res.Organizations) != 2 {
		t.Fatalf("result = %+v", res)
	}
	for _, o := range res.Organizations {
		if o.Outcome != runner.OutcomePartial || o.Error == "" || len(o.Repositories) != 0 {
			t.Errorf("%s: %+v", o.Organization, o)
		}
	}
	if res.Organizations[1].Error != "not started: the run was stopped" {
		t.Errorf("beta: %q", res.Organizations[1].Error)
	}
	if n := w.dst.Writes(); n != 0 {
		t.Errorf("%d writes", n)
	}
	// A call with a context already cancelled runs nothing at all.
	res, err = w.runner(t).Sync(ctx, orgs("alpha"))
	if err != nil || res.Outcome != runner.OutcomePartial || w.dst.Writes() != 0 {
		t.Errorf("cancelled call = %+v, %v", res, err)
	}
}

// Every event names its command and its pair and carries the runner's
// clock; the contexts the backends receive carry the command, so that a
// transport under them can count a status' requests apart from a sync's.
func TestEventsAndRequestsCarryTheCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	start := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	clock := runnertest.NewClock(start)
	var mu sync.Mutex
	var events []runner.Event
	seen := map[runner.Command]int{} // fake calls by the command of their context
	w.dst.SetHook(func(ctx context.Context, _ fake.Op, _, _ string) error {
		c, ok := runner.CommandFrom(ctx)
		if !ok {
			t.Error("a destination call without a command in its context")
		}
		mu.Lock()
		seen[c]++
		mu.Unlock()
		return nil
	})
	r := w.runner(t, runner.WithClock(clock), runner.WithObserver(func(e runner.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	pair := runner.Org{Source: "alpha", Destination: "alpha", Policy: org("alpha").Policy}
	steps := []struct {
		cmd  runner.Command
		kind runner.EventKind
		run  func() error
	}{
		{runner.CommandPlan, runner.EventSynced, func() error { _, err := r.Plan(t.Context(), []runner.Org{pair}); return err }},
		{runner.CommandSync, runner.EventSynced, func() error { _, err := r.Sync(t.Context(), []runner.Org{pair}); return err }},
		{runner.CommandCheck, runner.EventChecked, func() error { _, err := r.Check(t.Context(), []runner.Org{pair}); return err }},
		{runner.CommandStatus, runner.EventStatus, func() error { _, err := r.Status(t.Context(), []runner.Org{pair}, false); return err }},
		{runner.CommandVerify, runner.EventVerified, func() error { _, err := r.Verify(t.Context(), []runner.Org{pair}); return err }},
	}
	for i, s := range steps {
		clock.Advance(time.Minute)
		must(t, s.run())
		mu.Lock()
		if len(events) != i+1 {
			t.Fatalf("%s: %d events", s.cmd, len(events))
		}
		e := events[i]
		if e.Kind != s.kind || e.Command != s.cmd || e.Org.Source != "alpha" || e.Org.DestinationOrg() != "alpha" ||
			!e.Time.Equal(start.Add(time.Duration(i+1)*time.Minute)) {
			t.Errorf("%s: event %+v", s.cmd, e)
		}
		if seen[s.cmd] == 0 {
			t.Errorf("%s: no destination call carried the command (%v)", s.cmd, seen)
		}
		mu.Unlock()
	}
	if _, ok := runner.CommandFrom(context.Background()); ok {
		t.Error("a bare context has a command")
	}
}
