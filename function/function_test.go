package function

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/sethvargo/go-envconfig"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

// The secrets of the test environment: none may show in a log or reply.
const (
	srcToken = "src-token-5f1c9a"
	dstToken = "dst-token-7d2e4b"
	password = "pull-password-9a8b7c"
)

// sourceRepos are the repositories of each source organisation.
var sourceRepos = map[string][]string{
	"acme": {"app", "web", "db"},
	"beta": {"tools"},
}

// env is a function served by func-go on loopback, syncing between two
// emulated Quays.
type env struct {
	t        *testing.T
	src, dst *fake.Registry
	dstEm    *quaytest.Emulator
	f        *Function
	addr     string
	client   cloudevents.Client
	logs     *syncBuffer
	rec      *metrics.Recorder // the runs, served at /metrics
}

type envOptions struct {
	// extra settings, over the defaults of newEnv.
	settings map[string]string
	// gate, when set, holds Start until it is closed.
	gate chan struct{}
	// destinationTokens replaces the destination token of organisations.
	destinationTokens map[string]string
	// runner are options of the runner, after the configuration's.
	runner []runner.Option
}

// newEnv seeds the Quays and starts the function service with a
// configuration of the settings, as `quaymirror serve` builds it. Tests
// using it cannot be parallel: func-go reads LISTEN_ADDRESS from the
// process's environment.
func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, src: fake.New(), dst: fake.New(), logs: &syncBuffer{}, rec: metrics.NewRecorder()}

	srcEm, err := quaytest.New(e.src)
	must(t, err)
	// The source token: repo:read (and user:read, for the preflight's
	// whoami) of a user who sees every repository.
	must(t, srcEm.AddAdmin("src-reader", srcToken, quaytest.ScopeRepoRead, quaytest.ScopeUserRead))
	dstEm, err := quaytest.New(e.dst)
	must(t, err)
	e.dstEm = dstEm
	// The destination token: an organisation admin's, with the scopes
	// quaymirror needs.
	must(t, dstEm.AddAdmin("dst-admin", dstToken, quaytest.ScopeRepoAdmin, quaytest.ScopeRepoCreate, quaytest.ScopeOrgAdmin, quaytest.ScopeUserRead))
	for org, repos := range sourceRepos {
		for _, r := range repos {
			must(t, e.src.AddRepository(quaymirror.Repository{Namespace: org, Name: r}))
		}
		must(t, e.dst.AddRobot(org, "mirror"))
	}
	srcSrv := httptest.NewServer(srcEm)
	t.Cleanup(srcSrv.Close)
	dstSrv := httptest.NewServer(dstEm)
	t.Cleanup(dstSrv.Close)

	// Credentials as the deployment mounts them: files.
	dir := t.TempDir()
	srcDir, dstDir, credDir := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "cred")
	for _, d := range []string{srcDir, dstDir, credDir} {
		must(t, os.Mkdir(d, 0o700))
	}
	for org := range sourceRepos {
		token := dstToken
		if tok, ok := o.destinationTokens[org]; ok {
			token = tok
		}
		must(t, os.WriteFile(filepath.Join(srcDir, org), []byte(srcToken+"\n"), 0o600))
		must(t, os.WriteFile(filepath.Join(dstDir, org), []byte(token+"\n"), 0o600))
	}
	must(t, os.WriteFile(filepath.Join(credDir, "quay_username"), []byte("svc-pull\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(credDir, "quay_password"), []byte(password+"\n"), 0o600))

	settings := map[string]string{
		"SOURCE_REGISTRY":        srcSrv.URL,
		"DESTINATION_REGISTRY":   dstSrv.URL,
		"SOURCE_REFERENCE_HOST":  "quay-source.example.com",
		"ORGANIZATIONS":          "acme,beta",
		"ROBOT_NAME":             "mirror",
		"SOURCE_TOKENS_DIR":      srcDir,
		"DESTINATION_TOKENS_DIR": dstDir,
		"QUAY_CREDENTIALS_DIR":   credDir,
		"QPS":                    "0",
		"CONCURRENCY":            "1",
		"TIMEOUT":                "5m",
	}
	for k, v := range o.settings {
		settings[k] = v
	}
	t.Setenv("LISTEN_ADDRESS", "127.0.0.1:0")

	entered := make(chan struct{})
	e.f = New(func(ctx context.Context, _ map[string]string) (*Setup, error) {
		close(entered)
		if o.gate != nil {
			<-o.gate
		}
		return e.setup(ctx, settings, o.runner)
	})
	svc := newService(e.f, wiring.MetricsHandler(e.rec))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service stopped with %v", err)
		}
		e.checkNoSecretLogged()
	})
	select {
	case <-entered: // Start runs after the listener is set
	case err := <-done:
		t.Fatalf("service stopped: %v", err)
	}
	e.addr = svc.Addr().String()
	e.client, err = cloudevents.NewClientHTTP()
	must(t, err)
	return e
}

