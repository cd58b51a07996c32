package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const testVersion = "v9.8.7-test"

var created = time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)

// caBundle is a fresh self-signed CA written by TestMain.
var caBundle string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	caBundle, err = writeCA(dir)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// realModule is the quaymirror module, or the stand-in of testdata when
// this module is used without it.
func realModule(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(dir, "cmd", "quaymirror", "main.go")); err != nil {
		t.Logf("no ../../cmd/quaymirror: building the stand-in")
		return standIn(t)
	}
	return abs(t, dir)
}

// standIn is a module with a version variable and quaymirror's `version`
// output and nothing else: the tests of the builder's own
// behaviour build it, as it compiles in a moment.
func standIn(t *testing.T) string {
	t.Helper()
	return abs(t, filepath.Join("testdata", "standin"))
}

func abs(t *testing.T, dir string) string {
	t.Helper()
	a, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func options(t *testing.T, dir string, platforms ...string) Options {
	t.Helper()
	o := Options{
		Dir: dir, Platforms: platforms, Version: testVersion, Revision: "0123abc",
		Created: created, CABundle: caBundle, Stderr: testWriter{t},
	}
	if filepath.Base(dir) == "standin" {
		o.VersionVariables = []string{standInVersionVariable}
	}
	return o
}

// standInVersionVariable is the stand-in's version variable. The stand-in
// has a module path of its own: one that reused quaymirror's would make
// tools that map import paths to folders take it for quaymirror.
const standInVersionVariable = "quaymirror.invalid/standin/internal/version.Version"

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// The tests of the builder's own behaviour build the stand-in, which
// compiles in a moment; only TestRealBinary builds quaymirror itself.
// They are not parallel: they run first, alone, and compile the standard
// library for both platforms once; TestRealBinary, parallel, then finds
// it in the build cache rather than compiling it again beside them.
func TestBuildWritesAnOCILayoutThatReadsBack(t *testing.T) {
	o := options(t, standIn(t), "linux/amd64", "linux/arm64")
	idx, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(dir, idx, testVersion); err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(dir, idx, testVersion); err == nil {
		t.Error("WriteLayout wrote over a layout")
	}

	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex ||
		tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("index.json = %+v, want one OCI image index", tm.Manifests)
	}
	read, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := read.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d manifests, want one per platform", len(im.Manifests))
	}
	ca, err := os.ReadFile(o.CABundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		t.Run(d.Platform.String(), func(t *testing.T) {
			img, err := read.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, img, *d.Platform, ca)
		})
	}
}

