package quay

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Exact-request tests of the API methods over gock (not parallel).

func TestCurrentUser(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/user/", "").Reply(200).JSON(map[string]any{
		"username": "mirror-bot", "organizations": []any{map[string]any{"name": "acme"}, map[string]any{"name": "beta"}},
	})
	u, err := env.c.CurrentUser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "mirror-bot" || !slices.Equal(u.Organizations, []string{"acme", "beta"}) {
		t.Errorf("user = %+v", u)
	}
	check(t, env.only(), "GET", "/api/v1/user/", "", "")
}

func TestCurrentUserBadToken(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/user/", "").Reply(401).JSON(map[string]any{
		"detail": "Requires authentication", "error_message": "Requires authentication",
		"error_type": "invalid_token", "title": "invalid_token", "status": 401,
	})
	_, err := env.c.CurrentUser(context.Background())
	if !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestGetOrganization(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/organization/acme", "").Reply(200).JSON(map[string]any{"name": "acme", "is_admin": true, "is_member": true, "teams": map[string]any{}})
	on("GET", "/api/v1/organization/nope", "").Reply(404).JSON(map[string]any{"detail": "Not Found", "status": 404})
	o, err := env.c.GetOrganization(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if *o != (quaymirror.Organization{Name: "acme", IsAdmin: true, IsMember: true}) {
		t.Errorf("org = %+v", o)
	}
	if _, err := env.c.GetOrganization(context.Background(), "nope"); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("missing org: err = %v, want ErrNotFound", err)
	}
}

func TestListRepositories(t *testing.T) {
	env := newGock(t)
	// A token with characters that must be escaped in a query.
	const token = "gAAAA+b/c=d&e"
	on("GET", "/api/v1/repository", "namespace=acme&public=true").Reply(200).JSON(map[string]any{
		"repositories": []any{
			map[string]any{"namespace": "acme", "name": "app", "description": "the app", "is_public": true, "kind": "image", "state": "NORMAL"},
			map[string]any{"namespace": "acme", "name": "team/tool", "description": nil, "is_public": false, "kind": "image", "state": "MIRROR"},
		},
		"next_page": token,
	})
	on("GET", "/api/v1/repository", "namespace=acme&next_page=gAAAA%2Bb%2Fc%3Dd%26e&public=true").Reply(200).JSON(map[string]any{
		"repositories": []any{
			// An old server: no state.
			map[string]any{"namespace": "acme", "name": "legacy", "is_public": false},
		},
	})
	ctx := context.Background()
	p1, err := env.c.ListRepositories(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	want1 := []quaymirror.Repository{
		{Namespace: "acme", Name: "app", Description: "the app", Visibility: quaymirror.Public, State: quaymirror.StateNormal},
		{Namespace: "acme", Name: "team/tool", Visibility: quaymirror.Private, State: quaymirror.StateMirror},
	}
	if !slices.EqualFunc(p1.Repositories, want1, sameRepo) || p1.Next != token {
		t.Errorf("page 1 = %+v", p1)
	}
	p2, err := env.c.ListRepositories(ctx, "acme", p1.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Repositories) != 1 || p2.Repositories[0].State != "" || p2.Next != "" || p2.Repositories[0].Tags != nil {
		t.Errorf("page 2 = %+v", p2)
	}
	reqs := env.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests: %s", describe(reqs))
	}
	check(t, reqs[0], "GET", "/api/v1/repository", "namespace=acme&public=true", "")
	check(t, reqs[1], "GET", "/api/v1/repository", "namespace=acme&next_page=gAAAA%2Bb%2Fc%3Dd%26e&public=true", "")
}

func sameRepo(a, b quaymirror.Repository) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && a.Description == b.Description &&
		a.Visibility == b.Visibility && a.State == b.State && slices.Equal(a.Tags, b.Tags)
}

func TestListRepositoriesEmptyPage(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/repository", "namespace=acme&public=true").Reply(200).JSON(map[string]any{"repositories": []any{}})
	p, err := env.c.ListRepositories(context.Background(), "acme", "")
	if err != nil || len(p.Repositories) != 0 || p.Next != "" {
		t.Errorf("page = %+v, %v", p, err)
	}
}

