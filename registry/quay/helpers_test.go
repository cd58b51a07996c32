package quay

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2non/gock"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// The gock tests share gock's global mock store: none of them may call
// t.Parallel. Tests over httptest servers or stub transports may.

const (
	testBase     = "https://quay.test"
	testToken    = "tok-S3CRET-t0ken"
	testPassword = "pw-hunter2-S3CRET"
)

// seen is one request the client sent, as gock's observer saw it.
type seen struct {
	Method string
	Path   string // escaped
	Query  string // raw
	Header http.Header
	Body   []byte
}

// gockEnv is a gock-backed test registry: the client under test, the
// requests it sent and the waits its retry transport asked for.
type gockEnv struct {
	t      *testing.T
	c      *Client
	mu     sync.Mutex
	reqs   []seen
	sleeps []time.Duration
}

// refuseTransport fails every request: the fallback of the gock transport,
// so that a test that forgets a mock never reaches the network.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("test: no network")
}

// newGock returns a client whose base transport is gock, with a recording
// sleeper and an identity jitter (the waits are the backoff ceilings).
func newGock(t *testing.T, opts ...Option) *gockEnv {
	t.Helper()
	gock.Off()
	gock.CleanUnmatchedRequest()
	gock.Intercept()
	env := &gockEnv{t: t}
	gock.Observe(func(req *http.Request, _ gock.Mock) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		env.mu.Lock()
		env.reqs = append(env.reqs, seen{Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body})
		env.mu.Unlock()
	})
	t.Cleanup(func() {
		if !t.Failed() {
			if gock.HasUnmatchedRequest() {
				for _, r := range gock.GetUnmatchedRequests() {
					t.Errorf("unexpected request %s %s", r.Method, r.URL)
				}
			}
			for _, m := range gock.Pending() {
				t.Errorf("expected request not sent: %s %s", m.Request().Method, m.Request().URLStruct)
			}
		}
		gock.Observe(nil)
		gock.Off()
		gock.CleanUnmatchedRequest()
	})
	gt := gock.NewTransport()
	gt.Transport = refuseTransport{}
	all := append([]Option{WithToken(testToken), WithTransport(gt), WithRetry(3, 250*time.Millisecond, 15*time.Second)}, opts...)
	c, err := New(testBase, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		env.mu.Lock()
		env.sleeps = append(env.sleeps, d)
		env.mu.Unlock()
		return ctx.Err()
	}
	c.retry.Jitter = func(d time.Duration) time.Duration { return d }
	env.c = c
	return env
}

// on registers a mock for exactly method, escaped path and raw query (""
// for none). Unlike gock's own path and query matchers, which are regular
// expressions over the decoded path, this pins the bytes on the wire.
func on(method, path, query string) *gock.Request {
	m := gock.New(testBase)
	m.Method = method
	m.AddMatcher(func(req *http.Request, _ *gock.Request) (bool, error) {
		return req.Method == method && req.URL.EscapedPath() == path && req.URL.RawQuery == query, nil
	})
	return m
}

func (e *gockEnv) requests() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.reqs...)
}

func (e *gockEnv) waits() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

// only returns the single request sent, failing otherwise.
func (e *gockEnv) only() seen {
	e.t.Helper()
	reqs := e.requests()
	if len(reqs) != 1 {
		e.t.Fatalf("sent %d requests, want 1: %s", len(reqs), describe(reqs))
	}
	return reqs[0]
}

