package quaytest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// The real client (and engine) against the emulator, for what issue 10
// found a real Quay doing that quaymirror got wrong. Each test failed
// before its fix.

// Without public=true Quay lists only the repositories the token's user
// reaches through a permission, a team or an organisation role: a public
// repository of the organisation without one was missing from the source
// listing (and could be counted as an orphan).
func TestListingIncludesPublicRepositories(t *testing.T) {
	t.Parallel()
	for _, v := range quaytest.Versions() {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v, quaytest.DefaultFeatures())
			e.publicRepos()
			var got []string
			for r, err := range quaymirror.Repositories(t.Context(), e.client(tokMember), "acme") {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r.Name)
			}
			if !slices.Equal(got, []string{"site", "granted"}) {
				t.Errorf("member's listing of acme = %v, want [site granted] (public ones included, once, acme only)", got)
			}
		})
	}
}

// When the discovery document cannot be read, the client used to shape
// mirror bodies as for Quay 3.6, which every 3.15+ server refuses
// ("'skopeo_timeout_interval' is a required property") and which then cost
// a write per repository. It now fails clearly, before any write.
func TestNoMirrorWriteWithoutDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	e.reg.FailOn(fake.OpCapabilities, "", "", errors.New("discovery is broken"))
	c := e.client(tokAdmin)
	err := c.CreateMirror(t.Context(), "acme", "app", quaymirror.MirrorConfig{
		Enabled: true, ExternalReference: "quay.example.com/src/app", SyncInterval: time.Hour,
		TagGlobs: []string{"*"}, Robot: "acme+mirror", VerifyTLS: true,
	})
	if err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("CreateMirror without discovery: %v, want an error that names the discovery document", err)
	}
	err = c.UpdateMirror(t.Context(), "acme", "app", quaymirror.MirrorConfig{SyncInterval: time.Hour}, []quaymirror.Field{quaymirror.FieldSyncInterval})
	if err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("UpdateMirror without discovery: %v, want an error that names the discovery document", err)
	}
	if w := e.em.Writes(); w != 0 {
		t.Errorf("%d writes reached the server: %v", w, e.em.Requests())
	}
}

// pair is a source and a destination emulator, each with organisation acme
// (repository app, robots mirror and other at the destination), and
// engines over the real client between them.
type pair struct {
	src, dst *env
	// addrs is what the destination client's resolver answers.
	addrs resolver
}

func newPair(t *testing.T, v quaytest.Version, f quaytest.Features, opts ...quaytest.Option) *pair {
	t.Helper()
	return &pair{
		src: newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures()), dst: newEnv(t, v, f, opts...),
		addrs: resolver{sourceHost: {netip.MustParseAddr("93.184.216.34")}},
	}
}

// resolver is the tests' DNS: no lookup leaves the machine.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// sourceHost is the source registry the mirrors pull from: a name under
// .example.com, whose addresses the tests' resolver decides.
const sourceHost = "quay-src.example.com"

func (p *pair) policy() quaymirror.Policy {
	return quaymirror.Policy{
		SourceRegistry: sourceHost, SourceNamespace: "acme", Robot: "acme+mirror",
		Username: "puller", Password: "pull-pw", TagGlobs: []string{"*"},
	}
}

func (p *pair) engine(t *testing.T, policy quaymirror.Policy, opts ...quaymirror.Option) *quaymirror.Engine {
	t.Helper()
	opts = append([]quaymirror.Option{quaymirror.WithSourceRate(0, 0), quaymirror.WithDestinationRate(0, 0)}, opts...)
	e, err := quaymirror.NewEngine(p.src.client(tokAdmin), p.dst.client(tokAdmin, quay.WithResolver(p.addrs)), policy, opts...)
	must(t, err)
	return e
}

// failedCheck returns the failed check named name, failing the test when
// it is not the only failure.
func failedCheck(t *testing.T, list quaymirror.Checklist, name string) quaymirror.Check {
	t.Helper()
	failed := list.Failed()
	if len(failed) != 1 || failed[0].Name != name {
		t.Fatalf("failed checks = %+v, want %q alone", failed, name)
	}
	return failed[0]
}

