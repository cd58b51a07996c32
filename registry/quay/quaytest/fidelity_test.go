package quaytest_test

import (
	"slices"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
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
