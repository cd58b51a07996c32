package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/runner"
)

// sync and status push their metrics to a real Pushgateway, which then
// holds, read back as Prometheus reads it, what their reports say.
func TestSyncAndStatusPushTheirMetrics(t *testing.T) {
	t.Parallel()
	gw := promtest.StartPushgateway(t)
	d := startDemo(t)
	env := d.Environ("METRICS_PUSHGATEWAY="+gw.URL, "OUTPUT=json")

	r := run(t, env, "sync")
	if r.code != ExitOK {
		t.Fatalf("sync = %d: %s", r.code, r.stderr)
	}
	var res runner.Result
	must(t, json.Unmarshal([]byte(r.stdout), &res))
	s := gw.Scrape(t)
	group := func(org, cmd string, kv ...string) []string {
		return append([]string{"job", "quaymirror", "organization", org, "command", cmd}, kv...)
	}
	if len(res.Organizations) != len(d.Orgs) {
		t.Fatalf("%d organizations", len(res.Organizations))
	}
	for _, o := range res.Organizations {
		org := o.Organization
		c := o.Counts
		for outcome, want := range map[string]int{"created": c.Created, "configured": c.Configured, "updated": c.Updated,
			"unchanged": c.Unchanged, "skipped": c.Skipped, "orphaned": c.Orphaned, "failed": c.Failed, "not_started": c.NotStarted} {
			if got := s.Value(t, metrics.Repositories, group(org, "sync", "outcome", outcome)...); got != float64(want) {
				t.Errorf("%s %s: pushed %v, the report says %d", org, outcome, got, want)
			}
		}
		last := s.Value(t, metrics.LastRun, group(org, "sync")...)
		if s.Value(t, metrics.LastSuccess, group(org, "sync")...) != last || s.Value(t, metrics.LastRunSuccess, group(org, "sync")...) != 1 {
			t.Errorf("%s: the successful sync is not the last success", org)
		}
	}
	// Every request the emulated Quays received was counted and pushed,
	// under the organisation that sent it.
	for side, reg := range map[string]int{"source": sum(d.Source.Emulator.Requests()), "destination": sum(d.Destination.Emulator.Requests())} {
		if got := s.Sum(metrics.APIRequests, "job", "quaymirror", "command", "sync", "registry", side); got != float64(reg) || reg == 0 {
			t.Errorf("%s: pushed %v requests, the emulator received %d", side, got, reg)
		}
	}

	// A failing mirror, then status: its own group, the sync's untouched.
	org := res.Organizations[0].Organization
	name := ""
	for _, repo := range res.Organizations[0].Repositories {
		if repo.Outcome == quaymirror.OutcomeCreated {
			name = repo.Name
			break
		}
	}
	must(t, d.Destination.Fake.SetMirrorStatus(org, name, quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail}))
	r = run(t, env, "status", "--org", org)
	if r.code != ExitFailed {
		t.Fatalf("status = %d: %s", r.code, r.stderr)
	}
	var status struct {
		Organizations []quaymirror.Health `json:"organizations"`
	}
	must(t, json.Unmarshal([]byte(r.stdout), &status))
	h := status.Organizations[0]
	s = gw.Scrape(t)
	for _, st := range []quaymirror.SyncStatus{quaymirror.SyncNeverRun, quaymirror.SyncNow, quaymirror.SyncSyncing,
		quaymirror.SyncSuccess, quaymirror.SyncFail, quaymirror.SyncCancel} {
		if got := s.Value(t, metrics.Mirrors, group(org, "status", "status", string(st))...); got != float64(h.ByStatus[st]) {
			t.Errorf("%s: pushed %v, status says %d", st, got, h.ByStatus[st])
		}
	}
	if h.ByStatus[quaymirror.SyncFail] != 1 || s.Value(t, metrics.MirrorProblems, group(org, "status", "problem", "failing")...) != 1 ||
		s.Value(t, metrics.LastRunSuccess, group(org, "status")...) != 0 ||
		s.Value(t, metrics.LastRunSuccess, group(org, "sync")...) != 1 {
		t.Error("the status' push is not its report, or it touched the sync's group")
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// A Pushgateway that cannot be reached is a warning: the sync's result
// and exit code stand, and the warning shows no password.
func TestAFailedPushIsAWarning(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := l.Addr().String()
	must(t, l.Close()) // nobody listens there any more
	r := run(t, d.Environ("METRICS_PUSHGATEWAY=http://pusher:pgw-pass-0e1@"+closed), "sync")
	if r.code != ExitOK || !strings.Contains(r.stderr, "pushing the metrics failed") || !strings.Contains(r.stderr, closed) ||
		strings.Contains(r.stderr+r.stdout, "pgw-pass-0e1") {
		t.Errorf("sync = %d\n%s", r.code, r.stderr)
	}
}

// A bad METRICS_PUSHGATEWAY stops every command before any request.
func TestABadPushgatewayExits2BeforeAnyRequest(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	for _, cmd := range []string{"sync", "status", "check", "plan"} {
		r := run(t, d.Environ("METRICS_PUSHGATEWAY=pushgateway:9091"), cmd)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "METRICS_PUSHGATEWAY: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s = %d %q", cmd, r.code, r.stderr)
		}
	}
	if n := sum(d.Source.Emulator.Requests()) + sum(d.Destination.Emulator.Requests()); n != 0 {
		t.Errorf("%d requests before the configuration was refused", n)
	}
}

