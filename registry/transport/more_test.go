package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

func TestLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body    string
		max     int64
		wantErr bool
	}{
		{"12345", 5, false},
		{"123456", 5, true},
		{"", 0, false},
		{"x", 0, true},
	} {
		rt := &Limit{Max: tc.max, Next: roundTripFunc(func(r *http.Request) (*http.Response, error) { return answer(r, 200, tc.body), nil })}
		req, _ := http.NewRequest("GET", "https://registry.test/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		switch {
		case tc.wantErr && !errors.Is(err, ErrTooLarge):
			t.Errorf("%q capped at %d: %v, want ErrTooLarge", tc.body, tc.max, err)
		case !tc.wantErr && (err != nil || string(got) != tc.body):
			t.Errorf("%q capped at %d: %q, %v", tc.body, tc.max, got, err)
		case int64(len(got)) > tc.max:
			t.Errorf("%q capped at %d: read %d bytes", tc.body, tc.max, len(got))
		}
	}
}

func TestBasicAndBearer(t *testing.T) {
	t.Parallel()
	if got := Basic("robot$ci", "s3cret").Reveal(); got != "Basic cm9ib3QkY2k6czNjcmV0" {
		t.Errorf("Basic = %q", got)
	}
	if got := Bearer("tok").Reveal(); got != "Bearer tok" || Bearer("") != "" {
		t.Errorf("Bearer = %q", got)
	}
	if s := Basic("u", "p").String(); s != "[redacted]" {
		t.Errorf("a credential prints as %q", s)
	}
	origin, _ := url.Parse("https://harbor.test")
	var got string
	rt := &Credentials{Origin: origin, Authorization: Basic("robot$ci", "s3cret"), Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Get("Authorization")
		return answer(r, 200, ""), nil
	})}
	req, _ := http.NewRequest("GET", "https://harbor.test/api/v2.0/projects", nil)
	if _, err := rt.RoundTrip(req); err != nil || got != "Basic cm9ib3QkY2k6czNjcmV0" {
		t.Errorf("Authorization = %q, %v", got, err)
	}
}

func TestDefaultUserAgent(t *testing.T) {
	t.Parallel()
	ua := DefaultUserAgent("")
	if !strings.HasPrefix(ua, "quaymirror/"+quaymirror.Version()+" ") {
		t.Errorf("DefaultUserAgent = %q", ua)
	}
	if got := DefaultUserAgent("op/1.2"); got != "op/1.2 "+ua {
		t.Errorf("with a product token: %q", got)
	}
}

// Permanent answers are returned at once; a Sleep from the context takes
// precedence over the Retry's; every attempt reaches the base transport.
func TestRetryPermanentAndContextSleep(t *testing.T) {
	t.Parallel()
	calls := 0
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if strings.Contains(r.URL.Path, "readonly") {
			return answer(r, 503, `{"is_readonly": true}`), nil
		}
		return answer(r, 503, ""), nil
	})
	var own, fromCtx []time.Duration
	rt := &Retry{Next: base, MaxRetries: 2, Base: time.Second, Max: time.Minute,
		Permanent: func(resp *http.Response) bool { return strings.Contains(resp.Request.URL.Path, "readonly") },
		Sleep:     func(ctx context.Context, d time.Duration) error { own = append(own, d); return nil },
		Jitter:    func(d time.Duration) time.Duration { return d }}
	req, _ := http.NewRequest("PUT", "https://registry.test/readonly", nil)
	if resp, err := rt.RoundTrip(req); err != nil || resp.StatusCode != 503 || calls != 1 {
		t.Errorf("a permanent answer: %v after %d calls, want one 503", err, calls)
	}
	calls = 0
	ctx := ContextWithSleep(context.Background(), func(ctx context.Context, d time.Duration) error { fromCtx = append(fromCtx, d); return nil })
	req, _ = http.NewRequestWithContext(ctx, "GET", "https://registry.test/busy", nil)
	if resp, err := rt.RoundTrip(req); err != nil || resp.StatusCode != 503 || calls != 3 {
		t.Errorf("retries: %v after %d calls, want 3 attempts and the last 503", err, calls)
	}
	if len(own) != 0 || len(fromCtx) != 2 || fromCtx[0] != time.Second || fromCtx[1] != 2*time.Second {
		t.Errorf("waits: own %v, from the context %v", own, fromCtx)
	}
	if ContextWithSleep(ctx, nil) != ctx {
		t.Error("a nil sleep changed the context")
	}
}

// The reasons Retry logs are redacted of the static secrets and of the
// request's own.
func TestRetryRedactsItsLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	n := 0
	rt := &Retry{MaxRetries: 1, Base: time.Millisecond, Max: time.Millisecond, Name: "registry", Redact: []string{testToken},
		Logger: hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug}),
		Sleep:  func(context.Context, time.Duration) error { return nil },
		Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if n++; n == 1 {
				return nil, errors.New("connection reset by peer: echo " + testToken + " " + testPassword)
			}
			return answer(r, 200, ""), nil
		})}
	rec := &Record{Secrets: []string{testPassword}}
	req, _ := http.NewRequestWithContext(WithRecord(context.Background(), rec), "GET", "https://registry.test/", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "registry request will be retried") || strings.Contains(out, testToken) || strings.Contains(out, testPassword) {
		t.Errorf("log:\n%s", out)
	}
	if rec.Attempts != 2 || !rec.Ambiguous {
		t.Errorf("record %+v, want 2 attempts, ambiguous (a reset)", rec)
	}
}

func TestNewBase(t *testing.T) {
	t.Parallel()
	if _, err := NewBase(BaseOptions{InsecureSkipVerify: true, CABundle: []byte("x")}); err == nil {
		t.Error("InsecureSkipVerify with a CA bundle accepted")
	}
	if _, err := NewBase(BaseOptions{CABundle: []byte("not a certificate")}); err == nil {
		t.Error("a CA bundle without a certificate accepted")
	}
	b, err := NewBase(BaseOptions{})
	if err != nil || b.TLSClientConfig.InsecureSkipVerify || b.MaxIdleConnsPerHost != maxIdleConns || b.Proxy == nil {
		t.Errorf("NewBase = %+v, %v", b, err)
	}
}
