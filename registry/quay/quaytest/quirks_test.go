package quaytest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

const (
	repoPath   = "/api/v1/repository/acme/app"
	mirrorPath = repoPath + "/mirror"
)

// Version sets.
var (
	every       = quaytest.Versions()
	only36      = []quaytest.Version{quaytest.V3_6}
	since315    = []quaytest.Version{quaytest.V3_15, quaytest.V3_17, quaytest.V3_18}
	before317   = []quaytest.Version{quaytest.V3_6, quaytest.V3_15}
	since317    = []quaytest.Version{quaytest.V3_17, quaytest.V3_18}
	hardened    = []quaytest.Version{quaytest.V3_17}
	notHardened = []quaytest.Version{quaytest.V3_6, quaytest.V3_15, quaytest.V3_18}
	only318     = []quaytest.Version{quaytest.V3_18}
	before318   = []quaytest.Version{quaytest.V3_6, quaytest.V3_15, quaytest.V3_17}
	// modelChecked: the hardened lines that check a POST's reference
	// inside enable_mirroring_for_repository.
	modelChecked = []quaytest.Version{{Major: 3, Minor: 9, Patch: 25}, {Major: 3, Minor: 10, Patch: 25}, {Major: 3, Minor: 12, Patch: 21}}
)

func orgMirrorOn(f *quaytest.Features)   { f.OrgMirror = true }
func repoMirrorOff(f *quaytest.Features) { f.RepoMirror = false }

// quirk is one behaviour of quay-api.md, checked with a raw HTTP request.
type quirk struct {
	name     string // "§section: behaviour"
	versions []quaytest.Version
	features func(*quaytest.Features)
	setup    func(e *env)
	req      func(e *env) req
	want     check
	after    func(t *testing.T, e *env)
}

func put(path string, body any) func(*env) req {
	return func(*env) req { return req{method: http.MethodPut, path: path, token: tokAdmin, body: body} }
}

func post(path string, body any) func(*env) req {
	return func(*env) req { return req{method: http.MethodPost, path: path, token: tokAdmin, body: body} }
}

func get(path string) func(*env) req {
	return func(*env) req { return req{method: http.MethodGet, path: path, token: tokAdmin} }
}

func createMirror(set map[string]any, drop ...string) func(*env) req {
	return func(e *env) req {
		return req{method: http.MethodPost, path: mirrorPath, token: tokAdmin, body: mirrorBody(e.v, set, drop...)}
	}
}

func noMirror(t *testing.T, e *env) {
	t.Helper()
	if _, ok := e.reg.Mirror("acme", "app"); ok {
		t.Error("a mirror configuration was stored")
	}
	if s := e.state(); s != quaymirror.StateNormal {
		t.Errorf("state = %s, want NORMAL", s)
	}
}

func newRepo(name string) map[string]any {
	return map[string]any{"repository": name, "visibility": "private", "description": "", "namespace": "acme"}
}

func withProxy(c *quaymirror.MirrorConfig) {
	c.Proxy = quaymirror.Proxy{HTTPProxy: "http://old:1", HTTPSProxy: "http://old:2", NoProxy: "old"}
}

