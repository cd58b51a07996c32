package quay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Error shapes and hostile answers, over stub transports (parallel).

// stubClient returns a client whose base transport answers every request
// with fn, without retries.
func stubClient(t *testing.T, fn func(*http.Request) *http.Response, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithToken(testToken), WithRetry(0, time.Millisecond, time.Millisecond),
		WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil {
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			return fn(r), nil
		}))}, opts...)
	c, err := New(testBase, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The six body shapes of quay-api.md §1.4, and the variants around them.
func TestErrorShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		message     string
		want        error
	}{
		{"1 ApiException", 404, "application/json",
			`{"detail": "Not Found", "error_message": "Not Found", "error_type": "not_found", "title": "not_found", "type": "https://quay.test/api/v1/error/not_found", "status": 404}`,
			"Not Found", quaymirror.ErrNotFound},
		{"1 ApiException, deprecated key only", 401, "application/json",
			`{"error_message": "Requires authentication", "error_type": "invalid_token", "status": 401}`,
			"Requires authentication", quaymirror.ErrUnauthorized},
		{"2 hand-returned detail", 409, "application/json",
			`{"detail": "Mirror configuration already exits for repository acme/app"}`,
			"Mirror configuration already exits for repository acme/app", quaymirror.ErrAlreadyExists},
		{"3 DataModelException", 400, "application/json",
			`{"message": "Could not find robot with specified username"}`,
			"Could not find robot with specified username", quaymirror.ErrInvalid},
		{"4 abort error", 403, "application/json",
			`{"error": "CSRF token was invalid or missing."}`,
			"CSRF token was invalid or missing.", quaymirror.ErrUnauthorized},
		{"5 Flask message", 400, "application/json",
			`{"message": "Unknown repository kind"}`,
			"Unknown repository kind", quaymirror.ErrInvalid},
		{"5 Flask nested message", 400, "application/json",
			`{"message": {"namespace": "Missing required parameter in the query string"}}`,
			`{"namespace":"Missing required parameter in the query string"}`, quaymirror.ErrInvalid},
		{"6 nginx HTML", 429, "text/html", nginx429, "HTML error page", quaymirror.ErrRateLimited},
		{"HTML without content type", 502, "", "<html><body>Bad Gateway</body></html>", "HTML error page", quaymirror.ErrUnavailable},
		{"empty body", 500, "", "", "", quaymirror.ErrUnavailable},
		{"JSON string", 400, "application/json", `"Invalid repository name"`, "Invalid repository name", quaymirror.ErrInvalid},
		{"plain text", 413, "text/plain", "Request Entity Too Large\nmore", "Request Entity Too Large", quaymirror.ErrInvalid},
		{"multi-line jsonschema detail", 400, "application/json",
			`{"detail": "'abc' is not of type 'boolean'\n\nFailed validating 'type'", "status": 400}`,
			"'abc' is not of type 'boolean' Failed validating 'type'", quaymirror.ErrInvalid},
		{"org mirror lock", 400, "application/json",
			`{"detail": "Repository state changes are not allowed in an organization managed by organization-level mirroring"}`,
			"Repository state changes are not allowed in an organization managed by organization-level mirroring", quaymirror.ErrOrgMirrored},
		{"existing robot", 400, "application/json", `{"detail": "Existing robot with name: acme+x"}`, "Existing robot with name: acme+x", quaymirror.ErrAlreadyExists},
		{"plain forbidden", 403, "application/json", `{"detail": "Unauthorized", "error_type": "insufficient_scope", "status": 403}`, "Unauthorized", quaymirror.ErrForbidden},
		{"quota", 402, "application/json", `{"detail": "Quota exceeded"}`, "Quota exceeded", quaymirror.ErrForbidden},
		{"read-only", 503, "application/json", `{"message": "System is currently read-only.", "is_readonly": true}`, "System is currently read-only.", quaymirror.ErrReadOnly},
		{"SSRF refusal", 400, "application/json", `{"detail": "The provided registry location is not allowed", "error_type": "invalid_request"}`,
			"The provided registry location is not allowed", quaymirror.ErrSourceNotAllowed},
		{"SSRF refusal in the model (3.9.25)", 400, "application/json", `{"message": "URL points to a private or reserved IP address"}`,
			"URL points to a private or reserved IP address", quaymirror.ErrSourceNotAllowed},
		{"blocked host name (3.9.25)", 400, "application/json", `{"message": "Hostname 'localhost' is not allowed"}`,
			"Hostname 'localhost' is not allowed", quaymirror.ErrSourceNotAllowed},
		{"unresolvable source", 400, "application/json", `{"detail": "Cannot resolve hostname 'quay.corp'"}`,
			"Cannot resolve hostname 'quay.corp'", quaymirror.ErrSourceNotAllowed},
		{"missing robot", 400, "application/json", `{"message": "Could not find robot with specified username"}`,
			"Could not find robot with specified username", quaymirror.ErrRobotNotFound},
		{"sparse index off", 400, "application/json", `{"detail": "Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled."}`,
			"Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled.", quaymirror.ErrUnsupported},
		{"downstream", 520, "application/json", `{"detail": "Downstream issue"}`, "Downstream issue", quaymirror.ErrUnavailable},
		{"no known key", 400, "application/json", `{"oops": 1}`, "Bad Request", quaymirror.ErrInvalid},
		{"broken JSON", 400, "application/json", `{"detail": `, "unreadable JSON error body", quaymirror.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := stubClient(t, func(r *http.Request) *http.Response {
				return answer(r, tc.status, tc.body, "Content-Type", tc.contentType)
			})
			_, err := c.ListRepositories(context.Background(), "acme", "PAGE-TOKEN-VALUE")
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("err = %T, want *Error", err)
			}
			if qe.Message != tc.message || qe.Status != tc.status || qe.Method != "GET" {
				t.Errorf("error = %+v, want message %q", qe, tc.message)
			}
			if want := "https://quay.test/api/v1/repository?namespace=xxxxx&next_page=xxxxx&public=xxxxx"; qe.URL != want {
				t.Errorf("URL = %q, want %q", qe.URL, want)
			}
			for _, leak := range []string{testToken, "PAGE-TOKEN-VALUE"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("err = %q leaks %q", err, leak)
				}
			}
		})
	}
}

