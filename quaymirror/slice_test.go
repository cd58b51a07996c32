package quaymirror_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// mirrored is a world whose n source repositories are already mirrored at
// the destination, as a first run leaves them.
func mirrored(t *testing.T, n int) (world, []string) {
	t.Helper()
	w := newWorld(t)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("repo-%03d", i)
	}
	w.source(t, names...)
	rep, err := w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if rep.Created != n || !rep.OK() {
		t.Fatalf("first run = %+v", rep.Counts)
	}
	w.dst.ResetCalls()
	return w, names
}

// mirrorReads records the repositories whose mirror configuration is
// read at the destination.
type mirrorReads struct {
	mu    sync.Mutex
	names map[string]int
}

func recordMirrorReads(w world) *mirrorReads {
	r := &mirrorReads{names: map[string]int{}}
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, name string) error {
		if op == fake.OpGetMirror {
			r.mu.Lock()
			r.names[name]++
			r.mu.Unlock()
		}
		return nil
	})
	return r
}

func (r *mirrorReads) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.names
	r.names = map[string]int{}
	return out
}

// Over K consecutive ticks every existing mirror is read exactly once,
// whatever the first tick, with K fixed or chosen from the budget; the
// report says which slice each tick checked and marks the others
// unchecked, never unchanged.
func TestEveryMirrorIsCheckedOnceAcrossKTicks(t *testing.T) {
	t.Parallel()
	const n = 230
	for _, tc := range []struct {
		name      string
		checks    quaymirror.Checks
		wantK     int
		firstTick int64
	}{
		{"fixed K", quaymirror.Checks{Slices: 7}, 7, 493_117},
		{"K from the budget", quaymirror.Checks{Budget: 40}, 6, 12}, // 230 mirrors / 40 a run: 5.75
		{"budget above the organisation", quaymirror.Checks{Budget: 500}, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, names := mirrored(t, n)
			reads := recordMirrorReads(w)
			checked := map[string]int{}
			for tick := tc.firstTick; tick < tc.firstTick+int64(tc.wantK); tick++ {
				c := tc.checks
				c.Tick = tick
				rep, err := w.engine(t, basePolicy(), quaymirror.WithChecks(c)).Sync(context.Background())
				must(t, err)
				got := reads.take()
				want := quaymirror.TickSlice(tick, tc.wantK)
				if rep.Slices != tc.wantK || rep.Slice != want.Index || rep.Checked != len(got) {
					t.Errorf("tick %d: slice %d of %d, %d checked; want slice %d of %d, %d checked",
						tick, rep.Slice, rep.Slices, rep.Checked, want.Index, tc.wantK, len(got))
				}
				if rep.Unchanged != len(got) || rep.Unchecked != n-len(got) || rep.Counts.Unchanged+rep.Counts.Unchecked != n || !rep.OK() {
					t.Errorf("tick %d: counts %+v for %d reads", tick, rep.Counts, len(got))
				}
				for _, r := range rep.Repositories {
					inSlice := quaymirror.SliceOf(r.Name, tc.wantK) == want.Index
					switch {
					case inSlice && (r.Action != quaymirror.ActionUnchanged || got[r.Name] != 1):
						t.Errorf("tick %d: %s in the slice: %s, read %d times", tick, r.Name, r.Action, got[r.Name])
					case !inSlice && (r.Action != quaymirror.ActionUnchecked || r.Outcome != quaymirror.OutcomeUnchecked || got[r.Name] != 0):
						t.Errorf("tick %d: %s outside the slice: %s/%s, read %d times", tick, r.Name, r.Action, r.Outcome, got[r.Name])
					}
				}
				for name, k := range got {
					checked[name] += k
				}
				if w.dst.Writes() != 0 {
					t.Fatalf("tick %d wrote: %v", tick, w.dst.Calls())
				}
			}
			for _, name := range names {
				if checked[name] != 1 {
					t.Errorf("%s read %d times over %d ticks, want once", name, checked[name], tc.wantK)
				}
			}
			if len(checked) != n {
				t.Errorf("%d repositories read, want %d", len(checked), n)
			}
		})
	}
}

