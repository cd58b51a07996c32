package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

var update = flag.Bool("update", false, "rewrite the golden files of the text reports")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.MkdirAll("testdata", 0o755))
		must(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run TestTextReports -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/cli -run TestTextReports -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

const (
	docker = "internal-docker-io"
	redhat = "internal-registry-redhat-io"
	gone   = "internal-gone"
)

// goldenWorld is a destination where docker's mirrors were first made
// with the tag glob v* from an older source listing, a source that has
// moved on since, and redhat, whose robot is missing.
type goldenWorld struct {
	src, dst *fake.Registry
	clock    *runnertest.Clock
}

func newGoldenWorld(t *testing.T) *goldenWorld {
	t.Helper()
	start := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	w := &goldenWorld{src: fake.New(), dst: fake.New(fake.WithClock(func() time.Time { return start })), clock: runnertest.NewClock(start)}
	old := fake.New()
	for _, name := range []string{"library/nginx", "library/redis", "old/tool"} {
		must(t, old.AddRepository(quaymirror.Repository{Namespace: docker, Name: name}))
	}
	for _, name := range []string{"library/nginx", "library/redis", "bitnami/kafka", "library/postgres"} {
		must(t, w.src.AddRepository(quaymirror.Repository{Namespace: docker, Name: name}))
	}
	must(t, w.src.AddRepository(quaymirror.Repository{Namespace: redhat, Name: "ubi9/ubi"}))
	must(t, w.dst.AddRobot(docker, "mirror"))
	must(t, w.dst.AddOrganization(redhat))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: docker, Name: "library/postgres", Tags: []string{"15", "hand-pushed"}}))
	first := w.runner(t, func(string) quaymirror.Source { return old })
	org := goldenOrg(docker)
	org.Policy.TagGlobs = []string{"v*"}
	res, err := first.Sync(t.Context(), []runner.Org{org})
	must(t, err)
	if res.Outcome != runner.OutcomeOK {
		t.Fatalf("first sync: %+v", res)
	}
	return w
}

func (w *goldenWorld) runner(t *testing.T, source func(org string) quaymirror.Source, opts ...runner.Option) *runner.Runner {
	t.Helper()
	r, err := runner.New(func(_ context.Context, o runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		if o.Source == gone {
			return nil, nil, errors.New("no token file for organization internal-gone in /secrets/source")
		}
		return source(o.Source), w.dst, nil
	}, append([]runner.Option{runner.WithRate(0, 0), runner.WithConcurrency(1), runner.WithClock(w.clock)}, opts...)...)
	must(t, err)
	return r
}

func goldenOrg(name string) runner.Org {
	return runner.Org{Source: name, Policy: quaymirror.Policy{
		SourceRegistry: "quay.example.com", Robot: name + "+mirror", Username: "reader", Password: "secret-9f8e",
	}}
}

func goldenOrgs(names ...string) []runner.Org {
	out := make([]runner.Org, len(names))
	for i, n := range names {
		out[i] = goldenOrg(n)
	}
	return out
}

// The text reports of plan, sync, check and status, on a run that holds
// every kind of line they print, are kept as golden files.
func TestTextReports(t *testing.T) {
	t.Parallel()
	w := newGoldenWorld(t)
	r := w.runner(t, func(string) quaymirror.Source { return w.src })
	var buf bytes.Buffer

	plan, err := r.Plan(t.Context(), goldenOrgs(docker, redhat))
	must(t, err)
	writeRunText(&buf, plan)
	golden(t, "plan.txt", buf.Bytes())

	checks, err := r.Check(t.Context(), goldenOrgs(docker, redhat, gone))
	must(t, err)
	buf.Reset()
	writeChecksText(&buf, checks)
	golden(t, "check.txt", buf.Bytes())

	w.dst.FailOn(fake.OpCreateMirror, docker, "bitnami/kafka", fmt.Errorf("400 Bad Request: %w", quaymirror.ErrInvalid))
	res, err := r.Sync(t.Context(), goldenOrgs(docker, redhat, gone))
	must(t, err)
	buf.Reset()
	writeRunText(&buf, res)
	golden(t, "sync.txt", buf.Bytes())

	// The mirror workers ran: one mirror failed, one worker died.
	now := w.clock.Now()
	must(t, w.dst.SetMirrorStatus(docker, "library/nginx", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail, RetriesRemaining: 2}))
	must(t, w.dst.AddSyncLog(docker, "library/nginx", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: now.Add(-time.Minute),
		Message: "unauthorized: access to the requested resource is not authorized"}))
	must(t, w.dst.SetMirrorStatus(docker, "library/redis", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSyncing, Expiration: now.Add(-time.Hour)}))
	health, err := r.Status(t.Context(), []runner.Org{{Source: docker}}, false)
	must(t, err)
	buf.Reset()
	writeHealthText(&buf, health)
	golden(t, "status.txt", buf.Bytes())
}

// A run cut by its budget says which repositories and organisations were
// not started.
func TestTextReportOfAnInterruptedRun(t *testing.T) {
	t.Parallel()
	w := newGoldenWorld(t)
	const budget = 5 * time.Minute
	r := w.runner(t, func(string) quaymirror.Source { return w.src }, runner.WithBudget(budget))
	var once sync.Once
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpUpdateMirror {
			once.Do(func() { w.clock.Advance(budget) })
		}
		return nil
	})
	res, err := r.Sync(t.Context(), goldenOrgs(docker, redhat))
	must(t, err)
	var buf bytes.Buffer
	writeRunText(&buf, res)
	golden(t, "sync-interrupted.txt", buf.Bytes())
}
