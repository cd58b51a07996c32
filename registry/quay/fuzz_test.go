package quay

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Fuzz targets for the decoding of every Quay answer the client reads:
// the user, an organisation, a repository listing page, a repository, a
// mirror configuration, a robot, a log page, the discovery document, and
// error bodies. Whatever the server sends, the client must not panic, must
// return either a result that keeps its documented invariants or an
// *Error that unwraps to a sentinel, and the error must be one bounded
// line without the token or the password. The seeds are real Quay answers
// and their hostile variants; testdata/fuzz holds what short runs found.
//
//	go test ./registry/quay -run '^$' -fuzz '^FuzzGetMirror$' -fuzztime 10s

// fuzzClient answers every request with status, content type and body.
func fuzzClient(t *testing.T, status int, contentType string, body []byte) *Client {
	t.Helper()
	c, err := New(testBase, WithToken(testToken), WithRetry(0, time.Millisecond, time.Millisecond),
		WithMaxBodySize(1<<20),
		WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp := answer(r, status, string(body))
			if contentType != "" {
				resp.Header.Set("Content-Type", contentType)
			}
			return resp, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// maxErrorLine bounds Error(): method, URL, status, a message of
// transport.MaxMessage bytes and the attempts.
const maxErrorLine = transport.MaxMessage + 300

// checkFuzzError checks an error returned for a fuzzed answer, body. The
// token must never show; the password must not show in the error of a
// request that carried it (withPassword). Invalid UTF-8 the server sent
// may be passed on, but an answer in valid UTF-8 gives an error in valid
// UTF-8: bounding or scrubbing the message must not cut a character.
func checkFuzzError(t *testing.T, err error, withPassword bool, body []byte) {
	t.Helper()
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("error %T %v is not a *quay.Error", err, err)
	}
	if qe.Kind == nil {
		t.Fatalf("error %v unwraps to no sentinel", err)
	}
	msg := err.Error()
	switch {
	case len(msg) > maxErrorLine:
		t.Fatalf("error of %d bytes: %.200q", len(msg), msg)
	case strings.ContainsAny(msg, "\r\n"):
		t.Fatalf("error of several lines: %q", msg)
	case strings.Contains(msg, testToken) || (withPassword && strings.Contains(msg, testPassword)):
		t.Fatalf("error shows a secret: %q", msg)
	case utf8.Valid(body) && !utf8.ValidString(msg):
		t.Fatalf("the answer is valid UTF-8, its error is not (a character was cut): %q", msg)
	}
}

// fuzz200 fuzzes the body of a 200 answer to the call.
func fuzz200(f *testing.F, seeds []string, call func(t *testing.T, c *Client) error) {
	fuzz200Body(f, seeds, func(t *testing.T, c *Client, _ []byte) error { return call(t, c) })
}

// fuzz200Body is fuzz200 for a call that needs the body answered.
func fuzz200Body(f *testing.F, seeds []string, call func(t *testing.T, c *Client, body []byte) error) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := fuzzClient(t, http.StatusOK, "application/json", body)
		if err := call(t, c, body); err != nil {
			checkFuzzError(t, err, false, body)
			if !errors.Is(err, quaymirror.ErrBadResponse) {
				t.Fatalf("a 200 answer that does not decode is %v, want ErrBadResponse", err)
			}
		}
	})
}

// hostileSeeds are bodies every decoding target starts from.
var hostileSeeds = []string{
	"", " ", "null", `""`, "[]", "{}", "0", "true", `"` + testToken + `"`,
	"<html><body>Sign in</body></html>", `{"a": 1} {"b": 2}`, `{"x": "` + strings.Repeat("\\u00e9", 50) + `"`,
	strings.Repeat("[", 1000), `{"detail": "Bearer ` + testToken + `"}`,
}

func FuzzCurrentUser(f *testing.F) {
	fuzz200(f, []string{
		`{"anonymous": false, "username": "destination-admin", "avatar": {"name": "destination-admin"}, "can_create_repo": true,
		  "is_me": true, "verified": true, "email": "a@example.com", "logins": [], "invoice_email": false,
		  "organizations": [{"name": "acme", "is_org_admin": true, "can_create_repo": true}, {"name": ""}, {}]}`,
		`{"username": 42}`, `{"username": "", "organizations": null}`, `{"username": "u", "organizations": {"name": "x"}}`,
	}, func(t *testing.T, c *Client) error {
		u, err := c.CurrentUser(context.Background())
		if err == nil && (u.Username == "" || slices.Contains(u.Organizations, "")) {
			t.Fatalf("user %+v: empty name", u)
		}
		return err
	})
}

