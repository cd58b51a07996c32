package registrytest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// defaultSkopeoTimeout is the skopeo timeout a server that has one (Quay
// 3.15+, where it is required) gives a mirror created without one.
const defaultSkopeoTimeout = 300 * time.Second

// needMirroring skips the test when the backend reports repository
// mirroring disabled, after checking that mirror calls then fail without
// effect.
func (e *env) needMirroring(t *testing.T) {
	t.Helper()
	if e.caps.RepositoryMirroring {
		return
	}
	name := e.repo("disabled")
	err := e.backend.CreateMirror(t.Context(), e.org, name, e.baseConfig(name))
	if !errors.Is(err, quaymirror.ErrNotFound) && !errors.Is(err, quaymirror.ErrUnsupported) {
		t.Errorf("CreateMirror with repository mirroring disabled: error = %v, want ErrNotFound or ErrUnsupported", err)
	}
	if _, ok := e.store.Mirror(e.org, name); ok {
		t.Error("CreateMirror wrote a configuration with repository mirroring disabled")
	}
	t.Skip("the backend reports repository mirroring disabled")
}

func testMirror(t *testing.T, h Harness) {
	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("plain")
		_, err := e.backend.GetMirror(t.Context(), e.org, "plain")
		wantErr(t, "GetMirror of a repository without configuration", err, quaymirror.ErrNotFound)
		_, err = e.backend.GetMirror(t.Context(), e.org, "nope")
		wantErr(t, "GetMirror of a missing repository", err, quaymirror.ErrNotFound)
	})

	for _, tc := range []struct{ name, repo string }{{"Create", "app"}, {"CreateNested", "team/app/api"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, h)
			e.needMirroring(t)
			e.repo(tc.repo, withTags("old"))
			cfg := e.baseConfig(tc.repo)
			// A start date with a fraction of a second is sent in whole
			// seconds.
			cfg.SyncStartDate = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
			if !wantOK(t, "CreateMirror", e.backend.CreateMirror(t.Context(), e.org, tc.repo, cfg)) {
				return
			}
			want := cfg
			want.SyncStartDate = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

			if r := e.stored(tc.repo); r.State != quaymirror.StateMirror {
				t.Errorf("repository state after CreateMirror = %s, want MIRROR", r.State)
			}
			m, ok := e.store.Mirror(e.org, tc.repo)
			if !ok {
				t.Fatal("CreateMirror succeeded but the store has no configuration")
			}
			reportDiff(t, "stored configuration", configDiff(m.Config, want, true))
			if m.Status.SyncStatus != quaymirror.SyncNeverRun || m.Status.RetriesRemaining != 3 {
				t.Errorf("stored status %s with %d retries, want NEVER_RUN with 3", m.Status.SyncStatus, m.Status.RetriesRemaining)
			}
			if role := e.store.Permission(e.org, tc.repo, e.robot()); role != quaymirror.RoleWrite {
				t.Errorf("robot permission after CreateMirror = %q, want write", role)
			}

			got, err := e.backend.GetMirror(t.Context(), e.org, tc.repo)
			if !wantOK(t, "GetMirror", err) {
				return
			}
			if got.Config.Password != "" {
				t.Error("GetMirror returned the password")
			}
			reportDiff(t, "configuration read back", configDiff(got.Config, want, false))
			if got.Status.SyncStatus != quaymirror.SyncNeverRun || got.Status.RetriesRemaining != 3 {
				t.Errorf("status read back %s with %d retries, want NEVER_RUN with 3", got.Status.SyncStatus, got.Status.RetriesRemaining)
			}
			if !got.Status.NextSync.Equal(want.SyncStartDate) {
				t.Errorf("NextSync read back %v, want the start date %v", got.Status.NextSync, want.SyncStartDate)
			}
		})
	}

	t.Run("CreateMinimal", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("app")
		cfg := quaymirror.MirrorConfig{
			Enabled: true, ExternalReference: "quay-src.example.com/" + e.org + "/app",
			SyncInterval: time.Hour, SyncStartDate: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
			TagGlobs: []string{"*"}, Robot: e.robot(),
		}
		if !wantOK(t, "CreateMirror without credentials, proxy or TLS verification", e.backend.CreateMirror(t.Context(), e.org, "app", cfg)) {
			return
		}
		want := cfg
		if e.caps.SkopeoTimeout {
			// Zero means the server's default, which Quay 3.15+
			// requires: 300 s.
			want.SkopeoTimeout = defaultSkopeoTimeout
		}
		m, _ := e.store.Mirror(e.org, "app")
		reportDiff(t, "stored configuration", configDiff(m.Config, want, true))
		got, err := e.backend.GetMirror(t.Context(), e.org, "app")
		if wantOK(t, "GetMirror", err) {
			reportDiff(t, "configuration read back", configDiff(got.Config, want, false))
		}
	})

	t.Run("CreateUnsignedImages", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("app")
		cfg := e.baseConfig("app")
		cfg.UnsignedImages = true
		err := e.backend.CreateMirror(t.Context(), e.org, "app", cfg)
		if errors.Is(err, quaymirror.ErrUnsupported) {
			checkNoMirror(t, e, "app", "refused unsigned_images")
			t.Skip("the server does not accept unsigned_images")
		}
		if !wantOK(t, "CreateMirror", err) {
			return
		}
		got, err := e.backend.GetMirror(t.Context(), e.org, "app")
		if wantOK(t, "GetMirror", err) && !got.Config.UnsignedImages {
			t.Error("UnsignedImages read back false")
		}
	})

	t.Run("VersionDependentFields", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		for _, tc := range []struct {
			field     quaymirror.Field
			supported bool
			set       func(*quaymirror.MirrorConfig)
			isSet     func(quaymirror.MirrorConfig) bool
		}{
			{quaymirror.FieldSkopeoTimeout, e.caps.SkopeoTimeout,
				func(c *quaymirror.MirrorConfig) { c.SkopeoTimeout = 1200 * time.Second },
				func(c quaymirror.MirrorConfig) bool { return c.SkopeoTimeout == 1200*time.Second }},
			{quaymirror.FieldArchitectureFilter, e.archFilterUsable(),
				func(c *quaymirror.MirrorConfig) { c.ArchitectureFilter = []string{"s390x"} },
				func(c quaymirror.MirrorConfig) bool { return len(c.ArchitectureFilter) > 0 }},
		} {
			name := e.repo("with-" + string(tc.field))
			cfg := e.baseConfig(name)
			tc.set(&cfg)
			err := e.backend.CreateMirror(t.Context(), e.org, name, cfg)
			m, stored := e.store.Mirror(e.org, name)
			switch {
			case tc.supported:
				if wantOK(t, "CreateMirror with "+string(tc.field), err) && !tc.isSet(m.Config) {
					t.Errorf("%s was not stored", tc.field)
				}
			case errors.Is(err, quaymirror.ErrUnsupported):
				if stored {
					t.Errorf("CreateMirror refused %s with ErrUnsupported but stored a configuration", tc.field)
				}
			case err != nil:
				t.Errorf("CreateMirror with %s, which the server does not support: error = %v, want ErrUnsupported or the field dropped", tc.field, err)
			case tc.isSet(m.Config):
				t.Errorf("%s stored although the capabilities say the server does not support it", tc.field)
			}
		}
	})

	t.Run("CreateExisting", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("app")
		first := e.baseConfig("app")
		must(t, e.backend.CreateMirror(t.Context(), e.org, "app", first))
		before, _ := e.store.Mirror(e.org, "app")
		second := e.baseConfig("app")
		second.ExternalReference = "elsewhere.example.com/x/y"
		wantErr(t, "second CreateMirror", e.backend.CreateMirror(t.Context(), e.org, "app", second), quaymirror.ErrAlreadyExists)
		after, _ := e.store.Mirror(e.org, "app")
		reportDiff(t, "configuration after a refused second create", configDiff(after.Config, before.Config, true))
	})

	t.Run("CreateMissingRepository", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		wantErr(t, "CreateMirror on a missing repository", e.backend.CreateMirror(t.Context(), e.org, "nope", e.baseConfig("nope")), quaymirror.ErrNotFound)
	})

	t.Run("CreateBadRobot", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		foreign := e.org + "f"
		must(t, e.store.AddRobot(foreign, "mirror"))
		for i, tc := range []struct {
			name, robot string
			want        error
		}{
			{"unknown robot", e.org + "+ghost", quaymirror.ErrRobotNotFound},
			{"robot of another organization", foreign + "+mirror", quaymirror.ErrInvalid},
			{"not a robot name", "someuser", quaymirror.ErrInvalid},
		} {
			repo := e.repo(fmt.Sprintf("bad-robot-%d", i))
			cfg := e.baseConfig(repo)
			cfg.Robot = tc.robot
			wantErr(t, "CreateMirror with "+tc.name, e.backend.CreateMirror(t.Context(), e.org, repo, cfg), tc.want)
			checkNoMirror(t, e, repo, tc.name)
		}
	})

	t.Run("RobotPermission", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		for i, tc := range []struct{ before, after quaymirror.Role }{
			{"", quaymirror.RoleWrite},
			{quaymirror.RoleRead, quaymirror.RoleWrite},
			{quaymirror.RoleWrite, quaymirror.RoleWrite},
			{quaymirror.RoleAdmin, quaymirror.RoleAdmin},
		} {
			repo := e.repo(fmt.Sprintf("perm-%d", i))
			if tc.before != "" {
				must(t, e.store.GrantPermission(e.org, repo, e.robot(), tc.before))
			}
			if !wantOK(t, "CreateMirror", e.backend.CreateMirror(t.Context(), e.org, repo, e.baseConfig(repo))) {
				continue
			}
			if got := e.store.Permission(e.org, repo, e.robot()); got != tc.after {
				t.Errorf("robot with %q before CreateMirror has %q after, want %q", tc.before, got, tc.after)
			}
		}
	})
}

// checkNoMirror reports a configuration or state change left by a refused
// CreateMirror.
func checkNoMirror(t *testing.T, e *env, repo, what string) {
	t.Helper()
	if _, ok := e.store.Mirror(e.org, repo); ok {
		t.Errorf("CreateMirror with %s failed but stored a configuration", what)
	}
	if s := e.stored(repo).State; s != quaymirror.StateNormal {
		t.Errorf("CreateMirror with %s failed but changed the state to %s", what, s)
	}
}
