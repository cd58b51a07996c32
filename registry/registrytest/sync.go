package registrytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

var allStatuses = []quaymirror.SyncStatus{
	quaymirror.SyncNeverRun, quaymirror.SyncNow, quaymirror.SyncSyncing,
	quaymirror.SyncSuccess, quaymirror.SyncFail, quaymirror.SyncCancel,
}

// withStatus seeds a mirror in the given status; retries are 0 for CANCEL
// (as Quay leaves them) and 2 otherwise; a SYNCING mirror has an
// expiration.
func (e *env) withStatus(t *testing.T, name string, s quaymirror.SyncStatus, enabled bool) quaymirror.Mirror {
	t.Helper()
	e.repo(name, withState(quaymirror.StateMirror))
	cfg := e.baseConfig(name)
	cfg.Enabled = enabled
	st := quaymirror.MirrorStatus{SyncStatus: s, NextSync: cfg.SyncStartDate, RetriesRemaining: 2}
	switch s {
	case quaymirror.SyncCancel:
		st.RetriesRemaining, st.NextSync = 0, time.Time{}
	case quaymirror.SyncSyncing:
		st.Expiration = time.Date(2026, 1, 3, 3, 4, 5, 0, time.UTC)
	}
	m := quaymirror.Mirror{Config: cfg, Status: st}
	must(t, e.store.PutMirror(e.org, name, m))
	must(t, e.store.GrantPermission(e.org, name, e.robot(), quaymirror.RoleWrite))
	return m
}

func testSync(t *testing.T, h Harness) {
	t.Run("SyncNow", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		for _, s := range allStatuses {
			for _, enabled := range []bool{true, false} {
				name := fmt.Sprintf("from-%s-%v", s, enabled)
				name = lower(name)
				before := e.withStatus(t, name, s, enabled)
				err := e.backend.SyncNow(t.Context(), e.org, name)
				after := e.storedMirror(t, name)
				if s == quaymirror.SyncSyncing {
					wantErr(t, "SyncNow of a SYNCING mirror", err, quaymirror.ErrNotFound)
					if after.Status != before.Status {
						t.Errorf("refused SyncNow changed the status of a SYNCING mirror to %+v", after.Status)
					}
					continue
				}
				if !wantOK(t, fmt.Sprintf("SyncNow from %s (enabled %v)", s, enabled), err) {
					continue
				}
				want := before.Status
				want.SyncStatus = quaymirror.SyncNow
				want.Expiration = time.Time{}
				want.RetriesRemaining = max(before.Status.RetriesRemaining, 1)
				if after.Status != want {
					t.Errorf("SyncNow from %s: status %+v, want %+v", s, after.Status, want)
				}
				reportDiff(t, "configuration after SyncNow", configDiff(after.Config, before.Config, true))
			}
		}
	})

	t.Run("CancelSync", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		for _, s := range allStatuses {
			name := lower("cancel-" + string(s))
			before := e.withStatus(t, name, s, true)
			err := e.backend.CancelSync(t.Context(), e.org, name)
			after := e.storedMirror(t, name)
			if s != quaymirror.SyncSyncing && s != quaymirror.SyncNow {
				wantErr(t, "CancelSync from "+string(s), err, quaymirror.ErrNotFound)
				if after.Status != before.Status {
					t.Errorf("refused CancelSync from %s changed the status to %+v", s, after.Status)
				}
				continue
			}
			if !wantOK(t, "CancelSync from "+string(s), err) {
				continue
			}
			if after.Status.SyncStatus != quaymirror.SyncCancel || after.Status.RetriesRemaining != 0 {
				t.Errorf("CancelSync from %s: status %+v, want CANCEL with no retries left", s, after.Status)
			}
			reportDiff(t, "configuration after CancelSync", configDiff(after.Config, before.Config, true))
		}
	})

	t.Run("ReadStatus", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		for _, s := range allStatuses {
			name := lower("status-" + string(s))
			seeded := e.withStatus(t, name, s, true)
			got, err := e.backend.GetMirror(t.Context(), e.org, name)
			if !wantOK(t, "GetMirror", err) {
				continue
			}
			if got.Status != seeded.Status {
				t.Errorf("status of a %s mirror read back as %+v, want %+v", s, got.Status, seeded.Status)
			}
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("plain")
		for _, name := range []string{"plain", "nope"} {
			wantErr(t, "SyncNow of "+name, e.backend.SyncNow(t.Context(), e.org, name), quaymirror.ErrNotFound)
			wantErr(t, "CancelSync of "+name, e.backend.CancelSync(t.Context(), e.org, name), quaymirror.ErrNotFound)
		}
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}
