package harbor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Error is a failed request: an answer other than 2xx, an answer that
// cannot be understood, or a transport failure after the retries. It
// unwraps to the quaymirror sentinel that matches (test with errors.Is) and
// to Err when there is one. Message never holds a password or token.
type Error struct {
	// Method is the HTTP method.
	Method string
	// URL is the request URL without credentials and with every query
	// value replaced by "xxxxx".
	URL string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Code is Harbor's error code (NOT_FOUND, UNAUTHORIZED, FORBIDDEN,
	// PRECONDITION, ...), when it sent one.
	Code string
	// Message is the registry's message, a short text for another body,
	// or what went wrong.
	Message string
	// Attempts is how many times the request was sent.
	Attempts int
	// Err is the underlying error, if any.
	Err error

	kind error // the quaymirror sentinel
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("harbor: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		b.WriteString(strconv.Itoa(e.Status))
		if t := http.StatusText(e.Status); t != "" {
			b.WriteByte(' ')
			b.WriteString(t)
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

// Unwrap returns the matching quaymirror sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// errorBody is Harbor's error answer (its Errors definition), which the
// registry API under /v2/ shares.
type errorBody struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// describe returns the code and message of an error answer: Harbor's
// first error, or a short text for anything else (an HTML page of a
// proxy, say).
func describe(status int, raw []byte) (code, msg string) {
	var eb errorBody
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
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return "", text
}

// kindFor maps an answer to a sentinel.
func kindFor(status int, code string) error {
	switch {
	case status == http.StatusUnauthorized:
		return quaymirror.ErrUnauthorized
	case status == http.StatusForbidden:
		return quaymirror.ErrForbidden
	case status == http.StatusNotFound:
		return quaymirror.ErrNotFound
	case status == http.StatusTooManyRequests || code == "TOO_MANY_REQUEST":
		return quaymirror.ErrRateLimited
	case code == "UNSUPPORTED" || status == http.StatusMethodNotAllowed:
		return quaymirror.ErrUnsupported
	case status == http.StatusConflict:
		return quaymirror.ErrAlreadyExists
	case status >= 500:
		return quaymirror.ErrUnavailable
	case status >= 400:
		return quaymirror.ErrInvalid
	}
	return quaymirror.ErrBadResponse
}

// scrubbed returns e with its message scrubbed of secrets.
func (e *Error) scrubbed(secrets []string) *Error {
	e.Message = transport.Scrub(e.Message, secrets...)
	return e
}
