package image

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteLayout writes idx as an OCI image layout in dir, which must not
// exist or be empty; its index.json refers to the image index, named
// refName when not empty. Copy it with
// `skopeo copy --all oci:DIR:REFNAME docker://REF`.
func WriteLayout(dir string, idx v1.ImageIndex, refName string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}))
	}
	return p.AppendIndex(idx, opts...)
}

// WriteTarball writes the only image of idx as a tarball tagged tag, the
// format `docker load` and `podman load` read.
func WriteTarball(path, tag string, idx v1.ImageIndex) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	img, err := Single(idx)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, ref, img)
}

// Single returns the image of a one-platform index.
func Single(idx v1.ImageIndex) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, ErrPlatforms
	}
	return idx.Image(m.Manifests[0].Digest)
}

// Push pushes idx to ref (a tag or a repository, "latest" then) with the
// credentials of the docker or podman configuration (DOCKER_CONFIG,
// REGISTRY_AUTH_FILE, ...), and returns the pushed digest reference.
func Push(ctx context.Context, ref string, idx v1.ImageIndex, opts ...remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		return "", err
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return r.Context().Digest(d.String()).String(), nil
}
