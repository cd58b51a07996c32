package quaytest_test

import (
	"net/http/httptest"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
	"github.com/quaymirror/quaymirror/registry/registrytest"
)

// modes are the server configurations the client is checked against.
func modes() []struct {
	name     string
	version  quaytest.Version
	features quaytest.Features
} {
	orgMirror := quaytest.DefaultFeatures()
	orgMirror.OrgMirror = true
	mirrorOff := quaytest.DefaultFeatures()
	mirrorOff.RepoMirror = false
	return []struct {
		name     string
		version  quaytest.Version
		features quaytest.Features
	}{
		{"3.6", quaytest.V3_6, quaytest.DefaultFeatures()},
		{"3.15", quaytest.V3_15, quaytest.DefaultFeatures()},
		{"3.17", quaytest.V3_17, quaytest.DefaultFeatures()},
		{"3.17+OrgMirror", quaytest.V3_17, orgMirror},
		{"3.18", quaytest.V3_18, quaytest.DefaultFeatures()},
		{"3.18+OrgMirror", quaytest.V3_18, orgMirror},
		{"3.17-RepoMirrorOff", quaytest.V3_17, mirrorOff},
	}
}

// TestClientConformance runs the conformance suite against the real Quay
// client talking HTTP to the emulator, in every version mode.
func TestClientConformance(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			registrytest.Run(t, func(t *testing.T) (quaymirror.Destination, registrytest.Store) {
				reg := fake.New()
				em, err := quaytest.New(reg, quaytest.WithVersion(m.version), quaytest.WithFeatures(m.features))
				if err != nil {
					t.Fatal(err)
				}
				if err := em.AddAdmin("admin", "admin-token"); err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(em)
				t.Cleanup(srv.Close)
				c, err := quay.New(srv.URL, quay.WithToken("admin-token"))
				if err != nil {
					t.Fatal(err)
				}
				return c, reg
			})
		})
	}
}

// TestClientSourceConformance runs the source part of the suite against
// the Quay client with a source's token (repo:read and user:read, for a
// user who administers the organisations), over HTTP to the emulator.
func TestClientSourceConformance(t *testing.T) {
	for _, v := range []quaytest.Version{quaytest.V3_6, quaytest.V3_17} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
				reg := fake.New()
				em, err := quaytest.New(reg, quaytest.WithVersion(v))
				if err != nil {
					t.Fatal(err)
				}
				if err := em.AddAdmin("reader", "reader-token", quaytest.ScopeRepoRead, quaytest.ScopeUserRead); err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(em)
				t.Cleanup(srv.Close)
				c, err := quay.New(srv.URL, quay.WithToken("reader-token"))
				if err != nil {
					t.Fatal(err)
				}
				return c, reg
			}, registrytest.SourceOptions{})
		})
	}
}
