package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/registry/quay"
)

// TestMain turns the test binary into the emulators' child when Subprocess
// runs it (see ChildEnv).
func TestMain(m *testing.M) {
	if v, ok := os.LookupEnv(ChildEnv); ok {
		os.Exit(ServeChild(v, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// child runs the emulators in a child process: this test binary.
func child() Launcher { return Subprocess([]string{os.Args[0]}, os.Environ(), os.Stderr) }

func TestParseScenario(t *testing.T) {
	t.Parallel()
	good := map[string]Scenario{
		"5000x32@100":  {5000, 32, 100},
		"5000x8":       {5000, 8, 0},
		" 10x1@0 ":     {10, 1, 0},
		"20000x32@2.5": {20000, 32, 2.5},
	}
	for in, want := range good {
		got, err := ParseScenario(in)
		if err != nil || got != want {
			t.Errorf("ParseScenario(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if s := (Scenario{5000, 32, 100}).String(); s != "5000x32@100" {
		t.Errorf("String = %q", s)
	}
	for _, in := range []string{"", "5000", "x8", "0x8", "5000x0", "5000x257", "5000x8@-1", "5000x8@NaN", "ax8", "5000x8@", "2000000x1"} {
		if _, err := ParseScenario(in); err == nil {
			t.Errorf("ParseScenario(%q) accepted", in)
		}
	}
	list, err := ParseScenarios("100x1, 100x8@50,")
	if err != nil || len(list) != 2 || list[1] != (Scenario{100, 8, 50}) {
		t.Errorf("ParseScenarios = %+v, %v", list, err)
	}
	if _, err := ParseScenarios(" , "); err == nil {
		t.Error("an empty list was accepted")
	}
}

// checkCounts asserts the calls of issue 7 for n repositories listed in
// pages of 100: a first run that creates every repository with two writes
// plus sync-now and reads no mirror, a steady run with one mirror read per
// repository and no write.
func checkCounts(t *testing.T, r *Result, syncNow bool) {
	t.Helper()
	n := r.Repos
	pages := (n + 99) / 100
	first, steady := r.First, r.Steady
	if first.Outcome.Created != n || first.Outcome.Failed != 0 {
		t.Errorf("first run outcome %+v, want %d created", first.Outcome, n)
	}
	if steady.Outcome.Unchanged != n || steady.Outcome.Failed != 0 {
		t.Errorf("steady run outcome %+v, want %d unchanged", steady.Outcome, n)
	}
	want := map[string]int{
		routeCreateRepo:                         n,
		"POST /api/v1/repository/{repo}/mirror": n,
		// The client reads the server's mirror schema once.
		"GET /api/v1/discovery": 1,
		// The destination is empty: one page.
		routeList: 1,
	}
	if syncNow {
		want["POST /api/v1/repository/{repo}/mirror/sync-now"] = n
	}
	assertRoutes(t, "first run, destination", first.Destination.Requests, want)
	assertRoutes(t, "first run, source", first.Source.Requests, map[string]int{routeList: pages})
	assertRoutes(t, "steady run, destination", steady.Destination.Requests, map[string]int{routeList: pages, routeGetMirror: n})
	assertRoutes(t, "steady run, source", steady.Source.Requests, map[string]int{routeList: pages})
	if steady.Writes() != 0 {
		t.Errorf("steady run wrote %d times", steady.Writes())
	}
	// The engine counts what it asks for; the emulators also see the
	// client's discovery read.
	if got, want := first.Engine.Total(), int64(first.Calls()-1); got != want {
		t.Errorf("engine counted %d calls in the first run, emulators %d (minus discovery)", got, want)
	}
	if got := steady.Engine.Total(); got != int64(steady.Calls()) {
		t.Errorf("engine counted %d calls in the steady run, emulators %d", got, steady.Calls())
	}
	for _, run := range []Run{first, steady} {
		if run.Wall <= 0 || (r.Latency > 0) != (run.Bound > 0) || run.Heap.Peak == 0 || run.Destination.Connections == 0 {
			t.Errorf("%s run: wall %v, bound %v, heap %+v, connections %d: not measured", run.Kind, run.Wall, run.Bound, run.Heap, run.Destination.Connections)
		}
	}
}

func assertRoutes(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for route, n := range got {
		if want[route] != n {
			t.Errorf("%s: %s called %d times, want %d", what, route, n, want[route])
		}
	}
	for route, n := range want {
		if _, ok := got[route]; !ok {
			t.Errorf("%s: %s never called, want %d", what, route, n)
		}
	}
}

func TestCallsPerRepository(t *testing.T) {
	t.Parallel()
	for _, syncNow := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync-now=%v", syncNow), func(t *testing.T) {
			t.Parallel()
			r, err := Measure(t.Context(), Scenario{Repos: 250, Concurrency: 4}, Options{Latency: -1, SkipSyncNow: !syncNow})
			if err != nil {
				t.Fatal(err)
			}
			if !r.InProcess || r.SyncNow != syncNow {
				t.Errorf("result %+v", r)
			}
			checkCounts(t, r, syncNow)
			if r.Preflight.Destination.total() == 0 || r.Preflight.Source.total() == 0 {
				t.Errorf("preflight not measured: %+v", r.Preflight)
			}
		})
	}
}

func TestChildProcess(t *testing.T) {
	t.Parallel()
	r, err := Measure(t.Context(), Scenario{Repos: 120, Concurrency: 8, QPS: 1000}, Options{Latency: time.Millisecond, Launcher: child()})
	if err != nil {
		t.Fatal(err)
	}
	if r.InProcess {
		t.Error("the emulators ran in this process")
	}
	checkCounts(t, r, true)
	// The child is the one process serving the emulators, so it sees
	// every connection: the client reuses them. Up to 9 requests are in
	// flight at once (8 workers and the destination listing of the
	// plan), and net/http dials a new connection when a request starts
	// while the previous one's connection is still being handed back to
	// the pool, which a loaded machine makes more likely (CI saw 11). A
	// client that did not keep its connections (Go's default of 2 idle
	// connections per host) would dial for most of the run's hundreds of
	// requests: the bound is far below that, with room for those races.
	const bound = 2*8 + 4
	for _, run := range []Run{r.First, r.Steady} {
		n, requests := run.Destination.Connections, run.Destination.total()
		if n < 1 || n > bound {
			t.Errorf("%s run opened %d connections to the destination for concurrency 8 (at most %d), for %d requests", run.Kind, n, bound, requests)
		}
	}
}

func TestChildFailsCleanly(t *testing.T) {
	t.Parallel()
	em, err := Subprocess([]string{os.Args[0], "-test.run=^$"}, os.Environ(), nil)(t.Context(), EmulatorSpec{Repos: -1})
	if err == nil {
		em.Close()
		t.Fatal("an invalid spec started emulators")
	}
	if !strings.Contains(err.Error(), "invalid emulator spec") {
		t.Errorf("error %q does not say what went wrong", err)
	}
}

func TestServerLimitRefusesBeyondTheBurst(t *testing.T) {
	t.Parallel()
	em, err := InProcess(t.Context(), EmulatorSpec{Repos: 1, Limit: 0.001, LimitBurst: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	var codes []int
	for range 3 {
		resp, err := http.Get(em.SourceURL + "/api/v1/discovery")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("statuses %v, want 200 200 429", codes)
	}
	src, _, _, err := em.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if src.Rejected != 1 || src.total() != 2 {
		t.Errorf("counts %+v: want 1 rejected and 2 requests reaching the emulator", src)
	}
}

func TestBound(t *testing.T) {
	t.Parallel()
	run := func(srcCalls, dstCalls, srcPages, dstPages int) Run {
		return Run{Side: Side{
			Source:      Counts{Requests: map[string]int{routeList: srcPages, "GET /x": srcCalls - srcPages}},
			Destination: Counts{Requests: map[string]int{routeList: dstPages, "GET /y": dstCalls - dstPages}},
		}}
	}
	ms := time.Millisecond
	tests := []struct {
		sc   Scenario
		run  Run
		want time.Duration
		by   string
	}{
		{Scenario{100, 1, 0}, run(1, 100, 1, 1), 101 * 20 * ms, "latency"},
		{Scenario{100, 10, 0}, run(1, 100, 1, 1), 101 * 2 * ms, "latency"},
		// Per side: the destination's 100 calls at 10/s, the first 5 at
		// once.
		{Scenario{100, 10, 10}, run(1, 100, 1, 1), 9500 * ms, "qps"},
		// 50 pages one after the other outlast 51 calls spread over 32.
		{Scenario{5000, 32, 0}, run(50, 1, 50, 1), 50 * 20 * ms, "listing"},
	}
	for _, tt := range tests {
		got, by := bound(tt.sc, 20*ms, 5, tt.run)
		if got != tt.want || by != tt.by {
			t.Errorf("bound(%s) = %v (%s), want %v (%s)", tt.sc, got, by, tt.want, tt.by)
		}
	}
}

func TestGoals(t *testing.T) {
	t.Parallel()
	ok := func(sc Scenario, wall time.Duration) *Result {
		n := sc.Repos
		first := Run{Kind: "first", Wall: wall, Bound: wall, Side: Side{
			Source: Counts{Requests: map[string]int{routeList: 1}},
			Destination: Counts{Requests: map[string]int{routeList: 1, routeCreateRepo: n,
				"POST /api/v1/repository/{repo}/mirror": n, "POST /api/v1/repository/{repo}/mirror/sync-now": n}},
		}}
		steady := Run{Kind: "steady", Wall: wall, Bound: wall, Side: Side{
			Source:      Counts{Requests: map[string]int{routeList: 1}},
			Destination: Counts{Requests: map[string]int{routeList: 1, routeGetMirror: n}},
		}}
		first.Heap.Peak, steady.Heap.Peak = 10<<20, 20<<20
		return &Result{Scenario: sc, SyncNow: true, First: first, Steady: steady}
	}
	met := func(results ...*Result) map[string]bool {
		out := make(map[string]bool)
		for _, g := range Goals(results) {
			out[g.Name] = g.Met
		}
		return out
	}
	c1, c32 := ok(Scenario{20000, 1, 0}, 100*time.Second), ok(Scenario{20000, 32, 0}, 4*time.Second)
	for name, m := range met(c1, c32) {
		if !m {
			t.Errorf("goal %q not met by good results", name)
		}
	}
	if len(met(c1, c32)) != 8 {
		t.Errorf("goals %v: want 8 (with the speedup and the heap)", met(c1, c32))
	}

	bad := ok(Scenario{100, 32, 0}, time.Second)
	bad.Steady.Destination.Requests["PUT /api/v1/repository/{repo}/mirror"] = 1
	bad.Steady.Destination.Requests[routeGetMirror] = 150
	bad.First.Destination.Requests[routeGetMirror] = 1
	bad.First.Destination.Requests["PUT /api/v1/repository/{repo}/changestate"] = 100
	bad.First.Wall = 2 * time.Second
	bad.First.Outcome.Failed = 1
	for name, m := range met(bad) {
		if m {
			t.Errorf("goal %q met by bad results", name)
		}
	}

	slow := ok(Scenario{20000, 32, 0}, 10*time.Second)
	slow.Steady.Heap.Peak = 65 << 20
	got := met(c1, slow)
	for name, m := range got {
		switch {
		case strings.Contains(name, "faster"), strings.Contains(name, "heap"):
			if m {
				t.Errorf("goal %q met: 10x faster, 65 MiB", name)
			}
		case !m:
			t.Errorf("goal %q not met", name)
		}
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	r, err := Measure(t.Context(), Scenario{Repos: 150, Concurrency: 8, QPS: 5000}, Options{Latency: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, []*Result{r}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"150x8@5000", "first", "steady", "ratio", "peak heap",
		"Calls by route, 150 repositories", "POST /api/v1/repository/{repo}/mirror/sync-now  150", "Preflight", "Goals:",
		"met      steady state: zero writes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Flags of the Go benchmarks: go test -bench . ./internal/bench -args
// -bench.repos 5000.
var (
	benchRepos   = flag.Int("bench.repos", 1000, "repositories of BenchmarkSync")
	benchLatency = flag.Duration("bench.latency", DefaultLatency, "injected latency of BenchmarkSync")
	benchQPS     = flag.Float64("bench.qps", 0, "QPS of BenchmarkSync (0: no limit)")
)

// BenchmarkSync measures a first and a steady-state sync with the
// emulators in a child process, at concurrency 1, 8 and 32. Besides the
// time of both runs (ns/op, emulator start included) it reports each
// run's wall time, its ratio to the bound, the calls per repository and
// the peak heap.
func BenchmarkSync(b *testing.B) {
	for _, c := range []int{1, 8, 32} {
		sc := Scenario{Repos: *benchRepos, Concurrency: c, QPS: *benchQPS}
		b.Run(sc.String(), func(b *testing.B) {
			var r *Result
			for b.Loop() {
				var err error
				if r, err = Measure(context.Background(), sc, Options{Latency: *benchLatency, Launcher: child()}); err != nil {
					b.Fatal(err)
				}
			}
			for _, run := range []Run{r.First, r.Steady} {
				b.ReportMetric(run.Wall.Seconds(), run.Kind+"-s")
				b.ReportMetric(run.Ratio(), run.Kind+"-ratio")
				b.ReportMetric(float64(run.Calls())/float64(sc.Repos), run.Kind+"-calls/repo")
				b.ReportMetric(float64(run.Heap.Peak)/(1<<20), run.Kind+"-peak-MiB")
			}
		})
	}
}

// BenchmarkRoundTrip calibrates the machine: one op is Concurrency
// concurrent reads of a repository through the real client against the
// source emulator in a child process. The mean round trip minus the
// injected latency (ms-over-latency) is what the machine (both processes,
// loopback, scheduling) adds to each request: the part of a run's ratio to
// its bound that no engine change can remove.
func BenchmarkRoundTrip(b *testing.B) {
	em, err := child()(context.Background(), EmulatorSpec{Repos: 100, Latency: *benchLatency})
	if err != nil {
		b.Fatal(err)
	}
	defer em.Close()
	tr, err := quay.NewTransport(quay.TransportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := quay.New(em.SourceURL, quay.WithTransport(tr), quay.WithToken(demo.SourceToken))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			var total atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						start := time.Now()
						if _, err := c.GetRepository(context.Background(), Org, fmt.Sprintf("repo-%05d", i)); err != nil {
							b.Error(err)
						}
						total.Add(int64(time.Since(start)))
					})
				}
				wg.Wait()
			}
			mean := time.Duration(total.Load() / int64(b.N*n))
			b.ReportMetric(float64(mean-*benchLatency)/1e6, "ms-over-latency")
		})
	}
}
