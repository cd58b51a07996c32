package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/internal/bench"
	"github.com/quaymirror/quaymirror/internal/config"
)

// defaultBenchScenarios is a quick run (about a minute at 20 ms).
const defaultBenchScenarios = "500x1,500x8,500x32"

func benchCommand() *command {
	var (
		fs         *flag.FlagSet
		scenarios  string
		latency    time.Duration
		inProcess  bool
		cpuProfile string
		limit      string
	)
	return &command{
		name:    "bench",
		summary: "measure sync against two emulated Quays: calls, time against its bound, memory",
		usage: `Starts two emulated Quay registries on loopback (in a child process, so that
the heap measured is quaymirror's own), a source organization of REPOS
repositories and an empty destination, and for each scenario measures a
first sync (every repository is new) and a steady-state sync (nothing
changed) with the real engine and the real Quay client. It prints the wall
time, the API calls by side and route, the calls per repository, the writes,
the lower bound max(calls x latency / concurrency, (calls - burst) / QPS,
listing pages x latency) and the ratio of the wall time to it, the peak heap, and whether
the performance goals are met. See docs/performance.md.

Flags:
  --scenarios LIST   comma-separated REPOSxCONCURRENCY[@QPS]; no @QPS means no
                     rate limit (default ` + defaultBenchScenarios + `)
  --latency D        latency injected into every request at both registries
                     (default 20ms)
  --burst N          rate limiters' burst for scenarios with a QPS (default 25)
  --sync-now=false   leave out the sync-now of new mirrors
  --server-limit Q/B put the rate limit of Quay's bundled nginx in front of
                     both registries: Q requests/s, burst B, 429 beyond
                     (FEATURE_RATE_LIMITS is 5/25)
  --in-process       run the emulators in this process (the peak heap then
                     includes theirs)
  --cpuprofile FILE  write a CPU profile of quaymirror's side
  --output json      print the measures as JSON

CONCURRENCY and QPS do not apply: each scenario sets them.

Examples:
  quaymirror bench
  quaymirror bench --scenarios 5000x1,5000x8,5000x32,5000x8@100,5000x32@100,20000x32
  quaymirror bench --scenarios 200x8 --latency 1ms --in-process`,
		define: func(f *flag.FlagSet, _ *runEnv) {
			fs = f
			f.StringVar(&scenarios, "scenarios", defaultBenchScenarios, "")
			f.DurationVar(&latency, "latency", bench.DefaultLatency, "")
			f.BoolVar(&inProcess, "in-process", false, "")
			f.StringVar(&cpuProfile, "cpuprofile", "", "")
			f.StringVar(&limit, "server-limit", "", "")
		},
		run: func(ctx context.Context, env *runEnv) int {
			if v, ok := lookupEnv(env.environ, bench.ChildEnv); ok {
				// The emulators' child of a parent bench.
				return bench.ServeChild(v, os.Stdin, env.stdout, env.stderr)
			}
			usage := func(format string, args ...any) int {
				fmt.Fprintf(env.stderr, "quaymirror bench: "+format+" (see quaymirror bench --help)\n", args...)
				return ExitUsage
			}
			var misplaced []string
			fs.Visit(func(f *flag.Flag) {
				if f.Name == "concurrency" || f.Name == "qps" {
					misplaced = append(misplaced, "--"+f.Name)
				}
			})
			if len(misplaced) > 0 {
				return usage("%s: each scenario sets it, e.g. --scenarios 5000x32@100", strings.Join(misplaced, " and "))
			}
			list, err := bench.ParseScenarios(scenarios)
			if err != nil {
				return usage("%v", err)
			}
			opts := bench.Options{
				Latency:     latency,
				Burst:       int(env.cfg.Burst),
				SkipSyncNow: !bool(env.cfg.SyncNow),
				Launcher:    bench.InProcess,
				Progress:    env.stderr,
			}
			if limit != "" {
				q, b, ok := strings.Cut(limit, "/")
				qps, err1 := strconv.ParseFloat(q, 64)
				burst, err2 := strconv.Atoi(b)
				if !ok || err1 != nil || err2 != nil || !(qps > 0) || burst < 1 {
					return usage("--server-limit %q: want QPS/BURST, e.g. 5/25", limit)
				}
				opts.ServerLimit, opts.ServerBurst = qps, burst
			}
			if latency < 0 {
				return usage("--latency %s is negative", latency)
			}
			if latency == 0 {
				opts.Latency = -1 // none
			}
			if !inProcess {
				exe, err := os.Executable()
				if err != nil {
					fmt.Fprintf(env.stderr, "quaymirror bench: %v\n", err)
					return ExitFailed
				}
				opts.Launcher = bench.Subprocess([]string{exe, "bench"}, env.environ, env.stderr)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					fmt.Fprintf(env.stderr, "quaymirror bench: %v\n", err)
					return ExitFailed
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					fmt.Fprintf(env.stderr, "quaymirror bench: %v\n", err)
					return ExitFailed
				}
				defer pprof.StopCPUProfile()
			}
			results, err := bench.RunAll(ctx, list, opts)
			if err != nil {
				fmt.Fprintf(env.stderr, "quaymirror bench: %s\n", oneLine(err))
				return ExitFailed
			}
			if env.cfg.Output == config.OutputJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				_ = enc.Encode(struct {
					Results []*bench.Result `json:"results"`
					Goals   []bench.Goal    `json:"goals"`
				}{results, bench.Goals(results)})
				return ExitOK
			}
			if err := bench.WriteText(env.stdout, results); err != nil {
				return ExitFailed
			}
			return ExitOK
		},
	}
}

func lookupEnv(environ []string, key string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
