package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

var sourceRepos = map[string][]string{
	"acme": {"app", "db", "web"},
	"beta": {"tools"},
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// world is a source and a destination in memory holding both
// organisations, and a runner over them feeding a Recorder.
type world struct {
	src, dst *fake.Registry
	rec      *metrics.Recorder
	clock    *runnertest.Clock
	r        *runner.Runner
	start    time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{src: fake.New(), dst: fake.New(), rec: metrics.NewRecorder(),
		start: time.Date(2026, 5, 4, 3, 2, 1, 500_000_000, time.UTC)}
	w.clock = runnertest.NewClock(w.start)
	for org, names := range sourceRepos {
		for _, n := range names {
			must(t, w.src.AddRepository(quaymirror.Repository{Namespace: org, Name: n}))
		}
		must(t, w.dst.AddRobot(org, "mirror"))
	}
	w.r = w.newRunner(t, w.rec.Observe)
	return w
}

// newRunner returns a runner over w's registries and clock whose observer
// is observe.
func (w *world) newRunner(t *testing.T, observe func(runner.Event)) *runner.Runner {
	t.Helper()
	r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		return w.src, w.dst, nil
	}, runner.WithRate(0, 0), runner.WithConcurrency(1), runner.WithClock(w.clock), runner.WithObserver(observe))
	must(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func orgs(names ...string) []runner.Org {
	out := make([]runner.Org, len(names))
	for i, n := range names {
		out[i] = runner.Org{Source: n, Policy: quaymirror.Policy{SourceRegistry: "quay.example.com", Robot: n + "+mirror"}}
	}
	return out
}

// samples gathers g and parses its text exposition with Prometheus' parser.
func samples(t *testing.T, g prometheus.Gatherer) promtest.Samples {
	t.Helper()
	mfs, err := g.Gather()
	must(t, err)
	var buf bytes.Buffer
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&buf, mf)
		must(t, err)
	}
	s, err := promtest.Parse(&buf)
	must(t, err)
	return s
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func TestRecorderRecordsEachCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// beta's one repository cannot be created: beta's sync fails.
	w.dst.FailOn(fake.OpCreateRepository, "beta", "tools", errors.New("boom"))

	w.clock.Advance(time.Minute)
	t1 := w.clock.Now()
	res, err := w.r.Sync(t.Context(), orgs("acme", "beta"))
	must(t, err)
	if res.Organizations[0].Outcome != runner.OutcomeOK || res.Organizations[1].Outcome != runner.OutcomeFailed {
		t.Fatalf("outcomes %s, %s", res.Organizations[0].Outcome, res.Organizations[1].Outcome)
	}
	s := samples(t, w.rec)
	for _, org := range []string{"acme", "beta"} {
		if got := s.Value(t, metrics.LastRun, "organization", org, "command", "sync"); got != unix(t1) {
			t.Errorf("%s last run %v, want %v", org, got, unix(t1))
		}
	}
	if got := s.Value(t, metrics.LastSuccess, "organization", "acme", "command", "sync"); got != unix(t1) {
		t.Errorf("acme last success %v", got)
	}
	if n := len(s.Find(metrics.LastSuccess, "organization", "beta")); n != 0 {
		t.Errorf("beta, which never succeeded, has %d last-success series", n)
	}
	if s.Value(t, metrics.LastRunSuccess, "organization", "acme", "command", "sync") != 1 ||
		s.Value(t, metrics.LastRunSuccess, "organization", "beta", "command", "sync") != 0 {
		t.Error("last run success is wrong")
	}
	// One series per outcome, from each organisation's report.
	for _, o := range res.Organizations {
		c := o.Counts
		for outcome, want := range map[string]int{"created": c.Created, "configured": c.Configured, "updated": c.Updated,
			"unchanged": c.Unchanged, "skipped": c.Skipped, "orphaned": c.Orphaned, "failed": c.Failed, "not_started": c.NotStarted,
			"unchecked": c.Unchecked} {
			if got := s.Value(t, metrics.Repositories, "organization", o.Organization, "outcome", outcome); got != float64(want) {
				t.Errorf("%s %s: %v, want %d", o.Organization, outcome, got, want)
			}
		}
	}
	if s.Value(t, metrics.Repositories, "organization", "acme", "outcome", "created") != 3 ||
		s.Value(t, metrics.Repositories, "organization", "beta", "outcome", "failed") != 1 {
		t.Error("the report's counts are not the world's")
	}

	// A plan sets its own last run and leaves the sync's repositories.
	w.dst.ClearFailures()
	w.clock.Advance(time.Minute)
	t2 := w.clock.Now()
	_, err = w.r.Plan(t.Context(), orgs("beta"))
	must(t, err)
	// A status of acme with one failing, one syncing and one successful
	// mirror.
	for name, st := range map[string]quaymirror.SyncStatus{"app": quaymirror.SyncFail, "db": quaymirror.SyncSyncing, "web": quaymirror.SyncSuccess} {
		must(t, w.dst.SetMirrorStatus("acme", name, quaymirror.MirrorStatus{SyncStatus: st, Expiration: t2.Add(time.Hour)}))
	}
	w.clock.Advance(time.Minute)
	t3 := w.clock.Now()
	health, err := w.r.Status(t.Context(), orgs("acme"), false)
	must(t, err)
	w.clock.Advance(time.Minute)
	t4 := w.clock.Now()
	_, err = w.r.Check(t.Context(), orgs("acme"))
	must(t, err)

	s = samples(t, w.rec)
	if s.Value(t, metrics.LastRun, "organization", "beta", "command", "plan") != unix(t2) ||
		s.Value(t, metrics.LastSuccess, "organization", "beta", "command", "plan") != unix(t2) {
		t.Error("the plan's run is not recorded")
	}
	if s.Value(t, metrics.Repositories, "organization", "beta", "outcome", "failed") != 1 ||
		s.Value(t, metrics.Repositories, "organization", "beta", "outcome", "created") != 0 {
		t.Error("a plan changed the repositories of the last sync")
	}
	h := health[0]
	for _, st := range []quaymirror.SyncStatus{quaymirror.SyncNeverRun, quaymirror.SyncNow, quaymirror.SyncSyncing,
		quaymirror.SyncSuccess, quaymirror.SyncFail, quaymirror.SyncCancel} {
		if got := s.Value(t, metrics.Mirrors, "organization", "acme", "status", string(st)); got != float64(h.ByStatus[st]) {
			t.Errorf("mirrors %s: %v, want %d", st, got, h.ByStatus[st])
		}
	}
	if s.Value(t, metrics.Mirrors, "organization", "acme", "status", "FAIL") != 1 ||
		s.Value(t, metrics.MirrorProblems, "organization", "acme", "problem", "failing") != 1 ||
		s.Value(t, metrics.MirrorProblems, "organization", "acme", "problem", "stuck") != 0 {
		t.Error("the status is not the world's")
	}
	for p, want := range map[string]int{"failing": h.Failing, "stuck": h.Stuck, "never_run": h.NeverRun, "disabled": h.Disabled,
		"unreadable": h.Unreadable, "missing": h.Missing, "not_mirrored": h.NotMirrored} {
		if got := s.Value(t, metrics.MirrorProblems, "organization", "acme", "problem", p); got != float64(want) {
			t.Errorf("problem %s: %v, status says %d", p, got, want)
		}
	}
	// An unhealthy status is a run, not a success.
	if s.Value(t, metrics.LastRun, "organization", "acme", "command", "status") != unix(t3) ||
		s.Value(t, metrics.LastRunSuccess, "organization", "acme", "command", "status") != 0 ||
		len(s.Find(metrics.LastSuccess, "command", "status")) != 0 {
		t.Error("the unhealthy status is recorded as a success")
	}
	if s.Value(t, metrics.LastSuccess, "organization", "acme", "command", "check") != unix(t4) {
		t.Error("the check is not recorded")
	}

	// A sync stopped by its preflight is a failed run that keeps the
	// repositories of the last sync that listed the organisation.
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCurrentUser {
			return quaymirror.ErrUnauthorized
		}
		return nil
	})
	w.clock.Advance(time.Minute)
	t5 := w.clock.Now()
	res, err = w.r.Sync(t.Context(), orgs("acme"))
	must(t, err)
	if res.Outcome != runner.OutcomePreflightFailed {
		t.Fatalf("outcome %s", res.Outcome)
	}
	s = samples(t, w.rec)
	if s.Value(t, metrics.LastRun, "organization", "acme", "command", "sync") != unix(t5) ||
		s.Value(t, metrics.LastSuccess, "organization", "acme", "command", "sync") != unix(t1) ||
		s.Value(t, metrics.LastRunSuccess, "organization", "acme", "command", "sync") != 0 ||
		s.Value(t, metrics.Repositories, "organization", "acme", "outcome", "created") != 3 {
		t.Error("the failed preflight is not recorded as a failed run of the last sync")
	}
}

