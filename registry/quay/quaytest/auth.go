package quaytest

import (
	"context"
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// caller is who a request acts for.
type caller struct {
	// user is nil for anonymous requests, including those bearing an
	// unknown or expired token.
	user *fake.Account
	// valid reports a valid bearer token (which exempts from CSRF).
	valid  bool
	scopes map[string]bool
}

// authenticate reads "Authorization: Bearer <token>". Anything else
// (Basic auth, robot credentials, unknown or expired tokens) is anonymous:
// Quay's API only accepts OAuth bearer tokens and session cookies.
func (e *Emulator) authenticate(r *http.Request) *caller {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return &caller{}
	}
	e.mu.Lock()
	t := e.tokens[strings.TrimSpace(tok)]
	e.mu.Unlock()
	if t == nil || t.Expired {
		return &caller{}
	}
	u, ok := e.reg.Account(t.User)
	if !ok {
		return &caller{}
	}
	c := &caller{user: &u, valid: true, scopes: make(map[string]bool, len(t.Scopes))}
	for _, s := range t.Scopes {
		c.scopes[s] = true
	}
	return c
}

func (c *caller) name() string {
	if c.user == nil {
		return ""
	}
	return c.user.Name
}

// ctx is the request's context acting for the caller in the registry.
func (c *call) ctx() context.Context { return fake.AsUser(c.r.Context(), c.who.name()) }

// Role ranks: repository roles [none, read, write, admin]; team roles
// [none, member, creator, admin] (auth/permissions.py).
const (
	rankNone = iota
	rankRead
	rankWrite
	rankAdmin
)

func roleRank(r quaymirror.Role) int {
	switch r {
	case quaymirror.RoleRead:
		return rankRead
	case quaymirror.RoleWrite:
		return rankWrite
	case quaymirror.RoleAdmin:
		return rankAdmin
	}
	return rankNone
}

// repoCap is the highest repository role the token's scopes allow.
func (c *caller) repoCap() int {
	switch {
	case c.scopes[ScopeRepoAdmin]:
		return rankAdmin
	case c.scopes[ScopeRepoWrite]:
		return rankWrite
	case c.scopes[ScopeRepoRead]:
		return rankRead
	}
	return rankNone
}

// teamCap is the highest organisation (team) role the scopes allow.
func (c *caller) teamCap() int {
	switch {
	case c.scopes[ScopeOrgAdmin]:
		return OrgAdmin.Rank()
	case c.scopes[ScopeRepoCreate]:
		return OrgCreator.Rank()
	}
	return 0
}

// userCap is the highest role on the user's own account the scopes allow:
// 1 read, 2 admin.
func (c *caller) userCap() int {
	switch {
	case c.scopes[ScopeUserAdmin]:
		return 2
	case c.scopes[ScopeUserRead]:
		return 1
	}
	return 0
}

// superFull reports a superuser with full access acting through a token
// with the super:user scope.
func (e *Emulator) superFull(c *caller) bool {
	return c.user != nil && c.user.Superuser && c.scopes[ScopeSuperUser] && e.features.SuperusersFullAccess
}

// orgRank is the caller's role in org capped by its scopes.
func (e *Emulator) orgRank(c *caller, org string) int {
	return min(e.reg.OrgRole(c.name(), org).Rank(), c.teamCap())
}

// isOrgAdmin is AdministerOrganizationPermission.
func (e *Emulator) isOrgAdmin(c *caller, org string) bool {
	return e.orgRank(c, org) == OrgAdmin.Rank()
}

// canCreate is CreateRepositoryPermission (or a superuser with full
// access).
func (e *Emulator) canCreate(c *caller, org string) bool {
	return e.superFull(c) || e.orgRank(c, org) >= OrgCreator.Rank()
}

// repoRank is the caller's effective role on a repository (which may not
// exist): organisation admins administer every repository of the
// organisation, explicit permissions add to that, scopes cap both, and
// public repositories are readable by anyone.
func (e *Emulator) repoRank(c *caller, ns, name string, public bool) int {
	if e.superFull(c) {
		return rankAdmin
	}
	r := rankNone
	if u := c.name(); u != "" {
		if e.reg.OrgRole(u, ns) == OrgAdmin {
			r = rankAdmin
		}
		r = max(r, roleRank(e.reg.Permission(ns, name, u)))
		r = min(r, c.repoCap())
	}
	if public {
		r = max(r, rankRead)
	}
	return r
}

// listing is what the caller's repository listing shows: Quay's listing
// query joins permissions without looking at scopes.
func (e *Emulator) listing(c *caller, public bool) fake.Listing {
	return fake.Listing{User: c.name(), Public: public, All: e.superFull(c)}
}
