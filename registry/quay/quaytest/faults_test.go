package quaytest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

const listRoute = "GET /api/v1/repository"

// raw sends a request and returns the answer or the transport error.
func (e *env) raw(method, path string, body any) (*http.Response, []byte, error) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(e.t, err)
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	must(e.t, err)
	r.Header.Set("Authorization", "Bearer "+tokAdmin)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	// A fresh connection per request, so a reset one is not reused.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func (e *env) inject(f quaytest.Fault) {
	e.t.Helper()
	must(e.t, e.em.Inject(f))
}

const listPath = "/api/v1/repository?namespace=acme"

func TestInjectedFaults(t *testing.T) {
	t.Run("Status", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultStatus, Route: listRoute, Count: 2, Status: 502})
		var codes []int
		for range 3 {
			res, body, err := e.raw(http.MethodGet, listPath, nil)
			must(t, err)
			codes = append(codes, res.StatusCode)
			if res.StatusCode == 502 && (!strings.Contains(string(body), "<center>nginx</center>") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html")) {
				t.Errorf("502 body is not nginx's page: %q", body)
			}
		}
		if codes[0] != 502 || codes[1] != 502 || codes[2] != 200 {
			t.Errorf("codes %v, want 502 502 200", codes)
		}
		// Another route is not affected.
		if res, _, err := e.raw(http.MethodGet, "/api/v1/discovery", nil); err != nil || res.StatusCode != 200 {
			t.Errorf("discovery: %v %v", res.StatusCode, err)
		}
		if n := e.em.FaultCounts()[quaytest.FaultStatus]; n != 2 {
			t.Errorf("FaultCounts[status] = %d, want 2", n)
		}
		if n := e.em.Requests()[listRoute]; n != 3 {
			t.Errorf("Requests[%s] = %d, want 3 (faulted requests count)", listRoute, n)
		}
	})

	t.Run("RateLimit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultRateLimit, Route: "/api/v1/repository", RetryAfter: 1500 * time.Millisecond})
		e.inject(quaytest.Fault{Kind: quaytest.FaultRateLimit, Route: "/api/v1/repository"})
		res, body, err := e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		if res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" || !strings.Contains(string(body), "429 Too Many Requests") {
			t.Errorf("first: %d Retry-After %q %q", res.StatusCode, res.Header.Get("Retry-After"), body)
		}
		res, _, err = e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		if res.StatusCode != 429 || res.Header.Get("Retry-After") != "" {
			t.Errorf("second: %d Retry-After %q; nginx sends none", res.StatusCode, res.Header.Get("Retry-After"))
		}
	})

	t.Run("ResetBeforeHandling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultReset, Route: "POST /api/v1/repository"})
		if _, _, err := e.raw(http.MethodPost, "/api/v1/repository", newRepo("x")); err == nil {
			t.Error("no transport error")
		}
		if _, ok := e.reg.Repository("acme", "x"); ok {
			t.Error("a reset request took effect")
		}
	})

	t.Run("ResetAfterHandling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultResetAfter, Route: "POST /api/v1/repository"})
		if _, _, err := e.raw(http.MethodPost, "/api/v1/repository", newRepo("x")); err == nil {
			t.Error("no transport error")
		}
		if _, ok := e.reg.Repository("acme", "x"); !ok {
			t.Error("the request should have taken effect before the reset")
		}
		if n := e.reg.Calls()[fake.OpCreateRepository]; n != 1 {
			t.Errorf("registry counted %d creations, want 1", n)
		}
	})

	t.Run("StatusAfterHandling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultStatusAfter, Route: "POST /api/v1/repository"})
		e.inject(quaytest.Fault{Kind: quaytest.FaultStatusAfter, Route: "POST /api/v1/repository", Status: 504})
		for _, tc := range []struct {
			name   string
			status int
		}{{"x", 502}, {"y", 504}} {
			res, body, err := e.raw(http.MethodPost, "/api/v1/repository", newRepo(tc.name))
			must(t, err)
			if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(body), "<center>nginx</center>") {
				t.Errorf("%s: %d %s %q, want %d with nginx's page", tc.name, res.StatusCode, res.Header.Get("Content-Type"), body, tc.status)
			}
			if _, ok := e.reg.Repository("acme", tc.name); !ok {
				t.Errorf("%s: the request should have taken effect before the %d", tc.name, tc.status)
			}
		}
		if n := e.em.FaultCounts()[quaytest.FaultStatusAfter]; n != 2 {
			t.Errorf("FaultCounts[status_after] = %d, want 2", n)
		}
		want := map[string]map[quaytest.FaultKind]int{"POST /api/v1/repository": {quaytest.FaultStatusAfter: 2}}
		if got := e.em.FaultCountsByRoute(); !reflect.DeepEqual(got, want) {
			t.Errorf("FaultCountsByRoute() = %v, want %v", got, want)
		}
		e.em.ResetCounters()
		if got := e.em.FaultCountsByRoute(); len(got) != 0 {
			t.Errorf("after ResetCounters: %v", got)
		}
	})

	t.Run("Truncate", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultTruncate, Route: listRoute})
		_, _, err := e.raw(http.MethodGet, listPath, nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("error = %v, want an unexpected EOF", err)
		}
	})

	t.Run("InvalidJSON", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultInvalidJSON, Route: listRoute})
		res, body, err := e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		if res.StatusCode != 200 || json.Valid(body) {
			t.Errorf("%d %q, want 200 and a body that is not JSON", res.StatusCode, body)
		}
	})

	t.Run("Oversize", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultOversize, Route: listRoute, Size: 3 << 20})
		res, body, err := e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		if res.StatusCode != 200 || len(body) != 3<<20 || !json.Valid(body) {
			t.Errorf("%d, %d bytes (valid %v), want 200 and 3 MiB of valid JSON", res.StatusCode, len(body), json.Valid(body))
		}
	})

	t.Run("EmptyBody", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		e.inject(quaytest.Fault{Kind: quaytest.FaultEmptyBody, Route: listRoute})
		res, body, err := e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		if res.StatusCode != 200 || len(body) != 0 {
			t.Errorf("%d %q, want 200 with no body", res.StatusCode, body)
		}
	})

	t.Run("Slow", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		_, want, err := e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		e.inject(quaytest.Fault{Kind: quaytest.FaultSlow, Route: listRoute, Interval: time.Microsecond, Chunk: 7})
		_, got, err := e.raw(http.MethodGet, listPath, nil)
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("slow body %q, want %q", got, want)
		}
		if n := e.em.FaultCounts()[quaytest.FaultSlow]; n != 1 {
			t.Errorf("FaultCounts[slow] = %d", n)
		}
	})

	t.Run("Validation", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
		if err := e.em.Inject(quaytest.Fault{Kind: "meteor"}); err == nil {
			t.Error("unknown kind accepted")
		}
		for _, f := range []quaytest.Faults{
			{ErrorRate: 0.7, ResetRate: 0.5},
			{ResetAfterRate: 0.6, GatewayRate: 0.5},
			{RateLimitRate: 0.5, GatewayRate: 0.6},
		} {
			if err := e.em.SetFaults(f); err == nil {
				t.Errorf("rates above 1 in all accepted: %+v", f)
			}
		}
		for _, f := range []quaytest.Faults{{ResetAfterRate: -0.1}, {GatewayRate: -0.1}} {
			if err := e.em.SetFaults(f); err == nil {
				t.Errorf("a negative rate accepted: %+v", f)
			}
		}
	})
}

