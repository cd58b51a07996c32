package quaytest

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// ReposPerPage is Quay's REPOS_PER_PAGE.
const ReposPerPage = 100

// maxTags is how many tags GET /repository/{repo} returns at most.
const maxTags = 500

// truthy is util.parsing.truthy_bool for query parameters.
func truthy(q url.Values, name string, def bool) bool {
	if !q.Has(name) {
		return def
	}
	switch q.Get(name) {
	case "false", "False", "FALSE", "0", "", "null":
		return false
	}
	return true
}

// GET /api/v1/repository
func (c *call) listRepositories() {
	q := c.r.URL.Query()
	ns := q.Get("namespace")
	starred, public := truthy(q, "starred", false), truthy(q, "public", false)
	lastModified, popularity := truthy(q, "last_modified", false), truthy(q, "popularity", false)
	if ns == "" && !starred && !public {
		c.invalid("namespace, starred or public are required for this API call")
		return
	}
	if starred && c.who.user == nil {
		c.message(http.StatusBadRequest, "The browser (or proxy) sent a request that this server could not understand.")
		return
	}
	kind := q.Get("repo_kind")
	switch {
	case kind == "" || kind == "image":
	case kind == "application" && c.e.version.applicationRepos():
		c.json(http.StatusOK, obj{{"repositories", []any{}}})
		return
	default:
		c.message(http.StatusBadRequest, "Unknown repository kind")
		return
	}
	if starred {
		// Nobody stars anything in the emulator.
		c.json(http.StatusOK, obj{{"repositories", []any{}}})
		return
	}

	scope := fmt.Sprintf("%s|%v", ns, public)
	start := c.e.decodePageToken(q.Get("next_page"), "repos", scope)
	page, next := c.e.repoPage(c.who, ns, public, start)
	items := make([]any, len(page))
	for i, r := range page {
		o := obj{
			{"namespace", r.Namespace}, {"name", r.Name}, {"description", r.Description},
			{"is_public", r.Visibility == quaymirror.Public}, {"kind", "image"}, {"state", r.State},
		}
		if lastModified {
			o = append(o, kv{"last_modified", nil})
		}
		if popularity {
			o = append(o, kv{"popularity", 0.0})
		}
		if c.who.user != nil {
			o = append(o, kv{"is_starred", false})
		}
		items[i] = o
	}
	body := obj{{"repositories", items}}
	if next >= 0 {
		body = append(body, kv{"next_page", c.e.encodePageToken("repos", scope, next)})
	}
	c.json(http.StatusOK, body)
}

// repoPage returns the page of visible repositories starting at position
// start of the listing, and the position of the next page (-1 when none).
// A namespace lists that organisation in creation order; no namespace
// (public=true) lists every organisation's public repositories,
// organisations in name order. Cost: O(page) plus the invisible
// repositories skipped.
func (e *Emulator) repoPage(c *caller, ns string, public bool, start int) ([]quaymirror.Repository, int) {
	type source struct {
		org  string
		base int // listing position of the organisation's first repository
	}
	var sources []source
	if ns != "" {
		sources = []source{{ns, 0}}
	} else {
		base := 0
		for _, org := range e.reg.Organizations() {
			sources = append(sources, source{org, base})
			base += e.reg.RepositoryCount(org)
		}
	}
	var page []quaymirror.Repository
	next := -1
	const chunk = ReposPerPage + 1
	for _, src := range sources {
		all := ns != "" && (e.superFull(c) || e.orgRole(c.name(), src.org) == OrgAdmin)
		pos := max(start-src.base, 0)
		for next < 0 {
			batch := e.reg.RepositoryRange(src.org, pos, chunk)
			if len(batch) == 0 {
				break
			}
			for i, r := range batch {
				if !all && !e.sees(c, r, public) {
					continue
				}
				if len(page) == ReposPerPage {
					next = src.base + pos + i
					break
				}
				page = append(page, r)
			}
			pos += len(batch)
		}
		if next >= 0 {
			break
		}
	}
	return page, next
}

// requireRepo checks the caller's role on the path's repository (which may
// not exist): Quay checks permissions before looking the repository up,
// so a missing repository is 404 only for callers who would have had the
// role, 403 (401 anonymous) for others. It answers and returns ok false
// when the role is missing.
func (c *call) requireRepo(role int) (repo quaymirror.Repository, exists, ok bool) {
	repo, exists = c.e.reg.Repository(c.ns, c.name)
	if c.e.repoRank(c.who, c.ns, c.name, exists && repo.Visibility == quaymirror.Public) < role {
		c.unauthorized()
		return repo, exists, false
	}
	return repo, exists, true
}

