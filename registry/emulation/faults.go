package emulation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// FaultKind names an injected fault.
type FaultKind string

// Faults a Front can inject. The first three answer in place of the
// emulated server (the request has no effect); the others let it handle
// the request (its effects happen) and spoil the answer. The pages a
// proxy would send are ProxyErrorPage's.
const (
	// FaultStatus answers Fault.Status (default 503) with the proxy's
	// HTML page.
	FaultStatus FaultKind = "status"
	// FaultReset closes the connection with a TCP reset before handling.
	FaultReset FaultKind = "reset"
	// FaultRateLimit answers 429 with the proxy's HTML page, and a
	// Retry-After header when RetryAfter is set (nginx sends none).
	FaultRateLimit FaultKind = "rate_limit"
	// FaultResetAfter handles the request, then resets the connection
	// instead of answering: the write happened, the client cannot know.
	FaultResetAfter FaultKind = "reset_after"
	// FaultStatusAfter handles the request, then answers Fault.Status
	// (default 502) with the proxy's HTML page instead of the answer: a
	// proxy whose upstream did the work but whose answer was lost (502)
	// or came too late (504).
	FaultStatusAfter FaultKind = "status_after"
	// FaultTruncate sends half the body under a Content-Length that
	// promises all of it, then closes the connection.
	FaultTruncate FaultKind = "truncate"
	// FaultInvalidJSON keeps the status and sends a body that is not
	// JSON.
	FaultInvalidJSON FaultKind = "invalid_json"
	// FaultOversize pads the body with spaces to Size bytes (still valid
	// JSON, just too big).
	FaultOversize FaultKind = "oversize"
	// FaultEmptyBody keeps the status and sends no body.
	FaultEmptyBody FaultKind = "empty_body"
	// FaultSlow sends the body Chunk bytes every Interval (slow loris).
	FaultSlow FaultKind = "slow"
)

// Fault is a fault injected on demand with Inject: the next Count
// requests matching Route get it, before any random fault.
type Fault struct {
	Kind FaultKind
	// Route selects requests: "METHOD /template" (as Front.Requests
	// counts them, e.g. "GET /api/v1/repository"), "/template" for any
	// method, or "" for every request.
	Route string
	// Count is how many requests get the fault (default 1).
	Count int
	// Status is FaultStatus's status (default 503), or
	// FaultStatusAfter's (default 502).
	Status int
	// RetryAfter, for FaultRateLimit, is sent as Retry-After in whole
	// seconds (rounded up); zero sends no header.
	RetryAfter time.Duration
	// Size is FaultOversize's body size (default 64 MiB).
	Size int64
	// Interval and Chunk pace FaultSlow (defaults 50ms and 1 byte).
	Interval time.Duration
	Chunk    int
}

// Faults are random faults, drawn for each request from a generator
// seeded with Seed: for a given order of requests, the same requests get
// the same faults.
type Faults struct {
	Seed int64
	// Latency delays every request, plus a uniform random part up to
	// Jitter.
	Latency, Jitter time.Duration
	// ErrorRate is the fraction of requests answered ErrorStatus
	// (default 503) with the proxy's page.
	ErrorRate   float64
	ErrorStatus int
	// ResetRate is the fraction of requests whose connection is reset.
	ResetRate float64
	// ResetAfterRate is the fraction of requests that the server handles
	// (their effects happen) and whose connection is then reset instead of
	// answered (FaultResetAfter).
	ResetAfterRate float64
	// GatewayRate is the fraction of requests that the server handles and whose
	// answer a proxy then replaces with its 502 or 504 page, drawn evenly
	// (FaultStatusAfter).
	GatewayRate float64
	// RateLimitRate is the fraction of requests that start a burst of
	// RateLimitBurst (default 1) consecutive 429s, with Retry-After when
	// RetryAfter is set.
	RateLimitRate  float64
	RateLimitBurst int
	RetryAfter     time.Duration
	// Routes limits the random faults (not the latency) to these routes
	// (see Fault.Route); empty means every route.
	Routes []string
}

// rate is the fraction of requests that get a random fault.
func (f Faults) rate() float64 {
	return f.ErrorRate + f.ResetRate + f.RateLimitRate + f.ResetAfterRate + f.GatewayRate
}

type queued struct {
	Fault
	left int
}

type faultState struct {
	mu     sync.Mutex
	cfg    Faults
	rng    *rand.Rand
	queue  []*queued
	burst  int
	counts map[FaultKind]int
	routes map[string]map[FaultKind]int // by "METHOD /template"
}

