package harbor

import (
	"context"
	"encoding/json"
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
	base        *url.URL // scheme, host and optional path prefix, no trailing slash
	username    string
	password    quaymirror.Secret
	token       quaymirror.Secret
	robotPrefix string
	hc          *http.Client
	logger      hclog.Logger
	maxBody     int64
	pageSize    int
}

// New returns a client for the Harbor at baseURL, e.g.
// "https://harbor.example.com" (a path prefix is kept). It does no I/O.
// It fails on an invalid option, on a base URL with credentials, a query
// or a fragment, and on plain http to a host that is not loopback unless
// WithAllowInsecureHTTP is given.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("harbor: %w", err)
		}
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("harbor: %w", err)
	}
	base, err := parseBaseURL(baseURL, o.allowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	rt := o.transport
	if rt == nil {
		t, err := transport.NewBase(transport.BaseOptions{CABundle: o.caBundle, InsecureSkipVerify: o.insecureSkipVerify})
		if err != nil {
			return nil, fmt.Errorf("harbor: %w", err)
		}
		rt = t
	}
	authz := transport.Bearer(o.token)
	if o.username != "" {
		authz = transport.Basic(o.username, o.password)
	}
	logger := o.logger.Named("harbor")
	static := []string{o.password.Reveal(), o.token.Reveal(), strings.TrimPrefix(authz.Reveal(), "Basic ")}
	rt = &transport.Limit{Next: rt, Max: o.maxBody}
	rt = &transport.UserAgent{Next: rt, Value: transport.DefaultUserAgent(o.userAgent)}
	rt = &transport.Credentials{Next: rt, Origin: base, Authorization: authz}
	rt = &transport.Log{Next: rt, Logger: logger, Name: "harbor", Redact: static}
	rt = &transport.Retry{
		Next: rt, MaxRetries: o.maxRetries, Base: o.retryBase, Max: o.retryMax, Timeout: o.timeout,
		Logger: logger, Name: "harbor", Redact: static, Sleep: o.retrySleep,
	}
	return &Client{
		base:        base,
		username:    o.username,
		password:    o.password,
		token:       o.token,
		robotPrefix: o.robotPrefix,
		hc:          &http.Client{Transport: rt, CheckRedirect: transport.CheckRedirect(o.allowInsecureHTTP)},
		logger:      logger,
		maxBody:     o.maxBody,
		pageSize:    o.pageSize,
	}, nil
}

func parseBaseURL(raw string, allowInsecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("harbor: invalid base URL")
	}
	switch {
	case u.Scheme == "" || u.Host == "":
		return nil, fmt.Errorf("harbor: base URL %s needs a scheme and a host, e.g. https://harbor.example.com", transport.CleanURL(u))
	case u.User != nil:
		return nil, errors.New("harbor: the base URL must not hold credentials; use WithBasicAuth")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("harbor: base URL %s must not have a query or a fragment", transport.CleanURL(u))
	}
	if err := transport.CheckScheme(u, allowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("harbor: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// BaseURL returns Harbor's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// reply is an answer: a 2xx with its body, or another status with up to
// errorBodyLimit of its body.
type reply struct {
	status   int
	header   http.Header
	body     []byte
	url      *url.URL
	method   string
	attempts int
}

const errorBodyLimit = 64 << 10

// get sends GET path?query (path escaped, below the base URL) and reads
// the answer.
func (c *Client) get(ctx context.Context, path, query string, header http.Header) (*reply, error) {
	u := *c.base
	u.Path, _ = url.PathUnescape(c.base.EscapedPath() + path)
	u.RawPath = c.base.EscapedPath() + path
	u.RawQuery = query
	secrets := []string{c.password.Reveal(), c.token.Reveal()}
	e := &Error{Method: http.MethodGet, URL: transport.CleanURL(&u)}
	rec := &transport.Record{Secrets: secrets}
	req, err := http.NewRequestWithContext(transport.WithRecord(ctx, rec), http.MethodGet, u.String(), nil)
	if err != nil {
		e.Message, e.kind = "cannot build the request", quaymirror.ErrInvalid
		return nil, e
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
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
	return &reply{status: resp.StatusCode, header: resp.Header, body: raw, url: &u, method: http.MethodGet, attempts: rec.Attempts}, nil
}

func (rep *reply) ok() bool { return rep.status >= 200 && rep.status <= 299 }

// fail turns a non-2xx answer into an *Error.
func (rep *reply) fail(secrets ...string) *Error {
	code, msg := describe(rep.status, rep.body)
	e := &Error{Method: rep.method, URL: transport.CleanURL(rep.url), Status: rep.status, Code: code, Message: msg,
		Attempts: rep.attempts, kind: kindFor(rep.status, code)}
	return e.scrubbed(secrets)
}

// decode unmarshals a 2xx answer into v.
func (rep *reply) decode(v any) error {
	if err := json.Unmarshal(rep.body, v); err != nil {
		return &Error{Method: rep.method, URL: transport.CleanURL(rep.url), Status: rep.status,
			Message: "invalid JSON answer: " + err.Error(), Err: err, Attempts: rep.attempts, kind: quaymirror.ErrBadResponse}
	}
	return nil
}

// bad reports a 2xx answer that makes no sense.
func (rep *reply) bad(format string, args ...any) *Error {
	return &Error{Method: rep.method, URL: transport.CleanURL(rep.url), Status: rep.status,
		Message: fmt.Sprintf(format, args...), Attempts: rep.attempts, kind: quaymirror.ErrBadResponse}
}

// nextQuery returns the query of the Link header's next page, which must
// stay on the same origin and path, or "".
func (rep *reply) nextQuery() (string, error) {
	link := nextLink(rep.header.Values("Link"))
	if link == "" {
		return "", nil
	}
	u, err := rep.url.Parse(link)
	if err != nil {
		return "", rep.bad("the Link header's next page is not a URL")
	}
	if u.Scheme != rep.url.Scheme || !strings.EqualFold(u.Host, rep.url.Host) || u.EscapedPath() != rep.url.EscapedPath() {
		return "", rep.bad("the Link header's next page leaves %s", rep.url.EscapedPath())
	}
	return u.RawQuery, nil
}

// nextLink returns the URL of the rel="next" link of Link headers (RFC
// 8288; Harbor separates links with " , "), or "".
func nextLink(values []string) string {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			end := strings.IndexByte(part, '>')
			if !strings.HasPrefix(part, "<") || end < 0 {
				continue
			}
			for param := range strings.SplitSeq(part[end+1:], ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") && strings.EqualFold(strings.Trim(val, `" `), "next") {
					return part[1:end]
				}
			}
		}
	}
	return ""
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
