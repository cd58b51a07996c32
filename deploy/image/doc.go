// Package image builds quaymirror's container image without a container
// engine: it cross-compiles the static binary with `go build`
// (CGO_ENABLED=0) and assembles an OCI image from scratch around it, with
// the build machine's CA bundle, an /etc/passwd and /etc/group declaring
// the non-root user 65532, labels and the entrypoint. The result, an image
// index with one image per platform, can be written as an OCI image
// layout, as a tarball that `docker load` and `podman load` read, or
// pushed to a registry.
//
// The image is reproducible: files and the config carry the creation time
// given (the Unix epoch by default, or SOURCE_DATE_EPOCH through
// cmd/build-image), so the same sources give the same digest.
//
// The Containerfile at the root of the repository builds an equivalent
// image for those who have a container engine.
package image
