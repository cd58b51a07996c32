package quay

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// The RoundTrippers alone, then New's checks and the TLS and redirect
// behaviour over httptest servers on 127.0.0.1. All parallel: no gock.

func TestNewChecksTheBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url   string
		opts  []Option
		valid bool
	}{
		{"https://quay.example.com", nil, true},
		{"https://quay.example.com/prefix/", nil, true},
		{"http://127.0.0.1:8080", nil, true},
		{"http://127.8.9.10", nil, true},
		{"http://[::1]:8080", nil, true},
		{"http://localhost:8080", nil, true},
		{"http://LOCALHOST", nil, true},
		{"http://quay.example.com", nil, false},
		{"http://10.0.0.1", nil, false},
		{"http://localhost.example.com", nil, false},
		{"http://quay.example.com", []Option{WithAllowInsecureHTTP()}, true},
		{"ftp://quay.example.com", nil, false},
		{"quay.example.com", nil, false},
		{"https://", nil, false},
		{"https://quay.example.com/?x=1", nil, false},
		{"https://quay.example.com/#frag", nil, false},
		{"https://user:" + testPassword + "@quay.example.com", nil, false},
		{"https://quay.example.com/%zz", nil, false},
	} {
		c, err := New(tc.url, tc.opts...)
		if (err == nil) != tc.valid {
			t.Errorf("New(%q) err = %v, want valid=%v", tc.url, err, tc.valid)
		}
		if err != nil && strings.Contains(err.Error(), testPassword) {
			t.Errorf("New(%q) error leaks the password: %v", tc.url, err)
		}
		if c != nil && strings.HasSuffix(c.BaseURL(), "/") {
			t.Errorf("BaseURL = %q keeps a trailing slash", c.BaseURL())
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	goodPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for name, opts := range map[string][]Option{
		"empty token":                {WithToken("")},
		"token with newline":         {WithToken("abc\ndef")},
		"invalid PEM":                {WithCABundle([]byte("hello"))},
		"PEM that does not parse":    {WithCABundle([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))},
		"CA file with junk":          {WithCAFile(junk)},
		"missing CA file":            {WithCAFile(filepath.Join(dir, "missing.pem"))},
		"transport and CA":           {WithTransport(http.DefaultTransport), WithCABundle(goodPEM)},
		"transport and skip verify":  {WithTransport(http.DefaultTransport), WithInsecureSkipVerify()},
		"skip verify and CA":         {WithInsecureSkipVerify(), WithCABundle(goodPEM)},
		"negative retries":           {WithRetry(-1, time.Second, time.Second)},
		"zero base":                  {WithRetry(1, 0, time.Second)},
		"max below base":             {WithRetry(1, time.Second, time.Millisecond)},
		"nil retry sleep":            {WithRetrySleep(nil)},
		"zero timeout":               {WithTimeout(0)},
		"zero body size":             {WithMaxBodySize(0)},
		"nil logger":                 {WithLogger(nil)},
		"nil transport":              {WithTransport(nil)},
		"empty user agent":           {WithUserAgent(" ")},
		"user agent with line break": {WithUserAgent("a\r\nX-Evil: 1")},
	} {
		if _, err := New("https://quay.example.com", opts...); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := New("https://quay.example.com", WithToken(testToken), WithCABundle(goodPEM), WithRetry(0, time.Millisecond, time.Millisecond),
		WithTimeout(time.Second), WithMaxBodySize(1), WithLogger(hclog.NewNullLogger()), WithUserAgent("op/1")); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

// tlsServer answers GET /api/v1/user/ and records the Authorization and
// User-Agent headers it saw.
type recordingServer struct {
	*httptest.Server
	mu      sync.Mutex
	auth    []string
	ua      []string
	handler http.HandlerFunc
}

func newRecordingServer(t *testing.T, useTLS bool, h http.HandlerFunc) *recordingServer {
	s := &recordingServer{handler: h}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.ua = append(s.ua, r.Header.Get("User-Agent"))
		s.mu.Unlock()
		s.handler(w, r)
	})
	if useTLS {
		s.Server = httptest.NewTLSServer(wrapped)
	} else {
		s.Server = httptest.NewServer(wrapped)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *recordingServer) seen() (auth, ua []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...), append([]string(nil), s.ua...)
}

func userHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"username":"bot"}`))
}

func TestTLSVerification(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, true, userHandler)
	ctx := context.Background()

	// The test server's certificate is self-signed: refused, not retried.
	c, err := New(srv.URL, WithToken(testToken), WithRetry(3, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(ctx)
	var qe *Error
	if !errors.As(err, &qe) || !errors.Is(err, quaymirror.ErrUnavailable) || qe.Attempts != 1 {
		t.Fatalf("err = %v (%#v), want one failed attempt", err, qe)
	}
	if auth, _ := srv.seen(); len(auth) != 0 {
		t.Errorf("the server saw %d requests through a failed handshake", len(auth))
	}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]Option{"bundle": WithCABundle(caPEM), "file": WithCAFile(caFile), "skip verify": WithInsecureSkipVerify()} {
		c, err := New(srv.URL, WithToken(testToken), opt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if u, err := c.CurrentUser(ctx); err != nil || u.Username != "bot" {
			t.Errorf("%s: %v, %v", name, u, err)
		}
	}
	auth, ua := srv.seen()
	for i := range auth {
		if auth[i] != "Bearer "+testToken || ua[i] != transport.DefaultUserAgent("") {
			t.Errorf("request %d: Authorization %q, User-Agent %q", i, auth[i], ua[i])
		}
	}

	// A shared transport built by NewTransport works the same.
	base, err := NewTransport(TransportOptions{CABundle: caPEM})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"org-a-token", "org-b-token"} {
		c, err := New(srv.URL, WithToken(tok), WithTransport(base), WithUserAgent("op/1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CurrentUser(ctx); err != nil {
			t.Fatal(err)
		}
	}
	auth, ua = srv.seen()
	if got := auth[len(auth)-2:]; got[0] != "Bearer org-a-token" || got[1] != "Bearer org-b-token" {
		t.Errorf("shared transport: Authorization = %q", got)
	}
	if got := ua[len(ua)-1]; got != "op/1 "+transport.DefaultUserAgent("") {
		t.Errorf("User-Agent = %q", got)
	}
}

func TestNewTransportRefusesContradictions(t *testing.T) {
	t.Parallel()
	if _, err := NewTransport(TransportOptions{CABundle: []byte("x"), InsecureSkipVerify: true}); err == nil {
		t.Error("accepted a CA bundle with verification off")
	}
	if _, err := NewTransport(TransportOptions{CABundle: []byte("not pem")}); err == nil {
		t.Error("accepted an invalid CA bundle")
	}
	tr, err := NewTransport(TransportOptions{})
	if err != nil || tr.TLSClientConfig.InsecureSkipVerify || tr.Proxy == nil {
		t.Errorf("default transport: %+v, %v", tr, err)
	}
}

func TestRedirectToAnotherHostDropsTheToken(t *testing.T) {
	t.Parallel()
	other := newRecordingServer(t, false, userHandler)
	// Same IP, other port: another origin.
	origin := newRecordingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/user/" {
			http.Redirect(w, r, other.URL+"/api/v1/user/", http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, "/api/v1/user/", http.StatusFound)
	})
	c, err := New(origin.URL, WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	oAuth, _ := origin.seen()
	xAuth, xUA := other.seen()
	if len(oAuth) != 1 || oAuth[0] != "Bearer "+testToken {
		t.Errorf("origin saw Authorization %q", oAuth)
	}
	if len(xAuth) != 1 || xAuth[0] != "" {
		t.Errorf("the other host saw Authorization %q", xAuth)
	}
	if len(xUA) != 1 || xUA[0] != transport.DefaultUserAgent("") {
		t.Errorf("the other host saw User-Agent %q", xUA)
	}
}

func TestRedirectWithinTheOriginKeepsTheToken(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/user" {
			http.Redirect(w, r, "/api/v1/user/", http.StatusMovedPermanently)
			return
		}
		userHandler(w, r)
	})
	c, err := New(srv.URL, WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	// Reach the redirecting path through the client's own machinery.
	if _, err := c.do(context.Background(), request{method: "GET", path: "/user"}); err != nil {
		t.Fatal(err)
	}
	auth, _ := srv.seen()
	if len(auth) != 2 || auth[0] != "Bearer "+testToken || auth[1] != "Bearer "+testToken {
		t.Errorf("Authorization = %q", auth)
	}
}
