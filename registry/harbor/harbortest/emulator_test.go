package harbortest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/harbor/harbortest"
)

// What the emulator answers, raw, for the facts docs/harbor.md takes from
// Harbor's API definition and handlers.
func TestAnswers(t *testing.T) {
	t.Parallel()
	em := harbortest.New()
	if err := em.AddUser("admin", "admin-pw", true); err != nil {
		t.Fatal(err)
	}
	if err := em.AddUser("bob", "bob-pw", false); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := em.AddRepository(quaymirror.Repository{Namespace: "p", Name: "team/app-" + string(rune('a'+i)), Tags: []string{"v1"}}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	get := func(path, user, pw string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	code := func(body string) string {
		var eb struct {
			Errors []struct{ Code string } `json:"errors"`
		}
		_ = json.Unmarshal([]byte(body), &eb)
		if len(eb.Errors) == 0 {
			return ""
		}
		return eb.Errors[0].Code
	}
	for _, tc := range []struct {
		name, path, user, pw string
		status               int
		code                 string
	}{
		{"missing project, anonymous", "/api/v2.0/projects/nope/repositories", "", "", 401, "UNAUTHORIZED"},
		{"missing project, user", "/api/v2.0/projects/nope/repositories", "bob", "bob-pw", 403, "FORBIDDEN"},
		{"missing project, admin", "/api/v2.0/projects/nope/repositories", "admin", "admin-pw", 404, "NOT_FOUND"},
		{"private project, wrong password is anonymous", "/api/v2.0/projects/p/repositories", "admin", "wrong", 401, "UNAUTHORIZED"},
		{"page_size above 100", "/api/v2.0/projects/p/repositories?page_size=101", "admin", "admin-pw", 422, "UNPROCESSABLE_ENTITY"},
		{"repository name encoded once does not route", "/api/v2.0/projects/p/repositories/team%2Fapp-a/artifacts", "admin", "admin-pw", 404, "NOT_FOUND"},
		{"repository name encoded twice", "/api/v2.0/projects/p/repositories/team%252Fapp-a/artifacts", "admin", "admin-pw", 200, ""},
		{"users/current, anonymous", "/api/v2.0/users/current", "", "", 401, "UNAUTHORIZED"},
	} {
		resp, body := get(tc.path, tc.user, tc.pw)
		if resp.StatusCode != tc.status || code(body) != tc.code {
			t.Errorf("%s: %d %q, want %d %q (%s)", tc.name, resp.StatusCode, code(body), tc.status, tc.code, body)
		}
	}

	resp, body := get("/api/v2.0/projects/p/repositories?page=2&page_size=2&sort=repository_id", "admin", "admin-pw")
	if got := resp.Header.Get("X-Total-Count"); got != "5" {
		t.Errorf("X-Total-Count = %q", got)
	}
	want := `</api/v2.0/projects/p/repositories?page=1&page_size=2&sort=repository_id>; rel="prev" , ` +
		`</api/v2.0/projects/p/repositories?page=3&page_size=2&sort=repository_id>; rel="next"`
	if got := resp.Header.Get("Link"); got != want {
		t.Errorf("Link = %q\nwant   %q", got, want)
	}
	if !strings.Contains(body, `"name":"p/team/app-c"`) {
		t.Errorf("page 2 sorted by id does not hold p/team/app-c, named with its project: %s", body)
	}
}
