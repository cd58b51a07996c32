package quaytest

import (
	"net/http"
	"strings"
)

// route is one method of one Quay API resource.
type route struct {
	method string
	shape  *shape
	// web routes belong to Quay's web blueprint, not the API: served to
	// anyone, whatever FEATURE_ANONYMOUS_ACCESS and read-only mode say.
	web bool
	// visible reports whether the route exists (feature flags, version).
	visible func(e *Emulator) bool
	handle  func(c *call)
	doc     routeDoc
}

// routeDoc is what /api/v1/discovery says about a route.
type routeDoc struct {
	operationID, description, tag, scope string
	// body names the request body's definition.
	body       string
	bodyOptnl  bool
	query      []string
	okStatus   int
	okResponse string // definition of the success body, if any
}

// shape is a path pattern: its template for counters, its template for
// discovery, and a matcher filling the path parameters.
type shape struct {
	template, swagger string
	match             func(path string) (match, bool)
}

// match is a resolved request path.
type match struct {
	route    *route
	template string
	allowed  []string
	redirect string

	ns, name             string // repository
	org, robot, username string
}

const api = "/api/v1"

func exact(p string) func(string) (match, bool) {
	return func(path string) (match, bool) { return match{}, path == p }
}

// segment matches prefix + one non-empty segment + suffix.
func segment(prefix, suffix string, set func(*match, string)) func(string) (match, bool) {
	return func(path string) (match, bool) {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			return match{}, false
		}
		if rest, ok = strings.CutSuffix(rest, suffix); !ok || rest == "" || strings.Contains(rest, "/") {
			return match{}, false
		}
		var m match
		set(&m, rest)
		return m, true
	}
}

// repoPath matches /api/v1/repository/<apirepopath>suffix, where
// apirepopath is Quay's converter: two or more non-empty segments.
func repoPath(suffix string) func(string) (match, bool) {
	return func(path string) (match, bool) {
		rest, ok := strings.CutPrefix(path, api+"/repository/")
		if !ok {
			return match{}, false
		}
		if rest, ok = strings.CutSuffix(rest, suffix); !ok {
			return match{}, false
		}
		ns, name, ok := strings.Cut(rest, "/")
		if !ok || ns == "" || name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
			return match{}, false
		}
		return match{ns: ns, name: name}, true
	}
}

var (
	shDiscovery = &shape{api + "/discovery", api + "/discovery", exact(api + "/discovery")}
	shUser      = &shape{api + "/user/", api + "/user/", exact(api + "/user/")}
	shUsers     = &shape{api + "/users/{username}", api + "/users/{username}",
		segment(api+"/users/", "", func(m *match, s string) { m.username = s })}
	shRobot = &shape{api + "/organization/{org}/robots/{robot}", api + "/organization/{orgname}/robots/{robot_shortname}",
		func(path string) (match, bool) {
			rest, ok := strings.CutPrefix(path, api+"/organization/")
			if !ok {
				return match{}, false
			}
			org, robot, ok := strings.Cut(rest, "/robots/")
			if !ok || org == "" || robot == "" || strings.Contains(org, "/") || strings.Contains(robot, "/") {
				return match{}, false
			}
			return match{org: org, robot: robot}, true
		}}
	shRobots = &shape{api + "/organization/{org}/robots", api + "/organization/{orgname}/robots",
		segment(api+"/organization/", "/robots", func(m *match, s string) { m.org = s })}
	shOrgMirror = &shape{api + "/organization/{org}/mirror", api + "/organization/{orgname}/mirror",
		segment(api+"/organization/", "/mirror", func(m *match, s string) { m.org = s })}
	shOrg = &shape{api + "/organization/{org}", api + "/organization/{orgname}",
		segment(api+"/organization/", "", func(m *match, s string) { m.org = s })}
	shHealth   = &shape{api + "/repository/mirror/health", api + "/repository/mirror/health", exact(api + "/repository/mirror/health")}
	shRepoList = &shape{api + "/repository", api + "/repository", exact(api + "/repository")}
	shSyncNow  = &shape{api + "/repository/{repo}/mirror/sync-now", api + "/repository/{repository}/mirror/sync-now", repoPath("/mirror/sync-now")}
	shCancel   = &shape{api + "/repository/{repo}/mirror/sync-cancel", api + "/repository/{repository}/mirror/sync-cancel", repoPath("/mirror/sync-cancel")}
	shPerm     = &shape{api + "/repository/{repo}/permissions/user/{username}", api + "/repository/{repository}/permissions/user/{username}",
		func(path string) (match, bool) {
			i := strings.LastIndex(path, "/permissions/user/")
			if i < 0 {
				return match{}, false
			}
			username := path[i+len("/permissions/user/"):]
			if username == "" || strings.Contains(username, "/") {
				return match{}, false
			}
			m, ok := repoPath("")(path[:i])
			m.username = username
			return m, ok
		}}
	shMirror      = &shape{api + "/repository/{repo}/mirror", api + "/repository/{repository}/mirror", repoPath("/mirror")}
	shChangeState = &shape{api + "/repository/{repo}/changestate", api + "/repository/{repository}/changestate", repoPath("/changestate")}
	shLogs        = &shape{api + "/repository/{repo}/logs", api + "/repository/{repository}/logs", repoPath("/logs")}
	shTags        = &shape{api + "/repository/{repo}/tag/", api + "/repository/{repository}/tag/", repoPath("/tag/")}
	shRepo        = &shape{api + "/repository/{repo}", api + "/repository/{repository}", repoPath("")}
)

