// Package version holds the version of quaymirror, set at build time with
// -ldflags "-X github.com/quaymirror/quaymirror/internal/version.Version=v1.2.3".
package version
