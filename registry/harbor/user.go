package harbor

import (
	"context"
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// CurrentUser implements quaymirror.Authenticator. An anonymous client is
// "anonymous", without a request. Otherwise GET
// /api/v2.0/users/current: a user's name; for a robot account Harbor
// answers 412 (2.3 and later: no user behind it) and the robot's name is
// returned; older Harbors fail otherwise for robots, which are then
// checked against the registry's GET /v2/. Harbor treats rejected
// credentials as anonymous and answers 401: ErrUnauthorized.
func (c *Client) CurrentUser(ctx context.Context) (*quaymirror.User, error) {
	if c.anonymous() {
		return &quaymirror.User{Username: "anonymous"}, nil
	}
	rep, err := c.get(ctx, apiPrefix+"/users/current", "", nil)
	if err != nil {
		return nil, err
	}
	switch {
	case rep.OK():
		var u struct {
			Username string `json:"username"`
		}
		if err := rep.Decode(&u); err != nil {
			return nil, err
		}
		if u.Username == "" {
			return nil, rep.Bad("the current user has no name")
		}
		return &quaymirror.User{Username: u.Username}, nil
	case rep.Status == http.StatusUnauthorized:
		e := fail(rep)
		e.Message = "Harbor rejected the credentials (" + e.Message + ")"
		return nil, e
	case rep.Status == http.StatusPreconditionFailed:
		// Valid credentials of a robot (or another principal without a
		// user record).
		return &quaymirror.User{Username: c.principal()}, nil
	case c.robot():
		return c.pingRegistry(ctx)
	}
	return nil, fail(rep)
}

func (c *Client) robot() bool { return strings.HasPrefix(c.username, c.robotPrefix) }

func (c *Client) principal() string {
	if c.username != "" {
		return c.username
	}
	return "token"
}

// pingRegistry checks the credentials with Harbor's registry API, which
// answers 401 to anonymous and rejected ones.
func (c *Client) pingRegistry(ctx context.Context) (*quaymirror.User, error) {
	rep, err := c.get(ctx, "/v2/", "", nil)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		e := fail(rep)
		if rep.Status == http.StatusUnauthorized {
			e.Message = "Harbor rejected the robot account's credentials (" + e.Message + ")"
		}
		return nil, e
	}
	return &quaymirror.User{Username: c.principal()}, nil
}
