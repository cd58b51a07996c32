package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/internal/config"
)

// defaultScenarios is a quick run (about a minute at 20 ms).
const defaultScenarios = "500x1,500x8,500x32"

const usage = `quaymirror-bench: measure sync (and verify) against two emulated Quays:
calls, time against its bound, memory.

Starts two emulated Quay registries on loopback (in a child process, so that
the heap measured is quaymirror's own), a source organization of REPOS
repositories and an empty destination, and for each scenario measures with
the real engine and the real Quay client a first sync (every repository is
new), a steady-state sync that reads every mirror (--full), and one
incremental tick (the preflight and the sync of the largest slice of the
automatic K). It prints the wall time, the API calls by side and route, the
calls per repository, the writes, the lower bound max(calls x latency /
concurrency, (calls - burst) / QPS, listing pages x latency) and the ratio
of the wall time to it, the peak heap, and whether the performance goals are
met. See docs/performance.md.

Usage:
  quaymirror-bench [flags]

Flags:
  --scenarios LIST   comma-separated REPOSxCONCURRENCY[@QPS][/mirrored][/ticks];
                     no @QPS means no rate limit; /mirrored starts from a
                     mirrored destination (no first run measured); /ticks
                     adds K consecutive ticks after a repository is added at
                     the source and a mirror changed by hand (default
                     ` + defaultScenarios + `)
  --latency D        latency injected into every request at both registries
                     (default 20ms)
  --burst N          rate limiters' burst for scenarios with a QPS (default 25)
  --sync-now=false   leave out the sync-now of new mirrors
  --server-limit Q/B put the rate limit of Quay's bundled nginx in front of
                     both registries: Q requests/s, burst B, 429 beyond
                     (FEATURE_RATE_LIMITS is 5/25)
  --verify           after the steady run, let the destination's mirror workers
                     copy every tag and measure a verify of the complete standby
  --tags N           tags of each source repository for --verify (default 5;
                     from 500 the tag endpoint's pages are read too)
  --in-process       run the emulators in this process (the peak heap then
                     includes theirs)
  --cpuprofile FILE  write a CPU profile of quaymirror's side
  --memprofile PREFIX write a heap profile of quaymirror's side at the end of
                     each run, while its report is held: PREFIX-SCENARIO-RUN
  --output json      print the measures as JSON

--burst, --sync-now and --output are quaymirror's settings of the same name
(BURST, SYNC_NOW, OUTPUT in the environment). CONCURRENCY and QPS do not
apply: each scenario sets them.

Examples:
  quaymirror-bench
  quaymirror-bench --scenarios 5000x1,5000x8,5000x32,5000x8@100,5000x32@100,20000x32
  quaymirror-bench --scenarios 20000x8@25/mirrored/ticks,100000x32
  quaymirror-bench --scenarios 200x8 --latency 1ms --in-process
  quaymirror-bench --scenarios 5000x8 --verify
`

// Main is the quaymirror-bench command: it runs with args (without the
// program name) and environ, writes the results to stdout and progress to
// stderr, and returns the exit code (0, 1 when the bench failed, 2 for bad
// usage). Started with ChildEnv set, it is the emulators' child.
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if v, ok := config.MapLookuper(environ).Lookup(ChildEnv); ok {
		return ServeChild(v, os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("quaymirror-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lookuper := config.Flags(fs, config.MapLookuper(environ))
	var (
		scenarios, cpuProfile, memProfile, limit string
		latency                                  time.Duration
		inProcess, verify                        bool
		tags                                     int
	)
	fs.StringVar(&scenarios, "scenarios", defaultScenarios, "")
	fs.DurationVar(&latency, "latency", DefaultLatency, "")
	fs.BoolVar(&inProcess, "in-process", false, "")
	fs.BoolVar(&verify, "verify", false, "")
	fs.IntVar(&tags, "tags", DefaultTags, "")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "")
	fs.StringVar(&memProfile, "memprofile", "", "")
	fs.StringVar(&limit, "server-limit", "", "")
	bad := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "quaymirror-bench: "+format+" (see quaymirror-bench --help)\n", args...)
		return 2
	}
	failed := func(err error) int {
		fmt.Fprintf(stderr, "quaymirror-bench: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return bad("%v", err)
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	var misplaced []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "concurrency" || f.Name == "qps" {
			misplaced = append(misplaced, "--"+f.Name)
		}
	})
	if len(misplaced) > 0 {
		return bad("%s: each scenario sets it, e.g. --scenarios 5000x32@100", strings.Join(misplaced, " and "))
	}
	cfg, err := config.Parse(ctx, lookuper)
	if err != nil {
		return bad("invalid configuration: %v", err)
	}
	list, err := ParseScenarios(scenarios)
	if err != nil {
		return bad("%v", err)
	}
	if tags < 1 || tags > 100_000 {
		return bad("--tags %d: want 1 to 100000", tags)
	}
	opts := Options{Latency: latency, Burst: int(cfg.Burst), SkipSyncNow: !bool(cfg.SyncNow), Launcher: InProcess, Progress: stderr,
		HeapProfile: memProfile}
	if verify {
		opts.Verify, opts.Tags = true, tags
	}
	if limit != "" {
		q, b, ok := strings.Cut(limit, "/")
		qps, err1 := strconv.ParseFloat(q, 64)
		burst, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || !(qps > 0) || burst < 1 {
			return bad("--server-limit %q: want QPS/BURST, e.g. 5/25", limit)
		}
		opts.ServerLimit, opts.ServerBurst = qps, burst
	}
	switch {
	case latency < 0:
		return bad("--latency %s is negative", latency)
	case latency == 0:
		opts.Latency = -1 // none
	}
	if !inProcess {
		exe, err := os.Executable()
		if err != nil {
			return failed(err)
		}
		opts.Launcher = Subprocess([]string{exe}, environ, stderr)
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return failed(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return failed(err)
		}
		defer pprof.StopCPUProfile()
	}
	results, err := RunAll(ctx, list, opts)
	if err != nil {
		return failed(err)
	}
	if cfg.Output == config.OutputJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Results []*Result `json:"results"`
			Goals   []Goal    `json:"goals"`
		}{results, Goals(results)})
		return 0
	}
	if err := WriteText(stdout, results); err != nil {
		return 1
	}
	return 0
}
