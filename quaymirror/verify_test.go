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

// digest returns a distinct, well-formed manifest digest per label.
func digest(label string) string { return fake.TagDigest("image-" + label) }

// tag is a tag changed ago before the test clock.
func tag(name, label string, ago time.Duration) quaymirror.Tag {
	return quaymirror.Tag{Name: name, Digest: digest(label), LastModified: clock.Add(-ago)}
}

// pushSource adds a source repository holding tags.
func (w world) pushSource(t *testing.T, name string, tags ...quaymirror.Tag) {
	t.Helper()
	w.source(t, name)
	must(t, w.src.PushTags(org, name, tags...))
}

// mirrorAt adds a destination repository in MIRROR state, with a mirror
// configuration in status, holding tags.
func (w world) mirrorAt(t *testing.T, name string, status quaymirror.SyncStatus, tags ...quaymirror.Tag) {
	t.Helper()
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: name, State: quaymirror.StateMirror}))
	must(t, w.dst.PutMirror(org, name, quaymirror.Mirror{
		Config: quaymirror.MirrorConfig{Enabled: true, ExternalReference: srcHost + "/" + org + "/" + name, Robot: robot,
			SyncInterval: quaymirror.DefaultSyncInterval, TagGlobs: []string{"v*", "latest"}},
		Status: quaymirror.MirrorStatus{SyncStatus: status, RetriesRemaining: 3},
	}))
	must(t, w.dst.PushTags(org, name, tags...))
}

// standby is a destination that holds some of the source: every case
// Verify tells apart, with the default grace (twice the 600 s interval).
func standby(t *testing.T) world {
	t.Helper()
	w := newWorld(t)
	h := time.Hour
	// Complete.
	w.pushSource(t, "app/complete", tag("v1", "c1", 5*h), tag("v2", "c2", 5*h), tag("latest", "c2", 5*h))
	w.mirrorAt(t, "app/complete", quaymirror.SyncSuccess, tag("v1", "c1", 4*h), tag("v2", "c2", 4*h), tag("latest", "c2", 4*h))
	// Two tags not copied yet; a tag the globs do not select is ignored.
	w.pushSource(t, "app/partial", tag("v1", "p1", 5*h), tag("v2", "p2", 3*h), tag("v3", "p3", 2*h), tag("dev-build", "p4", 3*h))
	w.mirrorAt(t, "app/partial", quaymirror.SyncFail, tag("v1", "p1", 4*h))
	// latest moved at the source an hour ago, the mirror did not follow.
	w.pushSource(t, "app/stale", tag("v1", "s1", 5*h), tag("latest", "s2", h))
	w.mirrorAt(t, "app/stale", quaymirror.SyncSuccess, tag("v1", "s1", 4*h), tag("latest", "s1", 4*h))
	// A mirror that never ran: the oldest missing change, 10 hours old.
	w.pushSource(t, "app/never", tag("v1", "n1", 10*h))
	w.mirrorAt(t, "app/never", quaymirror.SyncNeverRun)
	// Missing at the destination.
	w.pushSource(t, "app/absent", tag("v1", "a1", 4*h), tag("v2", "a2", 4*h))
	// At the destination with the same tags, but not a mirror.
	w.pushSource(t, "app/normal", tag("v1", "m1", 6*h))
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "app/normal"}))
	must(t, w.dst.PushTags(org, "app/normal", tag("v1", "m1", 6*h)))
	// Changed within the grace: v2 pushed 5 minutes ago, latest moved 10
	// minutes ago; both pending.
	w.pushSource(t, "app/recent", tag("v1", "r1", 5*h), tag("v2", "r2", 5*time.Minute), tag("latest", "r2", 10*time.Minute))
	w.mirrorAt(t, "app/recent", quaymirror.SyncSuccess, tag("v1", "r1", 4*h), tag("latest", "r1", 4*h))
	// A source repository without tags, missing at the destination:
	// checked, nothing to miss.
	w.source(t, "app/empty")
	// Excluded: never looked at.
	w.pushSource(t, "internal/tool", tag("v1", "i1", 9*h))
	// Only at the destination: not the source's business.
	w.mirrorAt(t, "app/gone", quaymirror.SyncSuccess, tag("v1", "g1", 50*h))
	return w
}

