package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
)

func demoCommand() *command {
	return &command{
		name:    "demo",
		summary: "run check, plan, sync, status and verify against two emulated Quays, then sync from an OCI registry, on loopback",
		usage: `Starts two emulated Quay registries on 127.0.0.1 (a source with two
organizations and a destination with the organizations and their robot),
then runs quaymirror check, plan, sync, sync again, status and verify against
them with the real client over real HTTP, printing each command and its
output. Then mirrors an organization of an OCI registry (go-containerregistry's
in-memory registry, where the organization is a path prefix) into the same
destination: check, sync, sync again.
Nothing leaves the machine; no configuration is needed.

Example:
  quaymirror demo`,
		run: runDemo,
	}
}

func runDemo(ctx context.Context, env *runEnv) int {
	w := env.stdout
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		fmt.Fprintf(env.stderr, "quaymirror demo: %v\n", err)
		return ExitFailed
	}
	defer d.Close()
	fmt.Fprintf(w, "Two emulated Quay 3.17 registries are listening on loopback:\n")
	fmt.Fprintf(w, "  source       %s  organizations %s\n", d.Source.URL, strings.Join(d.Orgs, ", "))
	fmt.Fprintf(w, "  destination  %s  the same organizations, each with robot %q, no repositories\n", d.Destination.URL, demo.RobotShortName)
	fmt.Fprintf(w, "  (internal-registry-redhat-io/rhel9/postgresql-15 already exists at the destination with a hand-pushed tag)\n")

	stepIn := func(environ []string) func(string, []string, int) bool {
		return func(title string, args []string, want int) bool {
			return demoStep(ctx, env, environ, title, args, want)
		}
	}
	step := stepIn(d.Environ())
	ok := step("Preflight: tokens, organizations, robot, mirroring enabled", []string{"check"}, ExitOK) &&
		step("Plan: what would change, nothing written", []string{"plan"}, ExitOK) &&
		step("Sync: create the repositories and configure their mirrors", []string{"sync"}, ExitOK) &&
		step("Sync again: everything is in place, zero writes", []string{"sync"}, ExitOK)
	if !ok {
		return ExitFailed
	}
	writes := d.Destination.Emulator.Writes()

	// Play the destination's mirror workers: every new mirror syncs, one
	// fails, one worker dies mid-sync.
	now := time.Now()
	d.Destination.Fake.RunMirrors(now, []string{"latest", "v1.0.0"})
	const org = "internal-docker-io"
	_ = d.Destination.Fake.SetMirrorStatus(org, "bitnami/kafka", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail, RetriesRemaining: 2})
	_ = d.Destination.Fake.AddSyncLog(org, "bitnami/kafka", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: now,
		Message: "unauthorized: access to the requested resource is not authorized"})
	_ = d.Destination.Fake.SetMirrorStatus(org, "library/redis", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSyncing,
		Expiration: now.Add(-time.Hour), RetriesRemaining: 3})
	fmt.Fprintf(w, "\n\n(The destination's mirror workers run: every mirror syncs, bitnami/kafka fails, and the worker syncing library/redis dies.)")
	ok = step("Status: mirror health, exit 1 for alerting", []string{"status", "--org", org}, ExitFailed) &&
		step("Status with --heal: cancel and re-trigger the stuck mirror", []string{"status", "--org", org, "--heal"}, ExitFailed)
	if !ok {
		return ExitFailed
	}

	// The source moves on: a release pushed two hours ago that the
	// mirrors have not copied, and a fix pushed a minute ago.
	_ = d.Source.Fake.PushTags(org, "library/nginx", quaymirror.Tag{Name: "v1.1.0", LastModified: now.Add(-2 * time.Hour)})
	_ = d.Source.Fake.PushTags(org, "library/redis", quaymirror.Tag{Name: "v1.0.1", LastModified: now.Add(-time.Minute)})
	fmt.Fprintf(w, "\n\n(The source moves on: library/nginx got v1.1.0 two hours ago, library/redis v1.0.1 a minute ago.)")
	if !step("Verify: what the standby lacks, and since when; exit 1 for alerting", []string{"verify"}, ExitFailed) {
		return ExitFailed
	}
	ociWrites, ok := demoOCI(env, d, stepIn)
	if !ok {
		return ExitFailed
	}
	fmt.Fprintf(w, "\n\nDone. The two syncs from Quay sent %d write requests to the destination, the two from the OCI registry %d; "+
		"each second sync sent none.\n", writes, ociWrites)
	fmt.Fprintf(w, "Point SOURCE_REGISTRY, DESTINATION_REGISTRY, ORGANIZATIONS, ROBOT_NAME and the tokens at real registries to do the same (see README).\n")
	return ExitOK
}

// demoOCI mirrors an organisation of an OCI registry (a path prefix) into
// the same destination: check, sync, sync again.
func demoOCI(env *runEnv, d *demo.Env, stepIn func([]string) func(string, []string, int) bool) (int, bool) {
	w := env.stdout
	src, err := demo.StartOCI(demo.DefaultOCIRepositories())
	if err != nil {
		fmt.Fprintf(env.stderr, "quaymirror demo: %v\n", err)
		return 0, false
	}
	defer src.Close()
	const org = "platform"
	if err := d.AddDestinationOrg(org); err != nil {
		fmt.Fprintf(env.stderr, "quaymirror demo: %v\n", err)
		return 0, false
	}
	fmt.Fprintf(w, "\n\n## A source that is no Quay: an OCI registry\n")
	fmt.Fprintf(w, "go-containerregistry's in-memory registry is listening on %s, with platform/api, platform/web,\n", src.URL)
	fmt.Fprintf(w, "platform/tools/cli, platform-legacy/old and sandbox/scratch. With SOURCE_TYPE=oci the organization %q is the\n", org)
	fmt.Fprintf(w, "path prefix platform/: its three repositories are mirrored from %s/platform/<name>, the others are not.\n", src.Host)
	fmt.Fprintf(w, "The commands now run with SOURCE_TYPE=oci SOURCE_REGISTRY=%s ORGANIZATIONS=%s and no source credentials.\n", src.URL, org)
	ociStep := stepIn(d.OCIEnviron(src, []string{org}))
	before := d.Destination.Emulator.Writes()
	ok := ociStep("Preflight against the OCI registry (anonymous)", []string{"check"}, ExitOK) &&
		ociStep("Sync from the OCI registry", []string{"sync"}, ExitOK)
	if !ok {
		return 0, false
	}
	writes := d.Destination.Emulator.Writes() - before
	ok = ociStep("Sync again: zero writes", []string{"sync"}, ExitOK)
	return writes, ok && d.Destination.Emulator.Writes()-before == writes
}

// demoStep runs one command of the demo, shows it and its output, and
// reports whether it exited as expected.
func demoStep(ctx context.Context, env *runEnv, environ []string, title string, args []string, want int) bool {
	w := env.stdout
	fmt.Fprintf(w, "\n\n### %s\n$ quaymirror %s\n", title, strings.Join(args, " "))
	code := Run(ctx, args, environ, w, env.stderr)
	fmt.Fprintf(w, "(exit code %d)\n", code)
	if code != want {
		fmt.Fprintf(env.stderr, "quaymirror demo: %q exited %d, expected %d\n", strings.Join(args, " "), code, want)
		return false
	}
	return true
}
