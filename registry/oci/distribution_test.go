package oci_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/oci"
	"github.com/quaymirror/quaymirror/registry/oci/ocitest"
	"github.com/quaymirror/quaymirror/registry/registrytest"
)

// startDistribution starts the CNCF distribution registry with token
// authentication; without the binary the test is skipped, or fails when
// QUAYMIRROR_REQUIRE_TOOLS=1 (as in CI, which installs it).
func startDistribution(t *testing.T, opts ocitest.DistributionOptions) *ocitest.Distribution {
	t.Helper()
	d, err := ocitest.StartDistribution(t.TempDir(), opts)
	if errors.Is(err, ocitest.ErrNoDistribution) {
		if os.Getenv("QUAYMIRROR_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%v; QUAYMIRROR_REQUIRE_TOOLS=1 requires it (apt-get install docker-registry)", err)
		}
		t.Skipf("%v: apt-get install docker-registry to run this test", err)
	}
	must(t, err)
	t.Cleanup(d.Close)
	return d
}

// The client against the real CNCF distribution registry, with token
// authentication: its catalog pages by the Link header in path order.
func TestConformanceDistributionRegistry(t *testing.T) {
	t.Parallel()
	registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
		d := startDistribution(t, ocitest.DistributionOptions{})
		c, err := oci.New(d.URL, oci.WithBasicAuth(d.Username, d.Password))
		must(t, err)
		return c, d.Store()
	}, registrytest.SourceOptions{Stateless: true})
}

// The distribution registry pages its catalog by the Link header; the
// listing starts at the prefix, crosses several pages and leaves the
// neighbours out; tags come with the digests the registry gives them.
func TestDistributionPagesAndPrefixes(t *testing.T) {
	t.Parallel()
	d := startDistribution(t, ocitest.DistributionOptions{MaxEntries: 5})
	pushed := seedPrefixes(t, d.Store())
	store := d.Store()
	for i := range 9 {
		_, err := store.PushImages("team-a", "many/"+string(rune('a'+i)), "latest")
		must(t, err)
	}
	c, err := oci.New(d.URL, oci.WithBasicAuth(d.Username, d.Password), oci.WithPageSize(4))
	must(t, err)
	var got []string
	pages := 0
	token := ""
	for {
		page, err := c.ListRepositories(t.Context(), "team-a", token)
		must(t, err)
		pages++
		for _, r := range page.Repositories {
			got = append(got, r.Name)
		}
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	if len(got) != 12 || !slices.Contains(got, "app/web") || !slices.Contains(got, "tools/a/b/c") || slices.Contains(got, "x") {
		t.Errorf("team-a lists %v, want its 12 repositories only", got)
	}
	if pages < 3 {
		t.Errorf("12 repositories in %d pages of 4", pages)
	}
	tags, err := quaymirror.Tags(t.Context(), c, "team-a", "app/web")
	must(t, err)
	want := pushed["team-a/app/web"]
	slices.SortFunc(want, func(a, b quaymirror.Tag) int { return strings.Compare(a.Name, b.Name) })
	if !slices.Equal(tags, want) {
		t.Errorf("tags = %+v, want %+v", tags, want)
	}

	// A page size above the registry's maximum, which it refuses
	// (PAGINATION_NUMBER_INVALID): the registry's own pages instead.
	big, err := oci.New(d.URL, oci.WithBasicAuth(d.Username, d.Password), oci.WithPageSize(50))
	must(t, err)
	if all := names(t, big, "team-a"); len(all) != 12 {
		t.Errorf("with n above the registry's maximum, team-a lists %v", all)
	}
}

func TestDistributionCredentials(t *testing.T) {
	t.Parallel()
	d := startDistribution(t, ocitest.DistributionOptions{})
	seedPrefixes(t, d.Store())
	bad, err := oci.New(d.URL, oci.WithBasicAuth(d.Username, "not-the-password-123"))
	must(t, err)
	if _, err := bad.CurrentUser(t.Context()); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("CurrentUser with a wrong password: %v, want ErrUnauthorized", err)
	}
	if _, err := bad.ListRepositories(t.Context(), "team-a", ""); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("listing with a wrong password: %v, want ErrUnauthorized", err)
	}
	anon, err := oci.New(d.URL)
	must(t, err)
	if _, err := anon.CurrentUser(t.Context()); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("anonymous CurrentUser on a registry that wants credentials: %v", err)
	}
}

func TestDistributionRefusedCatalog(t *testing.T) {
	t.Parallel()
	d := startDistribution(t, ocitest.DistributionOptions{RefuseCatalog: true})
	seedPrefixes(t, d.Store())
	c, err := oci.New(d.URL, oci.WithBasicAuth(d.Username, d.Password))
	must(t, err)
	_, err = c.ListRepositories(t.Context(), "team-a", "")
	if !errors.Is(err, oci.ErrCatalogRefused) {
		t.Errorf("a catalog the token service never grants: %v, want ErrCatalogRefused", err)
	}
	if _, err := c.CurrentUser(t.Context()); err != nil {
		t.Errorf("CurrentUser: %v", err)
	}
}
