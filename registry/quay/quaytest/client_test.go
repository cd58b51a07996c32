package quaytest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// The real client against the emulator where the conformance suite cannot
// go: wrong credentials and injected faults. Counts, not timings.

func (e *env) client(token string, opts ...quay.Option) *quay.Client {
	e.t.Helper()
	c, err := quay.New(e.srv.URL, append([]quay.Option{quay.WithToken(token), quay.WithRetry(8, time.Millisecond, 4*time.Millisecond)}, opts...)...)
	must(e.t, err)
	return c
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	if _, err := e.client(tokBad).CurrentUser(t.Context()); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("CurrentUser with a bad token: %v, want ErrUnauthorized", err)
	}
	// Quay's trap: a bad token lists an empty page instead of failing.
	page, err := e.client(tokBad).ListRepositories(t.Context(), "acme", "")
	if err != nil || len(page.Repositories) != 0 {
		t.Errorf("listing with a bad token: %d repositories, %v; Quay answers an empty page", len(page.Repositories), err)
	}
	// A token without user:read cannot read its own account.
	if _, err := e.client(tokNoUser).CurrentUser(t.Context()); !errors.Is(err, quaymirror.ErrUnauthorized) {
		t.Errorf("CurrentUser without user:read: %v, want ErrUnauthorized", err)
	}
	// A repo:read token cannot write.
	err = e.client(tokReader).ChangeState(t.Context(), "acme", "app", quaymirror.StateReadOnly)
	if !errors.Is(err, quaymirror.ErrForbidden) {
		t.Errorf("ChangeState with a repo:read token: %v, want ErrForbidden", err)
	}
}

func TestClientUnderFaults(t *testing.T) {
	t.Run("ListingThroughErrorsResetsAnd429s", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(),
			quaytest.WithFaults(quaytest.Faults{Seed: 3, ErrorRate: 0.2, ResetRate: 0.1, RateLimitRate: 0.1, RateLimitBurst: 2, Routes: []string{listRoute}}))
		e.addRepos("acme", 449, quaymirror.Private)
		c := e.client(tokAdmin)
		n, tok := 0, ""
		for {
			p, err := c.ListRepositories(t.Context(), "acme", tok)
			if err != nil {
				t.Fatalf("listing: %v", err)
			}
			n += len(p.Repositories)
			if p.Next == "" {
				break
			}
			tok = p.Next
		}
		faults := 0
		for _, k := range e.em.FaultCounts() {
			faults += k
		}
		if n != 450 || faults == 0 || e.em.Requests()[listRoute] != 5+faults {
			t.Errorf("listed %d of 450 in %d requests with %d faults; want 5 pages plus one retry per fault",
				n, e.em.Requests()[listRoute], faults)
		}
	})

	t.Run("CreateWhoseAnswerIsLost", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		c := e.client(tokAdmin)
		route := "POST /api/v1/repository/{repo}/mirror"
		must(t, e.em.Inject(quaytest.Fault{Kind: quaytest.FaultResetAfter, Route: route}))
		cfg := quaymirror.MirrorConfig{Enabled: true, ExternalReference: "quay.example.com/src/app", SyncInterval: time.Hour,
			SyncStartDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), TagGlobs: []string{"*"}, Robot: "acme+mirror", VerifyTLS: true}
		if err := c.CreateMirror(t.Context(), "acme", "app", cfg); err != nil {
			t.Errorf("CreateMirror whose first answer was lost: %v", err)
		}
		if _, ok := e.reg.Mirror("acme", "app"); !ok {
			t.Error("no mirror stored")
		}
		if n := e.em.Requests()[route]; n != 2 {
			t.Errorf("%d POSTs, want 2 (the lost one and the retry that met 409)", n)
		}
	})

	t.Run("BadBodies", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		c := e.client(tokAdmin, quay.WithRetry(0, time.Millisecond, time.Millisecond), quay.WithMaxBodySize(1<<20))
		for _, kind := range []quaytest.FaultKind{quaytest.FaultInvalidJSON, quaytest.FaultEmptyBody, quaytest.FaultOversize} {
			must(t, e.em.Inject(quaytest.Fault{Kind: kind, Route: "GET /api/v1/repository/{repo}", Size: 2 << 20}))
			if _, err := c.GetRepository(t.Context(), "acme", "app"); !errors.Is(err, quaymirror.ErrBadResponse) {
				t.Errorf("%s: %v, want ErrBadResponse", kind, err)
			}
		}
	})
}
