package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/quaymirror/quaymirror/function"
	"github.com/quaymirror/quaymirror/internal/config"
)

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
lifted, TIMEOUT is the time budget of one event. Health endpoints:
/health/readiness, /health/liveness. See docs/deploy.md.

Example:
  LISTEN_ADDRESS=127.0.0.1:8080 TIMEOUT=420 quaymirror serve`,
		run: func(ctx context.Context, env *runEnv) int {
			// The function reads the process environment itself (func-go's
			// configuration map); check it here first so that a bad value
			// exits 2 with the same one-line message as the other commands.
			if _, err := config.Resolve(env.cfg.Config, config.NeedSync); err != nil {
				fmt.Fprintf(env.stderr, "quaymirror serve: invalid configuration: %v\n", oneLine(err))
				return ExitUsage
			}
			cfg := make(map[string]string)
			for _, s := range config.Settings() {
				if v, ok := env.lookup.Lookup(s.Env); ok {
					cfg[s.Env] = v
				}
			}
			err := function.ServeWith(ctx, cfg)
			switch {
			case err == nil || errors.Is(err, context.Canceled):
				return ExitOK
			case errors.Is(err, config.ErrInvalid):
				fmt.Fprintf(env.stderr, "quaymirror serve: invalid configuration: %v\n", oneLine(err))
				return ExitUsage
			}
			fmt.Fprintf(env.stderr, "quaymirror serve: %v\n", oneLine(err))
			return ExitFailed
		},
	}
}
