package fake

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Repositories: listing, reading, creating, state changes.

type repo struct {
	id     int
	r      quaymirror.Repository // Tags always nil: the tags are below
	tags   map[string]quaymirror.Tag
	mirror *quaymirror.Mirror // nil: no mirror configuration
	perms  map[string]quaymirror.Role
	logs   []quaymirror.SyncLog // newest first
	// brokenCredentials: the mirror's stored credentials no longer
	// decrypt (BreakCredentials).
	brokenCredentials bool
}

// view returns the repository with its tag names, sorted.
func (rp *repo) view() quaymirror.Repository {
	out := rp.r
	out.Tags = tagNames(rp.tags)
	return out
}

// repoLocked returns the repository or ErrNotFound. r.mu must be held.
func (r *Registry) repoLocked(namespace, name string) (*org, *repo, error) {
	o := r.orgs[namespace]
	if o == nil {
		return nil, nil, notFound("repository %s/%s", namespace, name)
	}
	rp := o.repos[name]
	if rp == nil {
		return o, nil, notFound("repository %s/%s", namespace, name)
	}
	return o, rp, nil
}

// mirroringLocked is repoLocked for the operations that need repository
// mirroring: while it is disabled they are ErrNotFound, as Quay's mirror
// endpoints answer.
func (r *Registry) mirroringLocked(namespace, name string) (*org, *repo, error) {
	if !r.caps.RepositoryMirroring {
		return nil, nil, notFound("mirror: repository mirroring is disabled")
	}
	return r.repoLocked(namespace, name)
}

// orgMirroredLocked reports whether o is locked by organisation-level
// mirroring. r.mu must be held.
func (r *Registry) orgMirroredLocked(o *org) bool {
	return o != nil && o.orgMirrored && r.caps.OrganizationMirroring
}

// Listing says what a repository listing shows, as Quay's
// filter_to_repos_for_user does.
type Listing struct {
	// User lists the repositories the user reaches: every repository of an
	// organisation it administers, and those it has a permission on. ""
	// is an anonymous listing.
	User string
	// Public adds the public repositories (Quay's public=true).
	Public bool
	// All lists every repository (Quay's superusers with full access).
	All bool
}

// ListRepositories implements quaymirror.RepositoryLister for the
// registry's own user, who sees every repository (ListRepositoriesAs with
// Listing{All: true}).
func (r *Registry) ListRepositories(ctx context.Context, namespace, pageToken string) (quaymirror.RepositoryPage, error) {
	return r.ListRepositoriesAs(ctx, Listing{All: true}, namespace, pageToken)
}

// ListRepositoriesAs lists what l shows of namespace, in pages of
// WithPageSize repositories, in creation order. An empty namespace lists
// every organisation, in name order (Quay's public=true listing without a
// namespace). Like Quay, an unknown namespace gives an empty page and a
// page token the registry did not hand out restarts the listing at the
// first page. Repositories are never removed and new ones come last, so a
// walk sees every repository that exists from its start to its end once.
// Each page costs O(page size) plus the repositories l does not show.
func (r *Registry) ListRepositoriesAs(ctx context.Context, l Listing, namespace, pageToken string) (quaymirror.RepositoryPage, error) {
	end, err := r.begin(ctx, OpListRepositories, namespace, "")
	if err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	defer end()
	var orgs []*org
	if namespace == "" {
		for _, name := range sortedKeys(r.orgs) {
			orgs = append(orgs, r.orgs[name])
		}
	} else if o := r.orgs[namespace]; o != nil {
		orgs = []*org{o}
	}
	start := 0
	if p, ok := strings.CutPrefix(pageToken, "p"); ok {
		if n, err := strconv.Atoi(p); err == nil && n > 0 {
			start = n
		}
	}
	var page quaymirror.RepositoryPage
	base := 0 // listing position of the organisation's first repository
	for _, o := range orgs {
		for i := max(start-base, 0); i < len(o.order); i++ {
			rp := o.order[i]
			if !r.visibleLocked(l, o, rp) {
				continue
			}
			if len(page.Repositories) == r.pageSize {
				page.Next = "p" + strconv.Itoa(base+i)
				return page, nil
			}
			page.Repositories = append(page.Repositories, rp.r)
		}
		base += len(o.order)
	}
	return page, nil
}