// Quay 3.17+ refuses a non-empty architecture filter unless
// FEATURE_SPARSE_INDEX is on (Quay's default is off); 3.17.0 to 3.17.3
// and 3.18.0 even create the mirror without the filter first. Discovery
// cannot show the flag, the anonymous GET /config can: preflight now
// fails, with the fix, before any write.
func TestPreflightNeedsSparseIndexForAnArchitectureFilter(t *testing.T) {
	t.Parallel()
	for _, v := range []quaytest.Version{quaytest.V3_17, {Major: 3, Minor: 17, Patch: 3}, quaytest.V3_18} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			f := quaytest.DefaultFeatures()
			f.SparseIndex = false
			p := newPair(t, v, f)
			pol := p.policy()
			pol.ArchitectureFilter = []string{"amd64"}
			list, err := p.engine(t, pol).Preflight(t.Context())
			must(t, err)
			c := failedCheck(t, list, "architecture filter")
			if !strings.Contains(c.Fix, "FEATURE_SPARSE_INDEX: true") {
				t.Errorf("fix = %q, want it to name FEATURE_SPARSE_INDEX", c.Fix)
			}
			// The same policy without a filter passes.
			list, err = p.engine(t, p.policy()).Preflight(t.Context())
			must(t, err)
			if !list.OK() {
				t.Errorf("without a filter: %+v", list.Failed())
			}
			// And a write that skipped preflight is refused before it
			// reaches the server.
			err = p.dst.client(tokAdmin).CreateMirror(t.Context(), "acme", "app", quaymirror.MirrorConfig{Enabled: true,
				ExternalReference: sourceHost + "/acme/app", SyncInterval: time.Hour, TagGlobs: []string{"*"}, Robot: "acme+mirror",
				ArchitectureFilter: []string{"amd64"}})
			if !errors.Is(err, quaymirror.ErrUnsupported) {
				t.Errorf("CreateMirror with a filter: %v, want ErrUnsupported", err)
			}
			if w := p.dst.em.Writes(); w != 0 {
				t.Errorf("%d writes reached the destination: %v", w, p.dst.em.Requests())
			}
			if p.dst.state() != quaymirror.StateNormal {
				t.Errorf("acme/app is %s, want NORMAL", p.dst.state())
			}
		})
	}
}

// A destination in read-only mode refuses every write; /config says so
// (registry_state), and preflight warns about it before any write.
func TestPreflightWarnsOfAReadOnlyDestination(t *testing.T) {
	t.Parallel()
	p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
	p.dst.em.SetReadOnly(true)
	list, err := p.engine(t, p.policy()).Preflight(t.Context())
	must(t, err)
	var c quaymirror.Check
	for _, x := range list {
		if x.Name == "writable" {
			c = x
		}
	}
	if !list.OK() || c.Status != quaymirror.CheckWarn || !strings.Contains(c.Fix, "read-only mode") {
		t.Errorf("checks = %+v, want a warning on writable with the fix", list)
	}
}

// orgStopped runs a sync of twelve source repositories (acme/app exists,
// empty, at the destination; the others are missing) and checks that an
// organisation-level error stopped it after the canary alone: the one
// repository whose write started first (Sync writes as it decides: app,
// configured after its reads, or one of the others, created as soon as
// it is listed), at most one repository created and one mirror write,
// the error reported once with a fix.
func orgStopped(t *testing.T, p *pair, pol quaymirror.Policy, sentinel error) *quaymirror.OrganizationError {
	t.Helper()
	for i := range 11 {
		must(t, p.src.reg.AddRepository(quaymirror.Repository{Namespace: "acme", Name: fmt.Sprintf("repo-%02d", i)}))
	}
	p.dst.em.ResetCounters()
	rep, err := p.engine(t, pol, quaymirror.WithConcurrency(8)).Sync(t.Context())
	must(t, err)
	oe := rep.OrganizationError
	if oe == nil || !errors.Is(oe, sentinel) || (oe.Repository != "app" && !strings.HasPrefix(oe.Repository, "repo-")) || oe.Fix == "" {
		t.Fatalf("organization error = %+v, want one wrapping %v met by one of the repositories, with a fix", oe, sentinel)
	}
	req := p.dst.em.Requests()
	created := req["POST /api/v1/repository"]
	mirrors := req["POST /api/v1/repository/{repo}/mirror"] + req["PUT /api/v1/repository/{repo}/mirror"]
	if created > 1 || mirrors > 1 || created+mirrors == 0 || (oe.Repository == "app" && created != 0) {
		t.Errorf("%d repositories created and %d mirror writes, want the canary's alone: %v", created, mirrors, req)
	}
	if rep.OK() || rep.Failed != 12 {
		t.Errorf("report OK %v, counts %+v", rep.OK(), rep.Counts)
	}
	return oe
}

