package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Reply is an answer that Client.Do read: a 2xx with its body, or another
// status with up to ErrorBodyLimit of its body. Its methods make the
// backend's errors about it, scrubbed of the request's secrets.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
	Method string
	URL    *url.URL
	// Attempts is how many times the request was sent; Ambiguous reports
	// that an attempt that was then retried may have reached the server
	// (Record).
	Attempts  int
	Ambiguous bool

	name    string
	secrets []string
}

// OK reports a 2xx answer.
func (r *Reply) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Scrub removes the request's secrets from msg, a message that may quote
// the answer (Scrub).
func (r *Reply) Scrub(msg string) string { return Scrub(msg, r.secrets...) }

// Error returns the error of the answer, unwrapping to kind, with the
// registry's code and msg, which the caller has scrubbed (Reply.Scrub).
func (r *Reply) Error(kind error, code, msg string) *Error {
	return &Error{Backend: r.name, Method: r.Method, URL: CleanURL(r.URL), Status: r.Status, Code: code, Message: msg,
		Attempts: r.Attempts, Ambiguous: r.Ambiguous, Kind: kind}
}

// Bad reports an answer that makes no sense (ErrBadResponse); the
// message, which may quote the answer, is scrubbed.
func (r *Reply) Bad(format string, args ...any) *Error {
	return r.Error(quaymirror.ErrBadResponse, "", r.Scrub(fmt.Sprintf(format, args...)))
}

// Decode unmarshals a JSON answer into v. An empty body, invalid or
// truncated JSON, or JSON of another shape is an *Error wrapping
// ErrBadResponse.
func (r *Reply) Decode(v any) error {
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return r.Bad("empty answer where JSON was expected")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		e := r.Bad("invalid JSON answer: %s", err.Error())
		e.Err = err
		return e
	}
	return nil
}

// NextQuery returns the query of the next page the answer's Link header
// names (rel="next", RFC 8288), or "" for none. The next page must stay
// on the origin and the path of the request, or the answer is bad.
func (r *Reply) NextQuery() (string, error) {
	link := NextLink(r.Header.Values("Link"))
	if link == "" {
		return "", nil
	}
	u, err := r.URL.Parse(link)
	if err != nil {
		return "", r.Bad("the Link header's next page is not a URL")
	}
	if u.Scheme != r.URL.Scheme || !strings.EqualFold(u.Host, r.URL.Host) || u.EscapedPath() != r.URL.EscapedPath() {
		return "", r.Bad("the Link header's next page leaves %s", r.URL.EscapedPath())
	}
	return u.RawQuery, nil
}

// NextLink returns the URL of the rel="next" link of Link headers (RFC
// 8288; Harbor separates links with " , "), or "".
func NextLink(values []string) string {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			end := strings.IndexByte(part, '>')
			if !strings.HasPrefix(part, "<") || end < 0 {
				continue
			}
			for param := range strings.SplitSeq(part[end+1:], ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") && strings.EqualFold(strings.Trim(val, `" `), "next") {
					return part[1:end]
				}
			}
		}
	}
	return ""
}