func quirks() []quirk {
	return []quirk{
		// §3.1 create repository
		{name: "3.1 create: 201 namespace/name/kind, NORMAL, the creator administers it",
			req:  post("/api/v1/repository", newRepo("new")),
			want: all(status(http.StatusCreated), field("namespace", `"acme"`), field("name", `"new"`), field("kind", `"image"`)),
			after: func(t *testing.T, e *env) {
				r, ok := e.reg.Repository("acme", "new")
				if !ok || r.State != quaymirror.StateNormal || r.Visibility != quaymirror.Private {
					t.Errorf("created %+v (exists %v)", r, ok)
				}
				if p := e.reg.Permission("acme", "new", "admin"); p != quaymirror.RoleAdmin {
					t.Errorf("creator's permission = %q, want admin", p)
				}
			}},
		{name: "3.1 create: existing repository → 400 Repository already exists",
			req: post("/api/v1/repository", newRepo("app")), want: apiError(400, "invalid_request", "Repository already exists")},
		{name: "3.1 create: invalid name → 400",
			req: post("/api/v1/repository", newRepo("Bad//name")), want: apiError(400, "invalid_request", "Invalid repository name")},
		{name: "3.1 create: description is required (may be empty)",
			req:  post("/api/v1/repository", map[string]any{"repository": "x", "visibility": "private", "namespace": "acme"}),
			want: apiError(400, "invalid_request", "'description' is a required property")},
		{name: "3.1 create: member without creator role → 403",
			req: func(*env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository", token: tokMember, body: newRepo("x")}
			},
			want: apiError(403, "insufficient_scope", "Unauthorized")},
		{name: "3.1 create: organisation-level mirroring locks creation", versions: since317, features: orgMirrorOn,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   post("/api/v1/repository", newRepo("x")),
			want:  apiError(400, "invalid_request", "Cannot create repository: organization is managed by organization-level mirroring")},
		{name: "3.1 create: no organisation-level lock before 3.17", versions: before317, features: orgMirrorOn,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   post("/api/v1/repository", newRepo("x")), want: status(http.StatusCreated)},
		{name: "1.3 a JSON null body → 400 Missing JSON body",
			req: func(*env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository", token: tokAdmin, raw: ptr("null"), contentType: "application/json"}
			},
			want: apiError(400, "invalid_request", "Missing JSON body")},
		{name: "1.3 a body not declared JSON is missing (Flask 1)", versions: only36,
			req: func(*env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository", token: tokAdmin, raw: ptr(`{"a":1}`), contentType: "text/plain"}
			},
			want: apiError(400, "invalid_request", "Missing JSON body")},
		{name: "1.3 a body not declared JSON → 415 (Flask 2)", versions: since315,
			req: func(*env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository", token: tokAdmin, raw: ptr(`{"a":1}`), contentType: "text/plain"}
			},
			want: message(415, "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.")},
		{name: "1.3 undecodable JSON → 400 {message}",
			req: func(*env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository", token: tokAdmin, raw: ptr(""), contentType: "application/json"}
			},
			want: message(400, "Failed to decode JSON object: Expecting value: line 1 column 1 (char 0)")},

		// §3.2 changestate
		{name: "3.2 changestate: 200 {success: true}; MIRROR needs no configuration",
			req: put(repoPath+"/changestate", map[string]any{"state": "MIRROR"}), want: all(status(200), field("success", "true")),
			after: func(t *testing.T, e *env) {
				if e.state() != quaymirror.StateMirror {
					t.Errorf("state = %s, want MIRROR", e.state())
				}
				if _, ok := e.reg.Mirror("acme", "app"); ok {
					t.Error("changestate created a mirror configuration")
				}
			}},
		{name: "3.2 changestate: ORG_MIRROR is refused by the schema",
			req:  put(repoPath+"/changestate", map[string]any{"state": "ORG_MIRROR"}),
			want: apiError(400, "invalid_request", "'ORG_MIRROR' is not one of ['NORMAL', 'READ_ONLY', 'MIRROR']")},
		{name: "3.2 changestate: missing repository → 404",
			req: put("/api/v1/repository/acme/nope/changestate", map[string]any{"state": "NORMAL"}), want: apiError(404, "not_found", "Not Found")},
		{name: "3.2 changestate: organisation-level mirroring → 400 {detail}", versions: since317, features: orgMirrorOn,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   put(repoPath+"/changestate", map[string]any{"state": "READ_ONLY"}),
			want:  detail(400, "Repository state changes are not allowed in an organization managed by organization-level mirroring")},
		{name: "1.2 changestate needs repo:admin: a repo:read token → 403",
			req: func(*env) req {
				return req{method: http.MethodPut, path: repoPath + "/changestate", token: tokReader, body: map[string]any{"state": "NORMAL"}}
			},
			want: apiError(403, "insufficient_scope", "Unauthorized")},
		{name: "1.8 FEATURE_REPO_MIRROR off: changestate falls through to the repository's PUT", features: repoMirrorOff,
			req:  put(repoPath+"/changestate", map[string]any{"state": "MIRROR"}),
			want: apiError(400, "invalid_request", "'description' is a required property"),
			after: func(t *testing.T, e *env) {
				if e.state() != quaymirror.StateNormal {
					t.Errorf("state = %s, want NORMAL", e.state())
				}
			}},
		{name: "1.8 FEATURE_REPO_MIRROR off: GET mirror is a repository path → 404", features: repoMirrorOff,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   get(mirrorPath), want: apiError(404, "not_found", "Not Found")},
		{name: "1.8 FEATURE_REPO_MIRROR off: POST sync-now → 405", features: repoMirrorOff,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   post(mirrorPath+"/sync-now", nil), want: html(405)},

		// §3.3 robots
		{name: "3.3 robot: missing → 400 {message}, not 404",
			req: get("/api/v1/organization/acme/robots/ghost"), want: message(400, "Could not find robot with specified username")},
		{name: "3.3 robot: 200 with its token",
			req:  get("/api/v1/organization/acme/robots/mirror"),
			want: all(keys(200, []string{"name", "created", "last_accessed", "description", "token", "unstructured_metadata"}), field("name", `"acme+mirror"`))},
		{name: "3.3 robot: PUT creates → 201 with its token",
			req:  put("/api/v1/organization/acme/robots/builder", map[string]any{"description": "builds"}),
			want: all(keys(201, []string{"name", "token"}), field("description", `"builds"`)),
			after: func(t *testing.T, e *env) {
				if rb, ok := e.reg.Robot("acme", "builder"); !ok || rb.Description != "builds" {
					t.Errorf("robot %+v (exists %v)", rb, ok)
				}
			}},
		{name: "11 robot: PUT accepts every short name validate_username does (mirror-bot, ci.bot, 1bot)",
			setup: func(e *env) {
				for _, n := range []string{"ci.bot", "1bot"} {
					status(201)(e.t, e.do(req{method: http.MethodPut, path: "/api/v1/organization/acme/robots/" + n, token: tokAdmin}))
				}
			},
			req: put("/api/v1/organization/acme/robots/mirror-bot", nil), want: all(status(201), field("name", `"acme+mirror-bot"`)),
			after: func(t *testing.T, e *env) {
				for _, n := range []string{"mirror-bot", "ci.bot", "1bot"} {
					if _, ok := e.reg.Robot("acme", n); !ok {
						t.Errorf("robot %s was not stored", n)
					}
				}
			}},
		{name: "11 robot: a mirror POST and a robot GET take such a robot",
			setup: func(e *env) { must(e.t, e.reg.AddRobot("acme", "ci.bot")) },
			req:   createMirror(map[string]any{"robot_username": "acme+ci.bot"}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				status(200)(t, e.do(req{method: http.MethodGet, path: "/api/v1/organization/acme/robots/ci.bot", token: tokAdmin}))
			}},
		{name: "11 robot: PUT of a name validate_username refuses → 400",
			req:  put("/api/v1/organization/acme/robots/bot-", nil),
			want: apiError(400, "invalid_request", "The name for the robot 'bot-' is invalid")},
		{name: "11 robot: PUT of a one-character name → 400",
			req:  put("/api/v1/organization/acme/robots/b", nil),
			want: apiError(400, "invalid_request", "Namespace must be between 2 and 255 characters in length")},
		{name: "3.3 robot: PUT without a body is fine",
			req: func(*env) req {
				return req{method: http.MethodPut, path: "/api/v1/organization/acme/robots/builder", token: tokAdmin}
			},
			want: status(201)},
		{name: "3.3 robot: PUT existing → 400 Existing robot",
			req: put("/api/v1/organization/acme/robots/mirror", nil), want: apiError(400, "invalid_request", "Existing robot with name: acme+mirror")},
		{name: "3.3 robot: needs org:admin → 403 for a repo:read token",
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/organization/acme/robots/mirror", token: tokReader}
			},
			want: apiError(403, "insufficient_scope", "Unauthorized")},

		// §3.4 GET mirror
		{name: "3.4 GET: no configuration → 404",
			req: get(mirrorPath), want: apiError(404, "not_found", "Not Found")},
		{name: "3.4 GET: Quay 3.6 keys, no password, no skopeo timeout nor architecture filter", versions: only36,
			setup: func(e *env) { e.seedMirror(func(c *quaymirror.MirrorConfig) { c.Username = "" }, nil) },
			req:   get(mirrorPath),
			want: all(keys(200, viewKeys, "external_registry_password", "skopeo_timeout_interval", "architecture_filter"),
				field("external_registry_username", "null"), field("mirror_type", `"PULL"`), field("sync_expiration_date", "null"))},
		{name: "3.4 GET: skopeo_timeout_interval from 3.15, no architecture filter", versions: before317[1:],
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   get(mirrorPath),
			want:  all(keys(200, append(slices.Clone(viewKeys), "skopeo_timeout_interval"), "external_registry_password", "architecture_filter"), field("skopeo_timeout_interval", "300"))},
		{name: "3.4 GET: architecture_filter from 3.17 ([] when none)", versions: since317,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   get(mirrorPath),
			want:  all(keys(200, append(slices.Clone(viewKeys), "skopeo_timeout_interval", "architecture_filter"), "external_registry_password"), field("architecture_filter", "[]"))},
		{name: "3.4 GET: dates written by the worker carry microseconds",
			setup: func(e *env) {
				e.seedMirror(nil, func(s *quaymirror.MirrorStatus) {
					s.SyncStatus = quaymirror.SyncSyncing
					s.NextSync = time.Date(2026, 1, 1, 10, 0, 0, 123456000, time.UTC)
					s.Expiration = time.Date(2026, 1, 1, 22, 0, 0, 500000000, time.UTC)
				})
			},
			req: get(mirrorPath),
			want: all(status(200), field("sync_start_date", `"2026-01-01T10:00:00.123456Z"`),
				field("sync_expiration_date", `"2026-01-01T22:00:00.500000Z"`), field("sync_status", `"SYNCING"`))},
		{name: "3.4 GET: whole-second dates have no fraction",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   get(mirrorPath), want: all(status(200), field("sync_start_date", `"2026-01-01T00:00:00Z"`))},
		{name: "4 worker: RunMirrors' next start keeps now's microseconds",
			setup: func(e *env) {
				e.seedMirror(nil, func(s *quaymirror.MirrorStatus) { s.SyncStatus = quaymirror.SyncNow })
				e.reg.RunMirrors(time.Date(2026, 1, 1, 0, 30, 0, 250000000, time.UTC), nil)
			},
			req: get(mirrorPath), want: all(status(200), field("sync_start_date", `"2026-01-01T01:00:00.250000Z"`), field("sync_status", `"SUCCESS"`))},

		{name: "11 GET: credentials that no longer decrypt → 500 (the error path's undefined logger)",
			versions: []quaytest.Version{quaytest.V3_6, quaytest.V3_15, {Major: 3, Minor: 16, Patch: 3}, quaytest.V3_17, quaytest.V3_18},
			setup:    func(e *env) { e.seedMirror(nil, nil); must(e.t, e.em.BreakCredentials("acme", "app")) },
			req:      get(mirrorPath), want: html(500)},
		{name: "11 GET: 3.16.4 and 3.16.5 show such a username as (invalid. please re-enter)",
			versions: []quaytest.Version{{Major: 3, Minor: 16, Patch: 4}, {Major: 3, Minor: 16, Patch: 5}},
			setup:    func(e *env) { e.seedMirror(nil, nil); must(e.t, e.em.BreakCredentials("acme", "app")) },
			req:      get(mirrorPath), want: all(status(200), field("external_registry_username", `"(invalid. please re-enter)"`))},
		{name: "11 PUT does not decrypt: it answers 201 and re-sending the credentials repairs GET",
			setup: func(e *env) {
				e.seedMirror(nil, nil)
				must(e.t, e.em.BreakCredentials("acme", "app"))
				emptyString(201)(e.t, e.do(put(mirrorPath, map[string]any{"sync_interval": 7200})(e)))
				html(500)(e.t, e.do(get(mirrorPath)(e)))
			},
			req:  put(mirrorPath, map[string]any{"external_registry_username": "puller", "external_registry_password": "new"}),
			want: emptyString(201),
			after: func(t *testing.T, e *env) {
				all(status(200), field("external_registry_username", `"puller"`))(t, e.do(get(mirrorPath)(e)))
			}},

		// §3.4 POST mirror
		{name: "3.4 POST: 201 \"\"; MIRROR, NEVER_RUN, 3 retries; a read robot is granted write",
			setup: func(e *env) { must(e.t, e.reg.GrantPermission("acme", "app", "acme+mirror", quaymirror.RoleRead)) },
			req:   createMirror(nil), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				m := e.mirror()
				if e.state() != quaymirror.StateMirror || m.Status.SyncStatus != quaymirror.SyncNeverRun || m.Status.RetriesRemaining != 3 {
					t.Errorf("state %s, status %+v", e.state(), m.Status)
				}
				if p := e.reg.Permission("acme", "app", "acme+mirror"); p != quaymirror.RoleWrite {
					t.Errorf("robot permission = %q, want write", p)
				}
			}},
		{name: "3.4 POST: a robot with admin keeps admin",
			setup: func(e *env) { must(e.t, e.reg.GrantPermission("acme", "app", "acme+mirror", quaymirror.RoleAdmin)) },
			req:   createMirror(nil), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if p := e.reg.Permission("acme", "app", "acme+mirror"); p != quaymirror.RoleAdmin {
					t.Errorf("robot permission = %q, want admin", p)
				}
			}},
		{name: "3.4 POST twice → 409 with the upstream typo",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   createMirror(nil), want: detail(409, "Mirror configuration already exits for repository acme/app")},
		{name: "3.4 POST without robot_username → 500 (KeyError)",
			req: createMirror(nil, "robot_username"), want: html(500), after: noMirror},
		{name: "3.4 POST unknown robot → 400 {message}",
			req: createMirror(map[string]any{"robot_username": "acme+ghost"}), want: message(400, "Could not find robot with specified username"), after: noMirror},
		{name: "3.4 POST robot of another namespace → 400 Invalid robot",
			req: createMirror(map[string]any{"robot_username": "beta+mirror"}), want: message(400, "Invalid robot"), after: noMirror},
		{name: "3.4 POST empty rule_value → 400",
			req:  createMirror(map[string]any{"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{}}}),
			want: apiError(400, "invalid_request", "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule"), after: noMirror},
		{name: "3.4 POST rule_kind other than tag_glob_csv → 400 schema",
			req:  createMirror(map[string]any{"root_rule": map[string]any{"rule_kind": "regex", "rule_value": []string{"*"}}}),
			want: apiError(400, "invalid_request", "'regex' is not one of ['tag_glob_csv']")},
		{name: "3.4 POST: external_reference is required",
			req: createMirror(nil, "external_reference"), want: apiError(400, "invalid_request", "'external_reference' is a required property")},
		{name: "3.4 POST: an unknown key → 500 (keyword argument TypeError)",
			req: createMirror(map[string]any{"mirror_type": "PULL"}), want: html(500), after: noMirror},
		{name: "3.4 POST on a missing repository → 404",
			req: func(e *env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository/acme/nope/mirror", token: tokAdmin, body: mirrorBody(e.v, nil)}
			},
			want: apiError(404, "not_found", "Not Found")},
		{name: "3.4 POST: organisation-level mirroring → 400", versions: since317, features: orgMirrorOn,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   createMirror(nil),
			want:  apiError(400, "invalid_request", "Repository mirror configuration cannot be managed when organization-level mirroring is configured")},
		{name: "3.4 date: one-digit fields and lowercase literals pass strptime",
			req: createMirror(map[string]any{"sync_start_date": "2026-1-2t3:4:5z"}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if got := e.mirror().Config.SyncStartDate; !got.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
					t.Errorf("start date = %v", got)
				}
			}},

		// §5 version traps on POST
		{name: "5 POST skopeo_timeout_interval → 500 before 3.14.7 (after the robot grant)", versions: only36,
			req: createMirror(map[string]any{"skopeo_timeout_interval": 300}), want: html(500),
			after: func(t *testing.T, e *env) {
				noMirror(t, e)
				if p := e.reg.Permission("acme", "app", "acme+mirror"); p != quaymirror.RoleWrite {
					t.Errorf("robot permission = %q; Quay grants write before failing", p)
				}
			}},
		{name: "5 POST skopeo_timeout_interval silently dropped in 3.14.8", versions: []quaytest.Version{{Major: 3, Minor: 14, Patch: 8}},
			req: createMirror(map[string]any{"skopeo_timeout_interval": 600}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if e.mirror().Config.SkopeoTimeout != 0 {
					t.Error("skopeo timeout stored")
				}
			}},
		{name: "5 POST skopeo_timeout_interval → 400 in 3.14.7 (additionalProperties: false)", versions: []quaytest.Version{{Major: 3, Minor: 14, Patch: 7}},
			req:  createMirror(map[string]any{"skopeo_timeout_interval": 600}),
			want: apiError(400, "invalid_request", "Additional properties are not allowed ('skopeo_timeout_interval' was unexpected)"), after: noMirror},
		{name: "5 POST any undeclared key → 400 in 3.14.7, and the discovery says so", versions: []quaytest.Version{{Major: 3, Minor: 14, Patch: 7}},
			setup: func(e *env) {
				r := e.do(get("/api/v1/discovery")(e))
				var doc struct {
					Definitions map[string]map[string]any `json:"definitions"`
				}
				must(e.t, json.Unmarshal(r.body, &doc))
				if v, ok := doc.Definitions["CreateMirrorConfig"]["additionalProperties"]; !ok || v != false {
					e.t.Errorf("CreateMirrorConfig.additionalProperties = %v, want false", v)
				}
				if _, ok := doc.Definitions["UpdateMirrorConfig"]["additionalProperties"]; ok {
					e.t.Error("UpdateMirrorConfig has additionalProperties")
				}
			},
			req:  createMirror(map[string]any{"mirror_type": "PULL", "architecture_filter": []string{}}),
			want: apiError(400, "invalid_request", "Additional properties are not allowed ('architecture_filter', 'mirror_type' were unexpected)"), after: noMirror},
		{name: "5 PUT unknown keys still pass in 3.14.7", versions: []quaytest.Version{{Major: 3, Minor: 14, Patch: 7}},
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"skopeo_timeout_interval": 600}), want: emptyString(201)},
		{name: "5 POST architecture_filter silently dropped in 3.16.4 and 3.16.5", versions: []quaytest.Version{{Major: 3, Minor: 16, Patch: 4}, {Major: 3, Minor: 16, Patch: 5}},
			req: createMirror(map[string]any{"architecture_filter": []string{"amd64"}}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if len(e.mirror().Config.ArchitectureFilter) != 0 {
					t.Error("architecture filter stored")
				}
			}},
		{name: "5 POST architecture_filter → 500 in 3.16.3", versions: []quaytest.Version{{Major: 3, Minor: 16, Patch: 3}},
			req: createMirror(map[string]any{"architecture_filter": []string{"amd64"}}), want: html(500), after: noMirror},
		{name: "5 POST malformed date → 400 in other hardened releases (3.9.25, 3.12.21)", versions: []quaytest.Version{{Major: 3, Minor: 9, Patch: 25}, {Major: 3, Minor: 12, Patch: 21}},
			req: createMirror(map[string]any{"sync_start_date": "soon"}), want: detail(400, "Incorrect DateTime format for sync_start_date.")},
		{name: "5 POST malformed date → 500 in 3.17.3", versions: []quaytest.Version{{Major: 3, Minor: 17, Patch: 3}},
			req: createMirror(map[string]any{"sync_start_date": "soon"}), want: html(500)},
		{name: "5 POST without skopeo_timeout_interval → 400 (required from 3.15)", versions: since315,
			req: createMirror(nil, "skopeo_timeout_interval"), want: apiError(400, "invalid_request", "'skopeo_timeout_interval' is a required property")},
		{name: "5 POST skopeo_timeout_interval under 300 → 400", versions: since315,
			req: createMirror(map[string]any{"skopeo_timeout_interval": 299}), want: apiError(400, "invalid_request", "299 is less than the minimum of 300")},
		{name: "5 POST architecture_filter → 500 before 3.16.4", versions: before317,
			req: createMirror(map[string]any{"architecture_filter": []string{"amd64"}}), want: html(500), after: noMirror},
		{name: "5 POST architecture_filter stored from 3.17", versions: since317,
			req: createMirror(map[string]any{"architecture_filter": []string{"amd64", "arm64"}}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if got := e.mirror().Config.ArchitectureFilter; !slices.Equal(got, []string{"amd64", "arm64"}) {
					t.Errorf("architecture filter = %v", got)
				}
			}},
		{name: "5 POST architecture_filter without FEATURE_SPARSE_INDEX → 400, nothing created (3.17.4)", versions: hardened,
			features: func(f *quaytest.Features) { f.SparseIndex = false },
			req:      createMirror(map[string]any{"architecture_filter": []string{"amd64"}}),
			want:     detail(400, "Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled."), after: noMirror},
		{name: "5 POST architecture_filter without FEATURE_SPARSE_INDEX → created, then 400 (3.17.0-3.17.3, 3.18.0)",
			versions: []quaytest.Version{{Major: 3, Minor: 17, Patch: 0}, {Major: 3, Minor: 17, Patch: 3}, quaytest.V3_18},
			features: func(f *quaytest.Features) { f.SparseIndex = false },
			req:      createMirror(map[string]any{"architecture_filter": []string{"amd64"}}),
			want:     detail(400, "Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled."),
			after: func(t *testing.T, e *env) {
				if m := e.mirror(); len(m.Config.ArchitectureFilter) != 0 || e.state() != quaymirror.StateMirror {
					t.Errorf("want the configuration created without filter: %+v, state %s", m.Config, e.state())
				}
			}},
		{name: "5 POST unknown architecture → 400", versions: since317,
			req: createMirror(map[string]any{"architecture_filter": []string{"sparc", "amd64"}}), want: detail(400, "Invalid architectures: sparc")},
		{name: "5 POST malformed sync_start_date → 500 (not hardened)", versions: notHardened,
			req: createMirror(map[string]any{"sync_start_date": "2026-01-01T00:00:00.5Z"}), want: html(500), after: noMirror},
		{name: "5 POST malformed sync_start_date → 400 (hardened)", versions: hardened,
			req:  createMirror(map[string]any{"sync_start_date": "2026-01-01T10:00:00.123456Z"}),
			want: detail(400, "Incorrect DateTime format for sync_start_date."), after: noMirror},
		{name: "5 POST sync_start_date with an offset → 400 (hardened)", versions: hardened,
			req: createMirror(map[string]any{"sync_start_date": "2026-01-01T00:00:00+00:00"}), want: detail(400, "Incorrect DateTime format for sync_start_date.")},
		{name: "5 POST impossible date (February 30) → 400 (hardened)", versions: hardened,
			req: createMirror(map[string]any{"sync_start_date": "2026-02-30T00:00:00Z"}), want: detail(400, "Incorrect DateTime format for sync_start_date.")},

		// §3.6 SSRF
		{name: "3.6 SSRF: localhost → 400 (hardened)", versions: hardened,
			req:  createMirror(map[string]any{"external_reference": "localhost:5000/x/y"}),
			want: apiError(400, "invalid_request", "The provided registry location is not allowed"), after: noMirror},
		{name: "3.6 SSRF: a private address → 400 (hardened)", versions: hardened,
			req: createMirror(map[string]any{"external_reference": "10.1.2.3/x/y"}), want: apiError(400, "invalid_request", "The provided registry location is not allowed")},
		{name: "3.6 SSRF: an allow-listed CIDR passes", versions: hardened,
			features: func(f *quaytest.Features) { f.SSRFAllowedHosts = []string{"10.0.0.0/8"} },
			req:      createMirror(map[string]any{"external_reference": "10.1.2.3:8443/x/y"}), want: emptyString(201)},
		{name: "3.6 SSRF: an allow-listed name passes", versions: hardened,
			features: func(f *quaytest.Features) { f.SSRFAllowedHosts = []string{"Quay.Corp.Internal"} },
			req:      createMirror(map[string]any{"external_reference": "quay.corp.internal/x/y"}), want: emptyString(201)},
		{name: "3.6 reference without a path → 400 (hardened)", versions: hardened,
			req: createMirror(map[string]any{"external_reference": "example.com"}), want: apiError(400, "invalid_request", "External registry reference must include a repository path")},
		{name: "3.6 reference with a scheme → 400 (hardened)", versions: hardened,
			req: createMirror(map[string]any{"external_reference": "https://quay.io/x"}), want: apiError(400, "invalid_request", "must not include a URL scheme")},
		{name: "3.6 unresolvable registry → 400 (hardened)", versions: hardened,
			req: createMirror(map[string]any{"external_reference": "registry.invalid/x"}), want: apiError(400, "invalid_request", "Cannot resolve hostname 'registry.invalid'")},
		{name: "3.6 no reference checks before the hardening", versions: notHardened,
			req: createMirror(map[string]any{"external_reference": "localhost"}), want: emptyString(201)},

		{name: "11 SSRF (3.9.25, 3.10.25, 3.12.21): the POST checks inside enable_mirroring, after the robot grant, → 400 {message} with the detail",
			versions: modelChecked,
			req:      createMirror(map[string]any{"external_reference": "10.1.2.3/x/y"}),
			want:     message(400, "URL points to a private or reserved IP address"),
			after: func(t *testing.T, e *env) {
				noMirror(t, e)
				if p := e.reg.Permission("acme", "app", "acme+mirror"); p != quaymirror.RoleWrite {
					t.Errorf("robot permission = %q; the grant comes before the check", p)
				}
			}},
		{name: "11 SSRF (3.9.25, 3.10.25, 3.12.21): a blocked name → 400 {message}", versions: modelChecked,
			req: createMirror(map[string]any{"external_reference": "localhost:5000/x/y"}), want: message(400, "Hostname 'localhost' is not allowed")},
		{name: "11 SSRF (3.9.25, 3.10.25, 3.12.21): the POST resolves no name", versions: modelChecked,
			req: createMirror(map[string]any{"external_reference": "registry.invalid/x"}), want: emptyString(201)},
		{name: "11 SSRF (3.9.25, 3.10.25, 3.12.21): an allow-listed address passes", versions: modelChecked,
			features: func(f *quaytest.Features) { f.SSRFAllowedHosts = []string{"10.0.0.0/8"} },
			req:      createMirror(map[string]any{"external_reference": "10.1.2.3/x/y"}), want: emptyString(201)},
		{name: "11 SSRF (3.9.25, 3.10.25, 3.12.21): the PUT validates in the API → the generic 400", versions: modelChecked,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_reference": "10.1.2.3/x/y"}),
			want:  apiError(400, "invalid_request", "The provided registry location is not allowed")},
		{name: "11 SSRF: none on 3.16.5 (it has SSRF_ALLOWED_HOSTS, not the check) nor 3.17.3",
			versions: []quaytest.Version{{Major: 3, Minor: 16, Patch: 5}, {Major: 3, Minor: 17, Patch: 3}},
			req:      createMirror(map[string]any{"external_reference": "10.1.2.3/x/y"}), want: emptyString(201)},
		{name: "11 org mirror: the mirror POST lock holds with FEATURE_ORG_MIRROR off again (3.17+)", versions: since317,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   createMirror(nil),
			want:  apiError(400, "invalid_request", "Repository mirror configuration cannot be managed when organization-level mirroring is configured"),
			after: noMirror},
		{name: "11 org mirror: so does the PUT lock", versions: since317,
			setup: func(e *env) { e.seedMirror(nil, nil); must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   put(mirrorPath, map[string]any{"is_enabled": false}),
			want:  apiError(400, "invalid_request", "Repository mirror configuration cannot be managed when organization-level mirroring is configured")},
		{name: "11 org mirror: repository creation checks the flag: allowed with it off", versions: since317,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   post("/api/v1/repository", newRepo("x")), want: status(http.StatusCreated)},

		{name: "11 orphan rule: a POST that fails after create_rule (unknown robot) leaves its rule row; a later PUT of root_rule lands on it, GET shows the old globs",
			setup: func(e *env) {
				message(400, "Could not find robot with specified username")(e.t, e.do(createMirror(map[string]any{"robot_username": "acme+ghost"})(e)))
				emptyString(201)(e.t, e.do(createMirror(nil)(e)))
			},
			req:  put(mirrorPath, map[string]any{"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{"v*"}}}),
			want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if g := e.mirror().Config.TagGlobs; !slices.Equal(g, []string{"*"}) {
					t.Errorf("tag globs = %v, want the mirror's own [*] unchanged", g)
				}
				field("root_rule", `{"rule_kind":"tag_glob_csv","rule_value":["*"]}`)(t, e.do(get(mirrorPath)(e)))
			}},
		{name: "11 orphan rule: a POST refused before create_rule (empty rule_value) leaves none",
			setup: func(e *env) {
				apiError(400, "invalid_request", msgRuleValueForTest)(e.t, e.do(createMirror(map[string]any{"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{}}})(e)))
				emptyString(201)(e.t, e.do(createMirror(nil)(e)))
			},
			req:  put(mirrorPath, map[string]any{"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{"v*"}}}),
			want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if g := e.mirror().Config.TagGlobs; !slices.Equal(g, []string{"v*"}) {
					t.Errorf("tag globs = %v, want [v*]", g)
				}
			}},
		// §3.4 PUT mirror
		{name: "3.4 PUT: 201 \"\"; only the keys sent change",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"sync_interval": 7200}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				m := e.mirror()
				if m.Config.SyncInterval != 2*time.Hour || m.Config.Password != "pw" || m.Config.ExternalReference != "quay.example.com/src/app" {
					t.Errorf("config %+v", m.Config)
				}
			}},
		{name: "3.4 PUT: unknown keys are ignored",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"bogus": 1, "is_enabled": false}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if e.mirror().Config.Enabled {
					t.Error("is_enabled not applied")
				}
			}},
		{name: "3.4 PUT: malformed date → 400 {detail}",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"sync_start_date": "2026-01-01 00:00:00"}), want: detail(400, "Incorrect DateTime format for sync_start_date.")},
		{name: "3.4 PUT: a password without a username → 400",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_registry_password": "x"}),
			want:  detail(400, "Unable to set a new password without also specifying a username.")},
		{name: "3.4 PUT: username null with a password → 400",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_registry_username": nil, "external_registry_password": "x"}),
			want:  detail(400, "Unable to delete username while setting a password.")},
		{name: "3.4 PUT: a username alone keeps the password",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_registry_username": "new"}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if c := e.mirror().Config; c.Username != "new" || c.Password != "pw" {
					t.Errorf("credentials %q/%q", c.Username, c.Password.Reveal())
				}
			}},
		{name: "3.4 PUT: both null clear the credentials",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_registry_username": nil, "external_registry_password": nil}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if c := e.mirror().Config; c.Username != "" || c.Password != "" {
					t.Errorf("credentials %q/%q", c.Username, c.Password.Reveal())
				}
			}},
		{name: "3.4 PUT: the first proxy key is dropped while no proxy object is stored",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req: put(mirrorPath, map[string]any{"external_registry_config": map[string]any{
				"proxy": map[string]any{"http_proxy": "http://p:1", "https_proxy": "http://p:2", "no_proxy": "x"}}}),
			want: emptyString(201),
			after: func(t *testing.T, e *env) {
				want := quaymirror.Proxy{HTTPSProxy: "http://p:2", NoProxy: "x"}
				if got := e.mirror().Config.Proxy; got != want {
					t.Errorf("proxy = %+v, want %+v (http_proxy dropped)", got, want)
				}
				// The same PUT again now stores every key.
				e.do(req{method: http.MethodPut, path: mirrorPath, token: tokAdmin, body: map[string]any{"external_registry_config": map[string]any{
					"proxy": map[string]any{"http_proxy": "http://p:1"}}}})
				if got := e.mirror().Config.Proxy.HTTPProxy; got != "http://p:1" {
					t.Errorf("second PUT: http_proxy = %q", got)
				}
			}},
		{name: "3.4 PUT: proxy keys are kept when a proxy object exists",
			setup: func(e *env) { e.seedMirror(withProxy, nil) },
			req: put(mirrorPath, map[string]any{"external_registry_config": map[string]any{
				"proxy": map[string]any{"http_proxy": "http://p:1", "https_proxy": "http://p:2"}}}),
			want: emptyString(201),
			after: func(t *testing.T, e *env) {
				want := quaymirror.Proxy{HTTPProxy: "http://p:1", HTTPSProxy: "http://p:2", NoProxy: "old"}
				if got := e.mirror().Config.Proxy; got != want {
					t.Errorf("proxy = %+v, want %+v", got, want)
				}
			}},
		{name: "3.4 PUT: a proxy object sent at creation avoids the drop",
			setup: func(e *env) {
				r := e.do(req{method: http.MethodPost, path: mirrorPath, token: tokAdmin, body: mirrorBody(e.v, map[string]any{
					"external_registry_config": map[string]any{"verify_tls": true, "proxy": map[string]any{"http_proxy": nil, "https_proxy": nil, "no_proxy": nil}}})})
				status(201)(e.t, r)
			},
			req:  put(mirrorPath, map[string]any{"external_registry_config": map[string]any{"proxy": map[string]any{"http_proxy": "http://p:1"}}}),
			want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if got := e.mirror().Config.Proxy.HTTPProxy; got != "http://p:1" {
					t.Errorf("http_proxy = %q", got)
				}
			}},
		{name: "5 PUT applies the blocks before a refusal (not hardened)", versions: notHardened,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"is_enabled": false, "sync_start_date": "yesterday"}),
			want:  detail(400, "Incorrect DateTime format for sync_start_date."),
			after: func(t *testing.T, e *env) {
				if e.mirror().Config.Enabled {
					t.Error("is_enabled should have been applied before the date was refused")
				}
			}},
		{name: "5 PUT validates everything before applying (hardened)", versions: hardened,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"is_enabled": false, "sync_start_date": "yesterday"}),
			want:  detail(400, "Incorrect DateTime format for sync_start_date."),
			after: func(t *testing.T, e *env) {
				if !e.mirror().Config.Enabled {
					t.Error("is_enabled was applied although the request was refused")
				}
			}},
		{name: "3.4 PUT: a new robot is granted write",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"robot_username": "acme+other"}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if p := e.reg.Permission("acme", "app", "acme+other"); p != quaymirror.RoleWrite || e.mirror().Config.Robot != "acme+other" {
					t.Errorf("robot %q with %q", e.mirror().Config.Robot, p)
				}
			}},
		{name: "3.4 PUT: an unknown robot → 400 {message}",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"robot_username": "acme+ghost"}), want: message(400, "Could not find robot with specified username")},
		{name: "3.4 PUT schema: is_enabled null → 400",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"is_enabled": nil}), want: apiError(400, "invalid_request", "None is not of type 'boolean'")},
		{name: "3.4 PUT schema: verify_tls \"abc\" → 400",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_registry_config": map[string]any{"verify_tls": "abc"}}),
			want:  apiError(400, "invalid_request", "'abc' is not of type 'boolean'")},
		{name: "3.4 PUT schema: a negative interval → 400",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"sync_interval": -1}), want: apiError(400, "invalid_request", "-1 is less than the minimum of 0")},
		{name: "3.4 PUT: an empty rule_value → 400",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{}}}),
			want:  apiError(400, "invalid_request", "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule")},
		{name: "3.4 PUT: root_rule replaces the globs",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []string{"v1.*", "latest"}}}),
			want:  emptyString(201),
			after: func(t *testing.T, e *env) {
				if g := e.mirror().Config.TagGlobs; !slices.Equal(g, []string{"v1.*", "latest"}) {
					t.Errorf("globs = %v", g)
				}
			}},
		{name: "3.4 PUT without configuration → 404",
			req: put(mirrorPath, map[string]any{"is_enabled": true}), want: apiError(404, "not_found", "Not Found")},
		{name: "3.4 PUT: an empty external_reference → 400 {detail} (not hardened)", versions: notHardened,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_reference": ""}), want: detail(400, "Empty string is an invalid repository location.")},
		{name: "3.4 PUT: an empty external_reference → 400 (hardened)", versions: hardened,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_reference": ""}), want: apiError(400, "invalid_request", "External registry reference is required")},
		{name: "3.4 PUT: unsigned_images does not exist in 3.6", versions: only36,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"external_registry_config": map[string]any{"unsigned_images": true}}), want: emptyString(201),
			after: func(t *testing.T, e *env) {
				if e.mirror().Config.UnsignedImages {
					t.Error("unsigned_images applied by 3.6")
				}
			}},
		{name: "3.4 PUT: skopeo_timeout_interval under 300 → 400", versions: since315,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   put(mirrorPath, map[string]any{"skopeo_timeout_interval": 100}), want: apiError(400, "invalid_request", "100 is less than the minimum of 300")},
		{name: "3.4 PUT: organisation-level mirroring → 400", versions: since317, features: orgMirrorOn,
			setup: func(e *env) { e.seedMirror(nil, nil); must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   put(mirrorPath, map[string]any{"is_enabled": false}),
			want:  apiError(400, "invalid_request", "Repository mirror configuration cannot be managed when organization-level mirroring is configured")},
		{name: "3.2 no DELETE of a mirror configuration: it is a no-op delete of repository app/mirror → 204",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   func(*env) req { return req{method: http.MethodDelete, path: mirrorPath, token: tokAdmin} }, want: noBody(204),
			after: func(t *testing.T, e *env) { e.mirror() }},

		// §3.5 sync control
		{name: "3.5 sync-now: 204 without body; SYNC_NOW, at least one retry",
			setup: func(e *env) {
				e.seedMirror(nil, func(s *quaymirror.MirrorStatus) { s.SyncStatus, s.RetriesRemaining = quaymirror.SyncCancel, 0 })
			},
			req: post(mirrorPath+"/sync-now", nil), want: noBody(204),
			after: func(t *testing.T, e *env) {
				if s := e.mirror().Status; s.SyncStatus != quaymirror.SyncNow || s.RetriesRemaining != 1 {
					t.Errorf("status %+v", s)
				}
			}},
		{name: "3.5 sync-now while SYNCING → 404",
			setup: func(e *env) {
				e.seedMirror(nil, func(s *quaymirror.MirrorStatus) { s.SyncStatus = quaymirror.SyncSyncing })
			},
			req: post(mirrorPath+"/sync-now", nil), want: apiError(404, "not_found", "Not Found"),
			after: func(t *testing.T, e *env) {
				if s := e.mirror().Status.SyncStatus; s != quaymirror.SyncSyncing {
					t.Errorf("status %s", s)
				}
			}},
		{name: "3.5 sync-now works on a disabled mirror",
			setup: func(e *env) { e.seedMirror(func(c *quaymirror.MirrorConfig) { c.Enabled = false }, nil) },
			req:   post(mirrorPath+"/sync-now", nil), want: noBody(204)},
		{name: "3.5 sync-now without configuration → 404",
			req: post(mirrorPath+"/sync-now", nil), want: apiError(404, "not_found", "Not Found")},
		{name: "3.5 sync-cancel from SYNCING: 204, CANCEL, no retries, start date kept",
			setup: func(e *env) {
				e.seedMirror(nil, func(s *quaymirror.MirrorStatus) { s.SyncStatus = quaymirror.SyncSyncing })
			},
			req: post(mirrorPath+"/sync-cancel", nil), want: noBody(204),
			after: func(t *testing.T, e *env) {
				s := e.mirror().Status
				if s.SyncStatus != quaymirror.SyncCancel || s.RetriesRemaining != 0 || s.NextSync.IsZero() {
					t.Errorf("status %+v", s)
				}
			}},
		{name: "3.5 sync-cancel from SUCCESS → 404",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   post(mirrorPath+"/sync-cancel", nil), want: apiError(404, "not_found", "Not Found")},

		// §3.7 logs
		{name: "3.7 logs: newest first, mirror events and configuration changes",
			setup: func(e *env) {
				e.seedMirror(nil, nil)
				must(e.t, e.reg.AddSyncLog("acme", "app", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: time.Now().Add(-time.Hour), Message: "boom", Tag: "v1"}))
				status(201)(e.t, e.do(req{method: http.MethodPut, path: mirrorPath, token: tokAdmin, body: map[string]any{"is_enabled": false}}))
			},
			req: get(repoPath + "/logs"),
			want: all(keys(200, []string{"start_time", "end_time", "logs"}, "next_page"), func(t testing.TB, r resp) {
				var body struct {
					Logs []struct {
						Kind     string         `json:"kind"`
						Metadata map[string]any `json:"metadata"`
						Datetime string         `json:"datetime"`
					} `json:"logs"`
				}
				must(t, json.Unmarshal(r.body, &body))
				if len(body.Logs) != 2 || body.Logs[0].Kind != quaymirror.LogConfigChanged || body.Logs[1].Kind != quaymirror.LogSyncFailed {
					t.Fatalf("logs = %+v", body.Logs)
				}
				if md := body.Logs[1].Metadata; md["message"] != "boom" || md["tag"] != "v1" {
					t.Errorf("metadata = %v", md)
				}
				if md := body.Logs[0].Metadata; md["changed"] != "is_enabled" || md["to"] != false {
					t.Errorf("metadata = %v", md)
				}
				if _, err := time.Parse(time.RFC1123Z, body.Logs[0].Datetime); err != nil {
					t.Errorf("datetime %q is not RFC 2822: %v", body.Logs[0].Datetime, err)
				}
			})},
		{name: "3.7 logs: events older than a day are outside the default window",
			setup: func(e *env) {
				must(e.t, e.reg.AddSyncLog("acme", "app", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: time.Now().Add(-48 * time.Hour)}))
			},
			req: get(repoPath + "/logs"), want: all(status(200), field("logs", "[]"))},

		// §3.8 mirror health
		{name: "3.8 mirror health: 200 with counts", versions: only318,
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req:   get("/api/v1/repository/mirror/health?namespace=acme"),
			want: all(keys(200, []string{"healthy", "workers", "repositories", "tags_pending", "last_check", "issues"}),
				field("healthy", "true"), field("repositories", `{"completed":1,"failed":0,"never_run":0,"syncing":0,"total":1}`))},
		{name: "3.8 mirror health: 503 when more than 20% fail", versions: only318,
			setup: func(e *env) {
				e.seedMirror(nil, func(s *quaymirror.MirrorStatus) { s.SyncStatus, s.RetriesRemaining = quaymirror.SyncFail, 0 })
			},
			req: get("/api/v1/repository/mirror/health?namespace=acme"), want: all(status(503), field("healthy", "false"))},
		{name: "3.8 before 3.18 the health path is a repository path", versions: before318,
			req: get("/api/v1/repository/mirror/health"), want: apiError(403, "insufficient_scope", "Unauthorized")},

		// §3.9 permissions
		{name: "3.9 permission: 200 {role, name, is_robot, avatar}",
			req:  put(repoPath+"/permissions/user/acme+other", map[string]any{"role": "read"}),
			want: all(keys(200, []string{"role", "name", "is_robot", "avatar"}), field("is_robot", "true")),
			after: func(t *testing.T, e *env) {
				if p := e.reg.Permission("acme", "app", "acme+other"); p != quaymirror.RoleRead {
					t.Errorf("permission %q", p)
				}
			}},
		{name: "3.9 permission: a robot of another namespace → 400",
			req:  put(repoPath+"/permissions/user/beta+mirror", map[string]any{"role": "write"}),
			want: apiError(400, "invalid_request", "Cannot add robot beta+mirror under namespace acme")},
		{name: "3.9 permission: an unknown user → 400",
			req: put(repoPath+"/permissions/user/ghost", map[string]any{"role": "write"}), want: apiError(400, "invalid_request", "Invalid username: ghost")},

		// §1 and §2 conventions
		{name: "1.1 CSRF: a write with a bad token → 403 {error}",
			req: func(e *env) req {
				return req{method: http.MethodPost, path: "/api/v1/repository", token: tokBad, body: newRepo("x")}
			},
			want: only(403, "error", "CSRF token was invalid or missing.")},
		{name: "1.1 CSRF: a write without a token → 403 {error}",
			req:  func(e *env) req { return req{method: http.MethodPut, path: mirrorPath, body: map[string]any{}} },
			want: only(403, "error", "CSRF token was invalid or missing.")},
		{name: "1.1 a bad token on GET /user/ → 401",
			req:  func(*env) req { return req{method: http.MethodGet, path: "/api/v1/user/", token: tokBad} },
			want: all(apiError(401, "invalid_token", "Requires authentication"), field("session_required", "false"))},
		{name: "1.2 GET /user/ needs user:read (scopes cap the user role)",
			req:  func(*env) req { return req{method: http.MethodGet, path: "/api/v1/user/", token: tokNoUser} },
			want: apiError(401, "invalid_token", "Requires authentication")},
		{name: "1.1 GET /user/ is a whoami",
			req: get("/api/v1/user/"), want: all(status(200), field("username", `"admin"`), field("anonymous", "false"))},
		{name: "1.1 /api/v1/user redirects to /api/v1/user/ (301 with Flask 1)", versions: only36,
			req: get("/api/v1/user"), want: status(http.StatusMovedPermanently)},
		{name: "1.1 /api/v1/user redirects to /api/v1/user/ (308 with Flask 2)", versions: since315,
			req: get("/api/v1/user"), want: status(http.StatusPermanentRedirect)},
		{name: "2.1 a bad token lists an empty page (anonymous)",
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme", token: tokBad}
			},
			want: all(keys(200, []string{"repositories"}, "next_page"), field("repositories", "[]"))},
		{name: "2.1 anonymous with public=true lists public repositories",
			setup: func(e *env) {
				must(e.t, e.reg.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "site", Visibility: quaymirror.Public}))
			},
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme&public=true"}
			},
			want: all(status(200), listed(`[{"name":"site","state":"NORMAL","public":true}]`))},
		{name: "11 listing: without public=true a public repository the user reaches by no permission is left out",
			setup: func(e *env) { e.publicRepos() },
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme", token: tokMember}
			},
			want: all(status(200), listed(`[{"name":"granted","state":"NORMAL","public":true}]`))},
		{name: "11 listing: public=true adds them once, still filtered by namespace",
			setup: func(e *env) { e.publicRepos() },
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme&public=true", token: tokMember}
			},
			want: all(status(200), listed(`[{"name":"site","state":"NORMAL","public":true},{"name":"granted","state":"NORMAL","public":true}]`))},
		{name: "2.1 namespace, starred or public is required",
			req: get("/api/v1/repository"), want: apiError(400, "invalid_request", "namespace, starred or public are required for this API call")},
		{name: "2.1 an unknown repo_kind → 400 {message}",
			req: get("/api/v1/repository?namespace=acme&repo_kind=helm"), want: message(400, "Unknown repository kind")},
		{name: "2.1 the listing carries the state",
			setup: func(e *env) { must(e.t, e.reg.SetState("acme", "app", quaymirror.StateReadOnly)) },
			req:   get("/api/v1/repository?namespace=acme"),
			want:  all(status(200), listed(`[{"name":"app","state":"READ_ONLY","public":false}]`))},
		{name: "1.2 a repo:read token cannot write → 403",
			setup: func(e *env) { e.seedMirror(nil, nil) },
			req: func(*env) req {
				return req{method: http.MethodPut, path: mirrorPath, token: tokReader, body: map[string]any{}}
			},
			want: apiError(403, "insufficient_scope", "Unauthorized")},
		{name: "1.3 a missing repository is 404 for an administrator",
			req: get("/api/v1/repository/acme/nope"), want: apiError(404, "not_found", "Not Found")},
		{name: "1.3 a missing repository is 403 for a member",
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/repository/acme/nope", token: tokMember}
			},
			want: apiError(403, "insufficient_scope", "Unauthorized")},
		{name: "1.3 a missing repository is 401 for anonymous callers",
			req: func(*env) req { return req{method: http.MethodGet, path: "/api/v1/repository/acme/nope"} }, want: apiError(401, "invalid_token", "Requires authentication")},
		{name: "1.3 read-only mode → 503 on writes",
			setup: func(e *env) { e.em.SetReadOnly(true) },
			req:   post("/api/v1/repository", newRepo("x")),
			want:  all(keys(503, []string{"message", "is_readonly"}), field("is_readonly", "true"))},
		{name: "1.8 anonymous access off → 401 {error}",
			features: func(f *quaytest.Features) { f.AnonymousAccess = false },
			req: func(*env) req {
				return req{method: http.MethodGet, path: "/api/v1/repository?namespace=acme&public=true"}
			},
			want: only(401, "error", "Anonymous access is not allowed")},
		{name: "2.2 GET repository: tags, can_write false outside NORMAL",
			setup: func(e *env) {
				must(e.t, e.reg.SetTags("acme", "app", []string{"v1", "latest"}))
				must(e.t, e.reg.SetState("acme", "app", quaymirror.StateMirror))
			},
			req: get(repoPath),
			want: func(t testing.TB, r resp) {
				keys(200, []string{"namespace", "name", "kind", "description", "is_public", "state", "tags", "can_write", "can_admin"})(t, r)
				field("can_write", "false")(t, r)
				field("can_admin", "true")(t, r)
				var body struct {
					Tags map[string]struct {
						Name   string `json:"name"`
						Digest string `json:"manifest_digest"`
					} `json:"tags"`
				}
				must(t, json.Unmarshal(r.body, &body))
				if len(body.Tags) != 2 || body.Tags["v1"].Name != "v1" || !strings.HasPrefix(body.Tags["v1"].Digest, "sha256:") {
					t.Errorf("tags = %+v", body.Tags)
				}
			}},
		{name: "2.2 GET repository with includeTags=false has no tags",
			req: get(repoPath + "?includeTags=false"), want: keys(200, []string{"name"}, "tags")},
		{name: "2.2 nested names: everything after the namespace",
			setup: func(e *env) {
				must(e.t, e.reg.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "team/app"}))
			},
			req: get("/api/v1/repository/acme/team/app"), want: all(status(200), field("name", `"team/app"`))},
		{name: "2.3 a missing organisation → 404",
			req: get("/api/v1/organization/nope"), want: apiError(404, "not_found", "Not Found")},
		{name: "2.3 organisation: is_admin and is_member",
			req: get("/api/v1/organization/acme"), want: all(status(200), field("is_admin", "true"), field("is_member", "true"))},
		{name: "1.3 an unrouted path → Werkzeug's HTML 404",
			req: get("/api/v1/nothing/here"), want: html(404)},

		// §11 GET /config: the web UI's configuration
		{name: "11 /config: anonymous, features without FEATURE_, SPARSE_INDEX as set (3.17+), version_number", versions: since317,
			features: func(f *quaytest.Features) { f.SparseIndex = false; f.AnonymousAccess = false },
			req:      func(*env) req { return req{method: http.MethodGet, path: "/config"} },
			want: all(keys(200, []string{"config", "features", "oauth", "external_login", "registry_state", "account_recovery_mode", "version_number"}),
				feature("SPARSE_INDEX", "false"), feature("REPO_MIRROR", "true"), field("registry_state", `"normal"`),
				func(t testing.TB, r resp) {
					if v := r.object(t)["version_number"]; v != "Quay 3.17.4" && v != "Quay 3.18.0" {
						t.Errorf("version_number = %v", v)
					}
				})},
		{name: "11 /config: SPARSE_INDEX on", versions: since317,
			req: func(*env) req { return req{method: http.MethodGet, path: "/config"} }, want: feature("SPARSE_INDEX", "true")},
		{name: "11 /config: no SPARSE_INDEX key nor version_number before 3.16/3.17", versions: []quaytest.Version{quaytest.V3_15},
			req:  func(*env) req { return req{method: http.MethodGet, path: "/config"} },
			want: all(keys(200, []string{"features", "registry_state"}, "version_number"), feature("SPARSE_INDEX", "null"))},
		{name: "11 /config: version_number from 3.16", versions: []quaytest.Version{{Major: 3, Minor: 16, Patch: 5}},
			req: func(*env) req { return req{method: http.MethodGet, path: "/config"} }, want: field("version_number", `"Quay 3.16.5"`)},
		{name: "11 /config: no such page before 3.8", versions: only36,
			req: func(*env) req { return req{method: http.MethodGet, path: "/config"} }, want: html(404)},
		{name: "11 /config: registry_state is readonly in read-only mode", versions: since315,
			setup: func(e *env) { e.em.SetReadOnly(true) },
			req:   func(*env) req { return req{method: http.MethodGet, path: "/config"} }, want: field("registry_state", `"readonly"`)},

		// §6 organisation-level mirroring
		{name: "6 org mirror: 404 when the organisation has none", versions: since317, features: orgMirrorOn,
			req: get("/api/v1/organization/acme/mirror"), want: apiError(404, "not_found", "Not Found")},
		{name: "6 org mirror: 200 when it has one", versions: since317, features: orgMirrorOn,
			setup: func(e *env) { must(e.t, e.reg.SetOrganizationMirrored("acme", true)) },
			req:   get("/api/v1/organization/acme/mirror"),
			want:  keys(200, []string{"is_enabled", "external_registry_type", "external_registry_url", "external_namespace", "robot_username", "sync_status", "skopeo_timeout"})},
		{name: "6 org mirror: no such route without FEATURE_ORG_MIRROR", versions: since317,
			req: get("/api/v1/organization/acme/mirror"), want: html(404)},
		{name: "6 org mirror: no such route before 3.17", versions: before317, features: orgMirrorOn,
			req: get("/api/v1/organization/acme/mirror"), want: html(404)},
	}
}

