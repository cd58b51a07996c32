package harbortest

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/emulation"
)

// Harbor's project roles.
const (
	RoleProjectAdmin = 1
	RoleDeveloper    = 2
	RoleGuest        = 3
	RoleMaintainer   = 4
	RoleLimitedGuest = 5
)

// RobotPrefix is Harbor's default robot_name_prefix.
const RobotPrefix = "robot$"

// MaxPageSize is the largest page_size Harbor accepts.
const MaxPageSize = 100

// defaultPageSize is page_size when a request gives none.
const defaultPageSize = 10

type tag struct {
	name     string
	pushTime time.Time
}

type artifact struct {
	id       int64
	digest   string
	pushTime time.Time
	tags     []tag
}

type repository struct {
	id          int64
	name        string // with the project: "library/nginx"
	description string
	created     time.Time
	artifacts   []*artifact
}

type project struct {
	id      int64
	name    string
	public  bool
	members map[string]int // user → role
	repos   map[string]*repository
}

type user struct {
	password string
	admin    bool
}

type robot struct {
	secret string
	// projects the robot may list and pull from; nil for a system robot
	// (every project).
	projects []string
}

// Emulator is an emulated Harbor. It is safe for concurrent use.
type Emulator struct {
	front *emulation.Front
	now   func() time.Time

	mu       sync.Mutex
	projects map[string]*project
	users    map[string]*user
	robots   map[string]*robot
	ids      int64
}

// Option configures an Emulator.
type Option func(*Emulator)

// WithClock sets the clock of creation and push times (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(e *Emulator) { e.now = now } }

