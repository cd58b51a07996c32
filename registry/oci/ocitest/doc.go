// Package ocitest runs real OCI registries for tests and demonstrations
// and seeds them: Start serves go-containerregistry's in-memory registry
// (pkg/registry) on loopback, and Store pushes small images, each distinct, to any
// registry (go-containerregistry's random and remote.Write), as a
// registrytest.SourceStore and registrytest.ImageStore.
package ocitest
