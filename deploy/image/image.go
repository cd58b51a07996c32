package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What every image holds.
const (
	// Entrypoint is the binary's path in the image.
	Entrypoint = "/usr/local/bin/quaymirror"
	// UID and GID of the user the image runs as (distroless' "nonroot").
	UID = 65532
	GID = 65532
	// CAFile is where the CA bundle goes: the first file Go's crypto/x509
	// looks for on Linux, so the image needs no SSL_CERT_FILE.
	CAFile = "/etc/ssl/certs/ca-certificates.crt"
	// License is the SPDX identifier of quaymirror's licence (LICENSE).
	License = "Apache-2.0"
	// Port is the port `quaymirror serve` listens on.
	Port = 8080
	// VersionVariable is set to Options.Version with -ldflags -X: what
	// `quaymirror version` prints.
	VersionVariable = "github.com/quaymirror/quaymirror/internal/version.Version"
	// SDKVersionVariable is set to Options.Version too: the SDK's version,
	// which the Quay client sends in its User-Agent (make build sets both).
	SDKVersionVariable = "github.com/quaymirror/quaymirror/quaymirror.version"
)

// User is the image config's user, "65532:65532".
var User = fmt.Sprintf("%d:%d", UID, GID)

// DefaultCABundles are the system CA bundles looked for, in order, when
// Options.CABundle is empty (Debian/Ubuntu/Alpine, Fedora/RHEL, openSUSE,
// macOS/BSD).
var DefaultCABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// Options say what to build. The zero value builds ./cmd/quaymirror of the
// current directory for linux/amd64.
type Options struct {
	// Dir is the root of the Go module holding the main package; `go
	// build` runs there. Default: the current directory.
	Dir string
	// Main is the main package, relative to Dir. Default ./cmd/quaymirror.
	Main string
	// Platforms are os/arch[/variant] values; only linux is supported.
	// Default linux/amd64.
	Platforms []string
	// Version goes into the binary (VersionVariables) and the labels.
	// Default "dev".
	Version string
	// VersionVariables are the package-qualified string variables that
	// -ldflags -X sets to Version. Default: VersionVariable and
	// SDKVersionVariable.
	VersionVariables []string
	// Revision is the source revision for the labels (optional).
	Revision string
	// Source is the source repository URL for the labels.
	// Default https://github.com/quaymirror/quaymirror.
	Source string
	// Created is the creation time of the image and of its files. Default:
	// the Unix epoch, so builds are reproducible.
	Created time.Time
	// CABundle is the PEM file copied to CAFile. Default: the first of
	// DefaultCABundles that exists.
	CABundle string
	// Go is the go command. Default "go".
	Go string
	// Stderr receives the output of go build. Default os.Stderr.
	Stderr io.Writer
}

