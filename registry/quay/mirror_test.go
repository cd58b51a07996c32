package quay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Exact-request tests of the mirror endpoints over gock (not parallel).

const mirrorPath = "/api/v1/repository/acme/team/app/mirror"

// baseConfig is a mirror configuration with a start date that has
// nanoseconds and is not in UTC, so that its formatting shows.
func baseConfig() quaymirror.MirrorConfig {
	return quaymirror.MirrorConfig{
		Enabled:           true,
		ExternalReference: "src.example.com/acme/team/app",
		Username:          "$oauthtoken",
		Password:          testPassword,
		SyncInterval:      24 * time.Hour,
		SyncStartDate:     time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("CET", 3600)),
		TagGlobs:          []string{"v*", "latest"},
		Robot:             "acme+mirror",
		VerifyTLS:         true,
		Proxy:             quaymirror.Proxy{HTTPSProxy: "http://proxy.internal:3128"},
	}
}

// The common part of every create body, as JSON members.
const commonCreate = `"is_enabled":true,
	"external_reference":"src.example.com/acme/team/app",
	"external_registry_username":"$oauthtoken",
	"external_registry_password":"` + testPassword + `",
	"sync_interval":86400,
	"sync_start_date":"2026-03-04T04:06:07Z",
	"robot_username":"acme+mirror",
	"root_rule":{"rule_kind":"tag_glob_csv","rule_value":["v*","latest"]}`

const fullProxy = `"proxy":{"http_proxy":null,"https_proxy":"http://proxy.internal:3128","no_proxy":null}`

func TestCreateMirrorShapes(t *testing.T) {
	for _, tc := range []struct {
		mode string
		edit func(*quaymirror.MirrorConfig)
		want string
	}{
		{
			mode: "3.6",
			want: `{` + commonCreate + `,"external_registry_config":{"verify_tls":true,` + fullProxy + `}}`,
		},
		{
			// 3.15 requires a skopeo timeout: 300 s when the config leaves it
			// to the server; unsigned_images exists.
			mode: "3.15",
			want: `{` + commonCreate + `,"skopeo_timeout_interval":300,
				"external_registry_config":{"verify_tls":true,"unsigned_images":false,` + fullProxy + `}}`,
		},
		{
			mode: "3.17",
			edit: func(c *quaymirror.MirrorConfig) {
				c.SkopeoTimeout = 10 * time.Minute
				c.ArchitectureFilter = []string{"amd64", "arm64"}
				c.UnsignedImages = true
				c.VerifyTLS = false
			},
			want: `{` + commonCreate + `,"skopeo_timeout_interval":600,"architecture_filter":["amd64","arm64"],
				"external_registry_config":{"verify_tls":false,"unsigned_images":true,` + fullProxy + `}}`,
		},
		{
			// No architecture filter: the key is left to the server's default.
			mode: "3.17",
			want: `{` + commonCreate + `,"skopeo_timeout_interval":300,
				"external_registry_config":{"verify_tls":true,"unsigned_images":false,` + fullProxy + `}}`,
		},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			env := newGock(t)
			serveDiscovery(tc.mode)
			on("POST", mirrorPath, "").Reply(201).BodyString(`""`)
			cfg := baseConfig()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			if len(cfg.ArchitectureFilter) > 0 {
				serveConfig(config317) // read only for an architecture filter
			}
			if err := env.c.CreateMirror(context.Background(), "acme", "team/app", cfg); err != nil {
				t.Fatal(err)
			}
			w := env.writes()
			if len(w) != 1 {
				t.Fatalf("writes: %s", describe(w))
			}
			check(t, w[0], "POST", mirrorPath, "", tc.want)
		})
	}
}

func TestCreateMirrorEmptyCredentialsAndProxyAreNull(t *testing.T) {
	env := newGock(t)
	serveDiscovery("3.6")
	on("POST", mirrorPath, "").Reply(201).BodyString(`""`)
	cfg := baseConfig()
	cfg.Username, cfg.Password, cfg.Proxy = "", "", quaymirror.Proxy{}
	if err := env.c.CreateMirror(context.Background(), "acme", "team/app", cfg); err != nil {
		t.Fatal(err)
	}
	check(t, env.writes()[0], "POST", mirrorPath, "", `{"is_enabled":true,
		"external_reference":"src.example.com/acme/team/app",
		"external_registry_username":null,"external_registry_password":null,
		"sync_interval":86400,"sync_start_date":"2026-03-04T04:06:07Z","robot_username":"acme+mirror",
		"root_rule":{"rule_kind":"tag_glob_csv","rule_value":["v*","latest"]},
		"external_registry_config":{"verify_tls":true,"proxy":{"http_proxy":null,"https_proxy":null,"no_proxy":null}}}`)
}

