package quay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Exact-request tests of ListTags over gock (not parallel).

func TestListTagsFromTheRepository(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/repository/acme/team/app", "includeTags=true").Reply(200).JSON(map[string]any{
		"namespace": "acme", "name": "team/app", "state": "NORMAL",
		"tags": map[string]any{
			"v1":     map[string]any{"name": "v1", "size": 10, "last_modified": "Tue, 03 Feb 2026 04:05:06 -0000", "manifest_digest": "sha256:aa"},
			"latest": map[string]any{"name": "latest", "size": 10, "last_modified": "Tue, 03 Feb 2026 05:00:00 -0000", "manifest_digest": "sha256:bb", "expiration": "Wed, 04 Feb 2026 00:00:00 -0000"},
			// A legacy image of an old Quay: no digest.
			"old": map[string]any{"name": "old", "size": 1, "last_modified": "Tue, 03 Feb 2026 00:00:00 -0000", "manifest_digest": nil},
		},
	})
	page, err := env.c.ListTags(context.Background(), "acme", "team/app", "")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(page.Tags, func(a, b quaymirror.Tag) int { return strings.Compare(a.Name, b.Name) })
	want := []quaymirror.Tag{
		{Name: "latest", Digest: "sha256:bb", LastModified: time.Date(2026, 2, 3, 5, 0, 0, 0, time.UTC)},
		{Name: "old", LastModified: time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)},
		{Name: "v1", Digest: "sha256:aa", LastModified: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)},
	}
	if !slices.Equal(page.Tags, want) || page.Next != "" {
		t.Errorf("page = %+v, want %v and no next page", page, want)
	}
	check(t, env.only(), "GET", "/api/v1/repository/acme/team/app", "includeTags=true", "")
}

// 500 tags from the repository read mean there may be more: the listing
// goes on with the tag endpoint from its first page until has_additional
// is false.
func TestListTagsPagesBeyond500(t *testing.T) {
	env := newGock(t)
	tags := map[string]any{}
	for i := range 500 {
		n := fmt.Sprintf("t%03d", i)
		tags[n] = map[string]any{"name": n, "last_modified": "Tue, 03 Feb 2026 04:05:06 -0000", "manifest_digest": "sha256:" + n}
	}
	on("GET", "/api/v1/repository/acme/app", "includeTags=true").Reply(200).JSON(map[string]any{"namespace": "acme", "name": "app", "tags": tags})
	on("GET", "/api/v1/repository/acme/app/tag/", "limit=100&onlyActiveTags=true&page=1").Reply(200).JSON(map[string]any{
		"tags": []any{
			map[string]any{"name": "new", "reversion": false, "start_ts": 1770091506, "manifest_digest": "sha256:new", "is_manifest_list": true, "size": 5, "last_modified": "Tue, 03 Feb 2026 04:05:06 -0000"},
		},
		"page": 1, "has_additional": true,
	})
	on("GET", "/api/v1/repository/acme/app/tag/", "limit=100&onlyActiveTags=true&page=2").Reply(200).JSON(map[string]any{
		"tags": []any{
			// No start_ts: last_modified is read instead.
			map[string]any{"name": "t000", "reversion": false, "manifest_digest": "sha256:moved", "last_modified": "Tue, 03 Feb 2026 06:00:00 -0000"},
		},
		"page": 2, "has_additional": false,
	})
	ctx := context.Background()
	p0, err := env.c.ListTags(ctx, "acme", "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p0.Tags) != 500 || p0.Next != "page:1" {
		t.Fatalf("first page: %d tags, next %q; want 500 and page:1", len(p0.Tags), p0.Next)
	}
	p1, err := env.c.ListTags(ctx, "acme", "app", p0.Next)
	if err != nil {
		t.Fatal(err)
	}
	wantNew := quaymirror.Tag{Name: "new", Digest: "sha256:new", LastModified: time.Unix(1770091506, 0).UTC()}
	if len(p1.Tags) != 1 || p1.Tags[0] != wantNew || p1.Next != "page:2" {
		t.Errorf("page 1 = %+v, want [%v] and next page:2", p1, wantNew)
	}
	p2, err := env.c.ListTags(ctx, "acme", "app", p1.Next)
	if err != nil {
		t.Fatal(err)
	}
	wantMoved := quaymirror.Tag{Name: "t000", Digest: "sha256:moved", LastModified: time.Date(2026, 2, 3, 6, 0, 0, 0, time.UTC)}
	if len(p2.Tags) != 1 || p2.Tags[0] != wantMoved || p2.Next != "" {
		t.Errorf("page 2 = %+v, want [%v] and no next page", p2, wantMoved)
	}
	reqs := env.requests()
	if len(reqs) != 3 {
		t.Fatalf("sent %s, want 3 requests", describe(reqs))
	}
	check(t, reqs[1], "GET", "/api/v1/repository/acme/app/tag/", "limit=100&onlyActiveTags=true&page=1", "")
}

func TestListTagsErrors(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/repository/acme/nope", "includeTags=true").Reply(404).JSON(map[string]any{"detail": "Not Found", "status": 404})
	on("GET", "/api/v1/repository/acme/bad", "includeTags=true").Reply(200).JSON(map[string]any{
		"name": "bad", "tags": map[string]any{"v1": map[string]any{"name": "v1", "last_modified": "yesterday", "manifest_digest": "sha256:aa"}},
	})
	on("GET", "/api/v1/repository/acme/app/tag/", "limit=100&onlyActiveTags=true&page=3").Reply(200).JSON(map[string]any{"page": 3, "has_additional": false})
	on("GET", "/api/v1/repository/acme/app/tag/", "limit=100&onlyActiveTags=true&page=4").Reply(200).JSON(map[string]any{"tags": []any{}, "page": 4, "has_additional": true})
	ctx := context.Background()
	if _, err := env.c.ListTags(ctx, "acme", "nope", ""); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("missing repository: %v, want ErrNotFound", err)
	}
	if _, err := env.c.ListTags(ctx, "acme", "bad", ""); !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Errorf("unreadable date: %v, want ErrBadResponse", err)
	}
	if _, err := env.c.ListTags(ctx, "acme", "app", "page:3"); !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Errorf("page without tags key: %v, want ErrBadResponse", err)
	}
	if _, err := env.c.ListTags(ctx, "acme", "app", "page:4"); !errors.Is(err, quaymirror.ErrBadResponse) {
		t.Errorf("empty page with more to come: %v, want ErrBadResponse", err)
	}
	for _, tok := range []string{"page:0", "page:x", "3", "next"} {
		if _, err := env.c.ListTags(ctx, "acme", "app", tok); !errors.Is(err, quaymirror.ErrInvalid) {
			t.Errorf("token %q: %v, want ErrInvalid before any request", tok, err)
		}
	}
	if n := len(env.requests()); n != 4 {
		t.Errorf("sent %d requests, want 4", n)
	}
}
