package quay

import (
	"net/http"

	"github.com/quaymirror/quaymirror/registry/transport"
)

// TransportOptions configure NewTransport (transport.BaseOptions).
type TransportOptions = transport.BaseOptions

// NewTransport returns the base transport New uses when WithTransport is
// not given (transport.NewBase): TLS 1.2 or later with verification on,
// trusting the system roots plus opts.CABundle, the proxy from the
// environment, room for 256 idle connections to each registry. Build one
// and hand it to several Clients with WithTransport to share its
// connections.
func NewTransport(opts TransportOptions) (*http.Transport, error) { return transport.NewBase(opts) }
