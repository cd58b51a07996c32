package harbor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Compile-time checks.
var (
	_ quaymirror.Source             = (*Client)(nil)
	_ quaymirror.TagLister          = (*Client)(nil)
	_ quaymirror.Authenticator      = (*Client)(nil)
	_ quaymirror.OrganizationReader = (*Client)(nil)
	_ quaymirror.Adviser            = (*Client)(nil)
)

// apiPrefix is the path of Harbor's v2.0 API.
const apiPrefix = "/api/v2.0"

// Client reads one Harbor with one set of credentials. It is safe for
// concurrent use.
type Client struct {
	http        *transport.Client
	username    string
	token       quaymirror.Secret
	robotPrefix string
	pageSize    int
}

// New returns a client for the Harbor at baseURL, e.g.
// "https://harbor.example.com" (a path prefix is kept). It does no I/O.
// It fails on an invalid option, on a base URL with credentials, a query
// or a fragment, and on plain http to a host that is not loopback unless
// WithAllowInsecureHTTP is given.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := options{Options: transport.DefaultOptions(), pageSize: MaxPageSize, robotPrefix: DefaultRobotPrefix}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("harbor: %w", err)
		}
	}
	hc, err := transport.New(baseURL, o.Options, transport.Backend{
		Name: "harbor", Example: "https://harbor.example.com", CredentialOptions: "WithBasicAuth",
	})
	if err != nil {
		return nil, err
	}
	return &Client{http: hc, username: o.Username, token: o.Token, robotPrefix: o.robotPrefix, pageSize: o.pageSize}, nil
}

// BaseURL returns Harbor's base URL.
func (c *Client) BaseURL() string { return c.http.Base.String() }

// anonymous reports a client without credentials.
func (c *Client) anonymous() bool { return c.username == "" && c.token == "" }

// get sends GET path?query (path escaped, below the base URL) and reads
// the answer.
func (c *Client) get(ctx context.Context, path, query string, header http.Header) (*transport.Reply, error) {
	base := c.http.Base
	u := *base
	u.Path, _ = url.PathUnescape(base.EscapedPath() + path)
	u.RawPath = base.EscapedPath() + path
	u.RawQuery = query
	h := http.Header{"Accept": {"application/json"}}
	for k, v := range header {
		h[k] = v
	}
	return c.http.Do(ctx, transport.Request{Method: http.MethodGet, URL: &u, Header: h})
}

// fail turns a non-2xx answer into an *Error: Harbor's error code and
// message ({"errors":[…]}), and the sentinel they mean.
func fail(rep *transport.Reply) *Error {
	code, msg := transport.DescribeErrors(rep.Body)
	return rep.Error(transport.RegistryKind(rep.Status, code, "TOO_MANY_REQUEST"), code, rep.Scrub(msg))
}

// projectPath escapes a project name as one path segment.
func projectPath(project string) (string, error) {
	if project == "" || strings.Contains(project, "/") || project == "." || project == ".." {
		return "", fmt.Errorf("harbor: invalid project name %q: %w", project, quaymirror.ErrInvalid)
	}
	return url.PathEscape(project), nil
}

// repositoryPath escapes a repository name (without its project) as
// Harbor's API wants it in a path: encoded twice, "a/b" as "a%252Fb".
func repositoryPath(name string) (string, error) {
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("harbor: invalid repository name %q: %w", name, quaymirror.ErrInvalid)
		}
	}
	return url.PathEscape(url.PathEscape(name)), nil
}