func FuzzGetOrganization(f *testing.F) {
	fuzz200(f, []string{
		`{"name": "acme", "email": "acme@example.com", "avatar": {}, "is_admin": true, "is_member": true,
		  "teams": {"owners": {"name": "owners", "role": "admin"}}, "ordered_teams": ["owners"], "invoice_email": false,
		  "tag_expiration_s": 1209600, "is_free_account": true}`,
		`{"name": "acme", "is_admin": "yes"}`, `{"name": null}`,
	}, func(t *testing.T, c *Client) error {
		o, err := c.GetOrganization(context.Background(), "acme")
		if err == nil && o.Name == "" {
			t.Fatalf("organization %+v: empty name", o)
		}
		return err
	})
}

func FuzzListRepositories(f *testing.F) {
	fuzz200(f, []string{
		`{"repositories": [{"namespace": "acme", "name": "app", "description": null, "is_public": false, "kind": "image",
		  "state": "NORMAL", "is_starred": false}, {"namespace": "acme", "name": "team/app", "description": "d", "is_public": true,
		  "kind": "image", "state": "MIRROR"}], "next_page": "gAAAAABl-token"}`,
		`{"repositories": []}`, `{"repositories": null}`, `{"repositories": [{"name": ""}]}`, `{"repositories": [{"name": "a", "state": 7}]}`,
		`{"repositories": [{"name": "a"}], "next_page": null}`, `{"repositories": [{"name": "a", "namespace": ""}], "next_page": ""}`,
	}, func(t *testing.T, c *Client) error {
		page, err := c.ListRepositories(context.Background(), "acme", "")
		if err != nil {
			return err
		}
		for _, r := range page.Repositories {
			if r.Name == "" || r.Namespace == "" || (r.Visibility != quaymirror.Private && r.Visibility != quaymirror.Public) || r.Tags != nil {
				t.Fatalf("listed repository %+v breaks the contract", r)
			}
		}
		return nil
	})
}

func FuzzGetRepository(f *testing.F) {
	fuzz200(f, []string{
		`{"namespace": "acme", "name": "app", "kind": "image", "description": "", "is_public": false, "is_organization": true,
		  "is_starred": false, "status_token": "", "trust_enabled": false, "tag_expiration_s": 1209600, "is_free_account": true,
		  "state": "NORMAL", "can_write": true, "can_admin": true,
		  "tags": {"latest": {"name": "latest", "size": 1234, "last_modified": "Thu, 01 Jan 2026 10:00:00 -0000",
		  "manifest_digest": "sha256:0123"}, "v1": {}}}`,
		`{"name": "app", "tags": null}`, `{"name": "app", "tags": []}`, `{"name": "app", "tags": {"": null}}`, `{"name": ""}`,
	}, func(t *testing.T, c *Client) error {
		r, err := c.GetRepository(context.Background(), "acme", "app")
		if err == nil && (r.Name == "" || r.Tags == nil || !slices.IsSorted(r.Tags)) {
			t.Fatalf("repository %+v breaks the contract", r)
		}
		return err
	})
}

func FuzzGetMirror(f *testing.F) {
	fuzz200(f, []string{
		`{"is_enabled": true, "mirror_type": "PULL", "external_reference": "quay.src/acme/app",
		  "external_registry_username": "$oauthtoken", "external_registry_config": {"verify_tls": true, "unsigned_images": false,
		  "proxy": {"http_proxy": null, "https_proxy": "http://p:3128", "no_proxy": null}}, "sync_interval": 600,
		  "sync_start_date": "2026-01-01T10:00:00.123456Z", "sync_expiration_date": null, "sync_retries_remaining": 3,
		  "sync_status": "SUCCESS", "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["v*", "latest"]},
		  "robot_username": "acme+mirror", "skopeo_timeout_interval": 300, "architecture_filter": ["amd64"]}`,
		`{"external_reference": "quay.src/acme/app", "external_registry_config": {}, "sync_start_date": "2026-01-01T10:00:00+00:00Z"}`,
		`{"external_reference": "quay.src/acme/app", "sync_start_date": "` + testToken + `"}`,
		`{"external_reference": "quay.src/acme/app", "sync_expiration_date": "` + strings.Repeat("9", 5000) + `"}`,
		`{"external_reference": "x", "root_rule": null, "external_registry_config": null, "sync_interval": -1}`,
		`{"external_reference": "x", "sync_interval": 1e300}`, `{"external_reference": ""}`,
	}, func(t *testing.T, c *Client) error {
		m, err := c.GetMirror(context.Background(), "acme", "app")
		if err == nil && (m.Config.ExternalReference == "" || m.Config.Password != "" ||
			(!m.Status.NextSync.IsZero() && m.Status.NextSync.Location() != time.UTC)) {
			t.Fatalf("mirror %+v breaks the contract", m)
		}
		return err
	})
}

