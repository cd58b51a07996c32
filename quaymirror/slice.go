package quaymirror

import (
	"fmt"
	"hash/fnv"
	"time"
)

// DefaultCheckBudget is how many existing mirrors a run checks when the
// number of slices is automatic (Checks.Slices 0): an organisation of up
// to this many mirrors is checked in full by every run; a larger one is
// cut into slices that keep each within it (SlicesFor). At the default
// rate of 25 requests a second it is 40 seconds of reads; 20,000
// mirrors make 24 slices, so every mirror of an hourly tick is read at
// least once a day.
const DefaultCheckBudget = 1000

// DefaultTickPeriod is the time between two ticks when nothing else is
// said: an hourly PingSource or CronJob.
const DefaultTickPeriod = time.Hour

// TickAt is the tick number of instant t for ticks every period: the
// nearest whole number of periods since the Unix epoch. Rounding, not
// truncating, keeps the ticks of a schedule that fires on the period's
// boundary (an hourly PingSource at minute 0) consecutive even when a run
// starts a moment early. A period below one second counts as one second.
func TickAt(t time.Time, period time.Duration) int64 {
	secs := int64(period / time.Second)
	if secs < 1 {
		secs = 1
	}
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return (u + secs/2) / secs
}

// Slice is the part of an organisation's existing mirrors that a run
// checks: those whose name SliceOf puts at Index among Count slices. A
// Count of 1 (or 0) is every mirror.
type Slice struct {
	Index int `json:"slice"`
	Count int `json:"slices"`
}

// Full is the slice of every mirror.
var Full = Slice{Index: 0, Count: 1}

// TickSlice is the slice that tick checks among count slices: tick modulo
// count. Over count consecutive ticks every slice is checked once.
func TickSlice(tick int64, count int) Slice {
	if count <= 1 {
		return Full
	}
	t := tick % int64(count)
	if t < 0 {
		t += int64(count)
	}
	return Slice{Index: int(t), Count: count}
}

// SliceOf is the slice of a repository among count: FNV-1a (64 bits) of
// its name modulo count. It depends on nothing but the name and count,
// so every run, on any machine, puts a repository in the same slice.
func SliceOf(name string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum64() % uint64(count))
}

// Contains reports whether the slice holds the repository name.
func (s Slice) Contains(name string) bool {
	return s.Count <= 1 || SliceOf(name, s.Count) == s.Index
}

// IsFull reports whether the slice is every mirror.
func (s Slice) IsFull() bool { return s.Count <= 1 }

func (s Slice) String() string {
	if s.IsFull() {
		return "every mirror"
	}
	return fmt.Sprintf("slice %d of %d", s.Index, s.Count)
}

// SlicesFor is the automatic number of slices of mirrors existing
// mirrors for a budget of checks per run: the smallest of 1, 2, 3, 4, 6,
// 8, 12, 16, 24, 32, 48, ... (powers of two and three times powers of
// two) that keeps a slice within budget on average. The steps keep K,
// hence the tick on which each mirror is checked, the same while an
// organisation grows by a few repositories: 16,001 to 24,000 mirrors make
// 24 slices at the default budget. A budget below 1 is
// DefaultCheckBudget.
func SlicesFor(mirrors, budget int) int {
	if budget < 1 {
		budget = DefaultCheckBudget
	}
	need := (mirrors + budget - 1) / budget
	for k := 1; ; k *= 2 {
		switch {
		case k >= need:
			return k
		case k >= 2 && k/2*3 >= need:
			return k / 2 * 3
		}
	}
}

// Checks says which existing mirrors a run reads. A run always lists
// both organisations in full, creates what is missing, configures the
// destination repositories whose listing shows they are not mirrors
// (NORMAL state), and looks for orphans; what it spreads over ticks is
// the one read per existing mirror that drift needs. Each run checks the
// slice TickSlice(Tick, K): over K consecutive ticks, every mirror is
// checked exactly once, and nothing needs to be remembered between runs.
//
// The zero value is the automatic slicing at tick 0; an engine without
// WithChecks checks every mirror.
type Checks struct {
	// Tick is the run's tick number (see TickAt); the slice checked is
	// TickSlice(Tick, K).
	Tick int64
	// Slices is K. 0 chooses it from the number of existing mirrors and
	// Budget (SlicesFor); 1 checks every mirror (a full check).
	Slices int
	// Budget is the most mirrors a run checks when Slices is 0 (default
	// DefaultCheckBudget).
	Budget int
	// Decide, when set, is called once both listings are complete and
	// before any mirror of the slice is read, with what the listings
	// show, and returns the slice to check: the proposed one
	// (Listing.Slice) or a narrower one (Listing.Narrow). A run that
	// checks every mirror because Slices is 1 reads them as they are
	// listed: Decide is then told (Listing.Full) and its answer ignored.
	Decide func(Listing) Slice
}

// WithChecks sets which existing mirrors Plan and Sync read (default:
// every one).
func WithChecks(c Checks) Option {
	return func(e *Engine) error {
		switch {
		case c.Slices < 0:
			return policyErr("Checks", "%d slices is negative", c.Slices)
		case c.Budget < 0:
			return policyErr("Checks", "budget %d is negative", c.Budget)
		case c.Tick < 0:
			return policyErr("Checks", "tick %d is negative", c.Tick)
		}
		e.checks, e.sliced = c, true
		return nil
	}
}

// Listing is what a run knows once both listings are complete, before it
// reads the mirrors of its slice: enough to estimate what the run still
// has to do.
type Listing struct {
	// Source and Destination count the repositories listed at each side.
	Source, Destination int
	// SourcePages and DestinationPages count the listing pages read.
	SourcePages, DestinationPages int
	// Elapsed is the time since the run began: the listings' time,
	// during which their pages were read one after the other.
	Elapsed time.Duration
	// Missing counts the selected source repositories missing at the
	// destination: every run creates them, whatever the slice.
	Missing int
	// Started counts the repositories whose writes have started (new
	// repositories are created as soon as they are known).
	Started int
	// Others counts the existing repositories read whatever the slice:
	// those the listing shows are not mirrors yet (NORMAL state).
	Others int
	// Candidates counts the destination-only repositories in MIRROR
	// state, each read to find orphans.
	Candidates int
	// Mirrors counts the existing mirrors: the repositories at both
	// sides that the destination lists as mirrors (or without a state).
	Mirrors int
	// Tick is the run's tick; Slice the slice proposed for it.
	Tick  int64
	Slice Slice
	// Full is set when every mirror is checked because the run was told
	// so (Checks.Slices 1); the mirrors are then already being read.
	Full bool
	// Calls counts the requests made so far.
	Calls Calls

	mirrors []string
}

// InSlice counts the existing mirrors in s.
func (l Listing) InSlice(s Slice) int {
	if s.IsFull() {
		return l.Mirrors
	}
	n := 0
	for _, name := range l.mirrors {
		if s.Contains(name) {
			n++
		}
	}
	return n
}

// Narrow returns the slice of the run's tick among m times as many
// slices as proposed: a part of the proposed slice, about 1/m of it.
func (l Listing) Narrow(m int) Slice {
	if m <= 1 {
		return l.Slice
	}
	return TickSlice(l.Tick, max(l.Slice.Count, 1)*m)
}

// narrower reports whether s is l.Slice or a part of it.
func (l Listing) narrower(s Slice) bool {
	p := l.Slice
	if p.IsFull() {
		return s.IsFull() || s.Index < s.Count
	}
	return s.Count >= p.Count && s.Count%p.Count == 0 && s.Index >= 0 && s.Index < s.Count && s.Index%p.Count == p.Index
}