// setup builds the function's Setup from settings as `quaymirror serve`
// does: JSON logs, the runner of the configuration recording metrics into
// e.rec (and pushing them, with METRICS_PUSHGATEWAY), and the sink.
func (e *env) setup(ctx context.Context, settings map[string]string, opts []runner.Option) (*Setup, error) {
	c, err := config.Parse(ctx, envconfig.MapLookuper(settings))
	if err != nil {
		return nil, err
	}
	cfg, err := config.Resolve(c, config.NeedSync)
	if err != nil {
		return nil, err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "quaymirror", Level: hclog.Info, JSONFormat: true, Output: e.logs})
	if cfg.Debug {
		logger.SetLevel(hclog.Debug)
	}
	r, err := wiring.NewWithMetrics(cfg, logger, e.rec, opts...)
	if err != nil {
		return nil, err
	}
	return &Setup{Runner: r, Orgs: wiring.Orgs(cfg), DryRun: bool(cfg.DryRun), Logger: logger, Sink: string(cfg.Sink)}, nil
}

// tick sends a PingSource-shaped event and returns the reply, its status
// and its report.
func (e *env) tick(data string) (*event.Event, int, *runner.Result) {
	e.t.Helper()
	ev := event.New()
	ev.SetID(uuid.NewString())
	ev.SetSource("/apis/v1/namespaces/quay-mirror/pingsources/quaymirror-acme")
	ev.SetType(PingEventType)
	ev.SetTime(time.Now())
	if data != "" {
		must(e.t, ev.SetData(cloudevents.ApplicationJSON, []byte(data)))
	}
	ctx := cloudevents.ContextWithTarget(context.Background(), "http://"+e.addr)
	reply, result := e.client.Request(ctx, ev)
	var res *cehttp.Result
	if !cloudevents.ResultAs(result, &res) {
		e.t.Fatalf("no HTTP result: %v", result)
	}
	if reply == nil {
		return nil, res.StatusCode, nil
	}
	for _, secret := range []string{srcToken, dstToken, password} {
		if bytes.Contains(reply.Data(), []byte(secret)) {
			e.t.Errorf("the reply shows a secret")
		}
	}
	var run runner.Result
	if err := reply.DataAs(&run); err != nil {
		e.t.Fatalf("reply data: %v", err)
	}
	return reply, res.StatusCode, &run
}

func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get("http://" + e.addr + path)
	must(e.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *env) checkNoSecretLogged() {
	logs := e.logs.String()
	for _, secret := range []string{srcToken, dstToken, password} {
		if strings.Contains(logs, secret) {
			e.t.Errorf("a secret was logged")
		}
	}
}

// converged checks the destination organisation mirrors its source.
func (e *env) converged(org string) {
	e.t.Helper()
	for _, name := range sourceRepos[org] {
		r, ok := e.dst.Repository(org, name)
		if !ok || r.State != quaymirror.StateMirror {
			e.t.Errorf("%s/%s: present %v, state %s; want a mirror", org, name, ok, r.State)
			continue
		}
		m, ok := e.dst.Mirror(org, name)
		if !ok || m.Config.ExternalReference != "quay-source.example.com/"+org+"/"+name || m.Config.Robot != org+"+mirror" {
			e.t.Errorf("%s/%s mirror = %+v", org, name, m.Config)
		}
	}
}

