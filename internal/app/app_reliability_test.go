package app_test

import (
	"context"
	"testing"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// A run stopped during the preflight (a signal, the time budget) writes
// nothing and returns a report that says it was interrupted, every
// organisation not started, rather than an error without a report.
func TestStoppedDuringPreflightIsReportedInterrupted(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	a, r := start(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first organisation's destination check stops the run.
	d.Destination.Fake.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpGetOrganization {
			cancel()
		}
		return nil
	})
	run, err := a.Sync(ctx, r.Orgs, false)
	if err != nil {
		t.Fatalf("Sync = %v, want a report", err)
	}
	if !run.Interrupted || run.OK() || len(run.Organizations) != len(r.Orgs) {
		t.Fatalf("run = %+v, want interrupted with every organization", run)
	}
	for _, o := range run.Organizations {
		if o.Error == "" || o.Report == nil || len(o.Repositories) != 0 {
			t.Errorf("%s: error %q, report %+v; want not started", o.Organization, o.Error, o.Report)
		}
	}
	if w := d.Destination.Emulator.Writes(); w != 0 {
		t.Errorf("%d writes", w)
	}
}