func newFaultState() *faultState {
	return &faultState{rng: rand.New(rand.NewPCG(0, 0)), counts: make(map[FaultKind]int), routes: make(map[string]map[FaultKind]int)}
}

func (f *faultState) set(cfg Faults) error {
	switch {
	case cfg.ErrorRate < 0, cfg.ResetRate < 0, cfg.RateLimitRate < 0, cfg.ResetAfterRate < 0, cfg.GatewayRate < 0,
		cfg.rate() > 1:
		return errors.New("emulation: fault rates must be non-negative and add up to at most 1")
	case cfg.Latency < 0, cfg.Jitter < 0, cfg.RetryAfter < 0, cfg.RateLimitBurst < 0:
		return errors.New("emulation: fault durations and burst must not be negative")
	case cfg.ErrorStatus != 0 && (cfg.ErrorStatus < 500 || cfg.ErrorStatus > 599):
		return fmt.Errorf("emulation: error status %d is not a 5xx", cfg.ErrorStatus)
	}
	if cfg.ErrorStatus == 0 {
		cfg.ErrorStatus = http.StatusServiceUnavailable
	}
	if cfg.RateLimitBurst == 0 {
		cfg.RateLimitBurst = 1
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
	f.cfg.Routes = append([]string(nil), cfg.Routes...)
	f.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15))
	f.burst = 0
	return nil
}

func (f *faultState) resetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = make(map[FaultKind]int)
	f.routes = make(map[string]map[FaultKind]int)
}

// SetFaults replaces the random faults (the zero Faults turns them off).
func (f *Front) SetFaults(faults Faults) error { return f.faults.set(faults) }

