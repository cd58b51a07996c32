package quaymirror

import (
	"runtime/debug"
	"testing"
)

// The version is quaymirror's own, whether quaymirror is the program or a
// dependency of it (an embedder's own version is not quaymirror's).
func TestModuleVersion(t *testing.T) {
	t.Parallel()
	dep := func(path, v string, replace *debug.Module) *debug.Module {
		return &debug.Module{Path: path, Version: v, Replace: replace}
	}
	cases := map[string]struct {
		bi   debug.BuildInfo
		want string
	}{
		"the program": {debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v1.2.3"}}, "v1.2.3"},
		"an embedder": {debug.BuildInfo{Main: debug.Module{Path: "example.com/operator", Version: "v9.0.0"},
			Deps: []*debug.Module{dep("golang.org/x/time", "v0.5.0", nil), dep(modulePath, "v1.4.0", nil)}}, "v1.4.0"},
		"a replaced dependency": {debug.BuildInfo{Main: debug.Module{Path: "example.com/operator", Version: "v9.0.0"},
			Deps: []*debug.Module{dep(modulePath, "v1.4.0", dep("example.com/fork", "v1.4.1-fix", nil))}}, "v1.4.1-fix"},
		"a local replace": {debug.BuildInfo{Main: debug.Module{Path: "example.com/operator"},
			Deps: []*debug.Module{dep(modulePath, "v1.4.0", dep("../quaymirror", "", nil))}}, "v1.4.0"},
		"not linked":  {debug.BuildInfo{Main: debug.Module{Path: "example.com/other", Version: "v2.0.0"}}, "(devel)"},
		"a dev build": {debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, "(devel)"},
		"no version":  {debug.BuildInfo{Main: debug.Module{Path: modulePath}}, "(devel)"},
	}
	for name, tc := range cases {
		if got := moduleVersion(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}
