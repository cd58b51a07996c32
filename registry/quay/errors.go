package quay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// Error is a failed request to Quay (transport.Error, the error of every
// HTTP backend): an answer other than 2xx, an answer that cannot be
// understood, or a transport failure after the retries. It unwraps to the
// quaymirror sentinel that matches (test with errors.Is) and to Err when
// there is one. Its Message is Quay's message (its detail, error_message,
// message or error field), a short text for an HTML or empty body, or
// what went wrong reading the answer.
//
// Error never holds the request body, the token, or a password sent in the
// request: Message is scrubbed of them.
type Error = transport.Error

// kindFor maps a status and Quay's message to a quaymirror sentinel:
// what Quay says in a 400, 402 and 403, and otherwise what the status
// means to every backend.
func kindFor(status int, msg string) error {
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusBadRequest:
		switch {
		case strings.Contains(lower, "organization-level mirror"):
			return quaymirror.ErrOrgMirrored
		case strings.Contains(lower, "already exist"), strings.Contains(lower, "existing robot"):
			return quaymirror.ErrAlreadyExists
		case sourceRefused(lower):
			return quaymirror.ErrSourceNotAllowed
		case strings.Contains(lower, "could not find robot"):
			return quaymirror.ErrRobotNotFound
		case strings.Contains(lower, "requires feature_sparse_index"):
			return quaymirror.ErrUnsupported
		}
		return quaymirror.ErrInvalid
	case status == http.StatusForbidden && strings.Contains(lower, "csrf"):
		// A bad or expired token on a write falls into Quay's CSRF check.
		return quaymirror.ErrUnauthorized
	case status == http.StatusPaymentRequired:
		// Quay's quota and licence refusals.
		return quaymirror.ErrForbidden
	}
	return transport.StatusKind(status)
}

// sourceRefused reports whether a (lowercased) 400 message is Quay
// refusing a mirror's external_reference host: the API's generic SSRF
// answer (3.17.4, and the PUT of 3.9.25, 3.10.25, 3.12.21), the detailed
// ones of enable_mirroring_for_repository (the POST of those lines), or a
// name the destination cannot resolve.
func sourceRefused(lower string) bool {
	switch {
	case strings.Contains(lower, "registry location is not allowed"),
		strings.Contains(lower, "private or reserved ip address"),
		strings.HasPrefix(lower, "hostname '") && strings.HasSuffix(lower, "' is not allowed"),
		strings.HasPrefix(lower, "cannot resolve hostname '"):
		return true
	}
	return false
}

// errorMessage extracts the message of an error answer. Quay answers in
// several shapes: {"detail", "error_message", ...} (ApiException),
// {"detail"} (hand-returned), {"message"} (model and Flask errors),
// {"error"} (CSRF and auth aborts), an nginx HTML page, or nothing.
func errorMessage(status int, contentType string, body []byte) string {
	trimmed := bytes.TrimSpace(body)
	generic := http.StatusText(status)
	if generic == "" {
		generic = "status " + strconv.Itoa(status)
	}
	switch {
	case len(trimmed) == 0:
		return ""
	case strings.Contains(strings.ToLower(contentType), "html") || trimmed[0] == '<':
		return "HTML error page"
	case trimmed[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return "unreadable JSON error body"
		}
		for _, k := range []string{"detail", "error_message", "message", "error"} {
			if raw, ok := obj[k]; ok {
				if s := rawText(raw); s != "" {
					return s
				}
			}
		}
		return generic
	case trimmed[0] == '"':
		return rawText(trimmed)
	}
	line, _, _ := strings.Cut(string(trimmed), "\n")
	return line
}

// rawText renders a JSON value as text: a string as itself, anything else
// compactly (Flask-RESTful nests field errors in objects).
func rawText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return ""
	}
	return buf.String()
}
