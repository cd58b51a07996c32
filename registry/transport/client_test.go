package transport

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// testCA returns the PEM certificate of a TLS test server.
func testCA(t *testing.T) []byte {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestOptionsApplied(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	sleep := Sleep(func(context.Context, time.Duration) error { return nil })
	logger := hclog.NewNullLogger()
	rt := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("unused") })
	for _, tc := range []struct {
		name  string
		opt   Option
		check func(Options) bool
	}{
		{"basic auth", WithBasicAuth("robot$p+m", "pw"), func(o Options) bool { return o.Username == "robot$p+m" && o.Password == "pw" }},
		{"token", WithToken("tok"), func(o Options) bool { return o.Token == "tok" }},
		{"CA bundle", WithCABundle(ca), func(o Options) bool { return bytes.Contains(o.CABundle, ca) }},
		{"CA file", WithCAFile(caFile), func(o Options) bool { return bytes.Contains(o.CABundle, ca) }},
		{"insecure skip verify", WithInsecureSkipVerify(), func(o Options) bool { return o.InsecureSkipVerify }},
		{"insecure http", WithAllowInsecureHTTP(), func(o Options) bool { return o.AllowInsecureHTTP }},
		{"retry", WithRetry(3, time.Second, time.Minute), func(o Options) bool {
			return o.MaxRetries == 3 && o.RetryBase == time.Second && o.RetryMax == time.Minute
		}},
		{"no retries", WithRetry(0, time.Second, time.Second), func(o Options) bool { return o.MaxRetries == 0 }},
		{"retry sleep", WithRetrySleep(sleep), func(o Options) bool { return o.RetrySleep != nil }},
		{"timeout", WithTimeout(time.Second), func(o Options) bool { return o.Timeout == time.Second }},
		{"body cap", WithMaxBodySize(10), func(o Options) bool { return o.MaxBody == 10 }},
		{"logger", WithLogger(logger), func(o Options) bool { return o.Logger == logger }},
		{"user agent", WithUserAgent("  op/1.2 "), func(o Options) bool { return o.UserAgent == "op/1.2" }},
		{"transport", WithTransport(rt), func(o Options) bool { return o.Transport != nil }},
	} {
		o := DefaultOptions()
		if err := tc.opt(&o); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(o) {
			t.Errorf("%s: not applied: %+v", tc.name, o)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"empty user":               WithBasicAuth("", "pw"),
		"empty password":           WithBasicAuth("u", ""),
		"colon in user":            WithBasicAuth("a:b", "pw"),
		"space in user":            WithBasicAuth("a b", "pw"),
		"line break in password":   WithBasicAuth("u", "p\nw"),
		"empty token":              WithToken(""),
		"token with space":         WithToken("a b"),
		"token with DEL":           WithToken("a\x7f"),
		"no certificate":           WithCABundle([]byte("not PEM")),
		"empty CA file":            WithCAFile(""),
		"missing CA file":          WithCAFile("/nonexistent/ca.pem"),
		"negative retries":         WithRetry(-1, time.Second, time.Second),
		"too many retries":         WithRetry(101, time.Second, time.Second),
		"zero base":                WithRetry(1, 0, time.Second),
		"max below base":           WithRetry(1, time.Second, time.Millisecond),
		"nil sleep":                WithRetrySleep(nil),
		"zero timeout":             WithTimeout(0),
		"zero body cap":            WithMaxBodySize(0),
		"nil logger":               WithLogger(nil),
		"empty user agent":         WithUserAgent(" "),
		"user agent, line break":   WithUserAgent("a\r\nX-Evil: 1"),
		"nil transport":            WithTransport(nil),
		"colon, password unquoted": WithBasicAuth("u:", "hunter2-secret"),
	} {
		o := DefaultOptions()
		err := opt(&o)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("%s: the error quotes the password: %v", name, err)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	rt := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("unused") })
	for _, tc := range []struct {
		name string
		opts []Option
		ok   bool
	}{
		{"defaults", nil, true},
		{"token and basic", []Option{WithToken("t"), WithBasicAuth("u", "p")}, false},
		{"transport and CA", []Option{WithTransport(rt), WithCABundle(ca)}, false},
		{"transport and skip verify", []Option{WithTransport(rt), WithInsecureSkipVerify()}, false},
		{"skip verify and CA", []Option{WithInsecureSkipVerify(), WithCABundle(ca)}, false},
		{"transport and token", []Option{WithTransport(rt), WithToken("t")}, true},
	} {
		o := DefaultOptions()
		for _, opt := range tc.opts {
			if err := opt(&o); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		if err := o.Check(); (err == nil) != tc.ok {
			t.Errorf("%s: Check() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

var testBackend = Backend{Name: "demo", Example: "https://demo.example.com", CredentialOptions: "WithToken"}

func TestNewBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, wantErr string
	}{
		{"https://Registry.Example.com/prefix/", "https://Registry.Example.com/prefix", ""},
		{" HTTPS://r.example.com ", "https://r.example.com", ""},
		{"http://127.0.0.1:5000/", "http://127.0.0.1:5000", ""},
		{"r.example.com", "", "demo: base URL r.example.com needs a scheme and a host, e.g. https://demo.example.com"},
		{"https://u:s3cret-pass@r.example.com", "", "demo: the base URL must not hold credentials; use WithToken"},
		{"https://r.example.com/?page=2", "", "demo: base URL https://r.example.com/?page=xxxxx must not have a query or a fragment"},
		{"https://r.example.com/#x", "", "must not have a query or a fragment"},
		{"http://r.example.com", "", "plain http to r.example.com is refused"},
		{"ftp://r.example.com", "", "unsupported URL scheme"},
		{"https://r.example.com/%zz", "", "demo: invalid base URL"},
	} {
		c, err := New(tc.in, DefaultOptions(), testBackend)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("New(%q): %v", tc.in, err)
		case tc.wantErr == "" && c.Base.String() != tc.want:
			t.Errorf("New(%q).Base = %s, want %s", tc.in, c.Base, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("New(%q) = %v, want an error with %q", tc.in, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "s3cret-pass"):
			t.Errorf("New(%q) quotes the password: %v", tc.in, err)
		}
	}
	o := DefaultOptions()
	o.AllowInsecureHTTP = true
	if _, err := New("http://r.example.com", o, testBackend); err != nil {
		t.Errorf("plain http allowed: %v", err)
	}
	o = DefaultOptions()
	o.Token, o.Username = "t", "u"
	if _, err := New("https://r.example.com", o, testBackend); err == nil || !strings.HasPrefix(err.Error(), "demo: ") {
		t.Errorf("excluding options: %v, want an error named after the backend", err)
	}
}

// seenServer records the Authorization and User-Agent of each request and
// answers with handle.
func seenServer(t *testing.T, handle http.HandlerFunc) (*httptest.Server, func() []http.Header) {
	t.Helper()
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

func TestNewStack(t *testing.T) {
	t.Parallel()
	srv, seen := seenServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{}") })
	for _, tc := range []struct {
		name  string
		opt   Option
		own   bool
		authz string
	}{
		{"anonymous", nil, false, ""},
		{"token", WithToken("tok-123"), false, "Bearer tok-123"},
		{"basic", WithBasicAuth("u", "pw"), false, "Basic dTpwdw=="},
		{"own authorization", WithBasicAuth("u", "pw"), true, ""},
	} {
		o := DefaultOptions()
		if tc.opt != nil {
			if err := tc.opt(&o); err != nil {
				t.Fatal(err)
			}
		}
		if err := WithUserAgent("op/1")(&o); err != nil {
			t.Fatal(err)
		}
		b := testBackend
		b.OwnAuthorization = tc.own
		c, err := New(srv.URL, o, b)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(srv.URL + "/v2/")
		rep, err := c.Do(t.Context(), Request{Method: http.MethodGet, URL: u})
		if err != nil || !rep.OK() || string(rep.Body) != "{}" {
			t.Fatalf("%s: %+v, %v", tc.name, rep, err)
		}
		h := seen()[len(seen())-1]
		if got := h.Get("Authorization"); got != tc.authz {
			t.Errorf("%s: Authorization %q, want %q", tc.name, got, tc.authz)
		}
		if got := h.Get("User-Agent"); !strings.HasPrefix(got, "op/1 quaymirror/") {
			t.Errorf("%s: User-Agent %q", tc.name, got)
		}
	}
}

func TestDo(t *testing.T) {
	t.Parallel()
	const password = "pw-0123456789"
	srv, _ := seenServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Link", `</ok?page=2>; rel="next"`)
			fmt.Fprint(w, `{"a":1}`)
		case "/echo":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"bad password %s"}]}`, password)
		case "/large":
			fmt.Fprint(w, strings.Repeat("x", 300))
		case "/truncated":
			w.Header().Set("Content-Length", "150")
			fmt.Fprint(w, "short")
		case "/unavailable":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/head":
			w.Header().Set("Docker-Content-Digest", "sha256:x")
		case "/leave":
			w.Header().Set("Link", `<https://elsewhere.example.com/ok?page=2>; rel="next"`)
			fmt.Fprint(w, `{}`)
		}
	})
	o := DefaultOptions()
	o.MaxBody, o.MaxRetries = 200, 2
	o.RetrySleep = func(context.Context, time.Duration) error { return nil }
	if err := WithBasicAuth("user", password)(&o); err != nil {
		t.Fatal(err)
	}
	c, err := New(srv.URL, o, testBackend)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (*Reply, error) {
		u, _ := url.Parse(srv.URL + path)
		return c.Do(t.Context(), Request{Method: http.MethodGet, URL: u})
	}

	rep, err := get("/ok")
	if err != nil || !rep.OK() {
		t.Fatalf("/ok: %v", err)
	}
	var v struct{ A int }
	if err := rep.Decode(&v); err != nil || v.A != 1 {
		t.Errorf("Decode: %+v, %v", v, err)
	}
	if next, err := rep.NextQuery(); err != nil || next != "page=2" {
		t.Errorf("NextQuery = %q, %v, want page=2", next, err)
	}
	if err := rep.Decode(&[]int{}); !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Errorf("Decode into another shape: %v, want ErrBadResponse", err)
	}

	rep, err = get("/leave")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rep.NextQuery(); !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Errorf("a next page on another host: %v, want ErrBadResponse", err)
	}

	rep, err = get("/echo")
	if err != nil || rep.OK() || rep.Status != http.StatusBadRequest {
		t.Fatalf("/echo: %+v, %v", rep, err)
	}
	code, msg := DescribeErrors(rep.Body)
	e := rep.Error(RegistryKind(rep.Status, code, "TOOMANYREQUESTS"), code, rep.Scrub(msg))
	if want := "demo: GET " + srv.URL + "/echo: 400 Bad Request DENIED: bad password [redacted]"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, quaymirror.ErrInvalid) {
		t.Errorf("%v does not unwrap to ErrInvalid", e)
	}
	if e := rep.Bad("quoting %s", password); strings.Contains(e.Error(), password) || !errors.Is(e, quaymirror.ErrBadResponse) {
		t.Errorf("Bad = %v, want ErrBadResponse without the password", e)
	}

	rep, err = get("/unavailable")
	if err != nil || rep.Status != http.StatusServiceUnavailable || rep.Attempts != 3 {
		t.Errorf("/unavailable: %+v, %v, want the 503 after 3 attempts", rep, err)
	}

	u, _ := url.Parse(srv.URL + "/head")
	if rep, err := c.Do(t.Context(), Request{Method: http.MethodHead, URL: u}); err != nil || rep.Header.Get("Docker-Content-Digest") != "sha256:x" {
		t.Errorf("HEAD: %+v, %v", rep, err)
	}

	for path, want := range map[string]error{"/large": quaymirror.ErrBadResponse, "/truncated": quaymirror.ErrBadResponse} {
		_, err := get(path)
		var te *Error
		if !errors.As(err, &te) || !errors.Is(err, want) || te.Status != http.StatusOK || te.Backend != "demo" {
			t.Errorf("%s: %v, want a demo *Error with status 200 wrapping %v", path, err, want)
		}
	}

	srv.Close()
	_, err = get("/ok")
	if !errors.Is(err, quaymirror.ErrUnavailable) {
		t.Errorf("a closed server: %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	u, _ = url.Parse(srv.URL + "/ok")
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, URL: u}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v, want context.Canceled", err)
	}
}

