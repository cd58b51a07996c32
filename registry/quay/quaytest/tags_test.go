package quaytest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

var tagBase = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// pushTags gives acme/app n tags, t000 the oldest.
func (e *env) pushTags(n int) {
	e.t.Helper()
	tags := make([]quaymirror.Tag, n)
	for i := range tags {
		tags[i] = quaymirror.Tag{Name: fmt.Sprintf("t%03d", i), Digest: fmt.Sprintf("sha256:%064x", i), LastModified: tagBase.Add(time.Duration(i) * time.Second)}
	}
	must(e.t, e.reg.PushTags("acme", "app", tags...))
}

type tagPageJSON struct {
	Tags []struct {
		Name           string `json:"name"`
		StartTS        int64  `json:"start_ts"`
		ManifestDigest string `json:"manifest_digest"`
		LastModified   string `json:"last_modified"`
	} `json:"tags"`
	Page          int  `json:"page"`
	HasAdditional bool `json:"has_additional"`
}

// The tag endpoint: newest first, limit clamped to 1..100 (default 50),
// page to 1 and up, has_additional; Quay's repository read holds the
// newest 500.
func TestTagEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	e.pushTags(237)
	page := func(query string) tagPageJSON {
		t.Helper()
		r := e.do(req{method: http.MethodGet, path: "/api/v1/repository/acme/app/tag/" + query, token: tokReader})
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", query, r.status, r.body)
		}
		var p tagPageJSON
		must(t, json.Unmarshal(r.body, &p))
		return p
	}
	p := page("?onlyActiveTags=true")
	if len(p.Tags) != 50 || p.Page != 1 || !p.HasAdditional || p.Tags[0].Name != "t236" || p.Tags[49].Name != "t187" {
		t.Errorf("default page: %d tags from %s, page %d, more %v", len(p.Tags), p.Tags[0].Name, p.Page, p.HasAdditional)
	}
	first := p.Tags[0]
	if first.StartTS != tagBase.Add(236*time.Second).Unix() || first.ManifestDigest != fmt.Sprintf("sha256:%064x", 236) ||
		first.LastModified != tagBase.Add(236*time.Second).Format("Mon, 02 Jan 2006 15:04:05 -0000") {
		t.Errorf("tag view %+v", first)
	}
	p = page("?limit=1000&page=3")
	if len(p.Tags) != 37 || p.Page != 3 || p.HasAdditional || p.Tags[36].Name != "t000" {
		t.Errorf("last page of 100: %d tags, page %d, more %v", len(p.Tags), p.Page, p.HasAdditional)
	}
	p = page("?limit=0&page=-4")
	if len(p.Tags) != 1 || p.Page != 1 || !p.HasAdditional {
		t.Errorf("limit 0, page -4: %d tags, page %d, more %v; want Quay's clamp to 1 and 1", len(p.Tags), p.Page, p.HasAdditional)
	}
	p = page("?specificTag=t005")
	if len(p.Tags) != 1 || p.Tags[0].Name != "t005" || p.HasAdditional {
		t.Errorf("specificTag: %+v", p)
	}
	if p := page("?page=9"); len(p.Tags) != 0 || p.HasAdditional {
		t.Errorf("page past the end: %+v", p)
	}
	bad := e.do(req{method: http.MethodGet, path: "/api/v1/repository/acme/app/tag/?page=x", token: tokReader})
	status(http.StatusBadRequest)(t, bad)
	if want := `{"message":{"page":"Page index for the results. Default 1."}}`; string(bad.body) != want+"\n" {
		t.Errorf("bad page number: %s, want %s", bad.body, want)
	}
	apiError(http.StatusNotFound, "not_found", "Not Found")(t, e.do(req{method: http.MethodGet, path: "/api/v1/repository/acme/nope/tag/", token: tokReader}))
	apiError(http.StatusForbidden, "insufficient_scope", "Unauthorized")(t, e.do(req{method: http.MethodGet, path: "/api/v1/repository/beta/secret/tag/", token: tokMember}))

	e.pushTags(537)
	r := e.do(req{method: http.MethodGet, path: "/api/v1/repository/acme/app", token: tokReader})
	var repo struct {
		Tags map[string]struct {
			Name           string `json:"name"`
			LastModified   string `json:"last_modified"`
			ManifestDigest string `json:"manifest_digest"`
		} `json:"tags"`
	}
	must(t, json.Unmarshal(r.body, &repo))
	if len(repo.Tags) != 500 {
		t.Errorf("repository read holds %d tags, want Quay's 500", len(repo.Tags))
	}
	if _, ok := repo.Tags["t036"]; ok {
		t.Error("repository read holds t036, one of the 37 oldest tags")
	}
	if v := repo.Tags["t536"]; v.ManifestDigest != fmt.Sprintf("sha256:%064x", 536) || v.LastModified != tagBase.Add(536*time.Second).Format("Mon, 02 Jan 2006 15:04:05 -0000") {
		t.Errorf("t536 = %+v", v)
	}
}

// The client lists 537 tags with the repository read and six pages of
// the tag endpoint, and gets them all.
func TestClientListsManyTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_6, quaytest.DefaultFeatures())
	e.pushTags(537)
	c, err := quay.New(e.srv.URL, quay.WithToken(tokReader))
	must(t, err)
	e.em.ResetCounters()
	tags, err := quaymirror.Tags(t.Context(), c, "acme", "app")
	must(t, err)
	if len(tags) != 537 || tags[0].Name != "t000" || tags[0].Digest != fmt.Sprintf("sha256:%064x", 0) || !tags[0].LastModified.Equal(tagBase) {
		t.Errorf("%d tags, first %+v", len(tags), tags[0])
	}
	got := e.em.Requests()
	if got["GET /api/v1/repository/{repo}"] != 1 || got["GET /api/v1/repository/{repo}/tag/"] != 6 {
		t.Errorf("requests %v, want one repository read and six tag pages", got)
	}
}
