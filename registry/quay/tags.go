package quay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// repositoryTagLimit is how many tags Quay's repository GET returns at
// most (max_tags in endpoints/api/repository.py).
const repositoryTagLimit = 500

// tagPageSize is the page size asked of the tag endpoint, its maximum.
const tagPageSize = 100

// tagPagePrefix starts the page tokens ListTags hands out beyond the
// first page: "page:" and the tag endpoint's page number.
const tagPagePrefix = "page:"

// ListTags implements quaymirror.TagLister in as few requests as Quay
// allows. The first page is the repository GET with includeTags=true: a
// repository with fewer than 500 tags is listed whole by it, in one
// request. Quay returns at most 500 there, so when 500 come back the
// listing goes on with GET /api/v1/repository/{namespace}/{name}/tag/
// ?onlyActiveTags=true&limit=100&page=P from page 1 (Next "page:1", ...),
// which repeats the first 500 (a later listing of a name replaces the
// earlier one) and ends when has_additional is false. Dates are Quay's
// last_modified (RFC 2822) on the first page and start_ts (epoch seconds)
// on the others. A tag Quay shows without a manifest digest (a legacy
// image of an old Quay) has an empty Digest. A missing repository is
// ErrNotFound; a page token ListTags did not hand out is ErrInvalid.
func (c *Client) ListTags(ctx context.Context, namespace, name, pageToken string) (quaymirror.TagPage, error) {
	p, err := repoPath(namespace, name)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	if pageToken == "" {
		return c.firstTagPage(ctx, p)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(pageToken, tagPagePrefix))
	if !strings.HasPrefix(pageToken, tagPagePrefix) || err != nil || n < 1 {
		return quaymirror.TagPage{}, fmt.Errorf("quay: tag page token %q was not handed out by ListTags: %w", pageToken, quaymirror.ErrInvalid)
	}
	return c.tagPage(ctx, p, n)
}

// tagJSON is a tag as the repository GET or the tag endpoint shows it.
type tagJSON struct {
	Name           string  `json:"name"`
	ManifestDigest *string `json:"manifest_digest"`
	LastModified   *string `json:"last_modified"`
	StartTS        *int64  `json:"start_ts"`
}

// tag converts t, named key when it has no name of its own (the
// repository GET's map keys are the names). The change time is start_ts
// when present, else last_modified.
func (t tagJSON) tag(key string, resp *transport.Reply) (quaymirror.Tag, error) {
	out := quaymirror.Tag{Name: t.Name}
	if out.Name == "" {
		out.Name = key
	}
	if out.Name == "" {
		return out, resp.Bad("a tag has no name")
	}
	if t.ManifestDigest != nil {
		out.Digest = *t.ManifestDigest
	}
	switch {
	case t.StartTS != nil && *t.StartTS > 0:
		out.LastModified = time.Unix(*t.StartTS, 0).UTC()
	case t.LastModified != nil && *t.LastModified != "":
		at, err := parseFormatDate(*t.LastModified)
		if err != nil {
			return out, resp.Bad("tag %q: unreadable last_modified %q", out.Name, *t.LastModified)
		}
		out.LastModified = at
	}
	return out, nil
}

// parseFormatDate reads a date as Quay's format_date writes it
// (email.utils.formatdate: "Thu, 01 Jan 2026 10:00:00 -0000").
func parseFormatDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, layout := range []string{time.RFC1123Z, time.RFC1123} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// firstTagPage reads the repository with its tags.
func (c *Client) firstTagPage(ctx context.Context, repoPath string) (quaymirror.TagPage, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/repository/" + repoPath, query: url.Values{"includeTags": {"true"}}})
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	var r struct {
		Name string                     `json:"name"`
		Tags map[string]json.RawMessage `json:"tags"`
	}
	if err := resp.Decode(&r); err != nil {
		return quaymirror.TagPage{}, err
	}
	if r.Name == "" {
		return quaymirror.TagPage{}, resp.Bad("the repository has no name")
	}
	page := quaymirror.TagPage{Tags: make([]quaymirror.Tag, 0, len(r.Tags))}
	for key, raw := range r.Tags {
		var tj tagJSON
		if err := json.Unmarshal(raw, &tj); err != nil {
			return quaymirror.TagPage{}, resp.Bad("tag %q: %v", key, err)
		}
		t, err := tj.tag(key, resp)
		if err != nil {
			return quaymirror.TagPage{}, err
		}
		page.Tags = append(page.Tags, t)
	}
	if len(r.Tags) >= repositoryTagLimit {
		page.Next = tagPagePrefix + "1"
	}
	return page, nil
}

// tagPage reads page n of the tag endpoint.
func (c *Client) tagPage(ctx context.Context, repoPath string, n int) (quaymirror.TagPage, error) {
	q := url.Values{"onlyActiveTags": {"true"}, "limit": {strconv.Itoa(tagPageSize)}, "page": {strconv.Itoa(n)}}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/repository/" + repoPath + "/tag/", query: q})
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	var body struct {
		Tags          *[]tagJSON `json:"tags"`
		HasAdditional bool       `json:"has_additional"`
	}
	if err := resp.Decode(&body); err != nil {
		return quaymirror.TagPage{}, err
	}
	if body.Tags == nil {
		return quaymirror.TagPage{}, resp.Bad("the tag page has no tags key")
	}
	page := quaymirror.TagPage{Tags: make([]quaymirror.Tag, 0, len(*body.Tags))}
	for _, tj := range *body.Tags {
		t, err := tj.tag("", resp)
		if err != nil {
			return quaymirror.TagPage{}, err
		}
		page.Tags = append(page.Tags, t)
	}
	if body.HasAdditional {
		if len(*body.Tags) == 0 {
			return quaymirror.TagPage{}, resp.Bad("tag page %d is empty but has_additional is true", n)
		}
		page.Next = tagPagePrefix + strconv.Itoa(n+1)
	}
	return page, nil
}
