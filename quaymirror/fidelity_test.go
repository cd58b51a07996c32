package quaymirror_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// Behaviours of real Quay that issue 10 found the engine getting wrong.

// Quay accepts any robot short name of 2 to 255 characters matching
// ^[a-z0-9]+(?:[._-][a-z0-9]+)*$ (util/validation.py validate_username);
// only the older web UI was stricter.
func TestRobotShortNamesQuayAccepts(t *testing.T) {
	t.Parallel()
	for _, short := range []string{"mirror", "mirror-bot", "ci.bot", "1bot", "a_b", "m1", "x9.y-z_0"} {
		if !quaymirror.ValidRobotShortName(short) {
			t.Errorf("ValidRobotShortName(%q) = false; Quay accepts it", short)
		}
		p := basePolicy()
		p.Robot = org + "+" + short
		if err := p.Validate(); err != nil {
			t.Errorf("policy with robot %s: %v", p.Robot, err)
		}
	}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	for _, short := range []string{"", "a", "Bot", "bot-", "-bot", "a..b", "a b", "a+b", "ci/bot", string(long)} {
		if quaymirror.ValidRobotShortName(short) {
			t.Errorf("ValidRobotShortName(%q) = true; Quay refuses it", short)
		}
		p := basePolicy()
		p.Robot = org + "+" + short
		var pe *quaymirror.PolicyError
		if err := p.Validate(); !errors.As(err, &pe) || pe.Field != "Robot" {
			t.Errorf("policy with robot %q: %v, want a PolicyError on Robot", p.Robot, err)
		}
	}

	// A run with such a robot converges.
	w := world{src: fake.New(), dst: fake.New()}
	must(t, w.src.AddOrganization(org))
	must(t, w.dst.AddOrganization(org))
	must(t, w.dst.AddRobot(org, "ci.bot"))
	w.source(t, "app")
	p := basePolicy()
	p.Robot = org + "+ci.bot"
	e := w.engine(t, p)
	checks, err := e.Preflight(context.Background())
	must(t, err)
	if !checks.OK() {
		t.Fatalf("preflight: %+v", checks.Failed())
	}
	rep, err := e.Sync(context.Background())
	must(t, err)
	if !rep.OK() || rep.Created != 1 {
		t.Fatalf("sync: %+v", rep.Repositories)
	}
	if m, _ := w.dst.Mirror(org, "app"); m.Config.Robot != org+"+ci.bot" {
		t.Errorf("mirror robot = %q", m.Config.Robot)
	}
}

// advising is a fake registry that gives its own advice, as a backend
// that knows its server (registry/quay) does.
type advising struct{ *fake.Registry }

func (advising) Advice(topic quaymirror.Topic, subject string) string {
	return "backend advice on " + string(topic) + " " + subject
}

