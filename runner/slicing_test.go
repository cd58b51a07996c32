package runner_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

// big is an organisation "big" of n repositories, already mirrored.
func big(t *testing.T, n int) (src, dst *fake.Registry, names []string) {
	t.Helper()
	src, dst = fake.New(), fake.New()
	for i := range n {
		names = append(names, fmt.Sprintf("repo-%03d", i))
		must(t, src.AddRepository(quaymirror.Repository{Namespace: "big", Name: names[i]}))
	}
	must(t, dst.AddRobot("big", "mirror"))
	r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		return src, dst, nil
	},
		runner.WithRate(0, 0))
	must(t, err)
	res, err := r.Sync(t.Context(), orgs("big"))
	must(t, err)
	if o := res.Organizations[0]; o.Created != n || o.Slices != 1 {
		t.Fatalf("first run: %+v", o.Report)
	}
	must(t, r.Close(t.Context()))
	dst.ResetCalls()
	return src, dst, names
}

func readsOf(dst *fake.Registry) (take func() map[string]int) {
	var mu sync.Mutex
	got := map[string]int{}
	dst.SetHook(func(_ context.Context, op fake.Op, _, name string) error {
		if op == fake.OpGetMirror {
			mu.Lock()
			got[name]++
			mu.Unlock()
		}
		return nil
	})
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = map[string]int{}
		return out
	}
}

// The tick comes from the runner's clock and TICK_PERIOD: over K ticks of
// a period, every mirror is checked once; --full and --tick override it.
func TestTicksFromTheClock(t *testing.T) {
	t.Parallel()
	src, dst, names := big(t, 90)
	reads := readsOf(dst)
	start := time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC)
	clock := runnertest.NewClock(start)
	newRunner := func(opts ...runner.Option) *runner.Runner {
		r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
			return src, dst, nil
		},
			append([]runner.Option{runner.WithRate(0, 0), runner.WithClock(clock), runner.WithTickPeriod(30 * time.Minute),
				runner.WithFullCheckEvery(4)}, opts...)...)
		must(t, err)
		t.Cleanup(func() { _ = r.Close(context.Background()) })
		return r
	}
	r := newRunner()
	checked := map[string]int{}
	for i := range 4 {
		res, err := r.Sync(t.Context(), orgs("big"))
		must(t, err)
		o := res.Organizations[0]
		got := reads()
		want := quaymirror.TickSlice(quaymirror.TickAt(clock.Now(), 30*time.Minute), 4)
		if o.Outcome != runner.OutcomeOK || o.Slices != 4 || o.Slice != want.Index || o.Checked != len(got) || o.Unchecked != len(names)-len(got) {
			t.Errorf("tick %d: %s, slice %d of %d, %d checked, %d read, counts %+v", i, o.Outcome, o.Slice, o.Slices, o.Checked, len(got), o.Counts)
		}
		for name, n := range got {
			checked[name] += n
		}
		clock.Advance(30 * time.Minute)
	}
	for _, name := range names {
		if checked[name] != 1 {
			t.Errorf("%s read %d times in 4 ticks", name, checked[name])
		}
	}

	// --full reads every mirror; --tick picks the slice whatever the
	// clock says; status slices the same way.
	res, err := newRunner(runner.WithFullCheck()).Sync(t.Context(), orgs("big"))
	must(t, err)
	if o := res.Organizations[0]; o.Slices != 1 || o.Checked != len(names) || len(reads()) != len(names) || o.Unchanged != len(names) {
		t.Errorf("full: slice %d of %d, %d checked", o.Slice, o.Slices, o.Checked)
	}
	res, err = newRunner(runner.WithTick(6)).Plan(t.Context(), orgs("big"))
	must(t, err)
	if o := res.Organizations[0]; o.Slices != 4 || o.Slice != 2 || o.Checked != len(reads()) {
		t.Errorf("--tick 6: slice %d of %d", o.Slice, o.Slices)
	}
	health, err := newRunner(runner.WithTick(7)).Status(t.Context(), orgs("big"), false)
	must(t, err)
	if h := health[0]; h.Slices != 4 || h.Slice != 3 || h.Mirrors != len(names) || h.Checked != len(reads()) || h.Checked == len(names) {
		t.Errorf("status --tick 7: slice %d of %d, %d of %d mirrors read", h.Slice, h.Slices, h.Checked, h.Mirrors)
	}
	health, err = newRunner(runner.WithFullCheck()).Status(t.Context(), orgs("big"), false)
	must(t, err)
	if h := health[0]; h.Slices != 1 || h.Checked != len(names) || len(reads()) != len(names) {
		t.Errorf("status --full: slice %d of %d, %d read", h.Slice, h.Slices, h.Checked)
	}
}

