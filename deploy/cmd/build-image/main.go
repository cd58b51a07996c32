// Command build-image builds quaymirror's container image without a
// container engine (package image) and writes it as an OCI layout, a
// loadable tarball, or pushes it. Run it from the deploy module:
//
//	cd deploy && go run ./cmd/build-image -version v1.2.3 -oci ../bin/image
//	cd deploy && go run ./cmd/build-image -tarball ../bin/quaymirror.tar -tag quay.example.com/quaymirror/quaymirror:v1.2.3
//	cd deploy && go run ./cmd/build-image -platform linux/amd64,linux/arm64 -push quay.example.com/quaymirror/quaymirror:v1.2.3
//
// With -pin, it also writes the image's digest (and, with -push, the
// repository pushed to) into a kustomization's images: entry, as `make
// image` does for deploy/components/image.
//
// It finds the quaymirror module by walking up from the current directory
// unless -C says where it is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quaymirror/quaymirror/deploy/image"
)

const module = "github.com/quaymirror/quaymirror"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "build-image:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("build-image", flag.ContinueOnError)
	var (
		o         image.Options
		platforms = fs.String("platform", "linux/amd64", "comma-separated platforms, linux/<arch>[/<variant>]")
		created   = fs.String("created", "", "creation time, RFC 3339 (default: $SOURCE_DATE_EPOCH, else the Unix epoch)")
		oci       = fs.String("oci", "", "write an OCI image layout into this new directory")
		tarPath   = fs.String("tarball", "", "write a docker/podman-loadable tarball (one platform) to this file")
		tag       = fs.String("tag", "quaymirror:dev", "the tag recorded in the tarball")
		push      = fs.String("push", "", "push to this image reference (credentials of docker/podman login)")
		pin       = fs.String("pin", "", "write the digest into the images: entry of this kustomization file")
		pinImage  = fs.String("pin-image", "quay.io/quaymirror/quaymirror", "the name of the images: entry -pin rewrites")
	)
	fs.StringVar(&o.Dir, "C", "", "root of the quaymirror module (default: found from the current directory)")
	fs.StringVar(&o.Main, "main", "./cmd/quaymirror", "main package to build, relative to -C")
	fs.StringVar(&o.Version, "version", "dev", "version set in the binary and the labels")
	fs.StringVar(&o.Revision, "revision", "", "source revision for the labels")
	fs.StringVar(&o.CABundle, "ca-bundle", "", "PEM CA bundle to include (default: the build machine's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *oci == "" && *tarPath == "" && *push == "" {
		return fmt.Errorf("%w: say where the image goes: -oci, -tarball or -push", errUsage)
	}
	if *pin != "" {
		if _, err := os.Stat(*pin); err != nil {
			return fmt.Errorf("%w: -pin: %v", errUsage, err)
		}
	}
	o.Platforms = strings.Split(*platforms, ",")
	if *tarPath != "" && len(o.Platforms) != 1 {
		return fmt.Errorf("%w: %v", errUsage, image.ErrPlatforms)
	}
	var err error
	if o.Created, err = creationTime(*created); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if o.Dir == "" {
		if o.Dir, err = findModule(); err != nil {
			return err
		}
	}

	idx, err := image.Build(ctx, o)
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built %s for %s\n", d, strings.Join(o.Platforms, ", "))
	if *oci != "" {
		if err := image.WriteLayout(*oci, idx, o.Version); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote OCI layout", *oci)
	}
	if *tarPath != "" {
		if err := image.WriteTarball(*tarPath, *tag, idx); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote tarball", *tarPath, "tagged", *tag)
	}
	newName := ""
	if *push != "" {
		ref, err := image.Push(ctx, *push, idx)
		if err != nil {
			return err
		}
		fmt.Println(ref)
		newName, _, _ = strings.Cut(ref, "@")
	}
	if *pin != "" {
		if err := image.Pin(*pin, *pinImage, newName, d); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "pinned %s in %s\n", d, *pin)
	}
	return nil
}

func creationTime(flagValue string) (time.Time, error) {
	if flagValue != "" {
		return time.Parse(time.RFC3339, flagValue)
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
		}
		return time.Unix(n, 0), nil
	}
	return time.Time{}, nil
}

// findModule walks up from the current directory to the go.mod of the
// quaymirror module.
func findModule() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if strings.TrimSpace(line) == "module "+module {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the current directory: give -C", module)
		}
		dir = parent
	}
}
