package quaytest

import (
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// caller is who a request acts for.
type caller struct {
	// user is nil for anonymous requests, including those bearing an
	// unknown or expired token.
	user *user
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
	tok = strings.TrimSpace(tok)
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tokens[tok]
	if t == nil || t.Expired {
		return &caller{}
	}
	u := e.users[t.User]
	if u == nil {
		return &caller{}
	}
	c := &caller{user: u, valid: true, scopes: make(map[string]bool, len(t.Scopes))}
	for _, s := range t.Scopes {
		c.scopes[s] = true
	}
	return c
}

func (c *caller) name() string {
	if c.user == nil {
		return ""
	}
	return c.user.name
}

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
		return OrgAdmin.rank()
	case c.scopes[ScopeRepoCreate]:
		return OrgCreator.rank()
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
	return c.user != nil && c.user.superuser && c.scopes[ScopeSuperUser] && e.features.SuperusersFullAccess
}

// orgRole is the user's real role in an existing organisation.
func (e *Emulator) orgRole(username, org string) OrgRole {
	if username == "" || !e.reg.HasOrganization(org) {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	role := e.roles[org][username]
	if all := e.roles[AllOrganizations][username]; all.rank() > role.rank() {
		role = all
	}
	return role
}

// orgRank is the caller's role in org capped by its scopes.
func (e *Emulator) orgRank(c *caller, org string) int {
	return min(e.orgRole(c.name(), org).rank(), c.teamCap())
}

// isOrgAdmin is AdministerOrganizationPermission.
func (e *Emulator) isOrgAdmin(c *caller, org string) bool {
	return e.orgRank(c, org) == OrgAdmin.rank()
}

// canCreate is CreateRepositoryPermission (or a superuser with full
// access).
func (e *Emulator) canCreate(c *caller, org string) bool {
	return e.superFull(c) || e.orgRank(c, org) >= OrgCreator.rank()
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
		if e.orgRole(u, ns) == OrgAdmin {
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

// sees reports whether a repository appears in the caller's listing:
// Quay's listing query joins permissions without looking at scopes.
func (e *Emulator) sees(c *caller, r quaymirror.Repository, withPublic bool) bool {
	if withPublic && r.Visibility == quaymirror.Public {
		return true
	}
	u := c.name()
	if u == "" {
		return false
	}
	if e.superFull(c) || e.orgRole(u, r.Namespace) == OrgAdmin {
		return true
	}
	return e.reg.Permission(r.Namespace, r.Name, u) != ""
}
