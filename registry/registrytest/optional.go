package registrytest

import (
	"errors"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

func testOptional(t *testing.T, h Harness) {
	t.Run("CurrentUser", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		a, ok := e.backend.(quaymirror.Authenticator)
		if !ok {
			t.Skip("the backend does not implement quaymirror.Authenticator")
		}
		u, err := a.CurrentUser(t.Context())
		if wantOK(t, "CurrentUser", err) && (u == nil || u.Username == "") {
			t.Errorf("CurrentUser = %+v, want a user with a name", u)
		}
	})

	t.Run("GetOrganization", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		r, ok := e.backend.(quaymirror.OrganizationReader)
		if !ok {
			t.Skip("the backend does not implement quaymirror.OrganizationReader")
		}
		o, err := r.GetOrganization(t.Context(), e.org)
		if wantOK(t, "GetOrganization", err) {
			if o.Name != e.org {
				t.Errorf("GetOrganization returned %q, want %q", o.Name, e.org)
			}
			if !o.IsAdmin || !o.IsMember {
				t.Errorf("IsAdmin, IsMember = %v, %v; the harness's credentials must administer the organization", o.IsAdmin, o.IsMember)
			}
		}
		_, err = r.GetOrganization(t.Context(), "nosuch"+e.org)
		wantErr(t, "GetOrganization of a missing organization", err, quaymirror.ErrNotFound)
	})

	t.Run("GetRobot", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		r, ok := e.backend.(quaymirror.RobotReader)
		if !ok {
			t.Skip("the backend does not implement quaymirror.RobotReader")
		}
		must(t, e.store.SetRobotDescription(e.org, "mirror", "pushes mirrored images"))
		rb, err := r.GetRobot(t.Context(), e.org, "mirror")
		if wantOK(t, "GetRobot", err) && (rb.Name != e.robot() || rb.Description != "pushes mirrored images") {
			t.Errorf("GetRobot = %+v, want name %q and the description", rb, e.robot())
		}
		_, err = r.GetRobot(t.Context(), e.org, "ghost")
		wantErr(t, "GetRobot of a missing robot", err, quaymirror.ErrNotFound)
	})

	t.Run("CreateRobot", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		c, ok := e.backend.(quaymirror.RobotCreator)
		if !ok {
			t.Skip("the backend does not implement quaymirror.RobotCreator")
		}
		rb, err := c.CreateRobot(t.Context(), e.org, "builder", "made by the suite")
		if wantOK(t, "CreateRobot", err) {
			if rb == nil || rb.Name != e.org+"+builder" {
				t.Errorf("CreateRobot returned %+v, want name %s+builder", rb, e.org)
			}
			if s, ok := e.store.Robot(e.org, "builder"); !ok || s.Description != "made by the suite" {
				t.Errorf("store has robot %+v (exists %v), want it with its description", s, ok)
			}
		}
		_, err = c.CreateRobot(t.Context(), e.org, "builder", "again")
		wantErr(t, "second CreateRobot", err, quaymirror.ErrAlreadyExists)
		if s, _ := e.store.Robot(e.org, "builder"); s.Description == "again" {
			t.Error("a refused CreateRobot changed the robot")
		}
	})

	t.Run("SetPermission", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		w, ok := e.backend.(quaymirror.PermissionWriter)
		if !ok {
			t.Skip("the backend does not implement quaymirror.PermissionWriter")
		}
		e.repo("app")
		for _, role := range []quaymirror.Role{quaymirror.RoleRead, quaymirror.RoleAdmin, quaymirror.RoleWrite} {
			if wantOK(t, "SetPermission "+string(role), w.SetPermission(t.Context(), e.org, "app", e.robot(), role)) {
				if got := e.store.Permission(e.org, "app", e.robot()); got != role {
					t.Errorf("after SetPermission(%s) the store has %q", role, got)
				}
			}
		}
		foreign := e.org + "f"
		must(t, e.store.AddRobot(foreign, "mirror"))
		err := w.SetPermission(t.Context(), e.org, "app", foreign+"+mirror", quaymirror.RoleWrite)
		wantErr(t, "SetPermission for a robot of another organization", err, quaymirror.ErrInvalid)
		if got := e.store.Permission(e.org, "app", foreign+"+mirror"); got != "" {
			t.Errorf("a refused SetPermission granted %q", got)
		}
	})

	t.Run("Capabilities", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		if _, ok := e.backend.(quaymirror.CapabilityReader); !ok {
			t.Skip("the backend does not implement quaymirror.CapabilityReader")
		}
		want, err := e.store.Capabilities(t.Context())
		must(t, err)
		if e.caps != want {
			t.Errorf("Capabilities = %+v, the server has %+v", e.caps, want)
		}
	})

	t.Run("OrganizationMirrored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		r, ok := e.backend.(quaymirror.OrgMirrorReader)
		if !ok {
			t.Skip("the backend does not implement quaymirror.OrgMirrorReader")
		}
		got, err := r.OrganizationMirrored(t.Context(), e.org)
		if wantOK(t, "OrganizationMirrored", err) && got {
			t.Error("OrganizationMirrored = true for an organization without organization-level mirroring")
		}
		e.repo("before")
		must(t, e.store.SetOrganizationMirrored(e.org, true))
		locked := e.store.IsOrganizationMirrored(e.org)
		got, err = r.OrganizationMirrored(t.Context(), e.org)
		if wantOK(t, "OrganizationMirrored", err) && got != locked {
			t.Errorf("OrganizationMirrored = %v for a mirrored organization; the server's capabilities make it %v", got, locked)
		}
		if !locked {
			return
		}
		isLock := func(err error) bool {
			return errors.Is(err, quaymirror.ErrOrgMirrored) || errors.Is(err, quaymirror.ErrInvalid)
		}
		err = e.backend.CreateRepository(t.Context(), quaymirror.Repository{Namespace: e.org, Name: "new", Visibility: quaymirror.Private})
		if !isLock(err) {
			t.Errorf("CreateRepository in a mirrored organization: error = %v, want ErrOrgMirrored (or ErrInvalid)", err)
		}
		if _, ok := e.store.Repository(e.org, "new"); ok {
			t.Error("CreateRepository created a repository in a mirrored organization")
		}
		if !e.caps.RepositoryMirroring {
			return
		}
		if err := e.backend.ChangeState(t.Context(), e.org, "before", quaymirror.StateReadOnly); !isLock(err) {
			t.Errorf("ChangeState in a mirrored organization: error = %v, want ErrOrgMirrored (or ErrInvalid)", err)
		}
		if err := e.backend.CreateMirror(t.Context(), e.org, "before", e.baseConfig("before")); !isLock(err) {
			t.Errorf("CreateMirror in a mirrored organization: error = %v, want ErrOrgMirrored (or ErrInvalid)", err)
		}
		if r := e.stored("before"); r.State != quaymirror.StateNormal {
			t.Errorf("refused calls changed the state to %s", r.State)
		}
		if _, ok := e.store.Mirror(e.org, "before"); ok {
			t.Error("CreateMirror stored a configuration in a mirrored organization")
		}
	})

	t.Run("SyncLogs", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		r, ok := e.backend.(quaymirror.SyncLogReader)
		if !ok {
			t.Skip("the backend does not implement quaymirror.SyncLogReader")
		}
		e.repo("app", withState(quaymirror.StateMirror))
		now := time.Now().UTC().Truncate(time.Second)
		seeded := []quaymirror.SyncLog{
			{Kind: quaymirror.LogSyncStarted, Time: now.Add(-3 * time.Hour), Message: "started"},
			{Kind: quaymirror.LogTagFailed, Time: now.Add(-2 * time.Hour), Message: "manifest unknown", Tag: "v1"},
			{Kind: quaymirror.LogSyncFailed, Time: now.Add(-1 * time.Hour), Message: "1 tag failed"},
		}
		for _, l := range seeded {
			must(t, e.store.AddSyncLog(e.org, "app", l))
		}
		got, err := r.SyncLogs(t.Context(), e.org, "app")
		if !wantOK(t, "SyncLogs", err) {
			return
		}
		if len(got) != len(seeded) {
			t.Fatalf("SyncLogs returned %d events, want %d: %+v", len(got), len(seeded), got)
		}
		for i, l := range got {
			w := seeded[len(seeded)-1-i] // newest first
			if l.Kind != w.Kind || l.Message != w.Message || l.Tag != w.Tag || !l.Time.Equal(w.Time) {
				t.Errorf("event %d = %+v, want %+v", i, l, w)
			}
		}
	})
}
