package wiring_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/runner"
)

func resolve(t *testing.T, environ []string, need config.Need) *config.Resolved {
	t.Helper()
	c, err := config.Parse(context.Background(), config.MapLookuper(environ))
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Resolve(c, need)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Each organisation's clients carry its own tokens: with a directory of
// tokens in which one is wrong, only that organisation fails.
func TestEachOrganizationHasItsOwnTokens(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	dir := t.TempDir()
	for org, token := range map[string]string{"internal-docker-io": "wrong-token", "internal-registry-redhat-io": demo.SourceToken} {
		if err := os.WriteFile(filepath.Join(dir, org), []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := resolve(t, d.Environ("SOURCE_TOKEN=", "SOURCE_TOKENS_DIR="+dir), config.NeedSync)
	r, err := wiring.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	orgs := wiring.Orgs(cfg)
	if len(orgs) != 2 || orgs[1].Policy.Robot != "internal-registry-redhat-io+mirror" || orgs[1].Policy.SourceRegistry == "" {
		t.Fatalf("orgs = %+v", orgs)
	}
	res, err := r.Check(t.Context(), orgs)
	if err != nil {
		t.Fatal(err)
	}
	bad, good := res.Organizations[0], res.Organizations[1]
	if bad.OK() || bad.Checks[0].Name != "source credentials" || bad.Checks[0].Status != "fail" || !good.OK() {
		t.Errorf("checks: %+v / %+v", bad.Checks, good.Checks)
	}
}

// Status needs no source registry: the runner gets a destination alone.
func TestStatusWithoutASource(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	cfg := resolve(t, d.Environ("SOURCE_REGISTRY="), config.NeedStatus)
	r, err := wiring.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	health, err := r.Status(t.Context(), wiring.Orgs(cfg), false)
	if err != nil || len(health) != 2 || !health[0].Healthy() {
		t.Errorf("status = %+v, %v", health, err)
	}
	// An organisation that is not configured is an error of its own.
	if _, err := r.Status(t.Context(), []runner.Org{{Source: "elsewhere"}}, false); err == nil {
		t.Error("status of an unconfigured organization succeeded")
	}
}

// With a Recorder, every request of each organisation's clients is
// counted under its side and organisation, and every run is recorded.
// (That retry attempts are counted one by one is metrics' own test: here
// the clients' backoff is the real one.)
func TestMetricsCountEveryRequestOfEachOrganization(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	cfg := resolve(t, d.Environ(), config.NeedSync)
	rec := metrics.NewRecorder()
	r, err := wiring.NewWithMetrics(cfg, nil, rec)
	must(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	res, err := r.Sync(t.Context(), wiring.Orgs(cfg))
	must(t, err)
	if res.Outcome != runner.OutcomeOK {
		t.Fatalf("outcome %s", res.Outcome)
	}
	mfs, err := rec.Gather()
	must(t, err)
	counted := map[string]float64{} // by side
	byOrg := map[string]float64{}
	runs := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			switch mf.GetName() {
			case metrics.APIRequests:
				if l["command"] != "sync" {
					t.Errorf("request of command %q", l["command"])
				}
				counted[l["registry"]] += m.GetCounter().GetValue()
				byOrg[l["organization"]] += m.GetCounter().GetValue()
			case metrics.LastSuccess:
				runs++
			}
		}
	}
	for side, reg := range map[string]*demo.Registry{"source": d.Source, "destination": d.Destination} {
		received := 0
		for _, n := range reg.Emulator.Requests() {
			received += n
		}
		if counted[side] != float64(received) || received == 0 {
			t.Errorf("%s: counted %v, received %d", side, counted[side], received)
		}
	}
	if runs != len(d.Orgs) || len(byOrg) != len(d.Orgs) {
		t.Errorf("runs %d, organizations %v", runs, byOrg)
	}
	for _, org := range d.Orgs {
		if byOrg[org] == 0 {
			t.Errorf("no request counted for %s", org)
		}
	}
}

func TestPusherOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	rec := metrics.NewRecorder()
	p, err := wiring.Pusher(resolve(t, d.Environ(), config.NeedStatus), rec)
	if p != nil || err != nil {
		t.Errorf("without METRICS_PUSHGATEWAY: %v, %v", p, err)
	}
	p, err = wiring.Pusher(resolve(t, d.Environ("METRICS_PUSHGATEWAY=http://u:pw-77@127.0.0.1:9/x"), config.NeedStatus), rec)
	if err != nil || p == nil || p.String() != "http://127.0.0.1:9/x" {
		t.Errorf("with METRICS_PUSHGATEWAY: %v, %v", p, err)
	}
}

// The handler of /metrics answers GET and HEAD with the recorded runs and
// the process' metrics, in the text format; other methods get 405.
func TestMetricsHandlerServesGetAndHeadOnly(t *testing.T) {
	t.Parallel()
	rec := metrics.NewRecorder()
	rec.Observe(runner.Event{Kind: runner.EventChecked, Org: runner.Org{Source: "acme"}, Check: &runner.OrgCheck{}})
	srv := httptest.NewServer(wiring.MetricsHandler(rec))
	t.Cleanup(srv.Close)
	s := promtest.Scrape(t, srv.URL)
	if s.Value(t, metrics.LastRunSuccess, "organization", "acme", "command", "check") != 1 {
		t.Error("the recorded check is not served")
	}
	if len(s.Find("go_goroutines")) != 1 || len(s.Find("process_start_time_seconds")) != 1 {
		t.Error("no process metrics")
	}
	resp, err := http.Head(srv.URL)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("HEAD = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("x"))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
