package ocitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Registry is go-containerregistry's in-memory registry served on
// loopback.
type Registry struct {
	// URL is the registry's base URL, "http://127.0.0.1:<port>".
	URL string
	// Host is its host:port, as an external reference names it.
	Host   string
	server *http.Server
}

// Start serves a new, empty in-memory registry on 127.0.0.1. wrap, when
// not nil, wraps its handler (an authentication front, say). Close stops
// it.
func Start(wrap func(http.Handler) http.Handler) (*Registry, error) {
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	host := l.Addr().String()
	return &Registry{URL: "http://" + host, Host: host, server: srv}, nil
}

// Close stops the registry at once.
func (r *Registry) Close() { _ = r.server.Close() }

// Store seeds a registry by pushing images to it: every repository it
// adds holds small random images, distinct from each other. It implements
// registrytest.SourceStore and registrytest.ImageStore.
type Store struct {
	host string
	opts []remote.Option

	once   sync.Once
	pusher *remote.Pusher
	err    error
}

// NewStore returns a store pushing to the registry at host (host:port;
// plain http on loopback) with the remote options given (credentials, a
// transport).
func NewStore(host string, opts ...remote.Option) *Store {
	return &Store{host: host, opts: opts}
}

// pushConcurrency bounds the images PushImages pushes at once.
const pushConcurrency = 8

// push pushes img as ref through one Pusher, which keeps each
// repository's authenticated transport.
func (s *Store) push(ref name.Reference, img v1.Image) error {
	s.once.Do(func() { s.pusher, s.err = remote.NewPusher(s.opts...) })
	if s.err != nil {
		return s.err
	}
	if err := s.pusher.Push(context.Background(), ref, img); err != nil {
		return fmt.Errorf("ocitest: pushing %s: %w", ref, err)
	}
	return nil
}

// AddOrganization does nothing: an OCI registry's organisations are path
// prefixes.
func (s *Store) AddOrganization(string) error { return nil }

// AddRepository pushes an image under each of repo's Tags, or one image by
// digest only (an untagged manifest) when it has none, so that the
// catalog lists the repository. Description, Visibility and State are not
// kept by an OCI registry.
func (s *Store) AddRepository(repo quaymirror.Repository) error {
	if len(repo.Tags) > 0 {
		_, err := s.PushImages(repo.Namespace, repo.Name, repo.Tags...)
		return err
	}
	ref, err := s.repository(repo.Namespace, repo.Name)
	if err != nil {
		return err
	}
	img, digest, err := newImage()
	if err != nil {
		return err
	}
	return s.push(ref.Digest(digest), img)
}

// ErrContentAddressed is what PushTags answers: an OCI registry names a
// manifest by its content, so a tag cannot be pointed at a digest of the
// caller's choosing.
var ErrContentAddressed = errors.New("ocitest: an OCI registry names manifests by their content: push images with PushImages")

// PushTags returns ErrContentAddressed; use PushImages.
func (s *Store) PushTags(string, string, ...quaymirror.Tag) error { return ErrContentAddressed }

// PushImages pushes a new random image under each tag of namespace/name,
// several at once, and returns the tags with the digests of their images.
func (s *Store) PushImages(namespace, repo string, tags ...string) ([]quaymirror.Tag, error) {
	ref, err := s.repository(namespace, repo)
	if err != nil {
		return nil, err
	}
	out := make([]quaymirror.Tag, len(tags))
	errs := make([]error, len(tags))
	sem := make(chan struct{}, pushConcurrency)
	var wg sync.WaitGroup
	for i, t := range tags {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			img, digest, err := newImage()
			if err == nil {
				err = s.push(ref.Tag(t), img)
			}
			out[i], errs[i] = quaymirror.Tag{Name: t, Digest: digest}, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) repository(namespace, repo string) (name.Repository, error) {
	return name.NewRepository(s.host+"/"+namespace+"/"+repo, name.Insecure, name.StrictValidation)
}

// baseLayer is the layer every image shares: images differ by their
// configuration, so a registry holding many of them in one repository
// stores (and receives) the layer once.
var baseLayer = sync.OnceValues(func() (v1.Layer, error) { return random.Layer(64, types.DockerLayer) })

// newImage returns a small image distinct from every other (its
// configuration carries random bytes) and the digest of its manifest.
func newImage() (v1.Image, string, error) {
	layer, err := baseLayer()
	if err != nil {
		return nil, "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, "", err
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	img, err = mutate.Config(img, v1.Config{Labels: map[string]string{"quaymirror.test/nonce": hex.EncodeToString(nonce)}})
	if err != nil {
		return nil, "", err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, "", err
	}
	return img, d.String(), nil
}
