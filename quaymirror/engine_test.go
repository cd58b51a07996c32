package quaymirror_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

const (
	srcHost = "quay-src.example.com"
	org     = "acme"
	robot   = "acme+mirror"
	secret  = "pull-s3cret-value"
)

var clock = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func basePolicy() quaymirror.Policy {
	return quaymirror.Policy{
		SourceRegistry:  srcHost,
		SourceNamespace: org,
		Robot:           robot,
		Username:        "svc+pull",
		Password:        secret,
		TagGlobs:        []string{"v*", "latest"},
	}
}

// world is a source and a destination registry with the organisation and
// the robot in place.
type world struct {
	src, dst *fake.Registry
}

func newWorld(t *testing.T) world {
	t.Helper()
	w := world{src: fake.New(), dst: fake.New()}
	must(t, w.src.AddOrganization(org))
	must(t, w.dst.AddOrganization(org))
	must(t, w.dst.AddRobot(org, "mirror"))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w world) source(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		must(t, w.src.AddRepository(quaymirror.Repository{Namespace: org, Name: n, Description: "about " + n, Visibility: quaymirror.Public}))
	}
}

func (w world) engine(t *testing.T, p quaymirror.Policy, opts ...quaymirror.Option) *quaymirror.Engine {
	t.Helper()
	opts = append([]quaymirror.Option{
		quaymirror.WithClock(func() time.Time { return clock }),
		quaymirror.WithSourceRate(0, 0), quaymirror.WithDestinationRate(0, 0),
	}, opts...)
	e, err := quaymirror.NewEngine(w.src, w.dst, p, opts...)
	must(t, err)
	return e
}

// desired is the configuration basePolicy wants for a repository.
func desired(name string) quaymirror.MirrorConfig {
	return quaymirror.MirrorConfig{
		Enabled:           true,
		ExternalReference: srcHost + "/" + org + "/" + name,
		Username:          "svc+pull",
		Password:          secret,
		SyncInterval:      quaymirror.DefaultSyncInterval,
		TagGlobs:          []string{"v*", "latest"},
		Robot:             robot,
		VerifyTLS:         true,
	}
}

func mirrorOf(cfg quaymirror.MirrorConfig, status quaymirror.SyncStatus) quaymirror.Mirror {
	return quaymirror.Mirror{Config: cfg, Status: quaymirror.MirrorStatus{SyncStatus: status, RetriesRemaining: 3}}
}

