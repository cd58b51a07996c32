package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"github.com/sethvargo/go-envconfig"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/version"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/runner"
)

// Exit codes.
const (
	ExitOK        = 0 // converged, or the plan was computed
	ExitFailed    = 1 // some repositories failed; status found problems; verify found tags missing
	ExitUsage     = 2 // invalid configuration or usage, before any request
	ExitPreflight = 3 // preflight failure, before any write
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // examples and details shown by --help
	need    config.Need
	// run executes the command; flags defined by define are parsed.
	run    func(ctx context.Context, env *runEnv) int
	define func(fs *flag.FlagSet, env *runEnv)
	// progress: the command's runs show their progress.
	progress bool
}

// runEnv is what a command runs with.
type runEnv struct {
	stdout, stderr io.Writer
	environ        []string
	lookup         envconfig.Lookuper // flags over the environment
	cfg            *config.Resolved
	logger         hclog.Logger
	runner         *runner.Runner
	orgs           []runner.Org
	terminal       bool

	heal bool // status --heal
	// --full and --tick N (sync, plan, status).
	full    bool
	tick    int64
	tickSet bool
}

// defineChecks adds --full and --tick, which choose the slice of
// existing mirrors a run reads.
func defineChecks(fs *flag.FlagSet, env *runEnv) {
	fs.BoolVar(&env.full, "full", false, "read every existing mirror, not the tick's slice of them (FULL_CHECK_EVERY); with RECREATE_MIRROR_CONFIG, re-send every configuration")
	fs.Func("tick", "read the slice of tick `N` instead of the clock's tick (the Unix time divided by TICK_PERIOD, rounded)", func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a tick number (a whole number, 0 or more)", v)
		}
		env.tick, env.tickSet = n, true
		return nil
	})
}

func commands() []*command {
	return []*command{syncCommand(), planCommand(), statusCommand(), verifyCommand(), checkCommand(), serveCommand(), demoCommand(), versionCommand()}
}

// Run runs quaymirror with args (without the program name) and environ
// (KEY=VALUE pairs), writing the report to stdout and logs to stderr, and
// returns the exit code.
func Run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				return Run(ctx, []string{c.name, "--help"}, environ, stdout, stderr)
			}
		}
		mainUsage(stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "quaymirror: unknown command %q (see quaymirror --help)\n", args[0])
		return ExitUsage
	}
	env := &runEnv{stdout: stdout, stderr: stderr, environ: environ, terminal: isTerminal(stderr)}
	fs := flag.NewFlagSet("quaymirror "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lookuper := config.Flags(fs, config.MapLookuper(environ))
	env.lookup = lookuper
	if c.define != nil {
		c.define(fs, env)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, c, fs)
			return ExitOK
		}
		fmt.Fprintf(stderr, "quaymirror %s: %v (see quaymirror %s --help)\n", c.name, err, c.name)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "quaymirror %s: unexpected argument %q (see quaymirror %s --help)\n", c.name, fs.Arg(0), c.name)
		return ExitUsage
	}
	cfg, err := config.Parse(ctx, lookuper)
	if err == nil {
		env.cfg, err = config.Resolve(cfg, c.need)
	}
	if err != nil {
		fmt.Fprintf(stderr, "quaymirror %s: invalid configuration: %v\n", c.name, oneLine(err))
		return ExitUsage
	}
	if env.full && env.tickSet {
		fmt.Fprintf(stderr, "quaymirror %s: give --full or --tick, not both (see quaymirror %s --help)\n", c.name, c.name)
		return ExitUsage
	}
	logOut := &switchWriter{base: stderr}
	env.logger = newLogger(logOut, bool(cfg.Debug), env.terminal)
	if c.need != 0 {
		var opts []runner.Option
		if c.progress {
			if pr := newProgress(env, logOut, time.Duration(cfg.ProgressInterval)); pr != nil {
				defer pr.close()
				opts = append(opts, runner.WithProgress(pr.report))
			}
		}
		switch {
		case env.full:
			opts = append(opts, runner.WithFullCheck())
		case env.tickSet:
			opts = append(opts, runner.WithTick(env.tick))
		}
		rec := metrics.NewRecorder()
		if env.runner, err = wiring.NewWithMetrics(env.cfg, env.logger, rec, opts...); err != nil {
			fmt.Fprintf(stderr, "quaymirror %s: %v\n", c.name, oneLine(err))
			return ExitUsage
		}
		defer func() { _ = env.runner.Close(context.WithoutCancel(ctx)) }()
		env.orgs = wiring.Orgs(env.cfg)
	}
	return c.run(ctx, env)
}

// newProgress returns the progress display of a command: bars on a
// terminal, else a log line every interval (none when interval is 0).
func newProgress(env *runEnv, logOut *switchWriter, interval time.Duration) progress {
	switch {
	case env.terminal:
		return newBarProgress(env.stderr, logOut)
	case interval > 0:
		return newTickerProgress(env.logger, interval)
	}
	return nil
}

// tickerProgress is a logProgress on a wall-clock ticker.
type tickerProgress struct {
	*logProgress
	ticker *time.Ticker
}

func newTickerProgress(logger hclog.Logger, interval time.Duration) *tickerProgress {
	t := time.NewTicker(interval)
	return &tickerProgress{logProgress: newLogProgress(logger, t.C, time.Now), ticker: t}
}

func (t *tickerProgress) close() {
	t.ticker.Stop()
	t.logProgress.close()
}

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// newLogger logs to stderr: text on a terminal (warnings and errors only,
// the report says the rest), JSON otherwise (info and up, for log
// collectors); DEBUG lowers the level to debug.
func newLogger(w io.Writer, debug, terminal bool) hclog.Logger {
	level := hclog.Info
	if terminal {
		level = hclog.Warn
	}
	if debug {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "quaymirror",
		Output:     w,
		Level:      level,
		JSONFormat: !terminal,
		Color:      hclog.ColorOff,
	})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, `quaymirror mirrors whole Quay organizations: it creates the missing
repositories on a destination Quay and configures Quay's repository
mirroring for each, pulling from the source organization.

Usage:
  quaymirror <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Configuration comes from the environment (SOURCE_REGISTRY, DESTINATION_REGISTRY,
ORGANIZATIONS, ROBOT_NAME, SOURCE_TOKEN, ...); every variable has a flag twin that
overrides it. "quaymirror <command> --help" lists them; docs/configuration.md
explains them.

Exit codes: 0 converged, 1 repositories failed, mirrors unhealthy or tags
missing at the destination, 2 invalid configuration or usage, 3 preflight
failure.

Try it without a Quay: quaymirror demo
`)
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "quaymirror %s: %s\n\n%s\n", c.name, c.summary, strings.TrimSpace(c.usage))
	if c.need == 0 && c.name != "serve" {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "\nFlags (each overrides the environment variable in brackets):\n")
	type line struct{ name, usage string }
	var lines []line
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "o" {
			return
		}
		lines = append(lines, line{f.Name, f.Usage})
	})
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
	for _, l := range lines {
		fmt.Fprintf(w, "  --%s\n      %s\n", l.name, l.usage)
	}
}

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version",
		usage:   "Example:\n  quaymirror version",
		run: func(_ context.Context, env *runEnv) int {
			fmt.Fprintf(env.stdout, "quaymirror %s\n", version.String())
			return ExitOK
		},
	}
}

// exitCode is the exit code of a sync or plan.
func exitCode(o runner.Outcome) int {
	switch o {
	case runner.OutcomeOK:
		return ExitOK
	case runner.OutcomePreflightFailed:
		return ExitPreflight
	}
	return ExitFailed
}