// Whatever the slice, a run creates what is new at the source, configures
// a destination repository that the listing shows is not a mirror, and
// finds orphans: those need no mirror read of the slice.
func TestWhatEveryTickDoesWhateverTheSlice(t *testing.T) {
	t.Parallel()
	w, _ := mirrored(t, 60)
	w.source(t, "added-at-the-source")
	must(t, w.src.AddRepository(quaymirror.Repository{Namespace: org, Name: "pushed-by-hand"}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "pushed-by-hand", State: quaymirror.StateNormal}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "gone-from-the-source", State: quaymirror.StateMirror}))
	must(t, w.dst.PutMirror(org, "gone-from-the-source", mirrorOf(desired("gone-from-the-source"), quaymirror.SyncSuccess)))
	const k = 10
	for _, name := range []string{"added-at-the-source", "pushed-by-hand", "gone-from-the-source"} {
		// Whichever slice their names fall in, the tick checks another.
		tick := int64(quaymirror.SliceOf(name, k) + 1)
		t.Run(name, func(t *testing.T) {
			rep, err := w.engine(t, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Tick: tick, Slices: k})).Plan(context.Background())
			must(t, err)
			want := map[string]quaymirror.Action{
				"added-at-the-source": quaymirror.ActionCreate, "pushed-by-hand": quaymirror.ActionConfigure, "gone-from-the-source": quaymirror.ActionOrphan,
			}
			for _, it := range rep.Items {
				if a, ok := want[it.Name]; ok && it.Action != a {
					t.Errorf("%s: %s (%s), want %s", it.Name, it.Action, it.Reason, a)
				}
			}
			if rep.Slice.Count != k || rep.Slice.Index == quaymirror.SliceOf(name, k) {
				t.Errorf("slice %+v", rep.Slice)
			}
		})
	}
	// And the sync does it on the next tick, whatever that is.
	rep, err := w.engine(t, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Tick: 4, Slices: k})).Sync(context.Background())
	must(t, err)
	if rep.Created != 1 || rep.Configured != 1 || rep.Orphaned != 1 || !rep.OK() {
		t.Errorf("counts %+v", rep.Counts)
	}
	wantRepoMirrored(t, w, "added-at-the-source")
	wantRepoMirrored(t, w, "pushed-by-hand")
}

// A mirror changed by hand outside the tick's slice is left alone and
// reported unchecked; the tick of its slice repairs it.
func TestDriftOutsideTheSliceWaitsForItsTick(t *testing.T) {
	t.Parallel()
	w, _ := mirrored(t, 40)
	const k, name = 8, "repo-017"
	drifted := desired(name)
	drifted.SyncInterval = 2 * time.Hour
	drifted.TagGlobs = []string{"*"}
	must(t, w.dst.PutMirror(org, name, mirrorOf(drifted, quaymirror.SyncSuccess)))
	its := int64(quaymirror.SliceOf(name, k))
	base := int64(1_000 * k) // a multiple of k: tick base+s checks slice s

	for s := range int64(k) {
		if s == its {
			continue
		}
		rep, err := w.engine(t, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Tick: base + s, Slices: k})).Sync(context.Background())
		must(t, err)
		if r := result(t, rep, name); r.Action != quaymirror.ActionUnchecked || r.Outcome != quaymirror.OutcomeUnchecked {
			t.Errorf("tick %d: %s = %+v, want unchecked", base+s, name, r)
		}
		if m, _ := w.dst.Mirror(org, name); m.Config.SyncInterval != 2*time.Hour || w.dst.Calls()[fake.OpUpdateMirror] != 0 {
			t.Fatalf("tick %d touched the drifted mirror outside its slice", base+s)
		}
	}
	rep, err := w.engine(t, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Tick: base + its, Slices: k})).Sync(context.Background())
	must(t, err)
	if r := result(t, rep, name); r.Action != quaymirror.ActionUpdate || r.Outcome != quaymirror.OutcomeUpdated {
		t.Errorf("its tick: %s = %+v, want updated", name, r)
	}
	if m, _ := w.dst.Mirror(org, name); m.Config.SyncInterval != quaymirror.DefaultSyncInterval || !slices.Equal(m.Config.TagGlobs, desired(name).TagGlobs) {
		t.Errorf("not repaired: %+v", m.Config)
	}
	if n := w.dst.Calls()[fake.OpUpdateMirror]; n != 1 {
		t.Errorf("%d updates, want the one repair", n)
	}
}

