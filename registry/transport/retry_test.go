package transport

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(req *http.Request, status int, body string, header ...string) *http.Response {
	h := make(http.Header)
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h,
		Body: io.NopCloser(strings.NewReader(body)), Request: req}
}

func x509UnknownAuthority() error { return x509.UnknownAuthorityError{} }

// The retry transport on its own, over stub transports (parallel).

func newTestRetry(next http.RoundTripper) (*Retry, *[]time.Duration) {
	var waits []time.Duration
	rt := &Retry{Next: next, MaxRetries: 3, Base: 100 * time.Millisecond, Max: time.Second, Timeout: 30 * time.Second,
		Sleep:  func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() },
		Jitter: func(d time.Duration) time.Duration { return d }}
	return rt, &waits
}

func TestRetryTransportRecordsAttempts(t *testing.T) {
	t.Parallel()
	calls := 0
	rt, waits := newTestRetry(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if n := attemptFrom(r.Context()); n != calls {
			t.Errorf("attempt number in context = %d on call %d", n, calls)
		}
		switch calls {
		case 1:
			return nil, syscall.ECONNREFUSED
		case 2:
			return answer(r, 503, ""), nil
		case 3:
			return answer(r, 502, ""), nil
		}
		return answer(r, 200, "{}"), nil
	}))
	rec := &Record{}
	req, _ := http.NewRequestWithContext(WithRecord(context.Background(), rec), "GET", "https://registry.test/api/v1/user/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rec.Attempts != 4 || !rec.Ambiguous || calls != 4 {
		t.Errorf("record = %+v after %d calls; want 4 attempts, ambiguous (the 502)", rec, calls)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}; !slices.Equal(*waits, want) {
		t.Errorf("waits = %v, want %v", *waits, want)
	}
}

func TestRetryTransportNotAmbiguousBeforeConnecting(t *testing.T) {
	t.Parallel()
	calls := 0
	rt, _ := newTestRetry(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if calls < 3 {
			return nil, syscall.ECONNREFUSED
		}
		return answer(r, 409, ""), nil
	}))
	rec := &Record{}
	req, _ := http.NewRequestWithContext(WithRecord(context.Background(), rec), "POST", "https://registry.test/x", strings.NewReader("{}"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rec.Ambiguous || rec.Attempts != 3 {
		t.Errorf("record = %+v", rec)
	}
}

func TestRetryTransportReplaysBodies(t *testing.T) {
	t.Parallel()
	var bodies []string
	rt, _ := newTestRetry(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		bodies = append(bodies, string(b))
		if len(bodies) < 3 {
			return nil, syscall.ECONNRESET
		}
		return answer(r, 201, `""`), nil
	}))
	req, _ := http.NewRequest("PUT", "https://registry.test/x", bytes.NewReader([]byte(`{"a":1}`)))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !slices.Equal(bodies, []string{`{"a":1}`, `{"a":1}`, `{"a":1}`}) {
		t.Errorf("bodies = %q", bodies)
	}
}

func TestRetryTransportDoesNotRetryAnUnreplayableBody(t *testing.T) {
	t.Parallel()
	calls := 0
	rt, _ := newTestRetry(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return answer(r, 503, ""), nil
	}))
	req, _ := http.NewRequest("POST", "https://registry.test/x", io.NopCloser(strings.NewReader("{}")))
	req.GetBody = nil
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls != 1 || resp.StatusCode != 503 {
		t.Errorf("calls = %d, status %d", calls, resp.StatusCode)
	}
}

func TestRetryTransportNoRetryOnCertificateErrors(t *testing.T) {
	t.Parallel()
	calls := 0
	rt, _ := newTestRetry(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return nil, errors.Join(errors.New("tls: failed to verify certificate"), x509UnknownAuthority())
	}))
	req, _ := http.NewRequest("GET", "https://registry.test/x", nil)
	if _, err := rt.RoundTrip(req); err == nil || calls != 1 {
		t.Errorf("err = %v after %d calls; want one failed attempt", err, calls)
	}
}

// An attempt that runs out of its own time is retried; the body of the
// answer finally returned is readable after RoundTrip returns.
func TestRetryTransportAttemptTimeout(t *testing.T) {
	t.Parallel()
	calls := 0
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if calls == 1 {
			<-r.Context().Done() // a server that never answers
			return nil, r.Context().Err()
		}
		return answer(r, 200, `{"ok":true}`), nil
	})
	rt := &Retry{Next: next, Timeout: 20 * time.Millisecond, MaxRetries: 2, Base: time.Millisecond, Max: time.Second,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	rec := &Record{}
	req, _ := http.NewRequestWithContext(WithRecord(context.Background(), rec), "GET", "https://registry.test/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != `{"ok":true}` {
		t.Errorf("body = %q, %v", b, err)
	}
	if calls != 2 || !rec.Ambiguous {
		t.Errorf("calls = %d, record %+v", calls, rec)
	}
}

// Cancelling the context ends a backoff wait at once, with the real
// sleeper and a wait of an hour.
func TestRetryTransportCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		cancel() // the caller gives up while the transport waits
		return answer(r, 503, ""), nil
	})
	rt := &Retry{Next: next, MaxRetries: 8, Base: time.Hour, Max: time.Hour, Jitter: func(d time.Duration) time.Duration { return d }}
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://registry.test/x", nil)
	done := make(chan error, 1)
	go func() {
		_, err := rt.RoundTrip(req)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("err = %v after %d calls; want context.Canceled after 1", err, calls)
		}
	case <-time.After(time.Minute):
		t.Fatal("the wait did not end with the context")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{"99999999999999", maxRetryAfter, true},
		{"-1", 0, false},
		{"", 0, false},
		{"1.5", 0, false},
		{"Thu, 01 Jan 2026 10:00:05 GMT", 5 * time.Second, true},
		{"Thursday, 01-Jan-26 10:00:05 GMT", 5 * time.Second, true},
		{"Thu Jan  1 10:00:05 2026", 5 * time.Second, true},
		{"Thu, 01 Jan 2026 09:00:00 GMT", 0, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFullJitterStaysInRange(t *testing.T) {
	t.Parallel()
	for range 1000 {
		if d := fullJitter(time.Second); d < 0 || d > time.Second {
			t.Fatalf("fullJitter = %v", d)
		}
	}
	if d := fullJitter(0); d != 0 {
		t.Errorf("fullJitter(0) = %v", d)
	}
}

func TestCeilingNeverOverflows(t *testing.T) {
	t.Parallel()
	rt := &Retry{Base: time.Nanosecond, Max: time.Duration(1<<63 - 1)}
	for retry := range 100 {
		if d := rt.ceiling(retry); d <= 0 {
			t.Fatalf("ceiling(%d) = %v", retry, d)
		}
	}
	rt = &Retry{Base: 250 * time.Millisecond, Max: 15 * time.Second}
	for retry, want := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second} {
		if d := rt.ceiling(retry); d != want {
			t.Errorf("ceiling(%d) = %v, want %v", retry, d, want)
		}
	}
}
