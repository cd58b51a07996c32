package registrytest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// changedConfig differs from baseConfig in every field.
func (e *env) changedConfig(name string) quaymirror.MirrorConfig {
	c := quaymirror.MirrorConfig{
		Enabled:           false,
		ExternalReference: "other-src.example.com:5000/elsewhere/" + name,
		Username:          "new-user",
		Password:          "new-secret",
		SyncInterval:      2 * time.Hour,
		SyncStartDate:     time.Date(2026, 7, 8, 9, 10, 11, 500_000_000, time.UTC),
		TagGlobs:          []string{"stable-*"},
		Robot:             e.otherRobot(),
		VerifyTLS:         false,
		UnsignedImages:    true,
		// An empty key is sent as a cleared one.
		Proxy: quaymirror.Proxy{HTTPProxy: "http://proxy2.example.com:8080", NoProxy: "localhost"},
		// Set even when the server lacks them: they must then be
		// refused with ErrUnsupported or dropped, never stored.
		SkopeoTimeout:      900 * time.Second,
		ArchitectureFilter: []string{"s390x"},
	}
	return c
}

// checkUpdate lists where got differs from what updating the listed
// fields of before to changed must leave (the contract of
// MirrorWriter.UpdateMirror): each listed field as in changed (the start
// date in whole seconds; FieldPassword brings the username along), every
// other field as in before.
func checkUpdate(got, before, changed quaymirror.MirrorConfig, listed []quaymirror.Field) []string {
	updated := func(line string) bool {
		f, _, _ := strings.Cut(line, " ")
		return slices.Contains(listed, quaymirror.Field(f)) ||
			quaymirror.Field(f) == quaymirror.FieldUsername && slices.Contains(listed, quaymirror.FieldPassword)
	}
	changed.SyncStartDate = changed.SyncStartDate.Truncate(time.Second)
	var d []string
	for _, line := range configDiff(got, changed, true) {
		if updated(line) {
			d = append(d, line)
		}
	}
	for _, line := range configDiff(got, before, true) {
		if !updated(line) {
			d = append(d, line)
		}
	}
	return d
}

// mayBeUnsupported reports whether a backend may refuse to update field f
// with ErrUnsupported: fields its server's version does not have.
// unsigned_images came with Quay 3.7 and no capability names it.
func (e *env) mayBeUnsupported(f quaymirror.Field) bool {
	switch f {
	case quaymirror.FieldUnsignedImages:
		return true
	case quaymirror.FieldSkopeoTimeout:
		return !e.caps.SkopeoTimeout
	case quaymirror.FieldArchitectureFilter:
		return !e.archFilterUsable()
	}
	return false
}

// created creates a mirror through the backend (failing the test if it
// cannot) and returns the stored result.
func (e *env) created(t *testing.T, name string) quaymirror.Mirror {
	t.Helper()
	e.repo(name)
	if err := e.backend.CreateMirror(t.Context(), e.org, name, e.baseConfig(name)); err != nil {
		t.Fatalf("CreateMirror: %v", err)
	}
	m, ok := e.store.Mirror(e.org, name)
	if !ok {
		t.Fatal("CreateMirror stored no configuration")
	}
	return m
}

func (e *env) storedMirror(t *testing.T, name string) quaymirror.Mirror {
	t.Helper()
	m, ok := e.store.Mirror(e.org, name)
	if !ok {
		t.Fatalf("the store lost the configuration of %s", name)
	}
	return m
}

