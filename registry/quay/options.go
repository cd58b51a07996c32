package quay

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/registry/transport"
)

// Defaults of the options: the transport package's, whose reasons hold
// for Quay.
const (
	// DefaultMaxRetries is how many times a request is retried after its
	// first attempt (transport.DefaultMaxRetries).
	DefaultMaxRetries = transport.DefaultMaxRetries
	// DefaultRetryBase is the backoff before the first retry (before
	// jitter); it doubles with each retry.
	DefaultRetryBase = transport.DefaultRetryBase
	// DefaultRetryMax caps every wait between attempts, Retry-After
	// included.
	DefaultRetryMax = transport.DefaultRetryMax
	// DefaultTimeout bounds one attempt: connecting, sending, and reading
	// the whole answer.
	DefaultTimeout = transport.DefaultTimeout
	// DefaultMaxBodySize caps a response body. Quay's discovery document,
	// the largest answer the client reads, is about 0.5 to 1 MiB.
	DefaultMaxBodySize = transport.DefaultMaxBodySize
)

// Option configures a Client. Options are checked by New, which reports the
// first invalid one.
type Option func(*options) error

// options are the transport's, which every HTTP backend takes, and
// Quay's own.
type options struct {
	transport.Options
	resolver Resolver
}

// shared makes an Option of one of the transport's.
func shared(opt transport.Option) Option {
	return func(o *options) error { return opt(&o.Options) }
}

// WithToken sets the OAuth bearer token sent to the registry. Without it
// the client is anonymous. The token is kept as a quaymirror.Secret and
// never logged or embedded in errors.
func WithToken(token string) Option { return shared(transport.WithToken(token)) }

// WithCABundle adds the PEM certificates in pem to the system roots trusted
// for the registry's TLS certificate. It fails when pem holds no
// certificate. It configures the default transport and so cannot be
// combined with WithTransport.
func WithCABundle(pem []byte) Option { return shared(transport.WithCABundle(pem)) }

// WithCAFile is WithCABundle with the content of the file at path, read by
// New.
func WithCAFile(path string) Option { return shared(transport.WithCAFile(path)) }

// WithInsecureSkipVerify turns TLS certificate verification off. It exists
// for throw-away test registries; never use it in production. It cannot be
// combined with a CA bundle or with WithTransport.
func WithInsecureSkipVerify() Option { return shared(transport.WithInsecureSkipVerify()) }

// WithAllowInsecureHTTP lets New accept a plain http base URL on a host
// that is not loopback (and lets redirects go to one). The token then
// travels in clear text.
func WithAllowInsecureHTTP() Option { return shared(transport.WithAllowInsecureHTTP()) }

// WithRetry sets the retry policy: at most maxRetries retries after the
// first attempt (0 disables retries, 100 at most), waiting a random
// duration between 0 and min(max, base·2^n) before retry n+1 (full
// jitter), or what the server's Retry-After asks for, capped at max.
// Defaults: DefaultMaxRetries, DefaultRetryBase, DefaultRetryMax.
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return shared(transport.WithRetry(maxRetries, base, max))
}

// RetrySleep waits d before the next attempt of a request, or until ctx
// ends (transport.Sleep): it returns nil to go on with the next attempt,
// or an error (ctx's, when ctx ended first) that ends the request with
// that error. d is the wait the retry policy chose: a backoff (with its
// jitter) or what the server's Retry-After asked for, capped.
type RetrySleep = transport.Sleep

// ContextWithRetrySleep returns a copy of ctx under which every request
// of every Client (and of every other backend on the transport package)
// waits between its attempts with sleep instead of the Client's own way
// ([WithRetrySleep] or a timer). It reaches Clients built out of the
// caller's hands, such as those a command-line run builds from its
// configuration: a test can run the whole program through retries and
// give-ups without waiting on real time. A nil sleep returns ctx
// unchanged (transport.ContextWithSleep).
func ContextWithRetrySleep(ctx context.Context, sleep RetrySleep) context.Context {
	return transport.ContextWithSleep(ctx, sleep)
}

// WithRetrySleep replaces how the client waits between the attempts of a
// request, which by default is a timer that the request's context can
// stop. Simulations and tests use it to retry without waiting on real
// time, or to see the waits chosen. A [ContextWithRetrySleep] on the
// request's context takes precedence.
func WithRetrySleep(sleep RetrySleep) Option { return shared(transport.WithRetrySleep(sleep)) }

// WithTimeout bounds each attempt of a request (connection, request and
// the whole response body). An attempt that runs out of time is retried
// like a connection failure. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option { return shared(transport.WithTimeout(d)) }

// WithMaxBodySize caps the size of a response body; a larger one fails
// with ErrBadResponse without being read to its end. Quay's discovery
// document needs about 1 MiB. Default: DefaultMaxBodySize.
func WithMaxBodySize(n int64) Option { return shared(transport.WithMaxBodySize(n)) }

// WithLogger sets the logger; requests are logged at Debug. Default:
// hclog.NewNullLogger().
func WithLogger(l hclog.Logger) Option { return shared(transport.WithLogger(l)) }

// WithUserAgent puts product tokens (e.g. "my-operator/1.2") in front of
// quaymirror's own User-Agent.
func WithUserAgent(ua string) Option { return shared(transport.WithUserAgent(ua)) }

// WithTransport sets the base transport under the client's own stack
// (retries, logging, token, User-Agent). Several Clients may share one,
// for instance one built by NewTransport, to share connections; the token
// of each Client is added above it. TLS options cannot be combined with
// it: configure TLS on the transport itself.
func WithTransport(rt http.RoundTripper) Option { return shared(transport.WithTransport(rt)) }

// WithResolver sets how CheckSource looks the source host up (default
// net.DefaultResolver). Tests inject their own.
func WithResolver(r Resolver) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("WithResolver: nil resolver")
		}
		o.resolver = r
		return nil
	}
}
