package harbor_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/harbor"
	"github.com/quaymirror/quaymirror/registry/harbor/harbortest"
	"github.com/quaymirror/quaymirror/registry/registrytest"
)

const (
	adminPassword = "Harbor12345-admin"
	robotSecret   = "robot-secret-0123456789"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func serve(t *testing.T, em *harbortest.Emulator) string {
	t.Helper()
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The client passes the source suite against the emulator, as a system
// administrator and as a system robot account.
func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("Admin", func(t *testing.T) {
		t.Parallel()
		registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
			em := harbortest.New()
			must(t, em.AddUser("admin", adminPassword, true))
			c, err := harbor.New(serve(t, em), harbor.WithBasicAuth("admin", adminPassword))
			must(t, err)
			return c, em
		}, registrytest.SourceOptions{Stateless: true})
	})
	t.Run("SystemRobot", func(t *testing.T) {
		t.Parallel()
		registrytest.RunSource(t, func(t *testing.T) (quaymirror.Source, registrytest.SourceStore) {
			em := harbortest.New()
			name, err := em.AddRobot("mirror", robotSecret)
			must(t, err)
			c, err := harbor.New(serve(t, em), harbor.WithBasicAuth(name, robotSecret), harbor.WithPageSize(50))
			must(t, err)
			return c, em
		}, registrytest.SourceOptions{Stateless: true})
	})
}

func seed(t *testing.T, em *harbortest.Emulator) {
	t.Helper()
	must(t, em.AddProject("library", true))
	must(t, em.AddProject("team", false))
	for _, r := range []quaymirror.Repository{
		{Namespace: "library", Name: "nginx", Description: "web server", Tags: []string{"1.27"}},
		{Namespace: "library", Name: "tools/jq", Tags: []string{"latest"}},
		{Namespace: "team", Name: "app/web", Tags: []string{"v1", "v2"}},
	} {
		must(t, em.AddRepository(r))
	}
}

