package oci

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/registry/transport"
)

// Defaults of the options.
const (
	// DefaultMaxRetries, DefaultRetryBase, DefaultRetryMax and
	// DefaultTimeout are the transport package's retry policy and
	// timeout, whose reasons hold for any registry behind the same kind
	// of proxies.
	DefaultMaxRetries = transport.DefaultMaxRetries
	DefaultRetryBase  = transport.DefaultRetryBase
	DefaultRetryMax   = transport.DefaultRetryMax
	DefaultTimeout    = transport.DefaultTimeout
	// DefaultMaxBodySize caps a response body: a catalog page of 1,000
	// names is about 100 KiB, a whole unpaged catalog of 100,000 about
	// 10 MiB.
	DefaultMaxBodySize int64 = 16 << 20
	// DefaultPageSize is the n of a catalog request: the CNCF distribution
	// registry's default page, below its default maximum of 1,000.
	DefaultPageSize = 100
	// DefaultTagPageSize is how many tags one ListTags page holds: each
	// costs a HEAD request for its digest, so a page stays a small,
	// paceable burst.
	DefaultTagPageSize = 25
	// MaxPageSize is the largest page asked for: the distribution
	// registry refuses an n above its configured maximum (1,000 by
	// default).
	MaxPageSize = 1000
)

// Option configures a Client. New reports the first invalid one.
type Option func(*options) error

// options are the transport's, which every HTTP backend takes, and the
// OCI client's own.
type options struct {
	transport.Options
	pageSize    int
	tagPageSize int
	now         func() time.Time
}

// shared makes an Option of one of the transport's.
func shared(opt transport.Option) Option {
	return func(o *options) error { return opt(&o.Options) }
}

// WithBasicAuth sets the user name and password: sent to the registry
// when it challenges with Basic, or exchanged for a token at its token
// service when it challenges with Bearer. Without credentials the client
// is anonymous. The password is never logged or embedded in errors.
func WithBasicAuth(username, password string) Option {
	return shared(transport.WithBasicAuth(username, password))
}

// WithToken sets a bearer token sent as is with every request to the
// registry (a token the caller already holds, instead of credentials to
// exchange). It excludes WithBasicAuth.
func WithToken(token string) Option { return shared(transport.WithToken(token)) }

// WithCABundle adds the PEM certificates in pem to the system roots
// trusted for the registry's (and its token service's) TLS certificate.
// It cannot be combined with WithTransport.
func WithCABundle(pem []byte) Option { return shared(transport.WithCABundle(pem)) }

// WithInsecureSkipVerify turns TLS certificate verification off (throw-away
// test registries only). It cannot be combined with a CA bundle or
// WithTransport.
func WithInsecureSkipVerify() Option { return shared(transport.WithInsecureSkipVerify()) }

// WithAllowInsecureHTTP lets New accept a plain http registry that is not
// on loopback, and a token service on plain http: credentials then travel
// in clear text.
func WithAllowInsecureHTTP() Option { return shared(transport.WithAllowInsecureHTTP()) }

// WithRetry sets the retry policy, as registry/quay's WithRetry does.
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return shared(transport.WithRetry(maxRetries, base, max))
}

// WithRetrySleep replaces how the client waits between the attempts of a
// request (tests retry without waiting). A transport.ContextWithSleep on
// the request's context takes precedence.
func WithRetrySleep(sleep transport.Sleep) Option { return shared(transport.WithRetrySleep(sleep)) }

// WithTimeout bounds each attempt of a request. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option { return shared(transport.WithTimeout(d)) }

// WithMaxBodySize caps a response body; a larger one fails with
// ErrBadResponse. Default: DefaultMaxBodySize.
func WithMaxBodySize(n int64) Option { return shared(transport.WithMaxBodySize(n)) }

// WithLogger sets the logger; requests are logged at Debug. Default:
// hclog.NewNullLogger().
func WithLogger(l hclog.Logger) Option { return shared(transport.WithLogger(l)) }

// WithUserAgent puts product tokens (e.g. "my-operator/1.2") in front of
// quaymirror's own User-Agent.
func WithUserAgent(ua string) Option { return shared(transport.WithUserAgent(ua)) }

// WithTransport sets the base transport under the client's own stack
// (retries, logging, User-Agent, size cap). Clients may share one to share
// connections. TLS options cannot be combined with it.
func WithTransport(rt http.RoundTripper) Option { return shared(transport.WithTransport(rt)) }

// WithPageSize sets the n of catalog requests, 1 to MaxPageSize. Default:
// DefaultPageSize.
func WithPageSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > MaxPageSize {
			return fmt.Errorf("WithPageSize: %d is not between 1 and %d", n, MaxPageSize)
		}
		o.pageSize = n
		return nil
	}
}

// WithTagPageSize sets how many tags one ListTags page holds, 1 to
// MaxPageSize. Default: DefaultTagPageSize.
func WithTagPageSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > MaxPageSize {
			return fmt.Errorf("WithTagPageSize: %d is not between 1 and %d", n, MaxPageSize)
		}
		o.tagPageSize = n
		return nil
	}
}

// WithClock sets the clock that token lifetimes are read against (default
// time.Now). Tests set it.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}