func outcomeOf(t *testing.T, reply *event.Event) runner.Outcome {
	t.Helper()
	if reply == nil {
		t.Fatal("no reply event")
	}
	if reply.Type() != ReportEventType {
		t.Errorf("reply type %s", reply.Type())
	}
	v, ok := reply.Extensions()["outcome"].(string)
	if !ok {
		t.Errorf("reply has no outcome: %v", reply.Extensions())
	}
	return runner.Outcome(v)
}

func TestTickSyncsAndReplies(t *testing.T) {
	gate := make(chan struct{})
	e := newEnv(t, envOptions{gate: gate})

	// Until Start is done: not ready, alive, and events wait.
	if code, _ := e.get("/health/readiness"); code != http.StatusServiceUnavailable {
		t.Errorf("readiness before Start = %d, want 503", code)
	}
	if code, body := e.get("/health/liveness"); code != http.StatusOK || body != "ALIVE" {
		t.Errorf("liveness = %d %q", code, body)
	}
	close(gate)
	<-e.f.started
	if code, body := e.get("/health/readiness"); code != http.StatusOK || body != "READY" {
		t.Errorf("readiness after Start = %d %q", code, body)
	}
	if code, _ := e.get("/"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET / = %d, want 405", code)
	}

	reply, code, run := e.tick(`{"organization":"acme"}`)
	if code != http.StatusOK || outcomeOf(t, reply) != runner.OutcomeOK {
		t.Fatalf("status %d outcome %v, want 200 ok; report %+v", code, reply.Extensions(), run)
	}
	if reply.Subject() != "acme" || !strings.HasPrefix(reply.Source(), "/quaymirror") {
		t.Errorf("reply subject %q source %q", reply.Subject(), reply.Source())
	}
	if len(run.Organizations) != 1 || run.Organizations[0].Organization != "acme" || run.Organizations[0].Created != 3 || run.Interrupted {
		t.Fatalf("report = %+v", run)
	}
	e.converged("acme")
	if _, ok := e.dst.Repository("beta", "tools"); ok {
		t.Error("a tick for acme synced beta")
	}

	// The next tick finds nothing to do; a tick without data syncs all.
	_, code, run = e.tick("")
	if code != http.StatusOK || len(run.Organizations) != 2 {
		t.Fatalf("status %d, report %+v", code, run)
	}
	if r := run.Organizations[0]; r.Organization != "acme" || r.Unchanged != 3 || r.Created != 0 {
		t.Errorf("second acme run = %+v", r.Counts)
	}
	e.converged("beta")

	// A dry run writes nothing.
	must(t, e.src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "new"}))
	writes := e.dst.Writes()
	_, code, run = e.tick(`{"organization":"acme","dry_run":true}`)
	if code != http.StatusOK || !run.DryRun || run.Organizations[0].Created != 1 || e.dst.Writes() != writes {
		t.Errorf("dry run: status %d, report %+v, %d writes", code, run, e.dst.Writes()-writes)
	}
}

func TestBadEventsAre400(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, data := range []string{
		`{"organization":"nope"}`,
		`{"organizations":["acme","nope"]}`,
		`{"organisation":"acme"}`,
		`not json`,
	} {
		reply, code, _ := e.tick(data)
		if code != http.StatusBadRequest || reply != nil {
			t.Errorf("%s: status %d, reply %v; want 400 and no report", data, code, reply)
		}
	}
	if n := e.dst.Writes() + e.src.Calls()[fake.OpCurrentUser]; n != 0 {
		t.Errorf("refused events caused %d calls", n)
	}
}

