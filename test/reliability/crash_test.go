package reliability

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// crashOrg is an organisation with every kind of work: n repositories of
// which the destination already has 5 mirrors with an old tag glob
// (update), 3 empty NORMAL repositories (configure), one NORMAL
// repository holding a tag (left alone), and a mirror of a repository gone
// from the source (orphan, disabled with DISABLE_ORPHANS). The rest is
// missing (create).
func crashOrg(name string, n int) demo.Org {
	o := oneOrg(name, n)
	o.Destination = func(dst *fake.Registry) error {
		mirror := func(repo string) error {
			if err := dst.AddRepository(quaymirror.Repository{Namespace: name, Name: repo, State: quaymirror.StateMirror}); err != nil {
				return err
			}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			return dst.PutMirror(name, repo, quaymirror.Mirror{Config: quaymirror.MirrorConfig{
				Enabled: true, ExternalReference: "placeholder/" + name + "/" + repo, Username: demo.PullUsername,
				SyncInterval: time.Hour, SyncStartDate: start,
				TagGlobs: []string{"old-*"}, Robot: name + "+mirror", VerifyTLS: true,
			}, Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, NextSync: start, RetriesRemaining: 3}})
		}
		for i := range 5 {
			if err := mirror(o.Repositories[i].Name); err != nil {
				return err
			}
		}
		for i := 5; i < 8; i++ {
			if err := dst.AddRepository(quaymirror.Repository{Namespace: name, Name: o.Repositories[i].Name, State: quaymirror.StateNormal}); err != nil {
				return err
			}
		}
		if err := dst.AddRepository(quaymirror.Repository{Namespace: name, Name: o.Repositories[8].Name, State: quaymirror.StateNormal,
			Tags: []string{"hand-pushed"}}); err != nil {
			return err
		}
		return mirror("gone-from-the-source")
	}
	return o
}

// crashTagGlobs is the crash runs' TAG_GLOB.
var crashTagGlobs = []string{"v*", "latest"}

// crashEnv is the environment of the crash runs.
func crashEnv(d *demo.Env, org string) []string {
	return d.Environ("ORGANIZATIONS="+org, "OUTPUT=json", `TAG_GLOB=["v*","latest"]`, "SYNC_INTERVAL=3600", "DISABLE_ORPHANS=true")
}

// crashSeed is the seed of the kill moments: QUAYMIRROR_CRASH_SEED when
// set (to replay a failure), a new one each soak run, 1 otherwise.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("QUAYMIRROR_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		must(t, err)
		return n
	}
	if soak() {
		return uint64(time.Now().UnixNano())
	}
	return 1
}

// A real quaymirror sync process is killed (SIGKILL) at random moments,
// at least 20 times (60 under make soak), against the same emulated
// destination; then one run goes to its end. The final state equals that
// of an uninterrupted run: no duplicate repository, no repository in
// MIRROR state without a configuration, no configuration lost or altered.
// After every kill each mirror configuration is either as it was before
// or as the uninterrupted run leaves it, and the repository holding tags
// is untouched.
func TestCrashConsistency(t *testing.T) {
	t.Parallel()
	n, kills := size(200, 400), size(20, 60)
	const org = "crash"
	faults := quaytest.Faults{Seed: 3, Latency: 2 * time.Millisecond, Jitter: 6 * time.Millisecond, ErrorRate: 0.03, ResetRate: 0.02}
	opts := demo.Options{Orgs: []demo.Org{crashOrg(org, n)}, DestinationFaults: faults}

	// The uninterrupted run, on a registry pair of its own. Quay's mirror
	// worker runs before it (the existing mirrors hold what they select)
	// and after it, as after every run below: a repository half-written
	// by a killed run shows in the tags the worker gives it.
	ref := startDemo(t, opts)
	fixReferences(t, ref, org)
	refWorker := newMirrorWorker(ref)
	refWorker.pass()
	initial := normalized(snapshot(t, ref.Destination.Fake, org), ref.Source.URL)
	r := runBinary(t, crashEnv(ref, org), "sync")
	if r.code != 0 {
		t.Fatalf("uninterrupted run:\n%s", r)
	}
	refElapsed := r.elapsed
	refWorker.pass()
	want := normalized(snapshot(t, ref.Destination.Fake, org), ref.Source.URL)
	for name, s := range want {
		if s.State == quaymirror.StateMirror && s.Mirror != nil && s.Mirror.Enabled && !slices.Equal(s.Tags, selected(sourceTags, crashTagGlobs)) {
			t.Fatalf("after the uninterrupted run and the mirror worker, %s holds %v, not its source's %v", name, s.Tags, selected(sourceTags, crashTagGlobs))
		}
	}

	d := startDemo(t, opts)
	fixReferences(t, d, org)
	worker := newMirrorWorker(d)
	worker.pass()
	if got := normalized(snapshot(t, d.Destination.Fake, org), d.Source.URL); len(diffStates(initial, got)) > 0 {
		t.Fatalf("the two registry pairs start different:\n%s", strings.Join(diffStates(initial, got), "\n"))
	}
	env := crashEnv(d, org)
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("kill moments seeded with %d (QUAYMIRROR_CRASH_SEED=%d replays them); an uninterrupted run takes %s",
		seed, seed, refElapsed.Round(time.Millisecond))

	// A full convergence makes about three writes per repository. Kills at
	// a write number land anywhere in a repository's sequence of writes
	// (past the first writes of the workers, which are all creations) and
	// spend about two thirds of them over the loop; kills at a request
	// number (reads included) and after a delay land anywhere, preflight
	// and planning included, and still kill once every repository has
	// converged.
	maxWrite := max(2, 2*3*n/kills)
	maxDelay := max(10*time.Millisecond, refElapsed/4)
	killed := 0
	for i := 0; killed < kills && i < 4*kills; i++ {
		var k kill
		switch rng.IntN(4) {
		case 0, 1:
			k.write = 1 + rng.Int64N(int64(maxWrite))
		case 2:
			k.request = 1 + rng.Int64N(40)
		default:
			k.delay = time.Duration(rng.Int64N(int64(maxDelay)))
		}
		died, r, writes := killAt(t, d, env, k)
		if died {
			killed++
			t.Logf("run %d: SIGKILL %s (%d writes sent)", i+1, k, writes)
		} else {
			t.Logf("run %d: ended by itself with exit %d before the kill %s (%d writes)", i+1, r.code, k, writes)
			if r.code != 0 && r.code != 1 {
				t.Fatalf("run %d:\n%s", i+1, r)
			}
		}
		worker.pass()
		checkCrashState(t, org, initial, want, normalized(snapshot(t, d.Destination.Fake, org), d.Source.URL))
		if t.Failed() {
			t.Fatalf("after run %d (seed %d)", i+1, seed)
		}
	}
	if killed < kills {
		t.Fatalf("only %d processes were killed, want %d", killed, kills)
	}

	r = runBinary(t, env, "sync")
	if r.code != 0 {
		t.Fatalf("clean run after %d kills:\n%s", killed, r)
	}
	worker.pass()
	got := normalized(snapshot(t, d.Destination.Fake, org), d.Source.URL)
	if diff := diffStates(want, got); len(diff) > 0 {
		t.Fatalf("after %d kills and a clean run the destination differs from an uninterrupted run's (seed %d):\n%s",
			killed, seed, strings.Join(diff, "\n"))
	}
	d.Destination.Emulator.ResetCounters()
	if r := runBinary(t, env, "sync"); r.code != 0 || d.Destination.Emulator.Writes() != 0 {
		t.Errorf("the run after convergence sent %d writes:\n%s", d.Destination.Emulator.Writes(), r)
	}
}

