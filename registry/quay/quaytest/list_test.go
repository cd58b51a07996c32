package quaytest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

type page struct {
	names []string
	next  string
	has   bool // next_page present
}

func (e *env) list(token, query string) page {
	e.t.Helper()
	r := e.do(req{method: http.MethodGet, path: "/api/v1/repository?" + query, token: token})
	if r.status != 200 {
		e.t.Fatalf("list %s: %d %s", query, r.status, r.body)
	}
	var body struct {
		Repositories []struct {
			Name string `json:"name"`
		} `json:"repositories"`
		Next *string `json:"next_page"`
	}
	must(e.t, json.Unmarshal(r.body, &body))
	var p page
	for _, x := range body.Repositories {
		p.names = append(p.names, x.Name)
	}
	if body.Next != nil {
		p.next, p.has = *body.Next, true
	}
	return p
}

func (e *env) addRepos(org string, n int, vis quaymirror.Visibility) []string {
	e.t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("r%04d", i)
		must(e.t, e.reg.AddRepository(quaymirror.Repository{Namespace: org, Name: name, Visibility: vis}))
		names = append(names, name)
	}
	return names
}

func nsQuery(ns, token string) string {
	q := url.Values{"namespace": {ns}}
	if token != "" {
		q.Set("next_page", token)
	}
	return q.Encode()
}

func TestListPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	want := append([]string{"app"}, e.addRepos("acme", 249, quaymirror.Private)...)
	e.addRepos("beta", 30, quaymirror.Public)

	var got []string
	var sizes []int
	tok := ""
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("listing does not end")
		}
		p := e.list(tokAdmin, nsQuery("acme", tok))
		got = append(got, p.names...)
		sizes = append(sizes, len(p.names))
		if !p.has {
			break
		}
		if !strings.HasPrefix(p.next, "gAAAAA") || strings.Contains(p.next, "acme") {
			t.Errorf("page token %q is not opaque", p.next)
		}
		tok = p.next
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Errorf("page sizes %v, want [100 100 50]", sizes)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listing is not every repository once in creation order: %d names", len(got))
	}

	first := e.list(tokAdmin, nsQuery("acme", ""))
	second := e.list(tokAdmin, nsQuery("acme", first.next))
	t.Run("GarbledTokenRestarts", func(t *testing.T) {
		for _, bad := range []string{"garbage", first.next[:len(first.next)-4] + "AAAA", "gAAAAA"} {
			if p := e.list(tokAdmin, nsQuery("acme", bad)); p.names[0] != "app" || !p.has {
				t.Errorf("token %q: page starts at %q, want the first page again", bad, p.names[0])
			}
		}
	})
	t.Run("TokenOfAnotherListingRestarts", func(t *testing.T) {
		if p := e.list(tokAdmin, nsQuery("beta", first.next)); p.names[0] != "r0000" {
			t.Errorf("acme's token on beta starts at %q, want beta's first page", p.names[0])
		}
	})
	t.Run("ExpiredTokensRestart", func(t *testing.T) {
		if p := e.list(tokAdmin, nsQuery("acme", first.next)); p.names[0] != second.names[0] {
			t.Fatalf("token did not work before expiry")
		}
		e.em.ExpirePageTokens()
		if p := e.list(tokAdmin, nsQuery("acme", first.next)); p.names[0] != "app" {
			t.Errorf("expired token starts at %q, want the first page", p.names[0])
		}
	})
}

func TestPageTokenTTL(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(), quaytest.WithClock(clock), quaytest.WithPageTokenTTL(time.Hour))
	e.addRepos("acme", 150, quaymirror.Private)
	first := e.list(tokAdmin, nsQuery("acme", ""))
	if p := e.list(tokAdmin, nsQuery("acme", first.next)); p.names[0] == "app" {
		t.Fatal("fresh token restarted the listing")
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if p := e.list(tokAdmin, nsQuery("acme", first.next)); p.names[0] != "app" {
		t.Errorf("token past its TTL starts at %q, want the first page", p.names[0])
	}
}

func TestListVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	names := e.addRepos("acme", 250, quaymirror.Private)
	for _, n := range []string{names[3], names[150], names[249]} {
		must(t, e.reg.GrantPermission("acme", n, "bob", quaymirror.RoleRead))
	}
	p := e.list(tokMember, nsQuery("acme", ""))
	if strings.Join(p.names, ",") != "r0003,r0150,r0249" || p.has {
		t.Errorf("member sees %v (next %v), want the three repositories it may read in one page", p.names, p.has)
	}
	if p := e.list("", nsQuery("acme", "")); len(p.names) != 0 {
		t.Errorf("anonymous sees %v", p.names)
	}

	e.addRepos("beta", 120, quaymirror.Public)
	var all []string
	tok := ""
	for {
		q := url.Values{"public": {"true"}}
		if tok != "" {
			q.Set("next_page", tok)
		}
		p := e.list("", q.Encode())
		all = append(all, p.names...)
		if !p.has {
			break
		}
		tok = p.next
	}
	if len(all) != 120 {
		t.Errorf("public=true without namespace lists %d repositories, want beta's 120 public ones", len(all))
	}
}

// TestConcurrentCreates: among concurrent creations of the same mirror,
// exactly one wins and the others get Quay's 409.
func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Go(func() {
			codes[i] = e.do(req{method: http.MethodPost, path: mirrorPath, token: tokAdmin, body: mirrorBody(e.v, nil)}).status
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 409:
			conflicts++
		}
	}
	if created != 1 || conflicts != len(codes)-1 {
		t.Errorf("codes %v: want one 201 and 409s", codes)
	}
}

// BenchmarkListing20000 lists an organisation of 20,000 repositories to the
// end: the cost per page must not grow with the organisation.
func BenchmarkListing20000(b *testing.B) {
	e := newBenchEnv(b, 20000)
	b.ResetTimer()
	for b.Loop() {
		tok := ""
		for {
			r := e.get(b, "/api/v1/repository?"+nsQuery("big", tok))
			var body struct {
				Next string `json:"next_page"`
			}
			if err := json.Unmarshal(r, &body); err != nil {
				b.Fatal(err)
			}
			if body.Next == "" {
				break
			}
			tok = body.Next
		}
	}
}
