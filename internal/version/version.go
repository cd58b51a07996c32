package version

import "github.com/quaymirror/quaymirror/quaymirror"

// Version is the release version; "dev" unless set by the linker (the
// image build of deploy/image sets it).
var Version = "dev"

// String returns Version when the linker set it, else the version of the
// quaymirror module (quaymirror.Version: its own linker variable, which
// the Makefile sets too, else the build info).
func String() string {
	if Version != "dev" {
		return Version
	}
	return quaymirror.Version()
}
