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