func verifyPolicy() quaymirror.Policy {
	p := basePolicy()
	p.Exclude = []string{"internal/*"}
	return p
}

func TestVerifyClassifiesEveryTag(t *testing.T) {
	t.Parallel()
	w := standby(t)
	v, err := w.engine(t, verifyPolicy(), quaymirror.WithConcurrency(3)).Verify(t.Context())
	must(t, err)

	if v.Organization != org || v.DestinationOrganization != org || !v.VerifiedAt.Equal(clock) || v.GraceSeconds != 1200 {
		t.Errorf("header = %s -> %s at %s, grace %d", v.Organization, v.DestinationOrganization, v.VerifiedAt, v.GraceSeconds)
	}
	// complete, partial, stale, never, absent, normal, recent, empty.
	if v.RepositoriesChecked != 8 || v.TagsChecked != 3+3+2+1+2+1+3+0 {
		t.Errorf("checked %d repositories, %d tags", v.RepositoriesChecked, v.TagsChecked)
	}
	if v.Missing != 2+1+2+1 || v.Stale != 1 || v.Pending != 2 || v.Errors != 0 || v.Interrupted {
		t.Errorf("missing %d, stale %d, pending %d, errors %d, interrupted %v", v.Missing, v.Stale, v.Pending, v.Errors, v.Interrupted)
	}
	if v.RecoveryPointSeconds != 10*3600 || v.RecoveryPoint() != 10*time.Hour || !v.OldestChange.Equal(clock.Add(-10*time.Hour)) {
		t.Errorf("recovery point %d s, oldest change %s", v.RecoveryPointSeconds, v.OldestChange)
	}
	if v.Complete() {
		t.Error("Complete with tags missing")
	}
	type row struct {
		name, reason            string
		missing, stale, pending []string
		oldest                  time.Duration
	}
	var got []row
	for _, r := range v.Repositories {
		if r.Error != "" || r.Err() != nil {
			t.Errorf("%s: %s", r.Name, r.Error)
		}
		oldest := time.Duration(0)
		if !r.OldestChange.IsZero() {
			oldest = clock.Sub(r.OldestChange)
		}
		got = append(got, row{r.Name, r.Reason, r.Missing, r.Stale, r.Pending, oldest})
	}
	none := []string{}
	want := []row{
		{"app/absent", "missing at the destination", []string{"v1", "v2"}, none, none, 4 * time.Hour},
		{"app/never", "", []string{"v1"}, none, none, 10 * time.Hour},
		{"app/normal", "not mirrored at the destination (state NORMAL)", []string{"v1"}, none, none, 6 * time.Hour},
		{"app/partial", "", []string{"v2", "v3"}, none, none, 3 * time.Hour},
		{"app/recent", "", none, none, []string{"latest", "v2"}, 0},
		{"app/stale", "", none, []string{"latest"}, none, time.Hour},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("repositories:\n got %v\nwant %v", got, want)
	}
	for _, r := range v.Repositories {
		if r.Missing == nil || r.Stale == nil || r.Pending == nil {
			t.Errorf("%s has a nil tag list", r.Name)
		}
	}

	// Reads only, and only what the comparison needs: a listing page per
	// side, a tag listing per selected source repository, and one per
	// destination mirror whose source has selected tags (complete,
	// partial, stale, never, recent).
	if w.dst.Writes() != 0 || w.src.Writes() != 0 {
		t.Errorf("verify wrote: %d at the destination, %d at the source", w.dst.Writes(), w.src.Writes())
	}
	src, dst := w.src.Calls(), w.dst.Calls()
	if src[fake.OpListRepositories] != 1 || src[fake.OpListTags] != 8 || dst[fake.OpListRepositories] != 1 || dst[fake.OpListTags] != 5 || len(dst) != 2 {
		t.Errorf("calls: source %v, destination %v", src, dst)
	}
	if v.Calls != (quaymirror.Calls{SourceReads: 9, DestinationReads: 6}) {
		t.Errorf("engine counted %+v", v.Calls)
	}
}

