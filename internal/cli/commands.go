package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/runner"
)

func syncCommand() *command {
	return &command{
		name:    "sync",
		summary: "reconcile every configured organization (with DRY_RUN, print the plan only)",
		need:    config.NeedSync,
		usage: `Creates the repositories missing at the destination and configures their
mirrors; updates mirrors whose configuration drifted; leaves correct ones
alone. Each organization runs its preflight checks first: one that fails
them is reported with the fix and nothing is written to it, while the
others are synced. Exit code 3 when an organization failed its preflight,
else 1 when a repository failed or the run was interrupted (TIMEOUT, a
signal), else 0.

Examples:
  export SOURCE_REGISTRY=quay.example.com DESTINATION_REGISTRY=quay-dr.example.com
  export ORGANIZATIONS=internal-docker-io ROBOT_NAME=mirror
  export SOURCE_TOKENS_DIR=/secrets/source DESTINATION_TOKENS_DIR=/secrets/destination
  export QUAY_CREDENTIALS_DIR=/secrets/quay-credentials
  quaymirror sync
  quaymirror sync --org internal-docker-io --org internal-acic-images:acic --output json
  RECREATE_MIRROR_CONFIG=true quaymirror sync     # re-push every config (password rotation)`,
		run:      func(ctx context.Context, env *runEnv) int { return runSync(ctx, env, bool(env.cfg.DryRun)) },
		define:   defineChecks,
		progress: true,
	}
}

func planCommand() *command {
	return &command{
		name:    "plan",
		summary: "show what sync would do, with field-level diffs, writing nothing",
		need:    config.NeedSync,
		usage: `The same as sync with DRY_RUN=true: per repository the action (create,
configure, update, unchanged, skip, orphan), the reason, and for updates the
fields that would change.

Examples:
  quaymirror plan --org internal-docker-io
  quaymirror plan --output json | jq '.organizations[].repositories[] | select(.action != "unchanged")'`,
		run:      func(ctx context.Context, env *runEnv) int { return runSync(ctx, env, true) },
		define:   defineChecks,
		progress: true,
	}
}

func runSync(ctx context.Context, env *runEnv, dryRun bool) int {
	run := env.runner.Sync
	if dryRun {
		run = env.runner.Plan
	}
	res, err := run(ctx, env.orgs)
	if !report(env, res, err, writeRunText) {
		return ExitFailed
	}
	return exitCode(res.Outcome)
}

// report writes the result of a run to stdout: JSON with --output json,
// else text. A run that did not happen (err: invalid pairs, a closed
// runner) is a line on stderr instead, and false.
func report[R any](env *runEnv, res R, err error, text func(io.Writer, R)) bool {
	if err != nil {
		fmt.Fprintf(env.stderr, "quaymirror: %s\n", oneLine(err))
		return false
	}
	if env.cfg.Output == config.OutputJSON {
		writeJSON(env.stdout, res)
	} else {
		text(env.stdout, res)
	}
	return true
}

func checkCommand() *command {
	return &command{
		name:    "check",
		summary: "preflight: tokens, organizations, robot, mirroring enabled, no org-level mirror",
		need:    config.NeedSync,
		usage: `Checks without writing anything that a sync can work: both tokens are valid,
both organizations exist and the destination one may be administered, the
source lists repositories, the destination has repository mirroring enabled
and no organization-level mirror locking the organization, and the robot
exists. Each failure comes with what to do about it.

Examples:
  quaymirror check
  quaymirror check --org internal-docker-io --output json`,
		run: func(ctx context.Context, env *runEnv) int {
			res, err := env.runner.Check(ctx, env.orgs)
			if !report(env, res, err, writeChecksText) {
				return ExitFailed
			}
			if !res.OK {
				return ExitPreflight
			}
			return ExitOK
		},
	}
}

