package registrytest

import (
	"fmt"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// listingSize is above two and a half Quay pages.
const listingSize = 257

// maxPages bounds a listing walk: a backend that loops (a page token that
// restarts the listing) fails instead of hanging.
const maxPages = 100

func testList(t *testing.T, h SourceHarness, opts SourceOptions) {
	t.Run("Pages", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, opts)
		want := seedListing(e, listingSize)
		// A neighbour organisation must not leak into the listing.
		must(t, e.store.AddRepository(quaymirror.Repository{Namespace: e.org + "x", Name: "intruder"}))

		pages := walk(t, e, e.org, nil)
		got := flatten(pages)
		checkListing(t, e, got, want)
		if len(pages) < 2 {
			t.Errorf("%d repositories came in %d page(s); the suite expects pages smaller than %d (Quay's hold 100)", listingSize, len(pages), listingSize)
		}
		for i, p := range pages[:len(pages)-1] {
			if len(p.Repositories) == 0 {
				t.Errorf("page %d is empty but has a next page", i)
			}
		}

		t.Run("Stable", func(t *testing.T) {
			again := flatten(walk(t, e, e.org, nil))
			if len(again) != len(got) {
				t.Fatalf("second listing has %d repositories, first had %d", len(again), len(got))
			}
			for i := range got {
				if again[i].Name != got[i].Name {
					t.Errorf("position %d: second listing has %q, first had %q", i, again[i].Name, got[i].Name)
					break
				}
			}
		})
	})

	t.Run("RepositoriesAddedDuringWalk", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, opts)
		want := seedListing(e, listingSize)
		added := 0
		pages := walk(t, e, e.org, func(page int) {
			if page == 0 {
				for i := range 5 {
					must(t, e.store.AddRepository(quaymirror.Repository{Namespace: e.org, Name: fmt.Sprintf("late-%d", i), Tags: []string{"latest"}}))
					added++
				}
			}
		})
		got := flatten(pages)
		seen := map[string]int{}
		for _, r := range got {
			seen[r.Name]++
		}
		for _, w := range want {
			if seen[w.Name] != 1 {
				t.Errorf("repository %q listed %d times while repositories were added during the walk, want once", w.Name, seen[w.Name])
			}
		}
		if len(got) > len(want)+added {
			t.Errorf("listing has %d repositories, at most %d exist", len(got), len(want)+added)
		}
	})

	t.Run("UnknownNamespace", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, opts)
		page, err := e.source.ListRepositories(t.Context(), "nosuchorg"+e.org, "")
		if wantOK(t, "listing an unknown namespace", err) && (len(page.Repositories) != 0 || page.Next != "") {
			t.Errorf("unknown namespace lists %d repositories, next %q; want an empty last page", len(page.Repositories), page.Next)
		}
	})

	t.Run("EmptyNamespace", func(t *testing.T) {
		t.Parallel()
		e := newSourceEnv(t, h, opts)
		page, err := e.source.ListRepositories(t.Context(), e.org, "")
		if wantOK(t, "listing an empty organization", err) && (len(page.Repositories) != 0 || page.Next != "") {
			t.Errorf("empty organization lists %d repositories, next %q; want an empty last page", len(page.Repositories), page.Next)
		}
	})
}

// seedListing adds n repositories with varied names, states and
// visibilities and returns them in creation order.
func seedListing(e *sourceEnv, n int) []quaymirror.Repository {
	e.t.Helper()
	states := []quaymirror.State{quaymirror.StateNormal, quaymirror.StateMirror, quaymirror.StateReadOnly, quaymirror.StateOrgMirror}
	var out []quaymirror.Repository
	for i := range n {
		name := fmt.Sprintf("repo-%03d", i)
		if i%7 == 0 {
			name = fmt.Sprintf("team-%d/app/svc-%03d", i%3, i)
		}
		vis := quaymirror.Private
		if i%2 == 1 {
			vis = quaymirror.Public
		}
		r := quaymirror.Repository{Namespace: e.org, Name: name, Description: "repository " + name,
			Visibility: vis, State: states[i%len(states)], Tags: []string{"latest"}}
		must(e.t, e.store.AddRepository(r))
		r.Tags = nil
		if e.opts.Stateless {
			r.Visibility, r.State = "", ""
		}
		out = append(out, r)
	}
	return out
}

// walk lists namespace to the end; between pages it calls between (if not
// nil) with the index of the page just read.
func walk(t *testing.T, e *sourceEnv, namespace string, between func(page int)) []quaymirror.RepositoryPage {
	t.Helper()
	var pages []quaymirror.RepositoryPage
	token := ""
	for i := 0; ; i++ {
		if i == maxPages {
			t.Fatalf("listing did not end after %d pages (next page token %q)", maxPages, token)
		}
		page, err := e.source.ListRepositories(t.Context(), namespace, token)
		if err != nil {
			t.Fatalf("ListRepositories page %d: %v", i, err)
		}
		pages = append(pages, page)
		if page.Next == "" {
			return pages
		}
		if page.Next == token {
			t.Fatalf("page %d hands back its own token %q", i, token)
		}
		if between != nil {
			between(i)
		}
		token = page.Next
	}
}

func flatten(pages []quaymirror.RepositoryPage) []quaymirror.Repository {
	var out []quaymirror.Repository
	for _, p := range pages {
		out = append(out, p.Repositories...)
	}
	return out
}

// checkListing compares a complete listing with the seeded repositories:
// each exactly once, with namespace, visibility and state (both empty for
// a stateless source), without tags.
func checkListing(t *testing.T, e *sourceEnv, got, want []quaymirror.Repository) {
	t.Helper()
	namespace := e.org
	byName := map[string]quaymirror.Repository{}
	for _, w := range want {
		byName[w.Name] = w
	}
	seen := map[string]bool{}
	for i, r := range got {
		w, ok := byName[r.Name]
		switch {
		case !ok:
			t.Errorf("listing position %d: unexpected repository %s/%s", i, r.Namespace, r.Name)
			continue
		case seen[r.Name]:
			t.Errorf("listing position %d: repository %q listed twice", i, r.Name)
			continue
		}
		seen[r.Name] = true
		if r.Namespace != namespace {
			t.Errorf("%s: Namespace = %q, want %q", r.Name, r.Namespace, namespace)
		}
		if r.Visibility != w.Visibility {
			t.Errorf("%s: Visibility = %q, want %q", r.Name, r.Visibility, w.Visibility)
		}
		if r.State != w.State {
			t.Errorf("%s: State = %q, want %q", r.Name, r.State, w.State)
		}
		if r.Tags != nil {
			t.Errorf("%s: listing carries tags %v, want nil", r.Name, r.Tags)
		}
	}
	missing := 0
	for _, w := range want {
		if !seen[w.Name] {
			missing++
			if missing <= 5 {
				t.Errorf("repository %q missing from the listing", w.Name)
			}
		}
	}
	if missing > 5 {
		t.Errorf("... %d repositories missing in all", missing)
	}
}
