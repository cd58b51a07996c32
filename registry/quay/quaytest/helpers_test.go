package quaytest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// Tokens every test server has.
const (
	tokAdmin  = "admin-token"  // org admin everywhere, every scope but super:user
	tokNoUser = "nouser-token" // the same user without user:read
	tokReader = "reader-token" // the same user, repo:read only
	tokMember = "member-token" // bob, member of acme, every scope
	tokBad    = "not-a-token"
)

// env is a running emulator with a known population: organisation acme
// (robots mirror and other, repository app), organisation beta (robot
// mirror).
type env struct {
	t   *testing.T
	reg *fake.Registry
	em  *quaytest.Emulator
	srv *httptest.Server
	v   quaytest.Version
}

func newEnv(t *testing.T, v quaytest.Version, f quaytest.Features, opts ...quaytest.Option) *env {
	t.Helper()
	reg := fake.New()
	em, err := quaytest.New(reg, append([]quaytest.Option{quaytest.WithVersion(v), quaytest.WithFeatures(f)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	must(t, em.AddAdmin("admin", tokAdmin))
	must(t, em.AddToken(quaytest.Token{Token: tokNoUser, User: "admin", Scopes: []string{quaytest.ScopeRepoAdmin, quaytest.ScopeRepoCreate, quaytest.ScopeOrgAdmin}}))
	must(t, em.AddToken(quaytest.Token{Token: tokReader, User: "admin", Scopes: []string{quaytest.ScopeRepoRead}}))
	must(t, em.AddUser("bob", false))
	must(t, reg.AddRobot("acme", "mirror"))
	must(t, reg.AddRobot("acme", "other"))
	must(t, reg.AddRobot("beta", "mirror"))
	must(t, em.SetOrgRole("acme", "bob", quaytest.OrgMember))
	must(t, em.AddToken(quaytest.Token{Token: tokMember, User: "bob", Scopes: quaytest.AllScopes()}))
	must(t, reg.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app", Description: "the app"}))
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return &env{t: t, reg: reg, em: em, srv: srv, v: v}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// req is an HTTP request to the emulator.
type req struct {
	method, path string
	token        string // "" sends no Authorization
	body         any    // JSON-encoded unless raw is set
	raw          *string
	contentType  string // default application/json when there is a body
}

// resp is an answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(r req) resp {
	e.t.Helper()
	var body io.Reader
	ct := r.contentType
	switch {
	case r.raw != nil:
		body = strings.NewReader(*r.raw)
	case r.body != nil:
		b, err := json.Marshal(r.body)
		must(e.t, err)
		body = bytes.NewReader(b)
		if ct == "" {
			ct = "application/json"
		}
	}
	hr, err := http.NewRequestWithContext(e.t.Context(), r.method, e.srv.URL+r.path, body)
	must(e.t, err)
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	// The server's own transport, the env's alone, so
	// another test's server closing (which closes
	// http.DefaultTransport's idle connections) cannot break a request.
	client := &http.Client{Transport: e.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(hr)
	must(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(e.t, err)
	return resp{res.StatusCode, res.Header, b}
}

func ptr(s string) *string { return &s }

// object decodes a JSON object body.
func (r resp) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// check is an expectation on an answer.
type check func(t testing.TB, r resp)

func status(code int) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		if r.status != code {
			t.Errorf("status = %d, want %d; body %s", r.status, code, r.body)
		}
	}
}

// apiError: an ApiException body with every key, the given title and a
// detail containing detail.
func apiError(code int, title, detail string) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		status(code)(t, r)
		m := r.object(t)
		for _, k := range []string{"detail", "error_message", "error_type", "title", "type", "status"} {
			if _, ok := m[k]; !ok {
				t.Errorf("ApiException body lacks %q: %s", k, r.body)
			}
		}
		if m["title"] != title || m["error_type"] != title {
			t.Errorf("title/error_type = %v/%v, want %s", m["title"], m["error_type"], title)
		}
		if d, _ := m["detail"].(string); !strings.Contains(d, detail) {
			t.Errorf("detail = %q, want it to contain %q", d, detail)
		}
		if m["detail"] != m["error_message"] {
			t.Errorf("error_message %v differs from detail %v", m["error_message"], m["detail"])
		}
		if n, _ := m["status"].(json.Number); n.String() != itoa(code) {
			t.Errorf("status key = %v, want %d", m["status"], code)
		}
		if typ, _ := m["type"].(string); !strings.HasSuffix(typ, "/api/v1/error/"+title) {
			t.Errorf("type = %q, want a URL ending in /api/v1/error/%s", typ, title)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// only: an object body with exactly one key, key, equal to value.
func only(code int, key, value string) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		status(code)(t, r)
		m := r.object(t)
		if len(m) != 1 || m[key] != value {
			t.Errorf("body = %s, want exactly {%q: %q}", r.body, key, value)
		}
	}
}

func detail(code int, msg string) check  { return only(code, "detail", msg) }
func message(code int, msg string) check { return only(code, "message", msg) }

// emptyString: the JSON string "".
func emptyString(code int) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		status(code)(t, r)
		if strings.TrimSpace(string(r.body)) != `""` {
			t.Errorf("body = %q, want the JSON string \"\"", r.body)
		}
	}
}

// noBody: the status and an empty body.
func noBody(code int) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		status(code)(t, r)
		if len(r.body) != 0 {
			t.Errorf("body = %q, want none", r.body)
		}
	}
}