// A recreate is spread over the ticks like the checks: each tick re-sends
// the configurations of its slice, and over K ticks every one once.
func TestRecreateIsSpreadOverTheTicks(t *testing.T) {
	t.Parallel()
	w, names := mirrored(t, 50)
	updated := map[string]int{}
	var mu sync.Mutex
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, name string) error {
		if op == fake.OpUpdateMirror {
			mu.Lock()
			updated[name]++
			mu.Unlock()
		}
		return nil
	})
	p := basePolicy()
	p.Recreate = true
	const k = 5
	for tick := range int64(k) {
		before := len(updated)
		rep, err := w.engine(t, p, quaymirror.WithChecks(quaymirror.Checks{Tick: tick, Slices: k})).Sync(context.Background())
		must(t, err)
		mu.Lock()
		sent := len(updated) - before
		mu.Unlock()
		if rep.Updated != sent || rep.Updated+rep.Unchecked != len(names) || rep.Updated == 0 {
			t.Errorf("tick %d: counts %+v, %d re-sent", tick, rep.Counts, sent)
		}
	}
	for _, name := range names {
		if updated[name] != 1 {
			t.Errorf("%s re-sent %d times over %d ticks, want once", name, updated[name], k)
		}
	}
}

// Without WithChecks, and with one slice, every mirror is read: what the
// SDK has always done. Decide may narrow the slice it is offered, not
// widen it, and is only told about a full check.
func TestFullChecksAndNarrowing(t *testing.T) {
	t.Parallel()
	w, names := mirrored(t, 120)
	reads := recordMirrorReads(w)

	for _, opts := range [][]quaymirror.Option{nil, {quaymirror.WithChecks(quaymirror.Checks{Slices: 1, Tick: 7, Decide: func(l quaymirror.Listing) quaymirror.Slice {
		if !l.Full || l.Mirrors != len(names) {
			t.Errorf("listing %+v, want a full check of %d mirrors", l, len(names))
		}
		return l.Narrow(4) // ignored: a full check is never narrowed
	}})}} {
		rep, err := w.engine(t, basePolicy(), opts...).Sync(context.Background())
		must(t, err)
		if got := reads.take(); len(got) != len(names) || rep.Unchanged != len(names) || rep.Slices != 1 || rep.Checked != len(names) {
			t.Errorf("%d read, report %+v slices %d checked %d", len(got), rep.Counts, rep.Slices, rep.Checked)
		}
	}

	var offered quaymirror.Listing
	decide := func(l quaymirror.Listing) quaymirror.Slice {
		offered = l
		return l.Narrow(3)
	}
	rep, err := w.engine(t, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Tick: 22, Slices: 2, Decide: decide})).Sync(context.Background())
	must(t, err)
	got := reads.take()
	want := quaymirror.TickSlice(22, 6)
	if offered.Slice != quaymirror.TickSlice(22, 2) || offered.Mirrors != len(names) || offered.Missing != 0 || offered.Full ||
		offered.Source != len(names) || offered.Destination != len(names) || offered.SourcePages != 2 || offered.DestinationPages != 2 {
		t.Errorf("offered %+v", offered)
	}
	if rep.Slices != 6 || rep.Slice != want.Index || len(got) != offered.InSlice(want) || rep.Checked != len(got) {
		t.Errorf("narrowed: slice %d of %d, %d read, %d in the narrowed slice", rep.Slice, rep.Slices, len(got), offered.InSlice(want))
	}
	for name := range got {
		if !want.Contains(name) {
			t.Errorf("%s read outside the narrowed slice", name)
		}
	}

	// A wider slice than offered is refused: the offered one is checked.
	rep, err = w.engine(t, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Tick: 22, Slices: 2, Decide: func(l quaymirror.Listing) quaymirror.Slice {
		return quaymirror.Full
	}})).Sync(context.Background())
	must(t, err)
	if got := reads.take(); rep.Slices != 2 || len(got) != rep.Checked || len(got) == len(names) {
		t.Errorf("widened: slice %d of %d, %d read", rep.Slice, rep.Slices, len(got))
	}
}

