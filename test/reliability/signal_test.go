package reliability

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// signalRun runs quaymirror sync against d's destination and sends it the
// signals when the destination receives write number atWrite (atWrite 0:
// at its first request, during the preflight). It returns the run and how
// many writes reached the destination after the signals.
func signalRun(t *testing.T, d *demo.Env, env []string, atWrite int64, signals ...os.Signal) (result, int64) {
	t.Helper()
	var proc atomic.Pointer[os.Process]
	var writes, requests, after atomic.Int64
	var once sync.Once
	var signalled atomic.Bool
	dst := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		write := r.Method != http.MethodGet
		if write && signalled.Load() {
			after.Add(1)
		}
		if (write && writes.Add(1) == atWrite) || (atWrite == 0 && n == 1) {
			once.Do(func() {
				for _, s := range signals {
					_ = proc.Load().Signal(s)
				}
				signalled.Store(true)
			})
		}
		d.Destination.Emulator.ServeHTTP(w, r)
	}))
	cmd, out, errOut := command(t, append(env, "DESTINATION_REGISTRY="+dst.URL), "sync")
	start := time.Now()
	must(t, cmd.Start())
	proc.Store(cmd.Process)
	_ = cmd.Wait()
	dst.Drain(t)
	if !signalled.Load() {
		t.Fatalf("the run ended before the signal was sent")
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start)}, after.Load()
}

// SIGTERM and SIGINT stop a sync gracefully: no repository starts after
// the signal, the ones in flight finish (writes reach the destination
// after the signal, and every repository the run created is fully
// configured), the report says the run was interrupted, the exit code is
// 1; the next run completes the work.
func TestSignalStopsGracefully(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			const org, n = "graceful", 60
			// Latency keeps repositories in flight when the signal comes.
			d := startDemo(t, demo.Options{Orgs: []demo.Org{oneOrg(org, n)},
				DestinationFaults: quaytest.Faults{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}})
			env := d.Environ("OUTPUT=json")
			r, after := signalRun(t, d, env, 10, sig)
			run := decodeRun(t, r)
			c := totals(run)
			if r.code != 1 || !run.Interrupted || !run.Organizations[0].Interrupted || c.NotStarted == 0 || c.Failed != 0 || c.Created == 0 ||
				c.Created+c.NotStarted != n {
				t.Fatalf("want exit 1, interrupted, created and not started repositories, none failed: %+v\n%s", c, r)
			}
			if !strings.Contains(r.stderr, "stopping after the repositories in flight") {
				t.Errorf("stderr does not say the run is stopping:\n%s", r)
			}
			if after == 0 {
				t.Error("no write reached the destination after the signal: nothing was in flight, the test proved nothing")
			}
			// Quay's mirror worker runs: every repository the run created
			// is a working mirror of its source.
			worker := newMirrorWorker(d)
			worker.pass()
			state := snapshot(t, d.Destination.Fake, org)
			for name, s := range state {
				if s.State != quaymirror.StateMirror || s.Mirror == nil || !slices.Equal(s.Tags, sourceTags) {
					t.Errorf("%s/%s was left half-done: %s", org, name, s)
				}
			}
			if len(state) != c.Created {
				t.Errorf("%d repositories exist, the report says %d were created", len(state), c.Created)
			}
			t.Logf("%s after write 10: %d created, %d not started, %d writes after the signal, exit after %s",
				sig, c.Created, c.NotStarted, after, r.elapsed.Round(time.Millisecond))

			r = runBinary(t, env, "sync")
			if c := totals(decodeRun(t, r)); r.code != 0 || c.Created != n-len(state) || c.Unchanged != len(state) {
				t.Errorf("the next run: %+v\n%s", c, r)
			}
			worker.pass()
			for name, s := range snapshot(t, d.Destination.Fake, org) {
				if s.State != quaymirror.StateMirror || s.Mirror == nil || !slices.Equal(s.Tags, sourceTags) {
					t.Errorf("after the next run, %s/%s is not a working mirror: %s", org, name, s)
				}
			}
		})
	}
}

// A second signal ends the process at once with exit code 130.
func TestSecondSignalAborts(t *testing.T) {
	t.Parallel()
	d := startDemo(t, demo.Options{Orgs: []demo.Org{oneOrg("abort", 30)},
		DestinationFaults: quaytest.Faults{Latency: 20 * time.Millisecond}})
	r, _ := signalRun(t, d, d.Environ("OUTPUT=json"), 5, syscall.SIGTERM, syscall.SIGINT)
	if r.code != 130 {
		t.Errorf("want exit 130:\n%s", r)
	}
	checkNoMirrorWithoutConfig(t, "abort", snapshot(t, d.Destination.Fake, "abort"))
}

// A signal during the preflight writes nothing, and the report still says
// the run was interrupted.
func TestSignalDuringPreflight(t *testing.T) {
	t.Parallel()
	d := startDemo(t, demo.Options{Orgs: []demo.Org{oneOrg("early", 10)},
		DestinationFaults: quaytest.Faults{Latency: 20 * time.Millisecond}})
	r, _ := signalRun(t, d, d.Environ("OUTPUT=json"), 0, syscall.SIGTERM)
	if w := d.Destination.Emulator.Writes(); w != 0 {
		t.Errorf("%d writes after a signal during the preflight", w)
	}
	if r.code == 0 {
		t.Errorf("exit 0 for an interrupted run:\n%s", r)
	}
	run := decodeRun(t, r)
	if !run.Interrupted {
		t.Errorf("the report does not say the run was interrupted:\n%s", r)
	}
}
