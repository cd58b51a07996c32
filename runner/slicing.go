package runner

import (
	"fmt"
	"math"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// slicing is how a runner spreads the checks of existing mirrors over
// ticks (see quaymirror.Checks).
type slicing struct {
	period    time.Duration
	every     int // K; 0 automatic
	budget    int // checks per tick when automatic; 0 the engine's default
	full      bool
	tick      int64
	fixedTick bool
}

// tick is the tick number of a run starting now.
func (r *Runner) tick() int64 {
	if r.slicing.fixedTick {
		return r.slicing.tick
	}
	return quaymirror.TickAt(r.clock.Now(), r.slicing.period)
}

// checks are the engine's checks for a run of the current tick; decide,
// when set, may narrow its slice.
func (r *Runner) checks(decide func(quaymirror.Listing) quaymirror.Slice) quaymirror.Checks {
	c := quaymirror.Checks{Tick: r.tick(), Slices: r.slicing.every, Budget: r.slicing.budget, Decide: decide}
	if r.slicing.full {
		c.Slices = 1
	}
	return c
}

// Estimate is the runner's forecast of what an organisation's run still
// has to do, made once both listings are complete and before the mirrors
// of its slice are read. When a time budget is set (WithBudget) and the
// slice would not fit in the time left, the runner narrows it: the run
// then checks a part of its tick's slice, and the rest waits for the
// slice's next tick. A full check (WithFullCheck) is never narrowed.
type Estimate struct {
	// Requests is what the run still needs: the reads of its slice, of
	// the repositories the listing shows are not mirrors and of the
	// orphan candidates, and the writes of the repositories to create.
	Requests int `json:"requests"`
	// Seconds is their time at the destination's rate limit and at the
	// round trip the listings showed, with the engine's concurrency.
	Seconds float64 `json:"seconds"`
	// Left is the time left in the budget, in seconds (0 without one).
	Left float64 `json:"budget_left_seconds,omitempty"`
	// Offered is the slice of the tick; Narrowed is set when the run
	// checks only a part of it (the report's slice and slices).
	Offered  quaymirror.Slice `json:"offered"`
	Narrowed bool             `json:"narrowed"`
	// Note says what the estimate changed, or what will not fit.
	Note string `json:"note,omitempty"`
}

// estimator decides the slice of one organisation's run from its
// listing.
type estimator struct {
	r        *Runner
	policy   quaymirror.Policy
	deadline time.Time // zero: no budget
	full     bool
	result   *Estimate
}

// safety is the share of the time left that the estimate plans to fill:
// the rest absorbs what the estimate cannot see (slower answers, retries).
const safety = 0.9

// decide is the engine's Checks.Decide.
func (x *estimator) decide(l quaymirror.Listing) quaymirror.Slice {
	est := &Estimate{Offered: l.Slice}
	x.result = est
	fixed := x.fixed(l)
	need := func(s quaymirror.Slice) int { return fixed + l.InSlice(s) }
	est.Requests = need(l.Slice)
	est.Seconds = x.seconds(l, est.Requests).Seconds()
	if x.deadline.IsZero() {
		return l.Slice
	}
	left := x.deadline.Sub(x.r.clock.Now())
	est.Left = math.Max(0, left.Seconds())
	target := time.Duration(float64(left) * safety)
	if x.seconds(l, est.Requests) <= target {
		return l.Slice
	}
	if x.full || l.Full {
		est.Note = fmt.Sprintf("about %d requests (%s) do not fit in the %s left of the time budget; a full check is never narrowed: "+
			"the run stops when the budget is spent and the next runs go on", est.Requests, round(est.Seconds), round(est.Left))
		return l.Slice
	}
	// The smallest narrowing that fits: first from the average share of
	// a slice, then checked against the exact count of its mirrors.
	reads := l.InSlice(l.Slice)
	fit := x.fitting(l, target) - fixed
	// At most as many parts as mirrors in the slice: about one each.
	most := max(2, reads)
	m := most
	if fit > 0 {
		m = min(most, max(2, int(math.Ceil(float64(reads)/float64(fit)))))
	}
	for m < most && x.seconds(l, need(l.Narrow(m))) > target {
		m = min(most, m+max(1, m/4))
	}
	s := l.Narrow(m)
	est.Narrowed = true
	est.Requests = need(s)
	est.Seconds = x.seconds(l, est.Requests).Seconds()
	offered := fmt.Sprintf("all %d mirrors", reads)
	if !l.Slice.IsFull() {
		offered = fmt.Sprintf("the %d mirrors of %s", reads, l.Slice)
	}
	est.Note = fmt.Sprintf("reading %s does not fit in the %s left of the time budget: this run reads %d of them (%s); "+
		"the others wait for the next tick of their slice", offered, round(est.Left), l.InSlice(s), s)
	if fit <= 0 {
		est.Note = fmt.Sprintf("the new, unmirrored and orphaned repositories alone need about %s, more than the %s left of the time budget: "+
			"this run reads %d of %s (%s); it stops when the budget is spent and the next runs go on",
			round(x.seconds(l, fixed).Seconds()), round(est.Left), l.InSlice(s), offered, s)
	}
	return s
}

// fixed is what the run does whatever its slice: the writes of the
// repositories still to create (two, and sync-now), two reads for each
// repository that is not a mirror yet (plus its writes, counted as for a
// new one), and a read per orphan candidate.
func (x *estimator) fixed(l quaymirror.Listing) int {
	perNew := 3
	if x.policy.SkipSyncNow {
		perNew = 2
	}
	return max(0, l.Missing-l.Started)*perNew + l.Others*(2+perNew) + l.Candidates
}

// seconds is the time n more requests to the destination take at its
// rate limit (beyond the tokens left) and at the listings' round trip
// with the engine's concurrency, whichever is longer.
func (x *estimator) seconds(l quaymirror.Listing, n int) time.Duration {
	pages := max(l.SourcePages, l.DestinationPages, 1)
	rtt := l.Elapsed / time.Duration(pages)
	byLatency := time.Duration(int64(n) * int64(rtt) / int64(x.r.concurrency))
	lim := x.r.dstLimiter
	if math.IsInf(float64(lim.Limit()), 1) || lim.Limit() <= 0 {
		return byLatency
	}
	waits := math.Max(0, float64(n)-lim.Tokens())
	byRate := time.Duration(waits / float64(lim.Limit()) * float64(time.Second))
	return max(byLatency, byRate)
}

// fitting is the most requests that fit in d.
func (x *estimator) fitting(l quaymirror.Listing, d time.Duration) int {
	lo, hi := 0, 1
	for x.seconds(l, hi) <= d && hi < 1<<30 {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if x.seconds(l, mid) <= d {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func round(secs float64) time.Duration {
	return time.Duration(secs * float64(time.Second)).Round(time.Second)
}
