package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// manifestTypes are the manifest media types a HEAD accepts, so that the
// registry answers the digest of what the tag points at (an index stays
// an index) rather than converting it.
var manifestTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
}

var digestRe = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

// repoPath escapes the registry path of namespace/name, segment by
// segment.
func repoPath(namespace, name string) (string, error) {
	if err := checkNamespace(namespace); err != nil {
		return "", err
	}
	var parts []string
	for seg := range strings.SplitSeq(namespace+"/"+name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("oci: invalid repository name %q: %w", namespace+"/"+name, quaymirror.ErrInvalid)
		}
		parts = append(parts, url.PathEscape(seg))
	}
	return strings.Join(parts, "/"), nil
}

type tagsAnswer struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// ListTags implements quaymirror.TagLister: the page of the repository's
// tags (tags/list, paged by the Link header) that pageToken names, each
// with the digest of its manifest (a HEAD request per tag) and no change
// time, which registries do not tell. A tag deleted between the two
// requests is left out. A repository the catalog lists without any tag
// yields an empty page; one it does not list ErrNotFound.
func (c *Client) ListTags(ctx context.Context, namespace, name, pageToken string) (quaymirror.TagPage, error) {
	repo, err := repoPath(namespace, name)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	query := pageToken
	if query == "" {
		query = url.Values{"n": {strconv.Itoa(c.tagPageSize)}}.Encode()
	} else if _, err := url.ParseQuery(query); err != nil {
		return quaymirror.TagPage{}, fmt.Errorf("oci: invalid page token: %w", quaymirror.ErrInvalid)
	}
	path := "/v2/" + repo + "/tags/list"
	scope := "repository:" + namespace + "/" + name + ":pull"
	rep, err := c.send(ctx, call{method: http.MethodGet, path: path, query: query, scope: scope})
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	if rep.status == http.StatusNotFound {
		// A repository whose manifests are all untagged has no tags
		// directory: the distribution registry calls it unknown. The
		// catalog tells.
		listed, lerr := c.listed(ctx, namespace, name)
		switch {
		case lerr != nil:
			return quaymirror.TagPage{}, lerr
		case listed:
			return quaymirror.TagPage{}, nil
		}
		return quaymirror.TagPage{}, rep.fail()
	}
	if !rep.ok() {
		return quaymirror.TagPage{}, rep.fail()
	}
	var ans tagsAnswer
	if err := json.Unmarshal(rep.body, &ans); err != nil {
		return quaymirror.TagPage{}, rep.bad("the tag list is not JSON of the distribution specification's form: %v", err)
	}
	next, err := nextQuery(rep, path)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	q, _ := url.ParseQuery(query)
	if next == "" && full(ans.Tags, q) && len(ans.Tags) > 0 {
		q.Set("last", ans.Tags[len(ans.Tags)-1])
		next = q.Encode()
	}
	page := quaymirror.TagPage{Next: next}
	for _, t := range ans.Tags {
		if !quaymirror.ValidTagName(t) {
			return quaymirror.TagPage{}, rep.bad("the tag list holds %q, which is not a tag name", t)
		}
		d, err := c.digest(ctx, repo, scope, t)
		if errors.Is(err, quaymirror.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return quaymirror.TagPage{}, err
		}
		page.Tags = append(page.Tags, quaymirror.Tag{Name: t, Digest: d})
	}
	return page, nil
}

// digest returns the digest of the manifest tag points at: the
// registry's Docker-Content-Digest of a HEAD, or, when it sends none, the
// SHA-256 of the manifest read whole.
func (c *Client) digest(ctx context.Context, repo, scope, tag string) (string, error) {
	path := "/v2/" + repo + "/manifests/" + url.PathEscape(tag)
	rep, err := c.send(ctx, call{method: http.MethodHead, path: path, scope: scope, accept: manifestTypes})
	if err != nil {
		return "", err
	}
	if !rep.ok() {
		return "", rep.fail()
	}
	if d := rep.header.Get("Docker-Content-Digest"); d != "" {
		if !digestRe.MatchString(d) {
			return "", rep.bad("Docker-Content-Digest %q is not a digest", d)
		}
		return d, nil
	}
	rep, err = c.send(ctx, call{method: http.MethodGet, path: path, scope: scope, accept: manifestTypes})
	if err != nil {
		return "", err
	}
	if !rep.ok() {
		return "", rep.fail()
	}
	sum := sha256.Sum256(rep.body)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// listed reports whether the catalog lists namespace/name.
func (c *Client) listed(ctx context.Context, namespace, name string) (bool, error) {
	for r, err := range quaymirror.Repositories(ctx, c, namespace) {
		if err != nil {
			return false, err
		}
		if r.Name == name {
			return true, nil
		}
	}
	return false, nil
}
