package transport

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Defaults of Options.
const (
	// DefaultMaxRetries is how many times a request is retried after its
	// first attempt. Against 10% 503s, 5% resets and 429 bursts, 5 retries
	// let one request in about 2,000 fail for good (a 500-repository run
	// against Quay failed one repository in 3 of 12 runs); 8 did not fail
	// in 12. A server that is really down costs about 25 s per request
	// then, which the engine's breaker pays only for one wave of workers.
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
	// DefaultMaxBodySize caps a response body unless a backend says
	// otherwise.
	DefaultMaxBodySize int64 = 8 << 20
)

// Options are the settings every HTTP backend's client takes: its
// credentials, TLS, retry policy, size cap, logger, User-Agent and base
// transport. A backend keeps them in its own options (with what is its
// own beside them), sets them with the Option constructors of this
// package, and builds its client with New.
type Options struct {
	// Username and Password are Basic credentials; Token is a bearer
	// token. They exclude each other.
	Username string
	Password quaymirror.Secret
	Token    quaymirror.Secret
	// CABundle and InsecureSkipVerify configure the base transport New
	// builds (NewBase) when Transport is nil.
	CABundle           []byte
	InsecureSkipVerify bool
	// AllowInsecureHTTP accepts a plain http base URL on a host that is
	// not loopback, and redirects to one.
	AllowInsecureHTTP bool
	// The retry policy (Retry): MaxRetries retries after the first
	// attempt, backoff from RetryBase capped at RetryMax, RetrySleep
	// instead of a timer (nil: a timer), each attempt bounded by Timeout.
	MaxRetries int
	RetryBase  time.Duration
	RetryMax   time.Duration
	RetrySleep Sleep
	Timeout    time.Duration
	// MaxBody caps a response body (Limit).
	MaxBody int64
	// Logger gets a Debug line per attempt (Log).
	Logger hclog.Logger
	// UserAgent holds the caller's product tokens, put in front of
	// quaymirror's own (DefaultUserAgent).
	UserAgent string
	// Transport is the base transport under the stack (nil: NewBase).
	Transport http.RoundTripper
}

// DefaultOptions returns the defaults: anonymous, verified TLS, the
// Default* retry policy, timeout and body cap, a null logger.
func DefaultOptions() Options {
	return Options{
		MaxRetries: DefaultMaxRetries,
		RetryBase:  DefaultRetryBase,
		RetryMax:   DefaultRetryMax,
		Timeout:    DefaultTimeout,
		MaxBody:    DefaultMaxBodySize,
		Logger:     hclog.NewNullLogger(),
	}
}

// Option sets one of the Options; it fails on an invalid value, with a
// message that names the backend's option of the same name.
type Option func(*Options) error

// HasSpaceOrControl reports whether s holds white space or a control
// character, which no name or token sent in a header may.
func HasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// WithBasicAuth sets Basic credentials: neither may be empty, the user
// name may hold no colon, white space or control character, the password
// no line break or NUL.
func WithBasicAuth(username, password string) Option {
	return func(o *Options) error {
		switch {
		case username == "" || password == "":
			return errors.New("WithBasicAuth: empty user name or password (leave the option out for anonymous access)")
		case strings.Contains(username, ":"):
			return errors.New("WithBasicAuth: the user name contains a colon")
		case HasSpaceOrControl(username):
			return errors.New("WithBasicAuth: the user name contains white space or control characters")
		case strings.ContainsAny(password, "\r\n\x00"):
			return errors.New("WithBasicAuth: the password contains a line break or NUL")
		}
		o.Username, o.Password = username, quaymirror.Secret(password)
		return nil
	}
}

// WithToken sets a bearer token, which may not be empty or hold white
// space or control characters.
func WithToken(token string) Option {
	return func(o *Options) error {
		if token == "" {
			return errors.New("WithToken: empty token (leave the option out for anonymous access)")
		}
		if HasSpaceOrControl(token) {
			return errors.New("WithToken: the token contains white space or control characters")
		}
		o.Token = quaymirror.Secret(token)
		return nil
	}
}