func listing(t *testing.T, c *harbor.Client, project string) ([]string, error) {
	t.Helper()
	var out []string
	for r, err := range quaymirror.Repositories(t.Context(), c, project) {
		if err != nil {
			return out, err
		}
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out, nil
}

func TestAccess(t *testing.T) {
	t.Parallel()
	em := harbortest.New()
	seed(t, em)
	must(t, em.AddUser("alice", "alice-password", false))
	must(t, em.AddMember("team", "alice", harbortest.RoleDeveloper))
	must(t, em.AddUser("bob", "bob-password", false))
	robot, err := em.AddRobot("mirror", robotSecret, "team")
	must(t, err)
	url := serve(t, em)
	client := func(opts ...harbor.Option) *harbor.Client {
		c, err := harbor.New(url, opts...)
		must(t, err)
		return c
	}
	anon := client()
	alice := client(harbor.WithBasicAuth("alice", "alice-password"))
	bob := client(harbor.WithBasicAuth("bob", "bob-password"))
	rb := client(harbor.WithBasicAuth(robot, robotSecret))
	wrong := client(harbor.WithBasicAuth(robot, "not-the-secret-42"))

	// A public project lists to anyone; names lose their project.
	if got, err := listing(t, anon, "library"); err != nil || !slices.Equal(got, []string{"nginx", "tools/jq"}) {
		t.Errorf("anonymous listing of a public project: %v, %v", got, err)
	}
	// A private project: members and the project's robot list it.
	for who, c := range map[string]*harbor.Client{"member": alice, "robot": rb} {
		if got, err := listing(t, c, "team"); err != nil || !slices.Equal(got, []string{"app/web"}) {
			t.Errorf("%s listing a private project: %v, %v", who, got, err)
		}
	}
	// A non-member sees nothing (403), a missing project is empty too.
	if got, err := listing(t, bob, "team"); err != nil || len(got) != 0 {
		t.Errorf("a non-member listing a private project: %v, %v; want an empty listing", got, err)
	}
	if got, err := listing(t, rb, "nope"); err != nil || len(got) != 0 {
		t.Errorf("listing a missing project: %v, %v", got, err)
	}
	// Anonymous on a private project, and rejected credentials (Harbor
	// treats them as anonymous): unauthorized, saying why.
	if _, err := listing(t, anon, "team"); !errors.Is(err, quaymirror.ErrUnauthorized) || !strings.Contains(err.Error(), "anonymous") {
		t.Errorf("anonymous listing of a private project: %v", err)
	}
	_, err = listing(t, wrong, "team")
	if !errors.Is(err, quaymirror.ErrUnauthorized) || !strings.Contains(err.Error(), "rejected the credentials") {
		t.Errorf("listing with a wrong secret: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "not-the-secret-42") {
		t.Errorf("the error shows the secret: %v", err)
	}

	// CurrentUser: a user's name; a robot's (Harbor answers 412); a
	// wrong secret is unauthorized; anonymous needs no request.
	for _, tc := range []struct {
		c    *harbor.Client
		want string
	}{{alice, "alice"}, {rb, robot}, {anon, "anonymous"}} {
		u, err := tc.c.CurrentUser(t.Context())
		if err != nil || u.Username != tc.want {
			t.Errorf("CurrentUser = %v, %v; want %s", u, err, tc.want)
		}
	}
	if _, err := wrong.CurrentUser(t.Context()); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("CurrentUser with a wrong secret: %v", err)
	}

	// GetOrganization: the project, or a refusal that does not tell.
	o, err := alice.GetOrganization(t.Context(), "team")
	if err != nil || o.Name != "team" || !o.IsMember || o.IsAdmin {
		t.Errorf("GetOrganization as a developer: %+v, %v", o, err)
	}
	if _, err := rb.GetOrganization(t.Context(), "nope"); !errors.Is(err, quaymirror.ErrForbidden) {
		t.Errorf("GetOrganization of a missing project as a robot: %v, want ErrForbidden", err)
	}
	if _, err := anon.GetOrganization(t.Context(), "team"); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("GetOrganization of a private project anonymously: %v", err)
	}
	must(t, em.AddUser("admin", adminPassword, true))
	if _, err := client(harbor.WithBasicAuth("admin", adminPassword)).GetOrganization(t.Context(), "nope"); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("GetOrganization of a missing project as an administrator: %v, want ErrNotFound", err)
	}

	// Tags: each tag with its artifact's digest.
	tags, err := quaymirror.Tags(t.Context(), rb, "team", "app/web")
	if err != nil || len(tags) != 2 || tags[0].Digest == "" || tags[0].Digest == tags[1].Digest {
		t.Errorf("tags of team/app/web: %+v, %v", tags, err)
	}
	if _, err := rb.ListTags(t.Context(), "team", "nope", ""); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("tags of a missing repository: %v", err)
	}
}

// Harbor before 2.3 fails users/current for a robot (500): the robot is
// then checked against the registry's /v2/.
func TestRobotCheckedAgainstTheRegistryOnOldHarbor(t *testing.T) {
	t.Parallel()
	em := harbortest.New()
	seed(t, em)
	robot, err := em.AddRobot("mirror", robotSecret, "team")
	must(t, err)
	must(t, em.Front().Inject(emulationFault500()))
	c, err := harbor.New(serve(t, em), harbor.WithBasicAuth(robot, robotSecret), harbor.WithRetry(0, 1, 1))
	must(t, err)
	u, err := c.CurrentUser(t.Context())
	if err != nil || u.Username != robot {
		t.Fatalf("CurrentUser = %v, %v", u, err)
	}
	if n := em.Front().Requests()["GET "+harbortest.RouteRegistryBase]; n != 1 {
		t.Errorf("%d requests to /v2/, want 1", n)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		opts []harbor.Option
	}{
		{"https://h.example.com", []harbor.Option{harbor.WithPageSize(101)}},
		{"https://h.example.com", []harbor.Option{harbor.WithBasicAuth("u", "p"), harbor.WithToken("t")}},
		{"http://h.example.com", nil},
		{"https://u:p@h.example.com", nil},
	} {
		if _, err := harbor.New(tc.url, tc.opts...); err == nil {
			t.Errorf("New(%q, %d options): no error", tc.url, len(tc.opts))
		}
	}
}