func TestConcurrentDeliveriesShareOneSync(t *testing.T) {
	joined := make(chan string, 1)
	e := newEnv(t, envOptions{runner: []runner.Option{runner.WithObserver(func(ev runner.Event) {
		if ev.Kind == runner.EventJoined {
			joined <- ev.Organization
		}
	})}})
	<-e.f.started
	// Hold the first sync at its first source call until a second
	// delivery of the same tick has joined it.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.src.SetHook(func(ctx context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCurrentUser {
			once.Do(func() { close(entered); <-release })
		}
		return nil
	})
	type result struct {
		reply *event.Event
		code  int
		run   *runner.Result
	}
	results := make(chan result, 2)
	send := func() {
		reply, code, run := e.tick(`{"organization":"acme"}`)
		results <- result{reply, code, run}
	}
	go send()
	<-entered
	go send()
	if org := <-joined; org != "acme" {
		t.Errorf("joined %s", org)
	}
	close(release)
	a, b := <-results, <-results
	for _, r := range []result{a, b} {
		if r.code != http.StatusOK || r.run == nil || r.run.Organizations[0].Created != 3 {
			t.Errorf("status %d report %+v", r.code, r.run)
		}
	}
	if a.run.Organizations[0].Duration != b.run.Organizations[0].Duration {
		t.Error("the two replies carry different runs")
	}
	if n := e.src.Calls()[fake.OpCurrentUser]; n != 1 {
		t.Errorf("%d syncs started, want 1", n)
	}
	if n := e.dst.Calls()[fake.OpCreateRepository]; n != 3 {
		t.Errorf("%d repositories created, want 3", n)
	}
	e.converged("acme")
}

func TestFailedRepositoryIs500WithTheReport(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A 400 from the destination: the client does not retry it.
	e.dst.FailOn(fake.OpCreateMirror, "acme", "web", fmt.Errorf("%w: injected", quaymirror.ErrInvalid))
	reply, code, run := e.tick(`{"organization":"acme"}`)
	if code != http.StatusInternalServerError || outcomeOf(t, reply) != runner.OutcomeFailed {
		t.Fatalf("status %d outcome %v, want 500 failed", code, reply)
	}
	org := run.Organizations[0]
	if org.Failed != 1 || org.Created+org.Configured != 2 {
		t.Errorf("counts = %+v", org.Counts)
	}
	var failed string
	for _, r := range org.Repositories {
		if r.Outcome == quaymirror.OutcomeFailed {
			failed = r.Name
		}
	}
	if failed != "web" {
		t.Errorf("failed repository %q, want web", failed)
	}
	// The next tick repairs it.
	e.dst.ClearFailures()
	if _, code, _ := e.tick(`{"organization":"acme"}`); code != http.StatusOK {
		t.Errorf("next tick: %d", code)
	}
	e.converged("acme")
}

func TestPreflightFailureIs500AndWritesNothing(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"ROBOT_NAME": "absent"}})
	reply, code, run := e.tick(`{"organization":"acme"}`)
	if code != http.StatusInternalServerError || outcomeOf(t, reply) != runner.OutcomePreflightFailed {
		t.Fatalf("status %d outcome %v, want 500 preflight_failed", code, reply)
	}
	failed := run.Organizations[0].Preflight.Failed()
	if !run.PreflightFailed || run.Organizations[0].Error == "" || len(failed) != 1 || !strings.Contains(failed[0].Name, "robot") {
		t.Errorf("report = %+v, failed checks %+v; want the robot check alone", run.Organizations[0], failed)
	}
	if n := e.dst.Writes(); n != 0 {
		t.Errorf("%d writes after a failed preflight", n)
	}
}

// The time budget runs out while the first repository is written (the
// test moves the runner's clock from the destination's hook, so nothing
// depends on how fast the machine is): that repository finishes, no other
// starts, the reply is 200 partial, and the next tick completes.
func TestTimeBudgetGivesAPartialRunTheNextTickCompletes(t *testing.T) {
	clock := runnertest.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	const budget = 7 * time.Minute
	e := newEnv(t, envOptions{settings: map[string]string{"TIMEOUT": budget.String()}, runner: []runner.Option{runner.WithClock(clock)}})
	<-e.f.started
	var once sync.Once
	e.dst.SetHook(func(ctx context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository {
			once.Do(func() { clock.Advance(budget) })
		}
		return nil
	})
	reply, code, run := e.tick(`{"organizations":["acme","beta"]}`)
	if code != http.StatusOK || outcomeOf(t, reply) != runner.OutcomePartial || !run.Interrupted {
		t.Fatalf("status %d outcome %v interrupted %v, want 200 partial", code, reply.Extensions(), run.Interrupted)
	}
	acme, beta := run.Organizations[0], run.Organizations[1]
	if acme.Created != 1 || acme.NotStarted != 2 || acme.Failed != 0 {
		t.Errorf("acme counts = %+v", acme.Counts)
	}
	if beta.Outcome != runner.OutcomePartial || !strings.Contains(beta.Error, "time budget") || len(e.dst.Repositories("beta")) != 0 {
		t.Errorf("beta = %+v", beta)
	}
	e.dst.SetHook(nil)
	if reply, code, _ := e.tick(`{"organization":"acme"}`); code != http.StatusOK || outcomeOf(t, reply) != runner.OutcomeOK {
		t.Errorf("next tick: %d %v", code, reply.Extensions())
	}
	e.converged("acme")
}