var (
	versionRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)
	variableRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*\.[A-Za-z_][A-Za-z0-9_]*$`)
)

func (o *Options) defaults() error {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Main == "" {
		o.Main = "./cmd/quaymirror"
	}
	if len(o.Platforms) == 0 {
		o.Platforms = []string{"linux/amd64"}
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if !versionRE.MatchString(o.Version) {
		return fmt.Errorf("version %q: use letters, digits and . _ + -", o.Version)
	}
	if len(o.VersionVariables) == 0 {
		o.VersionVariables = []string{VersionVariable, SDKVersionVariable}
	}
	for _, v := range o.VersionVariables {
		if !variableRE.MatchString(v) {
			return fmt.Errorf("version variable %q: want an import path, a dot and a name", v)
		}
	}
	if o.Source == "" {
		o.Source = "https://github.com/quaymirror/quaymirror"
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	o.Created = o.Created.UTC().Truncate(time.Second)
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.CABundle == "" {
		for _, p := range DefaultCABundles {
			if _, err := os.Stat(p); err == nil {
				o.CABundle = p
				break
			}
		}
		if o.CABundle == "" {
			return fmt.Errorf("no CA bundle found among %s: give one", strings.Join(DefaultCABundles, ", "))
		}
	}
	return nil
}

// Platform parses "os/arch[/variant]".
func Platform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "linux" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want linux/<arch>[/<variant>]", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if _, ok := elfMachine[p.Architecture]; !ok {
		return v1.Platform{}, fmt.Errorf("platform %q: unsupported architecture", s)
	}
	return p, nil
}

// elfMachine is the ELF machine of each supported GOARCH.
var elfMachine = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}

// Build compiles the binary for each platform and returns an OCI image
// index with one image per platform.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(o.CABundle)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", o.CABundle)
	}
	base, err := layer(o.Created, baseFiles(ca))
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "quaymirror-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, s := range o.Platforms {
		p, err := Platform(s)
		if err != nil {
			return nil, err
		}
		bin := filepath.Join(tmp, "quaymirror-"+strings.ReplaceAll(s, "/", "-"))
		if err := compile(ctx, o, p, bin); err != nil {
			return nil, err
		}
		img, err := assemble(o, p, base, bin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}

// compile builds a static binary for p and checks it is one.
func compile(ctx context.Context, o Options, p v1.Platform, out string) error {
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-o", out,
		"-ldflags", ldflags(o.Version, o.VersionVariables), o.Main)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOWORK=off")
	if p.Architecture == "arm" && p.Variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	cmd.Stdout, cmd.Stderr = o.Stderr, o.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s in %s: %w", o.Main, p.OS, p.Architecture, o.Dir, err)
	}
	return checkStatic(out, p)
}

// ldflags strips the binary and sets the version variables. A variable
// the module does not have is ignored by the linker.
func ldflags(version string, variables []string) string {
	flags := "-s -w"
	for _, v := range variables {
		flags += " -X " + v + "=" + version
	}
	return flags
}

// checkStatic refuses a binary that needs a dynamic loader (there is none
// in the image) or is for another machine.
func checkStatic(path string, p v1.Platform) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF binary: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elfMachine[p.Architecture] {
		return fmt.Errorf("%s is for %s, want %s", path, f.Machine, p.Architecture)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// assemble makes the image of one platform.
func assemble(o Options, p v1.Platform, base v1.Layer, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	binLayer, err := layer(o.Created, []file{{name: Entrypoint, mode: 0o755, data: data}})
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.Created}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: created,
			CreatedBy: "build-image: /etc/passwd, /etc/group, " + CAFile, Comment: "CA bundle from " + o.CABundle}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{Created: created,
			CreatedBy: "build-image: go build " + o.Main}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = created
	cf.Author = "quaymirror"
	cf.Config = v1.Config{
		User:       User,
		Entrypoint: []string{Entrypoint},
		WorkingDir: "/",
		// No SSL_CERT_FILE: Go reads CAFile without it (the first of its
		// default files on Linux). Extra CAs, such as the cluster's, come
		// through quaymirror's CA_BUNDLE, which adds them to these roots;
		// an SSL_CERT_FILE pointed at them would replace the roots.
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		ExposedPorts: map[string]struct{}{fmt.Sprintf("%d/tcp", Port): {}},
		StopSignal:   "SIGTERM",
		Labels:       labels(o),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotations-as-labels, plus OpenShift's display name.
func labels(o Options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "quaymirror",
		"org.opencontainers.image.description": "Mirrors whole Red Hat Quay organisations with Quay's repository mirroring",
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.url":         o.Source,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    License,
		"io.k8s.display-name":                  "quaymirror",
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

// file is one entry of a layer; a name ending in / is a directory.
type file struct {
	name     string
	mode     int64
	uid, gid int
	data     []byte
}

func baseFiles(ca []byte) []file {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
	return []file{
		{name: "/etc/", mode: 0o755},
		{name: "/etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "/etc/group", mode: 0o644, data: []byte(group)},
		// Go's resolver reads it; without it lookups may skip /etc/hosts.
		{name: "/etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "/etc/ssl/", mode: 0o755},
		{name: "/etc/ssl/certs/", mode: 0o755},
		{name: CAFile, mode: 0o644, data: ca},
		{name: "/home/", mode: 0o755},
		{name: "/home/nonroot/", mode: 0o700, uid: UID, gid: GID},
		{name: "/tmp/", mode: 0o1777},
		{name: "/usr/", mode: 0o755},
		{name: "/usr/local/", mode: 0o755},
		{name: "/usr/local/bin/", mode: 0o755},
	}
}

// layer makes a gzip OCI layer of files, every entry dated created.
func layer(created time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name: strings.TrimPrefix(f.name, "/"), Mode: f.mode, Uid: f.uid, Gid: f.gid,
			ModTime: created, Format: tar.FormatPAX,
		}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// ErrPlatforms: a tarball holds one image; the index has several.
var ErrPlatforms = errors.New("a tarball holds one platform; build one or write an OCI layout")