// The grace decides what is pending; the recovery point only counts what
// is beyond it.
func TestVerifyGrace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		grace                   time.Duration
		missing, stale, pending int
		recovery                time.Duration
	}{
		// Four hours: partial's v2 (3 h) and v3 (2 h), stale's latest
		// (1 h) and recent's two become pending.
		{4 * time.Hour, 1 + 2 + 1, 0, 2 + 1 + 2, 10 * time.Hour},
		// Eleven hours: everything is pending, the recovery point is 0.
		{11 * time.Hour, 0, 0, 6 + 1 + 2, 0},
		// One second: nothing is pending.
		{time.Second, 6 + 1, 1 + 1, 0, 10 * time.Hour},
	} {
		t.Run(tc.grace.String(), func(t *testing.T) {
			t.Parallel()
			w := standby(t)
			p := verifyPolicy()
			p.VerifyGrace = tc.grace
			v, err := w.engine(t, p).Verify(t.Context())
			must(t, err)
			if v.Missing != tc.missing || v.Stale != tc.stale || v.Pending != tc.pending || v.RecoveryPoint() != tc.recovery ||
				v.GraceSeconds != int64(tc.grace/time.Second) {
				t.Errorf("missing %d stale %d pending %d recovery %s grace %d s", v.Missing, v.Stale, v.Pending, v.RecoveryPoint(), v.GraceSeconds)
			}
			if complete := tc.missing+tc.stale == 0; v.Complete() != complete {
				t.Errorf("Complete = %v", v.Complete())
			}
		})
	}
}

func TestVerifyCompleteStandby(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.pushSource(t, "app/one", tag("v1", "1", time.Hour))
	w.mirrorAt(t, "app/one", quaymirror.SyncSuccess, tag("v1", "1", time.Hour))
	v, err := w.engine(t, verifyPolicy()).Verify(t.Context())
	must(t, err)
	if !v.Complete() || v.RecoveryPointSeconds != 0 || !v.OldestChange.IsZero() || len(v.Repositories) != 0 || v.RepositoriesChecked != 1 || v.TagsChecked != 1 {
		t.Errorf("verification = %+v", v)
	}
}

// A repository whose tags cannot be read is reported; the others are
// verified.
func TestVerifyRepositoryErrorDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	w := standby(t)
	w.dst.FailOn(fake.OpListTags, org, "app/partial", fmt.Errorf("boom: %w", quaymirror.ErrUnavailable))
	w.src.FailOn(fake.OpListTags, org, "app/absent", fmt.Errorf("refused: %w", quaymirror.ErrForbidden))
	v, err := w.engine(t, verifyPolicy(), quaymirror.WithBreaker(0)).Verify(t.Context())
	must(t, err)
	if v.RepositoriesChecked != 8 || v.Errors != 2 || v.Complete() {
		t.Fatalf("checked %d, errors %d", v.RepositoriesChecked, v.Errors)
	}
	// What remains: never (1), normal (1) missing; stale's latest.
	if v.Missing != 2 || v.Stale != 1 || v.Pending != 2 {
		t.Errorf("missing %d stale %d pending %d", v.Missing, v.Stale, v.Pending)
	}
	errs := map[string]error{}
	for _, r := range v.Repositories {
		if r.Error != "" {
			errs[r.Name] = r.Err()
		}
	}
	if !errors.Is(errs["app/partial"], quaymirror.ErrUnavailable) || errs["app/partial"].Error() != "destination: listing the tags of acme/app/partial (page 1): boom: registry unavailable" ||
		!errors.Is(errs["app/absent"], quaymirror.ErrForbidden) || errs["app/absent"].Error() != "source: listing the tags of acme/app/absent (page 1): refused: forbidden" {
		t.Errorf("errors = %v", errs)
	}
}

func TestVerifyListingFailureIsAnError(t *testing.T) {
	t.Parallel()
	for _, side := range []string{"source", "destination"} {
		w := standby(t)
		reg := w.src
		if side == "destination" {
			reg = w.dst
		}
		reg.FailOn(fake.OpListRepositories, org, "", fmt.Errorf("down: %w", quaymirror.ErrUnavailable))
		v, err := w.engine(t, verifyPolicy()).Verify(t.Context())
		if v != nil || !errors.Is(err, quaymirror.ErrUnavailable) || !strings.HasPrefix(err.Error(), side+": ") {
			t.Errorf("%s listing failed: %v, %v", side, v, err)
		}
	}
}