// Quay 3.17.4 (and the POST of 3.9.25, 3.10.25, 3.12.21) refuses a mirror
// of a loopback, private or link-local host that is not in
// SSRF_ALLOWED_HOSTS, the usual disaster-recovery setup of a primary Quay
// on an internal network. Every new repository used to be created, its
// mirror refused, and the next run retried them all.
func TestSSRFRefusalStopsTheOrganization(t *testing.T) {
	t.Parallel()
	for _, v := range []quaytest.Version{quaytest.V3_17, {Major: 3, Minor: 9, Patch: 25}, {Major: 3, Minor: 12, Patch: 21}} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, v, quaytest.DefaultFeatures())
			pol := p.policy()
			pol.SourceRegistry = "10.1.2.3:8443"
			pol.Password = "p" // a one-character password must not garble the message
			oe := orgStopped(t, p, pol, quaymirror.ErrSourceNotAllowed)
			if !strings.Contains(oe.Fix, "SSRF_ALLOWED_HOSTS") || !strings.Contains(oe.Fix, "10.1.2.3") || !strings.Contains(oe.Reason, "10.1.2.3:8443") {
				t.Errorf("organization error = %+v, want the source host and SSRF_ALLOWED_HOSTS", oe)
			}
			if v == quaytest.V3_17 && !strings.Contains(oe.Detail, "The provided registry location is not allowed") {
				t.Errorf("detail = %q, want Quay's message intact", oe.Detail)
			}

			// status, given the source, is no longer "healthy". A canary
			// that was created left one more empty repository.
			created := 0
			if oe.Repository != "app" {
				created = 1
			}
			h, err := quaymirror.CheckHealth(t.Context(), p.dst.client(tokAdmin), "acme", quaymirror.HealthOptions{Source: p.src.client(tokAdmin)})
			must(t, err)
			if h.Healthy() || h.Missing != 11-created || h.NotMirrored != 1+created {
				t.Errorf("status after the refusal: healthy %v, %d missing, %d not mirrored", h.Healthy(), h.Missing, h.NotMirrored)
			}

			// Allow-listed, the next run converges.
			p.dst.em.SetSSRFAllowedHosts([]string{"10.0.0.0/8"})
			rep, err := p.engine(t, pol).Sync(t.Context())
			must(t, err)
			if !rep.OK() || rep.Created != 11-created || rep.Configured != 1+created {
				t.Errorf("after allow-listing: %+v %v", rep.Counts, rep.OrganizationError)
			}
		})
	}
}

// Read-only mode, the organisation-level mirror lock (which 3.17+ keeps
// after FEATURE_ORG_MIRROR is turned off again) and a missing robot stop
// the organisation the same way.
func TestOrganizationErrorsStopTheOrganization(t *testing.T) {
	t.Parallel()
	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
		p.dst.em.SetReadOnly(true)
		oe := orgStopped(t, p, p.policy(), quaymirror.ErrReadOnly)
		if !strings.Contains(oe.Fix, "read-only mode") {
			t.Errorf("fix = %q", oe.Fix)
		}
	})
	t.Run("organization-level mirror lock with the feature off", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
		must(t, p.dst.reg.SetOrganizationMirrored("acme", true))
		orgStopped(t, p, p.policy(), quaymirror.ErrOrgMirrored)
	})
	t.Run("missing robot", func(t *testing.T) {
		t.Parallel()
		p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
		pol := p.policy()
		pol.Robot = "acme+ghost"
		oe := orgStopped(t, p, pol, quaymirror.ErrRobotNotFound)
		if !strings.Contains(oe.Fix, "ghost") {
			t.Errorf("fix = %q", oe.Fix)
		}
	})
}

