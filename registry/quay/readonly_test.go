package quay

import (
	"context"
	"errors"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
)

const readOnlyMessage = "System is currently read-only. Pulls will succeed but all write operations are currently suspended."

// Quay's read-only mode answers every write 503 {"message", "is_readonly":
// true}. It does not clear by retrying (each write spent some 25 s in
// retries): the answer is returned at once, as ErrReadOnly (which is also
// ErrUnavailable). Any other 503 is still retried.
func TestReadOnlyIsNotRetried(t *testing.T) {
	env := newGock(t) // 3 retries
	serveDiscovery("3.15")
	on("PUT", mirrorPath, "").Reply(503).JSON(map[string]any{"message": readOnlyMessage, "is_readonly": true})
	err := env.c.UpdateMirror(context.Background(), "acme", "team/app", baseConfig(), []quaymirror.Field{quaymirror.FieldEnabled})
	if !errors.Is(err, quaymirror.ErrReadOnly) || !errors.Is(err, quaymirror.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrReadOnly", err)
	}
	var qe *Error
	if !errors.As(err, &qe) || qe.Status != 503 || qe.Message != readOnlyMessage || qe.Attempts != 1 {
		t.Errorf("error = %#v", qe)
	}
	if w := env.waits(); len(w) != 0 {
		t.Errorf("waited %v before giving up on read-only mode", w)
	}

	// A 503 without the flag (nginx in front of a restarting Quay) is
	// retried, and not read as read-only mode.
	env = newGock(t)
	for _, body := range []string{`{"message": "busy", "is_readonly": false}`, `<html>503 Service Temporarily Unavailable</html>`} {
		on("GET", "/api/v1/user/", "").Reply(503).BodyString(body)
	}
	on("GET", "/api/v1/user/", "").Reply(200).JSON(map[string]any{"username": "admin"})
	if _, err := env.c.CurrentUser(context.Background()); err != nil {
		t.Fatalf("CurrentUser after two plain 503s: %v", err)
	}
	if n := len(env.requests()); n != 3 {
		t.Errorf("sent %d requests, want 3", n)
	}
}
