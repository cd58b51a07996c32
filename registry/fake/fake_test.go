package fake_test

import (
	"context"
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
			registrytest.Run(t, func(t *testing.T) (quaymirror.Destination, registrytest.Store) {
				r := fake.New(fake.WithCapabilities(tc.caps))
				return r, r
			})
		})
	}
}

// The fake as a source, and as a source whose listings carry no state or
// visibility (as an OCI catalog).
func TestSourceConformance(t *testing.T) {
	t.Run("Fake", func(t *testing.T) {
		t.Parallel()
		registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
			r := fake.New()
			return r, r
		}, registrytest.SourceOptions{})
	})
	t.Run("Stateless", func(t *testing.T) {
		t.Parallel()
		registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
			r := fake.New()
			return catalog{r}, r
		}, registrytest.SourceOptions{Stateless: true})
	})
}

// catalog lists like an OCI catalog: names only.
type catalog struct{ *fake.Registry }

func (c catalog) ListRepositories(ctx context.Context, namespace, token string) (quaymirror.RepositoryPage, error) {
	p, err := c.Registry.ListRepositories(ctx, namespace, token)
	for i := range p.Repositories {
		p.Repositories[i].State, p.Repositories[i].Visibility = "", ""
	}
	return p, err
}