func TestGetRepositoryNestedName(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/repository/acme/team/app%20one", "includeTags=true").Reply(200).JSON(map[string]any{
		"namespace": "acme", "name": "team/app one", "is_public": false, "state": "NORMAL", "description": "",
		"tags": map[string]any{
			"v2":     map[string]any{"name": "v2", "manifest_digest": "sha256:2"},
			"latest": map[string]any{"name": "latest"},
			"v1":     map[string]any{"name": "v1"},
		},
	})
	r, err := env.c.GetRepository(context.Background(), "acme", "team/app one")
	if err != nil {
		t.Fatal(err)
	}
	want := quaymirror.Repository{Namespace: "acme", Name: "team/app one", Visibility: quaymirror.Private, State: quaymirror.StateNormal, Tags: []string{"latest", "v1", "v2"}}
	if !sameRepo(*r, want) {
		t.Errorf("repo = %+v, want %+v", r, want)
	}
	check(t, env.only(), "GET", "/api/v1/repository/acme/team/app%20one", "includeTags=true", "")
}

func TestGetRepositoryNoTags(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/repository/acme/app", "includeTags=true").Reply(200).JSON(map[string]any{"namespace": "acme", "name": "app", "tags": map[string]any{}})
	r, err := env.c.GetRepository(context.Background(), "acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	if r.Tags == nil || len(r.Tags) != 0 {
		t.Errorf("tags = %#v, want an empty non-nil slice", r.Tags)
	}
}

func TestInvalidNamesSendNothing(t *testing.T) {
	env := newGock(t)
	ctx := context.Background()
	for _, tc := range []struct{ ns, name string }{
		{"", "app"}, {"acme", ""}, {"acme", "a//b"}, {"acme", "../admin"}, {"acme", "team/./x"}, {"ac/me", "app"},
	} {
		if _, err := env.c.GetRepository(ctx, tc.ns, tc.name); !errors.Is(err, quaymirror.ErrInvalid) {
			t.Errorf("GetRepository(%q, %q) err = %v, want ErrInvalid", tc.ns, tc.name, err)
		}
	}
	if _, err := env.c.GetRobot(ctx, "acme", "a/b"); !errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("GetRobot with a slash: err = %v", err)
	}
	if n := len(env.requests()); n != 0 {
		t.Errorf("sent %d requests for invalid names", n)
	}
}

func TestCreateRepository(t *testing.T) {
	env := newGock(t)
	on("POST", "/api/v1/repository", "").Reply(201).JSON(map[string]any{"namespace": "acme", "name": "team/app", "kind": "image"})
	err := env.c.CreateRepository(context.Background(), quaymirror.Repository{
		Namespace: "acme", Name: "team/app", Description: "mirrored from src", Visibility: quaymirror.Public,
		State: quaymirror.StateMirror, Tags: []string{"ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	check(t, env.only(), "POST", "/api/v1/repository", "",
		`{"namespace":"acme","repository":"team/app","visibility":"public","description":"mirrored from src","repo_kind":"image"}`)
}

func TestCreateRepositoryDefaultsToPrivate(t *testing.T) {
	env := newGock(t)
	on("POST", "/api/v1/repository", "").Reply(201).JSON(map[string]any{"namespace": "acme", "name": "app"})
	if err := env.c.CreateRepository(context.Background(), quaymirror.Repository{Namespace: "acme", Name: "app"}); err != nil {
		t.Fatal(err)
	}
	check(t, env.only(), "POST", "/api/v1/repository", "",
		`{"namespace":"acme","repository":"app","visibility":"private","description":"","repo_kind":"image"}`)
}

func TestCreateRepositoryErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   map[string]any
		want   error
	}{
		{"exists", 400, map[string]any{"detail": "Repository already exists", "error_type": "invalid_request", "status": 400}, quaymirror.ErrAlreadyExists},
		{"org mirrored", 400, map[string]any{"detail": "Cannot create repository: organization is managed by organization-level mirroring"}, quaymirror.ErrOrgMirrored},
		{"bad name", 400, map[string]any{"detail": "Invalid repository name", "status": 400}, quaymirror.ErrInvalid},
		{"forbidden", 403, map[string]any{"detail": "Unauthorized", "error_type": "insufficient_scope", "status": 403}, quaymirror.ErrForbidden},
		{"bad token", 403, map[string]any{"error": "CSRF token was invalid or missing."}, quaymirror.ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			on("POST", "/api/v1/repository", "").Reply(tc.status).JSON(tc.body)
			err := env.c.CreateRepository(context.Background(), quaymirror.Repository{Namespace: "acme", Name: "app", Visibility: quaymirror.Private})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if len(env.requests()) != 1 {
				t.Errorf("requests: %s", describe(env.requests()))
			}
		})
	}
}