// TestRealBinary builds quaymirror itself, for the platform the test runs
// on, and checks its image as the stand-in's: a static binary that runs
// and reports the version it was built with. Compiling quaymirror is most
// of this package's test time, so it is done once.
func TestRealBinary(t *testing.T) {
	t.Parallel()
	o := options(t, realModule(t), "linux/"+runtime.GOARCH)
	o.Stderr = io.Discard
	idx, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Single(idx)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(o.CABundle)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Platform("linux/" + runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, p, ca)

	// The version reaches the registries too: the Quay client's
	// User-Agent carries the SDK's version variable.
	if filepath.Base(o.Dir) == "standin" || runtime.GOOS != "linux" {
		return
	}
	agents := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case agents <- r.UserAgent():
		default:
		}
		http.Error(w, `{"error_message": "no"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	bin := filepath.Join(t.TempDir(), "quaymirror")
	if err := os.WriteFile(bin, extract(t, img)[strings.TrimPrefix(Entrypoint, "/")].data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "check")
	cmd.Env = []string{"SOURCE_REGISTRY=" + srv.URL, "DESTINATION_REGISTRY=" + srv.URL, "ORGANIZATIONS=acme",
		"ROBOT_NAME=bot", "SOURCE_TOKEN=not-a-token", "DESTINATION_TOKEN=not-a-token", "REQUEST_TIMEOUT=5s"}
	out, _ := cmd.CombinedOutput() // the 401s make it fail
	select {
	case ua := <-agents:
		if !strings.HasPrefix(ua, "quaymirror/"+testVersion+" ") {
			t.Errorf("User-Agent %q, want quaymirror/%s", ua, testVersion)
		}
	default:
		t.Errorf("quaymirror check made no request:\n%s", out)
	}
}

// The same inputs give the same digest; the creation date is one of them.
func TestBuildIsReproducible(t *testing.T) {
	ctx := context.Background()
	o := options(t, standIn(t), "linux/amd64", "linux/arm64")
	digest := func(o Options) v1.Hash {
		t.Helper()
		idx, err := Build(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first, again := digest(o), digest(o)
	if first != again {
		t.Errorf("two builds differ: %s, %s", first, again)
	}
	o.Created = created.Add(time.Second)
	if later := digest(o); later == first {
		t.Error("another creation date gave the same digest: the dates are not in the image")
	}
}

func checkImage(t *testing.T, img v1.Image, p v1.Platform, ca []byte) {
	mt, err := img.MediaType()
	if err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type = %s, %v", mt, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != p.Architecture {
		t.Errorf("config platform %s/%s, index says %s", cf.OS, cf.Architecture, p)
	}
	uid, _, _ := strings.Cut(cf.Config.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 || n != UID {
		t.Errorf("user %q: want numeric non-root %d (runAsNonRoot needs a number)", cf.Config.User, UID)
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != Entrypoint {
		t.Errorf("entrypoint = %q", cf.Config.Entrypoint)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created = %s", cf.Created)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": "0123abc",
		"org.opencontainers.image.title":    "quaymirror",
		"org.opencontainers.image.created":  created.Format(time.RFC3339),
		"org.opencontainers.image.licenses": License,
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	// The roots are where Go looks first on Linux (crypto/x509's
	// certFiles), so the image sets no SSL_CERT_FILE; the cluster's CAs
	// are added with CA_BUNDLE (deploy/base/trusted-ca.yaml).
	if CAFile != "/etc/ssl/certs/ca-certificates.crt" {
		t.Errorf("CAFile %s is not the first file Go reads on Linux", CAFile)
	}
	for _, e := range cf.Config.Env {
		if strings.HasPrefix(e, "SSL_CERT_FILE=") || strings.HasPrefix(e, "SSL_CERT_DIR=") {
			t.Errorf("the image sets %s", e)
		}
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Error("port 8080 not exposed")
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if mt, _ := l.MediaType(); mt != types.OCILayer {
			t.Errorf("layer media type %s", mt)
		}
	}

	files := extract(t, img)
	want := map[string]struct {
		mode     int64
		uid      int
		contains string
	}{
		"etc/passwd":                        {0o644, 0, "nonroot:x:65532:65532:"},
		"etc/group":                         {0o644, 0, "nonroot:x:65532:"},
		"etc/nsswitch.conf":                 {0o644, 0, "hosts: files dns"},
		strings.TrimPrefix(CAFile, "/"):     {0o644, 0, ""},
		"tmp":                               {0o1777, 0, ""},
		"home/nonroot":                      {0o700, UID, ""},
		strings.TrimPrefix(Entrypoint, "/"): {0o755, 0, ""},
	}
	for path, w := range want {
		f, ok := files[path]
		if !ok {
			t.Errorf("%s missing", path)
			continue
		}
		if f.h.Mode != w.mode || f.h.Uid != w.uid {
			t.Errorf("%s mode %o uid %d, want %o uid %d", path, f.h.Mode, f.h.Uid, w.mode, w.uid)
		}
		if !strings.Contains(string(f.data), w.contains) {
			t.Errorf("%s lacks %q", path, w.contains)
		}
	}
	for path, f := range files {
		if !f.h.ModTime.Equal(created) {
			t.Errorf("%s dated %s, want %s", path, f.h.ModTime, created)
		}
	}
	if f := files[strings.TrimPrefix(CAFile, "/")]; !bytes.Equal(f.data, ca) {
		t.Error("the CA bundle is not the one given")
	}

	bin := files[strings.TrimPrefix(Entrypoint, "/")].data
	e, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("binary: %v", err)
	}
	if e.Machine != elfMachine[p.Architecture] {
		t.Errorf("binary for %s in the %s image", e.Machine, p.Architecture)
	}
	for _, prog := range e.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("binary is dynamically linked")
		}
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == p.Architecture {
		path := filepath.Join(t.TempDir(), "quaymirror")
		if err := os.WriteFile(path, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(path, "version").Output()
		if err != nil || strings.TrimSpace(string(out)) != "quaymirror "+testVersion {
			t.Errorf("quaymirror version = %q, %v; want the version set at build", out, err)
		}
	}
}

type entry struct {
	h    *tar.Header
	data []byte
}

// extract reads the flattened file system of img.
func extract(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]entry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(h.Name, "/")] = entry{h, data}
	}
}

func TestTarballAndPush(t *testing.T) {
	// Not parallel: DOCKER_CONFIG keeps the push away from real credentials.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(t.TempDir(), "auth.json"))
	ctx := context.Background()
	idx, err := Build(ctx, options(t, standIn(t), "linux/"+runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Single(idx)
	if err != nil {
		t.Fatal(err)
	}
	cfgDigest, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "quaymirror.tar")
	if err := WriteTarball(path, "quay.example.com/quaymirror/quaymirror:"+testVersion, idx); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("quay.example.com/quaymirror/quaymirror:" + testVersion)
	loaded, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := loaded.ConfigName(); err != nil || d != cfgDigest {
		t.Errorf("tarball config %s, %v; want %s", d, err, cfgDigest)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/quaymirror/quaymirror:" + testVersion
	pushed, err := Push(ctx, ref, idx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if !strings.HasSuffix(pushed, "@"+want.String()) {
		t.Errorf("pushed %s, want digest %s", pushed, want)
	}
	r, _ := name.ParseReference(ref)
	got, err := remote.Index(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Errorf("registry holds %s, pushed %s", d, want)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"windows/amd64", "linux", "linux/mips", "linux/amd64/v2/x"} {
		if _, err := Platform(p); err == nil {
			t.Errorf("platform %q accepted", p)
		}
	}
	dir := standIn(t)
	o := options(t, dir, "linux/amd64")
	o.Version = "1.0 -X main.evil=1"
	if _, err := Build(ctx, o); err == nil {
		t.Error("a version that would inject linker flags was accepted")
	}
	o = options(t, dir, "linux/amd64")
	o.CABundle = filepath.Join(t.TempDir(), "none.pem")
	if err := os.WriteFile(o.CABundle, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, o); err == nil {
		t.Error("a CA bundle without certificates was accepted")
	}
	o = options(t, dir, "linux/amd64")
	o.Main = "./does/not/exist"
	if _, err := Build(ctx, o); err == nil {
		t.Error("a missing main package built")
	}
	idx, err := Build(ctx, options(t, dir, "linux/amd64", "linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTarball(filepath.Join(t.TempDir(), "x.tar"), "x:y", idx); !errors.Is(err, ErrPlatforms) {
		t.Errorf("tarball of two platforms: %v", err)
	}
}

// The Containerfile builds the same image: same binary path, user, port
// and version variable.
func TestContainerfileAgrees(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cf := string(data)
	for _, re := range []string{
		`(?m)^USER ` + regexp.QuoteMeta(User) + `$`,
		`(?m)^ENTRYPOINT \["` + regexp.QuoteMeta(Entrypoint) + `"\]$`,
		`(?m)^EXPOSE ` + strconv.Itoa(Port) + `$`,
		`-X ` + regexp.QuoteMeta(VersionVariable) + `=`,
		`-X ` + regexp.QuoteMeta(SDKVersionVariable) + `=`,
		`CGO_ENABLED=0`,
		`(?m)^COPY --from=build \S+ ` + regexp.QuoteMeta(Entrypoint) + `$`,
		`org\.opencontainers\.image\.licenses="` + regexp.QuoteMeta(License) + `"`,
		// distroless sets SSL_CERT_FILE; the two images find their roots
		// the same way.
		`(?m)^ENV SSL_CERT_FILE=""$`,
	} {
		if !regexp.MustCompile(re).MatchString(cf) {
			t.Errorf("Containerfile does not match %s", re)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(cf, -1)); n != 2 {
		t.Errorf("Containerfile has %d stages, want a builder and a runtime", n)
	}
}

// writeCA writes a fresh self-signed certificate as a PEM bundle in dir.
func writeCA(dir string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: created, NotAfter: created.Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "ca.pem")
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}
