package oci

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	http              *transport.Client
	base              *url.URL // scheme and host, no path
	username          string
	password          quaymirror.Secret
	token             quaymirror.Secret
	logger            hclog.Logger
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
	o := options{Options: transport.DefaultOptions(), pageSize: DefaultPageSize, tagPageSize: DefaultTagPageSize, now: time.Now}
	o.MaxBody = DefaultMaxBodySize
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("oci: %w", err)
		}
	}
	// The Authorization header changes with each request's scope, so the
	// client sets it itself, only on requests to the registry's origin and
	// its token service.
	hc, err := transport.New(baseURL, o.Options, transport.Backend{
		Name: "oci", Example: "https://registry.example.com", CredentialOptions: "WithBasicAuth", OwnAuthorization: true,
	})
	if err != nil {
		return nil, err
	}
	if hc.Base.Path != "" {
		return nil, fmt.Errorf("oci: base URL %s must be the registry's root (the API is always under /v2/)", transport.CleanURL(hc.Base))
	}
	return &Client{
		http:              hc,
		base:              hc.Base,
		username:          o.Username,
		password:          o.Password,
		token:             o.Token,
		logger:            hc.Logger,
		pageSize:          o.pageSize,
		tagPageSize:       o.tagPageSize,
		allowInsecureHTTP: o.AllowInsecureHTTP,
		auth:              newAuthState(o.now),
	}, nil
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

// send sends r, answering the registry's authentication challenge once
// (a first request, an expired token, a scope the token lacks).
func (c *Client) send(ctx context.Context, r call) (*transport.Reply, error) {
	fresh := false
	for {
		authz, err := c.authorization(ctx, r.scope)
		if err != nil {
			return nil, err
		}
		rep, err := c.roundTrip(ctx, r, authz)
		if err != nil || rep.Status != http.StatusUnauthorized || fresh || c.token != "" {
			return rep, err
		}
		fresh = true
		ch, ok := pickChallenge(rep.Header)
		switch {
		case !ok:
			return rep, nil
		case ch.scheme == "bearer":
			if err := c.auth.learnBearer(ch, c.allowInsecureHTTP); err != nil {
				return nil, rep.Error(quaymirror.ErrBadResponse, "", rep.Scrub(err.Error()))
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
func (c *Client) roundTrip(ctx context.Context, r call, authz string) (*transport.Reply, error) {
	u := *c.base
	u.Path, _ = url.PathUnescape(r.path)
	u.RawPath = r.path
	u.RawQuery = r.query
	return c.do(ctx, r.method, &u, authz, r.accept)
}

// do sends one request to u, which is the registry's or its token
// service's, with the Authorization value authz, and reads the answer.
func (c *Client) do(ctx context.Context, method string, u *url.URL, authz string, accept []string) (*transport.Reply, error) {
	h := http.Header{"Accept": {"application/json"}}
	if len(accept) > 0 {
		h.Set("Accept", strings.Join(accept, ", "))
	}
	if authz != "" {
		h.Set("Authorization", authz)
	}
	secret := strings.TrimPrefix(strings.TrimPrefix(authz, "Bearer "), "Basic ")
	return c.http.Do(ctx, transport.Request{Method: method, URL: u, Header: h, Secrets: []string{secret}})
}

// fail turns a non-2xx answer into an *Error: the registry's error code
// and message (the distribution specification's {"errors":[…]}), and the
// sentinel they mean.
func fail(rep *transport.Reply) *Error {
	code, msg := transport.DescribeErrors(rep.Body)
	return rep.Error(transport.RegistryKind(rep.Status, code, "TOOMANYREQUESTS"), code, rep.Scrub(msg))
}

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
	case rep.OK():
		return nil
	case rep.Status == http.StatusNotFound:
		e := fail(rep)
		e.Kind = quaymirror.ErrUnsupported
		e.Message = "no registry API at /v2/: the URL is not an OCI registry's root"
		return e
	case rep.Status == http.StatusUnauthorized || rep.Status == http.StatusForbidden:
		e := fail(rep)
		e.Kind = quaymirror.ErrUnauthorized
		if c.username == "" && c.token == "" {
			e.Message = strings.TrimSpace("the registry does not allow anonymous access; give credentials. " + e.Message)
		}
		return e
	}
	return fail(rep)
}
