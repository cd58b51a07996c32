package quaytest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

func avatar(name, kind string) obj {
	sum := sha256.Sum256([]byte(name))
	return obj{{"name", name}, {"hash", hex.EncodeToString(sum[:16])}, {"color", "#1f77b4"}, {"kind", kind}}
}

// GET /api/v1/user/
func (c *call) getUser() {
	if c.who.Anonymous() || c.who.UserRank() == 0 {
		// A token without user:read or user:admin cannot read its own
		// account: UserReadPermission is capped by the scopes.
		c.apiError(http.StatusUnauthorized, "invalid_token", "Requires authentication", kv{"session_required", false})
		return
	}
	cu, err := c.e.reg.CurrentUser(c.ctx())
	if err != nil {
		c.fail(err)
		return
	}
	o := obj{{"anonymous", false}, {"username", cu.Username}, {"avatar", avatar(cu.Username, "user")}}
	isAdmin := c.who.UserRank() == 2
	if isAdmin {
		o = append(o, kv{"can_create_repo", true}, kv{"is_me", true}, kv{"verified", true},
			kv{"email", cu.Username + "@example.com"}, kv{"logins", []any{}}, kv{"invoice_email", false},
			kv{"invoice_email_address", nil}, kv{"preferred_namespace", false}, kv{"tag_expiration_s", 1209600},
			kv{"prompts", []any{}}, kv{"company", nil}, kv{"family_name", nil}, kv{"given_name", nil},
			kv{"location", nil}, kv{"is_free_account", true}, kv{"has_password_set", true})
	}
	var orgs []any
	for _, org := range cu.Organizations {
		ov := obj{{"name", org}, {"avatar", avatar(org, "org")}, {"can_create_repo", c.who.CanCreate(org)}, {"public", false}}
		if isAdmin {
			ov = append(ov, kv{"is_org_admin", c.who.IsOrgAdmin(org)}, kv{"preferred_namespace", false})
		}
		orgs = append(orgs, ov)
	}
	if orgs == nil {
		orgs = []any{}
	}
	o = append(o, kv{"organizations", orgs}, kv{"super_user", c.who.Superuser()})
	c.json(http.StatusOK, o)
}

// GET /api/v1/users/{username}
func (c *call) getUsers() {
	u, ok := c.e.reg.Account(c.username)
	if !ok {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{{"anonymous", false}, {"username", u.Name}, {"avatar", avatar(u.Name, "user")}, {"super_user", u.Superuser}})
}

// GET /api/v1/organization/{org}
func (c *call) getOrganization() {
	if _, err := c.e.reg.GetOrganization(c.ctx(), c.org); err != nil {
		c.fail(err)
		return
	}
	isAdmin := c.who.IsOrgAdmin(c.org)
	isMember := c.who.OrgRank(c.org) >= OrgMember.Rank()
	email := ""
	if isAdmin {
		email = c.org + "@example.com"
	}
	o := obj{{"name", c.org}, {"email", email}, {"avatar", avatar(c.org, "org")}, {"is_admin", isAdmin}, {"is_member", isMember}}
	if isMember {
		o = append(o, kv{"teams", obj{}}, kv{"ordered_teams", []any{}})
	}
	if isAdmin {
		o = append(o, kv{"invoice_email", false}, kv{"invoice_email_address", nil})
	}
	o = append(o, kv{"tag_expiration_s", 1209600}, kv{"is_free_account", true})
	c.json(http.StatusOK, o)
}

