package transport

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Error is a failed request of an HTTP backend: an answer other than 2xx,
// an answer that cannot be understood, or a transport failure after the
// retries. It unwraps to Kind, the quaymirror sentinel that matches (test
// with errors.Is), and to Err when there is one. Each backend names it
// its own (quay.Error, harbor.Error, oci.Error).
//
// Error never holds a request body, a token or a password: Message is
// scrubbed of the request's secrets.
type Error struct {
	// Backend names the backend: "quay", "harbor", "oci".
	Backend string
	// Method is the HTTP method.
	Method string
	// URL is the request URL without credentials and with every query
	// value replaced by "xxxxx" (the keys are kept).
	URL string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Code is the registry's error code (the distribution
	// specification's NAME_UNKNOWN, DENIED, ...; Harbor's NOT_FOUND,
	// PRECONDITION, ...), when it sent one.
	Code string
	// Message is the server's message, a short text for an HTML or empty
	// body, or what went wrong.
	Message string
	// Attempts is how many times the request was sent.
	Attempts int
	// Ambiguous reports that an attempt that was then retried may have
	// reached the server: a create that answers "already exists" may
	// have been this request's own earlier attempt.
	Ambiguous bool
	// Err is the underlying transport or decoding error, if any.
	Err error
	// Kind is the quaymirror sentinel the error unwraps to.
	Kind error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Backend + ": " + e.Method + " " + e.URL + ": ")
	switch {
	case e.Status != 0:
		b.WriteString(strconv.Itoa(e.Status))
		if t := http.StatusText(e.Status); t != "" {
			b.WriteString(" " + t)
		}
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		b.WriteString(" (after " + strconv.Itoa(e.Attempts) + " attempts)")
	}
	return b.String()
}

// Unwrap returns Kind and Err, those that are set.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// StatusKind maps the status of an error answer to the quaymirror
// sentinel it means for every HTTP backend: 401 ErrUnauthorized, 403
// ErrForbidden, 404 ErrNotFound, 409 ErrAlreadyExists, 429
// ErrRateLimited, 5xx ErrUnavailable, any other 4xx ErrInvalid, anything
// else ErrBadResponse. A backend reads its error body first where that
// says more (RegistryKind; Quay's messages).
func StatusKind(status int) error {
	switch {
	case status == http.StatusUnauthorized:
		return quaymirror.ErrUnauthorized
	case status == http.StatusForbidden:
		return quaymirror.ErrForbidden
	case status == http.StatusNotFound:
		return quaymirror.ErrNotFound
	case status == http.StatusConflict:
		return quaymirror.ErrAlreadyExists
	case status == http.StatusTooManyRequests:
		return quaymirror.ErrRateLimited
	case status >= 500:
		return quaymirror.ErrUnavailable
	case status >= 400:
		return quaymirror.ErrInvalid
	}
	return quaymirror.ErrBadResponse
}

// RegistryKind is StatusKind for an API that names its errors by code,
// as the distribution specification's registry API and Harbor's do:
// where the status leaves the reason open (not 401, 403 or 404), the
// code rateLimited (each API spells its own) is ErrRateLimited, and the
// code UNSUPPORTED or a 405 ErrUnsupported.
func RegistryKind(status int, code, rateLimited string) error {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return StatusKind(status)
	case status == http.StatusTooManyRequests || (code != "" && code == rateLimited):
		return quaymirror.ErrRateLimited
	case code == "UNSUPPORTED" || status == http.StatusMethodNotAllowed:
		return quaymirror.ErrUnsupported
	}
	return StatusKind(status)
}

// registryErrors is the error answer of the distribution specification,
// which Harbor's API shares: {"errors":[{"code","message","detail"}]}.
type registryErrors struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// maxOtherBody bounds what DescribeErrors keeps of another body.
const maxOtherBody = 200

// DescribeErrors returns the code and message of an error answer in the
// distribution specification's form: its first error (and how many more
// there are), or a short text for any other body (an HTML page of a
// proxy, say). The message is not scrubbed.
func DescribeErrors(raw []byte) (code, msg string) {
	var eb registryErrors
	if json.Unmarshal(raw, &eb) == nil && len(eb.Errors) > 0 {
		first := eb.Errors[0]
		msg = first.Message
		if len(eb.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(eb.Errors)-1)
		}
		return first.Code, msg
	}
	text := strings.TrimSpace(string(raw))
	switch {
	case text == "":
		return "", ""
	case strings.HasPrefix(text, "<"):
		return "", "an HTML page (a proxy's?) instead of the registry's answer"
	}
	if len(text) > maxOtherBody {
		text = text[:maxOtherBody] + "…"
	}
	return "", text
}