// New returns an empty Harbor.
func New(opts ...Option) *Emulator {
	e := &Emulator{front: emulation.NewFront(), now: time.Now, projects: map[string]*project{},
		users: map[string]*user{}, robots: map[string]*robot{}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Front is the emulator's front: request counts by route, faults.
func (e *Emulator) Front() *emulation.Front { return e.front }

func (e *Emulator) id() int64 { e.ids++; return e.ids }

// AddUser adds a user; admin makes it a system administrator.
func (e *Emulator) AddUser(name, password string, admin bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if name == "" || strings.HasPrefix(name, RobotPrefix) {
		return fmt.Errorf("harbortest: invalid user name %q", name)
	}
	e.users[name] = &user{password: password, admin: admin}
	return nil
}

// AddRobot adds a robot account that may list and pull the repositories
// of projects, and returns its full name: "robot$<project>+<name>" for a
// robot of one project, "robot$<name>" for a system robot (no projects:
// every project, those created later included).
func (e *Emulator) AddRobot(name, secret string, projects ...string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	full := RobotPrefix + name
	if len(projects) == 1 {
		full = RobotPrefix + projects[0] + "+" + name
	}
	var ps []string
	if len(projects) > 0 {
		ps = slices.Clone(projects)
	}
	e.robots[full] = &robot{secret: secret, projects: ps}
	return full, nil
}

// AddProject creates a project, public or private. An existing one is
// left as it is.
func (e *Emulator) AddProject(name string, public bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.project(name, public)
	return nil
}

// AddMember gives user role in project.
func (e *Emulator) AddMember(projectName, userName string, role int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.projects[projectName]
	if !ok {
		return fmt.Errorf("harbortest: no project %s", projectName)
	}
	p.members[userName] = role
	return nil
}

// project returns the project, created if missing. Call with mu held.
func (e *Emulator) project(name string, public bool) *project {
	p, ok := e.projects[name]
	if !ok {
		p = &project{id: e.id(), name: name, public: public, members: map[string]int{}, repos: map[string]*repository{}}
		e.projects[name] = p
	}
	return p
}

// AddOrganization creates a private project (registrytest.SourceStore).
func (e *Emulator) AddOrganization(name string) error { return e.AddProject(name, false) }

// AddRepository adds a repository to its project (created private if
// missing), with an artifact of its own under each of repo's Tags,
// pushed now (registrytest.SourceStore). Visibility and State are the
// project's in Harbor and are not kept.
func (e *Emulator) AddRepository(repo quaymirror.Repository) error {
	if repo.Namespace == "" || repo.Name == "" {
		return errors.New("harbortest: a repository needs a namespace and a name")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.project(repo.Namespace, false)
	full := repo.Namespace + "/" + repo.Name
	if _, dup := p.repos[full]; dup {
		return fmt.Errorf("harbortest: repository %s exists", full)
	}
	r := &repository{id: e.id(), name: full, description: repo.Description, created: e.now().UTC()}
	p.repos[full] = r
	for _, t := range repo.Tags {
		sum := sha256.Sum256([]byte(full + ":" + t))
		e.push(r, quaymirror.Tag{Name: t, Digest: fmt.Sprintf("sha256:%x", sum), LastModified: e.now().UTC()})
	}
	return nil
}

// PushTags points tags of the repository at the artifacts of their
// digests (created if needed), at their change times
// (registrytest.SourceStore).
func (e *Emulator) PushTags(namespace, name string, tags ...quaymirror.Tag) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.projects[namespace]
	if !ok {
		return fmt.Errorf("harbortest: no project %s", namespace)
	}
	r, ok := p.repos[namespace+"/"+name]
	if !ok {
		return fmt.Errorf("harbortest: no repository %s/%s", namespace, name)
	}
	for _, t := range tags {
		e.push(r, t)
	}
	return nil
}

// push points t at its digest's artifact. Call with mu held.
func (e *Emulator) push(r *repository, t quaymirror.Tag) {
	for _, a := range r.artifacts {
		a.tags = slices.DeleteFunc(a.tags, func(x tag) bool { return x.name == t.Name })
	}
	when := t.LastModified
	if when.IsZero() {
		when = e.now().UTC()
	}
	i := slices.IndexFunc(r.artifacts, func(a *artifact) bool { return a.digest == t.Digest })
	if i < 0 {
		r.artifacts = append(r.artifacts, &artifact{id: e.id(), digest: t.Digest, pushTime: when})
		i = len(r.artifacts) - 1
	}
	r.artifacts[i].tags = append(r.artifacts[i].tags, tag{name: t.Name, pushTime: when})
}

// principal is the security context of a request.
type principal struct {
	kind  string // "anonymous", "user", "robot"
	name  string
	admin bool
	robot *robot
}

// authenticate reads the request's Basic credentials: a robot (by its
// prefix) or a user; anything else, wrong credentials included, is
// anonymous, as Harbor's security middleware leaves it. Call with mu held.
func (e *Emulator) authenticate(r *http.Request) principal {
	name, secret, ok := r.BasicAuth()
	if !ok {
		return principal{kind: "anonymous"}
	}
	if strings.HasPrefix(name, RobotPrefix) {
		if rb, found := e.robots[name]; found && rb.secret == secret {
			return principal{kind: "robot", name: name, robot: rb}
		}
		return principal{kind: "anonymous"}
	}
	if u, found := e.users[name]; found && u.password == secret {
		return principal{kind: "user", name: name, admin: u.admin}
	}
	return principal{kind: "anonymous"}
}

// canRead reports whether pr may read and list the project's
// repositories. A nil project is a missing one: only a system
// administrator passes (and is then told it is not found).
func (pr principal) canRead(p *project) bool {
	switch {
	case pr.admin:
		return true
	case p == nil:
		return false
	case p.public:
		return true
	case pr.kind == "user":
		_, member := p.members[pr.name]
		return member
	case pr.kind == "robot":
		return pr.robot.projects == nil || slices.Contains(pr.robot.projects, p.name)
	}
	return false
}

// ServeHTTP serves the emulated API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, params := match(r.URL.Path)
	e.front.Serve(w, r, route, func(w http.ResponseWriter) { e.serve(w, r, route, params) })
}

// Routes, as Front counts them.
const (
	RouteCurrentUser  = "/api/v2.0/users/current"
	RouteProject      = "/api/v2.0/projects/{project_name_or_id}"
	RouteRepositories = "/api/v2.0/projects/{project_name}/repositories"
	RouteArtifacts    = "/api/v2.0/projects/{project_name}/repositories/{repository_name}/artifacts"
	RouteRegistryBase = "/v2/"
	routeOther        = "other"
)

// match finds the route of a path (decoded once, as Harbor's router sees
// it) and its parameters; a repository name was encoded twice and is
// decoded once more here.
func match(path string) (string, []string) {
	if path == "/v2/" || path == "/v2" {
		return RouteRegistryBase, nil
	}
	rest, ok := strings.CutPrefix(path, "/api/v2.0/")
	if !ok {
		return routeOther, nil
	}
	seg := strings.Split(rest, "/")
	switch {
	case len(seg) == 2 && seg[0] == "users" && seg[1] == "current":
		return RouteCurrentUser, nil
	case len(seg) == 2 && seg[0] == "projects" && seg[1] != "":
		return RouteProject, []string{seg[1]}
	case len(seg) == 3 && seg[0] == "projects" && seg[2] == "repositories":
		return RouteRepositories, []string{seg[1]}
	case len(seg) == 5 && seg[0] == "projects" && seg[2] == "repositories" && seg[4] == "artifacts":
		name, err := url.PathUnescape(seg[3])
		if err != nil || name == "" {
			return routeOther, nil
		}
		return RouteArtifacts, []string{seg[1], name}
	}
	return routeOther, nil
}

// harborError writes Harbor's Errors body.
func harborError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	fmt.Fprintln(w, string(b))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, route string, params []string) {
	if route == routeOther {
		harborError(w, http.StatusNotFound, "NOT_FOUND", "resource not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		harborError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	pr := e.authenticate(r)
	switch route {
	case RouteRegistryBase:
		e.registryBase(w, r, pr)
	case RouteCurrentUser:
		e.currentUser(w, pr)
	case RouteProject:
		e.getProject(w, r, pr, params[0])
	case RouteRepositories:
		e.listRepositories(w, r, pr, params[0])
	case RouteArtifacts:
		e.listArtifacts(w, r, pr, params[0], params[1])
	}
}

func (e *Emulator) registryBase(w http.ResponseWriter, r *http.Request, pr principal) {
	if pr.kind == "anonymous" {
		if r.Header.Get("Authorization") != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="harbor"`)
		} else {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/service/token",service="harbor-registry"`, r.Host))
		}
		harborError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
		return
	}
	writeJSON(w, map[string]any{})
}