// What to do about a failed check is the backend's to say (a Quay
// config.yaml key, an OAuth scope); a backend that says nothing gets a
// generic advice that names no server's settings.
func TestPreflightAdviceComesFromTheBackend(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		caps   quaymirror.Capabilities
		policy func(*quaymirror.Policy)
		failed string
		topic  quaymirror.Topic
	}{
		{"mirroring disabled", quaymirror.Capabilities{}, nil, "repository mirroring", quaymirror.TopicRepositoryMirroring},
		{"no architecture filter", quaymirror.Capabilities{RepositoryMirroring: true},
			func(p *quaymirror.Policy) { p.ArchitectureFilter = []string{"amd64"} }, "architecture filter", quaymirror.TopicArchitectureFilter},
		{"sparse index off", quaymirror.Capabilities{RepositoryMirroring: true, ArchitectureFilter: true},
			func(p *quaymirror.Policy) { p.ArchitectureFilter = []string{"amd64"} }, "architecture filter", quaymirror.TopicSparseIndex},
	}
	for _, tc := range cases {
		for _, withAdvice := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/advice=%v", tc.name, withAdvice), func(t *testing.T) {
				t.Parallel()
				src := fake.New()
				must(t, src.AddOrganization(org))
				reg := fake.New(fake.WithCapabilities(tc.caps))
				must(t, reg.AddRobot(org, "mirror"))
				var dst quaymirror.Destination = reg
				if withAdvice {
					dst = advising{reg}
				}
				p := basePolicy()
				if tc.policy != nil {
					tc.policy(&p)
				}
				e, err := quaymirror.NewEngine(src, dst, p)
				must(t, err)
				list, err := e.Preflight(context.Background())
				must(t, err)
				failed := list.Failed()
				if len(failed) != 1 || failed[0].Name != tc.failed {
					t.Fatalf("failed = %+v, want %q alone", failed, tc.failed)
				}
				fix := failed[0].Fix
				switch {
				case withAdvice && fix != "backend advice on "+string(tc.topic)+" ":
					t.Errorf("fix = %q, want the backend's advice on %s", fix, tc.topic)
				case !withAdvice && (fix == "" || strings.Contains(fix, "FEATURE_") || strings.Contains(fix, "config.yaml")):
					t.Errorf("generic fix = %q: empty or naming a server's settings", fix)
				}
			})
		}
	}

	// Read-only mode is a warning, with the backend's advice.
	src := fake.New()
	must(t, src.AddOrganization(org))
	reg := fake.New(fake.WithCapabilities(quaymirror.Capabilities{RepositoryMirroring: true, ReadOnly: true}))
	must(t, reg.AddRobot(org, "mirror"))
	e, err := quaymirror.NewEngine(src, advising{reg}, basePolicy())
	must(t, err)
	list, err := e.Preflight(context.Background())
	must(t, err)
	var warned bool
	for _, c := range list {
		warned = warned || c.Name == "writable" && c.Status == quaymirror.CheckWarn && c.Fix == "backend advice on read-only "
	}
	if !list.OK() || !warned {
		t.Errorf("read-only: %+v, want a warning with the backend's advice", list)
	}

	// Credentials: the advice is asked of the side that refused them.
	w := newWorld(t)
	w.src.FailOn(fake.OpCurrentUser, "", "", quaymirror.ErrUnauthorized)
	e, err = quaymirror.NewEngine(advising{w.src}, advising{w.dst}, basePolicy())
	must(t, err)
	list, err = e.Preflight(context.Background())
	must(t, err)
	if f := list.Failed(); len(f) != 1 || f[0].Fix != "backend advice on source-credentials "+org {
		t.Errorf("failed = %+v, want the source backend's advice on its credentials", f)
	}
}

// A source says in its own terms what to do about a missing or
// unreadable organisation (a Harbor project, an OCI path prefix), a
// failed listing (a refused OCI catalog) and an empty one; a source
// without advice keeps the generic fixes.
func TestPreflightSourceAdviceComesFromTheSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		op     fake.Op
		err    error
		check  string
		status quaymirror.CheckStatus
		topic  quaymirror.Topic
	}{
		{"organization missing", fake.OpGetOrganization, quaymirror.ErrNotFound, "source organization", quaymirror.CheckFail, quaymirror.TopicSourceOrganization},
		{"organization unreadable", fake.OpGetOrganization, quaymirror.ErrForbidden, "source organization", quaymirror.CheckFail, quaymirror.TopicSourceOrganization},
		{"listing fails", fake.OpListRepositories, quaymirror.ErrUnsupported, "source listing", quaymirror.CheckFail, quaymirror.TopicSourceListing},
		{"listing empty", "", nil, "source listing", quaymirror.CheckWarn, quaymirror.TopicSourceEmpty},
	} {
		for _, withAdvice := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/advice=%v", tc.name, withAdvice), func(t *testing.T) {
				t.Parallel()
				src := fake.New()
				must(t, src.AddOrganization(org))
				if tc.op != "" {
					src.FailOn(tc.op, org, "", tc.err)
				}
				dst := fake.New()
				must(t, dst.AddRobot(org, "mirror"))
				var source quaymirror.Source = src
				if withAdvice {
					source = advising{src}
				}
				e, err := quaymirror.NewEngine(source, dst, basePolicy())
				must(t, err)
				list, err := e.Preflight(context.Background())
				must(t, err)
				var got *quaymirror.Check
				for i := range list {
					if list[i].Name == tc.check && list[i].Status == tc.status {
						got = &list[i]
					}
				}
				switch {
				case got == nil:
					t.Fatalf("no %s check with status %s in %+v", tc.check, tc.status, list)
				case withAdvice && got.Fix != "backend advice on "+string(tc.topic)+" "+org:
					t.Errorf("fix = %q, want the source's advice on %s", got.Fix, tc.topic)
				case !withAdvice && (got.Fix == "" || strings.HasPrefix(got.Fix, "backend advice")):
					t.Errorf("generic fix = %q", got.Fix)
				}
			})
		}
	}
}

