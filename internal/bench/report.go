package bench

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// The goals of issues 7 and 12, checked by Goals.
const (
	// GoalRatio: every run within this factor of its bound.
	GoalRatio = 1.3
	// GoalFirstRatio: every first run within this factor of its bound.
	GoalFirstRatio = 1.15
	// GoalSpeedup: concurrency 32 at least this much faster than
	// concurrency 1, without a rate limit.
	GoalSpeedup = 20
	// GoalHeap: peak heap below this at GoalHeapRepos repositories or
	// more.
	GoalHeap      = 64 << 20
	GoalHeapRepos = 100_000
	// GoalTickRepos repositories at the default rate: one incremental
	// tick, preflight included, within GoalTickCalls requests and
	// GoalTickWall, and every mirror checked within GoalTicks ticks.
	GoalTickRepos = 20_000
	GoalTickCalls = 1500
	GoalTickWall  = 70 * time.Second
	GoalTicks     = 24
)

// Goal is one goal checked against the results.
type Goal struct {
	Name string `json:"name"`
	// Met is false when a measured value misses the goal.
	Met bool `json:"met"`
	// Detail gives the measured values.
	Detail string `json:"detail"`
}

// Goals checks the results against the goals of issues 7 and 12. Goals
// that no scenario measures (no concurrency 1 and 32 pair, no scenario of
// 100,000 repositories, none of 20,000 at the default rate) are left out.
func Goals(results []*Result) []Goal {
	if len(results) == 0 {
		return nil
	}
	var out []Goal

	failed := 0
	for _, r := range results {
		for _, run := range r.Runs() {
			failed += run.Outcome.Failed
		}
	}
	out = append(out, Goal{"every repository converges", failed == 0, fmt.Sprintf("%d failed", failed)})

	// Steady state: zero writes, one destination read per repository
	// besides the listing pages.
	maxWrites, maxReads := 0, 0.0
	for _, r := range results {
		maxWrites = max(maxWrites, r.Steady.Writes(), r.Tick.Writes())
		maxReads = max(maxReads, perRepo(r.Steady.Destination, r.Repos, isRead))
	}
	out = append(out,
		Goal{"steady state and ticks: zero writes", maxWrites == 0, fmt.Sprintf("most writes in a steady run or tick: %d", maxWrites)},
		Goal{"steady state: at most one destination read per repository besides the listing pages", maxReads <= 1,
			fmt.Sprintf("most: %.2f per repository", maxReads)})

	// First run: two writes per new repository plus sync-now, no mirror
	// reads.
	maxFirst, mirrorReads, firsts := 0.0, 0, 0
	syncNow := true
	for _, r := range results {
		if r.Mirrored {
			continue
		}
		firsts++
		maxFirst = max(maxFirst, perRepo(r.First.Destination, r.Repos, func(route string) bool { return !isRead(route) }))
		mirrorReads += r.First.Destination.Requests[routeGetMirror]
		syncNow = syncNow && r.SyncNow
	}
	allowed := 2.0
	if syncNow {
		allowed = 3
	}
	if firsts > 0 {
		out = append(out,
			Goal{"first run: at most two destination writes per new repository, plus one sync-now when enabled", maxFirst <= allowed,
				fmt.Sprintf("most: %.2f per repository", maxFirst)},
			Goal{"first run: no reads of mirror configurations that cannot exist yet", mirrorReads == 0,
				fmt.Sprintf("%s: %d", routeGetMirror, mirrorReads)})
	}

	// Wall time within GoalRatio of the bound; first runs within
	// GoalFirstRatio.
	var over, overFirst []string
	worst, worstFirst := 0.0, 0.0
	for _, r := range results {
		for _, run := range r.Runs() {
			worst = max(worst, run.Ratio())
			if run.Ratio() > GoalRatio {
				over = append(over, fmt.Sprintf("%s %s %.2f", r.Scenario, run.Kind, run.Ratio()))
			}
			if run.Kind == "first" {
				worstFirst = max(worstFirst, run.Ratio())
				if run.Ratio() > GoalFirstRatio {
					overFirst = append(overFirst, fmt.Sprintf("%s %.2f", r.Scenario, run.Ratio()))
				}
			}
		}
	}
	detail := fmt.Sprintf("worst ratio %.2f", worst)
	if len(over) > 0 {
		detail = "over: " + strings.Join(over, ", ")
	}
	out = append(out, Goal{fmt.Sprintf("wall time within %.1fx of the bound", GoalRatio), len(over) == 0, detail})
	if firsts > 0 {
		detail = fmt.Sprintf("worst ratio %.2f", worstFirst)
		if len(overFirst) > 0 {
			detail = "over: " + strings.Join(overFirst, ", ")
		}
		out = append(out, Goal{fmt.Sprintf("first run within %.2fx of the bound", GoalFirstRatio), len(overFirst) == 0, detail})
	}
	out = append(out, verifyGoals(results)...)

	// Concurrency 32 against 1, same repositories, no rate limit.
	for _, r1 := range results {
		if r1.Concurrency != 1 || r1.QPS != 0 || r1.Mirrored {
			continue
		}
		for _, r32 := range results {
			if r32.Concurrency != 32 || r32.QPS != 0 || r32.Repos != r1.Repos || r32.Mirrored {
				continue
			}
			first := float64(r1.First.Wall) / float64(r32.First.Wall)
			steady := float64(r1.Steady.Wall) / float64(r32.Steady.Wall)
			out = append(out, Goal{
				fmt.Sprintf("%d repositories: concurrency 32 at least %dx faster than concurrency 1", r1.Repos, GoalSpeedup),
				min(first, steady) >= GoalSpeedup,
				fmt.Sprintf("first run %.1fx, steady state %.1fx", first, steady)})
			break
		}
	}

	// One tick of 20,000 repositories at the default rate.
	for _, r := range results {
		if r.Repos != GoalTickRepos || r.QPS != quaymirror.DefaultQPS {
			continue
		}
		t := r.Tick
		out = append(out, Goal{
			fmt.Sprintf("%d repositories, steady state at %d requests/s: one tick within %d requests and %s", r.Repos, quaymirror.DefaultQPS, GoalTickCalls, GoalTickWall),
			t.Calls() <= GoalTickCalls && t.Wall <= GoalTickWall,
			fmt.Sprintf("%s: %d requests (preflight included), %s; slice %d of %d, %d mirrors read", r.Scenario, t.Calls(), round(t.Wall), t.Slice, t.Slices, t.Checked)})
	}
	for _, r := range results {
		c := r.Coverage
		if c == nil {
			continue
		}
		out = append(out,
			Goal{fmt.Sprintf("%d repositories: every mirror checked within K ≤ %d ticks", r.Repos, GoalTicks),
				c.K <= GoalTicks && c.Checked == c.Mirrors && c.Repeated == 0 && len(c.Changed) == 0,
				fmt.Sprintf("K = %d: %d of %d mirrors read over %d ticks, %d more than once%s", c.K, c.Checked, c.Mirrors, c.K, c.Repeated,
					strings.TrimSuffix("; K changed: "+strings.Join(c.Changed, ", "), "; K changed: "))},
			Goal{fmt.Sprintf("%d repositories: a repository added at the source is configured by the next tick", r.Repos),
				c.CreatedAt == 1, fmt.Sprintf("created on tick %d", c.CreatedAt)},
			Goal{fmt.Sprintf("%d repositories: a mirror changed by hand is repaired within K ticks, left alone before", r.Repos),
				c.RepairedAt >= 1 && c.RepairedAt <= c.K && c.UncheckedBefore,
				fmt.Sprintf("repaired on tick %d of %d, reported unchecked before: %v", c.RepairedAt, c.K, c.UncheckedBefore)})
	}

	// Peak heap.
	for _, r := range results {
		if r.Repos < GoalHeapRepos {
			continue
		}
		var peak uint64
		for _, run := range r.Runs() {
			peak = max(peak, run.Heap.Peak)
		}
		where := "emulators in a child process"
		if r.InProcess {
			where = "emulators in this process: their heap counts too"
		}
		out = append(out, Goal{fmt.Sprintf("peak heap under %s at %d repositories", mib(GoalHeap), GoalHeapRepos), peak < GoalHeap,
			fmt.Sprintf("%s: %s (%s)", r.Scenario, mib(peak), where)})
	}
	return out
}