func TestChangeState(t *testing.T) {
	env := newGock(t)
	serveDiscovery("3.17")
	on("PUT", "/api/v1/repository/acme/team/app/changestate", "").Reply(200).JSON(map[string]any{"success": true})
	if err := env.c.ChangeState(context.Background(), "acme", "team/app", quaymirror.StateMirror); err != nil {
		t.Fatal(err)
	}
	reqs := env.writes()
	if len(reqs) != 1 {
		t.Fatalf("writes: %s", describe(reqs))
	}
	check(t, reqs[0], "PUT", "/api/v1/repository/acme/team/app/changestate", "", `{"state":"MIRROR"}`)
}

// Without FEATURE_REPO_MIRROR, Quay routes PUT .../changestate to the
// repository's own update; the client must not send it.
func TestChangeStateWithoutMirroringSendsNothing(t *testing.T) {
	env := newGock(t)
	serveDiscovery("nomirror")
	err := env.c.ChangeState(context.Background(), "acme", "app", quaymirror.StateMirror)
	if !errors.Is(err, quaymirror.ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
	if w := env.writes(); len(w) != 0 {
		t.Errorf("writes: %s", describe(w))
	}
}

func TestChangeStateRefusesOrgMirrorLocally(t *testing.T) {
	env := newGock(t)
	for _, s := range []quaymirror.State{quaymirror.StateOrgMirror, "", "BOGUS"} {
		if err := env.c.ChangeState(context.Background(), "acme", "app", s); !errors.Is(err, quaymirror.ErrInvalid) {
			t.Errorf("state %q: err = %v, want ErrInvalid", s, err)
		}
	}
	if n := len(env.requests()); n != 0 {
		t.Errorf("sent %d requests", n)
	}
}

func TestSetPermission(t *testing.T) {
	env := newGock(t)
	on("PUT", "/api/v1/repository/acme/team/app/permissions/user/acme+mirror", "").Reply(200).JSON(map[string]any{"role": "write", "name": "acme+mirror", "is_robot": true})
	if err := env.c.SetPermission(context.Background(), "acme", "team/app", "acme+mirror", quaymirror.RoleWrite); err != nil {
		t.Fatal(err)
	}
	check(t, env.only(), "PUT", "/api/v1/repository/acme/team/app/permissions/user/acme+mirror", "", `{"role":"write"}`)
	if err := env.c.SetPermission(context.Background(), "acme", "app", "x", "owner"); !errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("bad role: err = %v", err)
	}
}

func TestGetRobot(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/organization/acme/robots/mirror", "").Reply(200).JSON(map[string]any{
		"name": "acme+mirror", "description": "pushes mirrors", "token": "ROBOT-TOKEN", "created": "Thu, 01 Jan 2026 10:00:00 -0000",
	})
	on("GET", "/api/v1/organization/acme/robots/ghost", "").Reply(400).JSON(map[string]any{"message": "Could not find robot with specified username"})
	r, err := env.c.GetRobot(context.Background(), "acme", "mirror")
	if err != nil {
		t.Fatal(err)
	}
	if *r != (quaymirror.Robot{Name: "acme+mirror", Description: "pushes mirrors"}) {
		t.Errorf("robot = %+v", r)
	}
	_, err = env.c.GetRobot(context.Background(), "acme", "ghost")
	if !errors.Is(err, quaymirror.ErrNotFound) || errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("missing robot: err = %v, want ErrNotFound only", err)
	}
	check(t, env.requests()[0], "GET", "/api/v1/organization/acme/robots/mirror", "", "")
}

func TestCreateRobot(t *testing.T) {
	env := newGock(t)
	on("PUT", "/api/v1/organization/acme/robots/mirror", "").Reply(201).JSON(map[string]any{"name": "acme+mirror", "description": "pushes mirrors", "token": "ROBOT-TOKEN"})
	on("PUT", "/api/v1/organization/acme/robots/dup", "").Reply(400).JSON(map[string]any{"detail": "Existing robot with name: acme+dup", "status": 400})
	r, err := env.c.CreateRobot(context.Background(), "acme", "mirror", "pushes mirrors")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "acme+mirror" {
		t.Errorf("robot = %+v", r)
	}
	if _, err := env.c.CreateRobot(context.Background(), "acme", "dup", ""); !errors.Is(err, quaymirror.ErrAlreadyExists) {
		t.Errorf("existing robot: err = %v, want ErrAlreadyExists", err)
	}
	reqs := env.requests()
	check(t, reqs[0], "PUT", "/api/v1/organization/acme/robots/mirror", "", `{"description":"pushes mirrors"}`)
	check(t, reqs[1], "PUT", "/api/v1/organization/acme/robots/dup", "", `{"description":""}`)
}

