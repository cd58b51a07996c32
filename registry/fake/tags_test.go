package fake_test

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// fakeNow is the clock of the registries these tests build.
var fakeNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clocked(opts ...fake.Option) *fake.Registry {
	return fake.New(append([]fake.Option{fake.WithClock(func() time.Time { return fakeNow })}, opts...)...)
}

func digest(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return "sha256:" + string(b)
}

// Tags seeded by name point at the digest their name derives, changed at
// the registry's clock; pushed tags keep what they were given; SetTags
// keeps the tags it keeps.
func TestTagsSeededPushedAndSet(t *testing.T) {
	t.Parallel()
	r := clocked()
	noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app", Tags: []string{"v1", "latest"}}))
	at := fakeNow.Add(-time.Hour)
	noErr(t, r.PushTags("acme", "app", quaymirror.Tag{Name: "v2", Digest: digest('a'), LastModified: at}))
	want := []quaymirror.Tag{
		{Name: "latest", Digest: fake.TagDigest("latest"), LastModified: fakeNow},
		{Name: "v1", Digest: fake.TagDigest("v1"), LastModified: fakeNow},
		{Name: "v2", Digest: digest('a'), LastModified: at},
	}
	if got, _ := r.Tags("acme", "app"); !slices.Equal(got, want) {
		t.Errorf("Tags = %v, want %v", got, want)
	}
	if repo, _ := r.Repository("acme", "app"); !slices.Equal(repo.Tags, []string{"latest", "v1", "v2"}) {
		t.Errorf("Repository().Tags = %v, want the names sorted", repo.Tags)
	}

	noErr(t, r.SetTags("acme", "app", []string{"v2", "v3"}))
	want = []quaymirror.Tag{
		{Name: "v2", Digest: digest('a'), LastModified: at},
		{Name: "v3", Digest: fake.TagDigest("v3"), LastModified: fakeNow},
	}
	if got, _ := r.Tags("acme", "app"); !slices.Equal(got, want) {
		t.Errorf("after SetTags: %v, want %v", got, want)
	}
	noErr(t, r.DeleteTags("acme", "app", "v2", "nope"))
	if got, _ := r.Tags("acme", "app"); len(got) != 1 || got[0].Name != "v3" {
		t.Errorf("after DeleteTags: %v, want [v3]", got)
	}

	for _, bad := range []quaymirror.Tag{{Name: ".dot"}, {Name: "ok", Digest: "md5"}, {Name: "ok", Digest: "sha256:XYZ"}} {
		if err := r.PushTags("acme", "app", quaymirror.Tag{Name: "fine"}, bad); err == nil {
			t.Errorf("PushTags(%+v) accepted", bad)
		}
	}
	if got, _ := r.Tags("acme", "app"); len(got) != 1 {
		t.Errorf("a refused push stored tags: %v", got)
	}
	if err := r.SetTags("acme", "app", []string{"a b"}); err == nil {
		t.Error("SetTags accepted an invalid name")
	}
	if err := r.PushTags("acme", "nope", quaymirror.Tag{Name: "v1"}); err == nil {
		t.Error("PushTags on a missing repository succeeded")
	}
}

// ListTags pages in name order; a walk is complete; a missing repository
// is ErrNotFound; a foreign token ErrInvalid.
func TestListTagsPages(t *testing.T) {
	t.Parallel()
	r := clocked(fake.WithTagPageSize(7))
	noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app"}))
	noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "empty"}))
	var pushed []quaymirror.Tag
	for i := range 30 {
		pushed = append(pushed, quaymirror.Tag{Name: fmt.Sprintf("t%02d", 29-i), Digest: digest("0123456789abcdef"[i%16]), LastModified: fakeNow.Add(-time.Duration(i) * time.Minute)})
	}
	noErr(t, r.PushTags("acme", "app", pushed...))

	var got []quaymirror.Tag
	token, pages := "", 0
	for {
		p, err := r.ListTags(t.Context(), "acme", "app", token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(p.Tags) > 7 {
			t.Errorf("page %d holds %d tags, more than the page size", pages, len(p.Tags))
		}
		got = append(got, p.Tags...)
		if p.Next == "" {
			break
		}
		token = p.Next
	}
	want := slices.Clone(pushed)
	slices.SortFunc(want, func(a, b quaymirror.Tag) int { return cmp.Compare(a.Name, b.Name) })
	if pages != 5 || !slices.Equal(got, want) {
		t.Errorf("%d pages listing %v, want 5 pages listing %v", pages, got, want)
	}
	all, err := quaymirror.Tags(t.Context(), r, "acme", "app")
	if err != nil || !slices.Equal(all, want) {
		t.Errorf("quaymirror.Tags = %v, %v", all, err)
	}

	if p, err := r.ListTags(t.Context(), "acme", "empty", ""); err != nil || p.Tags == nil || len(p.Tags) != 0 || p.Next != "" {
		t.Errorf("empty repository: %+v, %v; want one empty last page", p, err)
	}
	if _, err := r.ListTags(t.Context(), "acme", "nope", ""); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("missing repository: %v, want ErrNotFound", err)
	}
	if _, err := r.ListTags(t.Context(), "acme", "app", "garbage"); !errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("foreign token: %v, want ErrInvalid", err)
	}
	if n := r.Calls()[fake.OpListTags]; n != 5+5+3 { // two walks, three single pages
		t.Errorf("ListTags counted %d calls", n)
	}
}