// shapes in Werkzeug's matching order: static paths before converters,
// longer static suffixes before the bare repository path.
var shapes = []*shape{
	shDiscovery, shUser, shUsers, shRobot, shRobots, shOrgMirror, shOrg,
	shHealth, shRepoList, shSyncNow, shCancel, shPerm, shMirror, shChangeState, shLogs, shTags, shRepo,
}

func always(*Emulator) bool         { return true }
func repoMirror(e *Emulator) bool   { return e.features.RepoMirror }
func orgMirror(e *Emulator) bool    { return e.orgMirrorOn() }
func mirrorHealth(e *Emulator) bool { return e.version.mirrorHealth() }

// buildRoutes lists every emulated method of every shape. (A function, not
// a variable: handlers such as discovery read the list.)
func buildRoutes() []*route {
	return []*route{
		{method: http.MethodGet, shape: shDiscovery, visible: always, handle: (*call).getDiscovery,
			doc: routeDoc{operationID: "discovery", description: "List all of the API endpoints available in the swagger API format.", tag: "discovery", query: []string{"internal"}, okStatus: 200}},
		{method: http.MethodGet, shape: shUser, visible: always, handle: (*call).getUser,
			doc: routeDoc{operationID: "getLoggedInUser", description: "Get user information for the authenticated user.", tag: "user", scope: ScopeUserRead, okStatus: 200, okResponse: "UserView"}},
		{method: http.MethodGet, shape: shUsers, visible: always, handle: (*call).getUsers,
			doc: routeDoc{operationID: "getUserInformation", description: "Get user information for the specified user.", tag: "user", okStatus: 200}},
		{method: http.MethodGet, shape: shRobot, visible: always, handle: (*call).getRobot,
			doc: routeDoc{operationID: "getOrgRobot", description: "Returns the organization's robot with the specified name.", tag: "robot", scope: ScopeOrgAdmin, okStatus: 200}},
		{method: http.MethodPut, shape: shRobot, visible: always, handle: (*call).putRobot,
			doc: routeDoc{operationID: "createOrgRobot", description: "Create a new robot in the organization.", tag: "robot", scope: ScopeOrgAdmin, body: "CreateRobot", bodyOptnl: true, okStatus: 201}},
		{method: http.MethodGet, shape: shRobots, visible: always, handle: (*call).getRobots,
			doc: routeDoc{operationID: "getOrgRobots", description: "List the organization's robots.", tag: "robot", scope: ScopeOrgAdmin, query: []string{"limit", "token", "permissions"}, okStatus: 200}},
		{method: http.MethodGet, shape: shOrgMirror, visible: orgMirror, handle: (*call).getOrgMirror,
			doc: routeDoc{operationID: "getOrgMirrorConfig", description: "Get the organization-level mirror configuration.", tag: "organization_mirror", scope: ScopeOrgAdmin, okStatus: 200}},
		{method: http.MethodGet, shape: shOrg, visible: always, handle: (*call).getOrganization,
			doc: routeDoc{operationID: "getOrganization", description: "Get the details for the specified organization.", tag: "organization", okStatus: 200}},
		{method: http.MethodGet, shape: shHealth, visible: mirrorHealth, handle: (*call).getMirrorHealth,
			doc: routeDoc{operationID: "getRepositoryMirrorHealth", description: "Return repository mirroring health.", tag: "mirror", query: []string{"namespace", "detailed", "limit", "offset"}, okStatus: 200}},
		{method: http.MethodGet, shape: shRepoList, visible: always, handle: (*call).listRepositories,
			doc: routeDoc{operationID: "listRepos", description: "Fetch the list of repositories visible to the current user under a variety of situations.", tag: "repository", scope: ScopeRepoRead, query: []string{"next_page", "repo_kind", "popularity", "last_modified", "public", "starred", "namespace"}, okStatus: 200}},
		{method: http.MethodPost, shape: shRepoList, visible: always, handle: (*call).createRepository,
			doc: routeDoc{operationID: "createRepo", description: "Create a new repository.", tag: "repository", scope: ScopeRepoCreate, body: "NewRepo", okStatus: 201}},
		{method: http.MethodPost, shape: shSyncNow, visible: repoMirror, handle: (*call).syncNow,
			doc: routeDoc{operationID: "syncNow", description: "Update the sync_status for a given Repository's mirroring configuration.", tag: "mirror", scope: ScopeRepoAdmin, okStatus: 201}},
		{method: http.MethodPost, shape: shCancel, visible: repoMirror, handle: (*call).syncCancel,
			doc: routeDoc{operationID: "syncCancel", description: "Update the sync_status for a given Repository's mirroring configuration.", tag: "mirror", scope: ScopeRepoAdmin, okStatus: 201}},
		{method: http.MethodPut, shape: shPerm, visible: always, handle: (*call).putUserPermission,
			doc: routeDoc{operationID: "changeUserPermissions", description: "Update the perimssions for an existing repository.", tag: "permission", scope: ScopeRepoAdmin, body: "UserPermission", okStatus: 200}},
		{method: http.MethodGet, shape: shMirror, visible: repoMirror, handle: (*call).getMirror,
			doc: routeDoc{operationID: "getRepoMirrorConfig", description: "Return the Mirror configuration for a given Repository.", tag: "mirror", scope: ScopeRepoAdmin, okStatus: 200, okResponse: "ViewMirrorConfig"}},
		{method: http.MethodPost, shape: shMirror, visible: repoMirror, handle: (*call).createMirror,
			doc: routeDoc{operationID: "createRepoMirrorConfig", description: "Create a RepoMirrorConfig for a given Repository.", tag: "mirror", scope: ScopeRepoAdmin, body: "CreateMirrorConfig", okStatus: 201}},
		{method: http.MethodPut, shape: shMirror, visible: repoMirror, handle: (*call).updateMirror,
			doc: routeDoc{operationID: "changeRepoMirrorConfig", description: "Allow users to modifying the repository's mirroring configuration.", tag: "mirror", scope: ScopeRepoAdmin, body: "UpdateMirrorConfig", okStatus: 201}},
		{method: http.MethodPut, shape: shChangeState, visible: repoMirror, handle: (*call).changeState,
			doc: routeDoc{operationID: "changeRepoState", description: "Change the state of a repository.", tag: "repository", scope: ScopeRepoAdmin, body: "ChangeRepoState", okStatus: 200}},
		{method: http.MethodGet, shape: shLogs, visible: always, handle: (*call).getLogs,
			doc: routeDoc{operationID: "listRepoLogs", description: "List the logs for the specified repository.", tag: "logs", scope: ScopeRepoAdmin, query: []string{"next_page", "endtime", "starttime"}, okStatus: 200}},
		{method: http.MethodGet, shape: shTags, visible: always, handle: (*call).listTags,
			doc: routeDoc{operationID: "listRepoTags", description: "", tag: "tag", scope: ScopeRepoRead, query: []string{"onlyActiveTags", "page", "limit", "specificTag"}, okStatus: 200}},
		{method: http.MethodGet, shape: shRepo, visible: always, handle: (*call).getRepository,
			doc: routeDoc{operationID: "getRepo", description: "Fetch the specified repository.", tag: "repository", scope: ScopeRepoRead, query: []string{"includeTags", "includeStats"}, okStatus: 200}},
		{method: http.MethodPut, shape: shRepo, visible: always, handle: (*call).updateRepository,
			doc: routeDoc{operationID: "updateRepo", description: "Update the description in the specified repository.", tag: "repository", scope: ScopeRepoWrite, body: "RepoUpdate", okStatus: 200}},
		{method: http.MethodDelete, shape: shRepo, visible: always, handle: (*call).deleteRepository,
			doc: routeDoc{operationID: "deleteRepository", description: "Delete a repository.", tag: "repository", scope: ScopeRepoAdmin, okStatus: 204}},
	}
}

