package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Compile-time checks.
var (
	_ quaymirror.Source        = (*Client)(nil)
	_ quaymirror.TagLister     = (*Client)(nil)
	_ quaymirror.Authenticator = (*Client)(nil)
	_ quaymirror.Adviser       = (*Client)(nil)
)

// Client reads one OCI registry with one set of credentials. It is safe
// for concurrent use.
type Client struct {
	base              *url.URL // scheme and host, no path
	username          string
	password          quaymirror.Secret
	token             quaymirror.Secret
	hc                *http.Client
	logger            hclog.Logger
	maxBody           int64
	pageSize          int
	tagPageSize       int
	allowInsecureHTTP bool
	auth              *authState
}

// New returns a client for the registry at baseURL, e.g.
// "https://registry.example.com" (the registry's root: the API is under
// /v2/). It does no I/O. It fails on an invalid option, on a base URL
// with a path, credentials, a query or a fragment, and on plain http to
// a host that is not loopback unless WithAllowInsecureHTTP is given.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("oci: %w", err)
		}
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	base, err := parseBaseURL(baseURL, o.allowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	rt := o.transport
	if rt == nil {
		t, err := transport.NewBase(transport.BaseOptions{CABundle: o.caBundle, InsecureSkipVerify: o.insecureSkipVerify})
		if err != nil {
			return nil, fmt.Errorf("oci: %w", err)
		}
		rt = t
	}
	logger := o.logger.Named("oci")
	static := []string{o.password.Reveal(), o.token.Reveal()}
	// The Authorization header changes with each request's scope, so the
	// client sets it itself, only on requests to the registry's origin and
	// its token service; CheckRedirect strips it from a redirect that
	// leaves the origin.
	rt = &transport.Limit{Next: rt, Max: o.maxBody}
	rt = &transport.UserAgent{Next: rt, Value: transport.DefaultUserAgent(o.userAgent)}
	rt = &transport.Log{Next: rt, Logger: logger, Name: "oci", Redact: static}
	rt = &transport.Retry{
		Next: rt, MaxRetries: o.maxRetries, Base: o.retryBase, Max: o.retryMax, Timeout: o.timeout,
		Logger: logger, Name: "oci", Redact: static, Sleep: o.retrySleep,
	}
	return &Client{
		base:              base,
		username:          o.username,
		password:          o.password,
		token:             o.token,
		hc:                &http.Client{Transport: rt, CheckRedirect: transport.CheckRedirect(o.allowInsecureHTTP)},
		logger:            logger,
		maxBody:           o.maxBody,
		pageSize:          o.pageSize,
		tagPageSize:       o.tagPageSize,
		allowInsecureHTTP: o.allowInsecureHTTP,
		auth:              newAuthState(o.now),
	}, nil
}

func parseBaseURL(raw string, allowInsecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("oci: invalid base URL")
	}
	switch {
	case u.Scheme == "" || u.Host == "":
		return nil, fmt.Errorf("oci: base URL %s needs a scheme and a host, e.g. https://registry.example.com", transport.CleanURL(u))
	case u.User != nil:
		return nil, errors.New("oci: the base URL must not hold credentials; use WithBasicAuth")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("oci: base URL %s must not have a query or a fragment", transport.CleanURL(u))
	case strings.Trim(u.Path, "/") != "":
		return nil, fmt.Errorf("oci: base URL %s must be the registry's root (the API is always under /v2/)", transport.CleanURL(u))
	}
	if err := transport.CheckScheme(u, allowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Path, u.RawPath = "", ""
	return u, nil
}

// BaseURL returns the registry's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// call is one request to the registry.
type call struct {
	method string
	// path is the escaped path, e.g. "/v2/_catalog".
	path  string
	query string
	// scope is the token scope the request needs, e.g.
	// "registry:catalog:*" ("" for none).
	scope  string
	accept []string
}

// reply is an answer: a 2xx with its body read (GET), or another status
// with up to errorBodyLimit of its body.
type reply struct {
	status   int
	header   http.Header
	body     []byte
	url      *url.URL
	method   string
	attempts int
	secrets  []string
}

// errorBodyLimit bounds what is read of an error answer.
const errorBodyLimit = 64 << 10

// send sends r, answering the registry's authentication challenge once
// (a first request, an expired token, a scope the token lacks).
func (c *Client) send(ctx context.Context, r call) (*reply, error) {
	fresh := false
	for {
		authz, err := c.authorization(ctx, r.scope)
		if err != nil {
			return nil, err
		}
		rep, err := c.roundTrip(ctx, r, authz)
		if err != nil || rep.status != http.StatusUnauthorized || fresh || c.token != "" {
			return rep, err
		}
		fresh = true
		ch, ok := pickChallenge(rep.header)
		switch {
		case !ok:
			return rep, nil
		case ch.scheme == "bearer":
			if err := c.auth.learnBearer(ch, c.allowInsecureHTTP); err != nil {
				return nil, &Error{Method: r.method, URL: transport.CleanURL(rep.url), Status: rep.status, Message: err.Error(), kind: quaymirror.ErrBadResponse}
			}
			// The challenge names the scope the registry wants; ask for
			// that one, and keep the token for this kind of request.
			scope := ch.params["scope"]
			if scope == "" {
				scope = r.scope
			}
			tok, err := c.fetchToken(ctx, scope)
			if err != nil {
				return nil, err
			}
			c.auth.store(r.scope, tok)
		case ch.scheme == "basic" && c.username != "" && !strings.HasPrefix(authz, "Basic "):
			c.auth.learnBasic()
		default:
			return rep, nil
		}
	}
}