func TestCreateMirrorZeroStartDateIsNow(t *testing.T) {
	env := newGock(t)
	env.c.now = func() time.Time { return time.Date(2026, 5, 6, 7, 8, 9, 123, time.UTC) }
	serveDiscovery("3.6")
	on("POST", mirrorPath, "").Reply(201).BodyString(`""`)
	cfg := baseConfig()
	cfg.SyncStartDate = time.Time{}
	if err := env.c.CreateMirror(context.Background(), "acme", "team/app", cfg); err != nil {
		t.Fatal(err)
	}
	if body := string(env.writes()[0].Body); !strings.Contains(body, `"sync_start_date":"2026-05-06T07:08:09Z"`) {
		t.Errorf("body = %s", body)
	}
}

// A field the server does not declare is refused before any write.
func TestCreateMirrorUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		edit       func(*quaymirror.MirrorConfig)
		key        string
	}{
		{"unsigned on 3.6", "3.6", func(c *quaymirror.MirrorConfig) { c.UnsignedImages = true }, "external_registry_config.unsigned_images"},
		{"arch on 3.6", "3.6", func(c *quaymirror.MirrorConfig) { c.ArchitectureFilter = []string{"amd64"} }, "architecture_filter"},
		{"arch on 3.15", "3.15", func(c *quaymirror.MirrorConfig) { c.ArchitectureFilter = []string{"amd64"} }, "architecture_filter"},
		{"skopeo on 3.6", "3.6", func(c *quaymirror.MirrorConfig) { c.SkopeoTimeout = time.Hour }, "skopeo_timeout_interval"},
		{"mirroring off", "nomirror", func(*quaymirror.MirrorConfig) {}, "FEATURE_REPO_MIRROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			serveDiscovery(tc.mode)
			cfg := baseConfig()
			tc.edit(&cfg)
			err := env.c.CreateMirror(context.Background(), "acme", "team/app", cfg)
			if !errors.Is(err, quaymirror.ErrUnsupported) || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("err = %v, want ErrUnsupported naming %s", err, tc.key)
			}
			if w := env.writes(); len(w) != 0 {
				t.Errorf("writes: %s", describe(w))
			}
		})
	}
}

// Without the discovery document no mirror body can be shaped safely
// (3.15+ requires skopeo_timeout_interval, older versions fail on it):
// nothing is written, and the error says why.
func TestMirrorWritesNeedDiscovery(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/discovery", "").Reply(404).Type("html").BodyString("<html>not here</html>")
	err := env.c.CreateMirror(context.Background(), "acme", "team/app", baseConfig())
	if !errors.Is(err, quaymirror.ErrUnavailable) || errors.Is(err, quaymirror.ErrNotFound) || !strings.Contains(err.Error(), "/api/v1/discovery") {
		t.Errorf("CreateMirror = %v, want ErrUnavailable (not ErrNotFound) naming the discovery document", err)
	}
	if n := len(env.writes()); n != 0 {
		t.Errorf("sent %d writes: %s", n, describe(env.writes()))
	}
}

func TestCreateMirrorNeedsRobotGlobsAndReference(t *testing.T) {
	env := newGock(t)
	for _, edit := range []func(*quaymirror.MirrorConfig){
		func(c *quaymirror.MirrorConfig) { c.Robot = "" },
		func(c *quaymirror.MirrorConfig) { c.TagGlobs = nil },
		func(c *quaymirror.MirrorConfig) { c.ExternalReference = "" },
	} {
		cfg := baseConfig()
		edit(&cfg)
		if err := env.c.CreateMirror(context.Background(), "acme", "team/app", cfg); !errors.Is(err, quaymirror.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	}
	if n := len(env.requests()); n != 0 {
		t.Errorf("sent %d requests", n)
	}
}

func TestCreateMirrorErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"exists", 409, `{"detail": "Mirror configuration already exits for repository acme/team/app"}`, quaymirror.ErrAlreadyExists},
		{"unknown robot", 400, `{"message": "Could not find robot with specified username"}`, quaymirror.ErrInvalid},
		{"org mirrored", 400, `{"detail": "Repository mirroring is not allowed in an organization managed by organization-level mirroring"}`, quaymirror.ErrOrgMirrored},
		{"no repo", 404, `{"detail": "Not Found", "status": 404}`, quaymirror.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			serveDiscovery("3.6")
			on("POST", mirrorPath, "").Reply(tc.status).Type("json").BodyString(tc.body)
			err := env.c.CreateMirror(context.Background(), "acme", "team/app", baseConfig())
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			// A first-attempt conflict is not "verified": no read-back.
			if n := len(env.requests()); n != 2 {
				t.Errorf("requests: %s", describe(env.requests()))
			}
		})
	}
}

