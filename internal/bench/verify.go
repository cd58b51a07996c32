package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// DefaultTags is the number of tags of each source repository when a
// verify is measured and Options.Tags is not set: latest and a few
// releases.
const DefaultTags = 5

func (o Options) tags() int {
	switch {
	case o.Tags > 0:
		return o.Tags
	case o.Verify:
		return DefaultTags
	}
	return 0
}

// sourceTags returns n tag names: latest, then v1.0.0, v1.0.1, ...
func sourceTags(n int) []string {
	out := make([]string, 0, n)
	if n > 0 {
		out = append(out, "latest")
	}
	for i := 0; len(out) < n; i++ {
		out = append(out, fmt.Sprintf("v1.0.%d", i))
	}
	return out
}

// Routes of a verify.
const (
	routeGetRepo = "GET /api/v1/repository/{repo}"
	routeTagPage = "GET /api/v1/repository/{repo}/tag/"
)

// runMirrors plays the destination's mirror workers: every mirror copies
// the tags of its source, which the mirrors name by the bench's own
// source address.
func (p *pair) runMirrors() error {
	host := strings.TrimPrefix(p.src.url, "http://")
	if n := p.env.Destination.Fake.SyncMirrors(time.Now(), p.env.Source.Fake.ServedAt(host)); n == 0 {
		return errors.New("bench: no mirror to synchronise")
	}
	return nil
}

// measureVerify lets the destination's mirror workers copy every tag,
// then measures Engine.Verify built as `quaymirror verify` builds it (its
// read-only preflight, four calls, is left out as the sync's is). The
// standby is then complete: a verify that finds a tag missing or stale
// means the bench is broken, and is an error.
func measureVerify(ctx context.Context, em *Emulators, sc Scenario, opts Options) (*Run, error) {
	if err := em.RunMirrors(ctx); err != nil {
		return nil, err
	}
	e, err := newEngine(ctx, em, sc.Concurrency, sc.QPS, opts, quaymirror.Checks{Slices: 1})
	if err != nil {
		return nil, err
	}
	if err := em.Reset(ctx); err != nil {
		return nil, err
	}
	heap := sampleHeap()
	cpu := processCPU()
	start := time.Now()
	v, err := e.Verify(ctx)
	wall := time.Since(start)
	cpu = processCPU() - cpu
	h := heap.Stop()
	if err != nil {
		return nil, err
	}
	if v.Missing+v.Stale+v.Pending > 0 || v.RepositoriesChecked != sc.Repos {
		return nil, fmt.Errorf("the mirrors did not copy the source: %d repositories checked, %d missing, %d stale, %d pending",
			v.RepositoriesChecked, v.Missing, v.Stale, v.Pending)
	}
	r := Run{Kind: "verify", Wall: wall, Engine: v.Calls, Heap: h, CPU: cpu}
	r.Outcome.Unchanged = v.RepositoriesChecked - v.Errors
	r.Outcome.Failed = v.Errors
	if r.Source, r.Destination, r.EmulatorsCPU, err = em.Counts(ctx); err != nil {
		return nil, err
	}
	for _, rep := range v.Repositories {
		if rep.Error != "" {
			r.FirstError = rep.Error
			break
		}
	}
	r.Bound, r.BoundBy = bound(sc, opts.latency(), opts.burst(), r)
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "%-12s %-6s %6d calls in %-9s bound %-9s (%s) ratio %.2f, peak heap %s, %d tags compared, %d failed\n",
			sc, r.Kind, r.Calls(), round(r.Wall), round(r.Bound), r.BoundBy, r.Ratio(), mib(r.Heap.Peak), v.TagsChecked, r.Outcome.Failed)
	}
	return &r, nil
}

// tagReads is how many requests listing the tags of one repository of n
// tags takes with the Quay client: the repository read, which shows at
// most 500, then the tag endpoint's pages of 100 from the first.
func tagReads(n int) int {
	if n < 500 {
		return 1
	}
	return 1 + (n+99)/100
}

// verifyGoals checks the verifies measured: reads only, and per
// repository the tag listing of each side and nothing else.
func verifyGoals(results []*Result) []Goal {
	written, worst := 0, ""
	measured := false
	for _, r := range results {
		if r.Verify == nil {
			continue
		}
		measured = true
		written += r.Verify.Writes() + writes(r.Verify.Source)
		want := float64(tagReads(r.Tags))
		for side, c := range map[string]Counts{"source": r.Verify.Source, "destination": r.Verify.Destination} {
			if got := perRepo(c, r.Repos, isRead); got != want && worst == "" {
				worst = fmt.Sprintf("%s %s: %.2f per repository, want %.0f", r.Scenario, side, got, want)
			}
		}
	}
	if !measured {
		return nil
	}
	detail := "as expected in every verify"
	if worst != "" {
		detail = worst
	}
	return []Goal{
		{"verify: reads only", written == 0, fmt.Sprintf("%d writes", written)},
		{"verify: per repository, each side's tag listing and nothing else (one read up to 500 tags)", worst == "", detail},
	}
}

// writeVerifyRoutes prints the calls by route of the verifies, once per
// number of repositories.
func writeVerifyRoutes(w io.Writer, results []*Result) error {
	var done []int
	for _, r := range results {
		if r.Verify == nil || slices.Contains(done, r.Repos) {
			continue
		}
		done = append(done, r.Repos)
		fmt.Fprintf(w, "\nCalls by route of verify, %d repositories of %d tags each (scenario %s):\n", r.Repos, r.Tags, r.Scenario)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "side\troute\tverify\tper repo")
		for _, side := range []string{"source", "destination"} {
			c := r.Verify.Source
			if side == "destination" {
				c = r.Verify.Destination
			}
			for _, route := range slices.Sorted(maps.Keys(c.Requests)) {
				n := c.Requests[route]
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", side, route, n, perRepoString(n, r.Repos))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