func result(t *testing.T, rep *quaymirror.Report, name string) quaymirror.Result {
	t.Helper()
	for _, r := range rep.Repositories {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result for %q in %+v", name, rep.Repositories)
	return quaymirror.Result{}
}

func TestSyncActionsAndSafetyRules(t *testing.T) {
	t.Parallel()
	drifted := desired("app")
	drifted.SyncInterval = 3600 * time.Second
	drifted.TagGlobs = []string{"*"}
	drifted.Password = "stored-before"
	otherUser := desired("app")
	otherUser.Username = "old-user"
	unsignedOff := desired("app")

	cases := []struct {
		name string
		// seed prepares the destination repository "app" (the source
		// always has it).
		seed    func(t *testing.T, w world)
		policy  func(p *quaymirror.Policy)
		action  quaymirror.Action
		outcome quaymirror.Outcome
		reason  string
		changes []quaymirror.Field
		// writes is the exact number of destination write calls.
		writes int
		// after checks the destination afterwards.
		after func(t *testing.T, w world)
	}{
		{
			name:    "missing repository is created with its mirror and synced",
			seed:    func(t *testing.T, w world) {},
			action:  quaymirror.ActionCreate,
			outcome: quaymirror.OutcomeCreated,
			reason:  "missing",
			writes:  3,
			after: func(t *testing.T, w world) {
				repo, ok := w.dst.Repository(org, "app")
				if !ok || repo.State != quaymirror.StateMirror || repo.Visibility != quaymirror.Private || repo.Description != "about app" {
					t.Errorf("repository = %+v, %v; want private MIRROR with the source description", repo, ok)
				}
				m, _ := w.dst.Mirror(org, "app")
				want := desired("app")
				want.SyncStartDate = expectedStart(org+"/app", want.SyncInterval, clock)
				assertConfig(t, m.Config, want)
				if m.Status.SyncStatus != quaymirror.SyncNow {
					t.Errorf("sync status = %s, want SYNC_NOW after create", m.Status.SyncStatus)
				}
				if got := w.dst.Permission(org, "app", robot); got != quaymirror.RoleWrite {
					t.Errorf("robot permission = %q, want write", got)
				}
			},
		},
		{
			name:    "sync-now can be turned off",
			seed:    func(t *testing.T, w world) {},
			policy:  func(p *quaymirror.Policy) { p.SkipSyncNow = true },
			action:  quaymirror.ActionCreate,
			outcome: quaymirror.OutcomeCreated,
			writes:  2,
			after: func(t *testing.T, w world) {
				m, _ := w.dst.Mirror(org, "app")
				if m.Status.SyncStatus != quaymirror.SyncNeverRun {
					t.Errorf("sync status = %s, want NEVER_RUN", m.Status.SyncStatus)
				}
			},
		},
		{
			name:    "visibility can follow the source",
			seed:    func(t *testing.T, w world) {},
			policy:  func(p *quaymirror.Policy) { p.Visibility = quaymirror.VisibilitySource },
			action:  quaymirror.ActionCreate,
			outcome: quaymirror.OutcomeCreated,
			writes:  3,
			after: func(t *testing.T, w world) {
				if repo, _ := w.dst.Repository(org, "app"); repo.Visibility != quaymirror.Public {
					t.Errorf("visibility = %s, want public like the source", repo.Visibility)
				}
			},
		},
		{
			name: "empty NORMAL repository is configured",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app"}))
			},
			action:  quaymirror.ActionConfigure,
			outcome: quaymirror.OutcomeConfigured,
			reason:  "empty repository",
			writes:  2,
			after:   wantMirrorState,
		},
		{
			name: "NORMAL repository holding tags is never switched to mirroring",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", Tags: []string{"local-1", "local-2"}}))
			},
			action:  quaymirror.ActionSkip,
			outcome: quaymirror.OutcomeSkipped,
			reason:  "holding 2 tags",
			writes:  0,
			after: func(t *testing.T, w world) {
				repo, _ := w.dst.Repository(org, "app")
				if repo.State != quaymirror.StateNormal || len(repo.Tags) != 2 {
					t.Errorf("repository = %+v, want untouched NORMAL with its 2 tags", repo)
				}
				if _, ok := w.dst.Mirror(org, "app"); ok {
					t.Error("a mirror configuration was written")
				}
			},
		},
		{
			name: "NORMAL repository holding tags is adopted with adopt-existing",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", Tags: []string{"local-1"}}))
			},
			policy:  func(p *quaymirror.Policy) { p.AdoptExisting = true },
			action:  quaymirror.ActionConfigure,
			outcome: quaymirror.OutcomeConfigured,
			reason:  "adopted",
			writes:  2,
			after:   wantMirrorState,
		},
		{
			name: "MIRROR repository without a configuration is configured",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
			},
			action:  quaymirror.ActionConfigure,
			outcome: quaymirror.OutcomeConfigured,
			reason:  "without a mirror configuration",
			writes:  2,
			after:   wantMirrorState,
		},
		{
			name: "NORMAL repository with a configuration goes back to MIRROR after its configuration",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app"}))
				must(t, w.dst.PutMirror(org, "app", mirrorOf(desired("app"), quaymirror.SyncSuccess)))
			},
			action:  quaymirror.ActionUpdate,
			outcome: quaymirror.OutcomeUpdated,
			reason:  "repository is NORMAL",
			writes:  1,
			after:   wantMirrorState,
		},
		{
			name: "correct mirror is unchanged and costs no write",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
				must(t, w.dst.PutMirror(org, "app", mirrorOf(desired("app"), quaymirror.SyncSuccess)))
			},
			action:  quaymirror.ActionUnchanged,
			outcome: quaymirror.OutcomeUnchanged,
			writes:  0,
		},
		{
			name: "drifted mirror is updated, only the drifted fields are sent",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
				must(t, w.dst.PutMirror(org, "app", mirrorOf(drifted, quaymirror.SyncSuccess)))
			},
			action:  quaymirror.ActionUpdate,
			outcome: quaymirror.OutcomeUpdated,
			reason:  "drifted",
			changes: []quaymirror.Field{quaymirror.FieldSyncInterval, quaymirror.FieldTagGlobs},
			writes:  1,
			after: func(t *testing.T, w world) {
				m, _ := w.dst.Mirror(org, "app")
				want := desired("app")
				want.Password = "stored-before" // not re-sent: only drifted fields are
				assertConfig(t, m.Config, want)
			},
		},
		{
			name: "a new username is sent with its password",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
				must(t, w.dst.PutMirror(org, "app", mirrorOf(otherUser, quaymirror.SyncSuccess)))
			},
			action:  quaymirror.ActionUpdate,
			outcome: quaymirror.OutcomeUpdated,
			changes: []quaymirror.Field{quaymirror.FieldUsername, quaymirror.FieldPassword},
			writes:  1,
			after: func(t *testing.T, w world) {
				m, _ := w.dst.Mirror(org, "app")
				if m.Config.Username != "svc+pull" || m.Config.Password != secret {
					t.Errorf("credentials = %q/%v, want the policy's pair", m.Config.Username, m.Config.Password == secret)
				}
			},
		},
		{
			name: "recreate re-sends the whole configuration, password included",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
				old := desired("app")
				old.Password = "rotated-away"
				must(t, w.dst.PutMirror(org, "app", mirrorOf(old, quaymirror.SyncSuccess)))
			},
			policy:  func(p *quaymirror.Policy) { p.Recreate = true },
			action:  quaymirror.ActionUpdate,
			outcome: quaymirror.OutcomeUpdated,
			reason:  "recreate",
			writes:  1,
			after: func(t *testing.T, w world) {
				m, _ := w.dst.Mirror(org, "app")
				if m.Config.Password != secret {
					t.Error("recreate did not re-send the password")
				}
			},
		},
		{
			name: "a SYNCING mirror is not updated",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
				must(t, w.dst.PutMirror(org, "app", mirrorOf(drifted, quaymirror.SyncSyncing)))
			},
			action:  quaymirror.ActionSkip,
			outcome: quaymirror.OutcomeSkipped,
			reason:  "SYNCING; 2 changes deferred",
			writes:  0,
		},
		{
			name: "a SYNCING mirror is not recreated either",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
				must(t, w.dst.PutMirror(org, "app", mirrorOf(unsignedOff, quaymirror.SyncSyncing)))
			},
			policy:  func(p *quaymirror.Policy) { p.Recreate = true },
			action:  quaymirror.ActionSkip,
			outcome: quaymirror.OutcomeSkipped,
			reason:  "SYNCING",
			writes:  0,
		},
		{
			name: "READ_ONLY repository is skipped",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateReadOnly}))
			},
			action:  quaymirror.ActionSkip,
			outcome: quaymirror.OutcomeSkipped,
			reason:  "READ_ONLY",
		},
		{
			name: "ORG_MIRROR repository is skipped",
			seed: func(t *testing.T, w world) {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateOrgMirror}))
			},
			action:  quaymirror.ActionSkip,
			outcome: quaymirror.OutcomeSkipped,
			reason:  "organization-level mirroring",
		},
		{
			name:    "excluded repository is skipped without a read",
			seed:    func(t *testing.T, w world) {},
			policy:  func(p *quaymirror.Policy) { p.Exclude = []string{"a*"} },
			action:  quaymirror.ActionSkip,
			outcome: quaymirror.OutcomeSkipped,
			reason:  "excluded",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.source(t, "app")
			tc.seed(t, w)
			p := basePolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			e := w.engine(t, p)
			plan, err := e.Plan(context.Background())
			must(t, err)
			if len(plan.Items) != 1 {
				t.Fatalf("plan has %d items, want 1: %+v", len(plan.Items), plan.Items)
			}
			it := plan.Items[0]
			if it.Action != tc.action || !strings.Contains(it.Reason, tc.reason) {
				t.Errorf("plan = %s (%q), want %s with reason containing %q", it.Action, it.Reason, tc.action, tc.reason)
			}
			if w.dst.Writes() != 0 {
				t.Fatalf("Plan wrote %d times", w.dst.Writes())
			}
			rep, err := e.Apply(context.Background(), plan)
			must(t, err)
			res := result(t, rep, "app")
			if res.Outcome != tc.outcome {
				t.Errorf("outcome = %s (error %q), want %s", res.Outcome, res.Error, tc.outcome)
			}
			if tc.changes != nil && !slices.Equal(res.Changes, tc.changes) {
				t.Errorf("changes = %v, want %v", res.Changes, tc.changes)
			}
			if got := w.dst.Writes(); got != tc.writes {
				t.Errorf("destination writes = %d (%v), want %d", got, w.dst.Calls(), tc.writes)
			}
			if rep.Calls.DestinationWrites != int64(tc.writes) {
				t.Errorf("report counts %d writes, want %d", rep.Calls.DestinationWrites, tc.writes)
			}
			if tc.after != nil {
				tc.after(t, w)
			}
			// Whatever happened, a second run has nothing left to write.
			w.dst.ResetCalls()
			again, err := w.engine(t, withoutRecreate(p)).Sync(context.Background())
			must(t, err)
			if w.dst.Writes() != 0 && tc.outcome != quaymirror.OutcomeSkipped {
				t.Errorf("second run wrote %d times: %+v", w.dst.Writes(), again.Repositories)
			}
		})
	}
}

