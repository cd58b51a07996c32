package harbor

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Defaults of the options.
const (
	// DefaultMaxRetries, DefaultRetryBase and DefaultRetryMax are the
	// retry policy of registry/quay, whose reasons hold for Harbor behind
	// the same kind of proxies.
	DefaultMaxRetries = 8
	DefaultRetryBase  = 250 * time.Millisecond
	DefaultRetryMax   = 15 * time.Second
	// DefaultTimeout bounds one attempt of a request.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBodySize caps a response body: a page of 100 artifacts
	// with their tags is well under 1 MiB.
	DefaultMaxBodySize int64 = 8 << 20
	// MaxPageSize is Harbor's largest page_size (its API refuses more),
	// and the default.
	MaxPageSize = 100
	// DefaultRobotPrefix is the prefix of Harbor's robot account names
	// (robot_name_prefix in its configuration).
	DefaultRobotPrefix = "robot$"
)

// Option configures a Client. New reports the first invalid one.
type Option func(*options) error

type options struct {
	username           string
	password           quaymirror.Secret
	token              quaymirror.Secret
	caBundle           []byte
	insecureSkipVerify bool
	allowInsecureHTTP  bool
	maxRetries         int
	retryBase          time.Duration
	retryMax           time.Duration
	retrySleep         transport.Sleep
	timeout            time.Duration
	maxBody            int64
	logger             hclog.Logger
	userAgent          string
	transport          http.RoundTripper
	pageSize           int
	robotPrefix        string
}

func defaultOptions() options {
	return options{
		maxRetries:  DefaultMaxRetries,
		retryBase:   DefaultRetryBase,
		retryMax:    DefaultRetryMax,
		timeout:     DefaultTimeout,
		maxBody:     DefaultMaxBodySize,
		logger:      hclog.NewNullLogger(),
		pageSize:    MaxPageSize,
		robotPrefix: DefaultRobotPrefix,
	}
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// WithBasicAuth sets the credentials sent with every request (Basic): a
// robot account's full name ("robot$<project>+<name>") and secret, or a
// user's name and password. Without credentials the client is anonymous.
// The password is never logged or embedded in errors.
func WithBasicAuth(username, password string) Option {
	return func(o *options) error {
		switch {
		case username == "" || password == "":
			return errors.New("WithBasicAuth: empty user name or password (leave the option out for anonymous access)")
		case strings.Contains(username, ":"):
			return errors.New("WithBasicAuth: the user name contains a colon")
		case hasSpaceOrControl(username):
			return errors.New("WithBasicAuth: the user name contains white space or control characters")
		case strings.ContainsAny(password, "\r\n\x00"):
			return errors.New("WithBasicAuth: the password contains a line break or NUL")
		}
		o.username, o.password = username, quaymirror.Secret(password)
		return nil
	}
}

// WithToken sets a bearer token sent with every request (an OIDC ID
// token, which Harbor accepts as a Bearer). It excludes WithBasicAuth.
func WithToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return errors.New("WithToken: empty token (leave the option out for anonymous access)")
		}
		if hasSpaceOrControl(token) {
			return errors.New("WithToken: the token contains white space or control characters")
		}
		o.token = quaymirror.Secret(token)
		return nil
	}
}

// WithCABundle adds the PEM certificates in pem to the system roots
// trusted for Harbor's TLS certificate.
// It cannot be combined with WithTransport.
func WithCABundle(pem []byte) Option {
	return func(o *options) error {
		if _, err := transport.CertPool(pem); err != nil {
			return fmt.Errorf("WithCABundle: %w", err)
		}
		o.caBundle = append(append(o.caBundle, pem...), '\n')
		return nil
	}
}

// WithInsecureSkipVerify turns TLS certificate verification off (throw-away
// test registries only). It cannot be combined with a CA bundle or
// WithTransport.
func WithInsecureSkipVerify() Option {
	return func(o *options) error {
		o.insecureSkipVerify = true
		return nil
	}
}

// WithAllowInsecureHTTP lets New accept a plain http Harbor that is not
// on loopback: credentials then travel in clear text.
func WithAllowInsecureHTTP() Option {
	return func(o *options) error {
		o.allowInsecureHTTP = true
		return nil
	}
}

// WithRetry sets the retry policy, as registry/quay's WithRetry does.
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return func(o *options) error {
		switch {
		case maxRetries < 0 || maxRetries > 100:
			return fmt.Errorf("WithRetry: %d retries is not between 0 and 100", maxRetries)
		case base <= 0:
			return fmt.Errorf("WithRetry: base backoff %s is not positive", base)
		case max < base:
			return fmt.Errorf("WithRetry: max backoff %s is below the base %s", max, base)
		}
		o.maxRetries, o.retryBase, o.retryMax = maxRetries, base, max
		return nil
	}
}

// WithRetrySleep replaces how the client waits between the attempts of a
// request (tests retry without waiting). A transport.ContextWithSleep on
// the request's context takes precedence.
func WithRetrySleep(sleep transport.Sleep) Option {
	return func(o *options) error {
		if sleep == nil {
			return errors.New("WithRetrySleep: nil sleep")
		}
		o.retrySleep = sleep
		return nil
	}
}

// WithTimeout bounds each attempt of a request. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %s is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxBodySize caps a response body; a larger one fails with
// ErrBadResponse. Default: DefaultMaxBodySize.
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
		if ua == "" || strings.ContainsAny(ua, "\r\n") {
			return errors.New("WithUserAgent: empty user agent or one with a line break")
		}
		o.userAgent = ua
		return nil
	}
}

// WithTransport sets the base transport under the client's own stack
// (retries, logging, User-Agent, size cap). Clients may share one to share
// connections. TLS options cannot be combined with it.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("WithTransport: nil transport")
		}
		o.transport = rt
		return nil
	}
}

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
		if prefix == "" || hasSpaceOrControl(prefix) {
			return errors.New("WithRobotPrefix: empty prefix or one with white space")
		}
		o.robotPrefix = prefix
		return nil
	}
}

func (o *options) check() error {
	tlsSet := len(o.caBundle) > 0 || o.insecureSkipVerify
	switch {
	case o.token != "" && o.username != "":
		return errors.New("WithToken and WithBasicAuth exclude each other")
	case o.transport != nil && tlsSet:
		return errors.New("TLS options (WithCABundle, WithInsecureSkipVerify) configure the default transport and cannot be combined with WithTransport")
	case o.insecureSkipVerify && len(o.caBundle) > 0:
		return errors.New("WithInsecureSkipVerify and a CA bundle exclude each other")
	}
	return nil
}
