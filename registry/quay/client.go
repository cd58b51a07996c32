package quay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Compile-time checks: the client implements the destination and every
// optional capability.
var (
	_ quaymirror.Destination        = (*Client)(nil)
	_ quaymirror.Source             = (*Client)(nil)
	_ quaymirror.Authenticator      = (*Client)(nil)
	_ quaymirror.OrganizationReader = (*Client)(nil)
	_ quaymirror.RobotReader        = (*Client)(nil)
	_ quaymirror.RobotCreator       = (*Client)(nil)
	_ quaymirror.PermissionWriter   = (*Client)(nil)
	_ quaymirror.CapabilityReader   = (*Client)(nil)
	_ quaymirror.OrgMirrorReader    = (*Client)(nil)
	_ quaymirror.SyncLogReader      = (*Client)(nil)
	_ quaymirror.TagLister          = (*Client)(nil)
)

// Client talks to one Quay registry with one token. It is safe for
// concurrent use.
type Client struct {
	base     *url.URL // scheme, host and optional path prefix, no trailing slash
	http     *transport.Client
	retry    *transport.Retry
	logger   hclog.Logger
	now      func() time.Time
	resolver Resolver

	disc lazy[discovery]
	cfg  lazy[serverConfig]
}

// New returns a client for the Quay registry at baseURL, e.g.
// "https://quay.example.com" (a path prefix is kept). It does no I/O. It
// fails on an invalid option, on a base URL with credentials, a query or a
// fragment, and on plain http to a host that is not loopback unless
// WithAllowInsecureHTTP is given.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := options{Options: transport.DefaultOptions(), resolver: net.DefaultResolver}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("quay: %w", err)
		}
	}
	hc, err := transport.New(baseURL, o.Options, transport.Backend{
		Name: "quay", Example: "https://quay.example.com", CredentialOptions: "WithToken", Permanent: readOnlyAnswer,
	})
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:     hc.Base,
		http:     hc,
		retry:    hc.Retry,
		logger:   hc.Logger,
		now:      time.Now,
		resolver: o.resolver,
	}
	c.disc.init()
	c.cfg.init()
	return c, nil
}

// BaseURL returns the registry's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// request describes one API call.
type request struct {
	method string
	// path is the escaped path below /api/v1, e.g. "/repository/acme/app",
	// or below the base URL itself when root is set (e.g. "/config").
	path  string
	root  bool
	query url.Values
	// body is encoded as JSON when not nil.
	body any
	// secrets are scrubbed, with the token, from any message kept.
	secrets []string
}

// do sends r and returns its 2xx answer, read in full, or an *Error.
func (c *Client) do(ctx context.Context, r request) (*transport.Reply, error) {
	u := *c.base
	prefix := "/api/v1"
	if r.root {
		prefix = ""
	}
	u.Path = c.base.Path + prefix + unescapedPath(r.path)
	u.RawPath = c.base.EscapedPath() + prefix + r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	req := transport.Request{Method: r.method, URL: &u, Header: http.Header{"Accept": {"application/json"}}, Secrets: r.secrets}
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, &Error{Backend: "quay", Method: r.method, URL: transport.CleanURL(&u),
				Message: "cannot encode the request body", Err: err, Kind: quaymirror.ErrInvalid}
		}
		req.Body = b
		req.Header.Set("Content-Type", "application/json")
	}
	rep, err := c.http.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		msg := rep.Scrub(errorMessage(rep.Status, rep.Header.Get("Content-Type"), rep.Body))
		kind := kindFor(rep.Status, msg)
		if rep.Status == http.StatusServiceUnavailable && isReadOnlyBody(rep.Body) {
			kind = quaymirror.ErrReadOnly
		}
		return nil, rep.Error(kind, "", msg)
	}
	return rep, nil
}

func unescapedPath(p string) string {
	s, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return s
}

// segment escapes one path segment; it fails on an empty segment and on
// "." and "..", which proxies and servers would resolve.
func segment(what, s string) (string, error) {
	switch s {
	case "":
		return "", fmt.Errorf("quay: empty %s: %w", what, quaymirror.ErrInvalid)
	case ".", "..":
		return "", fmt.Errorf("quay: invalid %s %q: %w", what, s, quaymirror.ErrInvalid)
	}
	return url.PathEscape(s), nil
}

// namePath escapes a name that is a single path segment (organisation,
// namespace, robot short name, user).
func namePath(what, s string) (string, error) {
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("quay: %s %q contains a slash: %w", what, s, quaymirror.ErrInvalid)
	}
	return segment(what, s)
}

// repoPath returns the escaped "namespace/name" of a repository. The name
// may contain "/": each segment is escaped, the slashes are kept.
func repoPath(namespace, name string) (string, error) {
	ns, err := namePath("namespace", namespace)
	if err != nil {
		return "", err
	}
	if name == "" {
		return "", fmt.Errorf("quay: empty repository name: %w", quaymirror.ErrInvalid)
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if parts[i], err = segment("repository name segment in "+name, p); err != nil {
			return "", err
		}
	}
	return ns + "/" + strings.Join(parts, "/"), nil
}

// verified logs that a create retried after a failure in flight found its
// own earlier success.
func (c *Client) verified(what string) {
	c.logger.Debug("create answered 'already exists' after a retry; the earlier attempt had succeeded", "object", what)
}

// retriedConflict reports whether err is an "already exists" answer to a
// request an earlier attempt of which may have reached the server.
func retriedConflict(err error) bool {
	var qe *Error
	return errors.As(err, &qe) && qe.Ambiguous && errors.Is(qe.Kind, quaymirror.ErrAlreadyExists)
}