// html: an HTML page (Werkzeug's or nginx's) with the status.
func html(code int) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		status(code)(t, r)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), itoa(code)) {
			t.Errorf("want an HTML page for %d, got %s %q", code, r.header.Get("Content-Type"), r.body)
		}
	}
}

// keys: an object body with these keys (and maybe others) and without
// the absent ones.
func keys(code int, present []string, absent ...string) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		status(code)(t, r)
		m := r.object(t)
		for _, k := range present {
			if _, ok := m[k]; !ok {
				t.Errorf("body lacks %q: %s", k, r.body)
			}
		}
		for _, k := range absent {
			if _, ok := m[k]; ok {
				t.Errorf("body has %q: %s", k, r.body)
			}
		}
	}
}

// field: the body's top-level key has this JSON value.
func field(key, want string) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		m := r.object(t)
		got, _ := json.Marshal(m[key])
		if string(got) != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
}

func all(checks ...check) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		for _, c := range checks {
			c(t, r)
		}
	}
}

// mirrorBody is a valid POST body for the version, changed by set and
// without the keys in drop.
func mirrorBody(v quaytest.Version, set map[string]any, drop ...string) map[string]any {
	b := map[string]any{
		"is_enabled":         true,
		"external_reference": "quay.example.com/src/app",
		"sync_interval":      3600,
		"sync_start_date":    "2026-01-01T00:00:00Z",
		"root_rule":          map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{"*"}},
		"robot_username":     "acme+mirror",
	}
	if v.Compare(quaytest.V3_15) >= 0 {
		b["skopeo_timeout_interval"] = 300
	}
	maps.Copy(b, set)
	for _, k := range drop {
		delete(b, k)
	}
	return b
}

// seedMirror stores a mirror on acme/app (state MIRROR) as if created
// earlier by the UI: the proxy object absent unless the config has one.
func (e *env) seedMirror(cfg func(*quaymirror.MirrorConfig), st func(*quaymirror.MirrorStatus)) {
	e.t.Helper()
	c := quaymirror.MirrorConfig{
		Enabled: true, ExternalReference: "quay.example.com/src/app", Username: "puller", Password: "pw",
		SyncInterval: time.Hour, SyncStartDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		TagGlobs: []string{"*"}, Robot: "acme+mirror", VerifyTLS: true,
	}
	if e.v.Compare(quaytest.V3_15) >= 0 {
		c.SkopeoTimeout = 300 * time.Second
	}
	if cfg != nil {
		cfg(&c)
	}
	s := quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, NextSync: c.SyncStartDate, RetriesRemaining: 3}
	if st != nil {
		st(&s)
	}
	must(e.t, e.reg.SetState("acme", "app", quaymirror.StateMirror))
	must(e.t, e.reg.PutMirror("acme", "app", quaymirror.Mirror{Config: c, Status: s}))
}

func (e *env) mirror() quaymirror.Mirror {
	e.t.Helper()
	m, ok := e.reg.Mirror("acme", "app")
	if !ok {
		e.t.Fatal("acme/app has no mirror")
	}
	return m
}

func (e *env) state() quaymirror.State {
	e.t.Helper()
	r, ok := e.reg.Repository("acme", "app")
	if !ok {
		e.t.Fatal("acme/app is gone")
	}
	return r.State
}

// publicRepos adds public repositories: acme/site, which bob (a member of
// acme) reaches by no permission, acme/granted, on which he has read, and
// beta/other.
func (e *env) publicRepos() {
	e.t.Helper()
	for _, r := range []quaymirror.Repository{
		{Namespace: "acme", Name: "site", Visibility: quaymirror.Public},
		{Namespace: "acme", Name: "granted", Visibility: quaymirror.Public},
		{Namespace: "beta", Name: "other", Visibility: quaymirror.Public},
	} {
		must(e.t, e.reg.AddRepository(r))
	}
	must(e.t, e.reg.GrantPermission("acme", "granted", "bob", quaymirror.RoleRead))
}
