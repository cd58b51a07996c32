package fake

import (
	"context"
	"slices"
	"sort"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Building blocks for backends that keep their state in a Registry but
// carry operations out themselves, such as the Quay API emulator in
// registry/quay/quaytest. Like the seeding helpers, they bypass hooks,
// failures and call counting, except Track, which is how such a backend
// makes its own operations count.

// SetCapabilities changes what the registry reports and enforces, as
// WithCapabilities does at construction.
func (r *Registry) SetCapabilities(c quaymirror.Capabilities) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caps = c
}

// Track accounts for a call of op on namespace/name made through another
// backend: it counts the call, then runs the hook and the failures set with
// FailOn, exactly as the registry's own methods do. A non-nil error means
// the operation must not happen and the error goes to the caller; otherwise
// done must be called when the operation ends (MaxInFlight counts it until
// then).
func (r *Registry) Track(ctx context.Context, op Op, namespace, name string) (done func(), err error) {
	return r.begin(ctx, op, namespace, name)
}

// HasOrganization reports whether the organisation exists.
func (r *Registry) HasOrganization(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orgs[name] != nil
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

// RepositoryCount returns how many repositories the organisation has.
func (r *Registry) RepositoryCount(namespace string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o := r.orgs[namespace]; o != nil {
		return len(o.order)
	}
	return 0
}

// RepositoryRange returns at most limit repositories of the organisation
// from position offset of the creation order, without their tags. Positions
// are stable: repositories are never removed and new ones come last, so
// offset+len(result) is where the next range starts. It costs O(limit),
// whatever the size of the organisation.
func (r *Registry) RepositoryRange(namespace string, offset, limit int) []quaymirror.Repository {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[namespace]
	if o == nil || offset < 0 || offset >= len(o.order) || limit <= 0 {
		return nil
	}
	end := min(len(o.order), offset+limit)
	out := make([]quaymirror.Repository, 0, end-offset)
	for _, rp := range o.order[offset:end] {
		listed := rp.r
		listed.Tags = nil
		out = append(out, listed)
	}
	return out
}

// GrantPermission sets the role of user (a user or a robot "org+short") on
// a repository without any check; an empty role removes the permission.
func (r *Registry) GrantPermission(namespace, name, user string, role quaymirror.Role) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	if role == "" {
		delete(rp.perms, user)
		return nil
	}
	rp.perms[user] = role
	return nil
}

// Permissions returns every permission of a repository, user to role.
func (r *Registry) Permissions(namespace, name string) map[string]quaymirror.Role {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil
	}
	out := make(map[string]quaymirror.Role, len(rp.perms))
	for u, role := range rp.perms {
		out[u] = role
	}
	return out
}

// Robot returns the robot org+short.
func (r *Registry) Robot(orgName, short string) (quaymirror.Robot, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	if o == nil {
		return quaymirror.Robot{}, false
	}
	rb, ok := o.robots[short]
	return rb, ok
}

// Robots returns the organisation's robots sorted by name.
func (r *Registry) Robots(orgName string) []quaymirror.Robot {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	if o == nil {
		return nil
	}
	out := make([]quaymirror.Robot, 0, len(o.robots))
	for _, rb := range o.robots {
		out = append(out, rb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SetRobotDescription sets the description of an existing robot.
func (r *Registry) SetRobotDescription(orgName, short, description string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	if o == nil {
		return notFound("organization %s", orgName)
	}
	rb, ok := o.robots[short]
	if !ok {
		return notFound("robot %s+%s", orgName, short)
	}
	rb.Description = description
	o.robots[short] = rb
	return nil
}

// Logs returns a repository's mirror events, newest first.
func (r *Registry) Logs(namespace, name string) []quaymirror.SyncLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil
	}
	return slices.Clone(rp.logs)
}

// SetDescription sets a repository's description.
func (r *Registry) SetDescription(namespace, name, description string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	rp.r.Description = description
	return nil
}