func TestErrorStringAndUnwrap(t *testing.T) {
	t.Parallel()
	e := &Error{Backend: "quay", Method: "PUT", URL: "https://quay.test/api/v1/x", Status: 400, Message: "nope", Attempts: 2, Kind: quaymirror.ErrInvalid}
	if got, want := e.Error(), "quay: PUT https://quay.test/api/v1/x: 400 Bad Request: nope (after 2 attempts)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	cause := errors.New("dial tcp: refused")
	e = &Error{Backend: "quay", Method: "GET", URL: "https://quay.test/", Err: cause, Kind: quaymirror.ErrUnavailable, Attempts: 1}
	if !errors.Is(e, cause) || !errors.Is(e, quaymirror.ErrUnavailable) || errors.Is(e, quaymirror.ErrNotFound) {
		t.Errorf("Unwrap = %v", e.Unwrap())
	}
	if got := e.Error(); got != "quay: GET https://quay.test/: dial tcp: refused" {
		t.Errorf("Error() = %q", got)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	// A server that echoes what it got, as jsonschema messages do.
	c := stubClient(t, func(r *http.Request) *http.Response {
		return answer(r, 400, `{"detail": "{'external_registry_password': '`+testPassword+`', 'x': \"`+testToken+`\"} is not valid"}`,
			"Content-Type", "application/json")
	})
	ctx := context.Background()
	cfg := baseConfig()
	c.disc.doc = fallbackShape() // no discovery round trip
	errs := []error{
		c.CreateMirror(ctx, "acme", "team/app", cfg),
		c.UpdateMirror(ctx, "acme", "team/app", cfg, []quaymirror.Field{quaymirror.FieldPassword}),
	}
	for _, err := range errs {
		if !errors.Is(err, quaymirror.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
		for _, s := range []string{testPassword, testToken} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("err = %q leaks %q", err, s)
			}
		}
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("err = %q, want the echoed secrets redacted", err)
		}
	}
}