func (e *Emulator) currentUser(w http.ResponseWriter, pr principal) {
	switch pr.kind {
	case "anonymous":
		harborError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
	case "robot":
		harborError(w, http.StatusPreconditionFailed, "PRECONDITION", "get current user not available for security context: robot")
	default:
		writeJSON(w, map[string]any{"user_id": 1, "username": pr.name, "sysadmin_flag": pr.admin})
	}
}

// access applies Harbor's RequireProjectAccess: it returns the project,
// or writes the refusal and returns nil.
func (e *Emulator) access(w http.ResponseWriter, pr principal, name string) *project {
	p := e.projects[name]
	switch {
	case !pr.canRead(p) && pr.kind == "anonymous":
		harborError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
	case !pr.canRead(p):
		harborError(w, http.StatusForbidden, "FORBIDDEN", "forbidden")
	case p == nil:
		harborError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("project %s not found", name))
	default:
		return p
	}
	return nil
}

func (e *Emulator) getProject(w http.ResponseWriter, r *http.Request, pr principal, nameOrID string) {
	name := nameOrID
	if id, err := strconv.ParseInt(nameOrID, 10, 64); err == nil && !strings.EqualFold(r.Header.Get("X-Is-Resource-Name"), "true") {
		name = ""
		for _, p := range e.projects {
			if p.id == id {
				name = p.name
			}
		}
	}
	p := e.access(w, pr, name)
	if p == nil {
		return
	}
	roles := []int{}
	if role, ok := p.members[pr.name]; ok && pr.kind == "user" {
		roles = append(roles, role)
	}
	role := 0
	if len(roles) > 0 {
		role = roles[0]
	}
	writeJSON(w, map[string]any{
		"project_id": p.id, "name": p.name, "repo_count": len(p.repos),
		"current_user_role_id": role, "current_user_role_ids": roles,
		"metadata": map[string]string{"public": strconv.FormatBool(p.public)},
	})
}

// paging reads page and page_size as Harbor validates them: page_size
// above MaxPageSize is refused (422, go-swagger's validation).
func paging(w http.ResponseWriter, q url.Values) (page, size int, ok bool) {
	page, size = 1, defaultPageSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			harborError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "page in query must be of type int64: \""+v+"\"")
			return 0, 0, false
		}
		page = max(n, 1)
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			harborError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "page_size in query must be of type int64: \""+v+"\"")
			return 0, 0, false
		case n > MaxPageSize:
			harborError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", fmt.Sprintf("page_size in query should be less than or equal to %d", MaxPageSize))
			return 0, 0, false
		case n > 0:
			size = n
		}
	}
	return page, size, true
}

// links writes X-Total-Count and Harbor's Link header (prev and next,
// joined by " , ", on the request's own path and query).
func links(w http.ResponseWriter, r *http.Request, total, page, size int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("page_size", strconv.Itoa(size))
		raw := q.Encode()
		if un, err := url.QueryUnescape(raw); err == nil {
			raw = un
		}
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, r.URL.EscapedPath(), raw, rel)
	}
	var ls []string
	if page > 1 && (page-1)*size < total {
		ls = append(ls, link(page-1, "prev"))
	}
	if page*size < total {
		ls = append(ls, link(page+1, "next"))
	}
	if len(ls) > 0 {
		w.Header().Set("Link", strings.Join(ls, " , "))
	}
}