// statuses sends n list requests and returns the status of each (0 for a
// transport error).
func statuses(e *env, n int) []int {
	var out []int
	for range n {
		res, _, err := e.raw(http.MethodGet, listPath, nil)
		if err != nil {
			out = append(out, 0)
			continue
		}
		out = append(out, res.StatusCode)
	}
	return out
}

func count(codes []int, code int) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

func TestRandomFaults(t *testing.T) {
	t.Run("DeterministicWithASeed", func(t *testing.T) {
		t.Parallel()
		f := quaytest.Faults{Seed: 42, ErrorRate: 0.2, ResetRate: 0.1, RateLimitRate: 0.1}
		a := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(), quaytest.WithFaults(f))
		b := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(), quaytest.WithFaults(f))
		ca, cb := statuses(a, 200), statuses(b, 200)
		if !slices.Equal(ca, cb) {
			t.Errorf("same seed, different faults:\n%v\n%v", ca, cb)
		}
		counts := a.em.FaultCounts()
		if count(ca, 503) != counts[quaytest.FaultStatus] || count(ca, 0) != counts[quaytest.FaultReset] || count(ca, 429) != counts[quaytest.FaultRateLimit] {
			t.Errorf("observed 503/reset/429 = %d/%d/%d, counted %v", count(ca, 503), count(ca, 0), count(ca, 429), counts)
		}
		if count(ca, 200) == 0 || count(ca, 503) == 0 || count(ca, 0) == 0 || count(ca, 429) == 0 {
			t.Errorf("200 requests at these rates should see every outcome: %v", ca)
		}
		c := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(), quaytest.WithFaults(quaytest.Faults{Seed: 43, ErrorRate: 0.2, ResetRate: 0.1, RateLimitRate: 0.1}))
		if slices.Equal(ca, statuses(c, 200)) {
			t.Error("another seed gave the same 200 outcomes")
		}
	})

	// Faults after handling: every write takes effect, and its answer is
	// lost to a reset or replaced by a proxy's 502 or 504.
	t.Run("AfterHandling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(),
			quaytest.WithFaults(quaytest.Faults{Seed: 7, ResetAfterRate: 0.5, GatewayRate: 0.5}))
		var codes []int
		for i := range 60 {
			name := fmt.Sprintf("r%d", i)
			res, body, err := e.raw(http.MethodPost, "/api/v1/repository", newRepo(name))
			switch {
			case err != nil:
				codes = append(codes, 0)
			case !strings.Contains(string(body), "<center>nginx</center>"):
				t.Errorf("%s: %d %q is Quay's answer, not a fault", name, res.StatusCode, body)
			default:
				codes = append(codes, res.StatusCode)
			}
			if _, ok := e.reg.Repository("acme", name); !ok {
				t.Errorf("%s: a request faulted after handling did not take effect", name)
			}
		}
		counts := e.em.FaultCounts()
		if count(codes, 0) != counts[quaytest.FaultResetAfter] || count(codes, 502)+count(codes, 504) != counts[quaytest.FaultStatusAfter] ||
			count(codes, 0)+count(codes, 502)+count(codes, 504) != 60 {
			t.Errorf("observed reset/502/504 = %d/%d/%d of 60, counted %v", count(codes, 0), count(codes, 502), count(codes, 504), counts)
		}
		if count(codes, 0) == 0 || count(codes, 502) == 0 || count(codes, 504) == 0 {
			t.Errorf("60 requests at these rates should see resets, 502s and 504s: %v", codes)
		}
	})

	t.Run("RateLimitBursts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(),
			quaytest.WithFaults(quaytest.Faults{Seed: 1, RateLimitRate: 0.1, RateLimitBurst: 3}))
		codes := statuses(e, 300)
		run := 0
		for i, c := range append(codes, 200) {
			if c == 429 {
				run++
				continue
			}
			if run%3 != 0 && i != len(codes) {
				t.Errorf("a run of %d 429s ends at %d: bursts are 3 long", run, i)
			}
			run = 0
		}
		if count(codes, 429) == 0 || count(codes, 429) != e.em.FaultCounts()[quaytest.FaultRateLimit] {
			t.Errorf("%d 429s, counted %d", count(codes, 429), e.em.FaultCounts()[quaytest.FaultRateLimit])
		}
	})

	t.Run("Routes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(),
			quaytest.WithFaults(quaytest.Faults{ErrorRate: 1, ErrorStatus: 504, Routes: []string{listRoute}}))
		if codes := statuses(e, 5); count(codes, 504) != 5 {
			t.Errorf("listing codes %v, want all 504", codes)
		}
		if res, _, err := e.raw(http.MethodGet, "/api/v1/user/", nil); err != nil || res.StatusCode != 200 {
			t.Errorf("a route outside Routes was faulted")
		}
		e.em.ClearFaults()
		if codes := statuses(e, 2); count(codes, 200) != 2 {
			t.Errorf("after ClearFaults: %v", codes)
		}
	})

	t.Run("Latency", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures(),
			quaytest.WithFaults(quaytest.Faults{Latency: time.Millisecond, Jitter: time.Millisecond}))
		if codes := statuses(e, 3); count(codes, 200) != 3 {
			t.Errorf("codes %v", codes)
		}
	})
}