func withoutRecreate(p quaymirror.Policy) quaymirror.Policy {
	p.Recreate = false
	return p
}

func wantMirrorState(t *testing.T, w world) {
	t.Helper()
	repo, _ := w.dst.Repository(org, "app")
	if repo.State != quaymirror.StateMirror {
		t.Errorf("state = %s, want MIRROR", repo.State)
	}
	m, ok := w.dst.Mirror(org, "app")
	if !ok {
		t.Fatal("no mirror configuration")
	}
	if m.Config.ExternalReference != srcHost+"/"+org+"/app" || m.Config.Robot != robot {
		t.Errorf("mirror = %+v", m.Config)
	}
}

func assertConfig(t *testing.T, got, want quaymirror.MirrorConfig) {
	t.Helper()
	if got.Enabled != want.Enabled || got.ExternalReference != want.ExternalReference ||
		got.Username != want.Username || got.Password != want.Password ||
		got.SyncInterval != want.SyncInterval || !quaymirror.SameTagGlobs(got.TagGlobs, want.TagGlobs) ||
		got.Robot != want.Robot || got.VerifyTLS != want.VerifyTLS || got.UnsignedImages != want.UnsignedImages ||
		got.Proxy != want.Proxy || !got.SyncStartDate.Equal(want.SyncStartDate) {
		t.Errorf("mirror configuration\n got %+v\nwant %+v", got, want)
	}
}