// sortBy orders items by the sort parameter's known keys ("-" for
// descending); unknown keys are ignored, and without a known key the
// default order applies.
func sortBy[T any](items []T, sort string, keys map[string]func(a, b T) int, def []string) {
	var order []string
	for k := range strings.SplitSeq(sort, ",") {
		if _, ok := keys[strings.TrimPrefix(strings.TrimSpace(k), "-")]; ok {
			order = append(order, strings.TrimSpace(k))
		}
	}
	if len(order) == 0 {
		order = def
	}
	slices.SortStableFunc(items, func(a, b T) int {
		for _, k := range order {
			key, desc := strings.CutPrefix(k, "-")
			c := keys[key](a, b)
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

var repositoryKeys = map[string]func(a, b *repository) int{
	"repository_id": func(a, b *repository) int { return cmp.Compare(a.id, b.id) },
	"RepositoryID":  func(a, b *repository) int { return cmp.Compare(a.id, b.id) },
	"name":          func(a, b *repository) int { return strings.Compare(a.name, b.name) },
	"Name":          func(a, b *repository) int { return strings.Compare(a.name, b.name) },
	"creation_time": func(a, b *repository) int { return a.created.Compare(b.created) },
	"CreationTime":  func(a, b *repository) int { return a.created.Compare(b.created) },
}

func (e *Emulator) listRepositories(w http.ResponseWriter, r *http.Request, pr principal, name string) {
	p := e.access(w, pr, name)
	if p == nil {
		return
	}
	q := r.URL.Query()
	page, size, ok := paging(w, q)
	if !ok {
		return
	}
	repos := make([]*repository, 0, len(p.repos))
	for _, repo := range p.repos {
		repos = append(repos, repo)
	}
	sortBy(repos, q.Get("sort"), repositoryKeys, []string{"-creation_time", "-repository_id"})
	links(w, r, len(repos), page, size)
	out := []map[string]any{}
	for _, repo := range window(repos, page, size) {
		out = append(out, map[string]any{
			"id": repo.id, "project_id": p.id, "name": repo.name, "description": repo.description,
			"artifact_count": len(repo.artifacts), "pull_count": 0,
			"creation_time": repo.created.Format(time.RFC3339Nano), "update_time": repo.created.Format(time.RFC3339Nano),
		})
	}
	writeJSON(w, out)
}

func window[T any](items []T, page, size int) []T {
	start := (page - 1) * size
	if start >= len(items) {
		return nil
	}
	return items[start:min(start+size, len(items))]
}

var artifactKeys = map[string]func(a, b *artifact) int{
	"id":        func(a, b *artifact) int { return cmp.Compare(a.id, b.id) },
	"ID":        func(a, b *artifact) int { return cmp.Compare(a.id, b.id) },
	"push_time": func(a, b *artifact) int { return a.pushTime.Compare(b.pushTime) },
	"PushTime":  func(a, b *artifact) int { return a.pushTime.Compare(b.pushTime) },
}

func (e *Emulator) listArtifacts(w http.ResponseWriter, r *http.Request, pr principal, projectName, repoName string) {
	p := e.access(w, pr, projectName)
	if p == nil {
		return
	}
	repo, ok := p.repos[projectName+"/"+repoName]
	if !ok {
		harborError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("repository %s/%s not found", projectName, repoName))
		return
	}
	q := r.URL.Query()
	page, size, ok := paging(w, q)
	if !ok {
		return
	}
	arts := slices.Clone(repo.artifacts)
	sortBy(arts, q.Get("sort"), artifactKeys, []string{"-push_time", "-id"})
	links(w, r, len(arts), page, size)
	withTag := q.Get("with_tag") != "false"
	out := []map[string]any{}
	for _, a := range window(arts, page, size) {
		m := map[string]any{"id": a.id, "digest": a.digest, "repository_name": repo.name, "type": "IMAGE",
			"push_time": a.pushTime.Format(time.RFC3339Nano), "manifest_media_type": "application/vnd.oci.image.manifest.v1+json"}
		if withTag {
			tags := []map[string]any{}
			for _, t := range a.tags {
				tags = append(tags, map[string]any{"name": t.name, "push_time": t.pushTime.Format(time.RFC3339Nano), "artifact_id": a.id, "immutable": false})
			}
			m["tags"] = tags
		}
		out = append(out, m)
	}
	writeJSON(w, out)
}
