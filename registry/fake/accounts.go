package fake

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Accounts: organisations, users and their roles in organisations (what
// Quay's teams give), robots and repository permissions.

// Account is a user of the registry.
type Account struct {
	Name string
	// Superuser marks a Quay superuser.
	Superuser bool
}

// OrgRole is a user's role in an organisation, as Quay's teams give it.
type OrgRole string

// Organisation roles, weakest first.
const (
	// OrgMember sees the organisation but no repository by itself.
	OrgMember OrgRole = "member"
	// OrgCreator may create repositories (and administers those it
	// creates).
	OrgCreator OrgRole = "creator"
	// OrgAdmin administers the organisation and all its repositories.
	OrgAdmin OrgRole = "admin"
)

// Rank orders roles: 0 for none, then member, creator, admin.
func (r OrgRole) Rank() int {
	switch r {
	case OrgMember:
		return 1
	case OrgCreator:
		return 2
	case OrgAdmin:
		return 3
	}
	return 0
}

// AllOrganizations, as the organisation of SetOrgRole, gives the role in
// every organisation of the registry, present and future.
const AllOrganizations = "*"

type org struct {
	name   string
	repos  map[string]*repo
	order  []*repo // creation order (ascending id); repositories are never removed
	robots map[string]quaymirror.Robot
	// orgMirrored is the organisation-level mirror configuration as
	// seeded; it locks creation and state changes only while the
	// capability OrganizationMirroring is on.
	orgMirrored bool
}

// AddOrganization creates an organisation; an existing one is left alone.
func (r *Registry) AddOrganization(name string) error {
	if !quaymirror.ValidNamespace(name) {
		return fmt.Errorf("fake: invalid organization name %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.orgLocked(name)
	return nil
}

func (r *Registry) orgLocked(name string) *org {
	o := r.orgs[name]
	if o == nil {
		o = &org{name: name, repos: make(map[string]*repo), robots: make(map[string]quaymirror.Robot)}
		r.orgs[name] = o
	}
	return o
}

// Organizations returns the organisation names, sorted.
func (r *Registry) Organizations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.orgs))
}