func FuzzGetRobot(f *testing.F) {
	fuzz200(f, []string{
		`{"name": "acme+mirror", "created": "Thu, 01 Jan 2026 10:00:00 -0000", "last_accessed": null, "description": "mirror",
		  "token": "ROBOTTOKEN", "unstructured_metadata": {}}`,
		`{"name": "acme+mirror", "description": null}`, `{"name": ""}`, `{"name": ["acme+mirror"]}`,
	}, func(t *testing.T, c *Client) error {
		r, err := c.GetRobot(context.Background(), "acme", "mirror")
		if err == nil && r.Name == "" {
			t.Fatalf("robot %+v: empty name", r)
		}
		return err
	})
}

func FuzzSyncLogs(f *testing.F) {
	fuzz200(f, []string{
		`{"start_time": "Thu, 01 Jan 2026 00:00:00 -0000", "end_time": "Fri, 02 Jan 2026 00:00:00 -0000", "logs": [
		  {"kind": "repo_mirror_sync_failed", "datetime": "Thu, 01 Jan 2026 10:00:00 -0000", "performer": null,
		   "metadata": {"message": "failed", "stderr": "manifest unknown", "tag": "v1", "namespace": "acme", "repo": "app"}},
		  {"kind": "pull_repo", "datetime": "Thu, 01 Jan 2026 11:00:00 -0000", "metadata": {}},
		  {"kind": "repo_mirror_sync_success", "datetime": "2026-01-01T12:00:00Z", "metadata": {"message": ["x", 1]}}]}`,
		`{"logs": []}`, `{"logs": null}`, `{"logs": [{"kind": "repo_mirror_x", "datetime": "garbage", "metadata": "text"}]}`,
		`{"logs": [{"kind": "repo_mirror_x", "metadata": {"message": {"nested": {"deep": true}}, "stderr": 5}}], "next_page": "p2"}`,
	}, func(t *testing.T, c *Client) error {
		logs, err := c.SyncLogs(context.Background(), "acme", "app")
		if err != nil {
			return err
		}
		for i, l := range logs {
			if !strings.HasPrefix(l.Kind, "repo_mirror_") || (i > 0 && l.Time.After(logs[i-1].Time)) {
				t.Fatalf("logs %+v break the contract", logs)
			}
		}
		return nil
	})
}