// check warns when the destination has Quay's SSRF check (or does not
// tell its version) and the source host is, or resolves to, an address
// that is not public: the first sync would otherwise meet the refusal.
func TestCheckWarnsWhenTheSourceIsInternal(t *testing.T) {
	t.Parallel()
	private := []netip.Addr{netip.MustParseAddr("10.1.2.3")}
	for _, tc := range []struct {
		name    string
		v       quaytest.Version
		source  string
		addrs   []netip.Addr
		warn    bool
		contain string
	}{
		{"3.17.4, a name resolving to a private address", quaytest.V3_17, sourceHost, private, true, "the destination, Quay 3.17.4, refuses"},
		{"3.17.4, a private address", quaytest.V3_17, "10.9.8.7:8443", nil, true, "10.9.8.7, a private address"},
		{"3.17.4, loopback", quaytest.V3_17, "127.0.0.1:5000", nil, true, "a loopback address"},
		{"3.17.4, a name Quay blocks", quaytest.V3_17, "quay.corp.internal", nil, true, "a name Quay takes for an internal host"},
		{"3.17.4, a public address", quaytest.V3_17, sourceHost, []netip.Addr{netip.MustParseAddr("93.184.216.34")}, false, ""},
		{"3.17.4, a name that does not resolve from here", quaytest.V3_17, "quay.elsewhere.example.com", nil, false, ""},
		{"3.12.21 does not tell its version", quaytest.Version{Major: 3, Minor: 12, Patch: 21}, sourceHost, private, true, "does not tell its version"},
		{"3.18.0 has no check", quaytest.V3_18, sourceHost, private, false, ""},
		{"3.16.5 has no check", quaytest.Version{Major: 3, Minor: 16, Patch: 5}, "10.9.8.7", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, tc.v, quaytest.DefaultFeatures())
			p.addrs = resolver{sourceHost: tc.addrs}
			pol := p.policy()
			pol.SourceRegistry = tc.source
			list, err := p.engine(t, pol).Preflight(t.Context())
			must(t, err)
			if !list.OK() {
				t.Fatalf("failed: %+v", list.Failed())
			}
			var got quaymirror.Check
			for _, c := range list {
				if c.Name == "source location" {
					got = c
				}
			}
			switch {
			case tc.warn && (got.Status != quaymirror.CheckWarn || !strings.Contains(got.Detail, tc.contain) ||
				!strings.Contains(got.Fix, "SSRF_ALLOWED_HOSTS")):
				t.Errorf("check = %+v, want a warning saying %q with the SSRF_ALLOWED_HOSTS fix", got, tc.contain)
			case !tc.warn && got.Status != quaymirror.CheckOK:
				t.Errorf("check = %+v, want ok", got)
			}
		})
	}
}

// A mirror POST that fails after Quay stored its tag rule (here an
// unknown robot) leaves an orphan RepoMirrorRule row; a later PUT of
// root_rule may update that row instead of the mirror's, answer 201, and
// leave GET showing the old globs: every run sent the same PUT again and
// reported the mirror "updated". The client now reads the mirror back
// after such a PUT and reports the mismatch, with its cause.
func TestTagGlobUpdateThatDoesNotStick(t *testing.T) {
	t.Parallel()
	p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
	message(400, "Could not find robot with specified username")(t, p.dst.do(createMirror(map[string]any{"robot_username": "acme+ghost"})(p.dst)))
	pol := p.policy()
	rep, err := p.engine(t, pol).Sync(t.Context())
	must(t, err)
	if !rep.OK() || rep.Configured != 1 {
		t.Fatalf("first sync: %+v", rep.Repositories)
	}

	pol.TagGlobs = []string{"v*"}
	for run := range 2 {
		rep, err = p.engine(t, pol).Sync(t.Context())
		must(t, err)
		r := rep.Repositories[0]
		if r.Outcome != quaymirror.OutcomeFailed || !errors.Is(r.Err(), quaymirror.ErrNotApplied) || !strings.Contains(r.Error, "RepoMirrorRule") {
			t.Errorf("run %d: %s %s %q; want failed, naming the orphan rule row", run+2, r.Name, r.Outcome, r.Error)
		}
	}
	// Where there is no orphan row the same change sticks.
	q := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
	_, err = q.engine(t, q.policy()).Sync(t.Context())
	must(t, err)
	rep, err = q.engine(t, pol).Sync(t.Context())
	must(t, err)
	if !rep.OK() || rep.Updated != 1 {
		t.Errorf("without an orphan: %+v", rep.Repositories)
	}
}

