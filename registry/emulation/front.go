package emulation

import (
	"io"
	"maps"
	"net/http"
	"strconv"
	"sync"
)

// Front stands in front of an emulated server's handler: it counts the
// requests by route and injects faults into them. It is safe for
// concurrent use; the zero Front is not: use NewFront.
type Front struct {
	mu       sync.Mutex
	requests map[string]int // "METHOD /route/template" → count
	reads    int
	writes   int
	faults   *faultState
}

// NewFront returns a Front without faults.
func NewFront() *Front {
	return &Front{requests: make(map[string]int), faults: newFaultState()}
}

// Serve answers r: it counts it under method and route (the template of
// the route it matched, e.g. "/api/v1/repository/{repo}"), applies the
// latency and any fault due, and otherwise lets serve answer. A fault that
// spoils an answer runs serve into a recorder first, so the request has
// its effects.
func (f *Front) Serve(w http.ResponseWriter, r *http.Request, route string, serve func(http.ResponseWriter)) {
	f.mu.Lock()
	f.requests[r.Method+" "+route]++
	if IsRead(r.Method) {
		f.reads++
	} else {
		f.writes++
	}
	f.mu.Unlock()
	if !f.faults.serve(w, r, route, serve) {
		serve(w)
	}
}

// IsRead reports whether method only reads: GET, HEAD and OPTIONS.
func IsRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// Requests returns how many requests each route received, keyed by
// method and route template, e.g. "GET /api/v1/repository/{repo}/mirror".
// Requests answered by an injected fault are counted too.
func (f *Front) Requests() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.requests)
}

// Reads returns how many GET, HEAD and OPTIONS requests arrived.
func (f *Front) Reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// Writes returns how many other requests arrived.
func (f *Front) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// ResetCounters zeroes the request counters and the fault counters.
func (f *Front) ResetCounters() {
	f.mu.Lock()
	f.requests = make(map[string]int)
	f.reads, f.writes = 0, 0
	f.mu.Unlock()
	f.faults.resetCounts()
}

// ProxyErrorPage is the HTML page nginx, the proxy in front of most
// registries, sends for its own errors (429 when rate limiting, 502, 503
// and 504 in front of a failing server).
func ProxyErrorPage(status int) string {
	text := http.StatusText(status)
	switch status {
	case http.StatusServiceUnavailable:
		text = "Service Temporarily Unavailable"
	case http.StatusGatewayTimeout:
		text = "Gateway Time-out"
	}
	title := strconv.Itoa(status) + " " + text
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

// WriteProxyError answers status with ProxyErrorPage.
func WriteProxyError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, ProxyErrorPage(status))
}
