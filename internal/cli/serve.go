package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/function"
	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/runner"
)

// DefaultServeTimeout is the budget of one event when TIMEOUT is 0: with
// the two minutes a started repository may still take
// (quaymirror.DefaultRepositoryTimeout), it stays below Knative's default
// revision timeout, 300 s.
const DefaultServeTimeout = 2 * time.Minute

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run as the Knative function: sync on PingSource CloudEvents",
		need:    0,
		usage: `Serves the CloudEvents function (knative.dev/func-go) that a Knative
PingSource wakes: an event {"organization": "x"}, {"organizations": [...]}
or no data (every configured organization), with an optional "dry_run",
runs a sync and answers with the JSON report as a CloudEvent. The
configuration is read from the environment (the same settings as sync);
a bad setting exits 2 before the server starts. It listens on
LISTEN_ADDRESS (default [::]:8080); func-go's 30 s server timeouts are
lifted, TIMEOUT is the time budget of one event (default 2m). Health
endpoints: /health/readiness, /health/liveness. Prometheus metrics:
/metrics on the same port; with METRICS_PUSHGATEWAY each organization's
metrics are pushed too as its run ends, and with K_SINK (a SinkBinding)
each report is also sent there. See docs/deploy.md and
docs/operations.md.

Example:
  LISTEN_ADDRESS=127.0.0.1:8080 TIMEOUT=420 quaymirror serve`,
		run: func(ctx context.Context, env *runEnv) int {
			setup, metricsHandler, stop, err := functionSetup(env.cfg.Config, env.stderr)
			if err != nil {
				fmt.Fprintf(env.stderr, "quaymirror serve: invalid configuration: %v\n", oneLine(err))
				return ExitUsage
			}
			defer stop()
			f := function.New(func(context.Context, map[string]string) (*function.Setup, error) { return setup, nil })
			err = function.Serve(ctx, f, bool(env.cfg.Debug), metricsHandler)
			if err == nil || errors.Is(err, context.Canceled) {
				return ExitOK
			}
			fmt.Fprintf(env.stderr, "quaymirror serve: %v\n", oneLine(err))
			return ExitFailed
		},
	}
}

// functionSetup checks c for a sync and builds the function's runner:
// JSON logs (a log collector reads them), a progress line every
// PROGRESS_INTERVAL, TIMEOUT or DefaultServeTimeout as the budget of an
// event (which the runner's estimate fits each tick's slice into), the
// runs recorded (and pushed, with METRICS_PUSHGATEWAY), and the handler
// of /metrics. stop ends the progress log.
func functionSetup(c *config.Config, logOutput io.Writer) (_ *function.Setup, metricsHandler http.Handler, stop func(), _ error) {
	cfg, err := config.Resolve(c, config.NeedSync)
	if err != nil {
		return nil, nil, nil, err
	}
	level := hclog.Info
	if cfg.Debug {
		level = hclog.Debug
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "quaymirror", Level: level, JSONFormat: true, Output: logOutput, TimeFormat: time.RFC3339Nano,
	})
	budget := time.Duration(cfg.Timeout)
	if budget <= 0 {
		budget = DefaultServeTimeout
	}
	opts := []runner.Option{runner.WithBudget(budget)}
	stop = func() {}
	if interval := time.Duration(cfg.ProgressInterval); interval > 0 {
		pr := newTickerProgress(logger, interval)
		opts, stop = append(opts, runner.WithProgress(pr.report)), pr.close
	}
	rec := metrics.NewRecorder()
	r, err := wiring.NewWithMetrics(cfg, logger, rec, opts...)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	setup := &function.Setup{Runner: r, Orgs: wiring.Orgs(cfg), DryRun: bool(cfg.DryRun), Logger: logger, Sink: string(cfg.Sink)}
	return setup, wiring.MetricsHandler(rec), stop, nil
}
