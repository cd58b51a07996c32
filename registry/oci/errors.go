package oci

import (
	"fmt"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// ErrCatalogRefused: the registry does not list its repositories to these
// credentials through the catalog (Docker Hub and Quay never do, Harbor
// only to system administrators, some registries have it switched off).
// It is also quaymirror.ErrUnsupported.
var ErrCatalogRefused = fmt.Errorf("the registry refuses to list its catalog: %w", quaymirror.ErrUnsupported)

// Error is a failed request to the registry or its token service
// (transport.Error, the error of every HTTP backend): an answer other
// than 2xx, an answer that cannot be understood, or a transport failure
// after the retries. It unwraps to the quaymirror sentinel that matches
// (test with errors.Is) and to Err when there is one. Code and Message
// are the registry's (the distribution specification's NAME_UNKNOWN,
// DENIED, UNAUTHORIZED, ...): its first error's. Message never holds a
// password or token.
type Error = transport.Error