// writes returns the requests other than GET.
func (e *gockEnv) writes() []seen {
	var out []seen
	for _, r := range e.requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func describe(reqs []seen) string {
	var parts []string
	for _, r := range reqs {
		s := r.Method + " " + r.Path
		if r.Query != "" {
			s += "?" + r.Query
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// check asserts the request line, the standard headers and the JSON body
// (wantBody "" means no body at all).
func check(t *testing.T, r seen, method, path, query, wantBody string) {
	t.Helper()
	if r.Method != method || r.Path != path || r.Query != query {
		t.Errorf("request = %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, method, path, query)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the bearer token", got)
	}
	if got := r.Header.Get("User-Agent"); got != transport.DefaultUserAgent("") {
		t.Errorf("User-Agent = %q, want %q", got, transport.DefaultUserAgent(""))
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
	if wantBody == "" {
		if len(r.Body) != 0 {
			t.Errorf("body = %s, want none", r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			t.Errorf("Content-Type = %q on a request without body", ct)
		}
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	sameJSON(t, r.Body, wantBody)
}

func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad test: want %q is not JSON: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Errorf("body\n got %s\nwant %s", gb, wb)
	}
}

// Discovery documents, written by hand for the tests: only the paths and
// definition keys the client looks at, in the shapes of Quay 3.6 (no
// skopeo timeout, no unsigned_images), 3.15 (skopeo_timeout_interval
// required, unsigned_images) and 3.17 (plus architecture_filter and
// organisation mirroring). "nomirror" is a server with FEATURE_REPO_MIRROR
// off.
func discoveryDoc(mode string) string {
	str := map[string]any{"type": "string"}
	strOrNull := map[string]any{"type": []any{"string", "null"}}
	boolean := map[string]any{"type": "boolean"}
	proxy := map[string]any{"type": "object", "properties": map[string]any{
		"http_proxy": strOrNull, "https_proxy": strOrNull, "no_proxy": strOrNull,
	}}
	registryConfig := map[string]any{"verify_tls": boolean, "proxy": proxy}
	props := map[string]any{
		"is_enabled":                 boolean,
		"external_reference":         str,
		"external_registry_username": strOrNull,
		"external_registry_password": strOrNull,
		"sync_start_date":            str,
		"sync_interval":              map[string]any{"type": "integer", "minimum": 0},
		"robot_username":             str,
		"root_rule": map[string]any{"type": "object", "required": []any{"rule_kind", "rule_value"}, "properties": map[string]any{
			"rule_kind":  map[string]any{"type": "string", "enum": []any{"tag_glob_csv"}},
			"rule_value": map[string]any{"type": "array", "items": str},
		}},
		"external_registry_config": map[string]any{"type": "object", "properties": registryConfig},
	}
	required := []any{"external_reference", "sync_interval", "sync_start_date", "root_rule"}
	paths := map[string]any{
		"/api/v1/repository":                                 map[string]any{},
		"/api/v1/repository/{repository}/mirror":             map[string]any{},
		"/api/v1/repository/{repository}/mirror/sync-now":    map[string]any{},
		"/api/v1/repository/{repository}/mirror/sync-cancel": map[string]any{},
	}
	switch mode {
	case "3.6":
	case "nomirror":
		delete(paths, "/api/v1/repository/{repository}/mirror")
		delete(paths, "/api/v1/repository/{repository}/mirror/sync-now")
		delete(paths, "/api/v1/repository/{repository}/mirror/sync-cancel")
	case "3.15", "3.17":
		registryConfig["unsigned_images"] = boolean
		props[keySkopeoTimeout] = map[string]any{"type": "integer", "minimum": 300}
		required = append(required, keySkopeoTimeout)
		if mode == "3.17" {
			props[keyArchitectureFilter] = map[string]any{"type": []any{"array", "null"}, "items": str}
			paths["/api/v1/organization/{orgname}/mirror"] = map[string]any{}
		}
	default:
		panic("unknown discovery mode " + mode)
	}
	defs := map[string]any{"ApiError": map[string]any{"type": "object"}}
	if mode != "nomirror" {
		defs["CreateMirrorConfig"] = map[string]any{"type": "object", "required": required, "properties": props}
		defs["UpdateMirrorConfig"] = map[string]any{"type": "object", "properties": props}
	}
	b, err := json.Marshal(map[string]any{"swagger": "2.0", "paths": paths, "definitions": defs})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// serveDiscovery registers one discovery answer.
func serveDiscovery(mode string) {
	on(http.MethodGet, "/api/v1/discovery", "").Reply(200).Type("json").BodyString(discoveryDoc(mode))
}

// Answers of GET /config (the server root), in the shapes of Quay 3.15
// (features, no SPARSE_INDEX, no version), 3.17 with FEATURE_SPARSE_INDEX
// on or off, and 3.17 in read-only mode.
const (
	config315          = `{"config": {}, "features": {"REPO_MIRROR": true}, "registry_state": "normal"}`
	config317          = `{"config": {}, "features": {"REPO_MIRROR": true, "SPARSE_INDEX": true}, "registry_state": "normal", "version_number": "Quay 3.17.4"}`
	config317NoSparse  = `{"config": {}, "features": {"REPO_MIRROR": true, "SPARSE_INDEX": false}, "registry_state": "normal", "version_number": "Quay 3.17.4"}`
	config317ReadOnly  = `{"config": {}, "features": {"REPO_MIRROR": true, "SPARSE_INDEX": true}, "registry_state": "readonly", "version_number": "Quay 3.17.4"}`
	configBeforeQuay38 = ""
)

// serveConfig registers one answer of GET /config: body, or Werkzeug's
// 404 page for configBeforeQuay38.
func serveConfig(body string) {
	if body == configBeforeQuay38 {
		on(http.MethodGet, "/config", "").Reply(404).Type("html").BodyString("<html>Not Found</html>")
		return
	}
	on(http.MethodGet, "/config", "").Reply(200).Type("json").BodyString(body)
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answer builds a response to req.
func answer(req *http.Request, status int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

func x509UnknownAuthority() error { return x509.UnknownAuthorityError{} }
