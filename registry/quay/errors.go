package quay

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Error is a failed request: an answer other than 2xx, an answer that
// cannot be understood, or a transport failure after the retries. It
// unwraps to the quaymirror sentinel that matches (test with errors.Is) and
// to Err when there is one.
//
// Error never holds the request body, the token, or a password sent in the
// request: Message is scrubbed of them.
type Error struct {
	// Method is the HTTP method.
	Method string
	// URL is the request URL without credentials and with every query
	// value replaced by "xxxxx" (the keys are kept).
	URL string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Message is the server's message (Quay's detail, error_message,
	// message or error field), a short text for an HTML or empty body, or
	// what went wrong reading the answer.
	Message string
	// Attempts is how many times the request was sent.
	Attempts int
	// Err is the underlying transport or decoding error, if any.
	Err error

	kind      error // the quaymirror sentinel
	ambiguous bool  // an earlier attempt may have reached the server
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("quay: ")
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
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		b.WriteString(" (after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts)")
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

// kindFor maps a status and Quay's message to a quaymirror sentinel.
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
	case status == http.StatusUnauthorized:
		return quaymirror.ErrUnauthorized
	case status == http.StatusForbidden:
		// A bad or expired token on a write falls into Quay's CSRF check.
		if strings.Contains(lower, "csrf") {
			return quaymirror.ErrUnauthorized
		}
		return quaymirror.ErrForbidden
	case status == http.StatusPaymentRequired:
		// Quay's quota and licence refusals.
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

// maxMessage bounds the server message kept in an Error.
const maxMessage = 1000

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

// scrub removes secrets from a message, collapses white space and bounds
// the length. Secrets are also matched in their JSON-escaped form, in which
// a server may echo them.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = redactSecret(msg, s)
		if q, err := json.Marshal(s); err == nil {
			if esc := string(q[1 : len(q)-1]); esc != s {
				msg = redactSecret(msg, esc)
			}
		}
	}
	msg = strings.Join(strings.FieldsFunc(msg, unicode.IsSpace), " ")
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8Start(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// shortSecret is the length under which a secret is redacted only where it
// stands alone: a one-character password is in almost every word, and
// redacting it there garbles the message ("[redacted]rovided") while
// telling a reader which character it is.
const shortSecret = 8

// redactSecret replaces the occurrences of secret in msg with
// "[redacted]": every occurrence of a secret of shortSecret characters or
// more, only whole occurrences of a shorter one (not preceded or followed
// by a letter or digit where the secret itself starts or ends with one).
func redactSecret(msg, secret string) string {
	if len(secret) >= shortSecret {
		return strings.ReplaceAll(msg, secret, redactedText)
	}
	first, _ := utf8.DecodeRuneInString(secret)
	last, _ := utf8.DecodeLastRuneInString(secret)
	var b strings.Builder
	rest := msg
	for {
		i := strings.Index(rest, secret)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		before, _ := utf8.DecodeLastRuneInString(rest[:i])
		after, _ := utf8.DecodeRuneInString(rest[i+len(secret):])
		whole := (i == 0 || !wordRune(first) || !wordRune(before)) &&
			(i+len(secret) == len(rest) || !wordRune(last) || !wordRune(after))
		b.WriteString(rest[:i])
		if whole {
			b.WriteString(redactedText)
		} else {
			b.WriteString(secret)
		}
		rest = rest[i+len(secret):]
	}
}

const redactedText = "[redacted]"

func wordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// cleanURL renders u without user information or fragment, with every
// query value replaced by "xxxxx": page tokens and the like never reach an
// error or a log line, while the keys still say what was asked.
func cleanURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := c.String()
	if u.RawQuery == "" {
		return s
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return s + "?xxxxx"
	}
	keys := slices.Sorted(maps.Keys(q))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=xxxxx"
	}
	return s + "?" + strings.Join(parts, "&")
}
