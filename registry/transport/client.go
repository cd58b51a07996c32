package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Backend is what a backend tells New about itself.
type Backend struct {
	// Name names the backend in errors ("quay: GET …"), in log lines and
	// in its logger's name: "quay", "harbor", "oci".
	Name string
	// Example is a base URL shown when the one given is malformed, e.g.
	// "https://quay.example.com".
	Example string
	// CredentialOptions names the options that give credentials, for the
	// error about a base URL that holds them, e.g. "WithToken".
	CredentialOptions string
	// OwnAuthorization says the backend sets the Authorization header of
	// each request itself, because it changes from request to request
	// (an OCI registry's token per scope); it must then set it only on
	// requests to the registry and its token service, and CheckRedirect
	// strips it from a redirect that leaves the origin. Otherwise the
	// stack's Credentials adds the Options' Basic credentials or bearer
	// token to the requests for the registry's origin.
	OwnAuthorization bool
	// Permanent reports answers that look retryable but do not clear by
	// retrying (Retry.Permanent; nil: none).
	Permanent func(*http.Response) bool
}

// Client sends the requests of one backend's client through the stack
// and reads their answers: the part of every HTTP backend that is not its
// server's own. It is safe for concurrent use.
type Client struct {
	// Base is the registry's base URL: scheme and host lower-cased, the
	// path without a trailing slash.
	Base *url.URL
	// HTTP is the stack, with CheckRedirect.
	HTTP *http.Client
	// Retry is the stack's outermost layer; tests set its Sleep, Jitter
	// and Now.
	Retry *Retry
	// Logger is the backend's logger, named after it.
	Logger hclog.Logger
	// MaxBody is the cap of a response body.
	MaxBody int64

	name    string
	secrets []string
}

// New checks o, parses baseURL and builds the backend's stack over o's
// Transport (or NewBase of o's TLS options), outermost first: Retry, Log,
// Credentials (unless the backend sets Authorization itself), UserAgent,
// Limit. It does no I/O. It fails, with errors that start with the
// backend's name, on options that exclude each other, on a base URL
// without a scheme and a host or with credentials, a query or a fragment,
// and on plain http to a host that is not loopback unless
// o.AllowInsecureHTTP. Every error and log line of the client is scrubbed
// of o's password and token.
func New(baseURL string, o Options, b Backend) (*Client, error) {
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name, err)
	}
	base, err := parseBaseURL(baseURL, o.AllowInsecureHTTP, b)
	if err != nil {
		return nil, err
	}
	rt := o.Transport
	if rt == nil {
		t, err := NewBase(BaseOptions{CABundle: o.CABundle, InsecureSkipVerify: o.InsecureSkipVerify})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name, err)
		}
		rt = t
	}
	authz := Bearer(o.Token)
	secrets := []string{o.Password.Reveal(), o.Token.Reveal()}
	if o.Username != "" {
		authz = Basic(o.Username, o.Password)
		// The header's encoding of user and password, which a server
		// might echo.
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(o.Username+":"+o.Password.Reveal())))
	}
	logger := o.Logger.Named(b.Name)
	rt = &Limit{Next: rt, Max: o.MaxBody}
	rt = &UserAgent{Next: rt, Value: DefaultUserAgent(o.UserAgent)}
	if !b.OwnAuthorization {
		rt = &Credentials{Next: rt, Origin: base, Authorization: authz}
	}
	rt = &Log{Next: rt, Logger: logger, Name: b.Name, Redact: secrets}
	retry := &Retry{
		Next: rt, MaxRetries: o.MaxRetries, Base: o.RetryBase, Max: o.RetryMax, Timeout: o.Timeout,
		Permanent: b.Permanent, Logger: logger, Name: b.Name, Redact: secrets, Sleep: o.RetrySleep,
	}
	return &Client{
		Base:    base,
		HTTP:    &http.Client{Transport: retry, CheckRedirect: CheckRedirect(o.AllowInsecureHTTP)},
		Retry:   retry,
		Logger:  logger,
		MaxBody: o.MaxBody,
		name:    b.Name,
		secrets: secrets,
	}, nil
}

