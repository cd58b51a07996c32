package registrytest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
)

func testGetRepository(t *testing.T, h Harness) {
	for _, tc := range []struct{ name, repo string }{
		{"Plain", "web"},
		{"Nested", "team/app/web"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, h)
			tags := []string{"v1.0", "v1.1", "latest"}
			e.repo(tc.repo, withTags(tags...), withVisibility(quaymirror.Public), withState(quaymirror.StateReadOnly),
				func(r *quaymirror.Repository) { r.Description = "the " + tc.repo })
			got, err := e.backend.GetRepository(t.Context(), e.org, tc.repo)
			if !wantOK(t, "GetRepository", err) {
				return
			}
			if got.Namespace != e.org || got.Name != tc.repo {
				t.Errorf("GetRepository returned %s/%s, want %s/%s", got.Namespace, got.Name, e.org, tc.repo)
			}
			if got.Visibility != quaymirror.Public || got.State != quaymirror.StateReadOnly {
				t.Errorf("Visibility, State = %q, %q; want public, READ_ONLY", got.Visibility, got.State)
			}
			if got.Description != "the "+tc.repo {
				t.Errorf("Description = %q, want %q", got.Description, "the "+tc.repo)
			}
			if !slices.Equal(sorted(got.Tags), sorted(tags)) {
				t.Errorf("Tags = %v, want %v", got.Tags, tags)
			}
		})
	}
	t.Run("NoTags", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.repo("empty")
		got, err := e.backend.GetRepository(t.Context(), e.org, "empty")
		if wantOK(t, "GetRepository", err) && len(got.Tags) != 0 {
			t.Errorf("Tags = %v, want none", got.Tags)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		_, err := e.backend.GetRepository(t.Context(), e.org, "nope")
		wantErr(t, "GetRepository of a missing repository", err, quaymirror.ErrNotFound)
		_, err = e.backend.GetRepository(t.Context(), e.org, "nope/nested")
		wantErr(t, "GetRepository of a missing nested repository", err, quaymirror.ErrNotFound)
	})
}

func testCreateRepository(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name, repo string
		vis        quaymirror.Visibility
	}{
		{"Private", "app", quaymirror.Private},
		{"Public", "site", quaymirror.Public},
		{"Nested", "team/app/api", quaymirror.Private},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, h)
			err := e.backend.CreateRepository(t.Context(), quaymirror.Repository{
				Namespace: e.org, Name: tc.repo, Description: "made by the suite", Visibility: tc.vis,
				// Asking for another state must not matter: new
				// repositories are NORMAL.
				State: quaymirror.StateMirror,
			})
			if !wantOK(t, "CreateRepository", err) {
				return
			}
			r, ok := e.store.Repository(e.org, tc.repo)
			if !ok {
				t.Fatalf("CreateRepository succeeded but %s/%s is not in the store", e.org, tc.repo)
			}
			if r.State != quaymirror.StateNormal || r.Visibility != tc.vis || r.Description != "made by the suite" {
				t.Errorf("created repository has state %q, visibility %q, description %q; want NORMAL, %q, %q",
					r.State, r.Visibility, r.Description, tc.vis, "made by the suite")
			}
			got, err := e.backend.GetRepository(t.Context(), e.org, tc.repo)
			if wantOK(t, "GetRepository after CreateRepository", err) && (got.State != quaymirror.StateNormal || got.Visibility != tc.vis) {
				t.Errorf("read back with state %q, visibility %q", got.State, got.Visibility)
			}
		})
	}
	t.Run("Exists", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.repo("taken", func(r *quaymirror.Repository) { r.Description = "first" })
		err := e.backend.CreateRepository(t.Context(), quaymirror.Repository{
			Namespace: e.org, Name: "taken", Description: "second", Visibility: quaymirror.Public,
		})
		wantErr(t, "CreateRepository of an existing repository", err, quaymirror.ErrAlreadyExists)
		if r := e.stored("taken"); r.Description != "first" || r.Visibility != quaymirror.Private {
			t.Errorf("existing repository changed: description %q, visibility %q", r.Description, r.Visibility)
		}
	})
	t.Run("InvalidName", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		for _, name := range []string{"UPPER", "-dash", "a//b", "trailing/", "/leading", "sp ace", strings.Repeat("a", 256)} {
			err := e.backend.CreateRepository(t.Context(), quaymirror.Repository{
				Namespace: e.org, Name: name, Visibility: quaymirror.Private,
			})
			wantErr(t, "CreateRepository "+quote(name), err, quaymirror.ErrInvalid)
		}
		if n := len(e.store.Repositories(e.org)); n != 0 {
			t.Errorf("invalid names created %d repositories", n)
		}
	})
}

func quote(s string) string {
	if len(s) > 20 {
		return `"` + s[:17] + `..."`
	}
	return `"` + s + `"`
}

// needChangeState skips the test when the backend reports repository
// mirroring disabled (Quay then has no changestate endpoint), after
// checking that ChangeState fails without effect.
func (e *env) needChangeState(t *testing.T) {
	t.Helper()
	if e.caps.RepositoryMirroring {
		return
	}
	e.repo("stateless")
	err := e.backend.ChangeState(t.Context(), e.org, "stateless", quaymirror.StateReadOnly)
	if !errors.Is(err, quaymirror.ErrNotFound) && !errors.Is(err, quaymirror.ErrUnsupported) {
		t.Errorf("ChangeState with repository mirroring disabled: error = %v, want ErrNotFound or ErrUnsupported", err)
	}
	if s := e.stored("stateless").State; s != quaymirror.StateNormal {
		t.Errorf("ChangeState with repository mirroring disabled changed the state to %s", s)
	}
	t.Skip("the backend reports repository mirroring disabled")
}

func testChangeState(t *testing.T, h Harness) {
	t.Run("Transitions", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needChangeState(t)
		e.repo("app")
		// MIRROR does not need a mirror configuration.
		for _, s := range []quaymirror.State{quaymirror.StateReadOnly, quaymirror.StateMirror, quaymirror.StateNormal, quaymirror.StateMirror} {
			if !wantOK(t, "ChangeState to "+string(s), e.backend.ChangeState(t.Context(), e.org, "app", s)) {
				continue
			}
			if got := e.stored("app").State; got != s {
				t.Errorf("after ChangeState(%s) the store has %s", s, got)
			}
		}
		if _, ok := e.store.Mirror(e.org, "app"); ok {
			t.Error("ChangeState created a mirror configuration")
		}
	})
	t.Run("Nested", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needChangeState(t)
		e.repo("a/b/c")
		if wantOK(t, "ChangeState", e.backend.ChangeState(t.Context(), e.org, "a/b/c", quaymirror.StateReadOnly)) {
			if got := e.stored("a/b/c").State; got != quaymirror.StateReadOnly {
				t.Errorf("store has state %s, want READ_ONLY", got)
			}
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needChangeState(t)
		e.repo("app")
		for _, s := range []quaymirror.State{quaymirror.StateOrgMirror, "BOGUS", ""} {
			wantErr(t, "ChangeState to "+quote(string(s)), e.backend.ChangeState(t.Context(), e.org, "app", s), quaymirror.ErrInvalid)
		}
		if got := e.stored("app").State; got != quaymirror.StateNormal {
			t.Errorf("refused state changes left state %s, want NORMAL", got)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, h)
		e.needChangeState(t)
		wantErr(t, "ChangeState of a missing repository", e.backend.ChangeState(t.Context(), e.org, "nope", quaymirror.StateReadOnly), quaymirror.ErrNotFound)
	})
}
