package harbor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// repository is Harbor's Repository definition, the fields read.
type repository struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ListRepositories implements quaymirror.Source: the page of project
// namespace's repositories that pageToken names (the query of Harbor's
// Link to it), sorted by repository id, without the project in their
// names, with their description and no state or visibility. A project
// that does not exist or that the credentials may not see (Harbor answers
// 404 or 403) yields an empty page. Anonymous access to a private or
// missing project, or rejected credentials (which Harbor treats as
// anonymous), yield ErrUnauthorized.
func (c *Client) ListRepositories(ctx context.Context, namespace, pageToken string) (quaymirror.RepositoryPage, error) {
	pp, err := projectPath(namespace)
	if err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	query := pageToken
	if query == "" {
		query = url.Values{"page": {"1"}, "page_size": {strconv.Itoa(c.pageSize)}, "sort": {"repository_id"}}.Encode()
	} else if _, err := url.ParseQuery(query); err != nil {
		return quaymirror.RepositoryPage{}, fmt.Errorf("harbor: invalid page token: %w", quaymirror.ErrInvalid)
	}
	rep, err := c.get(ctx, apiPrefix+"/projects/"+pp+"/repositories", query, nil)
	if err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	switch {
	case rep.Status == http.StatusNotFound || rep.Status == http.StatusForbidden:
		return quaymirror.RepositoryPage{}, nil
	case rep.Status == http.StatusUnauthorized:
		return quaymirror.RepositoryPage{}, c.unauthorized(rep, namespace)
	case !rep.OK():
		return quaymirror.RepositoryPage{}, fail(rep)
	}
	var repos []repository
	if err := rep.Decode(&repos); err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	page := quaymirror.RepositoryPage{}
	prefix := namespace + "/"
	for _, r := range repos {
		name, ok := strings.CutPrefix(r.Name, prefix)
		if !ok || name == "" {
			return quaymirror.RepositoryPage{}, rep.Bad("repository %q of project %s does not start with %q", r.Name, namespace, prefix)
		}
		page.Repositories = append(page.Repositories, quaymirror.Repository{Namespace: namespace, Name: name, Description: r.Description})
	}
	if page.Next, err = c.next(rep, query, len(repos)); err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	return page, nil
}

// next returns the query of the page after rep's: its Link's, or, where
// a proxy dropped the Link, the next page number while X-Total-Count says
// more remain. An empty page ends the listing whatever the headers say.
func (c *Client) next(rep *transport.Reply, query string, n int) (string, error) {
	if n == 0 {
		return "", nil
	}
	next, err := rep.NextQuery()
	if err != nil || next != "" || rep.Header.Get("Link") != "" {
		return next, err
	}
	total, err := strconv.Atoi(rep.Header.Get("X-Total-Count"))
	if err != nil {
		return "", nil
	}
	q, _ := url.ParseQuery(query)
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("page_size"))
	if page < 1 || size < 1 || page*size >= total {
		return "", nil
	}
	q.Set("page", strconv.Itoa(page+1))
	return q.Encode(), nil
}

// unauthorized explains a 401: rejected credentials (Harbor treats them
// as anonymous), or anonymous access to a project that is private or
// missing.
func (c *Client) unauthorized(rep *transport.Reply, project string) error {
	e := fail(rep)
	if c.anonymous() {
		e.Message = fmt.Sprintf("project %s is private or does not exist, and the client is anonymous: give credentials (%s)", project, e.Message)
	} else {
		e.Message = fmt.Sprintf("Harbor rejected the credentials and treated the request as anonymous (%s)", e.Message)
	}
	return e
}
