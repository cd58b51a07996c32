package quaytest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
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
	if starred && c.who.Anonymous() {
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
	token := c.e.decodePageToken(q.Get("next_page"), "repos", scope)
	page, err := c.e.reg.ListRepositoriesAs(c.ctx(), c.who.Listing(public), ns, token)
	if err != nil {
		c.fail(err)
		return
	}
	items := make([]any, len(page.Repositories))
	for i, r := range page.Repositories {
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
		if !c.who.Anonymous() {
			o = append(o, kv{"is_starred", false})
		}
		items[i] = o
	}
	body := obj{{"repositories", items}}
	if page.Next != "" {
		body = append(body, kv{"next_page", c.e.encodePageToken("repos", scope, page.Next)})
	}
	c.json(http.StatusOK, body)
}

// GET /api/v1/repository/{repo}
func (c *call) getRepository() {
	if _, _, ok := c.requireRepo(quaymirror.RoleRead); !ok {
		return
	}
	got, err := c.e.reg.GetRepository(c.ctx(), c.ns, c.name)
	if err != nil {
		c.fail(err)
		return
	}
	repo := *got
	public := repo.Visibility == quaymirror.Public
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
		kv{"can_write", c.who.Can(quaymirror.RoleWrite, c.ns, c.name, public) && repo.State == quaymirror.StateNormal},
		kv{"can_admin", c.who.Can(quaymirror.RoleAdmin, c.ns, c.name, public)})
	c.json(http.StatusOK, o)
}

// PUT /api/v1/repository/{repo}: update the description.
func (c *call) updateRepository() {
	if _, _, ok := c.requireRepo(quaymirror.RoleWrite); !ok {
		return
	}
	data, ok := c.body(c.e.defs["RepoUpdate"], false)
	if !ok {
		return
	}
	if err := c.e.reg.UpdateDescription(c.ctx(), c.ns, c.name, data["description"].(string)); err != nil {
		c.fail(err)
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
	_, exists, ok := c.requireRepo(quaymirror.RoleAdmin)
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
	ns := c.who.Name()
	if v, ok := data["namespace"].(string); ok {
		ns = v
	}
	name := data["repository"].(string)
	if !c.who.CanCreate(ns) {
		c.unauthorized()
		return
	}
	if kind, _ := data["repo_kind"].(string); kind == "application" {
		c.invalid("The quaymirror emulator has no application repositories.")
		return
	}
	err := c.e.reg.CreateRepository(c.ctx(), quaymirror.Repository{
		Namespace: ns, Name: name, Description: data["description"].(string),
		Visibility: quaymirror.Visibility(data["visibility"].(string)),
	})
	if err != nil {
		c.invalidRequest(err, quaymirror.ErrForbidden)
		return
	}
	c.json(http.StatusCreated, obj{{"namespace", ns}, {"name", name}, {"kind", "image"}})
}

// PUT /api/v1/repository/{repo}/changestate
func (c *call) changeState() {
	if _, _, ok := c.requireRepo(quaymirror.RoleAdmin); !ok {
		return
	}
	data, ok := c.body(c.e.defs["ChangeRepoState"], false)
	if !ok {
		return
	}
	err := c.e.reg.ChangeState(c.ctx(), c.ns, c.name, quaymirror.State(data["state"].(string)))
	if errors.Is(err, quaymirror.ErrOrgMirrored) {
		c.detail(http.StatusBadRequest, err.(*fake.Error).Message)
		return
	}
	if err != nil {
		c.fail(err)
		return
	}
	c.json(http.StatusOK, obj{{"success", true}})
}