func parseBaseURL(raw string, allowInsecureHTTP bool, b Backend) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Parse quotes the input, which may hold credentials.
		return nil, fmt.Errorf("%s: invalid base URL", b.Name)
	}
	switch {
	case u.Scheme == "" || u.Host == "":
		return nil, fmt.Errorf("%s: base URL %s needs a scheme and a host, e.g. %s", b.Name, CleanURL(u), b.Example)
	case u.User != nil:
		return nil, fmt.Errorf("%s: the base URL must not hold credentials; use %s", b.Name, b.CredentialOptions)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%s: base URL %s must not have a query or a fragment", b.Name, CleanURL(u))
	}
	if err := CheckScheme(u, allowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// Request is one request of a backend.
type Request struct {
	Method string
	// URL is the whole URL, the registry's or another service's (a token
	// service).
	URL *url.URL
	// Header is sent as is (Accept, Content-Type, an Authorization the
	// backend sets itself).
	Header http.Header
	// Body is sent as is (nil: none).
	Body []byte
	// Secrets are scrubbed, with the client's password and token, from
	// every error and log line of the request (a password in the body, a
	// token in the header).
	Secrets []string
}

// ErrorBodyLimit bounds what is read of an answer other than 2xx.
const ErrorBodyLimit = 64 << 10

// Do sends r and reads the answer: a 2xx whole (up to MaxBody), another
// status up to ErrorBodyLimit (what a failed read leaves is kept: the
// status says what failed), a HEAD answer not at all. It returns an
// *Error when no answer can be read: a request that cannot be built
// (ErrInvalid), a transport failure after the retries (ErrUnavailable, or
// the context's error), a 2xx body too large or truncated
// (ErrBadResponse) or whose reading fails (ErrUnavailable).
func (c *Client) Do(ctx context.Context, r Request) (*Reply, error) {
	secrets := append(c.secrets[:len(c.secrets):len(c.secrets)], r.Secrets...)
	e := &Error{Backend: c.name, Method: r.Method, URL: CleanURL(r.URL)}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	rec := &Record{Secrets: secrets}
	req, err := http.NewRequestWithContext(WithRecord(ctx, rec), r.Method, r.URL.String(), body)
	if err != nil {
		e.Message, e.Kind = "cannot build the request", quaymirror.ErrInvalid
		return nil, e
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	e.Attempts, e.Ambiguous = rec.Attempts, rec.Ambiguous
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			e.Err = ctxErr
			return nil, e
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.Err, e.Message, e.Kind = err, Scrub(err.Error(), secrets...), quaymirror.ErrUnavailable
		return nil, e
	}
	defer resp.Body.Close()
	rep := &Reply{Status: resp.StatusCode, Header: resp.Header, Method: r.Method, URL: r.URL,
		Attempts: rec.Attempts, Ambiguous: rec.Ambiguous, name: c.name, secrets: secrets}
	switch {
	case r.Method == http.MethodHead:
		return rep, nil
	case !rep.OK():
		rep.Body, _ = io.ReadAll(io.LimitReader(resp.Body, ErrorBodyLimit))
		return rep, nil
	}
	rep.Body, err = io.ReadAll(resp.Body) // capped by the stack's Limit
	e.Status = resp.StatusCode
	switch {
	case err != nil && ctx.Err() != nil:
		e.Err = ctx.Err()
		return nil, e
	case errors.Is(err, ErrTooLarge):
		e.Message, e.Kind = fmt.Sprintf("answer larger than %d bytes", c.MaxBody), quaymirror.ErrBadResponse
		return nil, e
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Err, e.Message, e.Kind = err, "truncated answer: "+Scrub(err.Error(), secrets...), quaymirror.ErrBadResponse
		return nil, e
	case err != nil:
		e.Err, e.Message, e.Kind = err, "reading the answer: "+Scrub(err.Error(), secrets...), quaymirror.ErrUnavailable
		return nil, e
	}
	return rep, nil
}
