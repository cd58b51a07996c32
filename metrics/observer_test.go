package metrics_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
)

// countingGateway is a real Pushgateway behind a proxy that counts the
// pushes to each group.
type countingGateway struct {
	*promtest.Pushgateway
	URL    string // the proxy's
	mu     sync.Mutex
	pushes map[string]int // by group: "organization/command"
}

func startCountingGateway(t *testing.T) *countingGateway {
	t.Helper()
	g := &countingGateway{Pushgateway: promtest.StartPushgateway(t), pushes: map[string]int{}}
	target, err := url.Parse(g.Pushgateway.URL)
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The grouping key's labels come in any order.
		if rest, ok := strings.CutPrefix(r.URL.Path, "/metrics/job/quaymirror/"); ok {
			kv := strings.Split(rest, "/")
			key := map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				key[kv[i]] = kv[i+1]
			}
			g.mu.Lock()
			g.pushes[key["organization"]+"/"+key["command"]]++
			g.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// count returns the pushes to the group of org's cmd runs so far.
func (g *countingGateway) count(org string, cmd runner.Command) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pushes[org+"/"+string(cmd)]
}

// A runner observed by a Pusher pushes each organisation once its run
// ends, with what the run reported: after a sync, after a run stopped
// halfway (the organisation stopped is pushed, the one not started is
// not), after a status, and once for a run that another call joined.
func TestObserverPushesEachOrganizationOnceItsRunEnds(t *testing.T) {
	t.Parallel()
	gw := startCountingGateway(t)
	w := newWorld(t)
	p, err := metrics.NewPusher(gw.URL, w.rec, nil)
	must(t, err)
	var logs bytes.Buffer // written on the runs' goroutines, read between runs
	push := p.Observer(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}))
	joined := make(chan string, 1)
	r := w.newRunner(t, func(e runner.Event) {
		if e.Kind == runner.EventJoined {
			joined <- e.Organization
		}
		push(e)
	})
	group := func(org, cmd string, kv ...string) []string {
		return append([]string{"job", "quaymirror", "organization", org, "command", cmd}, kv...)
	}

	w.clock.Advance(time.Minute)
	t1 := w.clock.Now()
	res, err := r.Sync(t.Context(), orgs("acme", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeOK {
		t.Fatalf("outcome %s", res.Outcome)
	}
	s := gw.Scrape(t)
	for _, o := range res.Organizations {
		if n := gw.count(o.Organization, runner.CommandSync); n != 1 {
			t.Errorf("%s pushed %d times, want once", o.Organization, n)
		}
		if s.Value(t, metrics.LastRun, group(o.Organization, "sync")...) != unix(t1) ||
			s.Value(t, metrics.Repositories, group(o.Organization, "sync", "outcome", "created")...) != float64(o.Created) || o.Created == 0 {
			t.Errorf("%s: the push is not the run's report %+v", o.Organization, o.Counts)
		}
	}
	if !strings.Contains(logs.String(), "metrics pushed") {
		t.Errorf("no debug line for the pushes:\n%s", logs.String())
	}

	// A run stopped while acme's first new repository is written: acme
	// ends interrupted and is pushed as a run that did not succeed; beta
	// is not started, not pushed.
	for _, n := range []string{"new1", "new2"} {
		must(t, w.src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: n}))
	}
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository {
			once.Do(cancel)
		}
		return nil
	})
	w.clock.Advance(time.Minute)
	t2 := w.clock.Now()
	res, err = r.Sync(ctx, orgs("acme", "beta"))
	must(t, err)
	w.dst.SetHook(nil)
	acme := res.Organizations[0]
	if !res.Interrupted || acme.NotStarted == 0 || res.Organizations[1].Error == "" {
		t.Fatalf("the run was not stopped halfway: %+v", res)
	}
	s = gw.Scrape(t)
	if gw.count("acme", runner.CommandSync) != 2 || gw.count("beta", runner.CommandSync) != 1 {
		t.Errorf("pushes after the stopped run: acme %d, beta %d; want 2 and 1",
			gw.count("acme", runner.CommandSync), gw.count("beta", runner.CommandSync))
	}
	if s.Value(t, metrics.LastRun, group("acme", "sync")...) != unix(t2) ||
		s.Value(t, metrics.LastRunSuccess, group("acme", "sync")...) != 0 ||
		s.Value(t, metrics.LastRun, group("beta", "sync")...) != unix(t1) {
		t.Error("the stopped run's push is not its report")
	}

	// A status: its own group, once.
	if _, err := r.Status(t.Context(), orgs("acme"), false); err != nil {
		t.Fatal(err)
	}
	if n := gw.count("acme", runner.CommandStatus); n != 1 {
		t.Errorf("status pushed %d times", n)
	}

	// Two calls of one sync of acme: one run, one push.
	entered, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	w.src.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpListRepositories {
			hold.Do(func() { close(entered); <-release })
		}
		return nil
	})
	done := make(chan error, 2)
	call := func() {
		_, err := r.Sync(context.Background(), orgs("acme"))
		done <- err
	}
	go call()
	<-entered
	go call()
	if org := <-joined; org != "acme" {
		t.Errorf("joined %s", org)
	}
	close(release)
	must(t, <-done)
	must(t, <-done)
	if n := gw.count("acme", runner.CommandSync); n != 3 {
		t.Errorf("a joined sync pushed %d times, want once", n-2)
	}
}

// A Pushgateway that cannot be reached costs a warning per organisation,
// one line without the password; the run, its result and its recorded
// metrics are what they would have been.
func TestObserverWarnsOfAFailedPushAndTheRunStands(t *testing.T) {
	t.Parallel()
	const password = "pgw-pass-4d1e"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := l.Addr().String()
	must(t, l.Close()) // nobody listens there any more
	w := newWorld(t)
	p, err := metrics.NewPusher("http://pusher:"+password+"@"+closed, w.rec, nil)
	must(t, err)
	var logs bytes.Buffer // written on the runs' goroutines, read between runs
	r := w.newRunner(t, p.Observer(hclog.New(&hclog.LoggerOptions{Output: &logs, JSONFormat: true})))
	res, err := r.Sync(t.Context(), orgs("acme", "beta"))
	must(t, err)
	if res.Outcome != runner.OutcomeOK || res.Organizations[0].Created != 3 || res.Organizations[1].Created != 1 {
		t.Errorf("outcome %s, %+v", res.Outcome, res.Organizations)
	}
	s := samples(t, w.rec)
	for _, org := range []string{"acme", "beta"} {
		if s.Value(t, metrics.LastRunSuccess, "organization", org, "command", "sync") != 1 {
			t.Errorf("%s: the run is not recorded", org)
		}
	}
	var warnings []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "pushing the metrics failed; the run's result stands") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], `"organization":"acme"`) || !strings.Contains(warnings[1], `"organization":"beta"`) ||
		!strings.Contains(warnings[0], closed) || !strings.Contains(warnings[0], `"command":"sync"`) ||
		!strings.Contains(warnings[0], `"@level":"warn"`) || strings.Contains(logs.String(), password) {
		t.Errorf("warnings %q\nlogs:\n%s", warnings, logs.String())
	}
}
