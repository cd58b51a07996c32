package quaytest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
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
}

func newPair(t *testing.T, v quaytest.Version, f quaytest.Features, opts ...quaytest.Option) *pair {
	t.Helper()
	return &pair{src: newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures()), dst: newEnv(t, v, f, opts...)}
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
	e, err := quaymirror.NewEngine(p.src.client(tokAdmin), p.dst.client(tokAdmin), policy, opts...)
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
// (registry_state), and preflight fails on it before any write.
func TestPreflightFailsOnAReadOnlyDestination(t *testing.T) {
	t.Parallel()
	p := newPair(t, quaytest.V3_17, quaytest.DefaultFeatures())
	p.dst.em.SetReadOnly(true)
	list, err := p.engine(t, p.policy()).Preflight(t.Context())
	must(t, err)
	c := failedCheck(t, list, "writable")
	if !strings.Contains(c.Fix, "read-only mode") {
		t.Errorf("fix = %q", c.Fix)
	}
}
