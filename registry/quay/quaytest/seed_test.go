package quaytest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

func loadExample(t *testing.T) (*quaytest.Emulator, *fake.Registry, *env) {
	t.Helper()
	f, err := os.Open("testdata/seed.json")
	must(t, err)
	defer f.Close()
	seed, err := quaytest.ReadSeed(f)
	must(t, err)
	reg := fake.New()
	em, err := quaytest.New(reg)
	must(t, err)
	must(t, em.LoadSeed(seed))
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return em, reg, &env{t: t, reg: reg, em: em, srv: srv, v: em.Version()}
}

func TestLoadSeed(t *testing.T) {
	t.Parallel()
	_, reg, e := loadExample(t)
	all(status(200), field("username", `"admin"`))(t, e.do(req{method: http.MethodGet, path: "/api/v1/user/", token: "admin-token"}))
	all(status(200), listed(`[{"name":"app","state":"NORMAL","public":true},{"name":"team/tool","state":"MIRROR","public":false}]`))(t,
		e.do(req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme", token: "admin-token"}))
	// The reader sees what its permission gives.
	all(status(200), listed(`[{"name":"app","state":"NORMAL","public":true}]`))(t,
		e.do(req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme", token: "reader-token"}))
	all(status(200), field("sync_status", `"FAIL"`), field("sync_retries_remaining", "1"),
		field("external_registry_config", `{"proxy":{"http_proxy":null,"https_proxy":"http://proxy:3128","no_proxy":null},"unsigned_images":false,"verify_tls":true}`))(t,
		e.do(req{method: http.MethodGet, path: "/api/v1/repository/acme/team/tool/mirror", token: "admin-token"}))
	if m, _ := reg.Mirror("acme", "team/tool"); m.Config.Password != "source-token" {
		t.Error("password not loaded")
	}
	if rb, ok := reg.Robot("acme", "mirror"); !ok || rb.Description != "pushes mirrored images" {
		t.Errorf("robot %+v", rb)
	}
	if logs := reg.Logs("acme", "team/tool"); len(logs) != 1 || logs[0].Kind != quaymirror.LogSyncFailed {
		t.Errorf("logs %+v", logs)
	}
	// org_mirrored needs FEATURE_ORG_MIRROR, off by default.
	if reg.IsOrganizationMirrored("legacy") {
		t.Error("legacy locked without FEATURE_ORG_MIRROR")
	}
}

func TestReadSeedRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		want       []string
	}{
		{"unknown key", `{"organisations": []}`, []string{`unknown field "organisations"`}},
		{"every problem at once", `{
			"users": [{"name": "Bad Name"}],
			"tokens": [{"token": "t", "user": "ghost", "scopes": ["repo:everything"]}],
			"organizations": [{"name": "acme", "repositories": [{"name": "UPPER", "state": "WEIRD"}]}]}`,
			[]string{`invalid user name "Bad Name"`, `unknown user "ghost"`, `unknown scope "repo:everything"`, `invalid repository name "UPPER"`, `unknown state "WEIRD"`}},
		{"trailing data", `{} {}`, []string{"after the JSON document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := quaytest.ReadSeed(strings.NewReader(tc.json))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadSeedTwice(t *testing.T) {
	t.Parallel()
	em, _, _ := loadExample(t)
	f, err := os.Open("testdata/seed.json")
	must(t, err)
	defer f.Close()
	seed, err := quaytest.ReadSeed(f)
	must(t, err)
	if err := em.LoadSeed(seed); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("loading the same repositories twice: %v", err)
	}
}
