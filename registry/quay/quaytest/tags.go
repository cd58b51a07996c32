package quaytest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// newestFirst orders tags as Quay's list_repository_tag_history does:
// latest lifetime start first, then by name.
func newestFirst(tags []quaymirror.Tag) []quaymirror.Tag {
	slices.SortFunc(tags, func(a, b quaymirror.Tag) int {
		if c := b.LastModified.Compare(a.LastModified); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return tags
}

// intArg reads an integer query parameter as Flask-RESTful's reqparse
// does: missing is def; anything int() refuses is a 400 whose message
// object maps the parameter to its help text. It answers and returns ok
// false on a bad value.
func (c *call) intArg(name string, def int, help string) (int, bool) {
	q := c.r.URL.Query()
	if !q.Has(name) {
		return def, true
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil {
		c.json(http.StatusBadRequest, obj{{"message", obj{{name, help}}}})
		return 0, false
	}
	return n, true
}

// GET /api/v1/repository/{repo}/tag/: the active tags, newest first,
// limit (1 to 100, default 50) a page, pages from 1, with has_additional.
// The emulator keeps no tag history: onlyActiveTags changes nothing, and
// no tag has an end.
func (c *call) listTags() {
	if _, _, ok := c.requireRepo(quaymirror.RoleRead); !ok {
		return
	}
	page, ok := c.intArg("page", 1, "Page index for the results. Default 1.")
	if !ok {
		return
	}
	limit, ok := c.intArg("limit", 50, "Limit to the number of results to return per page. Max 100.")
	if !ok {
		return
	}
	tags, err := c.e.reg.ListAllTags(c.ctx(), c.ns, c.name)
	if err != nil {
		c.fail(err)
		return
	}
	page, limit = max(1, page), min(100, max(1, limit))
	if specific := c.r.URL.Query().Get("specificTag"); specific != "" {
		tags = slices.DeleteFunc(tags, func(t quaymirror.Tag) bool { return t.Name != specific })
	}
	tags = newestFirst(tags)
	start := min(len(tags), (page-1)*limit)
	end := min(len(tags), start+limit)
	views := make([]any, 0, end-start)
	for _, t := range tags[start:end] {
		v := obj{{"name", t.Name}, {"reversion", false}}
		if ts := t.LastModified.Unix(); !t.LastModified.IsZero() && ts > 0 {
			v = append(v, kv{"start_ts", ts})
		}
		v = append(v, kv{"manifest_digest", t.Digest}, kv{"is_manifest_list", false}, kv{"size", 0})
		if !t.LastModified.IsZero() && t.LastModified.Unix() > 0 {
			v = append(v, kv{"last_modified", rfc2822(t.LastModified)})
		}
		views = append(views, v)
	}
	c.json(http.StatusOK, obj{{"tags", views}, {"page", page}, {"has_additional", end < len(tags)}})
}
