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
)

// The goals of issue 7, checked by Goals.
const (
	// GoalRatio: every run within this factor of its bound.
	GoalRatio = 1.3
	// GoalSpeedup: concurrency 32 at least this much faster than
	// concurrency 1, without a rate limit.
	GoalSpeedup = 20
	// GoalHeap: peak heap below this at GoalHeapRepos repositories.
	GoalHeap      = 64 << 20
	GoalHeapRepos = 20_000
)

// Goal is one goal checked against the results.
type Goal struct {
	Name string `json:"name"`
	// Met is false when a measured value misses the goal.
	Met bool `json:"met"`
	// Detail gives the measured values.
	Detail string `json:"detail"`
}

// Goals checks the results against the goals of issue 7. Goals that no
// scenario measures (no concurrency 1 and 32 pair, no scenario of 20,000
// repositories) are left out.
func Goals(results []*Result) []Goal {
	if len(results) == 0 {
		return nil
	}
	var out []Goal

	failed := 0
	for _, r := range results {
		failed += r.First.Outcome.Failed + r.Steady.Outcome.Failed
	}
	out = append(out, Goal{"every repository converges", failed == 0, fmt.Sprintf("%d failed", failed)})

	// Steady state: zero writes, one destination read per repository
	// besides the listing pages.
	maxWrites, maxReads := 0, 0.0
	for _, r := range results {
		maxWrites = max(maxWrites, r.Steady.Writes())
		maxReads = max(maxReads, perRepo(r.Steady.Destination, r.Repos, isRead))
	}
	out = append(out,
		Goal{"steady state: zero writes", maxWrites == 0, fmt.Sprintf("most writes in a steady run: %d", maxWrites)},
		Goal{"steady state: at most one destination read per repository besides the listing pages", maxReads <= 1,
			fmt.Sprintf("most: %.2f per repository", maxReads)})

	// First run: two writes per new repository plus sync-now, no mirror
	// reads.
	maxFirst, mirrorReads := 0.0, 0
	syncNow := true
	for _, r := range results {
		maxFirst = max(maxFirst, perRepo(r.First.Destination, r.Repos, func(route string) bool { return !isRead(route) }))
		mirrorReads += r.First.Destination.Requests[routeGetMirror]
		syncNow = syncNow && r.SyncNow
	}
	allowed := 2.0
	if syncNow {
		allowed = 3
	}
	out = append(out,
		Goal{"first run: at most two destination writes per new repository, plus one sync-now when enabled", maxFirst <= allowed,
			fmt.Sprintf("most: %.2f per repository", maxFirst)},
		Goal{"first run: no reads of mirror configurations that cannot exist yet", mirrorReads == 0,
			fmt.Sprintf("%s: %d", routeGetMirror, mirrorReads)})

	// Wall time within GoalRatio of the bound.
	var over []string
	worst := 0.0
	for _, r := range results {
		for _, run := range []Run{r.First, r.Steady} {
			worst = max(worst, run.Ratio())
			if run.Ratio() > GoalRatio {
				over = append(over, fmt.Sprintf("%s %s %.2f", r.Scenario, run.Kind, run.Ratio()))
			}
		}
	}
	detail := fmt.Sprintf("worst ratio %.2f", worst)
	if len(over) > 0 {
		detail = "over: " + strings.Join(over, ", ")
	}
	out = append(out, Goal{fmt.Sprintf("wall time within %.1fx of the bound", GoalRatio), len(over) == 0, detail})
	out = append(out, verifyGoals(results)...)

	// Concurrency 32 against 1, same repositories, no rate limit.
	for _, r1 := range results {
		if r1.Concurrency != 1 || r1.QPS != 0 {
			continue
		}
		for _, r32 := range results {
			if r32.Concurrency != 32 || r32.QPS != 0 || r32.Repos != r1.Repos {
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

	// Peak heap.
	for _, r := range results {
		if r.Repos < GoalHeapRepos {
			continue
		}
		peak := max(r.First.Heap.Peak, r.Steady.Heap.Peak)
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
	fmt.Fprintln(tw, "scenario\trun\twall\tplan\tcalls\tsrc reads\tdst reads\tdst writes\tcalls/repo\tbound\tbound by\tratio\tpeak heap\tpeak live\tconns src/dst\tcpu\t429s\tfailed\t")
	for _, r := range results {
		for _, run := range r.runs() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%s\t%s\t%.2f\t%s\t%s\t%d/%d\t%.0f%%\t%d\t%d\t\n",
				r.Scenario, run.Kind, round(run.Wall), round(run.PlanWall), run.Calls(), run.Source.total(), run.DestinationReads(), run.Writes(),
				float64(run.Calls())/float64(r.Repos), round(run.Bound), run.BoundBy, run.Ratio(),
				mib(run.Heap.Peak), mib(run.Heap.PeakLive), run.Source.Connections, run.Destination.Connections, 100*run.CPUUse(),
				run.Rejected(), run.Outcome.Failed)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nScenario REPOSxCONCURRENCY[@QPS]: no @QPS means no rate limit. bound = max(calls x latency / concurrency,\n"+
		"(busier side's calls - burst) / QPS, longer listing's pages x latency); ratio = wall / bound.\n"+
		"conns: TCP connections the emulators accepted. cpu: CPU time of quaymirror and the emulators over the machine's.\n")

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
	same := true
	for _, o := range group[1:] {
		same = same && sameCounts(o.First, r.First) && sameCounts(o.Steady, r.Steady)
	}
	note := "the same in every scenario of this size"
	if !same {
		note = "scenario " + r.Scenario.String() + "; other scenarios of this size differ, see --output json"
	}
	fmt.Fprintf(w, "\nCalls by route, %d repositories (%s):\n", r.Repos, note)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "side\troute\tfirst\tper repo\tsteady\tper repo")
	for _, side := range []string{"source", "destination"} {
		first, steady := r.First.Source, r.Steady.Source
		if side == "destination" {
			first, steady = r.First.Destination, r.Steady.Destination
		}
		routes := slices.Sorted(maps.Keys(first.Requests))
		for route := range steady.Requests {
			if !slices.Contains(routes, route) {
				routes = append(routes, route)
			}
		}
		slices.Sort(routes)
		for _, route := range routes {
			f, s := first.Requests[route], steady.Requests[route]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", side, route, f, perRepoString(f, r.Repos), s, perRepoString(s, r.Repos))
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