func testUpdateMirror(t *testing.T, h Harness) {
	for _, f := range quaymirror.MirrorFields() {
		t.Run("Field/"+string(f), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, h)
			e.needMirroring(t)
			before := e.created(t, "app")
			changed := e.changedConfig("app")
			err := e.backend.UpdateMirror(t.Context(), e.org, "app", changed, []quaymirror.Field{f})
			after := e.storedMirror(t, "app")
			updated := []quaymirror.Field{f}
			switch {
			case err == nil:
				if e.mayBeUnsupported(f) && f != quaymirror.FieldUnsignedImages {
					// Dropped rather than refused: the value must
					// not have been stored.
					updated = nil
				}
			case errors.Is(err, quaymirror.ErrUnsupported) && e.mayBeUnsupported(f):
				t.Logf("%s refused as unsupported: %v", f, err)
				updated = nil
			default:
				t.Errorf("UpdateMirror(%s): %v", f, err)
				updated = nil
			}
			reportDiff(t, "stored configuration after updating "+string(f), checkUpdate(after.Config, before.Config, changed, updated))
			wantStatus := before.Status
			if f == quaymirror.FieldSyncStartDate && err == nil {
				wantStatus.NextSync = changed.SyncStartDate.Truncate(time.Second)
			}
			if after.Status != wantStatus {
				t.Errorf("status after updating %s = %+v, want %+v", f, after.Status, wantStatus)
			}
			if f == quaymirror.FieldRobot && err == nil {
				if role := e.store.Permission(e.org, "app", e.otherRobot()); role != quaymirror.RoleWrite {
					t.Errorf("new robot has %q on the repository, want write", role)
				}
			}
			if err != nil {
				return
			}
			got, err := e.backend.GetMirror(t.Context(), e.org, "app")
			if wantOK(t, "GetMirror", err) {
				got.Config.Password = after.Config.Password // never read back
				reportDiff(t, "configuration read back after updating "+string(f), checkUpdate(got.Config, before.Config, changed, updated))
			}
		})
	}

	t.Run("OnlyListedFields", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		before := e.created(t, "app")
		changed := e.changedConfig("app")
		fields := []quaymirror.Field{quaymirror.FieldEnabled, quaymirror.FieldTagGlobs, quaymirror.FieldSyncInterval}
		if !wantOK(t, "UpdateMirror", e.backend.UpdateMirror(t.Context(), e.org, "app", changed, fields)) {
			return
		}
		reportDiff(t, "stored configuration", checkUpdate(e.storedMirror(t, "app").Config, before.Config, changed, fields))
	})

	t.Run("NoFields", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		before := e.created(t, "app")
		if wantOK(t, "UpdateMirror without fields", e.backend.UpdateMirror(t.Context(), e.org, "app", e.changedConfig("app"), nil)) {
			reportDiff(t, "stored configuration", configDiff(e.storedMirror(t, "app").Config, before.Config, true))
		}
	})

	t.Run("Credentials", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		before := e.created(t, "app")

		cfg := before.Config
		cfg.Username, cfg.Password = "", "orphan-password"
		wantErr(t, "UpdateMirror of a password without a username", e.backend.UpdateMirror(t.Context(), e.org, "app", cfg, []quaymirror.Field{quaymirror.FieldPassword}), quaymirror.ErrInvalid)
		reportDiff(t, "stored configuration after a refused password", configDiff(e.storedMirror(t, "app").Config, before.Config, true))

		cfg.Username, cfg.Password = "", ""
		if wantOK(t, "UpdateMirror clearing the credentials", e.backend.UpdateMirror(t.Context(), e.org, "app", cfg, []quaymirror.Field{quaymirror.FieldPassword})) {
			if m := e.storedMirror(t, "app"); m.Config.Username != "" || m.Config.Password != "" {
				t.Errorf("credentials not cleared: username %q, password set %v", m.Config.Username, m.Config.Password != "")
			}
		}
	})

	t.Run("BadRobot", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		before := e.created(t, "app")
		foreign := e.org + "f"
		must(t, e.store.AddRobot(foreign, "mirror"))
		for robot, want := range map[string]error{e.org + "+ghost": quaymirror.ErrRobotNotFound, foreign + "+mirror": quaymirror.ErrInvalid} {
			cfg := before.Config
			cfg.Robot = robot
			wantErr(t, "UpdateMirror to robot "+robot, e.backend.UpdateMirror(t.Context(), e.org, "app", cfg, []quaymirror.Field{quaymirror.FieldRobot}), want)
		}
		reportDiff(t, "stored configuration after refused robots", configDiff(e.storedMirror(t, "app").Config, before.Config, true))
	})

	t.Run("InvalidValues", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		before := e.created(t, "app")
		type invalid struct {
			name  string
			field quaymirror.Field
			set   func(*quaymirror.MirrorConfig)
		}
		cases := []invalid{
			{"negative interval", quaymirror.FieldSyncInterval, func(c *quaymirror.MirrorConfig) { c.SyncInterval = -time.Minute }},
			{"no tag globs", quaymirror.FieldTagGlobs, func(c *quaymirror.MirrorConfig) { c.TagGlobs = nil }},
		}
		if e.caps.SkopeoTimeout {
			cases = append(cases, invalid{"skopeo timeout under 300 s", quaymirror.FieldSkopeoTimeout, func(c *quaymirror.MirrorConfig) { c.SkopeoTimeout = 100 * time.Second }})
		}
		for _, tc := range cases {
			cfg := before.Config
			tc.set(&cfg)
			wantErr(t, "UpdateMirror with "+tc.name, e.backend.UpdateMirror(t.Context(), e.org, "app", cfg, []quaymirror.Field{tc.field}), quaymirror.ErrInvalid)
		}
		reportDiff(t, "stored configuration after refused values", configDiff(e.storedMirror(t, "app").Config, before.Config, true))
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("plain")
		fields := []quaymirror.Field{quaymirror.FieldEnabled}
		wantErr(t, "UpdateMirror without a configuration", e.backend.UpdateMirror(t.Context(), e.org, "plain", e.baseConfig("plain"), fields), quaymirror.ErrNotFound)
		wantErr(t, "UpdateMirror of a missing repository", e.backend.UpdateMirror(t.Context(), e.org, "nope", e.baseConfig("nope"), fields), quaymirror.ErrNotFound)
	})

	// A configuration made elsewhere (the UI, another tool) may have no
	// proxy object at all; setting one must still store every key.
	t.Run("ProxyOnConfigurationWithoutProxy", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needMirroring(t)
		e.repo("app", withState(quaymirror.StateMirror))
		cfg := e.baseConfig("app")
		cfg.Proxy = quaymirror.Proxy{}
		must(t, e.store.PutMirror(e.org, "app", quaymirror.Mirror{Config: cfg,
			Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, NextSync: cfg.SyncStartDate, RetriesRemaining: 3}}))
		must(t, e.store.GrantPermission(e.org, "app", e.robot(), quaymirror.RoleWrite))
		cfg.Proxy = quaymirror.Proxy{HTTPProxy: "http://p.example.com:3128", HTTPSProxy: "http://p.example.com:3129", NoProxy: ".example.com"}
		if wantOK(t, "UpdateMirror(proxy)", e.backend.UpdateMirror(t.Context(), e.org, "app", cfg, []quaymirror.Field{quaymirror.FieldProxy})) {
			if got := e.storedMirror(t, "app").Config.Proxy; got != cfg.Proxy {
				t.Errorf("stored proxy = %+v, want %+v", got, cfg.Proxy)
			}
		}
	})
}