// The worker copies the selected tags with the source's digests: a tag
// already at that digest keeps its time, one copied anew changes at the
// worker's now; RunMirrors copies names.
func TestSyncMirrorsCopiesDigests(t *testing.T) {
	t.Parallel()
	src, dst := workerPair(t)
	srcTime := workerNow.Add(-48 * time.Hour)
	keptTime := workerNow.Add(-24 * time.Hour)
	noErr(t, src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app"}))
	noErr(t, src.PushTags("acme", "app",
		quaymirror.Tag{Name: "v1", Digest: digest('1'), LastModified: srcTime},
		quaymirror.Tag{Name: "v2", Digest: digest('2'), LastModified: srcTime},
		quaymirror.Tag{Name: "v3", Digest: digest('3'), LastModified: srcTime}))
	mirrored(t, dst, "app", "app", nil, []string{"v*"}, true, due(quaymirror.SyncNeverRun))
	noErr(t, dst.PushTags("acme", "app",
		quaymirror.Tag{Name: "v1", Digest: digest('1'), LastModified: keptTime},  // up to date
		quaymirror.Tag{Name: "v2", Digest: digest('f'), LastModified: keptTime})) // stale
	if n := dst.SyncMirrors(workerNow, src.ServedAt("src.example:443")); n != 1 {
		t.Fatalf("%d mirrors synchronised, want 1", n)
	}
	want := []quaymirror.Tag{
		{Name: "v1", Digest: digest('1'), LastModified: keptTime},
		{Name: "v2", Digest: digest('2'), LastModified: workerNow},
		{Name: "v3", Digest: digest('3'), LastModified: workerNow},
	}
	if got, _ := dst.Tags("acme", "app"); !slices.Equal(got, want) {
		t.Errorf("tags after the synchronisation:\n got %v\nwant %v", got, want)
	}

	noErr(t, dst.SetMirrorStatus("acme", "app", due(quaymirror.SyncNow)))
	later := workerNow.Add(time.Hour)
	dst.RunMirrors(later, []string{"v3", "v4"})
	want = []quaymirror.Tag{
		{Name: "v3", Digest: fake.TagDigest("v3"), LastModified: later},
		{Name: "v4", Digest: fake.TagDigest("v4"), LastModified: later},
	}
	if got, _ := dst.Tags("acme", "app"); !slices.Equal(got, want) {
		t.Errorf("tags after RunMirrors:\n got %v\nwant %v", got, want)
	}
}

// A seed's tag_details carry digests and times; its tags are checked.
func TestLoadTagDetails(t *testing.T) {
	t.Parallel()
	r := clocked()
	at := time.Date(2025, 12, 24, 18, 0, 0, 0, time.UTC)
	noErr(t, r.Load(fake.Seed{Organizations: []fake.SeedOrganization{{Name: "acme", Repositories: []fake.SeedRepository{{
		Name: "app", Tags: []string{"latest"},
		TagDetails: []quaymirror.Tag{{Name: "v1", Digest: digest('b'), LastModified: at}, {Name: "v2"}},
	}}}}}))
	want := []quaymirror.Tag{
		{Name: "latest", Digest: fake.TagDigest("latest"), LastModified: fakeNow},
		{Name: "v1", Digest: digest('b'), LastModified: at},
		{Name: "v2", Digest: fake.TagDigest("v2"), LastModified: fakeNow},
	}
	if got, _ := r.Tags("acme", "app"); !slices.Equal(got, want) {
		t.Errorf("Tags = %v, want %v", got, want)
	}
	err := fake.Seed{Organizations: []fake.SeedOrganization{{Name: "acme", Repositories: []fake.SeedRepository{{
		Name: "app", Tags: []string{"v1", "-bad", "v1"},
		TagDetails: []quaymirror.Tag{{Name: "v1"}, {Name: "v9", Digest: "sha256:nothex"}},
	}}}}}.Validate()
	if err == nil {
		t.Fatal("an invalid seed validated")
	}
	for _, want := range []string{`"-bad"`, `tag "v1" listed twice`, `tag_details[0]: tag "v1" listed twice`, `invalid digest`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
