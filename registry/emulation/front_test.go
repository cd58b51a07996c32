package emulation_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/registry/emulation"
)

// server is a Front over a handler that counts the requests it handles;
// every path is its own route.
func server(t *testing.T) (*emulation.Front, *atomic.Int64, *httptest.Server) {
	t.Helper()
	front := emulation.NewFront()
	var handled atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		front.Serve(w, r, r.URL.Path, func(w http.ResponseWriter) {
			handled.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok": true}`)
		})
	}))
	t.Cleanup(srv.Close)
	return front, &handled, srv
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func TestFrontCountsAndInjects(t *testing.T) {
	t.Parallel()
	front, handled, srv := server(t)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	must(t, front.Inject(emulation.Fault{Kind: emulation.FaultStatus, Route: "GET /a", Count: 2}))
	must(t, front.Inject(emulation.Fault{Kind: emulation.FaultStatusAfter, Route: "/b"}))
	must(t, front.Inject(emulation.Fault{Kind: emulation.FaultRateLimit, Route: "/c", RetryAfter: 1500 * time.Millisecond}))

	for i, want := range []int{503, 503, 200} {
		code, body, err := get(t, c, srv.URL+"/a")
		if err != nil || code != want {
			t.Errorf("GET /a #%d: %d %v, want %d", i+1, code, err, want)
		}
		if code == 503 && body != emulation.ProxyErrorPage(503) {
			t.Errorf("503 body %q, want the proxy's page", body)
		}
	}
	if n := handled.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want once: a status fault answers in its place", n)
	}
	if code, _, _ := get(t, c, srv.URL+"/b"); code != http.StatusBadGateway || handled.Load() != 2 {
		t.Errorf("status after: %d, handled %d; want 502 after the handler ran", code, handled.Load())
	}
	res, err := c.Get(srv.URL + "/c")
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
		t.Errorf("rate limit: %d Retry-After %q, want 429 and 2 (rounded up)", res.StatusCode, res.Header.Get("Retry-After"))
	}

	if got := front.Requests(); got["GET /a"] != 3 || got["GET /b"] != 1 || got["GET /c"] != 1 || front.Reads() != 5 || front.Writes() != 0 {
		t.Errorf("requests %v, reads %d, writes %d", got, front.Reads(), front.Writes())
	}
	counts := front.FaultCounts()
	if counts[emulation.FaultStatus] != 2 || counts[emulation.FaultStatusAfter] != 1 || counts[emulation.FaultRateLimit] != 1 {
		t.Errorf("fault counts %v", counts)
	}
	if byRoute := front.FaultCountsByRoute(); byRoute["GET /a"][emulation.FaultStatus] != 2 {
		t.Errorf("fault counts by route %v", byRoute)
	}
	front.ResetCounters()
	if len(front.Requests()) != 0 || len(front.FaultCounts()) != 0 {
		t.Error("ResetCounters left counts")
	}
}

func TestFrontRandomFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []int {
		front, _, srv := server(t)
		must(t, front.SetFaults(emulation.Faults{Seed: seed, ErrorRate: 0.3, RateLimitRate: 0.2}))
		var codes []int
		for range 50 {
			code, _, err := get(t, srv.Client(), srv.URL+"/x")
			must(t, err)
			codes = append(codes, code)
		}
		return codes
	}
	a, b := run(9), run(9)
	seen := map[int]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, request %d: %d then %d", i, a[i], b[i])
		}
		seen[a[i]] = true
	}
	if !seen[200] || !seen[503] || !seen[429] {
		t.Errorf("50 requests at these rates should see 200, 503 and 429: %v", a)
	}
}

func TestFrontRefusesBadFaults(t *testing.T) {
	t.Parallel()
	front := emulation.NewFront()
	for _, f := range []emulation.Faults{{ErrorRate: 0.7, ResetRate: 0.7}, {ErrorRate: -1}, {ErrorStatus: 404, ErrorRate: 0.1}, {Latency: -1}} {
		if err := front.SetFaults(f); err == nil {
			t.Errorf("SetFaults(%+v) accepted", f)
		}
	}
	for _, f := range []emulation.Fault{{Kind: "nonsense"}, {Kind: emulation.FaultSlow, Chunk: -1}} {
		if err := front.Inject(f); err == nil {
			t.Errorf("Inject(%+v) accepted", f)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
