package quaymirror_test

import (
	"context"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

func TestCheckHealth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seed := func(name string, st quaymirror.MirrorStatus, enabled bool) {
		must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: name, State: quaymirror.StateMirror}))
		cfg := desired(name)
		cfg.Enabled = enabled
		must(t, w.dst.PutMirror(org, name, quaymirror.Mirror{Config: cfg, Status: st}))
	}
	seed("ok", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, RetriesRemaining: 3}, true)
	seed("running", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSyncing, Expiration: clock.Add(time.Hour)}, true)
	seed("stuck", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSyncing, Expiration: clock.Add(-time.Hour)}, true)
	seed("failing", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail, RetriesRemaining: 2}, true)
	seed("new", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncNeverRun, RetriesRemaining: 3}, true)
	seed("off", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess}, false)
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "broken", State: quaymirror.StateMirror}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "plain", Tags: []string{"x"}}))
	must(t, w.dst.AddSyncLog(org, "failing", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: clock.Add(-2 * time.Hour), Message: "older failure"}))
	must(t, w.dst.AddSyncLog(org, "failing", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: clock.Add(-time.Hour), Message: "unauthorized: access to the requested resource is not authorized"}))
	must(t, w.dst.AddSyncLog(org, "failing", quaymirror.SyncLog{Kind: quaymirror.LogSyncStarted, Time: clock.Add(-30 * time.Minute)}))

	opts := quaymirror.HealthOptions{Now: func() time.Time { return clock }}
	h, err := quaymirror.CheckHealth(context.Background(), w.dst, org, opts)
	must(t, err)
	if h.Mirrors != 7 || h.Failing != 1 || h.Stuck != 1 || h.NeverRun != 1 || h.Disabled != 1 || h.Unreadable != 1 || h.Healthy() {
		t.Errorf("health = %+v", h)
	}
	if h.ByStatus[quaymirror.SyncSyncing] != 2 || h.ByStatus[quaymirror.SyncSuccess] != 2 {
		t.Errorf("by status = %v", h.ByStatus)
	}
	problems := map[string]quaymirror.MirrorHealth{}
	for _, m := range h.Repositories {
		problems[m.Name] = m
	}
	if len(problems) != 5 || problems["failing"].LastError == "" || problems["failing"].LastError[:12] != "unauthorized" {
		t.Errorf("problem mirrors = %+v", h.Repositories)
	}
	if w.dst.Writes() != 0 {
		t.Error("status without heal wrote")
	}

	opts.Heal = true
	h, err = quaymirror.CheckHealth(context.Background(), w.dst, org, opts)
	must(t, err)
	if m := problemOf(h, "stuck"); !m.Healed {
		t.Errorf("stuck mirror not healed: %+v", m)
	}
	if m, _ := w.dst.Mirror(org, "stuck"); m.Status.SyncStatus != quaymirror.SyncNow {
		t.Errorf("stuck mirror after heal: %s, want SYNC_NOW", m.Status.SyncStatus)
	}
	if calls := w.dst.Calls(); calls[fake.OpCancelSync] != 1 || calls[fake.OpSyncNow] != 1 || w.dst.Writes() != 2 {
		t.Errorf("heal calls = %v, want one cancel and one sync-now for the one stuck mirror", calls)
	}
	if m, _ := w.dst.Mirror(org, "running"); m.Status.SyncStatus != quaymirror.SyncSyncing {
		t.Error("a running synchronisation was touched")
	}
}

func problemOf(h *quaymirror.Health, name string) quaymirror.MirrorHealth {
	for _, m := range h.Repositories {
		if m.Name == name {
			return m
		}
	}
	return quaymirror.MirrorHealth{}
}
