package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Retry retries an exchange that failed in a way worth retrying: a
// connection failure (refused, reset, EOF, the attempt's own timeout) or
// a 429, 502, 503 or 504 answer, unless Permanent says the answer does
// not clear by retrying. It waits a full-jitter exponential backoff
// between attempts, or what Retry-After asks for, both capped at Max. Any
// other answer (400, 401, 403, 404, 409, 500...) is returned at once. When
// the retries run out, the last answer (or error) is returned as is.
//
// Each attempt runs under its own Timeout, which also covers reading the
// body of the answer returned. A request whose body cannot be replayed
// (no GetBody) is sent once. A cancelled context stops a wait at once.
// When the request's context carries a Record, Retry notes there how many
// attempts were made and whether one that was retried may have reached
// the server.
type Retry struct {
	Next       http.RoundTripper
	MaxRetries int
	// Base is the backoff before the first retry (before jitter); it
	// doubles with each retry, up to Max, which caps Retry-After too.
	Base, Max time.Duration
	// Timeout bounds each attempt (0: none).
	Timeout time.Duration
	// Permanent reports an answer that looks retryable but does not clear
	// by retrying (nil: none).
	Permanent func(*http.Response) bool
	// Logger gets a Debug line per retry, as "<Name> request will be
	// retried", with Redact and the request's secrets redacted.
	Logger hclog.Logger
	Name   string
	Redact []string
	// Sleep waits between attempts (nil: a timer the request's context
	// can stop); a Sleep from the request's context (ContextWithSleep)
	// takes precedence.
	Sleep Sleep
	// Jitter draws the wait below a ceiling (nil: uniformly in [0,
	// ceiling], full jitter); Now is the clock Retry-After dates are read
	// against (nil: time.Now). Tests set them.
	Jitter func(ceiling time.Duration) time.Duration
	Now    func() time.Time
}

// Sleep waits d before the next attempt of a request, or until ctx ends.
// It returns nil to go on with the next attempt, or an error (ctx's, when
// ctx ended first) that ends the request with that error. d is the wait
// the retry policy chose: a backoff (with its jitter) or what the server's
// Retry-After asked for, capped.
type Sleep func(ctx context.Context, d time.Duration) error

type sleepKey struct{}

// ContextWithSleep returns a copy of ctx under which every request of
// every Retry waits between its attempts with sleep instead of its own
// way. It reaches clients built out of the caller's hands, such as those
// a command-line run builds from its configuration: a test can run the
// whole program through retries and give-ups without waiting on real
// time. A nil sleep returns ctx unchanged.
func ContextWithSleep(ctx context.Context, sleep Sleep) context.Context {
	if sleep == nil {
		return ctx
	}
	return context.WithValue(ctx, sleepKey{}, sleep)
}

// RoundTrip implements http.RoundTripper.
func (t *Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	rec := recordFrom(parent)
	jitter, now := t.Jitter, t.Now
	if jitter == nil {
		jitter = fullJitter
	}
	if now == nil {
		now = time.Now
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		ctx := withAttempt(parent, attempt+1)
		cancel := context.CancelFunc(func() {})
		if t.Timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		}
		r := req.Clone(ctx)
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return nil, err
			}
			r.Body = body
		}
		if rec != nil {
			rec.Attempts = attempt + 1
		}
		resp, err := t.Next.RoundTrip(r)
		last := !replayable || attempt >= t.MaxRetries

		var (
			reason    string
			ambiguous bool
			wait      = time.Duration(-1)
		)
		if err != nil {
			cancel()
			if parent.Err() != nil {
				return nil, err
			}
			retry, amb := classifyError(err, ctx)
			if !retry || last {
				return nil, err
			}
			reason, ambiguous = redact(parent, t.Redact, err.Error()), amb
		} else {
			if !retryableStatus(resp.StatusCode) || last || t.Permanent != nil && t.Permanent(resp) {
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
				return resp, nil
			}
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
				wait = d
			}
			drain(resp.Body)
			cancel()
			reason = redact(parent, t.Redact, resp.Status) // the reason phrase is the server's text
			ambiguous = resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout
		}
		if rec != nil && ambiguous {
			rec.Ambiguous = true
		}
		d := jitter(t.ceiling(attempt))
		if wait >= 0 {
			d = min(wait, t.Max)
		}
		if t.Logger != nil {
			t.Logger.Debug(t.Name+" request will be retried", "method", req.Method, "url", CleanURL(req.URL),
				"attempt", attempt+1, "reason", reason, "wait", d)
		}
		sleep := t.Sleep
		if s, ok := parent.Value(sleepKey{}).(Sleep); ok {
			sleep = s
		}
		if sleep == nil {
			sleep = sleepContext
		}
		if err := sleep(parent, d); err != nil {
			return nil, err
		}
	}
}

// ceiling is min(max, base·2^retry).
func (t *Retry) ceiling(retry int) time.Duration {
	d := t.Base
	for i := 0; i < retry && d < t.Max; i++ {
		if d > t.Max/2 {
			return t.Max // doubling would pass the cap (or overflow)
		}
		d *= 2
	}
	return min(d, t.Max)
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// classifyError tells whether a transport error is worth retrying and
// whether the failed attempt may have reached the server. attemptCtx is
// the attempt's own context, whose deadline is the attempt timeout.
func classifyError(err error, attemptCtx context.Context) (retry, ambiguous bool) {
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recHdErr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &hostErr),
		errors.As(err, &invalid), errors.As(err, &recHdErr):
		// A certificate or protocol mismatch does not heal by itself.
		return false, false
	case errors.Is(attemptCtx.Err(), context.DeadlineExceeded):
		// The attempt's own timeout: the request may have been served.
		return true, true
	case errors.As(err, &dnsErr):
		return dnsErr.IsTemporary || dnsErr.IsTimeout, false
	case errors.Is(err, syscall.ECONNREFUSED):
		return true, false
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true, false
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true, true
	}
	// net/http reports a connection the server closed before answering
	// with a bare message.
	if strings.Contains(err.Error(), "server closed") || strings.Contains(err.Error(), "connection reset") ||
		strings.Contains(err.Error(), "broken pipe") {
		return true, true
	}
	return false, false
}

// maxRetryAfter bounds the Retry-After values parsed, so that a huge number
// cannot overflow a time.Duration (the wait is capped much lower anyway).
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date. A date in the past is a zero wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// fullJitter returns a uniformly random duration in [0, ceiling].
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// sleepContext waits d or until ctx ends, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// drain reads a little of a discarded body, so that the connection can be
// reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// cancelBody releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