func TestStatusKind(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]error{
		400: quaymirror.ErrInvalid,
		401: quaymirror.ErrUnauthorized,
		402: quaymirror.ErrInvalid,
		403: quaymirror.ErrForbidden,
		404: quaymirror.ErrNotFound,
		405: quaymirror.ErrInvalid,
		409: quaymirror.ErrAlreadyExists,
		412: quaymirror.ErrInvalid,
		429: quaymirror.ErrRateLimited,
		500: quaymirror.ErrUnavailable,
		502: quaymirror.ErrUnavailable,
		503: quaymirror.ErrUnavailable,
		200: quaymirror.ErrBadResponse,
		302: quaymirror.ErrBadResponse,
	} {
		if got := StatusKind(status); got != want {
			t.Errorf("StatusKind(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestRegistryKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		code   string
		want   error
	}{
		{401, "UNAUTHORIZED", quaymirror.ErrUnauthorized},
		{401, "UNSUPPORTED", quaymirror.ErrUnauthorized}, // the status says it all
		{403, "DENIED", quaymirror.ErrForbidden},
		{404, "NAME_UNKNOWN", quaymirror.ErrNotFound},
		{429, "", quaymirror.ErrRateLimited},
		{429, "UNSUPPORTED", quaymirror.ErrRateLimited},
		{400, "TOOMANYREQUESTS", quaymirror.ErrRateLimited},
		{400, "TOO_MANY_REQUEST", quaymirror.ErrInvalid}, // another API's spelling
		{400, "UNSUPPORTED", quaymirror.ErrUnsupported},
		{405, "", quaymirror.ErrUnsupported},
		{409, "", quaymirror.ErrAlreadyExists},
		{400, "", quaymirror.ErrInvalid},
		{500, "", quaymirror.ErrUnavailable},
		{200, "", quaymirror.ErrBadResponse},
	} {
		if got := RegistryKind(tc.status, tc.code, "TOOMANYREQUESTS"); got != tc.want {
			t.Errorf("RegistryKind(%d, %q) = %v, want %v", tc.status, tc.code, got, tc.want)
		}
	}
	if got := RegistryKind(400, "", ""); got != quaymirror.ErrInvalid {
		t.Errorf("no rate-limit code: a 400 without code is %v, want ErrInvalid", got)
	}
}

func TestDescribeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, code, msg string
	}{
		{`{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`, "NAME_UNKNOWN", "repository name not known to registry"},
		{`{"errors":[{"code":"A","message":"first"},{"code":"B","message":"second"},{"code":"C"}]}`, "A", "first (and 2 more errors)"},
		{`{"errors":[]}`, "", `{"errors":[]}`},
		{"<html><body>502 Bad Gateway</body></html>", "", "an HTML page (a proxy's?) instead of the registry's answer"},
		{"  \n", "", ""},
		{"plain text", "", "plain text"},
		{strings.Repeat("y", 300), "", strings.Repeat("y", 200) + "…"},
	} {
		code, msg := DescribeErrors([]byte(tc.body))
		if code != tc.code || msg != tc.msg {
			t.Errorf("DescribeErrors(%.40q) = %q, %q, want %q, %q", tc.body, code, msg, tc.code, tc.msg)
		}
	}
}

