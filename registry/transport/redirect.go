package transport

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects bounds the redirects followed for one request.
const maxRedirects = 5

// CheckRedirect follows at most maxRedirects redirects, never from https to
// http, never to a plain http host that is not loopback unless allowed, and
// strips any Authorization header when the redirect leaves the origin (the
// bearer transport adds the token only for the registry's origin anyway).
func CheckRedirect(allowInsecureHTTP bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		first := via[0].URL
		if strings.EqualFold(first.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
			return fmt.Errorf("refusing a redirect from https to %s", req.URL.Scheme)
		}
		if err := CheckScheme(req.URL, allowInsecureHTTP); err != nil {
			return err
		}
		if !SameOrigin(req.URL, first) {
			req.Header.Del("Authorization")
		}
		return nil
	}
}

// CheckScheme refuses schemes other than http and https, and plain http to
// a host that is not loopback unless allowed.
func CheckScheme(u *url.URL, allowInsecureHTTP bool) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if allowInsecureHTTP || IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("plain http to %s is refused (the token would travel in clear text): use https, or allow insecure http explicitly", u.Hostname())
	}
	return fmt.Errorf("unsupported URL scheme %q", u.Scheme)
}

// IsLoopback reports whether host is localhost or a loopback IP address
// (127.0.0.0/8, ::1).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SameOrigin reports whether a and b have the same scheme, host and port.
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