// FuzzCapabilities fuzzes the discovery document, then shapes a mirror
// create and update by it: whatever the schemas say, shaping must not
// panic, and a body is sent only when the schema allows it.
func FuzzCapabilities(f *testing.F) {
	fuzz200Body(f, []string{
		`{"swagger": "2.0", "paths": {"/api/v1/repository/{repository}/mirror": {}, "/api/v1/organization/{orgname}/mirror": {}},
		  "definitions": {"CreateMirrorConfig": {"type": "object", "required": ["external_reference", "sync_interval",
		  "sync_start_date", "root_rule", "skopeo_timeout_interval"], "properties": {"is_enabled": {"type": "boolean"},
		  "external_reference": {"type": "string"}, "external_registry_username": {"type": ["string", "null"]},
		  "external_registry_password": {"type": ["string", "null"]}, "sync_start_date": {"type": "string"},
		  "sync_interval": {"type": "integer"}, "robot_username": {"type": "string"},
		  "root_rule": {"type": "object", "properties": {"rule_kind": {}, "rule_value": {}}},
		  "external_registry_config": {"type": "object", "properties": {"verify_tls": {}, "unsigned_images": {},
		  "proxy": {"type": "object", "properties": {"http_proxy": {}, "https_proxy": {}, "no_proxy": {}}}}},
		  "skopeo_timeout_interval": {"type": "integer", "minimum": 300}, "architecture_filter": {"type": "array"}}}}}`,
		`{"paths": {}}`, `{"paths": null}`, `{"paths": {"/api/v1/repository/{repository}/mirror": {}}}`,
		`{"paths": {"/api/v1/repository/{repository}/mirror": {}}, "definitions": {"CreateMirrorConfig": {"properties": {"x": null}}}}`,
		`{"paths": {"/api/v1/repository/{repository}/mirror": {}}, "definitions": {"CreateMirrorConfig": {"properties":
		  {"external_registry_config": {"properties": null}}, "required": "all"}}}`,
		`{"paths": {"/api/v1/repository/{repository}/mirror": 1}, "definitions": {"CreateMirrorConfig": [],
		  "UpdateMirrorConfig": {"properties": {"root_rule": {"properties": {}}}}}}`,
	}, func(t *testing.T, c *Client, body []byte) error {
		if _, err := c.Capabilities(context.Background()); err != nil {
			return err
		}
		// Shape a create and an update (the stub answers them too).
		cfg := baseConfig()
		cfg.SkopeoTimeout = 600 * time.Second
		for _, err := range []error{
			c.CreateMirror(context.Background(), "acme", "app", cfg),
			c.UpdateMirror(context.Background(), "acme", "app", cfg, quaymirror.MirrorFields()),
		} {
			if err != nil && !errors.Is(err, quaymirror.ErrUnsupported) && !errors.Is(err, quaymirror.ErrInvalid) {
				checkFuzzError(t, err, true, body)
			}
		}
		return nil
	})
}

// FuzzErrorAnswer fuzzes error answers: any status from 400 to 599, any
// content type, any body. The error carries the status and a sentinel,
// and its message is one bounded line without a secret, whatever the
// body echoes.
func FuzzErrorAnswer(f *testing.F) {
	for _, s := range []struct {
		status      int
		contentType string
		body        string
	}{
		{404, "application/json", `{"detail": "Not Found", "error_message": "Not Found", "error_type": "not_found", "title": "not_found",
		  "type": "https://quay.test/api/v1/error/not_found", "status": 404}`},
		{409, "application/json", `{"detail": "Mirror configuration already exits for repository acme/app"}`},
		{400, "application/json", `{"message": "Could not find robot with specified username"}`},
		{403, "application/json", `{"error": "CSRF token was invalid or missing."}`},
		{400, "application/json", `{"message": {"namespace": "Missing required parameter in the query string"}}`},
		{429, "text/html", "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"},
		{503, "application/json", `{"message": "System is currently read-only.", "is_readonly": true}`},
		{400, "application/json", `{"detail": "'abc' is not of type 'boolean'\n\nFailed validating 'type'", "status": 400}`},
		{400, "application/json", `{"detail": "you sent Authorization: Bearer ` + testToken + ` and password ` + testPassword + `"}`},
		{500, "text/plain", "echo: Bearer " + testToken + "\n" + testPassword},
		{400, "application/json", `{"detail": "` + strings.Repeat("é", 2000) + `"}`},
		{400, "application/json", `{"detail": "a` + strings.Repeat("é", 2000) + `"}`}, // the bound falls inside a character
		{500, "text/plain", "a" + strings.Repeat("€", 2000)},
		{400, "application/json", `"Invalid repository name"`},
		{418, "", ""},
		{599, "application/json", `{"detail": null, "error_message": ["a", {"b": "` + testToken + `"}]}`},
		{502, "application/json", `{"detail": "\u0000\u001b[31m` + strings.Repeat(`\n`, 100) + `"}`},
	} {
		f.Add(s.status, s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		status = 400 + (status%200+200)%200
		c := fuzzClient(t, status, contentType, body)
		_, err := c.GetMirror(context.Background(), "acme", "app")
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		checkFuzzError(t, err, false, body)
		var qe *Error
		errors.As(err, &qe)
		if qe.Status != status || len(qe.Message) > transport.MaxMessage+len("…") {
			t.Fatalf("status %d: error %+v", status, qe)
		}
		// The same answer to a write that carries the password.
		c = fuzzClient(t, status, contentType, body)
		c.disc.doc = fallbackShape()
		if err := c.UpdateMirror(context.Background(), "acme", "app", baseConfig(), []quaymirror.Field{quaymirror.FieldPassword}); err == nil {
			t.Fatalf("status %d: the write succeeded", status)
		} else {
			checkFuzzError(t, err, true, body)
		}
	})
}
