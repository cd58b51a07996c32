package oci

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// catalogPath is the catalog's path.
const catalogPath = "/v2/_catalog"

// catalogScope is the token scope of the catalog.
const catalogScope = "registry:catalog:*"

// maxCatalogPages bounds a whole-catalog read of a registry that does not
// page by last.
const maxCatalogPages = 10_000

// cursor is the state a page token carries.
type cursor struct {
	// Query is the query of the next catalog request: the registry's
	// Link.
	Query string `json:"q,omitempty"`
	// After is set when the client cuts the pages from the whole
	// catalog: the last name (without the prefix) handed out.
	After string `json:"a,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(tok string) (cursor, error) {
	var c cursor
	if tok == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return cursor{}, fmt.Errorf("oci: invalid page token: %w", quaymirror.ErrInvalid)
	}
	return c, nil
}

// ListRepositories implements quaymirror.Source: the page of the
// catalog's repositories under namespace + "/" that pageToken names,
// without the prefix, in the registry's order (lexical), with no state
// or visibility. A namespace under which the catalog lists nothing
// yields an empty last page. A registry that will not list its catalog
// yields an error wrapping ErrCatalogRefused.
func (c *Client) ListRepositories(ctx context.Context, namespace, pageToken string) (quaymirror.RepositoryPage, error) {
	if err := checkNamespace(namespace); err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	prefix := namespace + "/"
	cur, err := decodeCursor(pageToken)
	if err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	if cur.After != "" {
		return c.clientPage(ctx, namespace, cur.After, nil)
	}
	query := cur.Query
	if query == "" {
		// Start right before the prefix: every name of the namespace
		// sorts after "namespace/", and together.
		query = url.Values{"n": {strconv.Itoa(c.pageSize)}, "last": {prefix}}.Encode()
	}
	for page := 0; page < maxCatalogPages; page++ {
		names, next, err := c.catalogPage(ctx, query)
		if err != nil {
			return quaymirror.RepositoryPage{}, err
		}
		q, _ := url.ParseQuery(query)
		afterName, _ := strings.CutPrefix(q.Get("last"), prefix)
		if next == "" {
			if full(names, q) {
				// A full page without a Link: a registry that pages
				// (exactly n names left), or one that cuts its answer
				// silently and ignores last (go-containerregistry's).
				// Only the whole catalog tells.
				c.logger.Debug("a full catalog page without a Link; reading the whole catalog", "namespace", namespace)
				return c.clientPage(ctx, namespace, afterName, nil)
			}
			// The rest of the catalog (or all of it, for a registry that
			// ignores last): every name of the namespace in it, in
			// whatever order the registry keeps.
			return c.clientPage(ctx, namespace, afterName, names)
		}
		if !pagesByLast(names, q.Get("last")) {
			// Links, but pages that ignore last or are not sorted: read
			// it whole and cut the pages here.
			c.logger.Debug("the registry's catalog pages are not sorted after last; reading the whole catalog", "namespace", namespace)
			return c.clientPage(ctx, namespace, afterName, nil)
		}
		// A catalog paged by last, as the specification has it: the
		// names of the namespace come together right after the prefix,
		// so the first name past them ends the listing.
		var out []quaymirror.Repository
		past := false
		for _, n := range names {
			rest, ok := strings.CutPrefix(n, prefix)
			if !ok || rest == "" {
				if past = after(n, prefix); past {
					break
				}
				continue
			}
			out = append(out, quaymirror.Repository{Namespace: namespace, Name: rest})
		}
		switch {
		case past:
			return quaymirror.RepositoryPage{Repositories: out}, nil
		case len(out) > 0:
			return quaymirror.RepositoryPage{Repositories: out, Next: cursor{Query: next}.encode()}, nil
		}
		query = next
	}
	return quaymirror.RepositoryPage{}, fmt.Errorf("oci: the catalog did not end after %d pages: %w", maxCatalogPages, quaymirror.ErrBadResponse)
}

func checkNamespace(ns string) error {
	if ns == "" || strings.HasPrefix(ns, "/") || strings.HasSuffix(ns, "/") || strings.Contains(ns, "//") {
		return fmt.Errorf("oci: invalid namespace %q: %w", ns, quaymirror.ErrInvalid)
	}
	return nil
}

// full reports whether a page holds as many names as its request's n.
func full(names []string, q url.Values) bool {
	n, err := strconv.Atoi(q.Get("n"))
	return err == nil && n > 0 && len(names) >= n
}

type catalogAnswer struct {
	Repositories []string `json:"repositories"`
}

// catalogPage reads one catalog page and returns its names and the query
// of the next page ("" at the end).
func (c *Client) catalogPage(ctx context.Context, query string) ([]string, string, error) {
	rep, err := c.send(ctx, call{method: http.MethodGet, path: catalogPath, query: query, scope: catalogScope})
	if err != nil {
		return nil, "", err
	}
	if q, _ := url.ParseQuery(query); rep.Status == http.StatusBadRequest && q.Has("n") && fail(rep).Code == "PAGINATION_NUMBER_INVALID" {
		// n above the registry's maximum (the distribution registry's
		// catalog.maxentries): let it choose, and follow its Links.
		c.logger.Debug("the registry refuses the catalog page size; using its own", "n", q.Get("n"))
		q.Del("n")
		return c.catalogPage(ctx, q.Encode())
	}
	if !rep.OK() {
		return nil, "", c.catalogFailure(ctx, rep)
	}
	var ans catalogAnswer
	if err := json.Unmarshal(rep.Body, &ans); err != nil {
		return nil, "", rep.Bad("the catalog is not JSON of the distribution specification's form: %v", err)
	}
	next, err := rep.NextQuery()
	if err != nil {
		return nil, "", err
	}
	return ans.Repositories, next, nil
}

// catalogFailure explains a refused catalog: when the same credentials
// open the registry (GET /v2/), the catalog is refused to them, not the
// credentials.
func (c *Client) catalogFailure(ctx context.Context, rep *transport.Reply) error {
	e := fail(rep)
	switch rep.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
	default:
		if e.Code != "UNSUPPORTED" {
			return e
		}
	}
	if err := c.ping(ctx); err != nil {
		return err
	}
	what := fmt.Sprintf("%d %s", rep.Status, http.StatusText(rep.Status))
	if e.Code != "" {
		what += " " + e.Code
	}
	if e.Message != "" {
		what += ": " + e.Message
	}
	e.Kind = ErrCatalogRefused
	e.Message = "the registry accepts the credentials but refuses to list its catalog (" + what + "). Docker Hub and Quay never list " +
		"their repositories this way and Harbor only to system administrators: read a Quay organization through Quay's API " +
		"(source type quay) and a Harbor project through Harbor's (source type harbor)"
	return e
}

// The catalog is "a lexically sorted list"; the CNCF distribution registry
// sorts path by path ("/" before every other character), others byte by
// byte. Either way the names under a prefix come together, right after
// the prefix itself.

// segCompare compares a and b with "/" below every other byte.
func segCompare(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

// after reports whether x comes after y in either order.
func after(x, y string) bool { return x > y || segCompare(x, y) > 0 }

// pagesByLast reports whether a page looks paged by last: every name
// after last and the names in order, in one of the two orders.
func pagesByLast(names []string, last string) bool {
	inOrder := func(cmp func(a, b string) int) bool {
		for i, n := range names {
			if (i == 0 && last != "" && cmp(n, last) <= 0) || (i > 0 && cmp(n, names[i-1]) <= 0) {
				return false
			}
		}
		return true
	}
	return inOrder(strings.Compare) || inOrder(segCompare)
}

// clientPage pages what the registry does not page by last: it reads the
// whole catalog (or takes the names the caller holds: the rest of the
// catalog), keeps the names of the namespace after the cursor, sorted,
// and cuts a page of pageSize.
func (c *Client) clientPage(ctx context.Context, namespace, afterName string, whole []string) (quaymirror.RepositoryPage, error) {
	if whole == nil {
		var err error
		if whole, err = c.wholeCatalog(ctx); err != nil {
			return quaymirror.RepositoryPage{}, err
		}
	}
	prefix := namespace + "/"
	var names []string
	for _, n := range whole {
		if rest, ok := strings.CutPrefix(n, prefix); ok && rest != "" && (afterName == "" || segCompare(rest, afterName) > 0) {
			names = append(names, rest)
		}
	}
	slices.SortFunc(names, segCompare)
	names = slices.Compact(names)
	var page quaymirror.RepositoryPage
	if len(names) > c.pageSize {
		names = names[:c.pageSize]
		page.Next = cursor{After: names[len(names)-1]}.encode()
	}
	for _, n := range names {
		page.Repositories = append(page.Repositories, quaymirror.Repository{Namespace: namespace, Name: n})
	}
	return page, nil
}

// wholeCatalog reads the catalog without n or last, following the
// registry's Link pages, and stops when a page brings no new name.
func (c *Client) wholeCatalog(ctx context.Context) ([]string, error) {
	seen := make(map[string]struct{})
	var all []string
	query := ""
	for page := 0; page < maxCatalogPages; page++ {
		rep, err := c.send(ctx, call{method: http.MethodGet, path: catalogPath, query: query, scope: catalogScope})
		if err != nil {
			return nil, err
		}
		if !rep.OK() {
			return nil, c.catalogFailure(ctx, rep)
		}
		var ans catalogAnswer
		if err := json.Unmarshal(rep.Body, &ans); err != nil {
			return nil, rep.Bad("the catalog is not JSON of the distribution specification's form: %v", err)
		}
		added := 0
		for _, n := range ans.Repositories {
			if _, dup := seen[n]; !dup {
				seen[n] = struct{}{}
				all = append(all, n)
				added++
			}
		}
		next, err := rep.NextQuery()
		if err != nil {
			return nil, err
		}
		if next == "" || added == 0 {
			return all, nil
		}
		query = next
	}
	return nil, fmt.Errorf("oci: the catalog did not end after %d pages: %w", maxCatalogPages, quaymirror.ErrBadResponse)
}