// resolve finds the route for method and path as Werkzeug would: the first
// path rule (in matching order) that exists and allows the method wins;
// rules hidden by feature flags do not exist, so the path can fall through
// to a more general rule (a hidden /mirror path is then a repository
// path). HEAD is served by GET.
func (e *Emulator) resolve(method, path string) match {
	if path == api+"/user" {
		return match{template: api + "/user", redirect: api + "/user/"}
	}
	if m, ok := e.resolveWeb(method, path); ok {
		return m
	}
	lookup := method
	if method == http.MethodHead {
		lookup = http.MethodGet
	}
	var first *match
	var allowed []string
	for _, sh := range shapes {
		m, ok := sh.match(path)
		if !ok {
			continue
		}
		found := false
		for _, rt := range e.routes {
			if rt.shape != sh || !rt.visible(e) {
				continue
			}
			found = true
			if rt.method == lookup {
				m.route, m.template = rt, sh.template
				return m
			}
			allowed = appendUnique(allowed, rt.method)
			if rt.method == http.MethodGet {
				allowed = appendUnique(allowed, http.MethodHead)
			}
		}
		if found && first == nil {
			m.template = sh.template
			first = &m
		}
	}
	if first == nil {
		return match{template: "(unmatched)"}
	}
	first.allowed = allowed
	return *first
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
