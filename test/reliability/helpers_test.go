package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/quaymirror/quaymirror/runner"
)

// soak reports whether the long variants run (make soak).
func soak() bool { return os.Getenv("QUAYMIRROR_SOAK") == "1" }

// size returns short under make test and long under make soak.
func size[T any](short, long T) T {
	if soak() {
		return long
	}
	return short
}

// binDir holds the quaymirror binary built for the tests that run it as a
// process. TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quaymirror-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
}

// binary builds ./cmd/quaymirror once per test process and returns its
// path.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("the go command is not on PATH: %w", err)
			return
		}
		out := filepath.Join(binDir, "quaymirror")
		cmd := exec.Command(goCmd, "build", "-o", out, "github.com/quaymirror/quaymirror/cmd/quaymirror")
		if b, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/quaymirror: %v\n%s", err, b)
			return
		}
		build.path = out
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// result is what one quaymirror run printed and returned.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
	// waits are the waits between attempts the run's Quay clients asked
	// for (in-process runs only).
	waits []time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.elapsed.Round(time.Millisecond), clip(r.stdout), clip(r.stderr))
}

func clip(s string) string {
	const n = 4000
	if len(s) <= n {
		return s
	}
	return s[:n/2] + "\n...\n" + s[len(s)-n/2:]
}

// runCLI runs quaymirror in the test process (cli.Run is what main calls).
// Its Quay clients retry at once instead of waiting the backoff or the
// Retry-After they chose: the waits are recorded in the result, no test
// spends them on a clock.
func runCLI(ctx context.Context, environ []string, args ...string) result {
	return runCLISleeping(ctx, noWait, environ, args...)
}

// runCLISleeping is runCLI with sleep doing the waits between attempts.
func runCLISleeping(ctx context.Context, sleep quay.RetrySleep, environ []string, args ...string) result {
	var (
		mu    sync.Mutex
		waits []time.Duration
	)
	ctx = quay.ContextWithRetrySleep(ctx, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return sleep(ctx, d)
	})
	var out, errOut bytes.Buffer
	start := time.Now()
	code := cli.Run(ctx, args, environ, &out, &errOut)
	mu.Lock()
	defer mu.Unlock()
	return result{code: code, stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start), waits: waits}
}

// noWait is a RetrySleep that does not wait.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// command returns the quaymirror binary as a process with exactly environ
// (no inherited proxy or other variables).
func command(t *testing.T, environ []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = environ
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	return cmd, &out, &errOut
}

// runBinary runs the binary to its end.
func runBinary(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	cmd, out, errOut := command(t, environ, args...)
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start)}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("quaymirror did not run: %v", err)
	}
	r.code = cmd.ProcessState.ExitCode()
	return r
}

// decodeRun decodes the JSON report of sync or plan.
func decodeRun(t *testing.T, r result) *runner.Result {
	t.Helper()
	var run runner.Result
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&run); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, r)
	}
	return &run
}

// startDemo starts a source and a destination emulator on loopback.
func startDemo(t *testing.T, opts demo.Options) *demo.Env {
	t.Helper()
	env, err := demo.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// server is an HTTP server on a loopback port of its own.
type server struct {
	URL string
	srv *http.Server
}

// Close stops the server and closes its connections at once.
func (s *server) Close() { _ = s.srv.Close() }

// Drain stops the server once the requests it is handling are done (those
// of a killed client included), so that their effects are complete.
func (s *server) Drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatalf("requests still in flight a minute after the client ended: %v", err)
	}
}

// serve serves h on a new loopback port until the test ends or Close.
func serve(t *testing.T, h http.Handler) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	s := &server{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(s.Close)
	return s
}

// sourceTags are the tags of every source repository of oneOrg.
var sourceTags = []string{"dev-1", "latest", "old-1", "v1.0.0", "v2.0.0"}

// oneOrg is an organisation of n source repositories named repo-00000...,
// each holding sourceTags.
func oneOrg(name string, n int) demo.Org {
	repos := demo.Repositories(name, "repo", n)
	for i := range repos {
		repos[i].Description = "repository " + repos[i].Name
		repos[i].Tags = slices.Clone(sourceTags)
	}
	return demo.Org{Name: name, Repositories: repos}
}

// selected returns the tags Quay's mirror worker copies: those of tags
// that one of globs matches, sorted.
func selected(tags, globs []string) []string {
	var out []string
	for _, tag := range tags {
		if slices.ContainsFunc(globs, func(g string) bool { return quaymirror.MatchGlob(g, tag) }) {
			out = append(out, tag)
		}
	}
	slices.Sort(out)
	return out
}