// countingReader is an endless body that counts what is read of it.
type countingReader struct{ n atomic.Int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	r.n.Add(int64(len(p)))
	return len(p), nil
}

func (r *countingReader) Close() error { return nil }

func TestOversizeBodyIsRefusedWithoutReadingIt(t *testing.T) {
	t.Parallel()
	body := &countingReader{}
	c := stubClient(t, func(r *http.Request) *http.Response {
		resp := answer(r, 200, "", "Content-Type", "application/json")
		resp.Body, resp.ContentLength = body, -1
		return resp
	}, WithMaxBodySize(4096))
	_, err := c.CurrentUser(context.Background())
	if !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
	if n := body.n.Load(); n > 4097 {
		t.Errorf("read %d bytes of an endless body with a cap of 4096", n)
	}
}

func TestDiscoveryFitsUnderTheDefaultCap(t *testing.T) {
	t.Parallel()
	// A discovery document of about 1 MiB, like a real one.
	big := `{"paths": {"/api/v1/repository/{repository}/mirror": {}}, "definitions": {"CreateMirrorConfig": {"properties": {}}}, "padding": "` +
		strings.Repeat("x", 1<<20) + `"}`
	c := stubClient(t, func(r *http.Request) *http.Response { return answer(r, 200, big) })
	if caps, err := c.Capabilities(context.Background()); err != nil || !caps.RepositoryMirroring {
		t.Errorf("= %+v, %v", caps, err)
	}
}

func TestHostileBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body string }{
		{"empty", ""},
		{"white space", " \n"},
		{"invalid JSON", "not json"},
		{"truncated JSON", `{"username": "bo`},
		{"JSON string instead of object", `""`},
		{"trailing garbage", `{"username": "bot"} {"username": "other"}`},
		{"HTML with 200", "<html><body>Login</body></html>"},
		{"wrong type", `{"username": 42}`},
		{"no username", `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := stubClient(t, func(r *http.Request) *http.Response { return answer(r, 200, tc.body) })
			_, err := c.CurrentUser(context.Background())
			if !errors.Is(err, quaymirror.ErrBadResponse) {
				t.Errorf("err = %v, want ErrBadResponse", err)
			}
			var qe *Error
			if !errors.As(err, &qe) || qe.Status != 200 || len(qe.Message) > transport.MaxMessage+10 {
				t.Errorf("error = %#v", qe)
			}
		})
	}
}

func TestHostileListings(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{}`, `{"repositories": null}`, `{"repositories": [{"namespace": "acme"}]}`, `{"repositories": {"a": 1}}`} {
		c := stubClient(t, func(r *http.Request) *http.Response { return answer(r, 200, body) })
		if _, err := c.ListRepositories(context.Background(), "acme", ""); !errors.Is(err, quaymirror.ErrBadResponse) {
			t.Errorf("%s: err = %v, want ErrBadResponse", body, err)
		}
	}
}

// A connection that closes before the promised Content-Length.
func TestTruncatedHTTPBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"username": "b`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(context.Background()); !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Errorf("err = %v, want ErrBadResponse", err)
	}
}

// Writes that return nothing: the JSON string "" with 200/201, or 204.
func TestEmptyWriteAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   string
	}{{201, `""`}, {200, `""`}, {204, ""}, {201, ""}} {
		c := stubClient(t, func(r *http.Request) *http.Response { return answer(r, tc.status, tc.body) })
		c.disc.doc = fallbackShape()
		ctx := context.Background()
		if err := c.UpdateMirror(ctx, "acme", "app", baseConfig(), []quaymirror.Field{quaymirror.FieldEnabled}); err != nil {
			t.Errorf("%d %q: UpdateMirror: %v", tc.status, tc.body, err)
		}
		if err := c.SyncNow(ctx, "acme", "app"); err != nil {
			t.Errorf("%d %q: SyncNow: %v", tc.status, tc.body, err)
		}
	}
}