// A status Quay added since (or a server's nonsense) counts as UNKNOWN,
// so that the status label stays bounded.
func TestUnknownSyncStatusesAreFolded(t *testing.T) {
	t.Parallel()
	rec := metrics.NewRecorder()
	rec.Observe(runner.Event{Kind: runner.EventStatus, Org: runner.Org{Source: "acme"}, Time: time.Unix(100, 0),
		Health: &quaymirror.Health{Mirrors: 3, ByStatus: map[quaymirror.SyncStatus]int{"SUCCESS": 1, "WEIRD": 1, "ODDER": 1}}})
	s := samples(t, rec)
	if s.Value(t, metrics.Mirrors, "status", "UNKNOWN") != 2 || len(s.Find(metrics.Mirrors, "status", "WEIRD")) != 0 ||
		s.Value(t, metrics.Mirrors, "status", "SUCCESS") != 1 || s.Value(t, metrics.LastRun, "command", "status") != 100 {
		t.Errorf("samples %v", s)
	}
	rec.Observe(runner.Event{Kind: runner.EventStatus, Org: runner.Org{Source: "acme"}, Time: time.Unix(200, 0),
		Health: &quaymirror.Health{Mirrors: 1, ByStatus: map[quaymirror.SyncStatus]int{"SUCCESS": 1}}})
	if n := len(samples(t, rec).Find(metrics.Mirrors, "status", "UNKNOWN")); n != 0 {
		t.Error("UNKNOWN lingers after a status without it")
	}
}

