package reliability

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/cli"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// repositoryRoutes are every route that names one repository, and the
// repository creation: what a destination that "goes down after the
// listing" stops answering.
var repositoryRoutes = []string{
	"POST /api/v1/repository",
	"/api/v1/repository/{repo}",
	"/api/v1/repository/{repo}/mirror",
	"/api/v1/repository/{repo}/changestate",
	"/api/v1/repository/{repo}/mirror/sync-now",
}

// downOrg is an organisation of n source repositories of which the first
// drifted ones are already mirrored at the destination with an old tag
// glob (so that planning them reads their mirror), the others missing.
func downOrg(name string, n, drifted int) demo.Org {
	o := oneOrg(name, n)
	o.Destination = func(dst *fake.Registry) error {
		for _, r := range o.Repositories[:drifted] {
			r.Namespace, r.State = name, quaymirror.StateMirror
			if err := dst.AddRepository(r); err != nil {
				return err
			}
			// The reference host is fixed up by the test once the
			// source's address is known.
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := dst.PutMirror(name, r.Name, quaymirror.Mirror{Config: quaymirror.MirrorConfig{
				Enabled: true, ExternalReference: "placeholder/" + name + "/" + r.Name, Username: demo.PullUsername,
				SyncInterval: 600 * time.Second, SyncStartDate: start, TagGlobs: []string{"old-*"}, Robot: name + "+mirror", VerifyTLS: true,
			}, Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, NextSync: start, RetriesRemaining: 3}}); err != nil {
				return err
			}
		}
		return nil
	}
	return o
}

// fixReferences points the seeded mirrors at the running source.
func fixReferences(t *testing.T, d *demo.Env, org string) {
	t.Helper()
	host := strings.TrimPrefix(d.Source.URL, "http://")
	for _, r := range d.Destination.Fake.Repositories(org) {
		m, ok := d.Destination.Fake.Mirror(org, r.Name)
		if !ok {
			continue
		}
		m.Config.ExternalReference = host + "/" + org + "/" + r.Name
		must(t, d.Destination.Fake.PutMirror(org, r.Name, m))
	}
}

// When the destination stops answering after the listing, or turns
// read-only, the run gives up within its deadline: every repository is
// reported failed, the exit code is 1, nothing is half-written; once the
// server is back, the next run converges.
func TestGiveUpIsClean(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		down    func(d *demo.Env) error
		retried bool // the failures are worth retrying
	}{
		{"repository routes answer 503", func(d *demo.Env) error {
			return d.Destination.Emulator.SetFaults(quaytest.Faults{Seed: 1, ErrorRate: 1, Routes: repositoryRoutes})
		}, true},
		// Read-only mode set while the run plans (the preflight saw a
		// writable registry): every write answers 503 "is_readonly".
		{"read-only mode from the plan on", func(d *demo.Env) error {
			var once sync.Once
			d.Destination.Fake.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
				if op == fake.OpListRepositories {
					once.Do(func() { d.Destination.Emulator.SetReadOnly(true) })
				}
				return nil
			})
			return nil
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const org, n, drifted = "down", 10, 4
			d := startDemo(t, demo.Options{Orgs: []demo.Org{downOrg(org, n, drifted)}})
			fixReferences(t, d, org)
			before := snapshot(t, d.Destination.Fake, org)
			must(t, tc.down(d))

			// The retries do not wait (runCLI): the run takes well under
			// a second; the deadline only bounds a run that would hang.
			const deadline = 5 * time.Minute
			env := d.Environ("OUTPUT=json", "TIMEOUT="+deadline.String())
			r := runCLI(context.Background(), env, "sync")
			run := decodeRun(t, r)
			c := totals(run)
			if r.code != cli.ExitFailed || run.OK() || c.Failed != n || len(run.Organizations[0].Repositories) != n {
				t.Fatalf("want exit 1 and %d failed repositories: %+v\n%s", n, c, r)
			}
			if r.elapsed > deadline {
				t.Errorf("the run took %s, past its %s deadline", r.elapsed, deadline)
			}
			if tc.retried && len(r.waits) < quay.DefaultMaxRetries {
				t.Errorf("%d retries in the whole run: the requests did not give up after theirs", len(r.waits))
			}
			for _, res := range run.Organizations[0].Repositories {
				if res.Outcome != quaymirror.OutcomeFailed || res.Error == "" {
					t.Errorf("%s: outcome %s, error %q", res.Name, res.Outcome, res.Error)
				}
			}
			after := snapshot(t, d.Destination.Fake, org)
			if diff := diffStates(before, after); len(diff) > 0 {
				t.Errorf("the destination changed although every write failed:\n%s", strings.Join(diff, "\n"))
			}
			t.Logf("gave up in %s", r.elapsed.Round(time.Millisecond))

			// The server is back: the next run converges.
			d.Destination.Fake.SetHook(nil)
			d.Destination.Emulator.ClearFaults()
			d.Destination.Emulator.SetReadOnly(false)
			r = runCLI(context.Background(), env, "sync")
			if c := totals(decodeRun(t, r)); r.code != cli.ExitOK || c.Created != n-drifted || c.Updated != drifted {
				t.Errorf("after the outage: %+v\n%s", c, r)
			}
			// Quay's mirror worker runs: every repository is a working
			// mirror of its source, the drifted ones with the new globs.
			newMirrorWorker(d).pass()
			state := snapshot(t, d.Destination.Fake, org)
			checkNoMirrorWithoutConfig(t, org, state)
			for name, s := range state {
				if s.State != quaymirror.StateMirror || !slices.Equal(s.Tags, sourceTags) {
					t.Errorf("after the outage, %s/%s is not a working mirror: %s", org, name, s)
				}
			}
		})
	}
}

