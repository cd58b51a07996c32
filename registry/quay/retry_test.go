package quay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Retry behaviour through the whole client, over gock (not parallel). The
// waits are those passed to the injected sleeper, with an identity jitter:
// no test looks at a clock.

const nginx429 = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func userOK() {
	on("GET", "/api/v1/user/", "").Reply(200).JSON(map[string]any{"username": "bot"})
}

func TestRetryTransientStatusThenSuccess(t *testing.T) {
	for _, status := range []int{503, 502, 504, 429} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			env := newGock(t)
			on("GET", "/api/v1/user/", "").Reply(status).BodyString("busy")
			userOK()
			if _, err := env.c.CurrentUser(context.Background()); err != nil {
				t.Fatal(err)
			}
			reqs := env.requests()
			if len(reqs) != 2 {
				t.Fatalf("attempts: %s", describe(reqs))
			}
			for _, r := range reqs {
				check(t, r, "GET", "/api/v1/user/", "", "")
			}
			if w := env.waits(); !slices.Equal(w, []time.Duration{250 * time.Millisecond}) {
				t.Errorf("waits = %v", w)
			}
		})
	}
}

func TestRetryBackoffDoublesUpToTheCap(t *testing.T) {
	env := newGock(t, WithRetry(5, time.Second, 3*time.Second))
	for range 5 {
		on("GET", "/api/v1/user/", "").Reply(503)
	}
	userOK()
	if _, err := env.c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	if w := env.waits(); !slices.Equal(w, want) {
		t.Errorf("waits = %v, want %v", w, want)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http date", now.Add(12 * time.Second).Format(http.TimeFormat), 12 * time.Second},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"capped", "3600", 15 * time.Second},
		{"garbage falls back to backoff", "soon", 250 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t)
			env.c.retry.Now = func() time.Time { return now }
			on("GET", "/api/v1/user/", "").Reply(429).SetHeader("Retry-After", tc.header).Type("html").BodyString(nginx429)
			userOK()
			if _, err := env.c.CurrentUser(context.Background()); err != nil {
				t.Fatal(err)
			}
			if w := env.waits(); !slices.Equal(w, []time.Duration{tc.want}) {
				t.Errorf("waits = %v, want [%v]", w, tc.want)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reply   func()
		want    error
		status  int
		message string
	}{
		{"nginx 429", func() { on("GET", "/api/v1/user/", "").Reply(429).Type("html").BodyString(nginx429) }, quaymirror.ErrRateLimited, 429, "HTML error page"},
		{"connection reset", func() { on("GET", "/api/v1/user/", "").ReplyError(syscall.ECONNRESET) }, quaymirror.ErrUnavailable, 0, "connection reset by peer"},
		{"connection refused", func() { on("GET", "/api/v1/user/", "").ReplyError(syscall.ECONNREFUSED) }, quaymirror.ErrUnavailable, 0, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newGock(t) // 3 retries
			for range 4 {
				tc.reply()
			}
			_, err := env.c.CurrentUser(context.Background())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var qe *Error
			if !errors.As(err, &qe) || qe.Status != tc.status || qe.Message != tc.message || qe.Attempts != 4 {
				t.Errorf("error = %#v", qe)
			}
			if !strings.Contains(err.Error(), "(after 4 attempts)") {
				t.Errorf("err = %q does not tell the attempts", err)
			}
			if n := len(env.requests()); n != 4 {
				t.Errorf("sent %d requests, want 4", n)
			}
			if w := env.waits(); len(w) != 3 {
				t.Errorf("waits = %v, want 3", w)
			}
		})
	}
}

func TestNoRetry(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{400, `{"detail":"Bad","status":400}`, quaymirror.ErrInvalid},
		{401, `{"detail":"Requires authentication","status":401}`, quaymirror.ErrUnauthorized},
		{403, `{"detail":"Unauthorized","status":403}`, quaymirror.ErrForbidden},
		{404, `{"detail":"Not Found","status":404}`, quaymirror.ErrNotFound},
		{409, `{"detail":"conflict"}`, quaymirror.ErrAlreadyExists},
		{500, "<html><body><h1>Internal Server Error</h1></body></html>", quaymirror.ErrUnavailable},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			env := newGock(t)
			on("GET", "/api/v1/user/", "").Reply(tc.status).BodyString(tc.body)
			_, err := env.c.CurrentUser(context.Background())
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if n := len(env.requests()); n != 1 {
				t.Errorf("sent %d requests, want 1", n)
			}
			if w := env.waits(); len(w) != 0 {
				t.Errorf("waits = %v", w)
			}
		})
	}
}

