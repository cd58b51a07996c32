package version

import "runtime/debug"

// Version is the release version; "dev" unless set by the linker.
var Version = "dev"

// String returns Version, or the module version recorded by `go install`
// when the linker did not set one.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// UserAgent is the User-Agent quaymirror sends.
func UserAgent() string {
	return "quaymirror/" + String() + " (+https://github.com/quaymirror/quaymirror)"
}