// AddUser creates a user account (a superuser if superuser is set); an
// existing one is updated.
func (r *Registry) AddUser(name string, superuser bool) error {
	if !quaymirror.ValidNamespace(name) {
		return fmt.Errorf("fake: invalid user name %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accounts[name] = &Account{Name: name, Superuser: superuser}
	return nil
}

// Account returns a user account.
func (r *Registry) Account(name string) (Account, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.accounts[name]; a != nil {
		return *a, true
	}
	return Account{}, false
}

// SetOrgRole gives user a role in org, or in every organisation when org
// is AllOrganizations. An empty role removes it. The user must exist.
func (r *Registry) SetOrgRole(org, user string, role OrgRole) error {
	if role != "" && role.Rank() == 0 {
		return fmt.Errorf("fake: unknown organization role %q", role)
	}
	if org != AllOrganizations && !quaymirror.ValidNamespace(org) {
		return fmt.Errorf("fake: invalid organization name %q", org)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accounts[user] == nil {
		return fmt.Errorf("fake: no user %q", user)
	}
	if role == "" {
		delete(r.roles[org], user)
		return nil
	}
	if r.roles[org] == nil {
		r.roles[org] = make(map[string]OrgRole)
	}
	r.roles[org][user] = role
	return nil
}

// OrgRole returns user's role in an existing organisation ("" for none):
// the stronger of its role there and its role in every organisation. The
// registry's own user administers every organisation.
func (r *Registry) OrgRole(user, org string) OrgRole {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orgRoleLocked(user, org)
}

func (r *Registry) orgRoleLocked(user, org string) OrgRole {
	if user == "" || r.orgs[org] == nil {
		return ""
	}
	if user == r.user {
		return OrgAdmin
	}
	role := r.roles[org][user]
	if all := r.roles[AllOrganizations][user]; all.Rank() > role.Rank() {
		role = all
	}
	return role
}

// CurrentUser implements quaymirror.Authenticator: the user the context
// acts for (see AsUser) and the organisations where it has a role.
func (r *Registry) CurrentUser(ctx context.Context) (*quaymirror.User, error) {
	end, err := r.begin(ctx, OpCurrentUser, "", "")
	if err != nil {
		return nil, err
	}
	defer end()
	name, _ := r.actor(ctx)
	u := &quaymirror.User{Username: name}
	for _, o := range slices.Sorted(maps.Keys(r.orgs)) {
		if r.orgRoleLocked(name, o) != "" {
			u.Organizations = append(u.Organizations, o)
		}
	}
	return u, nil
}

// GetOrganization implements quaymirror.OrganizationReader, with the roles
// of the user the context acts for (the registry's own user administers
// every organisation).
func (r *Registry) GetOrganization(ctx context.Context, name string) (*quaymirror.Organization, error) {
	end, err := r.begin(ctx, OpGetOrganization, name, "")
	if err != nil {
		return nil, err
	}
	defer end()
	if r.orgs[name] == nil {
		return nil, notFound("organization %s", name)
	}
	user, _ := r.actor(ctx)
	role := r.orgRoleLocked(user, name)
	return &quaymirror.Organization{Name: name, IsAdmin: role == OrgAdmin, IsMember: role != ""}, nil
}

// AddRobot creates the robot org+short, and the organisation if needed.
func (r *Registry) AddRobot(orgName, short string) error {
	if !quaymirror.ValidNamespace(orgName) || !quaymirror.ValidRobotShortName(short) {
		return fmt.Errorf("fake: invalid robot %s+%s", orgName, short)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgLocked(orgName)
	o.robots[short] = quaymirror.Robot{Name: orgName + "+" + short}
	return nil
}

// Robot returns the robot org+short.
func (r *Registry) Robot(orgName, short string) (quaymirror.Robot, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.robotLocked(orgName, short)
}

func (r *Registry) robotLocked(orgName, short string) (quaymirror.Robot, bool) {
	o := r.orgs[orgName]
	if o == nil {
		return quaymirror.Robot{}, false
	}
	rb, ok := o.robots[short]
	return rb, ok
}

// Robots returns the organisation's robots sorted by name.
func (r *Registry) Robots(orgName string) []quaymirror.Robot {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	if o == nil {
		return nil
	}
	out := slices.Collect(maps.Values(o.robots))
	slices.SortFunc(out, func(a, b quaymirror.Robot) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// SetRobotDescription sets the description of an existing robot.
func (r *Registry) SetRobotDescription(orgName, short, description string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rb, ok := r.robotLocked(orgName, short)
	if !ok {
		return notFound("robot %s+%s", orgName, short)
	}
	rb.Description = description
	r.orgs[orgName].robots[short] = rb
	return nil
}

// GetRobot implements quaymirror.RobotReader.
func (r *Registry) GetRobot(ctx context.Context, orgName, shortname string) (*quaymirror.Robot, error) {
	end, err := r.begin(ctx, OpGetRobot, orgName, shortname)
	if err != nil {
		return nil, err
	}
	defer end()
	if r.orgs[orgName] == nil {
		return nil, notFound("organization %s", orgName)
	}
	rb, ok := r.robotLocked(orgName, shortname)
	if !ok {
		return nil, notFound("Could not find robot with specified username")
	}
	return &rb, nil
}

// robotNameRe is validate_username's expression, which Quay applies to
// robot short names (quaymirror.ValidRobotShortName adds the length).
var robotNameRe = regexp.MustCompile(`^([a-z0-9]+(?:[._-][a-z0-9]+)*)$`)

// CreateRobot implements quaymirror.RobotCreator: Quay's robot name rule,
// ErrAlreadyExists for an existing robot.
func (r *Registry) CreateRobot(ctx context.Context, orgName, shortname, description string) (*quaymirror.Robot, error) {
	end, err := r.begin(ctx, OpCreateRobot, orgName, shortname)
	if err != nil {
		return nil, err
	}
	defer end()
	o := r.orgs[orgName]
	switch {
	case o == nil:
		return nil, notFound("organization %s", orgName)
	case !robotNameRe.MatchString(shortname):
		return nil, invalid("The name for the robot '%s' is invalid: Namespace must match expression %s", shortname, robotNameRe)
	case len(shortname) < 2 || len(shortname) > 255:
		return nil, invalid("The name for the robot '%s' is invalid: Namespace must be between 2 and 255 characters in length", shortname)
	}
	if _, ok := o.robots[shortname]; ok {
		return nil, refuse(quaymirror.ErrAlreadyExists, "Existing robot with name: %s+%s", orgName, shortname)
	}
	rb := quaymirror.Robot{Name: orgName + "+" + shortname, Description: description}
	o.robots[shortname] = rb
	return &rb, nil
}

// SetPermission implements quaymirror.PermissionWriter. The user must be
// a robot of the repository's organisation or a known user (an account,
// or the registry's own user), as Quay requires.
func (r *Registry) SetPermission(ctx context.Context, namespace, name, user string, role quaymirror.Role) error {
	_, rp, end, err := r.beginRepo(ctx, OpSetPermission, namespace, name, r.repoLocked)
	if err != nil {
		return err
	}
	defer end()
	switch role {
	case quaymirror.RoleRead, quaymirror.RoleWrite, quaymirror.RoleAdmin:
	default:
		return invalid("role %q is not read, write or admin", role)
	}
	if robotOrg, short, isRobot := strings.Cut(user, "+"); isRobot {
		if _, ok := r.robotLocked(robotOrg, short); !ok {
			return invalid("Invalid username: %s", user)
		}
		if robotOrg != namespace {
			return invalid("Cannot add robot %s under namespace %s", user, namespace)
		}
	} else if r.accounts[user] == nil && user != r.user {
		return invalid("Invalid username: %s", user)
	}
	rp.perms[user] = role
	return nil
}

// GrantPermission sets the role of user (a user or a robot "org+short") on
// a repository without any check; an empty role removes the permission.
func (r *Registry) GrantPermission(namespace, name, user string, role quaymirror.Role) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	if role == "" {
		delete(rp.perms, user)
		return nil
	}
	rp.perms[user] = role
	return nil
}

// Permission returns the role of user on a repository ("" for none).
func (r *Registry) Permission(namespace, name, user string) quaymirror.Role {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return ""
	}
	return rp.perms[user]
}

// visibleLocked reports whether l's listing shows rp of o, as Quay's
// filter_to_repos_for_user does: public repositories when asked for, and
// those the user reaches by an organisation admin role or a permission.
func (r *Registry) visibleLocked(l Listing, o *org, rp *repo) bool {
	switch {
	case l.All, l.Public && rp.r.Visibility == quaymirror.Public:
		return true
	case l.User == "":
		return false
	}
	return r.orgRoleLocked(l.User, o.name) == OrgAdmin || rp.perms[l.User] != ""
}

// Token is an OAuth access token: it acts for User, and its Scopes cap
// what it may do there (a token generated with every box ticked carries
// AllScopes).
type Token struct {
	// Token is the bearer value.
	Token string `json:"token"`
	User  string `json:"user"`
	// Scopes cap what the token may do, as in Quay: the effective role
	// is the lower of the user's role and the scopes' ceiling.
	Scopes []string `json:"scopes"`
	// Expired tokens are refused like unknown ones.
	Expired bool `json:"expired,omitempty"`
}

// OAuth scopes Quay knows.
const (
	ScopeRepoRead   = "repo:read"
	ScopeRepoWrite  = "repo:write"
	ScopeRepoAdmin  = "repo:admin"
	ScopeRepoCreate = "repo:create"
	ScopeOrgAdmin   = "org:admin"
	ScopeUserRead   = "user:read"
	ScopeUserAdmin  = "user:admin"
	ScopeSuperUser  = "super:user"
)

// AllScopes returns every scope a Quay application can grant.
func AllScopes() []string {
	return []string{ScopeRepoRead, ScopeRepoWrite, ScopeRepoAdmin, ScopeRepoCreate, ScopeOrgAdmin, ScopeUserRead, ScopeUserAdmin, ScopeSuperUser}
}

// AddToken adds (or replaces) a token acting for an existing user.
func (r *Registry) AddToken(t Token) error {
	if t.Token == "" || strings.ContainsAny(t.Token, " \t\r\n") {
		return fmt.Errorf("fake: a token must be non-empty, without spaces")
	}
	for _, s := range t.Scopes {
		if !slices.Contains(AllScopes(), s) {
			return fmt.Errorf("fake: unknown scope %q", s)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accounts[t.User] == nil {
		return fmt.Errorf("fake: no user %q", t.User)
	}
	t.Scopes = slices.Clone(t.Scopes)
	r.tokens[t.Token] = &t
	return nil
}

// RevokeToken removes a token: it authenticates nobody any more.
func (r *Registry) RevokeToken(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.tokens, token)
}

// SetSuperusersFullAccess turns Quay's FEATURE_SUPERUSERS_FULL_ACCESS on
// or off: with it, a superuser's token carrying super:user passes every
// permission check.
func (r *Registry) SetSuperusersFullAccess(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.superFull = on
}

// Caller is who a request acts for: a user through one of its tokens, or
// nobody. Its methods are Quay's permission checks (auth/permissions.py):
// the user's roles and permissions, capped by the token's scopes. The zero
// Caller is anonymous.
type Caller struct {
	r       *Registry
	account Account
	scopes  []string
}

// Authenticate returns who token acts for: its user, or an anonymous
// Caller for an unknown, expired or revoked token.
func (r *Registry) Authenticate(token string) Caller {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tokens[token]
	if t == nil || t.Expired || r.accounts[t.User] == nil {
		return Caller{r: r}
	}
	return Caller{r: r, account: *r.accounts[t.User], scopes: t.Scopes}
}

// Anonymous reports a Caller acting for nobody.
func (c Caller) Anonymous() bool { return c.account.Name == "" }

// Name is the user's name, "" when anonymous.
func (c Caller) Name() string { return c.account.Name }

// Superuser reports a superuser.
func (c Caller) Superuser() bool { return c.account.Superuser }

// HasScope reports whether the token carries scope.
func (c Caller) HasScope(scope string) bool { return slices.Contains(c.scopes, scope) }

// Context returns ctx acting for the caller's user (see AsUser).
func (c Caller) Context(ctx context.Context) context.Context { return AsUser(ctx, c.Name()) }

// FullAccess reports a superuser with full access acting through a token
// with the super:user scope.
func (c Caller) FullAccess() bool {
	if c.r == nil || !c.Superuser() || !c.HasScope(ScopeSuperUser) {
		return false
	}
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	return c.r.superFull
}

// UserRank is what the scopes allow on the user's own account: 0 none,
// 1 read, 2 admin.
func (c Caller) UserRank() int {
	switch {
	case c.HasScope(ScopeUserAdmin):
		return 2
	case c.HasScope(ScopeUserRead):
		return 1
	}
	return 0
}

// OrgRank is the user's role in org (OrgRole.Rank) capped by the scopes:
// org:admin allows admin, repo:create creator.
func (c Caller) OrgRank(org string) int {
	if c.r == nil {
		return 0
	}
	limit := 0
	switch {
	case c.HasScope(ScopeOrgAdmin):
		limit = OrgAdmin.Rank()
	case c.HasScope(ScopeRepoCreate):
		limit = OrgCreator.Rank()
	}
	return min(c.r.OrgRole(c.Name(), org).Rank(), limit)
}

// IsOrgAdmin is AdministerOrganizationPermission.
func (c Caller) IsOrgAdmin(org string) bool { return c.OrgRank(org) == OrgAdmin.Rank() }

// CanCreate is CreateRepositoryPermission (or a superuser with full
// access).
func (c Caller) CanCreate(org string) bool {
	return c.FullAccess() || c.OrgRank(org) >= OrgCreator.Rank()
}

// roleRanks orders repository roles.
var roleRanks = map[quaymirror.Role]int{quaymirror.RoleRead: 1, quaymirror.RoleWrite: 2, quaymirror.RoleAdmin: 3}

// Can reports whether the caller has role on the repository namespace/name
// (which need not exist): organisation admins administer every repository
// of the organisation, explicit permissions add to that, the scopes
// (repo:read, repo:write, repo:admin) cap both, and anyone may read a
// public repository.
func (c Caller) Can(role quaymirror.Role, namespace, name string, public bool) bool {
	if c.FullAccess() {
		return true
	}
	have := 0
	if !c.Anonymous() && c.r != nil {
		if c.r.OrgRole(c.Name(), namespace) == OrgAdmin {
			have = roleRanks[quaymirror.RoleAdmin]
		}
		have = max(have, roleRanks[c.r.Permission(namespace, name, c.Name())])
		limit := 0
		switch {
		case c.HasScope(ScopeRepoAdmin):
			limit = 3
		case c.HasScope(ScopeRepoWrite):
			limit = 2
		case c.HasScope(ScopeRepoRead):
			limit = 1
		}
		have = min(have, limit)
	}
	if public {
		have = max(have, roleRanks[quaymirror.RoleRead])
	}
	return have >= roleRanks[role]
}

// Listing is what the caller's repository listing shows: Quay's listing
// query joins permissions without looking at scopes.
func (c Caller) Listing(public bool) Listing {
	return Listing{User: c.Name(), Public: public, All: c.FullAccess()}
}