// perRepo is the requests of the per-repository routes that match,
// divided by the repositories.
func perRepo(c Counts, repos int, match func(route string) bool) float64 {
	n := 0
	for route, v := range c.Requests {
		if perRepository(route) && match(route) {
			n += v
		}
	}
	return float64(n) / float64(repos)
}

// WriteText prints the results: the setting, one line per run, the calls
// by route, the preflight's calls and the goals.
func WriteText(w io.Writer, results []*Result) error {
	if len(results) == 0 {
		_, err := fmt.Fprintln(w, "no results")
		return err
	}
	r0 := results[0]
	where := "in a child process"
	if r0.InProcess {
		where = "in this process (peak heap includes them)"
	}
	syncNow := "on"
	if !r0.SyncNow {
		syncNow = "off"
	}
	limit := ""
	if r0.ServerLimit > 0 {
		limit = fmt.Sprintf(" Both behind an emulated nginx rate limit of %g requests/s, burst %d (429 beyond).", r0.ServerLimit, r0.ServerBurst)
	}
	fmt.Fprintf(w, "Two emulated Quay registries %s, %s latency per request, burst %d, sync-now %s.%s\n",
		where, r0.Latency, r0.Burst, syncNow, limit)
	fmt.Fprintf(w, "Machine: %s/%s, %d CPUs, %s.\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trun\tchecked\twall\tlisted\tcalls\tsrc reads\tdst reads\tdst writes\tcalls/repo\tbound\tbound by\tratio\tpeak heap\tpeak live\tconns src/dst\tcpu\t429s\tfailed\t")
	for _, r := range results {
		for _, run := range r.Runs() {
			checked := "all"
			if run.Slices > 1 {
				checked = fmt.Sprintf("%d/%d", run.Slice, run.Slices)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%s\t%s\t%.2f\t%s\t%s\t%d/%d\t%.0f%%\t%d\t%d\t\n",
				r.Scenario, run.Kind, checked, round(run.Wall), round(run.Listed), run.Calls(), run.Source.total(), run.DestinationReads(), run.Writes(),
				float64(run.Calls())/float64(r.Repos), round(run.Bound), run.BoundBy, run.Ratio(),
				mib(run.Heap.Peak), mib(run.Heap.PeakLive), run.Source.Connections, run.Destination.Connections, 100*run.CPUUse(),
				run.Rejected(), run.Outcome.Failed)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nScenario REPOSxCONCURRENCY[@QPS][/mirrored][/ticks]: no @QPS means no rate limit; /mirrored: the destination starts\n"+
		"mirrored (no first run). first: every repository new; steady: nothing changed, every mirror read (--full); tick: the\n"+
		"preflight and an incremental sync of the largest slice of the automatic K (checked: slice/K). listed: until both\n"+
		"listings were complete. bound = max(calls x latency / concurrency, (busier side's calls - burst) / QPS, longer\n"+
		"listing's pages x latency); ratio = wall / bound. conns: TCP connections the emulators accepted. cpu: CPU time of\n"+
		"quaymirror and the emulators over the machine's.\n")
	for _, r := range results {
		if c := r.Coverage; c != nil {
			before := "reported unchecked and left alone by the ticks before"
			if !c.UncheckedBefore {
				before = "NOT left alone by the ticks before"
			}
			fmt.Fprintf(w, "\nTicks of %s (K = %d, without a rate limit, %s in all): %d of the %d mirrors read over the %d ticks, %d more than once;\n"+
				"%q, new at the source, created on tick %d; %q, changed by hand (slice %d of %d), %s and repaired on tick %d;\n"+
				"at most %d requests in one tick.\n",
				r.Scenario, c.K, round(c.Wall), c.Checked, c.Mirrors, c.K, c.Repeated, c.Added, c.CreatedAt, c.Drifted, c.K-1, c.K,
				before, c.RepairedAt, c.MostCalls)
			if len(c.Changed) > 0 {
				fmt.Fprintf(w, "K changed: %s.\n", strings.Join(c.Changed, ", "))
			}
		}
	}

	// Calls by route, once per number of repositories, with a note when
	// scenarios of that number differ.
	var sizes []int
	for _, r := range results {
		if !slices.Contains(sizes, r.Repos) {
			sizes = append(sizes, r.Repos)
		}
	}
	for _, n := range sizes {
		var group []*Result
		for _, r := range results {
			if r.Repos == n {
				group = append(group, r)
			}
		}
		if err := writeRoutes(w, group); err != nil {
			return err
		}
	}
	if err := writeVerifyRoutes(w, results); err != nil {
		return err
	}

	pre := r0.Preflight
	fmt.Fprintf(w, "\nPreflight (sync runs it once per organisation before planning; not in the runs above): %d source and %d destination calls.\n",
		pre.Source.total(), pre.Destination.total())

	fmt.Fprintf(w, "\nGoals:\n")
	for _, g := range Goals(results) {
		mark := "met"
		if !g.Met {
			mark = "NOT MET"
		}
		fmt.Fprintf(w, "  %-7s  %s: %s\n", mark, g.Name, g.Detail)
	}
	return nil
}

func writeRoutes(w io.Writer, group []*Result) error {
	r := group[0]
	for _, o := range group {
		if !o.Mirrored {
			r = o // one with a first run, if any
			break
		}
	}
	same := true
	for _, o := range group {
		same = same && (o.Mirrored || sameCounts(o.First, r.First)) && sameCounts(o.Steady, r.Steady) && sameCounts(o.Tick, r.Tick)
	}
	note := "the same in every scenario of this size"
	if !same {
		note = "scenario " + r.Scenario.String() + "; other scenarios of this size differ, see --output json"
	}
	fmt.Fprintf(w, "\nCalls by route, %d repositories (%s; the tick's include its preflight):\n", r.Repos, note)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "side\troute\tfirst\tper repo\tsteady\tper repo\ttick\tper repo")
	for _, side := range []string{"source", "destination"} {
		runs := []Counts{r.First.Source, r.Steady.Source, r.Tick.Source}
		if side == "destination" {
			runs = []Counts{r.First.Destination, r.Steady.Destination, r.Tick.Destination}
		}
		var routes []string
		for _, c := range runs {
			for route := range c.Requests {
				if !slices.Contains(routes, route) {
					routes = append(routes, route)
				}
			}
		}
		slices.Sort(routes)
		for _, route := range routes {
			fmt.Fprintf(tw, "%s\t%s", side, route)
			for i, c := range runs {
				n := c.Requests[route]
				if i == 0 && r.Mirrored {
					fmt.Fprintf(tw, "\t-\t-")
					continue
				}
				fmt.Fprintf(tw, "\t%d\t%s", n, perRepoString(n, r.Repos))
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

func perRepoString(n, repos int) string {
	return strconv.FormatFloat(float64(n)/float64(repos), 'f', 3, 64)
}

func sameCounts(a, b Run) bool {
	return maps.Equal(a.Source.Requests, b.Source.Requests) && maps.Equal(a.Destination.Requests, b.Destination.Requests)
}