func TestOrphans(t *testing.T) {
	t.Parallel()
	seed := func(t *testing.T, w world) {
		w.source(t, "kept")
		for _, n := range []string{"kept", "gone", "foreign", "plain"} {
			state := quaymirror.StateMirror
			if n == "plain" {
				state = quaymirror.StateNormal
			}
			must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: n, State: state}))
		}
		must(t, w.dst.PutMirror(org, "kept", mirrorOf(desired("kept"), quaymirror.SyncSuccess)))
		must(t, w.dst.PutMirror(org, "gone", mirrorOf(desired("gone"), quaymirror.SyncSuccess)))
		foreign := desired("foreign")
		foreign.ExternalReference = "docker.io/library/foreign"
		must(t, w.dst.PutMirror(org, "foreign", mirrorOf(foreign, quaymirror.SyncSuccess)))
	}

	t.Run("reported only by default", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		seed(t, w)
		rep, err := w.engine(t, basePolicy()).Sync(context.Background())
		must(t, err)
		if got := result(t, rep, "gone"); got.Outcome != quaymirror.OutcomeOrphaned {
			t.Errorf("gone = %+v, want orphaned", got)
		}
		if rep.Orphaned != 1 || len(rep.Repositories) != 2 {
			t.Errorf("report = %+v; want kept and one orphan, the foreign mirror and the plain repository left out", rep.Repositories)
		}
		if w.dst.Writes() != 0 {
			t.Errorf("orphans were written to: %v", w.dst.Calls())
		}
		if m, _ := w.dst.Mirror(org, "gone"); !m.Config.Enabled {
			t.Error("orphan disabled without DisableOrphans")
		}
		if _, ok := w.dst.Repository(org, "gone"); !ok {
			t.Error("orphan deleted")
		}
	})
	t.Run("disabled on request", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		seed(t, w)
		p := basePolicy()
		p.DisableOrphans = true
		rep, err := w.engine(t, p).Sync(context.Background())
		must(t, err)
		got := result(t, rep, "gone")
		if got.Outcome != quaymirror.OutcomeOrphaned || !slices.Equal(got.Changes, []quaymirror.Field{quaymirror.FieldEnabled}) {
			t.Errorf("gone = %+v, want orphaned with is_enabled changed", got)
		}
		m, _ := w.dst.Mirror(org, "gone")
		if m.Config.Enabled {
			t.Error("orphan still enabled")
		}
		if m.Config.ExternalReference != desired("gone").ExternalReference || m.Config.Robot != robot {
			t.Errorf("disabling altered the configuration: %+v", m.Config)
		}
		if _, ok := w.dst.Repository(org, "gone"); !ok {
			t.Error("orphan deleted")
		}
		if f, _ := w.dst.Mirror(org, "foreign"); !f.Config.Enabled {
			t.Error("a mirror of another source was disabled")
		}
	})
	t.Run("never disabled on an empty source listing", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "gone", State: quaymirror.StateMirror}))
		must(t, w.dst.PutMirror(org, "gone", mirrorOf(desired("gone"), quaymirror.SyncSuccess)))
		p := basePolicy()
		p.DisableOrphans = true
		rep, err := w.engine(t, p).Sync(context.Background())
		must(t, err)
		if got := result(t, rep, "gone"); !strings.Contains(got.Reason, "listed no repositories") {
			t.Errorf("gone = %+v, want the refusal explained", got)
		}
		if m, _ := w.dst.Mirror(org, "gone"); !m.Config.Enabled || w.dst.Writes() != 0 {
			t.Error("an empty source listing disabled a mirror")
		}
	})
}

func TestFailureInOneRepositoryDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	names := []string{"a", "b", "c", "d", "e"}
	w.source(t, names...)
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "d", State: quaymirror.StateMirror}))
	w.dst.FailOn(fake.OpCreateMirror, org, "b", fmt.Errorf("boom: %w", quaymirror.ErrUnavailable))
	w.dst.FailOn(fake.OpGetMirror, org, "d", fmt.Errorf("read boom: %w", quaymirror.ErrUnavailable))

	rep, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(2)).Sync(context.Background())
	must(t, err)
	if rep.Created != 3 || rep.Failed != 2 || rep.OK() {
		t.Fatalf("counts = %+v, want 3 created and 2 failed", rep.Counts)
	}
	b := result(t, rep, "b")
	if !errors.Is(b.Err(), quaymirror.ErrUnavailable) || !strings.Contains(b.Error, "create mirror acme/b") {
		t.Errorf("b = %+v, want the create-mirror failure", b)
	}
	if d := result(t, rep, "d"); d.Outcome != quaymirror.OutcomeFailed || !strings.Contains(d.Error, "read mirror") {
		t.Errorf("d = %+v, want the read failure", d)
	}
	// b was created but has no configuration: an empty NORMAL repository,
	// never MIRROR without a configuration. The next run configures it.
	if repo, _ := w.dst.Repository(org, "b"); repo.State != quaymirror.StateNormal {
		t.Errorf("b state = %s, want NORMAL", repo.State)
	}
	w.dst.ClearFailures()
	rep, err = w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if got := result(t, rep, "b"); got.Outcome != quaymirror.OutcomeConfigured {
		t.Errorf("b on the next run = %+v, want configured", got)
	}
	if got := result(t, rep, "d"); got.Outcome != quaymirror.OutcomeConfigured {
		t.Errorf("d on the next run = %+v, want configured", got)
	}
	if !rep.OK() || rep.Unchanged != 3 {
		t.Errorf("next run counts = %+v", rep.Counts)
	}
}

func TestChangeStateNeverPrecedesTheConfiguration(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "new", "empty", "normal-with-config", "mirror-no-config")
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "empty"}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "normal-with-config"}))
	must(t, w.dst.PutMirror(org, "normal-with-config", mirrorOf(desired("normal-with-config"), quaymirror.SyncSuccess)))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "mirror-no-config", State: quaymirror.StateMirror}))
	var violations atomic.Int32
	var changes atomic.Int32
	w.dst.SetHook(func(_ context.Context, op fake.Op, ns, name string) error {
		if op == fake.OpChangeState {
			changes.Add(1)
			if _, ok := w.dst.Mirror(ns, name); !ok {
				violations.Add(1)
			}
		}
		return nil
	})
	rep, err := w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if !rep.OK() {
		t.Fatalf("report = %+v", rep.Repositories)
	}
	if violations.Load() != 0 {
		t.Errorf("%d ChangeState calls came before a mirror configuration existed", violations.Load())
	}
	if changes.Load() != 1 {
		t.Errorf("ChangeState called %d times, want once (only the NORMAL repository with a configuration needs it)", changes.Load())
	}
	for _, n := range []string{"new", "empty", "normal-with-config", "mirror-no-config"} {
		repo, _ := w.dst.Repository(org, n)
		_, hasConfig := w.dst.Mirror(org, n)
		if repo.State != quaymirror.StateMirror || !hasConfig {
			t.Errorf("%s: state %s, config %v; want MIRROR with a configuration", n, repo.State, hasConfig)
		}
	}
}

