package quay

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

	"github.com/quaymirror/quaymirror/quaymirror"
)

// retryTransport retries an exchange that failed in a way worth retrying:
// a connection failure (refused, reset, EOF, the attempt's own timeout) or
// a 429, 502, 503 or 504 answer, except Quay's read-only refusal (a 503
// with "is_readonly": true), which retrying does not clear. It waits a full-jitter exponential backoff
// between attempts, or what Retry-After asks for, both capped at max. Any
// other answer (400, 401, 403, 404, 409, 500...) is returned at once. When
// the retries run out, the last answer (or error) is returned as is.
//
// Each attempt runs under its own timeout, which also covers reading the
// body of the answer returned. A request whose body cannot be replayed
// (no GetBody) is sent once. A cancelled context stops a wait at once.
//
// When the request context carries an attempt record (withRecord), the
// transport notes there how many attempts were made and whether one that
// was retried may have reached the server (a failure after the connection
// was made, or a 502 or 504): a create that then answers "already exists"
// may have been our own earlier attempt.
type retryTransport struct {
	next       http.RoundTripper
	token      quaymirror.Secret // redacted from the reasons logged
	maxRetries int
	base, max  time.Duration
	timeout    time.Duration
	logger     hclog.Logger

	sleep RetrySleep // WithRetrySleep; a ContextWithRetrySleep overrides it

	// Test seams.
	jitter func(ceiling time.Duration) time.Duration
	now    func() time.Time
}

func newRetryTransport(next http.RoundTripper, o options) *retryTransport {
	sleep := o.retrySleep
	if sleep == nil {
		sleep = sleepContext
	}
	return &retryTransport{
		next:       next,
		token:      o.token,
		maxRetries: o.maxRetries,
		base:       o.retryBase,
		max:        o.retryMax,
		timeout:    o.timeout,
		logger:     o.logger,
		sleep:      sleep,
		jitter:     fullJitter,
		now:        time.Now,
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	rec := recordFrom(parent)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		ctx := withAttempt(parent, attempt+1)
		cancel := context.CancelFunc(func() {})
		if t.timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, t.timeout)
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
			rec.attempts = attempt + 1
		}
		resp, err := t.next.RoundTrip(r)
		last := !replayable || attempt >= t.maxRetries

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
			reason, ambiguous = redact(parent, t.token, err.Error()), amb
		} else {
			if !retryableStatus(resp.StatusCode) || last || readOnlyAnswer(resp) {
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
				return resp, nil
			}
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now()); ok {
				wait = d
			}
			drain(resp.Body)
			cancel()
			reason = redact(parent, t.token, resp.Status) // the reason phrase is the server's text
			ambiguous = resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout
		}
		if rec != nil && ambiguous {
			rec.ambiguous = true
		}
		d := t.jitter(t.ceiling(attempt))
		if wait >= 0 {
			d = min(wait, t.max)
		}
		t.logger.Debug("quay request will be retried", "method", req.Method, "url", cleanURL(req.URL),
			"attempt", attempt+1, "reason", reason, "wait", d)
		sleep := t.sleep
		if s, ok := parent.Value(retrySleepKey{}).(RetrySleep); ok {
			sleep = s
		}
		if err := sleep(parent, d); err != nil {
			return nil, err
		}
	}
}

// ceiling is min(max, base·2^retry).
func (t *retryTransport) ceiling(retry int) time.Duration {
	d := t.base
	for i := 0; i < retry && d < t.max; i++ {
		if d > t.max/2 {
			return t.max // doubling would pass the cap (or overflow)
		}
		d *= 2
	}
	return min(d, t.max)
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

// attemptRecord is where the retry transport notes what happened to one
// request. It also carries the request's secrets (the token, a password
// in the body), which the transports redact from what they log: a
// transport error or a status line may quote what the server sent, and a
// server may echo the request.
type attemptRecord struct {
	attempts  int
	ambiguous bool
	secrets   []string
}

// redact removes token and the secrets of ctx's request from msg, a
// message that may quote the server.
func redact(ctx context.Context, token quaymirror.Secret, msg string) string {
	secrets := []string{token.Reveal()}
	if rec := recordFrom(ctx); rec != nil {
		secrets = append(secrets, rec.secrets...)
	}
	return scrub(msg, secrets...)
}

type recordKey struct{}

type retrySleepKey struct{}

// ContextWithRetrySleep returns a copy of ctx under which every request
// of every Client waits between its attempts with sleep (see
// [RetrySleep]) instead of the Client's own way ([WithRetrySleep] or a
// timer). It reaches Clients built out of the caller's hands, such as
// those a command-line run builds from its configuration: a test can run
// the whole program through retries and give-ups without waiting on real
// time. A nil sleep returns ctx unchanged.
func ContextWithRetrySleep(ctx context.Context, sleep RetrySleep) context.Context {
	if sleep == nil {
		return ctx
	}
	return context.WithValue(ctx, retrySleepKey{}, sleep)
}

type attemptKey struct{}

func withRecord(ctx context.Context, rec *attemptRecord) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

func recordFrom(ctx context.Context) *attemptRecord {
	rec, _ := ctx.Value(recordKey{}).(*attemptRecord)
	return rec
}

func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// attemptFrom returns the attempt number set by the retry transport, 1 when
// there is none.
func attemptFrom(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}