func TestRetriedPOSTReplaysItsBody(t *testing.T) {
	env := newGock(t)
	on("POST", "/api/v1/repository", "").ReplyError(io.ErrUnexpectedEOF)
	on("POST", "/api/v1/repository", "").Reply(201).JSON(map[string]any{"namespace": "acme", "name": "app"})
	if err := env.c.CreateRepository(context.Background(), quaymirror.Repository{Namespace: "acme", Name: "app", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	reqs := env.requests()
	if len(reqs) != 2 {
		t.Fatalf("attempts: %s", describe(reqs))
	}
	want := `{"namespace":"acme","repository":"app","visibility":"private","description":"d","repo_kind":"image"}`
	for _, r := range reqs {
		check(t, r, "POST", "/api/v1/repository", "", want)
	}
}

// A create that failed in flight and then finds the object existing is
// read back: when the object is what was sent, the earlier attempt was
// ours and the create succeeded.
func TestRetriedCreateConflictIsVerified(t *testing.T) {
	ctx := context.Background()
	mirrorAnswer := func(ref, robot string) map[string]any {
		return map[string]any{"is_enabled": true, "external_reference": ref, "robot_username": robot,
			"external_registry_config": map[string]any{}, "sync_interval": 86400, "sync_status": "NEVER_RUN",
			"root_rule": map[string]any{"rule_kind": "tag_glob_csv", "rule_value": []any{"v*"}}}
	}
	t.Run("mirror: ours", func(t *testing.T) {
		env := newGock(t)
		serveDiscovery("3.6")
		on("POST", mirrorPath, "").ReplyError(syscall.ECONNRESET)
		on("POST", mirrorPath, "").Reply(409).JSON(map[string]any{"detail": "Mirror configuration already exits for repository acme/team/app"})
		on("GET", mirrorPath, "").Reply(200).JSON(mirrorAnswer("src.example.com/acme/team/app", "acme+mirror"))
		if err := env.c.CreateMirror(ctx, "acme", "team/app", baseConfig()); err != nil {
			t.Fatalf("err = %v, want the verified success", err)
		}
	})
	t.Run("mirror: someone else's", func(t *testing.T) {
		env := newGock(t)
		serveDiscovery("3.6")
		on("POST", mirrorPath, "").Reply(504)
		on("POST", mirrorPath, "").Reply(409).JSON(map[string]any{"detail": "Mirror configuration already exits for repository acme/team/app"})
		on("GET", mirrorPath, "").Reply(200).JSON(mirrorAnswer("elsewhere.example.com/x/y", "acme+mirror"))
		if err := env.c.CreateMirror(ctx, "acme", "team/app", baseConfig()); !errors.Is(err, quaymirror.ErrAlreadyExists) {
			t.Fatalf("err = %v, want ErrAlreadyExists", err)
		}
	})
	t.Run("mirror: refused connection never reached the server", func(t *testing.T) {
		env := newGock(t)
		serveDiscovery("3.6")
		on("POST", mirrorPath, "").ReplyError(syscall.ECONNREFUSED)
		on("POST", mirrorPath, "").Reply(409).JSON(map[string]any{"detail": "Mirror configuration already exits for repository acme/team/app"})
		if err := env.c.CreateMirror(ctx, "acme", "team/app", baseConfig()); !errors.Is(err, quaymirror.ErrAlreadyExists) {
			t.Fatalf("err = %v, want ErrAlreadyExists", err)
		}
		// No read-back: the GET mock would be pending otherwise.
	})
	t.Run("repository", func(t *testing.T) {
		env := newGock(t)
		on("POST", "/api/v1/repository", "").Reply(502)
		on("POST", "/api/v1/repository", "").Reply(400).JSON(map[string]any{"detail": "Repository already exists", "status": 400})
		on("GET", "/api/v1/repository/acme/app", "includeTags=true").Reply(200).JSON(map[string]any{"namespace": "acme", "name": "app", "tags": map[string]any{}})
		if err := env.c.CreateRepository(ctx, quaymirror.Repository{Namespace: "acme", Name: "app"}); err != nil {
			t.Fatalf("err = %v, want the verified success", err)
		}
	})
	t.Run("robot", func(t *testing.T) {
		env := newGock(t)
		on("PUT", "/api/v1/organization/acme/robots/mirror", "").ReplyError(io.EOF)
		on("PUT", "/api/v1/organization/acme/robots/mirror", "").Reply(400).JSON(map[string]any{"detail": "Existing robot with name: acme+mirror"})
		on("GET", "/api/v1/organization/acme/robots/mirror", "").Reply(200).JSON(map[string]any{"name": "acme+mirror", "description": "d"})
		r, err := env.c.CreateRobot(ctx, "acme", "mirror", "d")
		if err != nil || r.Name != "acme+mirror" {
			t.Fatalf("= %+v, %v; want the verified robot", r, err)
		}
	})
}

func TestClientCancelDuringBackoff(t *testing.T) {
	env := newGock(t)
	ctx, cancel := context.WithCancel(context.Background())
	env.c.retry.Sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	on("GET", "/api/v1/user/", "").Reply(503)
	_, err := env.c.CurrentUser(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, quaymirror.ErrUnavailable) {
		t.Errorf("err = %v, want context.Canceled only", err)
	}
}

func TestRetryLogsNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Trace})
	env := newGock(t, WithLogger(logger))
	serveDiscovery("3.6")
	on("POST", mirrorPath, "").Reply(503)
	on("POST", mirrorPath, "").Reply(400).JSON(map[string]any{
		"detail": "'" + testPassword + "' is not valid under any of the given schemas; token " + testToken,
	})
	err := env.c.CreateMirror(context.Background(), "acme", "team/app", baseConfig())
	if !errors.Is(err, quaymirror.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	out := buf.String()
	for _, want := range []string{"quay request", "method=POST", "url=https://quay.test" + mirrorPath, "status=503", "attempt=2", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{testToken, testPassword} {
		if strings.Contains(out, secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("secret %q leaked:\nlog: %s\nerr: %v", secret, out, err)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("err = %v, want the echoed secrets redacted", err)
	}
}

// A server that drops the connection without answering, then recovers:
// the error net/http reports for it must be classified as retryable.
func TestRetryWhenTheServerDropsTheConnection(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		n := hits
		mu.Unlock()
		if n == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		userHandler(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	c.retry.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	if _, err := c.do(context.Background(), request{method: "POST", path: "/user/", body: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 2 {
		t.Errorf("server hits = %d, want 2", hits)
	}
}

// busyThen answers status (with Retry-After: 7) to the first n requests,
// then 200 with a user, over loopback HTTP. It counts the requests.
func busyThen(t *testing.T, n int64, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= n {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"username":"bot"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// waitLog records the waits a RetrySleep was asked for, without waiting.
type waitLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (l *waitLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits = append(l.waits, d)
	return ctx.Err()
}

func (l *waitLog) got() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.waits)
}

// WithRetrySleep is asked for every wait between attempts (here the
// server's Retry-After of 7 s, twice) and none is spent on a clock: the
// test would take 14 s otherwise, and its budget is a tenth of that.
func TestWithRetrySleepIsAskedForEveryWait(t *testing.T) {
	t.Parallel()
	srv, calls := busyThen(t, 2, http.StatusServiceUnavailable)
	var log waitLog
	c, err := New(srv.URL, WithToken(testToken), WithRetrySleep(log.sleep))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1400*time.Millisecond) // no real wait fits
	defer cancel()
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatal(err)
	}
	if w := log.got(); calls.Load() != 3 || !slices.Equal(w, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("%d requests, waits %v; want 3 requests and two waits of 7s", calls.Load(), w)
	}
}

// An error from the sleep ends the request with that error, without
// another attempt.
func TestRetrySleepErrorEndsTheRequest(t *testing.T) {
	t.Parallel()
	srv, calls := busyThen(t, 5, http.StatusBadGateway)
	stop := errors.New("stop waiting")
	c, err := New(srv.URL, WithToken(testToken),
		WithRetrySleep(func(context.Context, time.Duration) error { return stop }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(context.Background())
	if !errors.Is(err, stop) || calls.Load() != 1 {
		t.Errorf("err = %v after %d requests; want the sleep's error after 1", err, calls.Load())
	}
}

// A ContextWithRetrySleep reaches a Client built elsewhere and takes
// precedence over its WithRetrySleep; without it the Client's own is used.
func TestContextWithRetrySleepTakesPrecedence(t *testing.T) {
	t.Parallel()
	srv, _ := busyThen(t, 1, http.StatusTooManyRequests)
	var own, fromCtx waitLog
	c, err := New(srv.URL, WithToken(testToken), WithRetrySleep(own.sleep))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(ContextWithRetrySleep(context.Background(), fromCtx.sleep)); err != nil {
		t.Fatal(err)
	}
	if len(own.got()) != 0 || !slices.Equal(fromCtx.got(), []time.Duration{7 * time.Second}) {
		t.Errorf("client's sleep %v, context's %v; want the context's to get the one wait", own.got(), fromCtx.got())
	}
	if ctx := context.Background(); ContextWithRetrySleep(ctx, nil) != ctx {
		t.Error("a nil sleep changed the context")
	}
	srv2, _ := busyThen(t, 1, http.StatusServiceUnavailable)
	c2, err := New(srv2.URL, WithToken(testToken), WithRetrySleep(own.sleep))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(own.got(), []time.Duration{7 * time.Second}) {
		t.Errorf("client's sleep %v without a context one; want one wait of 7s", own.got())
	}
}