func statusCommand() *command {
	return &command{
		name:    "status",
		summary: "mirror health of the destination organizations (exit 1 when failing or stuck)",
		need:    config.NeedStatus,
		usage: `Reads every mirror of the destination organizations: counts by sync status,
the failing mirrors with the last failure text from the repository logs,
mirrors stuck in SYNCING past their expiration, never-run and disabled
mirrors. --heal cancels and re-triggers stuck mirrors. The exit code is 1
when a mirror is failing, stuck or unreadable, for alerting.

Examples:
  quaymirror status --org internal-docker-io
  quaymirror status --heal
  quaymirror status --output json | jq '.organizations[] | {organization, failing, stuck}'`,
		define: func(fs *flag.FlagSet, env *runEnv) {
			fs.BoolVar(&env.heal, "heal", false, "cancel and re-trigger mirrors stuck in SYNCING past their expiration")
			defineChecks(fs, env)
		},
		run: func(ctx context.Context, env *runEnv) int {
			health, err := env.runner.Status(ctx, env.orgs, env.heal)
			if err != nil && len(health) == 0 {
				fmt.Fprintf(env.stderr, "quaymirror: %s\n", oneLine(err))
				return ExitFailed
			}
			healthy := err == nil
			for _, h := range health {
				healthy = healthy && h.Healthy()
			}
			if env.cfg.Output == config.OutputJSON {
				out := struct {
					Healthy       bool                 `json:"healthy"`
					Organizations []*quaymirror.Health `json:"organizations"`
					Error         string               `json:"error,omitempty"`
				}{Healthy: healthy, Organizations: health}
				if err != nil {
					out.Error = oneLine(err)
				}
				writeJSON(env.stdout, out)
			} else {
				writeHealthText(env.stdout, health)
				if err != nil {
					fmt.Fprintf(env.stdout, "error: %s\n", oneLine(err))
				}
			}
			if !healthy {
				return ExitFailed
			}
			return ExitOK
		},
	}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeRunText(w io.Writer, run *runner.Result) {
	mode := ""
	if run.DryRun {
		mode = " (dry run: nothing written)"
	}
	var preflight []string
	for _, o := range run.Organizations {
		rep := o.Report
		fmt.Fprintf(w, "\n%s -> %s%s\n", rep.Organization, rep.DestinationOrganization, mode)
		if o.Outcome == runner.OutcomePreflightFailed {
			preflight = append(preflight, rep.Organization)
			fmt.Fprintf(w, "  preflight failed, nothing written:\n")
			for _, c := range o.Preflight.Failed() {
				fmt.Fprintf(w, "    ✗ %s: %s\n      fix: %s\n", c.Name, c.Detail, c.Fix)
			}
			continue
		}
		if o.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", o.Error)
			continue
		}
		verb := map[bool]string{true: "would be ", false: ""}[run.DryRun]
		fmt.Fprintf(w, "  %d %screated, %d %sconfigured, %d %supdated, %d unchanged, %d skipped, %d orphaned, %d failed",
			rep.Created, verb, rep.Configured, verb, rep.Updated, verb, rep.Unchanged, rep.Skipped, rep.Orphaned, rep.Failed)
		if rep.Unchecked > 0 {
			fmt.Fprintf(w, ", %d unchecked", rep.Unchecked)
		}
		if rep.NotStarted > 0 {
			fmt.Fprintf(w, ", %d not started", rep.NotStarted)
		}
		fmt.Fprintf(w, "  (%d requests)\n", rep.Calls.Total())
		if rep.Slices > 1 {
			fmt.Fprintf(w, "  checked slice %d of %d (%d of the existing mirrors read); the others are read on the ticks of their slices (--full reads them all)\n",
				rep.Slice, rep.Slices, rep.Checked)
		}
		if x := o.Estimate; x != nil && x.Note != "" {
			fmt.Fprintf(w, "  estimate: %s\n", x.Note)
		}
		if oe := rep.OrganizationError; oe != nil {
			fmt.Fprintf(w, "  writes to %s stopped: %s\n    detail: %s\n    fix: %s\n", oe.Organization, oe.Reason, oe.Detail, oe.Fix)
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		shown := 0
		for _, r := range rep.Repositories {
			if r.Outcome == quaymirror.OutcomeUnchanged || r.Outcome == quaymirror.OutcomeUnchecked {
				continue
			}
			if shown == 0 {
				fmt.Fprintf(tw, "  REPOSITORY\tACTION\tOUTCOME\tDETAIL\n")
			}
			shown++
			detail := r.Reason
			switch {
			case rep.OrganizationError != nil && strings.HasPrefix(r.Error, "not attempted: "):
				detail = "not attempted: writes to the organization were stopped (above)"
			case r.Error != "":
				detail = r.Error
			}
			if r.Warning != "" {
				detail += " (warning: " + r.Warning + ")"
			}
			outcome := string(r.Outcome)
			if run.DryRun && r.Outcome != quaymirror.OutcomeFailed {
				outcome = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Name, r.Action, outcome, detail)
			for _, ch := range r.Diff {
				fmt.Fprintf(tw, "  \t\t\t  %s: %s -> %s\n", ch.Field, ch.From, ch.To)
			}
		}
		_ = tw.Flush()
		switch quiet := rep.Unchanged + rep.Unchecked; {
		case quiet == 0 || shown == 0:
		case rep.Unchecked == 0:
			fmt.Fprintf(w, "  (%d unchanged repositories not listed; --output json lists every one)\n", rep.Unchanged)
		default:
			fmt.Fprintf(w, "  (%d unchanged and %d unchecked repositories not listed; --output json lists every one)\n", rep.Unchanged, rep.Unchecked)
		}
	}
	if len(preflight) > 0 {
		fmt.Fprintf(w, "\npreflight failed for %s: nothing was written there; the other organizations ran. "+
			"Run quaymirror check for the full checklist.\n", strings.Join(preflight, ", "))
	}
	if run.Interrupted {
		fmt.Fprintf(w, "\ninterrupted: the time budget ran out or the run was stopped; the next run continues.\n")
	}
}

func writeChecksText(w io.Writer, res *runner.CheckResult) {
	mark := map[quaymirror.CheckStatus]string{
		quaymirror.CheckOK: "✓", quaymirror.CheckFail: "✗", quaymirror.CheckWarn: "!", quaymirror.CheckSkipped: "-",
	}
	for _, oc := range res.Organizations {
		fmt.Fprintf(w, "\n%s -> %s\n", oc.Organization, oc.DestinationOrganization)
		if oc.Error != "" {
			fmt.Fprintf(w, "  ✗ %s\n", oc.Error)
			continue
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, c := range oc.Checks {
			fmt.Fprintf(tw, "  %s %s\t%s\n", mark[c.Status], c.Name, c.Detail)
			if c.Fix != "" && c.Status != quaymirror.CheckOK {
				fmt.Fprintf(tw, "    \tfix: %s\n", c.Fix)
			}
		}
		_ = tw.Flush()
	}
}

func writeHealthText(w io.Writer, health []*quaymirror.Health) {
	for _, h := range health {
		state := "healthy"
		if !h.Healthy() {
			state = "UNHEALTHY"
		}
		var counts []string
		for _, s := range []quaymirror.SyncStatus{quaymirror.SyncSuccess, quaymirror.SyncSyncing, quaymirror.SyncNow,
			quaymirror.SyncNeverRun, quaymirror.SyncFail, quaymirror.SyncCancel} {
			if n := h.ByStatus[s]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, s))
			}
		}
		fmt.Fprintf(w, "\n%s: %s, %d mirrors (%s)\n", h.Organization, state, h.Mirrors, strings.Join(counts, ", "))
		if h.Slices > 1 {
			fmt.Fprintf(w, "  slice %d of %d: %d of the mirrors read (--full reads them all)\n", h.Slice, h.Slices, h.Checked)
		}
		fmt.Fprintf(w, "  %d failing, %d stuck, %d never run, %d disabled, %d unreadable, %d missing, %d not mirrored\n",
			h.Failing, h.Stuck, h.NeverRun, h.Disabled, h.Unreadable, h.Missing, h.NotMirrored)
		if len(h.Repositories) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  REPOSITORY\tPROBLEM\tSTATUS\tDETAIL\n")
		for _, m := range h.Repositories {
			detail := m.LastError
			switch {
			case m.Healed:
				detail = strings.TrimSpace(detail + " healed: cancelled and re-triggered")
			case m.HealError != "":
				detail = strings.TrimSpace(detail + " heal failed: " + m.HealError)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Name, m.Problem, m.SyncStatus, detail)
		}
		_ = tw.Flush()
	}
}
