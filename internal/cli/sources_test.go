package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/harbor/harbortest"
	"github.com/quaymirror/quaymirror/registry/oci/ocitest"
)

// checkMirrors checks that the destination holds exactly a mirror of
// host/org/<name> for each name.
func checkMirrors(t *testing.T, d *demo.Env, org, host string, names []string) {
	t.Helper()
	got := d.Destination.Fake.Repositories(org)
	if len(got) != len(names) {
		t.Errorf("destination %s holds %d repositories, want %d", org, len(got), len(names))
	}
	for _, n := range names {
		m, ok := d.Destination.Fake.Mirror(org, n)
		want := host + "/" + org + "/" + n
		if !ok || m.Config.ExternalReference != want || !m.Config.Enabled {
			t.Errorf("mirror of %s/%s: %+v (found %v), want one of %s", org, n, m.Config, ok, want)
		}
	}
}

// syncTwice runs sync, then sync again, which must write nothing.
func syncTwice(t *testing.T, d *demo.Env, env []string) {
	t.Helper()
	if r := run(t, env, "sync"); r.code != ExitOK {
		t.Fatalf("sync = %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	writes := d.Destination.Emulator.Writes()
	if r := run(t, env, "sync"); r.code != ExitOK || !strings.Contains(r.stdout, "0 created, 0 configured, 0 updated") {
		t.Fatalf("second sync = %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := d.Destination.Emulator.Writes() - writes; n != 0 {
		t.Errorf("the second sync wrote %d times, want 0", n)
	}
}

// preflightFailsBeforeAnyWrite runs check and sync, both of which must
// exit 3 without writing to the destination, the check's output holding
// each of want.
func preflightFailsBeforeAnyWrite(t *testing.T, d *demo.Env, env []string, want ...string) {
	t.Helper()
	writes := d.Destination.Emulator.Writes()
	r := run(t, env, "check")
	if r.code != ExitPreflight {
		t.Errorf("check = %d, want %d\n%s\n%s", r.code, ExitPreflight, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("check's output lacks %q:\n%s", w, r.stdout)
		}
	}
	if r := run(t, env, "sync"); r.code != ExitPreflight {
		t.Errorf("sync = %d, want %d\n%s\n%s", r.code, ExitPreflight, r.stdout, r.stderr)
	}
	if n := d.Destination.Emulator.Writes() - writes; n != 0 {
		t.Errorf("%d writes to the destination after a failed preflight, want 0", n)
	}
}

// A Harbor project converges on the emulated Quay: its 250 repositories,
// listed over three pages by a robot account of the project, become
// mirrors of <harbor host>/team/<repository>; the next sync writes
// nothing; a wrong robot secret fails the preflight before any write.
func TestHarborSourceConverges(t *testing.T) {
	t.Parallel()
	em := harbortest.New()
	must(t, em.AddProject("team", false))
	var names []string
	for i := range 250 {
		name := fmt.Sprintf("app-%03d", i)
		if i%50 == 0 {
			name = fmt.Sprintf("group-%d/svc", i)
		}
		names = append(names, name)
		must(t, em.AddRepository(quaymirror.Repository{Namespace: "team", Name: name, Tags: []string{"latest"}}))
	}
	must(t, em.AddRepository(quaymirror.Repository{Namespace: "other", Name: "not-mirrored"}))
	robot, err := em.AddRobot("mirror", "robot-secret-0123456789", "team")
	must(t, err)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	d := startDemo(t, demo.Org{Name: "team"})
	env := d.Environ("SOURCE_TYPE=harbor", "SOURCE_REGISTRY="+srv.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=team",
		"SOURCE_USERNAME="+robot, "SOURCE_PASSWORD=robot-secret-0123456789")
	syncTwice(t, d, env)
	checkMirrors(t, d, "team", host, names)
	if n := em.Front().Requests()["GET "+harbortest.RouteRepositories]; n < 6 {
		t.Errorf("%d repository listings for two syncs of 250 repositories, want pages of 100", n)
	}

	must(t, em.AddRepository(quaymirror.Repository{Namespace: "team", Name: "new-one"}))
	bad := d.Environ("SOURCE_TYPE=harbor", "SOURCE_REGISTRY="+srv.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=team",
		"SOURCE_USERNAME="+robot, "SOURCE_PASSWORD=wrong-secret-987654321")
	preflightFailsBeforeAnyWrite(t, d, bad, "source credentials", "rejected the credentials", "a robot account (robot$team+<name>")
	preflightFailsBeforeAnyWrite(t, d, d.Environ("SOURCE_TYPE=harbor", "SOURCE_REGISTRY="+srv.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=team"),
		"private or does not exist")
}

// An OCI registry's organisation (a path prefix) converges on the
// emulated Quay: go-containerregistry's in-memory registry, anonymous.
func TestOCISourceConverges(t *testing.T) {
	t.Parallel()
	reg, err := ocitest.Start(nil)
	must(t, err)
	t.Cleanup(reg.Close)
	store := ocitest.NewStore(reg.Host)
	var names []string
	for i := range 40 {
		name := fmt.Sprintf("svc-%02d", i)
		if i%10 == 0 {
			name = fmt.Sprintf("group/%d/app", i)
		}
		names = append(names, name)
		must(t, store.AddRepository(quaymirror.Repository{Namespace: "team-a", Name: name, Tags: []string{"v1"}}))
	}
	for _, neighbour := range []string{"team-ab/x", "team-a-b/y", "other/team-a/z"} {
		ns, name, _ := strings.Cut(neighbour, "/")
		must(t, store.AddRepository(quaymirror.Repository{Namespace: ns, Name: name, Tags: []string{"v1"}}))
	}
	d := startDemo(t, demo.Org{Name: "team-a"})
	env := d.Environ("SOURCE_TYPE=oci", "SOURCE_REGISTRY="+reg.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=team-a")
	syncTwice(t, d, env)
	checkMirrors(t, d, "team-a", reg.Host, names)

	// verify reads the source's tags through the OCI client: the mirrors
	// have copied nothing yet, so every tag is missing.
	r := run(t, env, "verify")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "missing") || !strings.Contains(r.stdout, "v1") {
		t.Errorf("verify = %d, want 1 with every tag missing\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// A registry that refuses its catalog (as Docker Hub does: a token for
// the catalog's scope that does not open it) fails the preflight with
// what to use instead, before any write.
func TestOCIRefusedCatalog(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			fmt.Fprint(w, `{"token":"anonymous-token-0123"}`)
		case r.Header.Get("Authorization") == "Bearer anonymous-token-0123" && r.URL.Path == "/v2/":
			fmt.Fprint(w, `{}`)
		default:
			scope := ""
			if r.URL.Path == "/v2/_catalog" {
				scope = `,scope="registry:catalog:*"`
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="hub"%s`, srv.URL, scope))
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"registry","Name":"catalog","Action":"*"}]}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	d := startDemo(t, demo.Org{Name: "library"})
	env := d.Environ("SOURCE_TYPE=oci", "SOURCE_REGISTRY="+srv.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=library")
	preflightFailsBeforeAnyWrite(t, d, env, "refuses to list its catalog", "Docker Hub", "source type quay")
}

// startDistribution starts the CNCF distribution registry with token
// authentication; without it the test is skipped, or fails when
// QUAYMIRROR_REQUIRE_TOOLS=1 (as in CI, which installs it).
func startDistribution(t *testing.T, opts ocitest.DistributionOptions) *ocitest.Distribution {
	t.Helper()
	reg, err := ocitest.StartDistribution(t.TempDir(), opts)
	if errors.Is(err, ocitest.ErrNoDistribution) {
		if os.Getenv("QUAYMIRROR_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%v; QUAYMIRROR_REQUIRE_TOOLS=1 requires it (apt-get install docker-registry)", err)
		}
		t.Skipf("%v: apt-get install docker-registry to run this test", err)
	}
	must(t, err)
	t.Cleanup(reg.Close)
	return reg
}

// The real CNCF distribution registry with token authentication and a
// catalog page of 10: 25 repositories of team-a over several pages
// converge; a wrong password fails the preflight before any write.
func TestDistributionSourceConverges(t *testing.T) {
	t.Parallel()
	reg := startDistribution(t, ocitest.DistributionOptions{MaxEntries: 10})
	store := reg.Store()
	var names []string
	for i := range 25 {
		names = append(names, fmt.Sprintf("svc-%02d", i))
		must(t, store.AddRepository(quaymirror.Repository{Namespace: "team-a", Name: names[i], Tags: []string{"v1"}}))
	}
	for _, n := range []string{"aaa", "team-ab", "zzz"} {
		must(t, store.AddRepository(quaymirror.Repository{Namespace: n, Name: "x", Tags: []string{"v1"}}))
	}
	d := startDemo(t, demo.Org{Name: "team-a"})
	env := d.Environ("SOURCE_TYPE=oci", "SOURCE_REGISTRY="+reg.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=team-a",
		"SOURCE_USERNAME="+reg.Username, "SOURCE_PASSWORD="+reg.Password)
	syncTwice(t, d, env)
	checkMirrors(t, d, "team-a", reg.Host, names)

	must(t, store.AddRepository(quaymirror.Repository{Namespace: "team-a", Name: "late", Tags: []string{"v1"}}))
	bad := d.Environ("SOURCE_TYPE=oci", "SOURCE_REGISTRY="+reg.URL, "SOURCE_TOKEN=", "ORGANIZATIONS=team-a",
		"SOURCE_USERNAME="+reg.Username, "SOURCE_PASSWORD=not-the-password")
	preflightFailsBeforeAnyWrite(t, d, bad, "source credentials", "rejected the credentials", "token service")
}