// kill is when a run is killed: at the destination's write number write
// of the run, at its request number request (reads included), or after
// delay.
type kill struct {
	write, request int64
	delay          time.Duration
}

func (k kill) String() string {
	switch {
	case k.write > 0:
		return fmt.Sprintf("at write %d", k.write)
	case k.request > 0:
		return fmt.Sprintf("at request %d", k.request)
	}
	return "after " + k.delay.Round(time.Microsecond).String()
}

// killAt runs quaymirror sync and kills it with SIGKILL at the moment k
// says. The process talks to the destination through a listener of its
// own, closed after it, so that what a killed process left in flight does
// not count for the next one. A request that triggers the kill reaches the
// destination after the process is dead, as a request in flight would.
// killAt reports whether the process died of the kill, and the writes the
// destination received.
func killAt(t *testing.T, d *demo.Env, env []string, k kill) (bool, result, int64) {
	t.Helper()
	var proc atomic.Pointer[os.Process] // set once started
	exited := make(chan struct{})
	var once sync.Once
	doKill := func() { once.Do(func() { _ = proc.Load().Signal(syscall.SIGKILL) }) }
	var writes, requests atomic.Int64
	dst := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit := requests.Add(1) == k.request
		if r.Method != http.MethodGet {
			hit = writes.Add(1) == k.write || hit
		}
		if hit {
			doKill()
			<-exited
		}
		d.Destination.Emulator.ServeHTTP(w, r)
	}))
	cmd, out, errOut := command(t, append(env, "DESTINATION_REGISTRY="+dst.URL), "sync")
	start := time.Now()
	must(t, cmd.Start())
	proc.Store(cmd.Process)
	if k.write == 0 && k.request == 0 {
		timer := time.AfterFunc(k.delay, doKill)
		defer timer.Stop()
	}
	err := cmd.Wait()
	close(exited)
	dst.Drain(t)
	r := result{stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start), code: cmd.ProcessState.ExitCode()}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("quaymirror: %v", err)
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws.Signaled() && ws.Signal() == syscall.SIGKILL, r, writes.Load()
}

// checkCrashState checks the destination after a kill: every repository of
// the initial state is still there; no repository is in MIRROR state
// without a configuration; each configuration is as it was or as the
// uninterrupted run leaves it; a repository created by a run is empty, and
// NORMAL (created, not yet configured) or as the uninterrupted run leaves
// it.
func checkCrashState(t *testing.T, org string, initial, want, got map[string]repoState) {
	t.Helper()
	checkNoMirrorWithoutConfig(t, org, got)
	for name, s := range got {
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: a repository the uninterrupted run does not have", name)
			continue
		}
		if s.String() == w.String() {
			continue
		}
		if before, existed := initial[name]; existed {
			if s.String() != before.String() {
				t.Errorf("%s is neither as it was nor as it should end:\n   got    %s\n   before %s\n   want   %s", name, s, before, w)
			}
			continue
		}
		if s.State != quaymirror.StateNormal || s.Mirror != nil || len(s.Tags) != 0 {
			t.Errorf("%s, created by a killed run, is neither new and empty nor as it should end:\n   got  %s\n   want %s", name, s, w)
		}
	}
	for name := range initial {
		if _, ok := got[name]; !ok {
			t.Errorf("%s was deleted", name)
		}
	}
}
