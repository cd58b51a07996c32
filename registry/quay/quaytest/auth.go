package quaytest

import (
	"context"
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// authenticate reads "Authorization: Bearer <token>" and asks the
// registry who the token acts for. Anything else (Basic auth, robot
// credentials) is anonymous, as are unknown or expired tokens: Quay's API
// only accepts OAuth bearer tokens and session cookies.
func (e *Emulator) authenticate(r *http.Request) fake.Caller {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return e.reg.Authenticate("")
	}
	return e.reg.Authenticate(strings.TrimSpace(tok))
}

// ctx is the request's context acting for the caller in the registry.
func (c *call) ctx() context.Context { return c.who.Context(c.r.Context()) }

// requireRepo checks the caller's role on the path's repository (which may
// not exist): Quay checks permissions before looking the repository up,
// so a missing repository is 404 only for callers who would have had the
// role, 403 (401 anonymous) for others. It answers and returns ok false
// when the role is missing.
func (c *call) requireRepo(role quaymirror.Role) (repo quaymirror.Repository, exists, ok bool) {
	repo, exists = c.e.reg.Repository(c.ns, c.name)
	if !c.who.Can(role, c.ns, c.name, exists && repo.Visibility == quaymirror.Public) {
		c.unauthorized()
		return repo, exists, false
	}
	return repo, exists, true
}

// requireMirrorRepo is the common start of the mirror endpoints: repo
// admin.
func (c *call) requireMirrorRepo() bool {
	_, _, ok := c.requireRepo(quaymirror.RoleAdmin)
	return ok
}

// orgAdmin checks AdministerOrganizationPermission (or a superuser with
// full access), answering Unauthorized when it fails.
func (c *call) orgAdmin() bool {
	if c.who.IsOrgAdmin(c.org) || c.who.FullAccess() {
		return true
	}
	c.unauthorized()
	return false
}