func TestSecondRunIsAllUnchangedWithOneReadPerRepository(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 250 // three pages of 100
	for i := range n {
		w.source(t, fmt.Sprintf("repo-%03d", i))
	}
	first, err := w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if first.Created != n || !first.OK() {
		t.Fatalf("first run counts = %+v", first.Counts)
	}
	// A first run reads no mirror configuration that cannot exist yet
	// and writes at most two calls per repository plus sync-now.
	if calls := w.dst.Calls(); calls[fake.OpGetMirror] != 0 || calls[fake.OpGetRepository] != 0 {
		t.Errorf("first run read repositories that it was about to create: %v", calls)
	}
	if first.Calls.DestinationWrites != 3*n {
		t.Errorf("first run writes = %d, want %d", first.Calls.DestinationWrites, 3*n)
	}

	w.dst.ResetCalls()
	w.src.ResetCalls()
	second, err := w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if second.Unchanged != n || second.Counts != (quaymirror.Counts{Unchanged: n}) {
		t.Errorf("second run counts = %+v, want %d unchanged", second.Counts, n)
	}
	calls := w.dst.Calls()
	if w.dst.Writes() != 0 {
		t.Errorf("second run wrote: %v", calls)
	}
	if calls[fake.OpGetMirror] != n || calls[fake.OpListRepositories] != 3 || len(calls) != 2 {
		t.Errorf("second run destination calls = %v, want %d mirror reads and 3 list pages", calls, n)
	}
	if got := w.src.Calls(); got[fake.OpListRepositories] != 3 || len(got) != 1 {
		t.Errorf("second run source calls = %v, want the 3 list pages", got)
	}
}

func TestWorkerBoundIsHonoured(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			for i := range 40 {
				name := fmt.Sprintf("r%02d", i)
				w.source(t, name)
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: name, State: quaymirror.StateMirror}))
			}
			// Hold every mirror read until `limit` reads are in flight
			// (or a short grace passes), so an unbounded pool would show
			// more than `limit` at once.
			var inFlight, peak atomic.Int32
			gate := make(chan struct{})
			var once sync.Once
			w.dst.SetHook(func(ctx context.Context, op fake.Op, _, _ string) error {
				if op != fake.OpGetMirror && op != fake.OpCreateMirror {
					return nil
				}
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if int(n) >= limit {
					once.Do(func() { close(gate) })
				}
				select {
				case <-gate:
				case <-time.After(200 * time.Millisecond):
				}
				return nil
			})
			rep, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(limit)).Sync(context.Background())
			must(t, err)
			if rep.Configured != 40 {
				t.Fatalf("counts = %+v", rep.Counts)
			}
			if got := int(peak.Load()); got != limit {
				t.Errorf("peak concurrent calls = %d, want exactly %d", got, limit)
			}
			if got := w.dst.MaxInFlight(); got > limit {
				t.Errorf("registry saw %d calls at once, bound is %d", got, limit)
			}
		})
	}
}

func TestRateLimiterIsHonoured(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 20 {
		name := fmt.Sprintf("r%02d", i)
		w.source(t, name)
		must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: name, State: quaymirror.StateMirror}))
		must(t, w.dst.PutMirror(org, name, mirrorOf(desired(name), quaymirror.SyncSuccess)))
	}
	// A burst of 5 and one token an hour: exactly 5 destination calls can
	// happen before the deadline; the limiter refuses the rest at once.
	dst := rate.NewLimiter(rate.Every(time.Hour), 5)
	src, err := quaymirror.NewLimiter(0, 0)
	must(t, err)
	e := w.engine(t, basePolicy(), quaymirror.WithLimiters(src, dst), quaymirror.WithConcurrency(4))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := e.Plan(ctx)
	must(t, err)
	calls := w.dst.Calls()
	if got := calls[fake.OpListRepositories] + calls[fake.OpGetMirror]; got != 5 {
		t.Errorf("destination calls = %v, want exactly the burst of 5", calls)
	}
	failed := 0
	for _, it := range plan.Items {
		if it.Err != nil {
			failed++
			if !errors.Is(it.Err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want the limiter's refusal", it.Name, it.Err)
			}
		}
	}
	if failed != 16 {
		t.Errorf("%d items failed, want 16 (20 repositories, 4 reads allowed after the listing)", failed)
	}
}

func TestApplyStopsStartingWhenContextEnds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 10 {
		w.source(t, fmt.Sprintf("r%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var creates atomic.Int32
	w.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository && creates.Add(1) == 3 {
			cancel() // a SIGTERM arrives while the third repository is written
		}
		return nil
	})
	e := w.engine(t, basePolicy(), quaymirror.WithConcurrency(1))
	plan, err := e.Plan(context.Background())
	must(t, err)
	rep, err := e.Apply(ctx, plan)
	must(t, err)
	if !rep.Interrupted || rep.Created != 3 || rep.NotStarted != 7 || rep.OK() {
		t.Fatalf("report = %+v interrupted=%v, want 3 created (the one in flight finished) and 7 not started", rep.Counts, rep.Interrupted)
	}
	for _, repo := range w.dst.Repositories(org) {
		if _, ok := w.dst.Mirror(org, repo.Name); !ok || repo.State != quaymirror.StateMirror {
			t.Errorf("%s left half-configured: state %s, config %v", repo.Name, repo.State, ok)
		}
	}
	// The next run finishes the job.
	rep, err = w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if rep.Created != 7 || rep.Unchanged != 3 || !rep.OK() {
		t.Errorf("next run = %+v", rep.Counts)
	}
}

