// Package version is set with -ldflags -X, like the real one.
package version

// Version is the release version.
var Version = "dev"
