package quay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// repositoryJSON is a repository as Quay lists or returns it.
type repositoryJSON struct {
	Namespace   string                     `json:"namespace"`
	Name        string                     `json:"name"`
	Description *string                    `json:"description"`
	IsPublic    bool                       `json:"is_public"`
	State       *string                    `json:"state"`
	Tags        map[string]json.RawMessage `json:"tags"`
}

func (r repositoryJSON) repository(namespace string) quaymirror.Repository {
	out := quaymirror.Repository{Namespace: r.Namespace, Name: r.Name, Visibility: quaymirror.Private}
	if out.Namespace == "" {
		out.Namespace = namespace
	}
	if r.Description != nil {
		out.Description = *r.Description
	}
	if r.IsPublic {
		out.Visibility = quaymirror.Public
	}
	if r.State != nil {
		out.State = quaymirror.State(*r.State)
	}
	return out
}

// ListRepositories reads one page of GET
// /api/v1/repository?namespace=...&public=true&next_page=... (100
// repositories a page, in a stable order). Without public=true Quay lists
// only the repositories the token's user reaches through a permission, a
// team or an organisation role, and leaves out the public repositories of
// the organisation the user has no permission on; with it they are added,
// once, still filtered by namespace (Quay 3.6+). pageToken is sent exactly
// as given; the returned Next is Quay's next_page, empty on the last page.
// Quay reports each repository's state in listings since 3.6; a server
// that does not leaves State empty. Quay answers a namespace the token
// cannot see, and an invalid token, with an empty page (or only the public
// repositories): check the token with CurrentUser first.
func (c *Client) ListRepositories(ctx context.Context, namespace, pageToken string) (quaymirror.RepositoryPage, error) {
	if _, err := namePath("namespace", namespace); err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	q := url.Values{"namespace": {namespace}, "public": {"true"}}
	if pageToken != "" {
		q.Set("next_page", pageToken)
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/repository", query: q})
	if err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	var page struct {
		Repositories *[]repositoryJSON `json:"repositories"`
		NextPage     *string           `json:"next_page"`
	}
	if err := resp.Decode(&page); err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	if page.Repositories == nil {
		return quaymirror.RepositoryPage{}, resp.Bad("the listing has no repositories key")
	}
	out := quaymirror.RepositoryPage{Repositories: make([]quaymirror.Repository, 0, len(*page.Repositories))}
	for i, r := range *page.Repositories {
		if r.Name == "" {
			return quaymirror.RepositoryPage{}, resp.Bad("repository %d of the listing has no name", i)
		}
		out.Repositories = append(out.Repositories, r.repository(namespace))
	}
	if page.NextPage != nil {
		out.Next = *page.NextPage
	}
	return out, nil
}

// GetRepository reads GET /api/v1/repository/{namespace}/{name}
// ?includeTags=true and returns the repository with its tag names, sorted
// (Quay returns at most 500). A missing repository is ErrNotFound (or
// ErrForbidden when the token could not see it anyway).
func (c *Client) GetRepository(ctx context.Context, namespace, name string) (*quaymirror.Repository, error) {
	p, err := repoPath(namespace, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/repository/" + p, query: url.Values{"includeTags": {"true"}}})
	if err != nil {
		return nil, err
	}
	var r repositoryJSON
	if err := resp.Decode(&r); err != nil {
		return nil, err
	}
	if r.Name == "" {
		return nil, resp.Bad("the repository has no name")
	}
	repo := r.repository(namespace)
	repo.Tags = make([]string, 0, len(r.Tags))
	for tag := range r.Tags {
		repo.Tags = append(repo.Tags, tag)
	}
	slices.Sort(repo.Tags)
	return &repo, nil
}

// CreateRepository sends POST /api/v1/repository with namespace,
// repository, visibility (private when empty), description and repo_kind
// "image". Quay answers 201; "Repository already exists" (400) is
// ErrAlreadyExists, the organisation-level mirroring lock (400, Quay 3.17+)
// ErrOrgMirrored, any other 400 ErrInvalid. When the request had to be
// retried after a failure in flight and then finds the repository
// existing, the repository is read back and the create reported as the
// success it was.
func (c *Client) CreateRepository(ctx context.Context, repo quaymirror.Repository) error {
	if _, err := repoPath(repo.Namespace, repo.Name); err != nil {
		return err
	}
	vis := repo.Visibility
	switch vis {
	case "":
		vis = quaymirror.Private
	case quaymirror.Private, quaymirror.Public:
	default:
		return fmt.Errorf("quay: visibility %q is neither public nor private: %w", vis, quaymirror.ErrInvalid)
	}
	body := map[string]any{
		"namespace":   repo.Namespace,
		"repository":  repo.Name,
		"visibility":  string(vis),
		"description": repo.Description,
		"repo_kind":   "image",
	}
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/repository", body: body})
	if retriedConflict(err) {
		if _, gerr := c.GetRepository(ctx, repo.Namespace, repo.Name); gerr == nil {
			c.verified(repo.FullName())
			return nil
		}
	}
	return err
}

// ChangeState sends PUT /api/v1/repository/{namespace}/{name}/changestate
// with {"state": state}. Only NORMAL, READ_ONLY and MIRROR are accepted
// (ErrInvalid otherwise, before any request). The endpoint exists only
// with repository mirroring enabled.
func (c *Client) ChangeState(ctx context.Context, namespace, name string, state quaymirror.State) error {
	switch state {
	case quaymirror.StateNormal, quaymirror.StateReadOnly, quaymirror.StateMirror:
	default:
		return fmt.Errorf("quay: state %q cannot be set (NORMAL, READ_ONLY or MIRROR): %w", state, quaymirror.ErrInvalid)
	}
	p, err := repoPath(namespace, name)
	if err != nil {
		return err
	}
	// Without FEATURE_REPO_MIRROR the route does not exist and Quay hands
	// the PUT to the repository's own update (a misleading 400).
	if _, err := c.mirrorShape(ctx); err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPut, path: "/repository/" + p + "/changestate", body: map[string]any{"state": string(state)}})
	return err
}

// SetPermission sends PUT
// /api/v1/repository/{namespace}/{name}/permissions/user/{user} with
// {"role": role}; user is a user or a robot ("org+short").
func (c *Client) SetPermission(ctx context.Context, namespace, name, user string, role quaymirror.Role) error {
	switch role {
	case quaymirror.RoleRead, quaymirror.RoleWrite, quaymirror.RoleAdmin:
	default:
		return fmt.Errorf("quay: role %q is not read, write or admin: %w", role, quaymirror.ErrInvalid)
	}
	p, err := repoPath(namespace, name)
	if err != nil {
		return err
	}
	u, err := namePath("user", user)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPut, path: "/repository/" + p + "/permissions/user/" + u, body: map[string]any{"role": string(role)}})
	return err
}