// GetRepository implements quaymirror.RepositoryReader.
func (r *Registry) GetRepository(ctx context.Context, namespace, name string) (*quaymirror.Repository, error) {
	_, rp, end, err := r.beginRepo(ctx, OpGetRepository, namespace, name, r.repoLocked)
	if err != nil {
		return nil, err
	}
	defer end()
	out := rp.view()
	return &out, nil
}

// CreateRepository implements quaymirror.RepositoryCreator. The
// organisation must exist (ErrForbidden otherwise, as Quay denies creating
// in a namespace one cannot administer). A user the context names (AsUser)
// administers the repository it creates.
func (r *Registry) CreateRepository(ctx context.Context, repo quaymirror.Repository) error {
	end, err := r.begin(ctx, OpCreateRepository, repo.Namespace, repo.Name)
	if err != nil {
		return err
	}
	defer end()
	o := r.orgs[repo.Namespace]
	switch {
	case o == nil:
		return refuse(quaymirror.ErrForbidden, "create repository %s: no organization %q", repo.FullName(), repo.Namespace)
	case o.repos[repo.Name] != nil:
		return refuse(quaymirror.ErrAlreadyExists, "Repository already exists")
	case !quaymirror.ValidRepositoryName(repo.Name):
		return invalid("Invalid repository name")
	case repo.Visibility != quaymirror.Public && repo.Visibility != quaymirror.Private:
		return invalid("visibility %q is not public or private", repo.Visibility)
	case r.orgMirroredLocked(o):
		return refuse(quaymirror.ErrOrgMirrored, "Cannot create repository: organization is managed by organization-level mirroring")
	}
	rp := r.addLocked(o, quaymirror.Repository{
		Namespace: repo.Namespace, Name: repo.Name, Description: repo.Description,
		Visibility: repo.Visibility, State: quaymirror.StateNormal,
	})
	if user, own := r.actor(ctx); !own {
		rp.perms[user] = quaymirror.RoleAdmin
	}
	return nil
}

func (r *Registry) addLocked(o *org, in quaymirror.Repository) *repo {
	r.nextID++
	rp := &repo{id: r.nextID, r: in, tags: tagsOf(in.Tags, r.now()), perms: make(map[string]quaymirror.Role)}
	rp.r.Tags = nil
	o.repos[in.Name] = rp
	o.order = append(o.order, rp)
	return rp
}

// ChangeState implements quaymirror.StateChanger. Like Quay it does not
// check for a mirror configuration.
func (r *Registry) ChangeState(ctx context.Context, namespace, name string, state quaymirror.State) error {
	o, rp, end, err := r.beginRepo(ctx, OpChangeState, namespace, name, r.mirroringLocked)
	if err != nil {
		return err
	}
	defer end()
	switch state {
	case quaymirror.StateNormal, quaymirror.StateReadOnly, quaymirror.StateMirror:
	default:
		return invalid("state %q is not one of NORMAL, READ_ONLY, MIRROR", state)
	}
	if r.orgMirroredLocked(o) {
		return refuse(quaymirror.ErrOrgMirrored, "Repository state changes are not allowed in an organization managed by organization-level mirroring")
	}
	rp.r.State = state
	return nil
}

// UpdateDescription sets a repository's description (Quay's repository
// PUT).
func (r *Registry) UpdateDescription(ctx context.Context, namespace, name, description string) error {
	_, rp, end, err := r.beginRepo(ctx, OpUpdateDescription, namespace, name, r.repoLocked)
	if err != nil {
		return err
	}
	defer end()
	rp.r.Description = description
	return nil
}

// Capabilities implements quaymirror.CapabilityReader.
func (r *Registry) Capabilities(ctx context.Context) (quaymirror.Capabilities, error) {
	end, err := r.begin(ctx, OpCapabilities, "", "")
	if err != nil {
		return quaymirror.Capabilities{}, err
	}
	defer end()
	return r.caps, nil
}