// Every metric is described with its labels, the verify ones too before
// any verify fed them, and the Recorder registers in a registry of an
// embedder's.
func TestRecorderDescribesEveryMetric(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	must(t, reg.Register(metrics.NewRecorder()))
	ch := make(chan *prometheus.Desc, 32)
	metrics.NewRecorder().Describe(ch)
	close(ch)
	var all []string
	for d := range ch {
		all = append(all, d.String())
	}
	text := strings.Join(all, "\n")
	for name, labels := range map[string]string{
		metrics.LastRun: "organization,command", metrics.LastSuccess: "organization,command",
		metrics.LastRunSuccess: "organization,command", metrics.Repositories: "organization,outcome",
		metrics.Mirrors: "organization,status", metrics.MirrorProblems: "organization,problem",
		metrics.MissingTags: "organization", metrics.StaleTags: "organization", metrics.RecoveryPoint: "organization",
		metrics.APIRequests: "organization,command,registry,method,code",
	} {
		re := regexp.MustCompile(`fqName: "` + name + `", help: "[^"]+",.* variableLabels: \{` + labels + `\}`)
		if !re.MatchString(text) {
			t.Errorf("no description of %s{%s} in\n%s", name, labels, text)
		}
	}
	if len(all) != 10 {
		t.Errorf("%d metrics described", len(all))
	}
}