// When the context ends, Verify returns what it verified so far, marked
// interrupted, and no repository in flight is reported as an error.
func TestVerifyInterrupted(t *testing.T) {
	t.Parallel()
	w := standby(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	w.src.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op == fake.OpListTags {
			if n++; n == 3 {
				cancel()
			}
		}
		return nil
	})
	v, err := w.engine(t, verifyPolicy(), quaymirror.WithConcurrency(1)).Verify(ctx)
	must(t, err)
	if !v.Interrupted || v.Complete() || v.Errors != 0 || v.RepositoriesChecked != 2 {
		t.Errorf("interrupted %v, checked %d, errors %d", v.Interrupted, v.RepositoriesChecked, v.Errors)
	}
}

// tagless hides the TagLister of a backend.
type tagless struct{ quaymirror.Destination }

func TestVerifyNeedsTagListers(t *testing.T) {
	t.Parallel()
	w := standby(t)
	for _, tc := range []struct {
		side     string
		src      quaymirror.Source
		dst      quaymirror.Destination
		detail   string
		verified bool
	}{
		{"source", tagless{w.src}, w.dst, "the source backend cannot list tags", false},
		{"destination", w.src, tagless{w.dst}, "the destination backend cannot list tags", false},
		{"both", tagless{w.src}, tagless{w.dst}, "the source and destination backend cannot list tags", false},
		{"neither", w.src, w.dst, "both backends list tags with their digests", true},
	} {
		e, err := quaymirror.NewEngine(tc.src, tc.dst, verifyPolicy(), quaymirror.WithClock(func() time.Time { return clock }))
		must(t, err)
		checks, err := e.VerifyPreflight(t.Context())
		must(t, err)
		i := slices.IndexFunc(checks, func(c quaymirror.Check) bool { return c.Name == "tag listing" })
		if i < 0 || checks[i].Detail != tc.detail || checks.OK() != tc.verified {
			t.Errorf("%s: checks = %+v", tc.side, checks)
		}
		_, err = e.Verify(t.Context())
		if tc.verified != (err == nil) || !tc.verified && !errors.Is(err, quaymirror.ErrUnsupported) {
			t.Errorf("%s: Verify: %v", tc.side, err)
		}
	}
}

// The verify preflight does not ask for what only a sync needs: no
// administration of the destination, no robot.
func TestVerifyPreflightNeedsReadingOnly(t *testing.T) {
	t.Parallel()
	w := world{src: fake.New(), dst: fake.New()}
	must(t, w.src.AddOrganization(org))
	must(t, w.dst.AddOrganization(org)) // no robot
	checks, err := w.engine(t, verifyPolicy()).VerifyPreflight(t.Context())
	must(t, err)
	var names []string
	for _, c := range checks {
		names = append(names, c.Name+":"+string(c.Status))
	}
	want := "source credentials:ok destination credentials:ok source organization:ok destination organization:ok tag listing:ok"
	if strings.Join(names, " ") != want {
		t.Errorf("checks = %s", strings.Join(names, " "))
	}
	// A destination organisation that does not exist fails it.
	w2 := world{src: w.src, dst: fake.New()}
	checks, err = w2.engine(t, verifyPolicy()).VerifyPreflight(t.Context())
	must(t, err)
	if f := checks.Failed(); len(f) != 1 || f[0].Name != "destination organization" || !strings.Contains(f[0].Detail, "does not exist") {
		t.Errorf("checks = %+v", checks)
	}
}

func TestVerifyGraceIsValidated(t *testing.T) {
	t.Parallel()
	p := verifyPolicy()
	p.VerifyGrace = -time.Second
	var pe *quaymirror.PolicyError
	if err := p.Validate(); !errors.As(err, &pe) || pe.Field != "VerifyGrace" {
		t.Errorf("Validate = %v", err)
	}
	p.VerifyGrace = 0
	p.SyncInterval = 15 * time.Minute
	e, err := quaymirror.NewEngine(fake.New(), fake.New(), p)
	must(t, err)
	if g := e.Policy().VerifyGrace; g != 30*time.Minute {
		t.Errorf("default grace = %s, want twice the interval", g)
	}
}