// An error about the organisation rather than the repository (the
// destination refuses the source location, read-only mode, the
// organisation-level mirror lock, a missing robot, rejected credentials,
// a feature the destination lacks) used to fail every repository in turn:
// an organisation's worth of empty repositories and the same error, again
// at every run. The first new repository is now written alone, as a
// canary; such an error stops the organisation's writes at once and is
// reported once, with a fix, in the report.
func TestOrganizationErrorStopsTheOrganization(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		op   fake.Op
	}{
		{"source not allowed", fmt.Errorf("The provided registry location is not allowed: %w", quaymirror.ErrSourceNotAllowed), fake.OpCreateMirror},
		{"read-only", fmt.Errorf("System is currently read-only: %w", quaymirror.ErrReadOnly), fake.OpCreateRepository},
		{"organization-level mirror lock", fmt.Errorf("locked: %w", quaymirror.ErrOrgMirrored), fake.OpCreateMirror},
		{"robot missing", fmt.Errorf("Could not find robot with specified username: %w", quaymirror.ErrRobotNotFound), fake.OpCreateMirror},
		{"credentials rejected", fmt.Errorf("CSRF token was invalid or missing: %w", quaymirror.ErrUnauthorized), fake.OpCreateRepository},
		{"unsupported", fmt.Errorf("architecture_filter: %w", quaymirror.ErrUnsupported), fake.OpCreateMirror},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			names := make([]string, 20)
			for i := range names {
				names[i] = fmt.Sprintf("repo-%02d", i)
			}
			w.source(t, names...)
			w.dst.FailOn(tc.op, org, "", tc.err)
			rep, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(8)).Sync(context.Background())
			must(t, err)
			oe := rep.OrganizationError
			if oe == nil {
				t.Fatalf("no organization error; results %+v", rep.Repositories)
			}
			// The canary is the repository whose write started first
			// (Sync writes as it decides); every other one is not
			// attempted.
			if !errors.Is(oe, errors.Unwrap(tc.err)) || oe.Organization != org || oe.Reason == "" || oe.Fix == "" || !slices.Contains(names, oe.Repository) {
				t.Errorf("organization error = %+v", oe)
			}
			if rep.OK() {
				t.Error("the report is OK although the organization was stopped")
			}
			calls := w.dst.Calls()
			if n := calls[fake.OpCreateRepository]; n != 1 {
				t.Errorf("%d repositories were created or attempted, want the canary alone", n)
			}
			for _, r := range rep.Repositories {
				if r.Name == oe.Repository {
					if r.Outcome != quaymirror.OutcomeFailed || strings.HasPrefix(r.Error, "not attempted: ") {
						t.Errorf("canary %s: outcome %s, error %q", r.Name, r.Outcome, r.Error)
					}
					continue
				}
				if r.Outcome != quaymirror.OutcomeFailed || !strings.HasPrefix(r.Error, "not attempted: ") || !errors.Is(r.Err(), errors.Unwrap(tc.err)) {
					t.Errorf("%s: outcome %s, error %q; want failed, not attempted", r.Name, r.Outcome, r.Error)
				}
			}
			if rep.Failed != len(names) {
				t.Errorf("failed = %d, want %d", rep.Failed, len(names))
			}
		})
	}

	// An error about one repository stops nothing.
	t.Run("repository error", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.source(t, "a", "b", "c", "d")
		w.dst.FailOn(fake.OpCreateMirror, org, "a", fmt.Errorf("Invalid robot: %w", quaymirror.ErrInvalid))
		rep, err := w.engine(t, basePolicy()).Sync(context.Background())
		must(t, err)
		if rep.OrganizationError != nil || rep.Failed != 1 || rep.Created != 3 {
			t.Errorf("organization error %v, counts %+v", rep.OrganizationError, rep.Counts)
		}
	})

	// Apply's canary is the first repository of the plan that needs a
	// new mirror configuration, even after updates.
	canaryWorld := func(t *testing.T) world {
		w := newWorld(t)
		w.source(t, "a", "b", "c", "z")
		drifted := desired("a")
		drifted.SyncInterval = time.Hour
		must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "a", State: quaymirror.StateMirror}))
		must(t, w.dst.PutMirror(org, "a", mirrorOf(drifted, quaymirror.SyncSuccess)))
		must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "c"}))
		w.dst.FailOn(fake.OpCreateMirror, org, "", fmt.Errorf("refused: %w", quaymirror.ErrSourceNotAllowed))
		return w
	}
	t.Run("canary", func(t *testing.T) {
		t.Parallel()
		w := canaryWorld(t)
		e := w.engine(t, basePolicy())
		plan, err := e.Plan(context.Background())
		must(t, err)
		rep, err := e.Apply(context.Background(), plan)
		must(t, err)
		if rep.OrganizationError == nil || rep.OrganizationError.Repository != "b" {
			t.Fatalf("organization error = %+v, want one met by b", rep.OrganizationError)
		}
		if calls := w.dst.Calls(); calls[fake.OpCreateRepository] != 1 || calls[fake.OpUpdateMirror] != 0 || calls[fake.OpCreateMirror] != 1 {
			t.Errorf("calls %v: want b alone written", calls)
		}
	})
	// Sync writes as it decides: the first repository written is
	// written alone, and so is the first new mirror configuration, so
	// that the error is met by one repository whatever comes first (the
	// update of a, read while b waits for the destination listing, may).
	t.Run("canary of a sync", func(t *testing.T) {
		t.Parallel()
		w := canaryWorld(t)
		rep, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(4)).Sync(context.Background())
		must(t, err)
		if oe := rep.OrganizationError; oe == nil || !slices.Contains([]string{"b", "c", "z"}, oe.Repository) {
			t.Fatalf("organization error = %+v, want one met by a new mirror", oe)
		}
		if calls := w.dst.Calls(); calls[fake.OpCreateMirror] != 1 || calls[fake.OpUpdateMirror] > 1 {
			t.Errorf("calls %v: want one new mirror configuration attempted", calls)
		}
		for _, r := range rep.Repositories {
			if r.Name != rep.OrganizationError.Repository && r.Name != "a" && !strings.HasPrefix(r.Error, "not attempted: ") {
				t.Errorf("%s: %+v, want not attempted", r.Name, r)
			}
		}
	})
}

