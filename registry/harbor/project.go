package harbor

import (
	"context"
	"net/http"
	"slices"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Harbor's project roles (current_user_role_ids).
const (
	roleProjectAdmin = 1
)

// project is Harbor's Project definition, the fields read.
type project struct {
	Name               string `json:"name"`
	CurrentUserRoleID  int    `json:"current_user_role_id"`
	CurrentUserRoleIDs []int  `json:"current_user_role_ids"`
	Metadata           struct {
		Public string `json:"public"`
	} `json:"metadata"`
}

// GetOrganization implements quaymirror.OrganizationReader: the project
// name (GET /api/v2.0/projects/{name}, by name). IsMember reports a
// project role, IsAdmin the project administrator's. A missing project
// yields ErrNotFound for a system administrator; anyone else gets
// ErrForbidden (Harbor does not tell them whether it exists), and an
// anonymous client ErrUnauthorized.
func (c *Client) GetOrganization(ctx context.Context, name string) (*quaymirror.Organization, error) {
	pp, err := projectPath(name)
	if err != nil {
		return nil, err
	}
	rep, err := c.get(ctx, apiPrefix+"/projects/"+pp, "", http.Header{"X-Is-Resource-Name": {"true"}})
	if err != nil {
		return nil, err
	}
	switch {
	case rep.Status == http.StatusUnauthorized:
		return nil, c.unauthorized(rep, name)
	case rep.Status == http.StatusForbidden:
		e := fail(rep)
		e.Message = "the credentials may not read project " + name + ", or it does not exist (Harbor does not say which)"
		return nil, e
	case !rep.OK():
		return nil, fail(rep)
	}
	var p project
	if err := rep.Decode(&p); err != nil {
		return nil, err
	}
	roles := p.CurrentUserRoleIDs
	if len(roles) == 0 && p.CurrentUserRoleID != 0 {
		roles = []int{p.CurrentUserRoleID}
	}
	return &quaymirror.Organization{Name: p.Name, IsMember: len(roles) > 0, IsAdmin: slices.Contains(roles, roleProjectAdmin)}, nil
}
