package fake

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Seeding and inspection. These methods bypass hooks, failures and call
// counting: they are the test's hands, not a client's.

// AddOrganization creates an organisation; an existing one is left alone.
func (r *Registry) AddOrganization(name string) error {
	if !quaymirror.ValidNamespace(name) {
		return fmt.Errorf("fake: invalid organization name %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.orgLocked(name)
	return nil
}

func (r *Registry) orgLocked(name string) *org {
	o := r.orgs[name]
	if o == nil {
		o = &org{name: name, repos: make(map[string]*repo), robots: make(map[string]quaymirror.Robot)}
		r.orgs[name] = o
	}
	return o
}

// AddRobot creates the robot org+short, and the organisation if needed.
func (r *Registry) AddRobot(orgName, short string) error {
	if !quaymirror.ValidNamespace(orgName) || !quaymirror.ValidRobotShortName(short) {
		return fmt.Errorf("fake: invalid robot %s+%s", orgName, short)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgLocked(orgName)
	o.robots[short] = quaymirror.Robot{Name: orgName + "+" + short}
	return nil
}

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

// SetTags replaces a repository's tags with tags of the given names. A
// tag the repository has already keeps its digest and change time; a new
// one points at TagDigest of its name and changes at the registry's
// clock. PushTags and DeleteTags set digests and times.
func (r *Registry) SetTags(namespace, name string, tags []string) error {
	for _, tag := range tags {
		if !quaymirror.ValidTagName(tag) {
			return fmt.Errorf("fake: invalid tag name %q", tag)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	rp.tags = r.renameTagsLocked(rp.tags, tags)
	return nil
}

// renameTagsLocked returns the tags of the given names: those of old
// kept, the others new. r.mu must be held.
func (r *Registry) renameTagsLocked(old map[string]quaymirror.Tag, names []string) map[string]quaymirror.Tag {
	out := tagsOf(names, r.now())
	for n := range out {
		if t, ok := old[n]; ok {
			out[n] = t
		}
	}
	return out
}

// SetState sets a repository's state without any check (ORG_MIRROR
// included).
func (r *Registry) SetState(namespace, name string, state quaymirror.State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	rp.r.State = state
	return nil
}

// PutMirror stores m as the repository's mirror as is, without validation
// and without touching the repository state: it seeds any situation,
// inconsistent ones included.
func (r *Registry) PutMirror(namespace, name string, m quaymirror.Mirror) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	c := cloneMirror(m)
	rp.mirror = &c
	return nil
}

// SetMirrorStatus replaces the status of an existing mirror.
func (r *Registry) SetMirrorStatus(namespace, name string, s quaymirror.MirrorStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	if rp.mirror == nil {
		return fmt.Errorf("fake: %s/%s has no mirror", namespace, name)
	}
	rp.mirror.Status = s
	return nil
}

// SetOrganizationMirrored marks an organisation as managed by native
// organisation-level mirroring. The mark takes effect only while the
// capability OrganizationMirroring is on, whenever that is set.
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

// AddSyncLog records a mirror event, newest first.
func (r *Registry) AddSyncLog(namespace, name string, l quaymirror.SyncLog) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	rp.logs = append([]quaymirror.SyncLog{l}, rp.logs...)
	sortLogs(rp.logs)
	return nil
}

// sortLogs orders events newest first, keeping the order of equal times.
func sortLogs(logs []quaymirror.SyncLog) {
	slices.SortStableFunc(logs, func(a, b quaymirror.SyncLog) int { return b.Time.Compare(a.Time) })
}

// Organizations returns the organisation names, sorted.
func (r *Registry) Organizations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.orgs))
}

// Repository returns a repository with its tags.
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

// Mirror returns a repository's mirror, password included.
func (r *Registry) Mirror(namespace, name string) (quaymirror.Mirror, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil || rp.mirror == nil {
		return quaymirror.Mirror{}, false
	}
	return cloneMirror(*rp.mirror), true
}

// Permission returns the role of user on a repository ("" for none).
func (r *Registry) Permission(namespace, name, user string) quaymirror.Role {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return ""
	}
	return rp.perms[user]
}

// RunMirrors plays Quay's mirror worker once at time now: every enabled
// mirror of a MIRROR repository that is SYNC_NOW, or due with retries left,
// ends SUCCESS with tags of the given names (nil keeps the repository's
// tags; a tag copied anew points at TagDigest of its name and changes at
// now) and its next start on the interval grid. Like Quay's worker, the next start is
// now plus what remains of the current interval counted in whole seconds
// from the start date, so it keeps now's fraction of a second. It returns
// how many mirrors ran.
func (r *Registry) RunMirrors(now time.Time, tags []string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	ran := 0
	for _, o := range r.orgs {
		for _, rp := range o.order {
			m := rp.mirror
			if m == nil || rp.r.State != quaymirror.StateMirror {
				continue
			}
			due := m.Config.Enabled && !m.Status.NextSync.IsZero() && !m.Status.NextSync.After(now) &&
				m.Status.RetriesRemaining > 0 && m.Status.SyncStatus != quaymirror.SyncSyncing
			if m.Status.SyncStatus != quaymirror.SyncNow && !due {
				continue
			}
			ran++
			if tags != nil {
				rp.tags = copyTags(rp.tags, sortedTags(tagsOf(tags, now)), now)
			}
			m.Status.SyncStatus = quaymirror.SyncSuccess
			m.Status.RetriesRemaining = 3
			m.Status.Expiration = time.Time{}
			m.Status.NextSync = nextStart(m.Config.SyncStartDate, m.Config.SyncInterval, now)
			rp.logs = append([]quaymirror.SyncLog{{Kind: quaymirror.LogSyncSuccess, Time: now}}, rp.logs...)
		}
	}
	return ran
}

// nextStart is Quay's release_mirror: now + (interval - elapsed mod
// interval), elapsed being whole seconds since start (floored, like
// Python's timedelta days and seconds).
func nextStart(start time.Time, interval time.Duration, now time.Time) time.Time {
	iv := int64(interval / time.Second)
	if iv <= 0 {
		return start
	}
	now = now.Truncate(time.Microsecond) // Python's datetime resolution
	elapsed := now.Sub(start)
	secs := int64(elapsed / time.Second)
	if elapsed < 0 && elapsed%time.Second != 0 {
		secs-- // floor, not truncation
	}
	rem := secs % iv
	if rem < 0 {
		rem += iv // Python's modulo is never negative
	}
	return now.Add(time.Duration(iv-rem) * time.Second)
}