// A mirror the destination holds but cannot return (ErrUnreadable) is
// reported with its fix, and recreate re-sends it whole without reading it.
func TestUnreadableMirrorPlans(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "app")
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app", State: quaymirror.StateMirror}))
	must(t, w.dst.PutMirror(org, "app", mirrorOf(desired("app"), quaymirror.SyncSuccess)))
	w.dst.FailOn(fake.OpGetMirror, org, "app", fmt.Errorf("credentials do not decrypt: %w", quaymirror.ErrUnreadable))

	plan, err := w.engine(t, basePolicy()).Plan(context.Background())
	must(t, err)
	if it := plan.Items[0]; it.Action != quaymirror.ActionSkip || !errors.Is(it.Err, quaymirror.ErrUnreadable) || !strings.Contains(it.Reason, "recreate") {
		t.Errorf("item = %+v, want a failure naming recreate", it)
	}
	p := basePolicy()
	p.Recreate = true
	rep, err := w.engine(t, p).Sync(context.Background())
	must(t, err)
	r := rep.Repositories[0]
	if r.Outcome != quaymirror.OutcomeUpdated || !slices.Contains(r.Changes, quaymirror.FieldPassword) || !slices.Contains(r.Changes, quaymirror.FieldUsername) {
		t.Errorf("recreate: %s %v %q", r.Outcome, r.Changes, r.Error)
	}
	if n := w.dst.Calls()[fake.OpUpdateMirror]; n != 1 {
		t.Errorf("%d updates, want 1", n)
	}
}

