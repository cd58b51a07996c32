package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/quaymirror/quaymirror/internal/app"
	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

func start(t *testing.T, d *demo.Env, extra ...string) (*app.App, *config.Resolved) {
	t.Helper()
	c, err := config.Parse(context.Background(), config.MapLookuper(d.Environ(extra...)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Resolve(c, config.NeedSync)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, r
}

// One organisation failing its preflight keeps every organisation from
// being written: the run stops before the first write.
func TestPreflightOfEveryOrganizationPrecedesAnyWrite(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	// The second organization's robot is missing; the first is fine.
	d.Destination.Fake.FailOn(fake.OpGetRobot, "internal-registry-redhat-io", "", fmt.Errorf("robot: %w", quaymirror.ErrNotFound))
	a, r := start(t, d)
	run, err := a.Sync(context.Background(), r.Orgs, false)
	if !errors.Is(err, app.ErrPreflight) || !run.PreflightFailed || run.OK() {
		t.Fatalf("Sync = %v, %+v", err, run)
	}
	if run.Organizations[0].Error != "" || run.Organizations[1].Error == "" {
		t.Errorf("errors = %q, %q; want only the second organization's", run.Organizations[0].Error, run.Organizations[1].Error)
	}
	if w := d.Destination.Emulator.Writes(); w != 0 {
		t.Errorf("%d writes although a preflight failed", w)
	}
}

// A cancelled run starts no organisation and says so.
func TestCancelledRunIsInterrupted(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	a, r := start(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run, err := a.Sync(ctx, r.Orgs, false)
	if err == nil && (run.OK() || d.Destination.Emulator.Writes() != 0) {
		t.Errorf("a cancelled run = %+v with %d writes", run, d.Destination.Emulator.Writes())
	}
}
