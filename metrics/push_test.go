package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
)

// A real Pushgateway, read back the way Prometheus reads it, holds per
// organisation and command what the runs reported; a later push of the
// same command replaces only the metrics it carries, so a failed run
// keeps the last success, and a sync leaves the status' series alone.
func TestPushToARealPushgateway(t *testing.T) {
	t.Parallel()
	gw := promtest.StartPushgateway(t)
	w := newWorld(t)
	w.dst.FailOn(fake.OpCreateRepository, "beta", "tools", errors.New("boom"))
	w.clock.Advance(time.Minute)
	t1 := w.clock.Now()
	res, err := w.r.Sync(t.Context(), orgs("acme", "beta"))
	must(t, err)
	must(t, w.dst.SetMirrorStatus("acme", "app", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail}))
	w.clock.Advance(time.Minute)
	t2 := w.clock.Now()
	health, err := w.r.Status(t.Context(), orgs("acme"), false)
	must(t, err)

	p, err := metrics.NewPusher(gw.URL, w.rec, nil)
	must(t, err)
	must(t, p.Push(t.Context(), runner.CommandSync, "acme", "beta"))
	must(t, p.Push(t.Context(), runner.CommandStatus, "acme"))

	s := gw.Scrape(t)
	group := func(org, cmd string, kv ...string) []string {
		return append([]string{"job", "quaymirror", "organization", org, "command", cmd}, kv...)
	}
	for _, o := range res.Organizations {
		org := o.Organization
		if s.Value(t, metrics.LastRun, group(org, "sync")...) != unix(t1) {
			t.Errorf("%s: last sync not pushed", org)
		}
		for outcome, want := range map[string]int{"created": o.Created, "failed": o.Failed, "unchanged": o.Unchanged, "not_started": o.NotStarted} {
			if got := s.Value(t, metrics.Repositories, group(org, "sync", "outcome", outcome)...); got != float64(want) {
				t.Errorf("%s %s: %v, want %d", org, outcome, got, want)
			}
		}
	}
	if s.Value(t, metrics.LastSuccess, group("acme", "sync")...) != unix(t1) || len(s.Find(metrics.LastSuccess, "organization", "beta")) != 0 {
		t.Error("last successes")
	}
	if s.Value(t, metrics.Repositories, group("acme", "sync", "outcome", "created")...) != 3 {
		t.Error("acme's three repositories are not pushed as created")
	}
	if s.Value(t, metrics.Mirrors, group("acme", "status", "status", "FAIL")...) != float64(health[0].ByStatus[quaymirror.SyncFail]) ||
		s.Value(t, metrics.Mirrors, group("acme", "status", "status", "FAIL")...) != 1 ||
		s.Value(t, metrics.LastRun, group("acme", "status")...) != unix(t2) {
		t.Error("the status is not pushed")
	}
	// Each group holds only its command's series.
	if len(s.Find(metrics.Mirrors, "command", "sync")) != 0 || len(s.Find(metrics.Repositories, "command", "status")) != 0 ||
		len(s.Find(metrics.LastRun, "organization", "beta", "command", "status")) != 0 {
		t.Error("a group holds another command's series")
	}

	// The next run is another process: a new Recorder, whose sync of acme
	// fails at its preflight.
	next := newWorld(t)
	next.clock.Advance(time.Hour)
	t3 := next.clock.Now()
	next.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCurrentUser {
			return quaymirror.ErrUnauthorized
		}
		return nil
	})
	res, err = next.r.Sync(t.Context(), orgs("acme"))
	must(t, err)
	if res.Outcome != runner.OutcomePreflightFailed {
		t.Fatalf("outcome %s", res.Outcome)
	}
	p2, err := metrics.NewPusher(gw.URL, next.rec, nil)
	must(t, err)
	must(t, p2.Push(t.Context(), runner.CommandSync, "acme"))
	s = gw.Scrape(t)
	if s.Value(t, metrics.LastRun, group("acme", "sync")...) != unix(t3) ||
		s.Value(t, metrics.LastRunSuccess, group("acme", "sync")...) != 0 ||
		s.Value(t, metrics.LastSuccess, group("acme", "sync")...) != unix(t1) ||
		s.Value(t, metrics.Repositories, group("acme", "sync", "outcome", "created")...) != 3 ||
		s.Value(t, metrics.LastRun, group("acme", "status")...) != unix(t2) {
		t.Error("the failed sync's push replaced what it did not carry")
	}
	// The Pushgateway stamps each group with its last push.
	if len(s.Find("push_time_seconds", group("acme", "sync")...)) != 1 {
		t.Error("no push_time_seconds for the group")
	}
}

func TestPushFailuresAreOneLineWithoutCredentials(t *testing.T) {
	t.Parallel()
	const password = "pgw-pass-81c2"
	var gotAuth, gotPath, gotMethod string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		gotAuth, gotPath, gotMethod = user+":"+pass, r.URL.Path, r.Method
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, strings.Repeat("no\nway ", 500), http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	rec := metrics.NewRecorder()
	rec.Observe(runner.Event{Kind: runner.EventChecked, Org: runner.Org{Source: "acme"}, Check: &runner.OrgCheck{}})
	withAuth := strings.Replace(srv.URL, "http://", "http://pusher:"+password+"@", 1) + "/prefix/"
	p, err := metrics.NewPusher(withAuth, rec, nil)
	must(t, err)
	if strings.Contains(p.String(), password) || strings.Contains(p.String(), "pusher") {
		t.Errorf("String shows the user information: %s", p)
	}
	err = p.Push(t.Context(), runner.CommandCheck, "acme", "nothing-recorded")
	if err == nil {
		t.Fatal("a push answered 500 succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, password) || strings.Contains(msg, "\n") || len(msg) > 500 ||
		!strings.Contains(msg, "acme (check)") || !strings.Contains(msg, srv.URL+"/prefix") || strings.Contains(msg, "nothing-recorded") {
		t.Errorf("error %q", msg)
	}
	if gotAuth != "pusher:"+password || gotMethod != http.MethodPost ||
		!strings.HasPrefix(gotPath, "/prefix/metrics/job/quaymirror/") || !strings.Contains(gotPath, "/organization/acme") ||
		!strings.Contains(gotPath, "/command/check") {
		t.Errorf("request %s %s as %q", gotMethod, gotPath, gotAuth)
	}

	srv.Close() // nobody listens any more
	err = p.Push(t.Context(), runner.CommandCheck, "acme")
	if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "acme") {
		t.Errorf("push to a closed port: %v", err)
	}
}

func TestParsePushgatewayURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"http://pushgateway:9091", "https://pgw.example.com/prefix", "http://u:p@127.0.0.1:9091/"} {
		if _, err := metrics.ParsePushgatewayURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"pushgateway:9091", "ftp://pgw", "http://", "http://u:secret@pgw:9091/?x=1",
		"http://u:secret@pgw:9091/#f", "http://pgw:9091/metrics/job/x", "http://u:secret@pgw\x7f", ""} {
		_, err := metrics.ParsePushgatewayURL(bad)
		if !errors.Is(err, metrics.ErrPushgatewayURL) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
