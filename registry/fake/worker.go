package fake

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// MirrorSource answers what Quay's mirror worker asks a mirror's source
// registry (skopeo list-tags, then skopeo inspect): the tags of the
// repository an external reference ("host[:port]/namespace/repository")
// names, with their digests. An error fails the synchronisation.
type MirrorSource func(reference string) ([]quaymirror.Tag, error)

// ServedAt returns a MirrorSource reading r's repositories as a registry
// served at host (such as an emulator's "127.0.0.1:8080"). A reference to
// another host, or to a repository r does not hold, is an error wrapping
// quaymirror.ErrNotFound.
func (r *Registry) ServedAt(host string) MirrorSource {
	return func(reference string) ([]quaymirror.Tag, error) {
		h, path, _ := strings.Cut(reference, "/")
		ns, name, _ := strings.Cut(path, "/")
		if h != host || ns == "" || name == "" {
			return nil, notFound("%s is not a repository of %s", reference, host)
		}
		tags, ok := r.Tags(ns, name)
		if !ok {
			return nil, notFound("%s: no such repository", reference)
		}
		return tags, nil
	}
}

// maxSyncRetries is how many attempts Quay's worker gives a due mirror
// (MAX_SYNC_RETRIES).
const maxSyncRetries = 3

// claimed is a mirror the worker is synchronising.
type claimed struct {
	rp     *repo
	mirror *quaymirror.Mirror
	ref    string
	globs  []string
}

// SyncMirrors plays one pass of Quay's mirror worker at now, reading the
// sources through source. It synchronises every MIRROR repository whose
// mirror is SYNC_NOW (enabled or not), or enabled and due: next start at
// or before now, retries left, not SYNCING (a SYNCING mirror stays so,
// as Quay's claim refuses it). Like the worker, it lists the source's
// tags, keeps those that match a tag glob (quaymirror.MatchGlob, Python's
// fnmatch), copies them (a tag already at the source's digest is left as
// it is; one copied anew points at the source's digest and changes at
// now) and deletes the repository's other tags; when no tag matches it
// changes nothing. It then releases the mirror as Quay's
// release_mirror does: on success SUCCESS, 3 retries and the next start
// on the interval grid (see RunMirrors), counted from the current next
// start; on failure FAIL with one retry
// fewer and the next start unchanged (retried at the next pass), or,
// once no retry is left, 3 retries and the next start on the grid. Each
// synchronisation adds a success or failure log entry. It returns how
// many mirrors were synchronised.
//
// The source is read without holding r's lock, so r may be its own
// source; meanwhile the mirrors being synchronised are SYNCING.
func (r *Registry) SyncMirrors(now time.Time, source MirrorSource) int {
	work := r.claimMirrors(now)
	for _, c := range work {
		tags, err := source(c.ref)
		r.releaseMirror(now, c, tags, err)
	}
	return len(work)
}

// claimMirrors marks the due mirrors SYNCING, as the worker's claim does,
// and returns them.
func (r *Registry) claimMirrors(now time.Time) []claimed {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []claimed
	for _, rp := range r.dueLocked(now) {
		m := rp.mirror
		m.Status.SyncStatus = quaymirror.SyncSyncing
		m.Status.Expiration = now.Add(12 * time.Hour)
		out = append(out, claimed{rp: rp, mirror: m, ref: m.Config.ExternalReference, globs: slices.Clone(m.Config.TagGlobs)})
	}
	return out
}

// dueLocked returns the repositories whose mirror the worker takes at
// now: enabled mirrors of MIRROR repositories that are SYNC_NOW, or due
// with retries left and not SYNCING. r.mu must be held.
func (r *Registry) dueLocked(now time.Time) []*repo {
	var out []*repo
	for _, o := range r.orgs {
		for _, rp := range o.order {
			m := rp.mirror
			if m == nil || rp.r.State != quaymirror.StateMirror {
				continue
			}
			due := m.Config.Enabled && !m.Status.NextSync.IsZero() && !m.Status.NextSync.After(now) &&
				m.Status.RetriesRemaining > 0 && m.Status.SyncStatus != quaymirror.SyncSyncing
			if m.Status.SyncStatus == quaymirror.SyncNow || due {
				out = append(out, rp)
			}
		}
	}
	return out
}

// releaseMirror applies a synchronisation's result: the source's tags, or
// the error reading them.
func (r *Registry) releaseMirror(now time.Time, c claimed, sourceTags []quaymirror.Tag, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := c.mirror
	if c.rp.mirror != m {
		return // the configuration was replaced meanwhile
	}
	log := quaymirror.SyncLog{Kind: quaymirror.LogSyncSuccess, Time: now}
	if err != nil {
		log = quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: now, Message: fmt.Sprintf("source %s: %v", c.ref, err)}
		m.Status.SyncStatus = quaymirror.SyncFail
		m.Status.RetriesRemaining = max(0, m.Status.RetriesRemaining-1)
	} else {
		var selected []quaymirror.Tag
		for _, tag := range sourceTags {
			if slices.ContainsFunc(c.globs, func(g string) bool { return quaymirror.MatchGlob(g, tag.Name) }) {
				selected = append(selected, tag)
			}
		}
		if len(selected) > 0 {
			c.rp.tags = copyTags(c.rp.tags, selected, now)
		}
		m.Status.SyncStatus = quaymirror.SyncSuccess
	}
	m.Status.Expiration = time.Time{}
	if err == nil || m.Status.RetriesRemaining < 1 {
		// Quay counts from the current sync_start_date, which the worker
		// itself moves along the grid (the configured date before the
		// first run).
		start := m.Status.NextSync
		if start.IsZero() {
			start = m.Config.SyncStartDate
		}
		m.Status.RetriesRemaining = maxSyncRetries
		m.Status.NextSync = nextStart(start, m.Config.SyncInterval, now)
	}
	c.rp.logs = append([]quaymirror.SyncLog{log}, c.rp.logs...)
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
	due := r.dueLocked(now)
	for _, rp := range due {
		m := rp.mirror
		if tags != nil {
			rp.tags = copyTags(rp.tags, sortedTags(tagsOf(tags, now)), now)
		}
		m.Status.SyncStatus = quaymirror.SyncSuccess
		m.Status.RetriesRemaining = 3
		m.Status.Expiration = time.Time{}
		m.Status.NextSync = nextStart(m.Config.SyncStartDate, m.Config.SyncInterval, now)
		rp.logs = append([]quaymirror.SyncLog{{Kind: quaymirror.LogSyncSuccess, Time: now}}, rp.logs...)
	}
	return len(due)
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
