package quaymirror

import "runtime/debug"

// modulePath is the path of the module this package belongs to.
const modulePath = "github.com/quaymirror/quaymirror"

// version is set by quaymirror's own builds:
// -ldflags "-X github.com/quaymirror/quaymirror/quaymirror.version=v1.2.3".
var version string

// Version returns the version of the quaymirror module this program was
// built with: the one set when linking quaymirror's own builds, else the
// one the Go toolchain recorded in the build info (the main module's when
// quaymirror is the program, the dependency's when a program embeds it,
// following a replace directive), else "(devel)". Backends put it in their
// User-Agent.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return moduleVersion(bi)
}

func moduleVersion(bi *debug.BuildInfo) string {
	m := &bi.Main
	if m.Path != modulePath {
		m = nil
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				m = d
				if d.Replace != nil && d.Replace.Version != "" {
					m = d.Replace
				}
				break
			}
		}
	}
	if m == nil || m.Version == "" {
		return "(devel)"
	}
	return m.Version
}
