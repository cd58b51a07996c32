package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/quaymirror/quaymirror"

type pkg struct {
	ImportPath   string
	Name         string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
}

// list runs go list -json over patterns.
func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	cmd := exec.Command(goCmd, append([]string{"list", "-json=ImportPath,Name,Imports,TestImports,XTestImports,Deps"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
}

// ours returns the module's packages among paths, without the module
// prefix ("" for none of them).
func ours(paths []string) []string {
	var out []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, module+"/"); ok {
			out = append(out, rel)
		}
	}
	return out
}

func internal(rel string) bool { return rel == "internal" || strings.HasPrefix(rel, "internal/") }

// The layers, imports pointing down only: entry points (cmd/…, function,
// internal/…) over the runner, over the core, which the backends
// (registry/…) implement. Public packages never import internal/ (an
// embedder could not build them the same way, and their behaviour would
// hang on code the SDK does not publish). Within registry/, the backends
// stand on the core and the shared transport, emulators on the model
// (registry/fake) and the shared emulation, and the conformance suite on
// the core alone: a backend need not keep its state in the fake to be
// checked.
func TestImportRules(t *testing.T) {
	t.Parallel()
	// allowed lists, per public package, the module packages it may
	// import; a prefix ending in "/" allows a subtree.
	allowed := map[string][]string{
		"quaymirror":             {},
		"runner":                 {"quaymirror"},
		"runner/runnertest":      {"runner"},
		"metrics":                {"quaymirror", "runner"},
		"registry/transport":     {"quaymirror"},
		"registry/emulation":     {},
		"registry/fake":          {"quaymirror"},
		"registry/registrytest":  {"quaymirror"},
		"registry/quay":          {"quaymirror", "registry/transport"},
		"registry/quay/quaytest": {"quaymirror", "registry/fake", "registry/emulation"},
		// The sources beyond Quay: clients on the transport; Harbor's
		// emulator on the emulation with a model of its own (not Quay's
		// fake); the OCI test registries on go-containerregistry alone.
		"registry/harbor":            {"quaymirror", "registry/transport"},
		"registry/harbor/harbortest": {"quaymirror", "registry/emulation"},
		"registry/oci":               {"quaymirror", "registry/transport"},
		"registry/oci/ocitest":       {"quaymirror"},
		// Backends to come: a client on the transport, its emulator on
		// the model or the emulation.
		"registry/":            {"quaymirror", "registry/transport", "registry/fake", "registry/emulation"},
		"function":             {"runner"},
		"cmd/quay-emulator":    {"quaymirror", "registry/"},
		"cmd/quaymirror":       {"internal/cli"},
		"cmd/quaymirror-bench": {"internal/bench"},
		"internal/layout":      {},
		"test/":                {"quaymirror", "runner", "metrics", "registry/", "function", "internal/"},
		"internal/":            {"quaymirror", "runner", "metrics", "registry/", "function", "internal/"},
	}
	rule := func(rel string) ([]string, bool) {
		if r, ok := allowed[rel]; ok {
			return r, true
		}
		best := ""
		for prefix := range allowed {
			if strings.HasSuffix(prefix, "/") && strings.HasPrefix(rel, prefix) && len(prefix) > len(best) {
				best = prefix
			}
		}
		r, ok := allowed[best]
		return r, ok && best != ""
	}
	for _, p := range list(t, module+"/...") {
		rel, _ := strings.CutPrefix(p.ImportPath, module+"/")
		permitted, ok := rule(rel)
		if !ok {
			t.Errorf("%s: a package the rules do not know; add it to TestImportRules", rel)
			continue
		}
		for _, imp := range ours(p.Imports) {
			if internal(imp) && !internal(rel) && p.Name != "main" {
				t.Errorf("%s is public but imports %s", rel, imp)
			}
			ok := slices.ContainsFunc(permitted, func(a string) bool {
				return a == imp || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a))
			})
			if !ok {
				t.Errorf("%s imports %s, which its layer may not", rel, imp)
			}
		}
	}
}

// The production binary does not link the benchmark harness: that is
// cmd/quaymirror-bench's.
func TestTheBinaryLinksNoBenchmarkHarness(t *testing.T) {
	t.Parallel()
	pkgs := list(t, "-deps", module+"/cmd/quaymirror")
	var deps []string
	for _, p := range pkgs {
		deps = append(deps, p.ImportPath)
	}
	if !slices.Contains(deps, module+"/internal/cli") {
		t.Fatalf("go list -deps ./cmd/quaymirror lacks internal/cli: %v", ours(deps))
	}
	for _, d := range ours(deps) {
		if d == "internal/bench" || strings.HasPrefix(d, "internal/bench/") {
			t.Errorf("cmd/quaymirror links %s", d)
		}
	}
}

// The conformance suite links nothing of the fake, tests included: any
// backend can be checked with its own store.
func TestConformanceSuiteIsNotBoundToTheFake(t *testing.T) {
	t.Parallel()
	for _, p := range list(t, "-deps", "-test", module+"/registry/registrytest") {
		if p.ImportPath == module+"/registry/fake" {
			t.Errorf("registry/registrytest depends on registry/fake")
		}
	}
	for _, p := range list(t, module+"/registry/registrytest") {
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			if imp == module+"/registry/fake" {
				t.Errorf("registry/registrytest's tests import registry/fake")
			}
		}
	}
}

// The backends' tests need nothing internal either: what they check is
// what an embedder gets.
func TestBackendTestsImportNothingInternal(t *testing.T) {
	t.Parallel()
	for _, p := range list(t, module+"/registry/...") {
		rel, _ := strings.CutPrefix(p.ImportPath, module+"/")
		for _, imp := range ours(append(p.TestImports, p.XTestImports...)) {
			if internal(imp) {
				t.Errorf("the tests of %s import %s", rel, imp)
			}
		}
	}
}
