package quay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	token    quaymirror.Secret
	hc       *http.Client
	retry    *transport.Retry
	logger   hclog.Logger
	maxBody  int64
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
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("quay: %w", err)
		}
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("quay: %w", err)
	}
	base, err := parseBaseURL(baseURL, o.allowInsecureHTTP)
	if err != nil {
		return nil, err
	}

	rt := o.transport
	if rt == nil {
		t, err := NewTransport(TransportOptions{CABundle: o.caBundle, InsecureSkipVerify: o.insecureSkipVerify})
		if err != nil {
			return nil, err
		}
		rt = t
	}
	logger := o.logger.Named("quay")
	token := []string{o.token.Reveal()}
	rt = &transport.Limit{Next: rt, Max: o.maxBody}
	rt = &transport.UserAgent{Next: rt, Value: transport.DefaultUserAgent(o.userAgent)}
	rt = &transport.Credentials{Next: rt, Origin: base, Authorization: transport.Bearer(o.token)}
	rt = &transport.Log{Next: rt, Logger: logger, Name: "quay", Redact: token}
	retry := &transport.Retry{
		Next: rt, MaxRetries: o.maxRetries, Base: o.retryBase, Max: o.retryMax, Timeout: o.timeout,
		Permanent: readOnlyAnswer, Logger: logger, Name: "quay", Redact: token, Sleep: o.retrySleep,
	}

	c := &Client{
		base:     base,
		token:    o.token,
		hc:       &http.Client{Transport: retry, CheckRedirect: transport.CheckRedirect(o.allowInsecureHTTP)},
		retry:    retry,
		logger:   logger,
		maxBody:  o.maxBody,
		now:      time.Now,
		resolver: o.resolver,
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	c.disc.init()
	c.cfg.init()
	return c, nil
}

func parseBaseURL(raw string, allowInsecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Parse quotes the input, which may hold credentials.
		return nil, errors.New("quay: invalid base URL")
	}
	switch {
	case u.Scheme == "" || u.Host == "":
		return nil, fmt.Errorf("quay: base URL %s needs a scheme and a host, e.g. https://quay.example.com", transport.CleanURL(u))
	case u.User != nil:
		return nil, errors.New("quay: the base URL must not hold credentials; use WithToken")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("quay: base URL %s must not have a query or a fragment", transport.CleanURL(u))
	}
	if err := transport.CheckScheme(u, allowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("quay: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
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

// response is a 2xx answer, read in full.
type response struct {
	status int
	body   []byte
	url    string
	method string
	// secrets are scrubbed from the messages of decoding errors, which
	// may quote the answer.
	secrets []string
}

// errorBodyLimit bounds what is read of an error answer.
const errorBodyLimit = 64 << 10

// do sends r and returns its 2xx answer, or an *Error.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
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
	e := &Error{Method: r.method, URL: transport.CleanURL(&u)}

	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			e.Message, e.Err, e.kind = "cannot encode the request body", err, quaymirror.ErrInvalid
			return nil, e
		}
		body = bytes.NewReader(b)
	}
	secrets := append([]string{c.token.Reveal()}, r.secrets...)
	rec := &transport.Record{Secrets: secrets}
	req, err := http.NewRequestWithContext(transport.WithRecord(ctx, rec), r.method, u.String(), body)
	if err != nil {
		e.Message, e.kind = "cannot build the request", quaymirror.ErrInvalid
		return nil, e
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.hc.Do(req)
	e.Attempts, e.ambiguous = rec.Attempts, rec.Ambiguous
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			e.Err = ctxErr
			return nil, e
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.Err = err
		e.Message = transport.Scrub(err.Error(), secrets...)
		e.kind = quaymirror.ErrUnavailable
		return nil, e
	}
	defer resp.Body.Close()
	e.Status = resp.StatusCode

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		e.Message = transport.Scrub(errorMessage(resp.StatusCode, resp.Header.Get("Content-Type"), raw), secrets...)
		e.kind = kindFor(resp.StatusCode, e.Message)
		if resp.StatusCode == http.StatusServiceUnavailable && isReadOnlyBody(raw) {
			e.kind = quaymirror.ErrReadOnly
		}
		return nil, e
	}

	raw, err := io.ReadAll(resp.Body) // capped by the stack's Limit
	switch {
	case err != nil && ctx.Err() != nil:
		e.Err = ctx.Err()
		return nil, e
	case errors.Is(err, transport.ErrTooLarge):
		e.Message = fmt.Sprintf("answer larger than %d bytes", c.maxBody)
		e.kind = quaymirror.ErrBadResponse
		return nil, e
	case err != nil:
		e.Err = err
		e.Message = "reading the answer: " + transport.Scrub(err.Error(), secrets...)
		e.kind = quaymirror.ErrUnavailable
		if errors.Is(err, io.ErrUnexpectedEOF) {
			e.Message = "truncated answer: " + transport.Scrub(err.Error(), secrets...)
			e.kind = quaymirror.ErrBadResponse
		}
		return nil, e
	}
	return &response{status: resp.StatusCode, body: raw, url: e.URL, method: r.method, secrets: secrets}, nil
}

// decode unmarshals a JSON answer into v. An empty body, invalid or
// truncated JSON, or JSON of another shape is an *Error wrapping
// ErrBadResponse.
func (r *response) decode(v any) error {
	bad := func(msg string, err error) error {
		return &Error{Method: r.method, URL: r.url, Status: r.status, Message: transport.Scrub(msg, r.secrets...), Err: err, kind: quaymirror.ErrBadResponse}
	}
	if len(bytes.TrimSpace(r.body)) == 0 {
		return bad("empty answer where JSON was expected", nil)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return bad("invalid JSON answer: "+err.Error(), err)
	}
	return nil
}

// badResponse reports an answer that decodes but makes no sense. The
// message may quote the answer: it is scrubbed and bounded.
func (r *response) badResponse(format string, args ...any) error {
	return &Error{Method: r.method, URL: r.url, Status: r.status, Message: transport.Scrub(fmt.Sprintf(format, args...), r.secrets...), kind: quaymirror.ErrBadResponse}
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
	return errors.As(err, &qe) && qe.ambiguous && errors.Is(qe.kind, quaymirror.ErrAlreadyExists)
}