func TestSyncNowAndCancel(t *testing.T) {
	env := newGock(t)
	on("POST", "/api/v1/repository/acme/team/app/mirror/sync-now", "").Reply(204)
	on("POST", "/api/v1/repository/acme/team/app/mirror/sync-cancel", "").Reply(204)
	on("POST", "/api/v1/repository/acme/busy/mirror/sync-now", "").Reply(404).JSON(map[string]any{"detail": "Not Found", "status": 404})
	ctx := context.Background()
	if err := env.c.SyncNow(ctx, "acme", "team/app"); err != nil {
		t.Fatal(err)
	}
	if err := env.c.CancelSync(ctx, "acme", "team/app"); err != nil {
		t.Fatal(err)
	}
	if err := env.c.SyncNow(ctx, "acme", "busy"); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("sync-now while syncing: err = %v, want ErrNotFound", err)
	}
	reqs := env.requests()
	check(t, reqs[0], "POST", "/api/v1/repository/acme/team/app/mirror/sync-now", "", "")
	check(t, reqs[1], "POST", "/api/v1/repository/acme/team/app/mirror/sync-cancel", "", "")
}

func TestSyncLogs(t *testing.T) {
	env := newGock(t)
	on("GET", "/api/v1/repository/acme/team/app/logs", "").Reply(200).JSON(map[string]any{
		"start_time": "Wed, 31 Dec 2025 10:00:00 -0000", "end_time": "Fri, 02 Jan 2026 10:00:00 -0000",
		"logs": []any{
			map[string]any{"kind": "pull_repo", "datetime": "Thu, 01 Jan 2026 12:00:00 -0000", "metadata": map[string]any{"repo": "team/app"}},
			map[string]any{"kind": "repo_mirror_sync_started", "datetime": "Thu, 01 Jan 2026 10:00:00 -0000", "metadata": map[string]any{"message": "Mirror started"}},
			map[string]any{"kind": "repo_mirror_sync_failed", "datetime": "Thu, 01 Jan 2026 11:00:00 -0000", "metadata": map[string]any{
				"message": "'v1' with tag pattern 'v*'", "stderr": "time=... level=fatal msg=\"unauthorized\"\n", "tag": "v1"}},
		},
		"next_page": "PAGE2",
	})
	on("GET", "/api/v1/repository/acme/team/app/logs", "next_page=PAGE2").Reply(200).JSON(map[string]any{
		"logs": []any{
			map[string]any{"kind": "repo_mirror_sync_success", "datetime": "Thu, 01 Jan 2026 11:30:00 -0000", "metadata": map[string]any{"message": "ok", "stderr": nil}},
		},
	})
	logs, err := env.c.SyncLogs(context.Background(), "acme", "team/app")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.UTC) }
	want := []quaymirror.SyncLog{
		{Kind: quaymirror.LogSyncSuccess, Time: at(11, 30), Message: "ok"},
		{Kind: quaymirror.LogSyncFailed, Time: at(11, 0), Message: "'v1' with tag pattern 'v*'\ntime=... level=fatal msg=\"unauthorized\"", Tag: "v1"},
		{Kind: quaymirror.LogSyncStarted, Time: at(10, 0), Message: "Mirror started"},
	}
	if !slices.EqualFunc(logs, want, func(a, b quaymirror.SyncLog) bool { return a == b }) {
		t.Errorf("logs =\n%+v\nwant\n%+v", logs, want)
	}
	check(t, env.requests()[1], "GET", "/api/v1/repository/acme/team/app/logs", "next_page=PAGE2", "")
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name, mode, config string
		want               quaymirror.Capabilities
		req                bool
	}{
		{"nomirror", "nomirror", config315, quaymirror.Capabilities{}, false},
		{"3.6", "3.6", configBeforeQuay38, quaymirror.Capabilities{RepositoryMirroring: true}, false},
		{"3.15", "3.15", config315, quaymirror.Capabilities{RepositoryMirroring: true, SkopeoTimeout: true}, true},
		{"3.17", "3.17", config317, quaymirror.Capabilities{RepositoryMirroring: true, OrganizationMirroring: true, SkopeoTimeout: true,
			ArchitectureFilter: true, SparseIndex: true, Version: "3.17.4"}, true},
		{"3.17 without sparse index", "3.17", config317NoSparse, quaymirror.Capabilities{RepositoryMirroring: true, OrganizationMirroring: true,
			SkopeoTimeout: true, ArchitectureFilter: true, Version: "3.17.4"}, true},
		{"3.17 read-only", "3.17", config317ReadOnly, quaymirror.Capabilities{RepositoryMirroring: true, OrganizationMirroring: true,
			SkopeoTimeout: true, ArchitectureFilter: true, SparseIndex: true, ReadOnly: true, Version: "3.17.4"}, true},
		// A SPARSE_INDEX without the architecture filter means nothing.
		{"3.15 with sparse index", "3.15", config317, quaymirror.Capabilities{RepositoryMirroring: true, SkopeoTimeout: true, Version: "3.17.4"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			// Once each: the second call must use the cache.
			serveDiscovery(tc.mode)
			serveConfig(tc.config)
			for range 2 {
				caps, err := env.c.Capabilities(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if caps != tc.want {
					t.Errorf("caps = %+v, want %+v", caps, tc.want)
				}
			}
			d, _ := env.c.discovery(context.Background())
			if d.skopeoRequired != tc.req {
				t.Errorf("skopeo required = %v, want %v", d.skopeoRequired, tc.req)
			}
			reqs := env.requests()
			if len(reqs) != 2 {
				t.Fatalf("requests: %s", describe(reqs))
			}
			check(t, reqs[0], "GET", "/api/v1/discovery", "", "")
			check(t, reqs[1], "GET", "/config", "", "")
		})
	}
}