// With a time budget, the runner estimates the run from the listing (its
// round trip, measured on the runner's clock, and the rate limit) before
// the mirrors of the slice are read, and narrows the slice to what fits;
// the next ticks check the rest. A full check is not narrowed but says it
// will not fit. Nothing waits on the wall clock: the destination's listing
// moves the injected clock by a second a page.
func TestEstimateNarrowsTheSliceToTheBudget(t *testing.T) {
	t.Parallel()
	src, dst, names := big(t, 40)
	clock := runnertest.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	read := map[string]bool{}
	dst.SetHook(func(_ context.Context, op fake.Op, _, name string) error {
		switch op {
		case fake.OpListRepositories:
			clock.Advance(time.Second) // a round trip of one second
		case fake.OpGetMirror:
			mu.Lock()
			read[name] = true
			mu.Unlock()
		}
		return nil
	})
	run := func(opts ...runner.Option) runner.OrgResult {
		t.Helper()
		r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
			return src, dst, nil
		},
			append([]runner.Option{runner.WithRate(0, 0), runner.WithConcurrency(1), runner.WithClock(clock)}, opts...)...)
		must(t, err)
		defer func() { must(t, r.Close(context.Background())) }()
		res, err := r.Sync(t.Context(), orgs("big"))
		must(t, err)
		return res.Organizations[0]
	}

	// No budget: an estimate, nothing narrowed: 40 reads at a second
	// each, one at a time.
	o := run()
	if x := o.Estimate; x == nil || x.Requests != 40 || x.Seconds != 40 || x.Narrowed || x.Left != 0 || o.Checked != 40 {
		t.Fatalf("no budget: estimate %+v, %d checked", o.Estimate, o.Checked)
	}

	// 20 s of budget, 1 s spent listing: 17 reads fit in 90% of what is
	// left. The slice (every mirror) is cut in three.
	for tick := range 3 {
		o = run(runner.WithBudget(20*time.Second), runner.WithTick(int64(tick)))
		x := o.Estimate
		if x == nil || !x.Narrowed || x.Offered != quaymirror.Full || x.Left != 19 || x.Requests > 17 || x.Note == "" {
			t.Fatalf("tick %d: estimate %+v", tick, x)
		}
		if o.Outcome != runner.OutcomeOK || o.Slices != 3 || o.Slice != tick || o.Checked != x.Requests || o.Checked+o.Unchecked != len(names) {
			t.Errorf("tick %d: %s, slice %d of %d, %d checked, counts %+v", tick, o.Outcome, o.Slice, o.Slices, o.Checked, o.Counts)
		}
	}
	if len(read) != len(names) {
		t.Errorf("%d of %d mirrors read over the three narrowed ticks", len(read), len(names))
	}

	// A full check is never narrowed; the estimate says it will not fit.
	o = run(runner.WithBudget(20*time.Second), runner.WithFullCheck())
	if x := o.Estimate; x == nil || x.Narrowed || !strings.Contains(x.Note, "never narrowed") || o.Checked != 40 {
		t.Errorf("full check: estimate %+v, %d checked", x, o.Checked)
	}
}