// A tick whose slice would not fit in its budget is narrowed before any
// mirror is read, and the reply says so (the estimate): the event is
// answered within its time instead of running into Knative's timeout.
// The round trip is measured on the injected clock, which the
// destination's listing moves by a minute a page.
func TestTickNarrowsItsSliceToItsBudget(t *testing.T) {
	clock := runnertest.NewClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	e := newEnv(t, envOptions{settings: map[string]string{"TIMEOUT": "4m"}, runner: []runner.Option{runner.WithClock(clock)}})
	if _, code, run := e.tick(`{"organization":"acme"}`); code != http.StatusOK || run.Organizations[0].Created != 3 {
		t.Fatalf("first tick: %d %+v", code, run)
	}
	e.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpListRepositories {
			clock.Advance(time.Minute)
		}
		return nil
	})
	// 3 minutes left, 2.7 planned: two of the three mirror reads fit.
	reply, code, run := e.tick(`{"organization":"acme"}`)
	if code != http.StatusOK || outcomeOf(t, reply) != runner.OutcomeOK {
		t.Fatalf("status %d outcome %s", code, outcomeOf(t, reply))
	}
	acme := run.Organizations[0]
	x := acme.Estimate
	if x == nil || !x.Narrowed || x.Left != 180 || x.Note == "" || x.Requests > 2 || acme.Slices < 2 || acme.Checked != x.Requests ||
		acme.Checked+acme.Unchecked != 3 || acme.Unchanged != acme.Checked {
		t.Errorf("estimate %+v; slice %d of %d, counts %+v", x, acme.Slice, acme.Slices, acme.Counts)
	}
	if !strings.Contains(e.logs.String(), "estimate: reading all 3 mirrors does not fit") {
		t.Errorf("the narrowing is not logged:\n%s", e.logs.String())
	}
}

// One organisation's expired destination token does not stop the other:
// the good one converges, the bad one is reported with its fix and
// nothing is written to it, and the status is 500 preflight_failed.
func TestOneOrganizationsBadTokenLeavesTheOtherConverging(t *testing.T) {
	e := newEnv(t, envOptions{destinationTokens: map[string]string{"beta": "expired-token-1234"}})
	reply, code, run := e.tick("")
	if code != http.StatusInternalServerError || outcomeOf(t, reply) != runner.OutcomePreflightFailed || !run.PreflightFailed {
		t.Fatalf("status %d outcome %s, want 500 preflight_failed", code, outcomeOf(t, reply))
	}
	acme, beta := run.Organizations[0], run.Organizations[1]
	if acme.Organization != "acme" || acme.Outcome != runner.OutcomeOK || acme.Created != 3 {
		t.Errorf("acme = %+v", acme)
	}
	e.converged("acme")
	failed := beta.Preflight.Failed()
	if beta.Outcome != runner.OutcomePreflightFailed || len(failed) != 1 || failed[0].Name != "destination credentials" || failed[0].Fix == "" {
		t.Errorf("beta = %+v, failed checks %+v", beta, failed)
	}
	if n := len(e.dst.Repositories("beta")); n != 0 {
		t.Errorf("%d repositories written to beta", n)
	}
}

// A Configure that fails stops the service with its error.
func TestServeStopsWhenStartFails(t *testing.T) {
	t.Setenv("LISTEN_ADDRESS", "127.0.0.1:0")
	bad := errors.New("SYNC_INTERVAL: 10s is below the minimum of 1m0s")
	err := Serve(context.Background(), New(func(context.Context, map[string]string) (*Setup, error) { return nil, bad }), false, nil)
	if !errors.Is(err, bad) {
		t.Errorf("Serve = %v, want Start's error", err)
	}
}

