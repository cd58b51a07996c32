package harbor

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
	// timeout, whose reasons hold for Harbor behind the same kind of
	// proxies.
	DefaultMaxRetries = transport.DefaultMaxRetries
	DefaultRetryBase  = transport.DefaultRetryBase
	DefaultRetryMax   = transport.DefaultRetryMax
	DefaultTimeout    = transport.DefaultTimeout
	// DefaultMaxBodySize caps a response body: a page of 100 artifacts
	// with their tags is well under 1 MiB.
	DefaultMaxBodySize = transport.DefaultMaxBodySize
	// MaxPageSize is Harbor's largest page_size (its API refuses more),
	// and the default.
	MaxPageSize = 100
	// DefaultRobotPrefix is the prefix of Harbor's robot account names
	// (robot_name_prefix in its configuration).
	DefaultRobotPrefix = "robot$"
)

// Option configures a Client. New reports the first invalid one.
type Option func(*options) error

// options are the transport's, which every HTTP backend takes, and
// Harbor's own.
type options struct {
	transport.Options
	pageSize    int
	robotPrefix string
}

// shared makes an Option of one of the transport's.
func shared(opt transport.Option) Option {
	return func(o *options) error { return opt(&o.Options) }
}

// WithBasicAuth sets the credentials sent with every request (Basic): a
// robot account's full name ("robot$<project>+<name>") and secret, or a
// user's name and password. Without credentials the client is anonymous.
// The password is never logged or embedded in errors.
func WithBasicAuth(username, password string) Option {
	return shared(transport.WithBasicAuth(username, password))
}

// WithToken sets a bearer token sent with every request (an OIDC ID
// token, which Harbor accepts as a Bearer). It excludes WithBasicAuth.
func WithToken(token string) Option { return shared(transport.WithToken(token)) }

// WithCABundle adds the PEM certificates in pem to the system roots
// trusted for Harbor's TLS certificate.
// It cannot be combined with WithTransport.
func WithCABundle(pem []byte) Option { return shared(transport.WithCABundle(pem)) }

// WithInsecureSkipVerify turns TLS certificate verification off (throw-away
// test registries only). It cannot be combined with a CA bundle or
// WithTransport.
func WithInsecureSkipVerify() Option { return shared(transport.WithInsecureSkipVerify()) }

// WithAllowInsecureHTTP lets New accept a plain http Harbor that is not
// on loopback: credentials then travel in clear text.
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

// WithPageSize sets the page_size of listings, 1 to MaxPageSize.
// Default: MaxPageSize.
func WithPageSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > MaxPageSize {
			return fmt.Errorf("WithPageSize: %d is not between 1 and %d", n, MaxPageSize)
		}
		o.pageSize = n
		return nil
	}
}

// WithRobotPrefix sets the prefix of robot account names, when Harbor's
// robot_name_prefix is not DefaultRobotPrefix.
func WithRobotPrefix(prefix string) Option {
	return func(o *options) error {
		if prefix == "" || transport.HasSpaceOrControl(prefix) {
			return errors.New("WithRobotPrefix: empty prefix or one with white space")
		}
		o.robotPrefix = prefix
		return nil
	}
}