func TestUpdateMirrorPartial(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		fields []quaymirror.Field
		edit   func(*quaymirror.MirrorConfig)
		want   []string // one body per PUT
	}{
		{
			name:   "enabled and interval",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldEnabled, quaymirror.FieldSyncInterval},
			edit:   func(c *quaymirror.MirrorConfig) { c.Enabled = false; c.SyncInterval = time.Hour },
			want:   []string{`{"is_enabled":false,"sync_interval":3600}`},
		},
		{
			name:   "password sends the username",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldPassword},
			want:   []string{`{"external_registry_username":"$oauthtoken","external_registry_password":"` + testPassword + `"}`},
		},
		{
			name:   "empty credentials are null",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldUsername, quaymirror.FieldPassword},
			edit:   func(c *quaymirror.MirrorConfig) { c.Username, c.Password = "", "" },
			want:   []string{`{"external_registry_username":null,"external_registry_password":null}`},
		},
		{
			name:   "username alone",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldUsername},
			want:   []string{`{"external_registry_username":"$oauthtoken"}`},
		},
		{
			name:   "date in whole seconds UTC",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldSyncStartDate},
			want:   []string{`{"sync_start_date":"2026-03-04T04:06:07Z"}`},
		},
		{
			name:   "nested keys alone",
			mode:   "3.15",
			fields: []quaymirror.Field{quaymirror.FieldVerifyTLS, quaymirror.FieldUnsignedImages},
			edit:   func(c *quaymirror.MirrorConfig) { c.VerifyTLS = false },
			want:   []string{`{"external_registry_config":{"verify_tls":false,"unsigned_images":false}}`},
		},
		{
			// Quay drops the first proxy key when no proxy object is stored
			// yet: the proxy-only PUT that follows makes it converge.
			name:   "proxy is sent twice",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldVerifyTLS, quaymirror.FieldProxy},
			edit: func(c *quaymirror.MirrorConfig) {
				c.Proxy = quaymirror.Proxy{HTTPProxy: "http://p:1", HTTPSProxy: "http://p:2", NoProxy: ".local"}
			},
			want: []string{
				`{"external_registry_config":{"verify_tls":true,"proxy":{"http_proxy":"http://p:1","https_proxy":"http://p:2","no_proxy":".local"}}}`,
				`{"external_registry_config":{"proxy":{"http_proxy":"http://p:1","https_proxy":"http://p:2","no_proxy":".local"}}}`,
			},
		},
		{
			name:   "clearing the proxy",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldProxy},
			edit:   func(c *quaymirror.MirrorConfig) { c.Proxy = quaymirror.Proxy{} },
			want: []string{
				`{"external_registry_config":{"proxy":{"http_proxy":null,"https_proxy":null,"no_proxy":null}}}`,
				`{"external_registry_config":{"proxy":{"http_proxy":null,"https_proxy":null,"no_proxy":null}}}`,
			},
		},
		{
			name:   "skopeo default on 3.15",
			mode:   "3.15",
			fields: []quaymirror.Field{quaymirror.FieldSkopeoTimeout},
			want:   []string{`{"skopeo_timeout_interval":300}`},
		},
		{
			name:   "clearing the architecture filter on 3.17",
			mode:   "3.17",
			fields: []quaymirror.Field{quaymirror.FieldArchitectureFilter},
			want:   []string{`{"architecture_filter":[]}`},
		},
		{
			name:   "every field on 3.17",
			mode:   "3.17",
			fields: quaymirror.MirrorFields(),
			edit: func(c *quaymirror.MirrorConfig) {
				c.SkopeoTimeout = 900 * time.Second
				c.ArchitectureFilter = []string{"s390x"}
			},
			want: []string{
				`{` + commonCreate + `,"skopeo_timeout_interval":900,"architecture_filter":["s390x"],
					"external_registry_config":{"verify_tls":true,"unsigned_images":false,` + fullProxy + `}}`,
				`{"external_registry_config":{` + fullProxy + `}}`,
			},
		},
		{
			// The fields 3.6 does not know are dropped when zero.
			name:   "every field on 3.6",
			mode:   "3.6",
			fields: quaymirror.MirrorFields(),
			want: []string{
				`{` + commonCreate + `,"external_registry_config":{"verify_tls":true,` + fullProxy + `}}`,
				`{"external_registry_config":{` + fullProxy + `}}`,
			},
		},
		{
			name:   "nothing left for 3.6",
			mode:   "3.6",
			fields: []quaymirror.Field{quaymirror.FieldUnsignedImages, quaymirror.FieldArchitectureFilter, quaymirror.FieldSkopeoTimeout},
			want:   nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			serveDiscovery(tc.mode)
			for range tc.want {
				// Quay answers a mirror PUT with 201 and the JSON string "".
				on("PUT", mirrorPath, "").Reply(201).Type("json").BodyString(`""`)
			}
			cfg := baseConfig()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			if tc.mode == "3.17" && len(cfg.ArchitectureFilter) > 0 && slices.Contains(tc.fields, quaymirror.FieldArchitectureFilter) {
				serveConfig(config317) // read only for an architecture filter
			}
			if slices.Contains(tc.fields, quaymirror.FieldTagGlobs) {
				// The tag globs are read back.
				on("GET", mirrorPath, "").Reply(200).JSON(map[string]any{"is_enabled": true, "external_reference": cfg.ExternalReference,
					"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": cfg.TagGlobs}})
			}
			if err := env.c.UpdateMirror(context.Background(), "acme", "team/app", cfg, tc.fields); err != nil {
				t.Fatal(err)
			}
			w := env.writes()
			if len(w) != len(tc.want) {
				t.Fatalf("writes: %s, want %d PUTs", describe(w), len(tc.want))
			}
			for i, body := range tc.want {
				check(t, w[i], "PUT", mirrorPath, "", body)
			}
		})
	}
}

func TestUpdateMirrorRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		fields []quaymirror.Field
		edit   func(*quaymirror.MirrorConfig)
		want   error
	}{
		{"arch on 3.15", "3.15", []quaymirror.Field{quaymirror.FieldEnabled, quaymirror.FieldArchitectureFilter},
			func(c *quaymirror.MirrorConfig) { c.ArchitectureFilter = []string{"arm64"} }, quaymirror.ErrUnsupported},
		{"unsigned on 3.6", "3.6", []quaymirror.Field{quaymirror.FieldUnsignedImages},
			func(c *quaymirror.MirrorConfig) { c.UnsignedImages = true }, quaymirror.ErrUnsupported},
		{"skopeo on 3.6", "3.6", []quaymirror.Field{quaymirror.FieldSkopeoTimeout},
			func(c *quaymirror.MirrorConfig) { c.SkopeoTimeout = time.Hour }, quaymirror.ErrUnsupported},
		{"state is not a mirror field", "3.6", []quaymirror.Field{quaymirror.FieldEnabled, quaymirror.FieldState}, nil, quaymirror.ErrInvalid},
		{"password without username", "3.6", []quaymirror.Field{quaymirror.FieldPassword},
			func(c *quaymirror.MirrorConfig) { c.Username = "" }, quaymirror.ErrInvalid},
		{"empty globs", "3.6", []quaymirror.Field{quaymirror.FieldTagGlobs},
			func(c *quaymirror.MirrorConfig) { c.TagGlobs = nil }, quaymirror.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			serveDiscovery(tc.mode)
			cfg := baseConfig()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			err := env.c.UpdateMirror(context.Background(), "acme", "team/app", cfg, tc.fields)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if w := env.writes(); len(w) != 0 {
				t.Errorf("writes: %s", describe(w))
			}
			if err != nil && strings.Contains(err.Error(), testPassword) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestUpdateMirrorNoFieldsSendsNothing(t *testing.T) {
	env := newGock(t)
	if err := env.c.UpdateMirror(context.Background(), "acme", "team/app", baseConfig(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(env.requests()); n != 0 {
		t.Errorf("sent %d requests", n)
	}
}

func TestUpdateMirrorMissing(t *testing.T) {
	env := newGock(t)
	serveDiscovery("3.6")
	on("PUT", mirrorPath, "").Reply(404).JSON(map[string]any{"detail": "Not Found", "status": 404})
	err := env.c.UpdateMirror(context.Background(), "acme", "team/app", baseConfig(), []quaymirror.Field{quaymirror.FieldEnabled})
	if !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestGetMirror(t *testing.T) {
	env := newGock(t)
	on("GET", mirrorPath, "").Reply(200).JSON(map[string]any{
		"is_enabled": true, "mirror_type": "PULL",
		"external_reference":         "src.example.com/acme/team/app",
		"external_registry_username": "$oauthtoken",
		"external_registry_config": map[string]any{"verify_tls": false, "unsigned_images": true,
			"proxy": map[string]any{"http_proxy": "http://p:1", "https_proxy": nil, "no_proxy": ".local"}},
		"sync_interval":           3600,
		"sync_start_date":         "2026-01-01T10:00:00.123456Z",
		"sync_expiration_date":    "2026-01-01T22:00:00Z",
		"sync_retries_remaining":  2,
		"sync_status":             "SYNCING",
		"root_rule":               map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []any{"v*", "latest"}},
		"robot_username":          "acme+mirror",
		"skopeo_timeout_interval": 600,
		"architecture_filter":     []any{"amd64"},
	})
	m, err := env.c.GetMirror(context.Background(), "acme", "team/app")
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2026, 1, 1, 10, 0, 0, 123456000, time.UTC)
	want := quaymirror.Mirror{
		Config: quaymirror.MirrorConfig{
			Enabled: true, ExternalReference: "src.example.com/acme/team/app", Username: "$oauthtoken",
			SyncInterval: time.Hour, SyncStartDate: next, TagGlobs: []string{"v*", "latest"}, Robot: "acme+mirror",
			VerifyTLS: false, UnsignedImages: true, Proxy: quaymirror.Proxy{HTTPProxy: "http://p:1", NoProxy: ".local"},
			SkopeoTimeout: 10 * time.Minute, ArchitectureFilter: []string{"amd64"},
		},
		Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSyncing, NextSync: next,
			Expiration: time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC), RetriesRemaining: 2},
	}
	if got := fmt.Sprintf("%#v", *m); got != fmt.Sprintf("%#v", want) {
		t.Errorf("mirror =\n%s\nwant\n%s", got, fmt.Sprintf("%#v", want))
	}
	check(t, env.only(), "GET", mirrorPath, "", "")
}

func TestGetMirrorOldServerDefaults(t *testing.T) {
	env := newGock(t)
	on("GET", mirrorPath, "").Reply(200).JSON(map[string]any{
		"is_enabled": false, "mirror_type": "PULL", "external_reference": "src.example.com/acme/app",
		"external_registry_username": nil, "external_registry_config": map[string]any{},
		"sync_interval": 60, "sync_start_date": nil, "sync_expiration_date": nil,
		"sync_retries_remaining": 0, "sync_status": "CANCEL",
		"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []any{"*"}}, "robot_username": nil,
	})
	m, err := env.c.GetMirror(context.Background(), "acme", "team/app")
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config
	if !c.VerifyTLS || c.UnsignedImages || !c.Proxy.IsZero() || c.Username != "" || c.Robot != "" || c.SkopeoTimeout != 0 ||
		c.ArchitectureFilter != nil || !c.SyncStartDate.IsZero() || !m.Status.NextSync.IsZero() || !m.Status.Expiration.IsZero() ||
		m.Status.SyncStatus != quaymirror.SyncCancel || !slices.Equal(c.TagGlobs, []string{"*"}) || c.Password != "" {
		t.Errorf("mirror = %#v", m)
	}
}

func TestGetMirrorBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"missing", 404, `{"detail":"Not Found","status":404}`, quaymirror.ErrNotFound},
		{"bad date", 200, `{"external_reference":"a/b","sync_start_date":"01/02/2026"}`, quaymirror.ErrBadResponse},
		{"no reference", 200, `{"is_enabled":true}`, quaymirror.ErrBadResponse},
		{"empty string", 200, `""`, quaymirror.ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			on("GET", mirrorPath, "").Reply(tc.status).Type("json").BodyString(tc.body)
			if _, err := env.c.GetMirror(context.Background(), "acme", "team/app"); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseQuayTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2026-01-01T10:00:00Z":        time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		"2026-01-01T10:00:00.123456Z": time.Date(2026, 1, 1, 10, 0, 0, 123456000, time.UTC),
		"2026-01-01T10:00:00+00:00Z":  time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		"2026-01-01T10:00:00.5+02:00": time.Date(2026, 1, 1, 8, 0, 0, 500000000, time.UTC),
		"2026-01-01T10:00:00.000001":  time.Date(2026, 1, 1, 10, 0, 0, 1000, time.UTC),
		"":                            {},
	} {
		got, err := parseQuayTime(&in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseQuayTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseQuayTime(nil); err != nil || !got.IsZero() {
		t.Errorf("null = %v, %v", got, err)
	}
	for _, bad := range []string{"yesterday", "2026-13-01T00:00:00Z", "Z"} {
		if _, err := parseQuayTime(&bad); err == nil {
			t.Errorf("parseQuayTime(%q) accepted", bad)
		}
	}
}

// A non-empty architecture filter is refused before any write while the
// server's FEATURE_SPARSE_INDEX is off: Quay 3.17.4 would answer 400, and
// 3.17.0 to 3.17.3 and 3.18.0 would first create the mirror without the
// filter.
func TestArchitectureFilterNeedsSparseIndex(t *testing.T) {
	env := newGock(t)
	serveDiscovery("3.17")
	serveConfig(config317NoSparse)
	cfg := baseConfig()
	cfg.ArchitectureFilter = []string{"amd64"}
	err := env.c.CreateMirror(context.Background(), "acme", "team/app", cfg)
	if !errors.Is(err, quaymirror.ErrUnsupported) || !strings.Contains(err.Error(), "FEATURE_SPARSE_INDEX") {
		t.Errorf("CreateMirror = %v, want ErrUnsupported naming FEATURE_SPARSE_INDEX", err)
	}
	err = env.c.UpdateMirror(context.Background(), "acme", "team/app", cfg, []quaymirror.Field{quaymirror.FieldArchitectureFilter})
	if !errors.Is(err, quaymirror.ErrUnsupported) {
		t.Errorf("UpdateMirror = %v, want ErrUnsupported", err)
	}
	// Clearing the filter needs no sparse index.
	on("PUT", mirrorPath, "").Reply(201).Type("json").BodyString(`""`)
	cfg.ArchitectureFilter = nil
	if err := env.c.UpdateMirror(context.Background(), "acme", "team/app", cfg, []quaymirror.Field{quaymirror.FieldArchitectureFilter}); err != nil {
		t.Errorf("clearing the filter: %v", err)
	}
	if w := env.writes(); len(w) != 1 {
		t.Errorf("writes: %s, want the clearing PUT alone", describe(w))
	}
}

// A tag glob change is read back: Quay may answer it 201 and apply it to
// an orphan tag rule row instead of the mirror's (see checkTagGlobs).
func TestTagGlobChangeIsReadBack(t *testing.T) {
	env := newGock(t)
	serveDiscovery("3.15")
	on("PUT", mirrorPath, "").Reply(201).Type("json").BodyString(`""`)
	on("GET", mirrorPath, "").Reply(200).JSON(map[string]any{"is_enabled": true, "external_reference": "src.example.com/acme/team/app",
		"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{"*"}}})
	cfg := baseConfig()
	err := env.c.UpdateMirror(context.Background(), "acme", "team/app", cfg, []quaymirror.Field{quaymirror.FieldTagGlobs})
	if !errors.Is(err, quaymirror.ErrNotApplied) || !strings.Contains(err.Error(), `still has "*", not "v*,latest"`) {
		t.Errorf("err = %v, want ErrNotApplied naming both glob lists", err)
	}
	// Other fields are not read back.
	on("PUT", mirrorPath, "").Reply(201).Type("json").BodyString(`""`)
	if err := env.c.UpdateMirror(context.Background(), "acme", "team/app", cfg, []quaymirror.Field{quaymirror.FieldEnabled}); err != nil {
		t.Fatal(err)
	}
	if n := len(env.requests()); n != 4 {
		t.Errorf("sent %d requests, want discovery, PUT, GET, PUT", n)
	}
}
