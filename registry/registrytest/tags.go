package registrytest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// manyTags is above the 500 tags Quay's repository read returns at most.
const manyTags = 537

// tagTime is when the suite's seeded tags changed, in whole seconds (the
// precision Quay keeps).
var tagTime = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// seededTags returns n tags with distinct digests and change times.
func seededTags(n int) []quaymirror.Tag {
	out := make([]quaymirror.Tag, n)
	for i := range out {
		out[i] = quaymirror.Tag{
			Name:         fmt.Sprintf("v1.%d", i),
			Digest:       fmt.Sprintf("sha256:%064x", 0xd1ce0000+i),
			LastModified: tagTime.Add(-time.Duration(i) * time.Minute),
		}
	}
	return out
}

func testTags(t *testing.T, h SourceHarness) {
	lister := func(t *testing.T, e *sourceEnv) quaymirror.TagLister {
		t.Helper()
		l, ok := e.source.(quaymirror.TagLister)
		if !ok {
			t.Skip("the backend does not implement quaymirror.TagLister")
		}
		return l
	}
	for _, tc := range []struct {
		name, repo string
		n          int
	}{
		{"Few", "app", 3},
		{"Nested", "team/app/web", 3},
		{"MoreThan500", "big", manyTags},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSourceEnv(t, h, SourceOptions{})
			l := lister(t, e)
			e.repo(tc.repo)
			want := e.push(tc.repo, seededTags(tc.n)...)
			checkTagWalk(t, l, e.org, tc.repo, want)
		})
	}

	t.Run("Moved", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, SourceOptions{})
		l := lister(t, e)
		e.repo("app")
		want := e.push("app", seededTags(3)...)
		moved := quaymirror.Tag{Name: want[1].Name, Digest: fmt.Sprintf("sha256:%064x", 0xbeef), LastModified: tagTime.Add(time.Hour)}
		want[1] = e.push("app", moved)[0]
		if want[1].Digest == "" {
			t.Fatal("the store moved the tag to an empty digest")
		}
		checkTagWalk(t, l, e.org, "app", want)
	})

	t.Run("NoTags", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, SourceOptions{})
		l := lister(t, e)
		e.repo("empty")
		page, err := l.ListTags(t.Context(), e.org, "empty", "")
		if wantOK(t, "ListTags of a repository without tags", err) && (len(page.Tags) != 0 || page.Next != "") {
			t.Errorf("a repository without tags lists %d tags, next %q; want one empty last page", len(page.Tags), page.Next)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, SourceOptions{})
		l := lister(t, e)
		_, err := l.ListTags(t.Context(), e.org, "nope", "")
		wantErr(t, "ListTags of a missing repository", err, quaymirror.ErrNotFound)
		_, err = l.ListTags(t.Context(), e.org, "nope/nested", "")
		wantErr(t, "ListTags of a missing nested repository", err, quaymirror.ErrNotFound)
	})
}

// checkTagWalk walks the tag listing page by page and checks that it
// holds exactly want: every tag, with its digest and change time (to the
// second, or zero for a backend that does not tell), nothing else, a name
// listed twice only with the same tag.
func checkTagWalk(t *testing.T, l quaymirror.TagLister, namespace, name string, want []quaymirror.Tag) {
	t.Helper()
	got := map[string]quaymirror.Tag{}
	token := ""
	for i := 0; ; i++ {
		if i == maxPages {
			t.Fatalf("tag listing did not end after %d pages (next page token %q)", maxPages, token)
		}
		page, err := l.ListTags(t.Context(), namespace, name, token)
		if err != nil {
			t.Fatalf("ListTags page %d: %v", i, err)
		}
		for _, tag := range page.Tags {
			if prev, seen := got[tag.Name]; seen && !sameTag(prev, tag) {
				t.Errorf("tag %q listed twice, differently: %+v, then %+v", tag.Name, prev, tag)
			}
			got[tag.Name] = tag
		}
		if page.Next == "" {
			break
		}
		if page.Next == token {
			t.Fatalf("tag page %d hands back its own token %q", i, token)
		}
		token = page.Next
	}
	var problems []string
	for _, w := range want {
		g, ok := got[w.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("tag %q missing", w.Name))
		case g.Digest != w.Digest:
			problems = append(problems, fmt.Sprintf("tag %q: digest %q, want %q", w.Name, g.Digest, w.Digest))
		case !g.LastModified.IsZero() && !g.LastModified.Equal(w.LastModified):
			problems = append(problems, fmt.Sprintf("tag %q: changed %s, want %s", w.Name, g.LastModified, w.LastModified))
		}
		delete(got, w.Name)
	}
	for n := range got {
		problems = append(problems, fmt.Sprintf("unexpected tag %q", n))
	}
	slices.Sort(problems)
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Sprintf("... %d problems in all", len(problems)))
	}
	reportDiff(t, fmt.Sprintf("tag listing of %s/%s (%d tags)", namespace, name, len(want)), problems)

	all, err := quaymirror.Tags(t.Context(), l, namespace, name)
	if wantOK(t, "quaymirror.Tags", err) && len(all) != len(want) {
		t.Errorf("quaymirror.Tags returned %d tags, want %d", len(all), len(want))
	}
}

func sameTag(a, b quaymirror.Tag) bool {
	return a.Name == b.Name && a.Digest == b.Digest && a.LastModified.Equal(b.LastModified)
}

// push adds or moves tags of a repository through the store and returns
// them as the registry holds them: as given, or, for an ImageStore, with
// the digests of the images it pushed and no change times.
func (e *sourceEnv) push(name string, tags ...quaymirror.Tag) []quaymirror.Tag {
	e.t.Helper()
	is, ok := e.store.(ImageStore)
	if !ok {
		must(e.t, e.store.PushTags(e.org, name, tags...))
		return tags
	}
	names := make([]string, len(tags))
	for i, tag := range tags {
		names[i] = tag.Name
	}
	got, err := is.PushImages(e.org, name, names...)
	must(e.t, err)
	if len(got) != len(tags) {
		e.t.Fatalf("PushImages returned %d tags for %d pushed", len(got), len(tags))
	}
	return got
}

// repo adds a repository without tags to the store and returns its name.
func (e *sourceEnv) repo(name string) string {
	e.t.Helper()
	must(e.t, e.store.AddRepository(quaymirror.Repository{Namespace: e.org, Name: name, Visibility: quaymirror.Private, State: quaymirror.StateNormal}))
	return name
}
