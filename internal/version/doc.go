// Package version is the version the quaymirror command prints. The SDK's
// own is quaymirror.Version (what registry/quay's User-Agent says); this
// package adds the older linker variable
// -ldflags "-X github.com/quaymirror/quaymirror/internal/version.Version=v1.2.3"
// that deploy/image's build still sets. The Makefile sets both.
package version
