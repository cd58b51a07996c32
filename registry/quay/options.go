package quay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Defaults of the options.
const (
	// DefaultMaxRetries is how many times a request is retried after its
	// first attempt. Against 10% 503s, 5% resets and 429 bursts, 5 retries
	// let one request in about 2,000 fail for good (a 500-repository run
	// failed one repository in 3 of 12 runs); 8 did not fail in 12. A
	// server that is really down costs about 25 s per request then, which
	// the engine's breaker pays only for one wave of workers.
	DefaultMaxRetries = 8
	// DefaultRetryBase is the backoff before the first retry (before
	// jitter); it doubles with each retry.
	DefaultRetryBase = 250 * time.Millisecond
	// DefaultRetryMax caps every wait between attempts, Retry-After
	// included.
	DefaultRetryMax = 15 * time.Second
	// DefaultTimeout bounds one attempt: connecting, sending, and reading
	// the whole answer.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBodySize caps a response body. Quay's discovery document,
	// the largest answer the client reads, is about 0.5 to 1 MiB.
	DefaultMaxBodySize int64 = 8 << 20
)

// Option configures a Client. Options are checked by New, which reports the
// first invalid one.
type Option func(*options) error

type options struct {
	token              quaymirror.Secret
	caBundle           []byte
	insecureSkipVerify bool
	allowInsecureHTTP  bool
	maxRetries         int
	retryBase          time.Duration
	retryMax           time.Duration
	retrySleep         RetrySleep
	timeout            time.Duration
	maxBody            int64
	logger             hclog.Logger
	userAgent          string
	transport          http.RoundTripper
	resolver           Resolver
}

func defaultOptions() options {
	return options{
		maxRetries: DefaultMaxRetries,
		retryBase:  DefaultRetryBase,
		retryMax:   DefaultRetryMax,
		timeout:    DefaultTimeout,
		maxBody:    DefaultMaxBodySize,
		logger:     hclog.NewNullLogger(),
	}
}

// WithToken sets the OAuth bearer token sent to the registry. Without it
// the client is anonymous. The token is kept as a quaymirror.Secret and
// never logged or embedded in errors.
func WithToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return errors.New("WithToken: empty token (leave the option out for anonymous access)")
		}
		if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return errors.New("WithToken: the token contains white space or control characters")
		}
		o.token = quaymirror.Secret(token)
		return nil
	}
}

// WithCABundle adds the PEM certificates in pem to the system roots trusted
// for the registry's TLS certificate. It fails when pem holds no
// certificate. It configures the default transport and so cannot be
// combined with WithTransport.
func WithCABundle(pem []byte) Option {
	return func(o *options) error {
		if _, err := transport.CertPool(pem); err != nil {
			return fmt.Errorf("WithCABundle: %w", err)
		}
		o.caBundle = append(append(o.caBundle, pem...), '\n')
		return nil
	}
}

// WithCAFile is WithCABundle with the content of the file at path, read by
// New.
func WithCAFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return errors.New("WithCAFile: empty path")
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("WithCAFile: %w", err)
		}
		if _, err := transport.CertPool(pem); err != nil {
			return fmt.Errorf("WithCAFile %s: %w", path, err)
		}
		o.caBundle = append(append(o.caBundle, pem...), '\n')
		return nil
	}
}

// WithInsecureSkipVerify turns TLS certificate verification off. It exists
// for throw-away test registries; never use it in production. It cannot be
// combined with a CA bundle or with WithTransport.
func WithInsecureSkipVerify() Option {
	return func(o *options) error {
		o.insecureSkipVerify = true
		return nil
	}
}

// WithAllowInsecureHTTP lets New accept a plain http base URL on a host
// that is not loopback (and lets redirects go to one). The token then
// travels in clear text.
func WithAllowInsecureHTTP() Option {
	return func(o *options) error {
		o.allowInsecureHTTP = true
		return nil
	}
}

// WithRetry sets the retry policy: at most maxRetries retries after the
// first attempt (0 disables retries), waiting a random duration between 0
// and min(max, base·2^n) before retry n+1 (full jitter), or what the
// server's Retry-After asks for, capped at max. Defaults:
// DefaultMaxRetries, DefaultRetryBase, DefaultRetryMax.
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return func(o *options) error {
		switch {
		case maxRetries < 0:
			return fmt.Errorf("WithRetry: negative retry count %d", maxRetries)
		case maxRetries > 100:
			return fmt.Errorf("WithRetry: %d retries is more than 100", maxRetries)
		case base <= 0:
			return fmt.Errorf("WithRetry: base backoff %s is not positive", base)
		case max < base:
			return fmt.Errorf("WithRetry: max backoff %s is below the base %s", max, base)
		}
		o.maxRetries, o.retryBase, o.retryMax = maxRetries, base, max
		return nil
	}
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
func WithRetrySleep(sleep RetrySleep) Option {
	return func(o *options) error {
		if sleep == nil {
			return errors.New("WithRetrySleep: nil sleep")
		}
		o.retrySleep = sleep
		return nil
	}
}

// WithTimeout bounds each attempt of a request (connection, request and
// the whole response body). An attempt that runs out of time is retried
// like a connection failure. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %s is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxBodySize caps the size of a response body; a larger one fails
// with ErrBadResponse without being read to its end. Quay's discovery
// document needs about 1 MiB. Default: DefaultMaxBodySize.
func WithMaxBodySize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBodySize: %d is not positive", n)
		}
		o.maxBody = n
		return nil
	}
}

// WithLogger sets the logger; requests are logged at Debug. Default:
// hclog.NewNullLogger().
func WithLogger(l hclog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithUserAgent puts product tokens (e.g. "my-operator/1.2") in front of
// quaymirror's own User-Agent.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		ua = strings.TrimSpace(ua)
		if ua == "" {
			return errors.New("WithUserAgent: empty user agent")
		}
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("WithUserAgent: user agent contains a line break")
		}
		o.userAgent = ua
		return nil
	}
}

// WithTransport sets the base transport under the client's own stack
// (retries, logging, token, User-Agent). Several Clients may share one,
// for instance one built by NewTransport, to share connections; the token
// of each Client is added above it. TLS options cannot be combined with
// it: configure TLS on the transport itself.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("WithTransport: nil transport")
		}
		o.transport = rt
		return nil
	}
}

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

func (o *options) check() error {
	tlsSet := len(o.caBundle) > 0 || o.insecureSkipVerify
	switch {
	case o.transport != nil && tlsSet:
		return errors.New("TLS options (WithCABundle, WithCAFile, WithInsecureSkipVerify) configure the default transport and cannot be combined with WithTransport")
	case o.insecureSkipVerify && len(o.caBundle) > 0:
		return errors.New("WithInsecureSkipVerify and a CA bundle exclude each other")
	}
	return nil
}