func TestCounters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	e.seedMirror(nil, nil)
	e.do(req{method: http.MethodGet, path: mirrorPath, token: tokAdmin})
	e.do(req{method: http.MethodGet, path: "/api/v1/repository/acme/team/x/mirror", token: tokAdmin})
	e.do(req{method: http.MethodPut, path: mirrorPath, token: tokAdmin, body: map[string]any{"is_enabled": false}})
	e.do(req{method: http.MethodPost, path: mirrorPath + "/sync-now", token: tokAdmin})
	e.do(req{method: http.MethodGet, path: "/nowhere"})
	want := map[string]int{
		"GET /api/v1/repository/{repo}/mirror":           2,
		"PUT /api/v1/repository/{repo}/mirror":           1,
		"POST /api/v1/repository/{repo}/mirror/sync-now": 1,
		"GET (unmatched)":                                1,
	}
	if got := e.em.Requests(); !maps.Equal(got, want) {
		t.Errorf("Requests() = %v, want %v", got, want)
	}
	if e.em.Reads() != 3 || e.em.Writes() != 2 {
		t.Errorf("reads %d writes %d, want 3 and 2", e.em.Reads(), e.em.Writes())
	}
	// Routed requests count as registry operations too.
	if c := e.reg.Calls(); c[fake.OpGetMirror] != 2 || c[fake.OpUpdateMirror] != 1 || c[fake.OpSyncNow] != 1 || e.reg.Writes() != 2 {
		t.Errorf("registry calls %v", c)
	}
	e.em.ResetCounters()
	if len(e.em.Requests()) != 0 || e.em.Reads() != 0 || e.em.Writes() != 0 {
		t.Error("ResetCounters left counts")
	}
}

// TestRegistryFailures: failures and hooks set on the registry reach HTTP
// clients with the status Quay would use.
func TestRegistryFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quaytest.V3_17, quaytest.DefaultFeatures())
	e.seedMirror(nil, nil)
	e.reg.FailOn(fake.OpGetMirror, "acme", "app", quaymirror.ErrUnavailable)
	e.reg.FailOn(fake.OpUpdateMirror, "", "", quaymirror.ErrRateLimited)
	e.reg.FailOn(fake.OpSyncNow, "", "", errors.New("boom"))
	html(503)(t, e.do(req{method: http.MethodGet, path: mirrorPath, token: tokAdmin}))
	html(429)(t, e.do(req{method: http.MethodPut, path: mirrorPath, token: tokAdmin, body: map[string]any{"is_enabled": false}}))
	html(500)(t, e.do(req{method: http.MethodPost, path: mirrorPath + "/sync-now", token: tokAdmin}))
	if !e.mirror().Config.Enabled || e.mirror().Status.SyncStatus != quaymirror.SyncSuccess {
		t.Error("a failed operation took effect")
	}
}
