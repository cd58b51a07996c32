package quaytest

import (
	"net/http"
	"slices"
	"strings"
)

// Query parameter descriptions and types for the discovery document.
var queryDocs = map[string][2]string{
	"next_page":      {"string", "The page token for the next page"},
	"repo_kind":      {"string", "The kind of repositories to return"},
	"popularity":     {"boolean", "Whether to include the repository's popularity metric."},
	"last_modified":  {"boolean", "Whether to include when the repository was last modified."},
	"public":         {"boolean", "Adds any repositories visible to the user by virtue of being public"},
	"starred":        {"boolean", "Filters the repositories returned to those starred by the user"},
	"namespace":      {"string", "Filters the repositories returned to this namespace"},
	"includeTags":    {"boolean", "Whether to include repository tags"},
	"includeStats":   {"boolean", "Whether to include action statistics"},
	"starttime":      {"string", "Earliest time for logs. Format: \"%m/%d/%Y\" in UTC."},
	"endtime":        {"string", "Latest time for logs. Format: \"%m/%d/%Y\" in UTC."},
	"internal":       {"boolean", "Whether to include internal APIs."},
	"limit":          {"integer", "If specified, the number of results to return."},
	"token":          {"boolean", "If false, the robot's token is not returned."},
	"permissions":    {"boolean", "Whether to include repositories and teams in which the robots have permission."},
	"detailed":       {"boolean", "Whether to include per-repository details."},
	"offset":         {"integer", "Offset for the repository details."},
	"onlyActiveTags": {"boolean", "Filter to only active tags."},
	"page":           {"integer", "Page index for the results. Default 1."},
	"specificTag":    {"string", "Filters the tags to the specific tag."},
}

var pathParamDocs = map[string]string{
	"repository":      "The full path of the repository. e.g. namespace/name",
	"orgname":         "The name of the organization",
	"robot_shortname": "The short name for the robot, without any user or organization prefix",
	"username":        "The username of the user",
}

func pathParams(swagger string) []any {
	var out []any
	for _, part := range strings.Split(swagger, "/") {
		if name, ok := strings.CutPrefix(part, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			out = append(out, obj{{"name", name}, {"in", "path"}, {"required", true}, {"description", pathParamDocs[name]}, {"type", "string"}})
		}
	}
	return out
}