func TestErrorStringAndUnwrap(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp: refused")
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{Backend: "oci", Method: "GET", URL: "https://r.test/v2/", Status: 401, Code: "UNAUTHORIZED", Message: "auth", Attempts: 1, Kind: quaymirror.ErrUnauthorized},
			"oci: GET https://r.test/v2/: 401 Unauthorized UNAUTHORIZED: auth"},
		{&Error{Backend: "quay", Method: "PUT", URL: "https://q.test/x", Status: 599, Attempts: 3, Kind: quaymirror.ErrUnavailable},
			"quay: PUT https://q.test/x: 599 (after 3 attempts)"},
		{&Error{Backend: "harbor", Method: "GET", URL: "https://h.test/", Err: cause, Kind: quaymirror.ErrUnavailable},
			"harbor: GET https://h.test/: dial tcp: refused"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.e, tc.e.Kind) || errors.Is(tc.e, quaymirror.ErrNotFound) {
			t.Errorf("%v: Unwrap = %v", tc.e, tc.e.Unwrap())
		}
	}
	e := &Error{Err: cause, Kind: quaymirror.ErrUnavailable}
	if !errors.Is(e, cause) {
		t.Errorf("%v does not unwrap to its cause", e)
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{`</v2/_catalog?last=b&n=2>; rel="next"`}, "/v2/_catalog?last=b&n=2"},
		{[]string{`</api?page=1>; rel="prev" , </api?page=3>; rel="next"`}, "/api?page=3"},
		{[]string{`</a>; rel="prev"`, `</b>; rel=next`}, "/b"},
		{[]string{`</a>; rel="prev"`}, ""},
		{nil, ""},
	} {
		if got := NextLink(tc.in); got != tc.want {
			t.Errorf("NextLink(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