// When the destination stays down past the time budget (TIMEOUT), no
// repository starts after it, the ones in flight end, the report lists
// every repository as failed or not started and says the run was
// interrupted, and the exit code is 1.
func TestGiveUpAtTheDeadline(t *testing.T) {
	t.Parallel()
	const org, n, workers = "late", 40, 4
	d := startDemo(t, demo.Options{Orgs: []demo.Org{oneOrg(org, n)}})
	must(t, d.Destination.Emulator.SetFaults(quaytest.Faults{Seed: 1, ErrorRate: 1, Routes: repositoryRoutes}))
	const budget = 2 * time.Second
	r := downPastTheBudget(budget, d.Environ("OUTPUT=json", "CONCURRENCY=4", "TIMEOUT="+budget.String()), "sync")
	run := decodeRun(t, r)
	c := totals(run)
	// The workers' first repositories were in flight at the deadline: they
	// fail; no other repository starts.
	if r.code != cli.ExitFailed || !run.Interrupted || c.Failed < 1 || c.Failed > workers || c.Failed+c.NotStarted != n {
		t.Fatalf("want exit 1, interrupted, at most the %d repositories in flight failed and the others not started: %+v\n%s", workers, c, r)
	}
	if len(r.waits) == 0 {
		t.Error("no request waited to be retried: the destination was not down")
	}
	// Started repositories finish under their own timeout after the
	// budget: that is the bound.
	if limit := budget + quaymirror.DefaultRepositoryTimeout; r.elapsed > limit {
		t.Errorf("the run took %s, past budget + repository timeout (%s)", r.elapsed, limit)
	}
	if got := len(d.Destination.Fake.Repositories(org)); got != 0 {
		t.Errorf("%d repositories were created although every create failed", got)
	}
	text := downPastTheBudget(time.Second, d.Environ("TIMEOUT=1s"), "sync")
	if text.code != cli.ExitFailed || !strings.Contains(text.stdout, "interrupted") {
		t.Errorf("the text report does not say the run was interrupted:\n%s", text)
	}
	t.Logf("budget %s: ended after %s with %d failed and %d not started", budget, r.elapsed.Round(time.Millisecond), c.Failed, c.NotStarted)
}

// downPastTheBudget runs quaymirror in process against a destination that
// stays down longer than the run's time budget: every wait between
// attempts lasts until a second after the budget has run out, then none
// does, so the requests in flight at the deadline give up at once. (The
// second is a margin for the run's own deadline, which starts a little
// after this one, to have fired.)
func downPastTheBudget(budget time.Duration, environ []string, args ...string) result {
	over := make(chan struct{})
	timer := time.AfterFunc(budget+time.Second, func() { close(over) })
	defer timer.Stop()
	return runCLISleeping(context.Background(), func(ctx context.Context, _ time.Duration) error {
		select {
		case <-over:
		case <-ctx.Done():
		}
		return ctx.Err()
	}, environ, args...)
}

// A destination that refuses connections from the start fails the
// preflight: exit 3, nothing sent to it but the preflight reads, within a
// bounded time.
func TestGiveUpWhenTheDestinationIsUnreachable(t *testing.T) {
	t.Parallel()
	d := startDemo(t, demo.Options{Orgs: []demo.Org{oneOrg("gone", 5)}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close()) // nothing listens there any more
	r := runCLI(context.Background(), d.Environ("DESTINATION_REGISTRY=http://"+addr, "OUTPUT=json"), "sync")
	run := decodeRun(t, r)
	if r.code != cli.ExitPreflight || !run.PreflightFailed {
		t.Fatalf("want exit 3 and a failed preflight:\n%s", r)
	}
	if !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("the report does not say why:\n%s", r)
	}
	if len(r.waits) < quay.DefaultMaxRetries {
		t.Errorf("%d retries: a refused connection is worth retrying", len(r.waits))
	}
	if w := d.Source.Emulator.Writes(); w != 0 {
		t.Errorf("%d writes to the source", w)
	}
	if r.elapsed > 2*time.Minute {
		t.Errorf("giving up took %s", r.elapsed)
	}
	t.Logf("gave up in %s", r.elapsed.Round(time.Millisecond))
}
