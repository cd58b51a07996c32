package oci_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/oci"
	"github.com/quaymirror/quaymirror/registry/oci/ocitest"
)

const (
	testUser     = "puller"
	testPassword = "pull-secret-0123456789"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fronted starts an in-memory registry behind f and returns it with a
// store that pushes through f with f's credentials.
func fronted(t *testing.T, f *tokenFront) (*ocitest.Registry, *ocitest.Store) {
	t.Helper()
	reg, err := ocitest.Start(func(h http.Handler) http.Handler { f.next = h; return f })
	must(t, err)
	t.Cleanup(reg.Close)
	f.realm = reg.URL + "/token"
	if f.user == "" {
		f.user, f.password = testUser, testPassword
	}
	return reg, ocitest.NewStore(reg.Host, remote.WithAuth(&authn.Basic{Username: f.user, Password: f.password}))
}

func names(t *testing.T, c quaymirror.RepositoryLister, ns string) []string {
	t.Helper()
	var out []string
	for r, err := range quaymirror.Repositories(t.Context(), c, ns) {
		must(t, err)
		if r.Namespace != ns || r.State != "" || r.Visibility != "" {
			t.Errorf("listed %+v: want namespace %s, no state, no visibility", r, ns)
		}
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// seedPrefixes adds repositories in and around the organisation team-a.
func seedPrefixes(t *testing.T, s *ocitest.Store) map[string][]quaymirror.Tag {
	t.Helper()
	pushed := map[string][]quaymirror.Tag{}
	for _, r := range []struct{ ns, name string }{
		{"team-a", "app/web"}, {"team-a", "db"}, {"team-a", "tools/a/b/c"},
		{"team-ab", "x"}, {"team-a-b", "y"}, {"team-a.c", "z"}, {"team-b", "y"}, {"other", "team-a/nope"},
	} {
		tags, err := s.PushImages(r.ns, r.name, "v1", "latest")
		must(t, err)
		pushed[r.ns+"/"+r.name] = tags
	}
	return pushed
}

// The whole flow against a registry that asks for tokens: a token per
// scope, fetched once and reused over pages and tags; the organisation is
// the path prefix, neighbours with longer names left out.
func TestTokenFlowListsAnOrganisationAndItsTags(t *testing.T) {
	t.Parallel()
	f := &tokenFront{expiresIn: 300}
	reg, store := fronted(t, f)
	pushed := seedPrefixes(t, store)
	f.tokenRequests.Store(0)

	c, err := oci.New(reg.URL, oci.WithBasicAuth(testUser, testPassword), oci.WithPageSize(1), oci.WithTagPageSize(1))
	must(t, err)
	if got, want := names(t, c, "team-a"), []string{"app/web", "db", "tools/a/b/c"}; !slices.Equal(got, want) {
		t.Errorf("team-a lists %v, want %v", got, want)
	}
	tags, err := quaymirror.Tags(t.Context(), c, "team-a", "app/web")
	must(t, err)
	want := pushed["team-a/app/web"]
	slices.SortFunc(want, func(a, b quaymirror.Tag) int { return strings.Compare(a.Name, b.Name) })
	if !slices.Equal(tags, want) {
		t.Errorf("tags = %+v, want %+v", tags, want)
	}
	if n := f.tokenRequests.Load(); n != 2 {
		t.Errorf("%d token requests, want 2 (the catalog's, the repository's), each token reused", n)
	}
	u, err := c.CurrentUser(t.Context())
	must(t, err)
	if u.Username != testUser {
		t.Errorf("CurrentUser = %q, want %q", u.Username, testUser)
	}
}

// A token is used until shortly before it expires, then renewed.
func TestTokensAreRenewedWhenTheyExpire(t *testing.T) {
	t.Parallel()
	f := &tokenFront{expiresIn: 60}
	reg, store := fronted(t, f)
	seedPrefixes(t, store)
	f.tokenRequests.Store(0)
	var mu sync.Mutex
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, err := oci.New(reg.URL, oci.WithBasicAuth(testUser, testPassword), oci.WithClock(clock))
	must(t, err)
	names(t, c, "team-a")
	names(t, c, "team-a")
	if n := f.tokenRequests.Load(); n != 1 {
		t.Fatalf("%d token requests for two listings within the token's life, want 1", n)
	}
	mu.Lock()
	now = now.Add(55 * time.Second) // within the renewal margin
	mu.Unlock()
	names(t, c, "team-a")
	if n := f.tokenRequests.Load(); n != 2 {
		t.Errorf("%d token requests after the token neared its end, want 2", n)
	}
}

func TestBadCredentialsAreUnauthorized(t *testing.T) {
	t.Parallel()
	f := &tokenFront{}
	reg, store := fronted(t, f)
	seedPrefixes(t, store)
	const wrong = "wrong-password-abcdef"
	c, err := oci.New(reg.URL, oci.WithBasicAuth(testUser, wrong))
	must(t, err)
	_, err = c.CurrentUser(t.Context())
	if !errors.Is(err, quaymirror.ErrUnauthorized) || !strings.Contains(err.Error(), "rejected the credentials") {
		t.Errorf("CurrentUser with a wrong password: %v, want ErrUnauthorized saying the credentials were rejected", err)
	}
	_, err = c.ListRepositories(t.Context(), "team-a", "")
	if !errors.Is(err, quaymirror.ErrUnauthorized) || errors.Is(err, oci.ErrCatalogRefused) {
		t.Errorf("listing with a wrong password: %v, want ErrUnauthorized, not a refused catalog", err)
	}
	if err != nil && strings.Contains(err.Error(), wrong) {
		t.Errorf("the error shows the password: %v", err)
	}

	anon, err := oci.New(reg.URL)
	must(t, err)
	_, err = anon.CurrentUser(t.Context())
	if !errors.Is(err, quaymirror.ErrUnauthorized) || !strings.Contains(err.Error(), "anonymous") {
		t.Errorf("anonymous CurrentUser where anonymous access is refused: %v", err)
	}
}

// Docker Hub hands out a token for the catalog's scope that does not
// open it; the client says the catalog is refused, and what to use.
func TestRefusedCatalog(t *testing.T) {
	t.Parallel()
	f := &tokenFront{refuseCatalog: true, anonymous: true}
	reg, store := fronted(t, f)
	seedPrefixes(t, store)
	for _, opts := range [][]oci.Option{nil, {oci.WithBasicAuth(testUser, testPassword)}} {
		c, err := oci.New(reg.URL, opts...)
		must(t, err)
		_, err = c.ListRepositories(t.Context(), "team-a", "")
		if !errors.Is(err, oci.ErrCatalogRefused) || !errors.Is(err, quaymirror.ErrUnsupported) {
			t.Fatalf("listing a refused catalog: %v, want ErrCatalogRefused", err)
		}
		for _, want := range []string{"refuses to list its catalog", "Docker Hub", "source type quay", "source type harbor"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if _, err := c.CurrentUser(t.Context()); err != nil {
			t.Errorf("CurrentUser: %v; the credentials are good, only the catalog is refused", err)
		}
		// Tags need no catalog.
		if _, err := quaymirror.Tags(t.Context(), c, "team-a", "db"); err != nil {
			t.Errorf("tags of a repository of a registry refusing its catalog: %v", err)
		}
	}
}

func TestAnonymousTokens(t *testing.T) {
	t.Parallel()
	f := &tokenFront{anonymous: true}
	reg, store := fronted(t, f)
	seedPrefixes(t, store)
	c, err := oci.New(reg.URL)
	must(t, err)
	if got := names(t, c, "team-a"); len(got) != 3 {
		t.Errorf("anonymous listing: %v", got)
	}
	u, err := c.CurrentUser(t.Context())
	must(t, err)
	if u.Username != "anonymous" {
		t.Errorf("CurrentUser = %q, want anonymous", u.Username)
	}
}

// A token the caller holds is sent as is, never exchanged.
func TestStaticToken(t *testing.T) {
	t.Parallel()
	f := &tokenFront{}
	reg, store := fronted(t, f)
	seedPrefixes(t, store)
	f.mu.Lock()
	f.tokens["static-token-0123456789"] = map[string]bool{"registry:catalog:*": true}
	f.mu.Unlock()
	f.tokenRequests.Store(0)
	c, err := oci.New(reg.URL, oci.WithToken("static-token-0123456789"))
	must(t, err)
	if got := names(t, c, "team-a"); len(got) != 3 {
		t.Errorf("listing with a static token: %v", got)
	}
	if n := f.tokenRequests.Load(); n != 0 {
		t.Errorf("%d token requests with a static token, want none", n)
	}
	_, err = oci.New(reg.URL, oci.WithToken("t"), oci.WithBasicAuth("u", "p"))
	if err == nil {
		t.Error("WithToken and WithBasicAuth together: no error")
	}
}

// Credentials go to a token service only over https, or plain http on
// loopback or when allowed.
func TestTokenServiceMustNotBePlainHTTPElsewhere(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://token.example.invalid/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	c, err := oci.New(srv.URL, oci.WithBasicAuth(testUser, testPassword))
	must(t, err)
	_, err = c.ListRepositories(t.Context(), "team-a", "")
	if !errors.Is(err, quaymirror.ErrBadResponse) || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("a token service on plain http elsewhere: %v, want a refusal", err)
	}
}

// Debug logs name requests, never a password or a token.
func TestLogsHoldNoSecret(t *testing.T) {
	t.Parallel()
	f := &tokenFront{refuseCatalog: false}
	reg, store := fronted(t, f)
	seedPrefixes(t, store)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: lockedWriter{&buf, &mu}})
	c, err := oci.New(reg.URL, oci.WithBasicAuth(testUser, testPassword), oci.WithLogger(logger))
	must(t, err)
	names(t, c, "team-a")
	_, err = quaymirror.Tags(t.Context(), c, "team-a", "db")
	must(t, err)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "oci request") {
		t.Fatalf("no request logged:\n%s", out)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, secret := range append(slices.Collect(mapsKeys(f.tokens)), testPassword) {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows a secret (%d characters)", len(secret))
		}
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// pagingCatalog is a catalog as the specification pages it: sorted, n
// names after last, and a Link to the next page while names remain.
type pagingCatalog struct {
	names    []string
	mu       sync.Mutex
	requests []string // the query of every catalog request
}

func (p *pagingCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/" {
		return
	}
	if r.URL.Path != "/v2/_catalog" {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	p.requests = append(p.requests, r.URL.RawQuery)
	p.mu.Unlock()
	q := r.URL.Query()
	n := 1000
	fmt.Sscan(q.Get("n"), &n)
	var out []string
	for _, name := range p.names {
		if name > q.Get("last") && len(out) < n {
			out = append(out, name)
		}
	}
	if len(out) == n && out[n-1] != p.names[len(p.names)-1] {
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?n=%d&last=%s>; rel="next"`, n, out[n-1]))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"repositories":[%s]}`, quoteAll(out))
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = `"` + x + `"`
	}
	return strings.Join(q, ",")
}

// Against a catalog that pages by last, the listing starts right before
// the prefix, follows the Link pages, and stops at the first name past
// the organisation without reading the rest of the catalog.
func TestCatalogPagingStartsAtThePrefixAndStopsPastIt(t *testing.T) {
	t.Parallel()
	p := &pagingCatalog{}
	for i := range 50 {
		p.names = append(p.names, fmt.Sprintf("aaa/%02d", i), fmt.Sprintf("zzz/%02d", i))
	}
	for i := range 7 {
		p.names = append(p.names, fmt.Sprintf("team-a/app-%d", i))
	}
	p.names = append(p.names, "team-a", "team-a-b/x", "team-ab/x", "team-a.c/y")
	slices.Sort(p.names)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	c, err := oci.New(srv.URL, oci.WithPageSize(3))
	must(t, err)

	var pages [][]string
	token := ""
	for {
		page, err := c.ListRepositories(context.Background(), "team-a", token)
		must(t, err)
		var ns []string
		for _, r := range page.Repositories {
			ns = append(ns, r.Name)
		}
		pages = append(pages, ns)
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	want := [][]string{{"app-0", "app-1", "app-2"}, {"app-3", "app-4", "app-5"}, {"app-6"}}
	if fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Errorf("pages = %v, want %v", pages, want)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) != 3 || p.requests[0] != "last=team-a%2F&n=3" {
		t.Errorf("catalog requests %q: want 3, the first from last=team-a/", p.requests)
	}
}
