package quaytest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

type seenOp struct {
	op              fake.Op
	namespace, name string
}

// Every request that reaches the registry is one of its operations, and
// the hooks see the repository it is about: POST /api/v1/repository names
// its repository in the body, not the path. A request refused before (a
// missing permission) reaches nothing.
func TestRequestsAreRegistryOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	var mu sync.Mutex
	var seen []seenOp
	e.reg.SetHook(func(_ context.Context, op fake.Op, namespace, name string) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, seenOp{op, namespace, name})
		return nil
	})
	c, err := quay.New(e.srv.URL, quay.WithToken(tokAdmin))
	must(t, err)
	ctx := t.Context()
	must(t, c.CreateRepository(ctx, quaymirror.Repository{Namespace: "acme", Name: "team/new", Visibility: quaymirror.Private}))
	must(t, c.ChangeState(ctx, "acme", "team/new", quaymirror.StateReadOnly))
	if err := c.SyncNow(ctx, "acme", "team/new"); !errors.Is(err, quaymirror.ErrNotFound) {
		t.Errorf("SyncNow without a mirror configuration: %v, want ErrNotFound", err)
	}
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	for _, want := range []seenOp{
		{fake.OpCreateRepository, "acme", "team/new"},
		{fake.OpChangeState, "acme", "team/new"},
		{fake.OpSyncNow, "acme", "team/new"}, // the registry refuses it
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the hook did not see %+v: %+v", want, got)
		}
	}

	// bob is a member of acme without the creator role.
	e.reg.ResetCalls()
	e.do(req{method: http.MethodPost, path: "/api/v1/repository", token: tokMember,
		body: map[string]any{"namespace": "acme", "repository": "nope", "visibility": "private", "description": ""}}).expectStatus(t, http.StatusForbidden)
	if calls := e.reg.Calls(); len(calls) != 0 {
		t.Errorf("a refused create reached the registry: %v", calls)
	}
	if _, ok := e.reg.Repository("acme", "team/new"); !ok {
		t.Error("the repository is not in the registry")
	}
	if role := e.reg.Permission("acme", "team/new", "admin"); role != quaymirror.RoleAdmin {
		t.Errorf("the creator has %q on what it created, want admin", role)
	}
}

func (r resp) expectStatus(t *testing.T, code int) {
	t.Helper()
	status(code)(t, r)
}