// quaymirror serve answers /metrics on the function's port: scraped and
// parsed with Prometheus' parser after a tick, it holds the tick's run
// and the process' own metrics.
func TestServeExposesMetrics(t *testing.T) {
	// Not parallel: func-go reads LISTEN_ADDRESS from the process.
	d := startDemo(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close())
	t.Setenv("LISTEN_ADDRESS", addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() { done <- Run(ctx, []string{"serve"}, d.Environ(), &out, &errOut) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("serve = %d: %s", code, errOut.String())
		}
	})
	// Wait for the server to come up (it does in milliseconds).
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/health/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i == 600 {
			t.Fatalf("serve never became ready: %v\n%s", err, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	client, err := cloudevents.NewClientHTTP()
	must(t, err)
	ev := cloudevents.NewEvent()
	ev.SetID("tick-1")
	ev.SetSource("/apis/v1/namespaces/quay-mirror/pingsources/quaymirror")
	ev.SetType("dev.knative.sources.ping")
	must(t, ev.SetData(cloudevents.ApplicationJSON, map[string]string{"organization": d.Orgs[0]}))
	reply, result := client.Request(cloudevents.ContextWithTarget(context.Background(), "http://"+addr), ev)
	if !cloudevents.IsACK(result) || reply == nil {
		t.Fatalf("tick: %v", result)
	}
	var res runner.Result
	must(t, reply.DataAs(&res))

	s := promtest.Scrape(t, "http://"+addr+"/metrics")
	o := res.Organizations[0]
	for outcome, want := range map[string]int{"created": o.Created, "skipped": o.Skipped, "updated": o.Updated, "failed": o.Failed} {
		if got := s.Value(t, metrics.Repositories, "organization", o.Organization, "outcome", outcome); got != float64(want) {
			t.Errorf("%s: %v, the report says %d", outcome, got, want)
		}
	}
	if s.Value(t, metrics.LastRunSuccess, "organization", o.Organization, "command", "sync") != 1 ||
		s.Sum(metrics.APIRequests, "organization", o.Organization, "command", "sync") == 0 {
		t.Error("the tick's run is not in /metrics")
	}
	if len(s.Find("go_goroutines")) != 1 || len(s.Find("process_start_time_seconds")) != 1 {
		t.Error("no process metrics")
	}
}