func TestSlices(t *testing.T) {
	t.Parallel()
	if got := quaymirror.SliceOf("repo-017", 8); got != quaymirror.SliceOf("repo-017", 8) || got < 0 || got >= 8 {
		t.Errorf("SliceOf = %d", got)
	}
	// FNV-1a of the name: the slice of a repository never changes with
	// the version, the machine or the run.
	for name, want := range map[string]int{"": 14695981039346656037 % 1000, "a": 12638187200555641996 % 1000} {
		if got := quaymirror.SliceOf(name, 1000); got != want {
			t.Errorf("SliceOf(%q, 1000) = %d, want %d", name, got, want)
		}
	}
	for _, tc := range []struct {
		mirrors, budget, want int
	}{{0, 0, 1}, {1000, 0, 1}, {1001, 0, 2}, {2001, 0, 3}, {3001, 0, 4}, {4001, 0, 6}, {5000, 0, 6}, {16_001, 0, 24},
		{20_000, 0, 24}, {20_001, 1000, 24}, {24_000, 0, 24}, {24_001, 0, 32}, {100_000, 1000, 128}, {10, 3, 4}} {
		if got := quaymirror.SlicesFor(tc.mirrors, tc.budget); got != tc.want {
			t.Errorf("SlicesFor(%d, %d) = %d, want %d", tc.mirrors, tc.budget, got, tc.want)
		}
	}
	// An hourly schedule on the hour: a run a second early or late, or
	// half an hour late, is the same tick; the next hour's is the next.
	hour := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	tick := quaymirror.TickAt(hour, time.Hour)
	for _, d := range []time.Duration{-time.Second, time.Second, 29 * time.Minute, -30 * time.Minute} {
		if got := quaymirror.TickAt(hour.Add(d), time.Hour); got != tick {
			t.Errorf("TickAt(12:00 %+v) = %d, want %d", d, got, tick)
		}
	}
	if got := quaymirror.TickAt(hour.Add(time.Hour-time.Second), time.Hour); got != tick+1 || tick != hour.Unix()/3600 {
		t.Errorf("TickAt(12:59:59) = %d, want %d", got, tick+1)
	}
	if got := quaymirror.TickSlice(-3, 5); got != (quaymirror.Slice{Index: 2, Count: 5}) {
		t.Errorf("TickSlice(-3, 5) = %+v", got)
	}
	// Over K ticks the slices are each taken once.
	seen := map[int]bool{}
	for tick := int64(77); tick < 77+9; tick++ {
		seen[quaymirror.TickSlice(tick, 9).Index] = true
	}
	if len(seen) != 9 {
		t.Errorf("slices over 9 ticks: %v", slices.Sorted(maps.Keys(seen)))
	}
	if _, err := quaymirror.NewEngine(newWorld(t).src, newWorld(t).dst, basePolicy(), quaymirror.WithChecks(quaymirror.Checks{Slices: -1})); err == nil {
		t.Error("negative slices accepted")
	}
}