func TestConcurrentCreatorIsHandled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "raced")
	// Someone else creates the repository between our Plan and Apply.
	w.dst.SetHook(func(_ context.Context, op fake.Op, ns, name string) error {
		if op == fake.OpCreateRepository {
			_ = w.dst.AddRepository(quaymirror.Repository{Namespace: ns, Name: name})
		}
		return nil
	})
	rep, err := w.engine(t, basePolicy()).Sync(context.Background())
	must(t, err)
	if got := result(t, rep, "raced"); got.Outcome != quaymirror.OutcomeConfigured {
		t.Errorf("raced = %+v, want configured after re-reading", got)
	}
	wantRepoMirrored(t, w, "raced")
}

func wantRepoMirrored(t *testing.T, w world, name string) {
	t.Helper()
	repo, _ := w.dst.Repository(org, name)
	if _, ok := w.dst.Mirror(org, name); !ok || repo.State != quaymirror.StateMirror {
		t.Errorf("%s: state %s, config %v", name, repo.State, ok)
	}
}

// restartingLister hands out a page token that the server then does not
// recognise, so the second request gets the first page again, as Quay does
// with expired tokens.
type restartingLister struct{ *fake.Registry }

func (l restartingLister) ListRepositories(ctx context.Context, ns, token string) (quaymirror.RepositoryPage, error) {
	page, err := l.Registry.ListRepositories(ctx, ns, "")
	if err == nil {
		page.Next = "expired-" + token + "x"
	}
	return page, err
}

func TestListingRestartIsDetected(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "a", "b")
	e, err := quaymirror.NewEngine(restartingLister{w.src}, w.dst, basePolicy())
	must(t, err)
	_, err = e.Plan(context.Background())
	if !errors.Is(err, quaymirror.ErrBadResponse) || !strings.Contains(err.Error(), "restarted") {
		t.Fatalf("Plan error = %v, want a listing restart reported", err)
	}
	if w.dst.Writes() != 0 {
		t.Error("writes despite a broken listing")
	}
	// The iterator helper guards the same way.
	n := 0
	for _, err := range quaymirror.Repositories(context.Background(), restartingLister{w.src}, org) {
		if err != nil {
			if !errors.Is(err, quaymirror.ErrBadResponse) {
				t.Errorf("iterator error = %v", err)
			}
			break
		}
		n++
	}
	if n != 2 {
		t.Errorf("iterator yielded %d repositories before failing, want 2", n)
	}
}

// expectedStart is what StaggeredStart promises, found another way: by
// walking whole seconds from now to the first one whose Unix time modulo
// the interval (in seconds) is the phase, the FNV-1a 64-bit hash of the
// repository's full name modulo the interval.
func expectedStart(fullName string, interval time.Duration, now time.Time) time.Time {
	secs := int64(interval / time.Second)
	h := fnv.New64a()
	h.Write([]byte(fullName))
	phase := int64(h.Sum64() % uint64(secs))
	at := now.Unix()
	if now.After(time.Unix(at, 0)) {
		at++ // the first whole second at or after now
	}
	for at%secs != phase {
		at++
	}
	return time.Unix(at, 0).UTC()
}

func TestStaggeredStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		interval time.Duration
		names    int
	}{
		{600 * time.Second, 500},
		{3601 * time.Second, 50}, // not a divisor of a day: the grid is the Unix epoch's
		{24 * time.Hour, 5},
	} {
		interval := tc.interval
		seen := make(map[int64]bool)
		for i := range tc.names {
			name := fmt.Sprintf("acme/repo-%d", i)
			now := clock.Add(123456 * time.Microsecond)
			start := quaymirror.StaggeredStart(name, interval, now)
			if want := expectedStart(name, interval, now); !start.Equal(want) || start.Location() != time.UTC {
				t.Fatalf("%s, interval %s: starts at %s, want %s", name, interval, start, want)
			}
			// Same phase whatever the day; an exact instant on the phase
			// is its own start.
			later := clock.Add(7*24*time.Hour + 17*time.Second)
			if got, want := quaymirror.StaggeredStart(name, interval, later), expectedStart(name, interval, later); !got.Equal(want) {
				t.Fatalf("%s, interval %s, a week later: starts at %s, want %s", name, interval, got, want)
			}
			if got := quaymirror.StaggeredStart(name, interval, start); !got.Equal(start) {
				t.Fatalf("%s, interval %s: at its own start %s it starts at %s", name, interval, start, got)
			}
			seen[start.Unix()] = true
		}
		if len(seen) < tc.names/2 {
			t.Errorf("interval %s: %d repositories share only %d start seconds: not spread", interval, tc.names, len(seen))
		}
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		break_ func(w world)
		failed string
	}{
		{"all good", func(world) {}, ""},
		{"bad source token", func(w world) { w.src.FailOn(fake.OpCurrentUser, "", "", quaymirror.ErrUnauthorized) }, "source credentials"},
		{"bad destination token", func(w world) { w.dst.FailOn(fake.OpCurrentUser, "", "", quaymirror.ErrUnauthorized) }, "destination credentials"},
		{"missing source organization", func(w world) { w.src.FailOn(fake.OpGetOrganization, org, "", quaymirror.ErrNotFound) }, "source organization"},
		{"missing robot", func(w world) { w.dst.FailOn(fake.OpGetRobot, org, "mirror", quaymirror.ErrNotFound) }, "robot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.source(t, "app")
			tc.break_(w)
			list, err := w.engine(t, basePolicy()).Preflight(context.Background())
			must(t, err)
			failed := list.Failed()
			if tc.failed == "" {
				if !list.OK() || list.Err() != nil {
					t.Errorf("checks failed: %+v", failed)
				}
				return
			}
			if len(failed) != 1 || failed[0].Name != tc.failed || failed[0].Fix == "" {
				t.Errorf("failed checks = %+v, want only %q with a fix", failed, tc.failed)
			}
			if !errors.Is(list.Err(), quaymirror.ErrPreflight) {
				t.Errorf("Err() = %v", list.Err())
			}
			if w.dst.Writes() != 0 || w.src.Writes() != 0 {
				t.Error("preflight wrote")
			}
		})
	}

	t.Run("mirroring disabled and org mirrored", func(t *testing.T) {
		t.Parallel()
		dst := fake.New(fake.WithCapabilities(quaymirror.Capabilities{OrganizationMirroring: true}))
		must(t, dst.AddRobot(org, "mirror"))
		must(t, dst.SetOrganizationMirrored(org, true))
		src := fake.New()
		must(t, src.AddOrganization(org))
		e, err := quaymirror.NewEngine(src, dst, basePolicy())
		must(t, err)
		list, err := e.Preflight(context.Background())
		must(t, err)
		var names []string
		for _, c := range list.Failed() {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, []string{"repository mirroring", "organization-level mirroring"}) {
			t.Errorf("failed = %v", names)
		}
	})
}