// WithCABundle adds the PEM certificates in pem to the CA bundle; it
// fails when pem holds no certificate.
func WithCABundle(pem []byte) Option {
	return func(o *Options) error {
		if _, err := CertPool(pem); err != nil {
			return fmt.Errorf("WithCABundle: %w", err)
		}
		o.CABundle = append(append(o.CABundle, pem...), '\n')
		return nil
	}
}

// WithCAFile is WithCABundle with the content of the file at path.
func WithCAFile(path string) Option {
	return func(o *Options) error {
		if path == "" {
			return errors.New("WithCAFile: empty path")
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("WithCAFile: %w", err)
		}
		if _, err := CertPool(pem); err != nil {
			return fmt.Errorf("WithCAFile %s: %w", path, err)
		}
		o.CABundle = append(append(o.CABundle, pem...), '\n')
		return nil
	}
}

// WithInsecureSkipVerify turns TLS certificate verification off.
func WithInsecureSkipVerify() Option {
	return func(o *Options) error {
		o.InsecureSkipVerify = true
		return nil
	}
}

// WithAllowInsecureHTTP allows plain http to a host that is not loopback.
func WithAllowInsecureHTTP() Option {
	return func(o *Options) error {
		o.AllowInsecureHTTP = true
		return nil
	}
}

// WithRetry sets the retry policy: 0 to 100 retries, a positive base, a
// max not below the base.
func WithRetry(maxRetries int, base, max time.Duration) Option {
	return func(o *Options) error {
		switch {
		case maxRetries < 0 || maxRetries > 100:
			return fmt.Errorf("WithRetry: %d retries is not between 0 and 100", maxRetries)
		case base <= 0:
			return fmt.Errorf("WithRetry: base backoff %s is not positive", base)
		case max < base:
			return fmt.Errorf("WithRetry: max backoff %s is below the base %s", max, base)
		}
		o.MaxRetries, o.RetryBase, o.RetryMax = maxRetries, base, max
		return nil
	}
}

// WithRetrySleep sets how the client waits between attempts (not nil).
func WithRetrySleep(sleep Sleep) Option {
	return func(o *Options) error {
		if sleep == nil {
			return errors.New("WithRetrySleep: nil sleep")
		}
		o.RetrySleep = sleep
		return nil
	}
}

// WithTimeout sets the positive timeout of each attempt.
func WithTimeout(d time.Duration) Option {
	return func(o *Options) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %s is not positive", d)
		}
		o.Timeout = d
		return nil
	}
}

// WithMaxBodySize sets the positive cap of a response body.
func WithMaxBodySize(n int64) Option {
	return func(o *Options) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBodySize: %d is not positive", n)
		}
		o.MaxBody = n
		return nil
	}
}

// WithLogger sets the logger (not nil).
func WithLogger(l hclog.Logger) Option {
	return func(o *Options) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		o.Logger = l
		return nil
	}
}

// WithUserAgent sets the caller's product tokens: not empty once trimmed,
// and on one line.
func WithUserAgent(ua string) Option {
	return func(o *Options) error {
		ua = strings.TrimSpace(ua)
		if ua == "" {
			return errors.New("WithUserAgent: empty user agent")
		}
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("WithUserAgent: user agent contains a line break")
		}
		o.UserAgent = ua
		return nil
	}
}

// WithTransport sets the base transport (not nil).
func WithTransport(rt http.RoundTripper) Option {
	return func(o *Options) error {
		if rt == nil {
			return errors.New("WithTransport: nil transport")
		}
		o.Transport = rt
		return nil
	}
}

// Check reports the options that exclude each other: a token and Basic
// credentials, TLS options and a base transport of the caller's, no
// verification and a CA bundle.
func (o *Options) Check() error {
	tlsSet := len(o.CABundle) > 0 || o.InsecureSkipVerify
	switch {
	case o.Token != "" && o.Username != "":
		return errors.New("WithToken and WithBasicAuth exclude each other")
	case o.Transport != nil && tlsSet:
		return errors.New("TLS options (WithCABundle, WithInsecureSkipVerify) configure the default transport and cannot be combined with WithTransport")
	case o.InsecureSkipVerify && len(o.CABundle) > 0:
		return errors.New("WithInsecureSkipVerify and a CA bundle exclude each other")
	}
	return nil
}