// When the destination's stored credentials no longer decrypt (its
// DATABASE_SECRET_KEY changed), GET of the mirror answers 500 in every
// version but 3.16.4 and 3.16.5. The failure now says what to do, and a
// run with recreate repairs it (Quay's PUT does not decrypt the old
// values): before, recreate read the mirror first, failed on the 500, and
// never sent the credentials.
func TestUnreadableMirrorIsReportedAndRepairedByRecreate(t *testing.T) {
	t.Parallel()
	p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
	pol := p.policy()
	rep, err := p.engine(t, pol).Sync(t.Context())
	must(t, err)
	if !rep.OK() {
		t.Fatalf("first sync: %+v", rep.Repositories)
	}
	must(t, p.dst.em.BreakCredentials("acme", "app"))

	rep, err = p.engine(t, pol).Sync(t.Context())
	must(t, err)
	r := rep.Repositories[0]
	if r.Outcome != quaymirror.OutcomeFailed || !errors.Is(r.Err(), quaymirror.ErrUnreadable) ||
		!strings.Contains(r.Reason, "RECREATE_MIRROR_CONFIG") || !strings.Contains(r.Error, "no longer decrypt") {
		t.Errorf("without recreate: %s %q %q; want failed, with the cause and the fix", r.Outcome, r.Reason, r.Error)
	}
	if rep.OrganizationError != nil {
		t.Errorf("an unreadable mirror stopped the organization: %v", rep.OrganizationError)
	}
	h, err := quaymirror.CheckHealth(t.Context(), p.dst.client(tokAdmin), "acme", quaymirror.HealthOptions{})
	must(t, err)
	if h.Healthy() || len(h.Repositories) != 1 || h.Repositories[0].Problem != quaymirror.ProblemUnreadable ||
		!strings.Contains(h.Repositories[0].LastError, "RECREATE_MIRROR_CONFIG") {
		t.Errorf("status: %+v", h.Repositories)
	}

	pol.Recreate = true
	rep, err = p.engine(t, pol).Sync(t.Context())
	must(t, err)
	if r := rep.Repositories[0]; !rep.OK() || r.Outcome != quaymirror.OutcomeUpdated {
		t.Fatalf("recreate: %s %q %q", r.Outcome, r.Reason, r.Error)
	}
	pol.Recreate = false
	rep, err = p.engine(t, pol).Sync(t.Context())
	must(t, err)
	if !rep.OK() || rep.Unchanged != 1 {
		t.Errorf("after the repair: %+v", rep.Repositories)
	}
	if m := p.dst.mirror(); m.Config.Password != quaymirror.Secret(pol.Password) || m.Config.Username != pol.Username {
		t.Errorf("credentials stored: %q", m.Config.Username)
	}
}

// 3.16.4 and 3.16.5 show the username as "(invalid. please re-enter)":
// the username drifts, and the next run re-sends the credentials.
func TestUndecryptableUsernameShownIsRepaired(t *testing.T) {
	t.Parallel()
	p := newPair(t, quaytest.Version{Major: 3, Minor: 16, Patch: 5}, quaytest.DefaultFeatures())
	_, err := p.engine(t, p.policy()).Sync(t.Context())
	must(t, err)
	must(t, p.dst.em.BreakCredentials("acme", "app"))
	rep, err := p.engine(t, p.policy()).Sync(t.Context())
	must(t, err)
	if r := rep.Repositories[0]; !rep.OK() || r.Outcome != quaymirror.OutcomeUpdated || !slices.Contains(r.Changes, quaymirror.FieldPassword) {
		t.Errorf("%s %v %q", r.Outcome, r.Changes, r.Error)
	}
}

// 3.14.7 refuses undeclared top-level keys of a mirror POST (its schema's
// additionalProperties: false); 3.14.8 drops skopeo_timeout_interval
// silently. The client sends only what the discovery declares, so both
// converge.
func TestSyncConvergesOn3147And3148(t *testing.T) {
	t.Parallel()
	for _, v := range []quaytest.Version{{Major: 3, Minor: 14, Patch: 7}, {Major: 3, Minor: 14, Patch: 8}} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, v, quaytest.DefaultFeatures())
			must(t, p.src.reg.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "new"}))
			for run, want := range []int{2, 0} {
				p.dst.em.ResetCounters()
				rep, err := p.engine(t, p.policy()).Sync(t.Context())
				must(t, err)
				if !rep.OK() || p.dst.em.Writes() == 0 != (want == 0) || rep.Created+rep.Configured != want {
					t.Errorf("run %d: %+v, %d writes", run+1, rep.Counts, p.dst.em.Writes())
				}
			}
		})
	}
}