// The counting transport, under the Quay client's own stack, sees every
// attempt: a request retried after two 503s and a reset counts four
// times, and the count of each side matches what the emulated Quay
// received. The command comes from the run's context.
func TestTransportCountsEveryAttempt(t *testing.T) {
	t.Parallel()
	const token = "dst-token-31f7"
	reg := fake.New()
	must(t, reg.AddRobot("acme", "mirror"))
	em, err := quaytest.New(reg)
	must(t, err)
	must(t, em.AddAdmin("admin", token, quaytest.ScopeRepoAdmin, quaytest.ScopeRepoCreate, quaytest.ScopeOrgAdmin, quaytest.ScopeUserRead))
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	must(t, em.Inject(quaytest.Fault{Kind: quaytest.FaultStatus, Route: "GET /api/v1/repository", Count: 2}))
	must(t, em.Inject(quaytest.Fault{Kind: quaytest.FaultReset, Route: "GET /api/v1/repository"}))

	rec := metrics.NewRecorder()
	// Without keep-alives: net/http retries a request on its own, unseen
	// by any RoundTripper above it, when a reused connection is reset.
	base := rec.Transport(metrics.Destination, "acme", &http.Transport{DisableKeepAlives: true})
	client, err := quay.New(srv.URL, quay.WithTransport(base), quay.WithToken(token),
		quay.WithRetry(5, time.Nanosecond, time.Nanosecond)) // no real backoff
	must(t, err)
	r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		return nil, client, nil
	}, runner.WithRate(0, 0))
	must(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	if _, err := r.Status(t.Context(), orgs("acme"), false); err != nil {
		t.Fatal(err)
	}
	// Outside a run, the command is empty.
	if _, err := client.CurrentUser(t.Context()); err != nil {
		t.Fatal(err)
	}

	s := samples(t, rec)
	received := 0
	for _, n := range em.Requests() {
		received += n
	}
	if got := s.Sum(metrics.APIRequests, "registry", "destination", "organization", "acme"); got != float64(received) || received == 0 {
		t.Errorf("counted %v requests, the emulator received %d", got, received)
	}
	if s.Value(t, metrics.APIRequests, "command", "status", "method", "GET", "code", "503") != 2 ||
		s.Value(t, metrics.APIRequests, "command", "status", "method", "GET", "code", "error") != 1 {
		t.Errorf("the failed attempts are not counted: %v", s.Find(metrics.APIRequests))
	}
	if s.Value(t, metrics.APIRequests, "command", "", "code", "200") != 1 {
		t.Errorf("the request outside a run: %v", s.Find(metrics.APIRequests, "command", ""))
	}
	if got := s.Sum(metrics.APIRequests, "command", "status", "code", "200"); got+3 != float64(received-1) {
		t.Errorf("status: %v answered requests, %d received", got, received)
	}
	for _, smp := range s.Find(metrics.APIRequests) {
		if strings.Contains(smp.Metric.String(), token) || strings.Contains(smp.Metric.String(), "/api/") {
			t.Errorf("a label holds a token or a URL: %s", smp.Metric)
		}
	}
}

func TestTransportBoundsItsLabels(t *testing.T) {
	t.Parallel()
	rec := metrics.NewRecorder()
	answer := 0
	rt := rec.Transport(metrics.Source, "acme", roundTripFunc(func(*http.Request) (*http.Response, error) {
		if answer == 0 {
			return nil, errors.New("refused")
		}
		return &http.Response{StatusCode: answer, Body: http.NoBody}, nil
	}))
	for _, c := range []struct {
		method string
		answer int
	}{{"BREW", 200}, {"GET", 0}, {"GET", 999}, {"DELETE", 204}} {
		answer = c.answer
		req := httptest.NewRequest(c.method, "http://quay.example.com/api/v1/repository?token=x", nil)
		resp, _ := rt.RoundTrip(req)
		if resp != nil {
			_ = resp.Body.Close()
		}
	}
	s := samples(t, rec)
	for _, want := range [][]string{
		{"method", "OTHER", "code", "200"}, {"method", "GET", "code", "error"}, {"method", "GET", "code", "other"},
		{"method", "DELETE", "code", "204"},
	} {
		if s.Value(t, metrics.APIRequests, append([]string{"registry", "source", "organization", "acme"}, want...)...) != 1 {
			t.Errorf("%v not counted once", want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ExampleRecorder() {
	rec := metrics.NewRecorder()
	// What a runner built with runner.WithObserver(rec.Observe) hands it
	// when a check of acme ends.
	rec.Observe(runner.Event{Kind: runner.EventChecked, Command: runner.CommandCheck,
		Org: runner.Org{Source: "acme"}, Time: time.Unix(1700000000, 0), Check: &runner.OrgCheck{}})
	mfs, _ := rec.Gather()
	for _, mf := range mfs {
		fmt.Println(mf.GetName(), mf.GetMetric()[0].GetGauge().GetValue())
	}
	// Output:
	// quaymirror_last_run_success 1
	// quaymirror_last_run_timestamp_seconds 1.7e+09
	// quaymirror_last_success_timestamp_seconds 1.7e+09
}
