package quaymirror_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// scriptedTags serves fixed pages by token and counts the calls.
type scriptedTags struct {
	pages map[string]quaymirror.TagPage
	err   error
	calls int
}

func (s *scriptedTags) ListTags(_ context.Context, _, _, token string) (quaymirror.TagPage, error) {
	s.calls++
	if s.err != nil {
		return quaymirror.TagPage{}, s.err
	}
	p, ok := s.pages[token]
	if !ok {
		return quaymirror.TagPage{}, quaymirror.ErrInvalid
	}
	return p, nil
}

func TestTagsMergesPagesLaterWins(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &scriptedTags{pages: map[string]quaymirror.TagPage{
		// A summary page, then the full listing repeating it with a
		// moved tag.
		"":   {Tags: []quaymirror.Tag{{Name: "v2", Digest: "sha256:old"}, {Name: "b", Digest: "sha256:b"}}, Next: "p1"},
		"p1": {Tags: []quaymirror.Tag{{Name: "v2", Digest: "sha256:new", LastModified: t0}, {Name: "a", Digest: "sha256:a"}}, Next: "p2"},
		"p2": {Tags: []quaymirror.Tag{}},
	}}
	got, err := quaymirror.Tags(t.Context(), l, "acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	want := []quaymirror.Tag{{Name: "a", Digest: "sha256:a"}, {Name: "b", Digest: "sha256:b"}, {Name: "v2", Digest: "sha256:new", LastModified: t0}}
	if !slices.Equal(got, want) || l.calls != 3 {
		t.Errorf("Tags = %v after %d calls, want %v after 3", got, l.calls, want)
	}
}

func TestTagsStopsALoop(t *testing.T) {
	l := &scriptedTags{pages: map[string]quaymirror.TagPage{
		"":   {Tags: []quaymirror.Tag{{Name: "a"}}, Next: "p1"},
		"p1": {Tags: []quaymirror.Tag{{Name: "b"}}, Next: "p2"},
		"p2": {Tags: []quaymirror.Tag{{Name: "c"}}, Next: "p1"},
	}}
	_, err := quaymirror.Tags(t.Context(), l, "acme", "app")
	if !errors.Is(err, quaymirror.ErrBadResponse) || l.calls != 3 {
		t.Errorf("error %v after %d calls, want ErrBadResponse after 3", err, l.calls)
	}
}

func TestTagsWrapsErrors(t *testing.T) {
	l := &scriptedTags{err: quaymirror.ErrNotFound}
	_, err := quaymirror.Tags(t.Context(), l, "acme", "app")
	if !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("error %v, want one wrapping ErrNotFound", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l = &scriptedTags{}
	if _, err := quaymirror.Tags(ctx, l, "acme", "app"); !errors.Is(err, context.Canceled) || l.calls != 0 {
		t.Errorf("cancelled: error %v after %d calls", err, l.calls)
	}
}

func TestValidTagName(t *testing.T) {
	for name, want := range map[string]bool{
		"v1": true, "latest": true, "_x": true, "1.0.0-rc.1": true, "A_b": true,
		"": false, ".x": false, "-x": false, "a/b": false, "a:b": false, "a b": false,
		string(make([]byte, 129)): false,
	} {
		if got := quaymirror.ValidTagName(name); got != want {
			t.Errorf("ValidTagName(%q) = %v, want %v", name, got, want)
		}
	}
	long := make([]byte, 128)
	for i := range long {
		long[i] = 'a'
	}
	if !quaymirror.ValidTagName(string(long)) {
		t.Error("a 128-character name is refused")
	}
}
