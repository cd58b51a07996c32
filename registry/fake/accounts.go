package fake

import (
	"context"
	"fmt"
	"maps"
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
	case !quaymirror.ValidRobotShortName(shortname):
		return nil, invalid("Invalid robot account name %q", shortname)
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
	end, err := r.begin(ctx, OpSetPermission, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
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
