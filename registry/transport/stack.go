package transport

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// UserAgent sets the User-Agent of every request to Value.
type UserAgent struct {
	Next  http.RoundTripper
	Value string
}

// DefaultUserAgent is quaymirror's User-Agent: "quaymirror/" and the
// version of the quaymirror module linked (quaymirror.Version), after the
// caller's product tokens, if any (e.g. "my-operator/1.2").
func DefaultUserAgent(product string) string {
	ua := "quaymirror/" + quaymirror.Version() + " (+https://github.com/quaymirror/quaymirror)"
	if product != "" {
		ua = product + " " + ua
	}
	return ua
}

// RoundTrip implements http.RoundTripper; the caller's request is not
// modified.
func (t *UserAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.Value)
	return t.Next.RoundTrip(r)
}

// Credentials adds an Authorization header to the requests for Origin
// (scheme, host and port of the registry) and to no other: a request
// redirected to another host never carries it, not even one the caller
// set itself. An empty Authorization sends none.
type Credentials struct {
	Next   http.RoundTripper
	Origin *url.URL
	// Authorization is the header's value: Bearer(token), Basic(user,
	// password).
	Authorization quaymirror.Secret
}

// Bearer is the Authorization value of a bearer token ("" for none).
func Bearer(token quaymirror.Secret) quaymirror.Secret {
	if token == "" {
		return ""
	}
	return "Bearer " + quaymirror.Secret(token.Reveal())
}

// Basic is the Authorization value of a user name and password.
func Basic(user string, password quaymirror.Secret) quaymirror.Secret {
	return quaymirror.Secret("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password.Reveal())))
}

// RoundTrip implements http.RoundTripper.
func (t *Credentials) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Authorization == "" || !SameOrigin(req.URL, t.Origin) {
		if req.Header.Get("Authorization") != "" {
			// Never let a caller-set credential leave for another host.
			r := req.Clone(req.Context())
			r.Header.Del("Authorization")
			return t.Next.RoundTrip(r)
		}
		return t.Next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", t.Authorization.Reveal())
	return t.Next.RoundTrip(r)
}

// Log logs every attempt at Debug on Logger: method, cleaned URL, status
// or error, duration and attempt number, as "<Name> request" (or
// "<Name> request failed"). It never logs headers or bodies, and redacts
// Redact and the request's secrets (see Record) from errors, which may
// quote what the server sent.
type Log struct {
	Next   http.RoundTripper
	Logger hclog.Logger
	Name   string
	Redact []string
	// Now is the clock of the durations (nil: time.Now).
	Now func() time.Time
}

// RoundTrip implements http.RoundTripper.
func (t *Log) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Logger == nil || !t.Logger.IsDebug() {
		return t.Next.RoundTrip(req)
	}
	now := t.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	resp, err := t.Next.RoundTrip(req)
	args := []any{"method", req.Method, "url", CleanURL(req.URL), "attempt", attemptFrom(req.Context()), "duration", now().Sub(start)}
	if err != nil {
		t.Logger.Debug(t.Name+" request failed", append(args, "error", redact(req.Context(), t.Redact, err.Error()))...)
		return resp, err
	}
	t.Logger.Debug(t.Name+" request", append(args, "status", resp.StatusCode)...)
	return resp, nil
}

// ErrTooLarge is what reading a response body larger than Limit's cap
// fails with.
var ErrTooLarge = errors.New("response body too large")

// Limit caps response bodies at Max bytes: reading past it fails with
// ErrTooLarge, and what lies beyond is never read.
type Limit struct {
	Next http.RoundTripper
	Max  int64
}

// RoundTrip implements http.RoundTripper.
func (t *Limit) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.Next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.Max}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), ErrTooLarge // the byte past the cap is dropped
	}
	return n, err
}

// Record is where the stack notes what happened to one request, carried by
// the request's context (WithRecord). The caller sets Secrets (a password
// in the body, say), which every layer redacts from what it logs; Retry
// sets Attempts and Ambiguous.
type Record struct {
	// Attempts is how many times the request was sent.
	Attempts int
	// Ambiguous reports that an attempt that was then retried may have
	// reached the server (a failure after the connection was made, a 502
	// or a 504): a create that then answers "already exists" may have
	// been this request's own earlier attempt.
	Ambiguous bool
	Secrets   []string
}

type recordKey struct{}

// WithRecord returns a copy of ctx carrying rec.
func WithRecord(ctx context.Context, rec *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

func recordFrom(ctx context.Context) *Record {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// redact removes static and the secrets of ctx's request from msg, a
// message that may quote the server.
func redact(ctx context.Context, static []string, msg string) string {
	secrets := static
	if rec := recordFrom(ctx); rec != nil {
		secrets = append(secrets[:len(secrets):len(secrets)], rec.Secrets...)
	}
	return Scrub(msg, secrets...)
}

type attemptKey struct{}

func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// attemptFrom returns the attempt number Retry set, 1 when there is none.
func attemptFrom(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}
