package fake_test

import (
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/registrytest"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps quaymirror.Capabilities
	}{
		{"Default", quaymirror.Capabilities{RepositoryMirroring: true, SkopeoTimeout: true, ArchitectureFilter: true, SparseIndex: true}},
		{"Quay3.6", quaymirror.Capabilities{RepositoryMirroring: true}},
		{"OrgMirroring", quaymirror.Capabilities{RepositoryMirroring: true, OrganizationMirroring: true, SkopeoTimeout: true, ArchitectureFilter: true, SparseIndex: true}},
		{"NoSparseIndex", quaymirror.Capabilities{RepositoryMirroring: true, SkopeoTimeout: true, ArchitectureFilter: true}},
		{"MirroringDisabled", quaymirror.Capabilities{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			registrytest.Run(t, func(t *testing.T) (quaymirror.Destination, *fake.Registry) {
				r := fake.New(fake.WithCapabilities(tc.caps))
				return r, r
			})
		})
	}
}