// GET /api/v1/discovery: a Swagger 2.0 document of the routes that exist
// in this version with these features, and the request schemas they
// validate against (the same values the handlers use), so a client can
// tell from CreateMirrorConfig.required/properties what the server takes.
func (c *call) getDiscovery() {
	// The document describes the registry's capabilities (which the
	// version and features set).
	if _, err := c.e.reg.Capabilities(c.ctx()); err != nil {
		c.fail(err)
		return
	}
	type pathItem struct {
		tag  string
		path string
		item obj
	}
	var items []pathItem
	used := map[string]bool{"ApiError": true}
	for _, sh := range shapes {
		var item obj
		tag := ""
		for _, rt := range c.e.routes {
			if rt.shape != sh || !rt.visible(c.e) {
				continue
			}
			if tag == "" {
				tag = rt.doc.tag
				item = obj{{"x-name", "endpoints.api." + rt.doc.tag}, {"x-path", sh.swagger}, {"x-tag", tag}}
				if pp := pathParams(sh.swagger); pp != nil {
					item = append(item, kv{"parameters", pp})
				}
			}
			params := pathParams(sh.swagger)
			for _, q := range rt.doc.query {
				d := queryDocs[q]
				params = append(params, obj{{"name", q}, {"in", "query"}, {"required", false}, {"description", d[1]}, {"type", d[0]}})
			}
			if rt.doc.body != "" {
				used[rt.doc.body] = true
				params = append(params, obj{{"name", "body"}, {"in", "body"}, {"required", !rt.doc.bodyOptnl},
					{"description", "Request body contents."}, {"schema", obj{{"$ref", "#/definitions/" + rt.doc.body}}}})
			}
			if params == nil {
				params = []any{}
			}
			op := obj{{"operationId", rt.doc.operationID}, {"parameters", params}, {"description", rt.doc.description}, {"tags", []string{rt.doc.tag}}}
			if rt.doc.scope != "" {
				op = append(op, kv{"security", []any{obj{{"oauth2_implicit", []string{rt.doc.scope}}}}})
			}
			apiErr := obj{{"$ref", "#/definitions/ApiError"}}
			responses := obj{
				{"400", obj{{"description", "Bad Request"}, {"schema", apiErr}}},
				{"401", obj{{"description", "Session required"}, {"schema", apiErr}}},
				{"403", obj{{"description", "Unauthorized access"}, {"schema", apiErr}}},
				{"404", obj{{"description", "Not found"}, {"schema", apiErr}}},
			}
			switch rt.method {
			case http.MethodPost:
				responses = append(responses, kv{"201", obj{{"description", "Successful creation"}}})
			case http.MethodDelete:
				responses = append(responses, kv{"204", obj{{"description", "Deleted"}}})
			default:
				ok := obj{{"description", "Successful invocation"}}
				if rt.doc.okResponse != "" {
					used[rt.doc.okResponse] = true
					ok = append(ok, kv{"schema", obj{{"$ref", "#/definitions/" + rt.doc.okResponse}}})
				}
				responses = append(responses, kv{"200", ok})
			}
			op = append(op, kv{"responses", responses})
			item = append(item, kv{strings.ToLower(rt.method), op})
		}
		if item != nil {
			items = append(items, pathItem{tag, sh.swagger, item})
		}
	}
	// Quay sorts paths by tag, keeping registration order within a tag.
	slices.SortStableFunc(items, func(a, b pathItem) int { return strings.Compare(a.tag, b.tag) })
	paths := make(obj, len(items))
	for i, it := range items {
		paths[i] = kv{it.path, it.item}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	slices.Sort(names)
	defs := make(obj, len(names))
	for i, n := range names {
		defs[i] = kv{n, c.e.defs[n]}
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	scopes := obj{
		{ScopeRepoRead, "This application will be able to view and pull all repositories visible to the granting user or robot account"},
		{ScopeRepoWrite, "This application will be able to view, push and pull to all repositories to which the granting user or robot account has write access"},
		{ScopeRepoAdmin, "This application will have administrator access to all repositories to which the granting user or robot account has access"},
		{ScopeRepoCreate, "This application will be able to create repositories in to any namespaces that the granting user or robot account is allowed to create repositories"},
		{ScopeUserRead, "This application will be able to read user information such as username and email address."},
		{ScopeOrgAdmin, "This application will be able to administer your organizations including creating robots, creating teams, adjusting team membership, and changing billing settings. You should have absolute trust in the requesting application before granting this permission."},
		{ScopeSuperUser, "This application will be able to administer your installation including managing users, managing organizations and other features found in the superuser panel. You should have absolute trust in the requesting application before granting this permission."},
		{ScopeUserAdmin, "This application will be able to administer your account including creating robots and granting them permissions to your repositories. You should have absolute trust in the requesting application before granting this permission."},
	}
	c.json(http.StatusOK, obj{
		{"swagger", "2.0"},
		{"host", c.r.Host},
		{"basePath", "/"},
		{"schemes", []string{scheme}},
		{"info", obj{{"version", "v1"}, {"title", "Quay Frontend"},
			{"description", "This API allows you to perform many of the operations required to work with Quay repositories, users, and organizations. (quaymirror emulator of Quay " + c.e.version.String() + ")"}}},
		{"securityDefinitions", obj{{"oauth2_implicit", obj{{"type", "oauth2"}, {"flow", "implicit"},
			{"authorizationUrl", scheme + "://" + c.r.Host + "/oauth/authorize"}, {"scopes", scopes}}}}},
		{"paths", paths},
		{"definitions", defs},
	})
}