func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		field  string
		mutate func(p *quaymirror.Policy)
	}{
		{"SourceRegistry", func(p *quaymirror.Policy) { p.SourceRegistry = "" }},
		{"SourceRegistry", func(p *quaymirror.Policy) { p.SourceRegistry = "https://quay.io" }},
		{"SourceRegistry", func(p *quaymirror.Policy) { p.SourceRegistry = "quay.io/org" }},
		{"SourceNamespace", func(p *quaymirror.Policy) { p.SourceNamespace = "Bad Org" }},
		{"DestinationNamespace", func(p *quaymirror.Policy) { p.DestinationNamespace = "x" }},
		{"SyncInterval", func(p *quaymirror.Policy) { p.SyncInterval = 59 * time.Second }},
		{"SyncInterval", func(p *quaymirror.Policy) { p.SyncInterval = 90500 * time.Millisecond }},
		{"SkopeoTimeout", func(p *quaymirror.Policy) { p.SkopeoTimeout = 299 * time.Second }},
		{"TagGlobs", func(p *quaymirror.Policy) { p.TagGlobs = []string{""} }},
		{"TagGlobs", func(p *quaymirror.Policy) { p.TagGlobs = []string{"v1,v2"} }},
		{"TagGlobs", func(p *quaymirror.Policy) { p.TagGlobs = []string{"a b"} }},
		{"Robot", func(p *quaymirror.Policy) { p.Robot = "" }},
		{"Robot", func(p *quaymirror.Policy) { p.Robot = "mirror" }},
		{"Robot", func(p *quaymirror.Policy) { p.Robot = "other+mirror" }},
		{"Username", func(p *quaymirror.Policy) { p.Username = "" }},
		{"Visibility", func(p *quaymirror.Policy) { p.Visibility = "internal" }},
		{"ArchitectureFilter", func(p *quaymirror.Policy) { p.ArchitectureFilter = []string{"x86"} }},
		{"Include", func(p *quaymirror.Policy) { p.Include = []string{" "} }},
		{"Exclude", func(p *quaymirror.Policy) { p.Exclude = []string{""} }},
	}
	for _, tc := range cases {
		p := basePolicy()
		tc.mutate(&p)
		err := p.Validate()
		var pe *quaymirror.PolicyError
		if !errors.As(err, &pe) || pe.Field != tc.field || !errors.Is(err, quaymirror.ErrInvalidPolicy) {
			t.Errorf("%s: Validate() = %v, want a PolicyError on %s", tc.field, err, tc.field)
		}
		if _, err := quaymirror.NewEngine(fake.New(), fake.New(), p); err == nil {
			t.Errorf("%s: NewEngine accepted an invalid policy", tc.field)
		}
	}
	if err := basePolicy().Validate(); err != nil {
		t.Errorf("valid policy rejected: %v", err)
	}
	for _, opt := range []quaymirror.Option{
		quaymirror.WithConcurrency(0), quaymirror.WithSourceRate(-1, 1), quaymirror.WithDestinationRate(5, 0),
		quaymirror.WithRepositoryTimeout(0),
	} {
		if _, err := quaymirror.NewEngine(fake.New(), fake.New(), basePolicy(), opt); !errors.Is(err, quaymirror.ErrInvalidPolicy) {
			t.Errorf("invalid option accepted: %v", err)
		}
	}
}

