package metrics

import (
	"net/http"
	"strconv"

	"github.com/quaymirror/quaymirror/runner"
)

// Side names a registry in quaymirror_api_requests_total.
type Side string

// Sides.
const (
	Source      Side = "source"
	Destination Side = "destination"
)

// Transport returns next counting in quaymirror_api_requests_total every
// request it carries, labelled with organization, side, the method, the
// status code (or "error" when next returned no response) and the
// command of the run found in the request's context
// (runner.CommandFrom; empty outside a run). Put it under the Quay
// client's own stack (quay.WithTransport) so that every retry attempt
// passes through it; it may wrap a transport shared by several
// organisations. It neither reads nor changes the request.
func (r *Recorder) Transport(side Side, organization string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &countingTransport{rec: r, side: side, org: organization, next: next}
}

type countingTransport struct {
	rec  *Recorder
	side Side
	org  string
	next http.RoundTripper
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = statusCode(resp.StatusCode)
	}
	cmd, _ := runner.CommandFrom(req.Context())
	t.rec.apiRequests.WithLabelValues(t.org, string(cmd), string(t.side), method(req.Method), code).Inc()
	return resp, err
}

// method bounds the method label to the standard methods.
func method(m string) string {
	switch m {
	case "", http.MethodGet:
		return http.MethodGet
	case http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusCode bounds the code label to the three-digit codes.
func statusCode(c int) string {
	if c < 100 || c > 599 {
		return "other"
	}
	return strconv.Itoa(c)
}