// mirrorWorker plays Quay's mirror worker (fake.Registry.SyncMirrors) on
// a demo's destination, with the demo's source as the registry the
// mirrors pull from. Each pass runs two days after the previous one, past
// every sync interval the tests use, so every enabled mirror is due: as
// if the worker had run between two quaymirror runs an interval apart.
type mirrorWorker struct {
	dst    *fake.Registry
	source fake.MirrorSource
	now    time.Time
}

func newMirrorWorker(d *demo.Env) *mirrorWorker {
	return &mirrorWorker{dst: d.Destination.Fake, source: d.Source.Fake.ServedAt(strings.TrimPrefix(d.Source.URL, "http://")), now: time.Now()}
}

// pass runs the worker once and returns how many mirrors it synchronised.
func (w *mirrorWorker) pass() int {
	w.now = w.now.Add(48 * time.Hour)
	return w.dst.SyncMirrors(w.now, w.source)
}

// repoState is one destination repository as the tests compare it.
type repoState struct {
	State  quaymirror.State
	Tags   []string
	Mirror *mirrorState
}

// mirrorState is a mirror configuration, password included, with the start
// date reduced to its phase in the interval: the engine staggers new
// mirrors by name, so the phase is what a rerun must keep (the date itself
// depends on when the mirror was created).
type mirrorState struct {
	quaymirror.MirrorConfig
	Password string
	Phase    int64
}

func (s repoState) String() string {
	m := "no mirror"
	if s.Mirror != nil {
		m = fmt.Sprintf("mirror{%+v phase %d}", s.Mirror.MirrorConfig, s.Mirror.Phase)
	}
	return fmt.Sprintf("%s tags %v %s", s.State, s.Tags, m)
}

// snapshot reads every repository of an organisation from the registry.
// It fails on a name listed twice.
func snapshot(t *testing.T, reg *fake.Registry, org string) map[string]repoState {
	t.Helper()
	out := make(map[string]repoState)
	for _, r := range reg.Repositories(org) {
		if _, dup := out[r.Name]; dup {
			t.Errorf("%s/%s exists twice", org, r.Name)
		}
		s := repoState{State: r.State, Tags: slices.Sorted(slices.Values(r.Tags))}
		if m, ok := reg.Mirror(org, r.Name); ok {
			ms := &mirrorState{MirrorConfig: m.Config, Password: m.Config.Password.Reveal()}
			ms.MirrorConfig.Password = ""
			if iv := int64(m.Config.SyncInterval / time.Second); iv > 0 {
				ms.Phase = m.Config.SyncStartDate.Unix() % iv
			}
			ms.MirrorConfig.SyncStartDate = time.Time{}
			s.Mirror = ms
		}
		out[r.Name] = s
	}
	return out
}

// normalized returns state with the source's host:port in external
// references replaced by "SOURCE", so that runs against different
// emulators compare.
func normalized(state map[string]repoState, sourceURL string) map[string]repoState {
	host := strings.TrimPrefix(sourceURL, "http://")
	out := make(map[string]repoState, len(state))
	for name, s := range state {
		if s.Mirror != nil {
			m := *s.Mirror
			m.ExternalReference = strings.Replace(m.ExternalReference, host, "SOURCE", 1)
			s.Mirror = &m
		}
		out[name] = s
	}
	return out
}

// checkNoMirrorWithoutConfig fails for every repository in MIRROR state
// without a mirror configuration: Quay refuses every push to one ("set as a
// mirror but the Mirror configuration is missing").
func checkNoMirrorWithoutConfig(t *testing.T, org string, state map[string]repoState) {
	t.Helper()
	for name, s := range state {
		if s.State == quaymirror.StateMirror && s.Mirror == nil {
			t.Errorf("%s/%s is in MIRROR state without a mirror configuration", org, name)
		}
	}
}

// diffStates lists how got differs from want.
func diffStates(want, got map[string]repoState) []string {
	var out []string
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			out = append(out, name+": missing")
		case g.String() != w.String() || (g.Mirror != nil && g.Mirror.Password != w.Mirror.Password):
			out = append(out, fmt.Sprintf("%s:\n   got  %s\n   want %s", name, g, w))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			out = append(out, name+": unexpected")
		}
	}
	slices.Sort(out)
	return out
}

// totals adds the counts of every organisation of a run.
func totals(run *runner.Result) quaymirror.Counts {
	var c quaymirror.Counts
	for _, o := range run.Organizations {
		if o.Report == nil {
			continue
		}
		c.Created += o.Created
		c.Configured += o.Configured
		c.Updated += o.Updated
		c.Unchanged += o.Unchanged
		c.Skipped += o.Skipped
		c.Orphaned += o.Orphaned
		c.Failed += o.Failed
		c.NotStarted += o.NotStarted
	}
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
