package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A verify of the complete standby reads, per repository, each side's
// tags once (the repository read up to 500 tags, then the tag endpoint's
// pages) and writes nothing; with the emulators in a child process too,
// whose mirror workers the control endpoint runs.
func TestVerifyCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		sc    Scenario
		tags  int
		child bool
	}{
		{"few tags", Scenario{Repos: 150, Concurrency: 4}, 0, false},
		{"537 tags", Scenario{Repos: 3, Concurrency: 2}, 537, false},
		{"child process", Scenario{Repos: 40, Concurrency: 8}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{Latency: -1, Verify: true, Tags: tc.tags}
			if tc.child {
				opts.Launcher, opts.Latency = child(), time.Millisecond
			}
			r, err := Measure(t.Context(), tc.sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			v := r.Verify
			tags := tc.tags
			if tags == 0 { // the default
				tags = DefaultTags
			}
			if v == nil || r.Tags != tags || v.Kind != "verify" || v.Outcome.Failed != 0 || v.Outcome.Unchanged != tc.sc.Repos {
				t.Fatalf("verify = %+v (tags %d)", v, r.Tags)
			}
			n := tc.sc.Repos
			pages := (n + 99) / 100
			want := map[string]int{routeList: pages, routeGetRepo: n}
			if tags >= 500 {
				want[routeTagPage] = n * ((tags + 99) / 100)
			}
			assertRoutes(t, "verify, source", v.Source.Requests, want)
			assertRoutes(t, "verify, destination", v.Destination.Requests, want)
			if v.Writes() != 0 || v.Engine.Total() != int64(v.Calls()) || v.Engine.DestinationWrites != 0 {
				t.Errorf("writes %d, engine counted %+v for %d calls", v.Writes(), v.Engine, v.Calls())
			}
			if v.Wall <= 0 || v.Heap.Peak == 0 || (opts.latency() > 0) != (v.Bound > 0) {
				t.Errorf("not measured: %+v", v)
			}
			for _, g := range Goals([]*Result{r}) {
				if strings.HasPrefix(g.Name, "verify") && !g.Met {
					t.Errorf("goal %q not met: %s", g.Name, g.Detail)
				}
			}
		})
	}
}

func TestVerifyGoals(t *testing.T) {
	t.Parallel()
	r := &Result{Scenario: Scenario{Repos: 10, Concurrency: 1}, Tags: 5, Verify: &Run{Kind: "verify", Side: Side{
		Source:      Counts{Requests: map[string]int{routeList: 1, routeGetRepo: 10}},
		Destination: Counts{Requests: map[string]int{routeList: 1, routeGetRepo: 10}},
	}}}
	names := func(gs []Goal) (met, missed []string) {
		for _, g := range gs {
			if g.Met {
				met = append(met, g.Name)
			} else {
				missed = append(missed, g.Name)
			}
		}
		return met, missed
	}
	if met, missed := names(verifyGoals([]*Result{r})); len(met) != 2 || len(missed) != 0 {
		t.Errorf("good verify: met %v, missed %v", met, missed)
	}
	r.Verify.Destination.Requests[routeGetMirror] = 10
	r.Verify.Destination.Requests["PUT /api/v1/repository/{repo}/mirror"] = 1
	if _, missed := names(verifyGoals([]*Result{r})); len(missed) != 2 {
		t.Errorf("a verify that reads mirrors and writes: missed only %v", missed)
	}
	if g := verifyGoals([]*Result{{Scenario: Scenario{Repos: 1, Concurrency: 1}}}); g != nil {
		t.Errorf("goals without a verify: %v", g)
	}
}

func TestBenchVerifyCommand(t *testing.T) {
	t.Parallel()
	code, out, errOut := runBench(t, "--scenarios", "60x4", "--latency", "0", "--in-process", "--verify", "--tags", "3")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"60x4  verify", "Calls by route of verify, 60 repositories of 3 tags each",
		"GET /api/v1/repository/{repo}  60      1.000", "met      verify: reads only"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runBench(t, "--verify", "--tags", "0"); code != 2 || !strings.Contains(errOut, "--tags 0") {
		t.Errorf("--tags 0 = %d %q", code, errOut)
	}
}

func TestSourceTags(t *testing.T) {
	t.Parallel()
	if got := sourceTags(3); !slices.Equal(got, []string{"latest", "v1.0.0", "v1.0.1"}) {
		t.Errorf("sourceTags(3) = %v", got)
	}
	if len(sourceTags(537)) != 537 || len(sourceTags(0)) != 0 {
		t.Error("sourceTags counts wrong")
	}
	for n, want := range map[int]int{1: 1, 499: 1, 500: 6, 537: 7} {
		if got := tagReads(n); got != want {
			t.Errorf("tagReads(%d) = %d, want %d", n, got, want)
		}
	}
}
