package transport

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessage bounds what Scrub keeps of a message.
const MaxMessage = 1000

// Scrub removes secrets from a message, collapses white space and bounds
// the length. Secrets are also matched in their JSON-escaped form, in which
// a server may echo them.
func Scrub(msg string, secrets ...string) string {
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
	if len(msg) > MaxMessage {
		cut := MaxMessage
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

// CleanURL renders u without user information or fragment, with every
// query value replaced by "xxxxx": page tokens and the like never reach an
// error or a log line, while the keys still say what was asked.
func CleanURL(u *url.URL) string {
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