// No outcome of a sync answers a status the PingSource adapter retries.
func TestStatusesAreChosenForThePingSource(t *testing.T) {
	t.Parallel()
	retried := map[int]bool{404: true, 413: true, 425: true, 429: true, 502: true, 503: true, 504: true}
	want := map[runner.Outcome]int{
		runner.OutcomeOK: 200, runner.OutcomePartial: 200, runner.OutcomeFailed: 500, runner.OutcomePreflightFailed: 500,
	}
	for o, code := range want {
		if got := Status(o); got != code || retried[got] {
			t.Errorf("Status(%s) = %d, want %d", o, got, code)
		}
	}
}

func TestServiceTimeoutsAreLifted(t *testing.T) {
	t.Parallel()
	svc := newService(New(nil), nil)
	if svc.ReadTimeout != 0 || svc.WriteTimeout != 0 {
		t.Errorf("read/write timeouts %v/%v: a sync past them would answer nothing (502, redelivered)", svc.ReadTimeout, svc.WriteTimeout)
	}
	if svc.ReadHeaderTimeout <= 0 {
		t.Error("no limit on reading request headers")
	}
}

func TestOversizeBodyIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	<-e.f.started
	body := `{"organization":"` + strings.Repeat("a", maxBody) + `"}`
	req, err := http.NewRequest(http.MethodPost, "http://"+e.addr+"/", strings.NewReader(body))
	must(t, err)
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Type": PingEventType, "Ce-Source": "test", "Ce-Id": "1",
		"Content-Type": "application/json"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400 (413 would be retried by the PingSource adapter)", resp.StatusCode)
	}
	if n := e.src.Calls()[fake.OpCurrentUser]; n != 0 {
		t.Errorf("an oversize event started %d syncs", n)
	}
}

func TestStopInterruptsAndWaits(t *testing.T) {
	e := newEnv(t, envOptions{})
	<-e.f.started
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.dst.SetHook(func(ctx context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository {
			once.Do(func() { close(entered); <-release })
		}
		return nil
	})
	done := make(chan *runner.Result, 1)
	go func() { _, _, run := e.tick(`{"organization":"acme"}`); done <- run }()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- e.f.Stop(context.Background()) }()
	// Stop waits for the repository in flight...
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a repository was in flight", err)
	case run := <-done:
		t.Fatalf("the sync ended while a repository was in flight: %+v", run)
	default:
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	// ...then the run ends interrupted, and new requests are refused.
	run := <-done
	if run == nil || !run.Interrupted || run.Organizations[0].NotStarted == 0 {
		t.Errorf("report = %+v", run)
	}
	if ready, _ := e.f.Ready(context.Background()); ready {
		t.Error("ready after Stop")
	}
	if _, code, _ := e.tick(`{"organization":"acme"}`); code != http.StatusServiceUnavailable {
		t.Errorf("tick after Stop = %d, want 503", code)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// With DEBUG on and a flaky destination (retries logged at debug level),
// neither the logs nor the reply show a token or the password.
func TestDebugLogsOverFaultsShowNoSecret(t *testing.T) {
	e := newEnv(t, envOptions{settings: map[string]string{"DEBUG": "true"}})
	must(t, e.dstEm.SetFaults(quaytest.Faults{Seed: 3, ErrorRate: 0.1, ResetRate: 0.05, RateLimitRate: 0.05}))
	reply, status, _ := e.tick(`{"organization": "acme"}`)
	if status != 200 || outcomeOf(t, reply) != runner.OutcomeOK {
		t.Fatalf("status %d, outcome %s", status, outcomeOf(t, reply))
	}
	e.converged("acme")
	logs := e.logs.String()
	if !strings.Contains(logs, `"@level":"debug"`) || !strings.Contains(logs, "retried") {
		t.Fatalf("no debug log of a retry was written: the test would prove nothing\n%s", logs)
	}
	e.checkNoSecretLogged()
}
