package function

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/runner"
)

// /metrics on the function's own port: served from the start (no run
// yet, so no run series), then the runs of every event as Prometheus
// reads them.
func TestMetricsAreServed(t *testing.T) {
	gate := make(chan struct{})
	e := newEnv(t, envOptions{gate: gate})
	if code, _ := e.get("/metrics"); code != http.StatusOK {
		t.Errorf("/metrics before Start = %d, want 200", code)
	}
	if s := promtest.Scrape(t, "http://"+e.addr+"/metrics"); len(s.Find(metrics.LastRun)) != 0 {
		t.Errorf("run series before any run: %v", s.Find(metrics.LastRun))
	}
	close(gate)
	<-e.f.started

	_, code, run := e.tick(`{"organization":"acme"}`)
	if code != http.StatusOK {
		t.Fatalf("tick = %d", code)
	}
	_, _, plan := e.tick(`{"organization":"beta","dry_run":true}`)
	s := promtest.Scrape(t, "http://"+e.addr+"/metrics")
	acme := run.Organizations[0]
	for outcome, want := range map[string]int{"created": acme.Created, "unchanged": acme.Unchanged, "failed": acme.Failed} {
		if got := s.Value(t, metrics.Repositories, "organization", "acme", "outcome", outcome); got != float64(want) {
			t.Errorf("%s: %v, the report says %d", outcome, got, want)
		}
	}
	if acme.Created != 3 || s.Value(t, metrics.LastRunSuccess, "organization", "acme", "command", "sync") != 1 ||
		s.Value(t, metrics.LastRunSuccess, "organization", "beta", "command", "plan") != 1 || !plan.DryRun {
		t.Error("the runs are not recorded")
	}
	// A plan does not report repositories: only syncs do.
	if n := len(s.Find(metrics.Repositories, "organization", "beta")); n != 0 {
		t.Errorf("the plan of beta set %d repository series", n)
	}
	if s.Sum(metrics.APIRequests, "organization", "acme", "command", "sync", "registry", "destination") == 0 ||
		s.Sum(metrics.APIRequests, "organization", "beta", "command", "plan") == 0 {
		t.Error("no request counted")
	}
	if code, _ := e.post("/metrics"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d", code)
	}
}

// With METRICS_PUSHGATEWAY, every event's organisations are pushed to a
// real Pushgateway under the run's command.
func TestEventsPushTheirMetrics(t *testing.T) {
	gw := promtest.StartPushgateway(t)
	e := newEnv(t, envOptions{settings: map[string]string{"METRICS_PUSHGATEWAY": gw.URL}})
	<-e.f.started
	_, code, run := e.tick(`{"organizations":["acme","beta"]}`)
	if code != http.StatusOK {
		t.Fatalf("tick = %d", code)
	}
	s := gw.Scrape(t)
	for _, o := range run.Organizations {
		group := []string{"job", "quaymirror", "organization", o.Organization, "command", "sync"}
		if got := s.Value(t, metrics.Repositories, append(group, "outcome", "created")...); got != float64(o.Created) || o.Created == 0 {
			t.Errorf("%s: pushed %v created, the report says %d", o.Organization, got, o.Created)
		}
	}
}

// The report event also goes to K_SINK (a SinkBinding's), received here
// by a CloudEvents receiver; a sink that refuses it is only a warning.
func TestReportsGoToTheSink(t *testing.T) {
	received := make(chan event.Event, 4)
	refuse := make(chan bool, 1)
	refuse <- false
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			t.Errorf("the sink got no CloudEvent: %v", err)
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		received <- *ev
		if no := <-refuse; no {
			refuse <- true
			http.Error(w, "full", http.StatusServiceUnavailable)
			return
		}
		refuse <- false
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(sink.Close)
	e := newEnv(t, envOptions{settings: map[string]string{"K_SINK": sink.URL + "/ns/quay-mirror"}})
	<-e.f.started

	reply, code, run := e.tick(`{"organization":"acme"}`)
	if code != http.StatusOK {
		t.Fatalf("tick = %d", code)
	}
	got := <-received
	if got.ID() != reply.ID() || got.Type() != ReportEventType || got.Subject() != "acme" || got.Extensions()["outcome"] != "ok" {
		t.Errorf("sink got %s", got)
	}
	var sent runner.Result
	must(t, got.DataAs(&sent))
	if len(sent.Organizations) != 1 || sent.Organizations[0].Created != run.Organizations[0].Created {
		t.Errorf("the sink's report %+v is not the reply's %+v", sent, run)
	}

	<-refuse
	refuse <- true
	_, code, _ = e.tick(`{"organization":"acme"}`)
	if code != http.StatusOK {
		t.Errorf("a refusing sink changed the tick's status to %d", code)
	}
	<-received
	if logs := e.logs.String(); !strings.Contains(logs, "sending the report to K_SINK failed") {
		t.Errorf("no warning logged:\n%s", logs)
	}
	// Nothing else was sent to the sink.
	select {
	case ev := <-received:
		t.Errorf("unexpected event %s", ev)
	default:
	}
}

func (e *env) post(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Post("http://"+e.addr+path, "text/plain", strings.NewReader("x"))
	must(e.t, err)
	defer resp.Body.Close()
	return resp.StatusCode, resp.Status
}