// roundTrip sends r once through the stack (whose Retry may send it
// several times) with the Authorization value authz.
func (c *Client) roundTrip(ctx context.Context, r call, authz string) (*reply, error) {
	u := *c.base
	u.Path, _ = url.PathUnescape(r.path)
	u.RawPath = r.path
	u.RawQuery = r.query
	return c.do(ctx, r.method, &u, authz, r.accept)
}

// do sends one request to u, which is the registry's or its token
// service's, and reads the answer.
func (c *Client) do(ctx context.Context, method string, u *url.URL, authz string, accept []string) (*reply, error) {
	secrets := []string{c.password.Reveal(), c.token.Reveal(), strings.TrimPrefix(strings.TrimPrefix(authz, "Bearer "), "Basic ")}
	e := &Error{Method: method, URL: transport.CleanURL(u)}
	rec := &transport.Record{Secrets: secrets}
	req, err := http.NewRequestWithContext(transport.WithRecord(ctx, rec), method, u.String(), nil)
	if err != nil {
		e.Message, e.kind = "cannot build the request", quaymirror.ErrInvalid
		return nil, e
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if len(accept) > 0 {
		req.Header.Set("Accept", strings.Join(accept, ", "))
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.hc.Do(req)
	e.Attempts = rec.Attempts
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			e.Err = ctxErr
			return nil, e
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.Err, e.Message, e.kind = err, transport.Scrub(err.Error(), secrets...), quaymirror.ErrUnavailable
		return nil, e
	}
	defer resp.Body.Close()
	rep := &reply{status: resp.StatusCode, header: resp.Header, url: u, method: method, attempts: rec.Attempts, secrets: secrets}
	if method == http.MethodHead {
		return rep, nil
	}
	var body io.Reader = resp.Body
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body = io.LimitReader(resp.Body, errorBodyLimit)
	}
	raw, err := io.ReadAll(body)
	switch {
	case err != nil && ctx.Err() != nil:
		e.Err = ctx.Err()
		return nil, e
	case errors.Is(err, transport.ErrTooLarge):
		e.Status, e.Message, e.kind = resp.StatusCode, fmt.Sprintf("answer larger than %d bytes", c.maxBody), quaymirror.ErrBadResponse
		return nil, e
	case err != nil:
		e.Status, e.Err, e.Message, e.kind = resp.StatusCode, err, "reading the answer: "+transport.Scrub(err.Error(), secrets...), quaymirror.ErrUnavailable
		if errors.Is(err, io.ErrUnexpectedEOF) {
			e.kind = quaymirror.ErrBadResponse
		}
		return nil, e
	}
	rep.body = raw
	return rep, nil
}

// fail turns a non-2xx answer into an *Error.
func (rep *reply) fail() *Error {
	code, msg := describe(rep.status, rep.body)
	e := &Error{Method: rep.method, URL: transport.CleanURL(rep.url), Status: rep.status, Code: code, Message: msg,
		Attempts: rep.attempts, kind: kindFor(rep.status, code)}
	return e.scrubbed(rep.secrets)
}

// bad reports a 2xx answer that makes no sense.
func (rep *reply) bad(format string, args ...any) *Error {
	e := &Error{Method: rep.method, URL: transport.CleanURL(rep.url), Status: rep.status,
		Message: fmt.Sprintf(format, args...), Attempts: rep.attempts, kind: quaymirror.ErrBadResponse}
	return e.scrubbed(rep.secrets)
}

func (rep *reply) ok() bool { return rep.status >= 200 && rep.status <= 299 }

// CurrentUser implements quaymirror.Authenticator: a GET /v2/ with the
// client's credentials (exchanged for a token when the registry asks). It
// returns the user name, "anonymous" without credentials, or "token" for
// WithToken. Rejected credentials yield ErrUnauthorized; a server that
// does not answer /v2/ as a registry ErrUnsupported.
func (c *Client) CurrentUser(ctx context.Context) (*quaymirror.User, error) {
	if err := c.ping(ctx); err != nil {
		return nil, err
	}
	switch {
	case c.username != "":
		return &quaymirror.User{Username: c.username}, nil
	case c.token != "":
		return &quaymirror.User{Username: "token"}, nil
	}
	return &quaymirror.User{Username: "anonymous"}, nil
}

// ping checks the credentials with GET /v2/.
func (c *Client) ping(ctx context.Context) error {
	rep, err := c.send(ctx, call{method: http.MethodGet, path: "/v2/"})
	if err != nil {
		return err
	}
	switch {
	case rep.ok():
		return nil
	case rep.status == http.StatusNotFound:
		e := rep.fail()
		e.kind = quaymirror.ErrUnsupported
		e.Message = "no registry API at /v2/: the URL is not an OCI registry's root"
		return e
	case rep.status == http.StatusUnauthorized || rep.status == http.StatusForbidden:
		e := rep.fail()
		e.kind = quaymirror.ErrUnauthorized
		if c.username == "" && c.token == "" {
			e.Message = strings.TrimSpace("the registry does not allow anonymous access; give credentials. " + e.Message)
		}
		return e
	}
	return rep.fail()
}
