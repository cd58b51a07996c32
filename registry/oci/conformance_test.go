package oci_test

import (
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/oci"
	"github.com/quaymirror/quaymirror/registry/oci/ocitest"
	"github.com/quaymirror/quaymirror/registry/registrytest"
)

// The client against go-containerregistry's in-memory registry, the real
// registry code over loopback HTTP: its catalog neither sorts nor pages
// by last, so the client pages it itself.
func TestConformanceInMemoryRegistry(t *testing.T) {
	t.Parallel()
	registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
		reg, err := ocitest.Start(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(reg.Close)
		c, err := oci.New(reg.URL)
		if err != nil {
			t.Fatal(err)
		}
		return c, ocitest.NewStore(reg.Host)
	}, registrytest.SourceOptions{Stateless: true})
}