// The two listings run at once and meet in any order: a source repository
// may arrive before or after its destination entry, on any page.
func TestPlanIsCorrectWhateverTheListingOrder(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"same", "reversed", "destination-slow", "source-slow"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var both, onlySource, onlyDestination []string
			for i := range 230 {
				both = append(both, fmt.Sprintf("both-%03d", i))
			}
			for i := range 40 {
				onlySource = append(onlySource, fmt.Sprintf("new-%02d", i))
				onlyDestination = append(onlyDestination, fmt.Sprintf("gone-%02d", i))
			}
			srcNames := slices.Concat(both, onlySource)
			dstNames := slices.Concat(onlyDestination, both)
			if order == "reversed" {
				slices.Reverse(srcNames)
			}
			w.source(t, srcNames...)
			for _, n := range dstNames {
				must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: n, State: quaymirror.StateMirror}))
				must(t, w.dst.PutMirror(org, n, mirrorOf(desired(n), quaymirror.SyncSuccess)))
			}
			slow := func(target *fake.Registry) {
				target.SetHook(func(ctx context.Context, op fake.Op, _, _ string) error {
					if op == fake.OpListRepositories {
						select {
						case <-time.After(20 * time.Millisecond):
						case <-ctx.Done():
						}
					}
					return nil
				})
			}
			switch order {
			case "destination-slow":
				slow(w.dst)
			case "source-slow":
				slow(w.src)
			}
			plan, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(4)).Plan(context.Background())
			must(t, err)
			got := map[quaymirror.Action][]string{}
			for _, it := range plan.Items {
				got[it.Action] = append(got[it.Action], it.Name)
			}
			slices.Sort(both)
			if !slices.Equal(got[quaymirror.ActionUnchanged], both) ||
				!slices.Equal(got[quaymirror.ActionCreate], onlySource) ||
				!slices.Equal(got[quaymirror.ActionOrphan], onlyDestination) || len(got) != 3 {
				t.Errorf("plan: %d unchanged, %d create, %d orphan, actions %v", len(got[quaymirror.ActionUnchanged]),
					len(got[quaymirror.ActionCreate]), len(got[quaymirror.ActionOrphan]), slices.Collect(maps.Keys(got)))
			}
			if reads := w.dst.Calls()[fake.OpGetMirror]; reads != len(both)+len(onlyDestination) {
				t.Errorf("%d mirror reads, want %d", reads, len(both)+len(onlyDestination))
			}
		})
	}
}

// A tag pushed into an empty NORMAL repository between Plan and Apply
// keeps it from becoming a mirror, whichever write would have done it.
func TestTagsPushedBetweenPlanAndApplyAreKept(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "no-config", "with-config")
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "no-config"}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "with-config"}))
	must(t, w.dst.PutMirror(org, "with-config", mirrorOf(desired("with-config"), quaymirror.SyncSuccess)))
	e := w.engine(t, basePolicy())
	plan, err := e.Plan(context.Background())
	must(t, err)
	if plan.Count(quaymirror.ActionConfigure) != 1 || plan.Count(quaymirror.ActionUpdate) != 1 {
		t.Fatalf("plan = %+v", plan.Items)
	}
	for _, n := range []string{"no-config", "with-config"} {
		must(t, w.dst.SetTags(org, n, []string{"pushed-late"}))
	}
	rep, err := e.Apply(context.Background(), plan)
	must(t, err)
	for _, n := range []string{"no-config", "with-config"} {
		res := result(t, rep, n)
		repo, _ := w.dst.Repository(org, n)
		if res.Outcome != quaymirror.OutcomeSkipped || !strings.Contains(res.Reason, "pushed since the plan") || repo.State != quaymirror.StateNormal {
			t.Errorf("%s: %+v, state %s; want skipped and NORMAL", n, res, repo.State)
		}
	}
	if _, ok := w.dst.Mirror(org, "no-config"); ok || w.dst.Writes() != 0 {
		t.Errorf("writes = %v", w.dst.Calls())
	}
}

// A destination that keeps failing (each call after the backend's own
// retries) is not called for every remaining repository: after a wave of
// give-ups the rest fail at once, reported failed.
func TestBreakerStopsCallingARegistryThatKeepsFailing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 30 {
		w.source(t, fmt.Sprintf("r%02d", i))
	}
	w.dst.FailOn(fake.OpCreateRepository, "", "", fmt.Errorf("503 after retries: %w", quaymirror.ErrUnavailable))
	rep, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(2)).Sync(context.Background())
	must(t, err)
	if rep.Failed != 30 || rep.OK() {
		t.Fatalf("counts = %+v, want all 30 failed", rep.Counts)
	}
	// Threshold max(3, concurrency) = 3, plus at most one call already
	// in flight on the other worker.
	if n := w.dst.Calls()[fake.OpCreateRepository]; n < 3 || n > 4 {
		t.Errorf("%d create calls, want the breaker to stop after 3 (4 with one in flight)", n)
	}
	if got := result(t, rep, "r29"); !strings.Contains(got.Error, "not attempted") || !errors.Is(got.Err(), quaymirror.ErrUnavailable) {
		t.Errorf("last repository = %+v, want a not-attempted ErrUnavailable", got)
	}

	// Failures that do not come in a row leave the breaker closed.
	w2 := newWorld(t)
	for i := range 30 {
		w2.source(t, fmt.Sprintf("r%02d", i))
	}
	var n atomic.Int32
	w2.dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpCreateRepository && n.Add(1)%2 == 0 {
			return fmt.Errorf("flaky: %w", quaymirror.ErrUnavailable)
		}
		return nil
	})
	rep, err = w2.engine(t, basePolicy(), quaymirror.WithConcurrency(1)).Sync(context.Background())
	must(t, err)
	if rep.Failed != 15 || rep.Created != 15 || w2.dst.Calls()[fake.OpCreateRepository] != 30 {
		t.Errorf("alternating failures: %+v, %d calls", rep.Counts, w2.dst.Calls()[fake.OpCreateRepository])
	}
	if _, err := quaymirror.NewEngine(w.src, w.dst, basePolicy(), quaymirror.WithBreaker(-1)); !errors.Is(err, quaymirror.ErrInvalidPolicy) {
		t.Errorf("negative breaker accepted: %v", err)
	}
}