// GET /api/v1/repository/{repo}
func (c *call) getRepository() {
	repo, exists, ok := c.requireRepo(rankRead)
	if !ok {
		return
	}
	if !exists {
		c.notFound()
		return
	}
	rank := c.e.repoRank(c.who, c.ns, c.name, repo.Visibility == quaymirror.Public)
	o := obj{
		{"namespace", repo.Namespace}, {"name", repo.Name}, {"kind", "image"},
		{"description", repo.Description}, {"is_public", repo.Visibility == quaymirror.Public},
		{"is_organization", true}, {"is_starred", false}, {"status_token", ""},
		{"trust_enabled", false}, {"tag_expiration_s", 1209600}, {"is_free_account", true},
		{"state", repo.State},
	}
	if truthy(c.r.URL.Query(), "includeTags", true) {
		tags, _ := c.e.reg.Tags(c.ns, c.name)
		tags = newestFirst(tags)
		if len(tags) > maxTags {
			tags = tags[:maxTags]
		}
		view := make(obj, 0, len(tags))
		for _, t := range tags {
			view = append(view, kv{t.Name, obj{
				{"name", t.Name}, {"size", 0}, {"last_modified", rfc2822(t.LastModified)},
				{"manifest_digest", t.Digest},
			}})
		}
		o = append(o, kv{"tags", view})
	}
	o = append(o,
		kv{"can_write", rank >= rankWrite && repo.State == quaymirror.StateNormal},
		kv{"can_admin", rank >= rankAdmin})
	c.json(http.StatusOK, o)
}

// PUT /api/v1/repository/{repo}: update the description.
func (c *call) updateRepository() {
	if _, _, ok := c.requireRepo(rankWrite); !ok {
		return
	}
	data, ok := c.body(c.e.defs["RepoUpdate"], false)
	if !ok {
		return
	}
	c.e.wmu.Lock()
	defer c.e.wmu.Unlock()
	if err := c.e.reg.SetDescription(c.ns, c.name, data["description"].(string)); err != nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{{"success", true}})
}

// DELETE /api/v1/repository/{repo}. Quay answers 204 even for a missing
// repository (mark_repository_for_deletion returns None), which is what a
// DELETE of .../mirror gets: there is no mirror DELETE, the path is a
// repository named "<name>/mirror". The emulator keeps every existing
// repository: 501.
func (c *call) deleteRepository() {
	_, exists, ok := c.requireRepo(rankAdmin)
	if !ok {
		return
	}
	if !exists {
		c.noContent()
		return
	}
	c.message(http.StatusNotImplemented, "The quaymirror emulator does not delete repositories.")
}

// POST /api/v1/repository
func (c *call) createRepository() {
	data, ok := c.body(c.e.defs["NewRepo"], false)
	if !ok {
		return
	}
	ns := c.who.name()
	if v, ok := data["namespace"].(string); ok {
		ns = v
	}
	name := data["repository"].(string)
	if !c.e.canCreate(c.who, ns) {
		c.unauthorized()
		return
	}
	c.e.wmu.Lock()
	defer c.e.wmu.Unlock()
	if _, exists := c.e.reg.Repository(ns, name); exists {
		c.invalid("Repository already exists")
		return
	}
	if !quaymirror.ValidRepositoryName(name) {
		c.invalid("Invalid repository name")
		return
	}
	if c.e.orgMirrorOn() && c.e.reg.IsOrganizationMirrored(ns) {
		c.invalid("Cannot create repository: organization is managed by organization-level mirroring")
		return
	}
	if kind, _ := data["repo_kind"].(string); kind == "application" {
		c.invalid("The quaymirror emulator has no application repositories.")
		return
	}
	vis := quaymirror.Visibility(data["visibility"].(string))
	err := c.e.reg.AddRepository(quaymirror.Repository{
		Namespace: ns, Name: name, Description: data["description"].(string),
		Visibility: vis, State: quaymirror.StateNormal,
	})
	if err != nil {
		c.invalid(err.Error())
		return
	}
	// The creator administers what it creates.
	if u := c.who.name(); u != "" {
		_ = c.e.reg.GrantPermission(ns, name, u, quaymirror.RoleAdmin)
	}
	c.json(http.StatusCreated, obj{{"namespace", ns}, {"name", name}, {"kind", "image"}})
}

// PUT /api/v1/repository/{repo}/changestate
func (c *call) changeState() {
	if _, _, ok := c.requireRepo(rankAdmin); !ok {
		return
	}
	data, ok := c.body(c.e.defs["ChangeRepoState"], false)
	if !ok {
		return
	}
	c.e.wmu.Lock()
	defer c.e.wmu.Unlock()
	if _, exists := c.e.reg.Repository(c.ns, c.name); !exists {
		c.notFound()
		return
	}
	if c.e.orgMirrorOn() && c.e.reg.IsOrganizationMirrored(c.ns) {
		c.detail(http.StatusBadRequest, "Repository state changes are not allowed in an organization managed by organization-level mirroring")
		return
	}
	state := quaymirror.State(data["state"].(string))
	if err := c.e.reg.SetState(c.ns, c.name, state); err != nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{{"success", true}})
}