// Inject queues a fault for the next matching requests.
func (fr *Front) Inject(f Fault) error {
	switch f.Kind {
	case FaultStatus, FaultReset, FaultRateLimit, FaultResetAfter, FaultStatusAfter, FaultTruncate,
		FaultInvalidJSON, FaultOversize, FaultEmptyBody, FaultSlow:
	default:
		return fmt.Errorf("emulation: unknown fault kind %q", f.Kind)
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Count < 0 || f.Size < 0 || f.Interval < 0 || f.Chunk < 0 || f.RetryAfter < 0 {
		return errors.New("emulation: negative fault parameter")
	}
	switch {
	case f.Status == 0 && f.Kind == FaultStatusAfter:
		f.Status = http.StatusBadGateway
	case f.Status == 0:
		f.Status = http.StatusServiceUnavailable
	}
	if f.Size == 0 {
		f.Size = 64 << 20
	}
	if f.Interval == 0 {
		f.Interval = 50 * time.Millisecond
	}
	if f.Chunk == 0 {
		f.Chunk = 1
	}
	fr.faults.mu.Lock()
	defer fr.faults.mu.Unlock()
	fr.faults.queue = append(fr.faults.queue, &queued{Fault: f, left: f.Count})
	return nil
}

// ClearFaults drops queued faults and turns random faults off.
func (f *Front) ClearFaults() {
	_ = f.faults.set(Faults{})
	f.faults.mu.Lock()
	defer f.faults.mu.Unlock()
	f.faults.queue = nil
}

// FaultCounts returns how many faults of each kind were injected.
func (f *Front) FaultCounts() map[FaultKind]int {
	f.faults.mu.Lock()
	defer f.faults.mu.Unlock()
	return maps.Clone(f.faults.counts)
}

// FaultCountsByRoute returns how many faults of each kind were injected
// into the requests of each route, keyed as Requests keys them ("METHOD
// /template").
func (f *Front) FaultCountsByRoute() map[string]map[FaultKind]int {
	f.faults.mu.Lock()
	defer f.faults.mu.Unlock()
	out := make(map[string]map[FaultKind]int, len(f.faults.routes))
	for route, counts := range f.faults.routes {
		out[route] = maps.Clone(counts)
	}
	return out
}

// count records a fault injected into a request of method and template.
// The caller holds f.mu.
func (f *faultState) count(kind FaultKind, method, template string) {
	f.counts[kind]++
	route := method + " " + template
	if f.routes[route] == nil {
		f.routes[route] = make(map[FaultKind]int)
	}
	f.routes[route][kind]++
}

func routeMatches(pattern, method, template string) bool {
	return pattern == "" || pattern == template || pattern == method+" "+template
}

// decide picks the request's latency and fault.
func (f *faultState) decide(method, template string) (time.Duration, *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delay := f.cfg.Latency
	if f.cfg.Jitter > 0 {
		delay += time.Duration(f.rng.Int64N(int64(f.cfg.Jitter) + 1))
	}
	for i, q := range f.queue {
		if routeMatches(q.Route, method, template) {
			q.left--
			if q.left <= 0 {
				f.queue = append(f.queue[:i], f.queue[i+1:]...)
			}
			f.count(q.Kind, method, template)
			fault := q.Fault
			return delay, &fault
		}
	}
	inScope := len(f.cfg.Routes) == 0
	for _, r := range f.cfg.Routes {
		inScope = inScope || routeMatches(r, method, template)
	}
	if !inScope {
		return delay, nil
	}
	if f.burst > 0 {
		f.burst--
		f.count(FaultRateLimit, method, template)
		return delay, &Fault{Kind: FaultRateLimit, RetryAfter: f.cfg.RetryAfter}
	}
	if f.cfg.rate() == 0 {
		return delay, nil
	}
	u := f.rng.Float64()
	for _, d := range []struct {
		rate  float64
		fault func() *Fault
	}{
		{f.cfg.ErrorRate, func() *Fault { return &Fault{Kind: FaultStatus, Status: f.cfg.ErrorStatus} }},
		{f.cfg.ResetRate, func() *Fault { return &Fault{Kind: FaultReset} }},
		{f.cfg.RateLimitRate, func() *Fault {
			f.burst = f.cfg.RateLimitBurst - 1
			return &Fault{Kind: FaultRateLimit, RetryAfter: f.cfg.RetryAfter}
		}},
		{f.cfg.ResetAfterRate, func() *Fault { return &Fault{Kind: FaultResetAfter} }},
		{f.cfg.GatewayRate, func() *Fault {
			status := http.StatusBadGateway
			if f.rng.IntN(2) == 1 {
				status = http.StatusGatewayTimeout
			}
			return &Fault{Kind: FaultStatusAfter, Status: status}
		}},
	} {
		if u < d.rate {
			fault := d.fault()
			f.count(fault.Kind, method, template)
			return delay, fault
		}
		u -= d.rate
	}
	return delay, nil
}

// serve applies latency and, if one is due, a fault. It reports whether
// the request was answered (handle runs the real handler into a writer).
func (f *faultState) serve(w http.ResponseWriter, r *http.Request, template string, handle func(http.ResponseWriter)) bool {
	delay, fault := f.decide(r.Method, template)
	if delay > 0 && !sleep(r.Context(), delay) {
		return true // the client is gone
	}
	if fault == nil {
		return false
	}
	switch fault.Kind {
	case FaultStatus:
		WriteProxyError(w, fault.Status)
	case FaultRateLimit:
		if fault.RetryAfter > 0 {
			secs := (fault.RetryAfter + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		}
		WriteProxyError(w, http.StatusTooManyRequests)
	case FaultReset:
		reset(w)
	default:
		rec := &recorder{header: make(http.Header), status: http.StatusOK}
		handle(rec)
		spoil(w, r, rec, fault)
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reset closes the connection with a TCP RST (SO_LINGER 0).
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		abortResponse(w)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		abortResponse(w)
		return
	}
	type netConner interface{ NetConn() net.Conn }
	c := conn
	if nc, ok := c.(netConner); ok {
		c = nc.NetConn()
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// abortResponse is the fallback where the connection cannot be hijacked
// (HTTP/2): a 502 that closes the connection.
func abortResponse(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusBadGateway)
}

// recorder captures a handler's answer.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func spoil(w http.ResponseWriter, r *http.Request, rec *recorder, f *Fault) {
	switch f.Kind {
	case FaultResetAfter:
		reset(w)
		return
	case FaultStatusAfter:
		WriteProxyError(w, f.Status) // the server's answer is lost
		return
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	body := rec.body.Bytes()
	switch f.Kind {
	case FaultTruncate:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case FaultInvalidJSON:
		bad := []byte(`{"emulation": this is not JSON`)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(bad)
	case FaultEmptyBody:
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(rec.status)
	case FaultOversize:
		size := max(f.Size, int64(len(body)))
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
		pad := bytes.Repeat([]byte(" "), 32<<10)
		for left := size - int64(len(body)); left > 0; {
			if r.Context().Err() != nil {
				return
			}
			n := min(left, int64(len(pad)))
			if _, err := w.Write(pad[:n]); err != nil {
				return
			}
			left -= n
		}
	case FaultSlow:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		fl, _ := w.(http.Flusher)
		for len(body) > 0 {
			n := min(f.Chunk, len(body))
			if _, err := w.Write(body[:n]); err != nil {
				return
			}
			body = body[n:]
			if fl != nil {
				fl.Flush()
			}
			if len(body) > 0 && !sleep(r.Context(), f.Interval) {
				return
			}
		}
	}
}