// robotToken is a stable, made-up robot token.
func robotToken(name string) string {
	sum := sha256.Sum256([]byte("robot:" + name))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func (c *call) robotView(rb quaymirror.Robot) obj {
	return obj{
		{"name", rb.Name}, {"created", rfc2822(c.e.started)}, {"last_accessed", nil},
		{"description", rb.Description}, {"token", robotToken(rb.Name)}, {"unstructured_metadata", obj{}},
	}
}

// GET /api/v1/organization/{org}/robots/{robot}
func (c *call) getRobot() {
	if !c.orgAdmin() {
		return
	}
	rb, err := c.e.reg.GetRobot(c.ctx(), c.org, c.robot)
	if errors.Is(err, quaymirror.ErrNotFound) {
		c.message(http.StatusBadRequest, "Could not find robot with specified username")
		return
	}
	if err != nil {
		c.fail(err)
		return
	}
	c.json(http.StatusOK, c.robotView(*rb))
}

// PUT /api/v1/organization/{org}/robots/{robot}
func (c *call) putRobot() {
	// validate_json_request wraps the handler, which checks the
	// permission itself: the body is validated first.
	data, ok := c.body(c.e.defs["CreateRobot"], true)
	if !ok {
		return
	}
	if !c.orgAdmin() {
		return
	}
	desc, _ := data["description"].(string)
	rb, err := c.e.reg.CreateRobot(c.ctx(), c.org, c.robot, desc)
	if err != nil {
		c.invalidRequest(err)
		return
	}
	c.json(http.StatusCreated, c.robotView(*rb))
}

// GET /api/v1/organization/{org}/robots
func (c *call) getRobots() {
	if c.who.OrgRank(c.org) < OrgMember.Rank() && !c.who.FullAccess() {
		c.unauthorized()
		return
	}
	admin := c.who.IsOrgAdmin(c.org)
	var out []any
	for _, rb := range c.e.reg.Robots(c.org) {
		o := obj{{"name", rb.Name}, {"created", rfc2822(c.e.started)}, {"last_accessed", nil},
			{"teams", []any{}}, {"repositories", []any{}}, {"description", rb.Description}}
		if admin && truthy(c.r.URL.Query(), "token", true) {
			o = append(o, kv{"token", robotToken(rb.Name)})
		}
		out = append(out, o)
	}
	if out == nil {
		out = []any{}
	}
	c.json(http.StatusOK, obj{{"robots", out}})
}

// GET /api/v1/organization/{org}/mirror (3.17+, FEATURE_ORG_MIRROR). The
// registry only knows whether an organisation is mirrored: the
// configuration shown is made up.
func (c *call) getOrgMirror() {
	if !c.orgAdmin() {
		return
	}
	if mirrored, err := c.e.reg.OrganizationMirrored(c.ctx(), c.org); err != nil || !mirrored {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{
		{"is_enabled", true}, {"external_registry_type", "quay"},
		{"external_registry_url", "https://quay.example.com"}, {"external_namespace", c.org},
		{"external_registry_username", nil}, {"has_external_registry_password", false},
		{"external_registry_config", obj{}}, {"repository_filters", []any{}},
		{"robot_username", nil}, {"visibility", "private"}, {"sync_interval", 86400},
		{"sync_start_date", isoformatZ(c.e.started)}, {"sync_expiration_date", nil},
		{"sync_status", "NEVER_RUN"}, {"sync_retries_remaining", 3},
		{"repo_sync_status_counts", obj{}}, {"skopeo_timeout", 300},
		{"creation_date", isoformatZ(c.e.started)},
	})
}

// PUT /api/v1/repository/{repo}/permissions/user/{username}
func (c *call) putUserPermission() {
	if _, _, ok := c.requireRepo(quaymirror.RoleAdmin); !ok {
		return
	}
	data, ok := c.body(c.e.defs["UserPermission"], false)
	if !ok {
		return
	}
	role := quaymirror.Role(data["role"].(string))
	err := c.e.reg.SetPermission(c.ctx(), c.ns, c.name, c.username, role)
	switch {
	case errors.Is(err, quaymirror.ErrNotFound):
		c.invalid("Invalid repository: " + c.ns + "/" + c.name)
		return
	case err != nil:
		c.invalidRequest(err)
		return
	}
	isRobot := strings.Contains(c.username, "+")
	o := obj{{"role", role}, {"name", c.username}, {"is_robot", isRobot}, {"avatar", avatar(c.username, "user")}}
	if !isRobot {
		o = append(o, kv{"is_org_member", c.e.reg.OrgRole(c.username, c.ns) != ""})
	}
	c.json(http.StatusOK, o)
}