// OrganizationMirrored implements quaymirror.OrgMirrorReader.
func (r *Registry) OrganizationMirrored(ctx context.Context, orgName string) (bool, error) {
	end, err := r.begin(ctx, OpOrganizationMirrored, orgName, "")
	if err != nil {
		return false, err
	}
	defer end()
	return r.orgMirroredLocked(r.orgs[orgName]), nil
}

// Seeding and inspection. These methods bypass hooks, failures and call
// counting: they are the test's hands, not a client's.

// AddRepository adds a repository, and its organisation if needed. State
// defaults to NORMAL and Visibility to private; Tags seeds its tags by
// name (see SetTags; PushTags sets digests and times).
func (r *Registry) AddRepository(repo quaymirror.Repository) error {
	if !quaymirror.ValidNamespace(repo.Namespace) || !quaymirror.ValidRepositoryName(repo.Name) {
		return fmt.Errorf("fake: invalid repository name %q", repo.FullName())
	}
	for _, tag := range repo.Tags {
		if !quaymirror.ValidTagName(tag) {
			return fmt.Errorf("fake: repository %s: invalid tag name %q", repo.FullName(), tag)
		}
	}
	if repo.State == "" {
		repo.State = quaymirror.StateNormal
	}
	if repo.Visibility == "" {
		repo.Visibility = quaymirror.Private
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgLocked(repo.Namespace)
	if o.repos[repo.Name] != nil {
		return fmt.Errorf("fake: repository %s exists", repo.FullName())
	}
	r.addLocked(o, repo)
	return nil
}

// SetState sets a repository's state without any check (ORG_MIRROR
// included).
func (r *Registry) SetState(namespace, name string, state quaymirror.State) error {
	return r.withRepo(namespace, name, func(rp *repo) { rp.r.State = state })
}

// SetDescription sets a repository's description.
func (r *Registry) SetDescription(namespace, name, description string) error {
	return r.withRepo(namespace, name, func(rp *repo) { rp.r.Description = description })
}

// withRepo runs fn on a repository under the lock.
func (r *Registry) withRepo(namespace, name string, fn func(*repo)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	fn(rp)
	return nil
}

// SetOrganizationMirrored marks an organisation as carrying a native
// organisation-level mirror configuration. It locks repository creation
// and state changes only while the capability OrganizationMirroring is on.
func (r *Registry) SetOrganizationMirrored(orgName string, on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	if o == nil {
		return fmt.Errorf("fake: no organization %q", orgName)
	}
	o.orgMirrored = on
	return nil
}

// IsOrganizationMirrored reports whether the organisation is locked by
// organisation-level mirroring: marked with SetOrganizationMirrored while
// the capability OrganizationMirroring is on.
func (r *Registry) IsOrganizationMirrored(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orgMirroredLocked(r.orgs[name])
}

// HasOrganizationMirror reports whether the organisation carries an
// organisation-level mirror configuration (SetOrganizationMirrored),
// whatever the capability OrganizationMirroring says: Quay 3.17+ locks
// repository mirror writes on the configuration alone, even with
// FEATURE_ORG_MIRROR turned off again.
func (r *Registry) HasOrganizationMirror(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[name]
	return o != nil && o.orgMirrored
}

// Repository returns a repository with its tag names.
func (r *Registry) Repository(namespace, name string) (quaymirror.Repository, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return quaymirror.Repository{}, false
	}
	return rp.view(), true
}

// Repositories returns an organisation's repositories in creation order.
func (r *Registry) Repositories(namespace string) []quaymirror.Repository {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[namespace]
	if o == nil {
		return nil
	}
	out := make([]quaymirror.Repository, len(o.order))
	for i, rp := range o.order {
		out[i] = rp.view()
	}
	return out
}

// RepositoryCount returns how many repositories the organisation has.
func (r *Registry) RepositoryCount(namespace string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o := r.orgs[namespace]; o != nil {
		return len(o.order)
	}
	return 0
}
