package oci

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
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

// tagCursor is the state a tag page token carries: the query of the
// registry's tag page (from its Link) and the last tag handed out of it.
type tagCursor struct {
	Query string `json:"q,omitempty"`
	After string `json:"a,omitempty"`
}

// ListTags implements quaymirror.TagLister: the page of the repository's
// tags that pageToken names, each with the digest of its manifest (a HEAD
// request per tag) and no change time, which registries do not tell. The
// client asks for the tag list without n (the whole list, or the
// registry's own pages, followed by their Link) and hands it out sorted,
// WithTagPageSize tags a page, so that a page costs a bounded number of
// requests whatever the registry does with n and last. A tag deleted
// between the two requests is left out. A repository the catalog lists
// without any tag yields an empty page; one it does not list ErrNotFound.
func (c *Client) ListTags(ctx context.Context, namespace, name, pageToken string) (quaymirror.TagPage, error) {
	repo, err := repoPath(namespace, name)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	var cur tagCursor
	if pageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || json.Unmarshal(b, &cur) != nil {
			return quaymirror.TagPage{}, fmt.Errorf("oci: invalid page token: %w", quaymirror.ErrInvalid)
		}
	}
	path := "/v2/" + repo + "/tags/list"
	scope := "repository:" + namespace + "/" + name + ":pull"
	rep, err := c.send(ctx, call{method: http.MethodGet, path: path, query: cur.Query, scope: scope})
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	if rep.Status == http.StatusNotFound {
		// A repository whose manifests are all untagged has no tags
		// directory: the distribution registry calls it unknown. The
		// catalog tells.
		listed, lerr := c.listed(ctx, namespace, name)
		switch {
		case lerr != nil && !errors.Is(lerr, ErrCatalogRefused):
			return quaymirror.TagPage{}, lerr
		case listed:
			return quaymirror.TagPage{}, nil
		}
		return quaymirror.TagPage{}, fail(rep)
	}
	if !rep.OK() {
		return quaymirror.TagPage{}, fail(rep)
	}
	var ans tagsAnswer
	if err := json.Unmarshal(rep.Body, &ans); err != nil {
		return quaymirror.TagPage{}, rep.Bad("the tag list is not JSON of the distribution specification's form: %v", err)
	}
	link, err := rep.NextQuery()
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	names := slices.Clone(ans.Tags)
	slices.Sort(names)
	names = slices.Compact(names)
	if cur.After != "" {
		i, _ := slices.BinarySearch(names, cur.After)
		for i < len(names) && names[i] <= cur.After {
			i++
		}
		names = names[i:]
	}
	var page quaymirror.TagPage
	switch {
	case len(names) > c.tagPageSize:
		names = names[:c.tagPageSize]
		page.Next = encodeTagCursor(tagCursor{Query: cur.Query, After: names[len(names)-1]})
	case link != "":
		page.Next = encodeTagCursor(tagCursor{Query: link})
	}
	for _, t := range names {
		if !quaymirror.ValidTagName(t) {
			return quaymirror.TagPage{}, rep.Bad("the tag list holds %q, which is not a tag name", t)
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

func encodeTagCursor(c tagCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
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
	if !rep.OK() {
		return "", fail(rep)
	}
	if d := rep.Header.Get("Docker-Content-Digest"); d != "" {
		if !digestRe.MatchString(d) {
			return "", rep.Bad("Docker-Content-Digest %q is not a digest", d)
		}
		return d, nil
	}
	rep, err = c.send(ctx, call{method: http.MethodGet, path: path, scope: scope, accept: manifestTypes})
	if err != nil {
		return "", err
	}
	if !rep.OK() {
		return "", fail(rep)
	}
	sum := sha256.Sum256(rep.Body)
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