// /config matters only where the architecture filter exists: there a
// failure to read it fails Capabilities (and is retried later), elsewhere
// it only leaves the version and read-only mode unknown.
func TestCapabilitiesWithoutConfig(t *testing.T) {
	env := newGock(t)
	serveDiscovery("3.15")
	on("GET", "/config", "").Reply(500).BodyString("<html>Internal Server Error</html>")
	caps, err := env.c.Capabilities(context.Background())
	if err != nil || caps != (quaymirror.Capabilities{RepositoryMirroring: true, SkopeoTimeout: true}) {
		t.Errorf("3.15 without /config: %+v, %v", caps, err)
	}

	env = newGock(t)
	serveDiscovery("3.17")
	on("GET", "/config", "").Reply(500).BodyString("<html>Internal Server Error</html>")
	if _, err := env.c.Capabilities(context.Background()); !errors.Is(err, quaymirror.ErrUnavailable) {
		t.Errorf("3.17 without /config: err = %v, want ErrUnavailable", err)
	}
}

func TestCapabilitiesFailureIsRetriedLater(t *testing.T) {
	env := newGock(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	env.c.now = func() time.Time { return now }
	on("GET", "/api/v1/discovery", "").Reply(500).BodyString("<html><body>Internal Server Error</body></html>")
	serveDiscovery("3.6")
	ctx := context.Background()
	if _, err := env.c.Capabilities(ctx); !errors.Is(err, quaymirror.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	// Within the retry window the failure is remembered: no request.
	if _, err := env.c.Capabilities(ctx); !errors.Is(err, quaymirror.ErrUnavailable) {
		t.Fatalf("second err = %v", err)
	}
	if n := len(env.requests()); n != 1 {
		t.Fatalf("sent %d requests, want 1", n)
	}
	now = now.Add(discoveryRetryAfter)
	serveConfig(configBeforeQuay38)
	caps, err := env.c.Capabilities(ctx)
	if err != nil || !caps.RepositoryMirroring {
		t.Fatalf("after the window: %+v, %v", caps, err)
	}
	if n := len(env.requests()); n != 3 {
		t.Errorf("sent %d requests, want 3 (discovery again, then /config)", n)
	}
}

func TestDiscoveryCancelledWhileWaiting(t *testing.T) {
	env := newGock(t)
	env.c.disc.sem <- struct{}{} // another caller holds the lock
	defer func() { <-env.c.disc.sem }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := env.c.Capabilities(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOrganizationMirrored(t *testing.T) {
	t.Run("no feature", func(t *testing.T) {
		env := newGock(t)
		serveDiscovery("3.15")
		got, err := env.c.OrganizationMirrored(context.Background(), "acme")
		if err != nil || got {
			t.Errorf("= %v, %v; want false", got, err)
		}
		env.only() // the discovery alone
	})
	t.Run("3.17", func(t *testing.T) {
		env := newGock(t)
		serveDiscovery("3.17")
		on("GET", "/api/v1/organization/acme/mirror", "").Reply(200).JSON(map[string]any{"is_enabled": true, "external_registry_type": "quay"})
		on("GET", "/api/v1/organization/beta/mirror", "").Reply(404).JSON(map[string]any{"detail": "Not Found"})
		if got, err := env.c.OrganizationMirrored(context.Background(), "acme"); err != nil || !got {
			t.Errorf("acme = %v, %v; want true", got, err)
		}
		if got, err := env.c.OrganizationMirrored(context.Background(), "beta"); err != nil || got {
			t.Errorf("beta = %v, %v; want false", got, err)
		}
		check(t, env.requests()[1], "GET", "/api/v1/organization/acme/mirror", "", "")
	})
}
