package quaytest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

type swagger struct {
	Swagger     string                     `json:"swagger"`
	Paths       map[string]map[string]any  `json:"paths"`
	Definitions map[string]swaggerDef      `json:"definitions"`
	Security    map[string]json.RawMessage `json:"securityDefinitions"`
}

type swaggerDef struct {
	Required   []string              `json:"required"`
	Properties map[string]swaggerDef `json:"properties"`
}

func (d swaggerDef) has(p string) bool { _, ok := d.Properties[p]; return ok }

// TestDiscovery checks what a client learns from /api/v1/discovery in each
// mode: the routes that exist and the mirror body each version takes.
func TestDiscovery(t *testing.T) {
	for _, m := range append(modes(), struct {
		name     string
		version  quaytest.Version
		features quaytest.Features
	}{"3.17-RepoMirrorOff", quaytest.V3_17, quaytest.Features{AnonymousAccess: true}}) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, m.version, m.features)
			r := e.do(req{method: http.MethodGet, path: "/api/v1/discovery"}) // anonymous
			status(200)(t, r)
			var doc swagger
			must(t, json.Unmarshal(r.body, &doc))
			if doc.Swagger != "2.0" || doc.Security["oauth2_implicit"] == nil {
				t.Errorf("not a Quay Swagger 2.0 document: swagger %q", doc.Swagger)
			}
			v, f := m.version, m.features
			mirror := f.RepoMirror
			for path, want := range map[string]bool{
				"/api/v1/repository":              true,
				"/api/v1/repository/{repository}": true,
				"/api/v1/user/":                   true,
				"/api/v1/organization/{orgname}/robots/{robot_shortname}": true,
				"/api/v1/repository/{repository}/mirror":                  mirror,
				"/api/v1/repository/{repository}/mirror/sync-now":         mirror,
				"/api/v1/repository/{repository}/mirror/sync-cancel":      mirror,
				"/api/v1/repository/{repository}/changestate":             mirror,
				"/api/v1/organization/{orgname}/mirror":                   f.OrgMirror && v.Compare(quaytest.V3_17) >= 0,
				"/api/v1/repository/mirror/health":                        v.Compare(quaytest.V3_18) >= 0,
			} {
				if _, got := doc.Paths[path]; got != want {
					t.Errorf("path %s listed: %v, want %v", path, got, want)
				}
			}
			create, ok := doc.Definitions["CreateMirrorConfig"]
			if !mirror {
				if ok {
					t.Error("CreateMirrorConfig defined without repository mirroring")
				}
				return
			}
			update := doc.Definitions["UpdateMirrorConfig"]
			skopeo := v.Compare(quaytest.V3_15) >= 0
			arch := v.Compare(quaytest.V3_17) >= 0
			if got := slices.Contains(create.Required, "skopeo_timeout_interval"); got != skopeo {
				t.Errorf("skopeo_timeout_interval required: %v, want %v", got, skopeo)
			}
			for _, d := range []swaggerDef{create, update} {
				if d.has("skopeo_timeout_interval") != skopeo || d.has("architecture_filter") != arch {
					t.Errorf("properties skopeo %v arch %v, want %v %v", d.has("skopeo_timeout_interval"), d.has("architecture_filter"), skopeo, arch)
				}
				if got := d.Properties["external_registry_config"].has("unsigned_images"); got != (v != quaytest.V3_6) {
					t.Errorf("unsigned_images declared: %v", got)
				}
				if !d.has("robot_username") || slices.Contains(d.Required, "robot_username") {
					t.Error("robot_username must be a property and not required (Quay indexes it anyway)")
				}
			}
			if len(update.Required) != 0 {
				t.Errorf("UpdateMirrorConfig requires %v", update.Required)
			}
			if want := []string{"external_reference", "sync_interval", "sync_start_date", "root_rule"}; !slices.Equal(create.Required[:4], want) {
				t.Errorf("required %v", create.Required)
			}
		})
	}
}
