package quaytest

import (
	"net/http"
	"strings"
)

// GET /config: Quay's web configuration (endpoints/web.py config), at the
// server root, not under /api/v1, served to anyone (it is the web UI's
// first request), from 3.8 on. It is where a client learns what discovery
// cannot show: the feature flags ("features", names without FEATURE_,
// only those the version knows: SPARSE_INDEX from 3.17), whether the
// registry is read-only ("registry_state") and, from 3.16 and without
// billing, the version ("version_number": "Quay 3.17.4").
func (c *call) getConfig() {
	e := c.e
	v := e.version
	features := obj{
		{"ANONYMOUS_ACCESS", e.features.AnonymousAccess},
		{"BILLING", false},
		{"PROXY_CACHE", false},
		{"RATE_LIMITS", false},
		{"REPO_MIRROR", e.features.RepoMirror},
		{"SUPERUSERS_FULL_ACCESS", e.features.SuperusersFullAccess},
	}
	if v.orgMirroring() {
		features = append(features, kv{"ORG_MIRROR", e.features.OrgMirror})
	}
	if v.architectureFilter() {
		features = append(features, kv{"SPARSE_INDEX", e.features.SparseIndex})
	}
	state := "normal"
	if e.reg.ReadOnly() {
		state = "readonly"
	}
	host := c.r.Host
	body := obj{
		{"config", obj{{"SERVER_HOSTNAME", host}, {"PREFERRED_URL_SCHEME", scheme(c.r)}, {"REGISTRY_TITLE", "Project Quay"}}},
		{"features", features},
		{"oauth", obj{}},
		{"external_login", []any{}},
		{"registry_state", state},
		{"account_recovery_mode", false},
	}
	if v.versionNumber() {
		body = append(body, kv{"version_number", "Quay " + v.String()})
	}
	c.json(http.StatusOK, body)
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// webConfigPath is the path of getConfig.
const webConfigPath = "/config"

// configRoute is GET /config. It belongs to Quay's web blueprint, not to
// the API: no anonymous-access or CSRF check, no discovery entry.
var configRoute = &route{method: http.MethodGet, web: true, handle: (*call).getConfig}

// resolveWeb resolves the web paths the emulator serves.
func (e *Emulator) resolveWeb(method, path string) (match, bool) {
	if path != webConfigPath || !e.version.webConfig() {
		return match{}, false
	}
	m := match{template: webConfigPath, allowed: []string{http.MethodGet, http.MethodHead}}
	if strings.EqualFold(method, http.MethodGet) || strings.EqualFold(method, http.MethodHead) {
		m.route = configRoute
	}
	return m, true
}
