package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
)

// A verify sets the tag and recovery-point series from its report, and
// its last run; one stopped by its preflight is a failed run that leaves
// the counts of the last verify that compared the repositories. The
// series reach a real Pushgateway in the verify group.
func TestRecorderRecordsVerify(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Every source repository holds v1 since long ago; the mirrors copy
	// it; then acme's app gets v2 and web moves v1, both five hours ago,
	// and db gets v3 a minute ago (within the grace).
	old := w.start.Add(-48 * time.Hour)
	for org, names := range sourceRepos {
		for _, n := range names {
			must(t, w.src.PushTags(org, n, quaymirror.Tag{Name: "v1", LastModified: old}))
		}
	}
	_, err := w.r.Sync(t.Context(), orgs("acme", "beta"))
	must(t, err)
	w.dst.SyncMirrors(w.clock.Now(), w.src.ServedAt("quay.example.com"))
	w.clock.Advance(10 * time.Hour)
	at := w.clock.Now()
	must(t, w.src.PushTags("acme", "app", quaymirror.Tag{Name: "v2", LastModified: at.Add(-5 * time.Hour)}))
	must(t, w.src.PushTags("acme", "web", quaymirror.Tag{Name: "v1", Digest: fake.TagDigest("rebuilt"), LastModified: at.Add(-5 * time.Hour)}))
	must(t, w.src.PushTags("acme", "db", quaymirror.Tag{Name: "v3", LastModified: at.Add(-time.Minute)}))

	res, err := w.r.Verify(t.Context(), orgs("acme", "beta"))
	must(t, err)
	acme, beta := res.Organizations[0], res.Organizations[1]
	if acme.Outcome != runner.OutcomeIncomplete || acme.Missing != 1 || acme.Stale != 1 || acme.Pending != 1 || beta.Outcome != runner.OutcomeOK {
		t.Fatalf("acme %s %+v, beta %s", acme.Outcome, acme.Verification, beta.Outcome)
	}
	s := samples(t, w.rec)
	for org, want := range map[string][3]float64{"acme": {1, 1, 5 * 3600}, "beta": {0, 0, 0}} {
		got := [3]float64{s.Value(t, metrics.MissingTags, "organization", org), s.Value(t, metrics.StaleTags, "organization", org),
			s.Value(t, metrics.RecoveryPoint, "organization", org)}
		if got != want {
			t.Errorf("%s: missing, stale, recovery point = %v, want %v", org, got, want)
		}
	}
	if s.Value(t, metrics.LastRun, "organization", "acme", "command", "verify") != unix(at) ||
		s.Value(t, metrics.LastRunSuccess, "organization", "acme", "command", "verify") != 0 ||
		len(s.Find(metrics.LastSuccess, "organization", "acme", "command", "verify")) != 0 ||
		s.Value(t, metrics.LastSuccess, "organization", "beta", "command", "verify") != unix(at) {
		t.Error("the verify runs are not recorded: an incomplete standby is no success, a complete one is")
	}

	gw := promtest.StartPushgateway(t)
	p, err := metrics.NewPusher(gw.URL, w.rec, nil)
	must(t, err)
	must(t, p.Push(t.Context(), runner.CommandVerify, "acme", "beta"))
	pushed := gw.Scrape(t)
	group := []string{"job", "quaymirror", "organization", "acme", "command", "verify"}
	if pushed.Value(t, metrics.MissingTags, group...) != 1 || pushed.Value(t, metrics.StaleTags, group...) != 1 ||
		pushed.Value(t, metrics.RecoveryPoint, group...) != 5*3600 || pushed.Value(t, metrics.LastRun, group...) != unix(at) {
		t.Error("the verify group does not hold the report's values")
	}
	if len(pushed.Find(metrics.Repositories)) != 0 || len(pushed.Find(metrics.MissingTags, "command", "sync")) != 0 {
		t.Error("the verify push carries another command's series")
	}

	// A verify stopped by its preflight: a failed run, the counts stay.
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCurrentUser {
			return quaymirror.ErrUnauthorized
		}
		return nil
	})
	w.clock.Advance(time.Hour)
	res, err = w.r.Verify(t.Context(), orgs("beta"))
	must(t, err)
	if res.Outcome != runner.OutcomePreflightFailed {
		t.Fatalf("outcome %s", res.Outcome)
	}
	s = samples(t, w.rec)
	if s.Value(t, metrics.LastRun, "organization", "beta", "command", "verify") != unix(w.clock.Now()) ||
		s.Value(t, metrics.LastRunSuccess, "organization", "beta", "command", "verify") != 0 ||
		s.Value(t, metrics.LastSuccess, "organization", "beta", "command", "verify") != unix(at) ||
		s.Value(t, metrics.MissingTags, "organization", "beta") != 0 || len(s.Find(metrics.RecoveryPoint, "organization", "beta")) != 1 {
		t.Error("the verify stopped by its preflight is not a failed run that keeps the last counts")
	}
}
