package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/runner"
)

func verifyCommand() *command {
	return &command{
		name:    "verify",
		summary: "what the destination lacks of the source, tag by tag, and since when (exit 1 when incomplete)",
		need:    config.NeedSync,
		usage: `Compares, for every repository of the configured organizations that sync
mirrors (INCLUDE, EXCLUDE), the source's tags that TAG_GLOB selects with the
destination's: missing (not at the destination), stale (another manifest
digest) or pending (changed at the source less than VERIFY_GRACE seconds ago,
by default twice SYNC_INTERVAL: the mirror has not had its turn yet). A
repository missing at the destination, or there but not a mirror, counts as
entirely missing. Per organization the recovery point: the age of the oldest
source change still missing or stale, what a fail-over now would lose. It
only reads, with the rate, concurrency and TIMEOUT of sync. Exit code 0 when
nothing is missing or stale beyond the grace, 3 when an organization failed
its preflight, else 1.

Examples:
  quaymirror verify
  quaymirror verify --org internal-docker-io --output json
  quaymirror verify -o json | jq '.organizations[] | {organization, missing, stale, recovery_point_seconds}'
  quaymirror verify -o json | jq -r '.organizations[].repositories[] | .name + ": " + (.missing | join(","))'`,
		run: func(ctx context.Context, env *runEnv) int {
			res, err := env.runner.Verify(ctx, env.orgs)
			if !report(env, res, err, writeVerifyText) {
				return ExitFailed
			}
			return exitCode(res.Outcome)
		},
	}
}

// maxTagsShown bounds the tag names a text line lists; JSON lists all.
const maxTagsShown = 5

func writeVerifyText(w io.Writer, res *runner.VerifyResult) {
	var preflight []string
	for _, o := range res.Organizations {
		v := o.Verification
		fmt.Fprintf(w, "\n%s -> %s", v.Organization, v.DestinationOrganization)
		switch {
		case o.Outcome == runner.OutcomePreflightFailed:
			preflight = append(preflight, v.Organization)
			fmt.Fprintf(w, "\n  preflight failed, nothing verified:\n")
			for _, c := range o.Preflight.Failed() {
				fmt.Fprintf(w, "    ✗ %s: %s\n      fix: %s\n", c.Name, c.Detail, c.Fix)
			}
			continue
		case o.Error != "" && v.VerifiedAt.IsZero():
			// Not verified at all: not started, or stopped before.
			label := "error: "
			if o.Interrupted {
				label = ""
			}
			fmt.Fprintf(w, "\n  %s%s\n", label, o.Error)
			continue
		case v.Missing+v.Stale > 0 && v.OldestChange.IsZero():
			// The source keeps no change times (an OCI registry): what is
			// missing is known, since when is not.
			fmt.Fprintf(w, ": INCOMPLETE, recovery point unknown (the source records no change times)\n")
		case v.Missing+v.Stale > 0:
			fmt.Fprintf(w, ": INCOMPLETE, recovery point %s (changes missing since %s)\n",
				age(v.RecoveryPoint()), v.OldestChange.UTC().Format(time.RFC3339))
		case v.Errors > 0 || v.Interrupted:
			fmt.Fprintf(w, ": NOT FULLY VERIFIED\n")
		default:
			fmt.Fprintf(w, ": complete\n")
		}
		fmt.Fprintf(w, "  %s, %s checked: %d missing, %d stale, %d pending (grace %s)",
			count(v.RepositoriesChecked, "repository", "repositories"), count(v.TagsChecked, "tag", "tags"),
			v.Missing, v.Stale, v.Pending, age(time.Duration(v.GraceSeconds)*time.Second))
		if v.Errors > 0 {
			fmt.Fprintf(w, ", %d not readable", v.Errors)
		}
		fmt.Fprintf(w, "  (%d requests)\n", v.Calls.Total())
		if o.Error != "" {
			fmt.Fprintf(w, "  %s\n", o.Error)
		}
		if len(v.Repositories) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  REPOSITORY\tMISSING\tSTALE\tPENDING\tDETAIL\n")
		for _, r := range v.Repositories {
			if r.Error != "" {
				fmt.Fprintf(tw, "  %s\t-\t-\t-\terror: %s\n", r.Name, r.Error)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\n", r.Name, len(r.Missing), len(r.Stale), len(r.Pending), verifyDetail(r))
		}
		_ = tw.Flush()
	}
	if len(preflight) > 0 {
		fmt.Fprintf(w, "\npreflight failed for %s: nothing was verified there; the other organizations were.\n", strings.Join(preflight, ", "))
	}
	if res.Interrupted {
		fmt.Fprintf(w, "\ninterrupted: the time budget ran out or the run was stopped; the counts cover the repositories verified.\n")
	}
}

// verifyDetail names a repository's tags that need attention, and why all
// of them count as missing when they do.
func verifyDetail(r quaymirror.VerifiedRepository) string {
	var parts []string
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	for _, l := range []struct {
		label string
		tags  []string
	}{{"missing", r.Missing}, {"stale", r.Stale}, {"pending", r.Pending}} {
		if len(l.tags) == 0 {
			continue
		}
		shown := l.tags[:min(len(l.tags), maxTagsShown)]
		s := l.label + ": " + strings.Join(shown, ", ")
		if more := len(l.tags) - len(shown); more > 0 {
			s += fmt.Sprintf(" and %d more", more)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// age writes a duration the way an operator reads it: 3d4h, 10h05m,
// 20m, 45s.
func age(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
