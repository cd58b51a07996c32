package harbor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// artifact is Harbor's Artifact definition, the fields read.
type artifact struct {
	Digest string `json:"digest"`
	Tags   []struct {
		Name     string    `json:"name"`
		PushTime time.Time `json:"push_time"`
	} `json:"tags"`
}

// ListTags implements quaymirror.TagLister: a page of the repository's
// artifacts (with_tag, sorted by id, page_size as WithPageSize), every
// tag of each: its name, its artifact's digest, and its push time (UTC, to
// the second). Untagged artifacts give nothing. A missing repository
// yields ErrNotFound.
func (c *Client) ListTags(ctx context.Context, namespace, name, pageToken string) (quaymirror.TagPage, error) {
	pp, err := projectPath(namespace)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	rp, err := repositoryPath(name)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	query := pageToken
	if query == "" {
		query = url.Values{"page": {"1"}, "page_size": {strconv.Itoa(c.pageSize)}, "sort": {"id"}, "with_tag": {"true"}}.Encode()
	} else if _, err := url.ParseQuery(query); err != nil {
		return quaymirror.TagPage{}, fmt.Errorf("harbor: invalid page token: %w", quaymirror.ErrInvalid)
	}
	rep, err := c.get(ctx, apiPrefix+"/projects/"+pp+"/repositories/"+rp+"/artifacts", query, nil)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	switch {
	case rep.Status == http.StatusUnauthorized:
		return quaymirror.TagPage{}, c.unauthorized(rep, namespace)
	case !rep.OK():
		return quaymirror.TagPage{}, fail(rep)
	}
	var arts []artifact
	if err := rep.Decode(&arts); err != nil {
		return quaymirror.TagPage{}, err
	}
	var page quaymirror.TagPage
	for _, a := range arts {
		for _, t := range a.Tags {
			if !quaymirror.ValidTagName(t.Name) || a.Digest == "" {
				return quaymirror.TagPage{}, rep.Bad("artifact %q holds tag %q", a.Digest, t.Name)
			}
			page.Tags = append(page.Tags, quaymirror.Tag{Name: t.Name, Digest: a.Digest, LastModified: t.PushTime.UTC().Truncate(time.Second)})
		}
	}
	if page.Next, err = c.next(rep, query, len(arts)); err != nil {
		return quaymirror.TagPage{}, err
	}
	return page, nil
}