const msgRuleValueForTest = "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule"

// feature: the value of features[name] of a /config answer, as JSON
// ("null" when absent).
func feature(name, want string) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		f, _ := r.object(t)["features"].(map[string]any)
		if got, _ := json.Marshal(f[name]); string(got) != want {
			t.Errorf("features.%s = %s, want %s", name, got, want)
		}
	}
}

// listed: the repositories of a listing (name, state, visibility) as JSON.
func listed(want string) check {
	return func(t testing.TB, r resp) {
		t.Helper()
		var body struct {
			Repositories []struct {
				Name     string `json:"name"`
				State    string `json:"state"`
				IsPublic bool   `json:"is_public"`
			} `json:"repositories"`
		}
		must(t, json.Unmarshal(r.body, &body))
		type item struct {
			Name   string `json:"name"`
			State  string `json:"state"`
			Public bool   `json:"public"`
		}
		items := []item{}
		for _, x := range body.Repositories {
			items = append(items, item{x.Name, x.State, x.IsPublic})
		}
		got, _ := json.Marshal(items)
		if string(got) != want {
			t.Errorf("listed %s, want %s", got, want)
		}
	}
}

var viewKeys = []string{"is_enabled", "mirror_type", "external_reference", "external_registry_username", "external_registry_config",
	"sync_interval", "sync_start_date", "sync_expiration_date", "sync_retries_remaining", "sync_status", "root_rule", "robot_username"}

// TestQuirks checks every behaviour of quay-api.md §1-§6 the emulator
// reproduces, with raw HTTP requests, in every version mode it applies to.
func TestQuirks(t *testing.T) {
	for _, q := range quirks() {
		versions := q.versions
		if versions == nil {
			versions = every
		}
		for _, v := range versions {
			t.Run(q.name+"/"+v.String(), func(t *testing.T) {
				t.Parallel()
				f := quaytest.DefaultFeatures()
				if q.features != nil {
					q.features(&f)
				}
				e := newEnv(t, v, f)
				if q.setup != nil {
					q.setup(e)
				}
				r := e.do(q.req(e))
				q.want(t, r)
				if q.after != nil {
					q.after(t, e)
				}
			})
		}
	}
}