// status said "healthy" while every mirror create was being refused: it
// looked only at repositories in MIRROR state. Given the source, it now
// reports the source repositories missing at the destination and those
// that exist there without being mirrored, as problems.
func TestHealthReportsWhatIsNotMirrored(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "ok", "missing", "plain", "frozen", "excluded", "org-mirrored")
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "ok", State: quaymirror.StateMirror}))
	must(t, w.dst.PutMirror(org, "ok", mirrorOf(desired("ok"), quaymirror.SyncSuccess)))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "plain"}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "frozen", State: quaymirror.StateReadOnly}))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "org-mirrored", State: quaymirror.StateOrgMirror}))
	// Only at the destination: not the source's business.
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "local-only"}))

	opts := quaymirror.HealthOptions{Now: func() time.Time { return clock }}
	h, err := quaymirror.CheckHealth(context.Background(), w.dst, org, opts)
	must(t, err)
	if !h.Healthy() || h.Missing != 0 || h.NotMirrored != 0 {
		t.Errorf("without the source: %+v, want healthy (it cannot tell)", h)
	}

	opts.Source, opts.SourceNamespace, opts.Exclude = w.src, org, []string{"excluded"}
	h, err = quaymirror.CheckHealth(context.Background(), w.dst, org, opts)
	must(t, err)
	if h.Healthy() || h.Missing != 1 || h.NotMirrored != 2 || h.Mirrors != 1 {
		t.Errorf("health = %+v", h)
	}
	want := map[string]quaymirror.Problem{"missing": quaymirror.ProblemMissing, "plain": quaymirror.ProblemNotMirrored, "frozen": quaymirror.ProblemNotMirrored}
	if len(h.Repositories) != len(want) {
		t.Errorf("problems = %+v", h.Repositories)
	}
	for name, p := range want {
		if m := problemOf(h, name); m.Problem != p || m.LastError == "" {
			t.Errorf("%s: %+v, want %s with a detail", name, m, p)
		}
	}
	if h.Calls.SourceReads != 1 {
		t.Errorf("calls = %+v, want one source read", h.Calls)
	}
	if w.dst.Writes() != 0 {
		t.Error("status wrote")
	}
}

// Writes of repositories decided by the workers (updates after a read)
// and of new ones met while listing share the pool: with one worker, the
// first write must not wait for a place that writes waiting for it hold.
// (A version that gave the first write its role before it had a place in
// the pool hung here.)
func TestFirstWriteNeverWaitsForAPlaceInThePool(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 2} {
		w := newWorld(t)
		var names []string
		for i := range 6 {
			names = append(names, fmt.Sprintf("drifted-%d", i), fmt.Sprintf("new-%d", i))
		}
		w.source(t, names...)
		for i := range 6 {
			name := fmt.Sprintf("drifted-%d", i)
			cfg := desired(name)
			cfg.SyncInterval = time.Hour
			must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: name, State: quaymirror.StateMirror}))
			must(t, w.dst.PutMirror(org, name, mirrorOf(cfg, quaymirror.SyncSuccess)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep, err := w.engine(t, basePolicy(), quaymirror.WithConcurrency(conc)).Sync(ctx)
		cancel()
		if err != nil || rep.Created != 6 || rep.Updated != 6 || !rep.OK() || rep.Interrupted {
			t.Errorf("concurrency %d: %v, counts %+v", conc, err, rep.Counts)
		}
	}
}
