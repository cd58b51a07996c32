package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const kustomization = `# The image, pinned.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - pod.yaml
images:
  # another image, left alone
  - name: example.com/other
    newTag: v1
  - name: quay.io/quaymirror/quaymirror
    newTag: latest
`

const pod = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: a
      image: quay.io/quaymirror/quaymirror
    - name: b
      image: example.com/other
`

// Pin rewrites the digest of one image and nothing else, and kustomize
// then renders the image by that digest.
func TestPin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "kustomization.yaml")
	for name, data := range map[string]string{"kustomization.yaml": kustomization, "pod.yaml": pod} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	if err := Pin(path, "quay.io/quaymirror/quaymirror", "", d); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# The image, pinned.\n", "  # another image, left alone\n", "  - name: example.com/other\n    newTag: v1\n", "    digest: " + d.String() + "\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("pinned file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "latest") {
		t.Errorf("the tag stayed beside the digest:\n%s", got)
	}
	images := render(t, dir)
	if images["a"] != "quay.io/quaymirror/quaymirror@"+d.String() || images["b"] != "example.com/other:v1" {
		t.Errorf("rendered images %v", images)
	}

	// Pinning again, with the registry it was pushed to, moves name and
	// digest together.
	d2 := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	if err := Pin(path, "quay.io/quaymirror/quaymirror", "registry.example.com/mirror/quaymirror", d2); err != nil {
		t.Fatal(err)
	}
	if images := render(t, dir); images["a"] != "registry.example.com/mirror/quaymirror@"+d2.String() {
		t.Errorf("rendered image %s after the second pin", images["a"])
	}

	if err := Pin(path, "quay.io/quaymirror/absent", "", d); err == nil {
		t.Error("pinned an image the file does not name")
	}
}

func render(t *testing.T, dir string) map[string]string {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range m.Resources() {
		containers, err := r.GetSlice("spec.containers")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range containers {
			c := c.(map[string]any)
			out[c["name"].(string)] = c["image"].(string)
		}
	}
	return out
}
