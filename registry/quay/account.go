package quay

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// CurrentUser reads GET /api/v1/user/, the cheap way to check a token:
// Quay answers 401 (ErrUnauthorized) to a missing or invalid one, where
// the repository listing would only come back empty.
func (c *Client) CurrentUser(ctx context.Context) (*quaymirror.User, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/user/"})
	if err != nil {
		return nil, err
	}
	var u struct {
		Username      string `json:"username"`
		Organizations []struct {
			Name string `json:"name"`
		} `json:"organizations"`
	}
	if err := resp.Decode(&u); err != nil {
		return nil, err
	}
	if u.Username == "" {
		return nil, resp.Bad("the user has no username")
	}
	out := &quaymirror.User{Username: u.Username}
	for _, o := range u.Organizations {
		if o.Name != "" {
			out.Organizations = append(out.Organizations, o.Name)
		}
	}
	return out, nil
}

// GetOrganization reads GET /api/v1/organization/{name}: the name and
// whether the caller is an admin or a member. A missing organisation is
// ErrNotFound.
func (c *Client) GetOrganization(ctx context.Context, name string) (*quaymirror.Organization, error) {
	p, err := namePath("organization", name)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/organization/" + p})
	if err != nil {
		return nil, err
	}
	var o struct {
		Name     string `json:"name"`
		IsAdmin  bool   `json:"is_admin"`
		IsMember bool   `json:"is_member"`
	}
	if err := resp.Decode(&o); err != nil {
		return nil, err
	}
	if o.Name == "" {
		return nil, resp.Bad("the organization has no name")
	}
	return &quaymirror.Organization{Name: o.Name, IsAdmin: o.IsAdmin, IsMember: o.IsMember}, nil
}

// OrganizationMirrored reports whether org has a native organisation-level
// mirror configuration (Quay 3.17+ with FEATURE_ORG_MIRROR): false when the
// server's discovery has no organisation mirror endpoint, otherwise GET
// /api/v1/organization/{org}/mirror answering 200 (true) or 404 (false).
func (c *Client) OrganizationMirrored(ctx context.Context, org string) (bool, error) {
	p, err := namePath("organization", org)
	if err != nil {
		return false, err
	}
	d, err := c.discovery(ctx)
	if err != nil {
		return false, err
	}
	if !d.caps.OrganizationMirroring {
		return false, nil
	}
	_, err = c.do(ctx, request{method: http.MethodGet, path: "/organization/" + p + "/mirror"})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, quaymirror.ErrNotFound):
		return false, nil
	}
	return false, err
}

type robotJSON struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

func (r robotJSON) robot() *quaymirror.Robot {
	out := &quaymirror.Robot{Name: r.Name}
	if r.Description != nil {
		out.Description = *r.Description
	}
	return out
}

// GetRobot reads GET /api/v1/organization/{org}/robots/{shortname}. Quay
// answers a missing robot with 400 "Could not find robot...", reported as
// ErrNotFound. The robot's token, which Quay returns to org admins, is not
// kept.
func (c *Client) GetRobot(ctx context.Context, org, shortname string) (*quaymirror.Robot, error) {
	path, err := robotPath(org, shortname)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		var qe *Error
		if errors.As(err, &qe) && qe.Status == http.StatusBadRequest &&
			strings.Contains(strings.ToLower(qe.Message), "could not find robot") {
			qe.Kind = quaymirror.ErrNotFound
		}
		return nil, err
	}
	var r robotJSON
	if err := resp.Decode(&r); err != nil {
		return nil, err
	}
	if r.Name == "" {
		return nil, resp.Bad("the robot has no name")
	}
	return r.robot(), nil
}

// CreateRobot sends PUT /api/v1/organization/{org}/robots/{shortname} with
// {"description": description} (Quay answers 201 with the robot). An
// existing robot (400 "Existing robot with name...") is ErrAlreadyExists,
// unless the request was retried after a failure in flight and the robot
// can be read back: then the earlier attempt created it and CreateRobot
// returns it.
func (c *Client) CreateRobot(ctx context.Context, org, shortname, description string) (*quaymirror.Robot, error) {
	path, err := robotPath(org, shortname)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodPut, path: path, body: map[string]any{"description": description}})
	if retriedConflict(err) {
		if r, gerr := c.GetRobot(ctx, org, shortname); gerr == nil {
			c.verified(r.Name)
			return r, nil
		}
	}
	if err != nil {
		return nil, err
	}
	var r robotJSON
	if err := resp.Decode(&r); err != nil {
		return nil, err
	}
	if r.Name == "" {
		return nil, resp.Bad("the robot has no name")
	}
	return r.robot(), nil
}

func robotPath(org, shortname string) (string, error) {
	o, err := namePath("organization", org)
	if err != nil {
		return "", err
	}
	s, err := namePath("robot short name", shortname)
	if err != nil {
		return "", err
	}
	return "/organization/" + o + "/robots/" + s, nil
}
