package runner_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

var verifyStart = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

// mirrored is the world after a sync and a pass of the mirror workers,
// every source repository holding v1 and latest: a complete standby.
func mirrored(t *testing.T) (*world, *runnertest.Clock) {
	t.Helper()
	w := newWorld(t)
	old := verifyStart.Add(-48 * time.Hour)
	for org, names := range repos {
		for _, n := range names {
			must(t, w.src.PushTags(org, n, quaymirror.Tag{Name: "v1", LastModified: old}, quaymirror.Tag{Name: "latest", LastModified: old}))
		}
	}
	clock := runnertest.NewClock(verifyStart.Add(-24 * time.Hour))
	res, err := w.runner(t, runner.WithClock(clock)).Sync(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if !res.OK() {
		t.Fatalf("sync: %+v", res)
	}
	if n := w.dst.SyncMirrors(clock.Now(), w.src.ServedAt("quay.example.com")); n != 4 {
		t.Fatalf("%d mirrors synced", n)
	}
	clock.Advance(24 * time.Hour)
	w.dst.ResetCalls()
	return w, clock
}

func TestVerifyOutcomesPerOrganization(t *testing.T) {
	t.Parallel()
	w, clock := mirrored(t)
	// alpha's app got v2 three hours ago, which the standby lacks.
	must(t, w.src.PushTags("alpha", "app", quaymirror.Tag{Name: "v2", LastModified: verifyStart.Add(-3 * time.Hour)}))
	var mu sync.Mutex
	var events []runner.Event
	r := w.runner(t, runner.WithClock(clock), runner.WithObserver(func(e runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}))
	res, err := r.Verify(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeIncomplete || res.OK() || res.Interrupted || res.PreflightFailed || len(res.Organizations) != 2 {
		t.Fatalf("result = %+v", res)
	}
	alpha, beta := res.Organizations[0], res.Organizations[1]
	if alpha.Outcome != runner.OutcomeIncomplete || alpha.Missing != 1 || alpha.RepositoriesChecked != 3 || alpha.TagsChecked != 7 ||
		alpha.RecoveryPointSeconds != 3*3600 || len(alpha.Repositories) != 1 || alpha.Repositories[0].Name != "app" || alpha.Error != "" {
		t.Errorf("alpha = %+v %+v", alpha.Outcome, alpha.Verification)
	}
	if !alpha.Preflight.OK() || len(alpha.Preflight) == 0 {
		t.Errorf("alpha preflight = %+v", alpha.Preflight)
	}
	if beta.Outcome != runner.OutcomeOK || !beta.Complete() || beta.TagsChecked != 2 || beta.RecoveryPointSeconds != 0 {
		t.Errorf("beta = %+v %+v", beta.Outcome, beta.Verification)
	}
	if n := w.dst.Writes(); n != 0 {
		t.Errorf("verify wrote %d times", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Kind != runner.EventVerified || events[0].Command != runner.CommandVerify ||
		events[0].Verification == nil || events[0].Verification.Missing != 1 || events[1].Org.Source != "beta" || !events[1].Time.Equal(verifyStart) {
		t.Errorf("events = %+v", events)
	}
}

// One organisation's failure, of any kind, never stops the next.
func TestVerifyIsolatesOrganizations(t *testing.T) {
	t.Parallel()
	w, clock := mirrored(t)
	w.broken["beta"] = errors.New("no token file for organization beta")
	r := w.runner(t, runner.WithClock(clock))
	res, err := r.Verify(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeFailed || res.Organizations[0].Outcome != runner.OutcomeOK ||
		res.Organizations[1].Outcome != runner.OutcomeFailed || res.Organizations[1].Error != "no token file for organization beta" {
		t.Errorf("broken beta: %+v", res)
	}
	// An expired token fails the preflight: exit code 3's outcome, and
	// alpha is still verified.
	delete(w.broken, "beta")
	w.expired["beta"] = true
	res, err = r.Verify(t.Context(), orgs("beta", "alpha"))
	must(t, err)
	if res.Outcome != runner.OutcomePreflightFailed || !res.PreflightFailed || res.Organizations[0].Outcome != runner.OutcomePreflightFailed ||
		res.Organizations[1].Outcome != runner.OutcomeOK || res.Organizations[1].RepositoriesChecked != 3 {
		t.Errorf("expired beta: %+v", res)
	}
	if o := res.Organizations[0]; o.Organization != "beta" || o.DestinationOrganization != "beta" || o.Repositories == nil || o.RepositoriesChecked != 0 {
		t.Errorf("a pair not verified still names itself with empty counts: %+v", o.Verification)
	}
	// A repository that cannot be read fails its organisation only.
	delete(w.expired, "beta")
	w.dst.FailOn(fake.OpListTags, "alpha", "db", fmt.Errorf("boom: %w", quaymirror.ErrUnavailable))
	res, err = r.Verify(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeFailed || res.Organizations[0].Errors != 1 || res.Organizations[1].Outcome != runner.OutcomeOK {
		t.Errorf("unreadable repository: %+v", res)
	}
}

// The time budget of Sync bounds Verify too: what was verified is
// reported, the rest is not started.
func TestVerifyStopsAtTheBudget(t *testing.T) {
	t.Parallel()
	w, clock := mirrored(t)
	const budget = 10 * time.Minute
	var once sync.Once
	w.src.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpListTags {
			once.Do(func() { clock.Advance(budget) })
		}
		return nil
	})
	r := w.runner(t, runner.WithClock(clock), runner.WithBudget(budget))
	res, err := r.Verify(t.Context(), orgs("alpha", "beta"))
	must(t, err)
	alpha, beta := res.Organizations[0], res.Organizations[1]
	if res.Outcome != runner.OutcomePartial || !res.Interrupted || alpha.Outcome != runner.OutcomePartial || !alpha.Interrupted ||
		alpha.Error != "stopped before every repository was verified: the time budget was spent" || alpha.Errors != 0 {
		t.Errorf("alpha: %+v %+v", alpha.Outcome, alpha.Verification)
	}
	if beta.Outcome != runner.OutcomePartial || beta.Error != "not started: the time budget was spent" {
		t.Errorf("beta: %+v", beta)
	}
}
