package fake

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// DefaultTagPageSize is how many tags a page of ListTags holds.
const DefaultTagPageSize = 100

// TagDigest returns the manifest digest of a tag given by name alone (in
// Repository.Tags, SetTags, a Seed's tags or RunMirrors): "sha256:" and
// the SHA-256 of the name. The same name seeded in two registries thus
// points at the same manifest, as if the same image had been pushed to
// both; seed other digests with PushTags or a Seed's tag_details.
func TagDigest(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// tagsOf returns tags given by name alone, with TagDigest and at.
func tagsOf(names []string, at time.Time) map[string]quaymirror.Tag {
	out := make(map[string]quaymirror.Tag, len(names))
	for _, n := range names {
		out[n] = quaymirror.Tag{Name: n, Digest: TagDigest(n), LastModified: at}
	}
	return out
}

// sortedTags returns the tags sorted by name.
func sortedTags(tags map[string]quaymirror.Tag) []quaymirror.Tag {
	out := slices.Collect(maps.Values(tags))
	slices.SortFunc(out, func(a, b quaymirror.Tag) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// tagNames returns the names of tags, sorted; nil when there is none.
func tagNames(tags map[string]quaymirror.Tag) []string {
	if len(tags) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(tags))
}

// validDigest reports whether d looks like "algorithm:hex", as OCI
// digests do.
func validDigest(d string) bool {
	alg, hexPart, ok := strings.Cut(d, ":")
	if !ok || alg == "" || len(hexPart) < 32 {
		return false
	}
	for _, c := range alg {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	for _, c := range hexPart {
		if !(c >= 'a' && c <= 'f' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkTag validates a tag to be stored and fills in its defaults: the
// digest its name derives, the time at.
func checkTag(t quaymirror.Tag, at time.Time) (quaymirror.Tag, error) {
	if !quaymirror.ValidTagName(t.Name) {
		return t, fmt.Errorf("fake: invalid tag name %q", t.Name)
	}
	if t.Digest == "" {
		t.Digest = TagDigest(t.Name)
	} else if !validDigest(t.Digest) {
		return t, fmt.Errorf("fake: tag %s: invalid digest %q", t.Name, t.Digest)
	}
	if t.LastModified.IsZero() {
		t.LastModified = at
	}
	t.LastModified = t.LastModified.UTC()
	return t, nil
}

// ListTags implements quaymirror.TagLister: pages of WithTagPageSize tags
// in name order; the page token is the last name of the page before, so a
// walk sees every tag that exists from its start to its end exactly once.
// A token the registry did not hand out is ErrInvalid.
func (r *Registry) ListTags(ctx context.Context, namespace, name, pageToken string) (quaymirror.TagPage, error) {
	end, err := r.begin(ctx, OpListTags, namespace, name)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	defer end()
	after := ""
	if pageToken != "" {
		var ok bool
		if after, ok = strings.CutPrefix(pageToken, "after:"); !ok || after == "" {
			return quaymirror.TagPage{}, invalid("tag page token %q", pageToken)
		}
	}
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return quaymirror.TagPage{}, err
	}
	all := sortedTags(rp.tags)
	start, _ := slices.BinarySearchFunc(all, after, func(t quaymirror.Tag, n string) int { return cmp.Compare(t.Name, n) })
	if start < len(all) && after != "" && all[start].Name == after {
		start++
	}
	stop := min(len(all), start+r.tagPageSize)
	page := quaymirror.TagPage{Tags: slices.Clone(all[start:stop])}
	if page.Tags == nil {
		page.Tags = []quaymirror.Tag{}
	}
	if stop < len(all) {
		page.Next = "after:" + all[stop-1].Name
	}
	return page, nil
}

// ListAllTags returns every tag of a repository, sorted by name, in one
// operation (counted as one ListTags): what a server answering from its
// own database reads.
func (r *Registry) ListAllTags(ctx context.Context, namespace, name string) ([]quaymirror.Tag, error) {
	_, rp, end, err := r.beginRepo(ctx, OpListTags, namespace, name, r.repoLocked)
	if err != nil {
		return nil, err
	}
	defer end()
	return sortedTags(rp.tags), nil
}

// Tags returns a repository's tags sorted by name, with their digests and
// change times.
func (r *Registry) Tags(namespace, name string) ([]quaymirror.Tag, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil, false
	}
	return sortedTags(rp.tags), true
}

// PushTags adds tags to a repository or moves existing ones, as pushes
// would. A tag without a digest gets TagDigest of its name; one without a
// change time gets the registry's clock. Nothing is stored when a tag
// name or digest is invalid.
func (r *Registry) PushTags(namespace, name string, tags ...quaymirror.Tag) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	now := r.now()
	checked := make([]quaymirror.Tag, len(tags))
	for i, t := range tags {
		if checked[i], err = checkTag(t, now); err != nil {
			return err
		}
	}
	for _, t := range checked {
		rp.tags[t.Name] = t
	}
	return nil
}

// DeleteTags removes tags from a repository; names it does not have are
// ignored.
func (r *Registry) DeleteTags(namespace, name string, names ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	for _, n := range names {
		delete(rp.tags, n)
	}
	return nil
}

// copyTags returns the tags a mirror copy of src leaves: every tag of
// src, those old already holds with the same digest unchanged, the others
// changed at now (a copy is a push to the destination).
func copyTags(old map[string]quaymirror.Tag, src []quaymirror.Tag, now time.Time) map[string]quaymirror.Tag {
	out := make(map[string]quaymirror.Tag, len(src))
	for _, t := range src {
		if o, ok := old[t.Name]; ok && o.Digest == t.Digest {
			out[t.Name] = o
			continue
		}
		out[t.Name] = quaymirror.Tag{Name: t.Name, Digest: t.Digest, LastModified: now.UTC()}
	}
	return out
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
