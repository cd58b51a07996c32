package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// hostilePassword is a pull password with the characters that escaping
// changes (JSON, HTML, URLs), so that an echo in any of those forms is
// caught too.
const hostilePassword = `pw"with\specials<&>/+=?%`

// secretForms returns the ways a secret can appear in output: as is,
// JSON-escaped (Go's HTML-safe form and the plain one), URL-encoded.
func secretForms(secret string) []string {
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	if b, err := json.Marshal(secret); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(secret); err == nil {
		s := strings.TrimSpace(buf.String())
		forms = append(forms, s[1:len(s)-1])
	}
	return forms
}

// checkNoSecret fails for every form of every secret found in out.
func checkNoSecret(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		for _, form := range secretForms(secret) {
			if i := strings.Index(out, form); i >= 0 {
				t.Errorf("secret %q appears (as %q): ...%s...", secret, form, out[max(0, i-300):min(len(out), i+len(form)+50)])
			}
		}
	}
}

// echoingDestination answers some requests of repositories named in the
// switch with their Authorization header and body echoed back, in every
// shape a server can use: a JSON error detail, a plain-text error, a 200
// whose JSON is of the wrong shape, a broken status line or header (Go's
// HTTP client quotes those in its errors), and a redirect whose URL
// carries the token. The other requests reach the emulator.
func echoingDestination(em *quaytest.Emulator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		auth := r.Header.Get("Authorization")
		echo := fmt.Sprintf("you sent %s %s with Authorization: %s and body %s", r.Method, r.URL, auth, body)
		raw := func(format string) {
			c, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = fmt.Fprintf(buf, format, strings.ReplaceAll(echo, "\n", " "))
			_ = buf.Flush()
		}
		jsonError := func(status int, key string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{key: echo})
		}
		repo := strings.TrimPrefix(r.URL.Path, "/api/v1/repository/echo/")
		switch {
		case r.Method == http.MethodGet && repo == "repo-00000/mirror":
			jsonError(http.StatusBadRequest, "detail")
		case r.Method == http.MethodPut && repo == "repo-00001/mirror":
			jsonError(http.StatusBadRequest, "error_message")
		case r.Method == http.MethodGet && repo == "repo-00002/mirror":
			raw("HTTP/1.1 200 OK\r\nBad Header %s\r\n\r\n")
		case r.Method == http.MethodGet && repo == "repo-00003/mirror":
			raw("%s\r\n\r\n")
		case r.Method == http.MethodPost && repo == "repo-00004/mirror":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, echo)
		case r.Method == http.MethodPost && repo == "repo-00005/mirror":
			raw("HTTP/1.1 201 Created\r\nContent-Length: %s\r\n\r\n")
		case r.Method == http.MethodGet && repo == "repo-00006/mirror" && r.URL.Query().Get("again") == "":
			u := *r.URL
			u.Scheme, u.Host = "http", r.Host
			u.User = url.UserPassword("echo", strings.TrimPrefix(auth, "Bearer "))
			u.RawQuery = url.Values{"again": {"1"}, "token": {auth}}.Encode()
			http.Redirect(w, r, u.String(), http.StatusFound)
		case r.Method == http.MethodGet && repo == "repo-00007/mirror":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"external_reference": 42, "echo": echo})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/repository" && r.URL.Query().Get("namespace") == "echo" && r.URL.Query().Has("next_page"):
			jsonError(http.StatusUnauthorized, "error")
		default:
			em.ServeHTTP(w, r)
		}
	})
}

// Neither a server that echoes the token, the password or the whole
// request in its errors, nor DEBUG logging, nor faults that make every
// command retry, makes a token or the password reach the output: stdout,
// stderr and the JSON reports of sync, plan, check and status (with
// --heal) of the real binary, tokens and credentials read from files.
func TestSecretsNeverReachTheOutput(t *testing.T) {
	t.Parallel()
	const org = "echo"
	d := startDemo(t, demo.Options{Orgs: []demo.Org{downOrg(org, 10, 4)},
		DestinationFaults: quaytest.Faults{Seed: 5, ErrorRate: 0.1, ResetRate: 0.05, RateLimitRate: 0.05}})
	fixReferences(t, d, org)
	dst := serve(t, echoingDestination(d.Destination.Emulator))

	dir := t.TempDir()
	for path, content := range map[string]string{
		"source/" + org:                demo.SourceToken,
		"destination/" + org:           demo.DestinationToken,
		"credentials/quay_username":    demo.PullUsername,
		"credentials/quay_password":    hostilePassword + "\n",
		"credentials/unrelated-backup": demo.DestinationToken,
	} {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o700))
		must(t, os.WriteFile(filepath.Join(dir, path), []byte(content), 0o600))
	}
	env := d.Environ("DESTINATION_REGISTRY="+dst.URL, "ORGANIZATIONS="+org, "DEBUG=true", "RECREATE_MIRROR_CONFIG=true",
		"SOURCE_TOKEN=", "DESTINATION_TOKEN=", "QUAY_USERNAME=", "QUAY_PASSWORD=",
		"SOURCE_TOKENS_DIR="+filepath.Join(dir, "source"), "DESTINATION_TOKENS_DIR="+filepath.Join(dir, "destination"),
		"QUAY_CREDENTIALS_DIR="+filepath.Join(dir, "credentials"))
	// Environ keeps empty values; drop them so that only the files hold
	// the secrets.
	var clean []string
	for _, kv := range env {
		if !strings.HasSuffix(kv, "=") {
			clean = append(clean, kv)
		}
	}

	var all strings.Builder
	echoed := 0
	for _, args := range [][]string{
		{"check"}, {"check", "-o", "json"}, {"plan"}, {"plan", "-o", "json"},
		{"sync"}, {"sync", "-o", "json"}, {"status"}, {"status", "--heal", "-o", "json"},
	} {
		r := runBinary(t, clean, args...)
		if r.code == 2 {
			t.Fatalf("%v: the configuration was refused:\n%s", args, r)
		}
		out := r.stdout + r.stderr
		echoed += strings.Count(out, "you sent") + strings.Count(out, "you%20sent")
		all.WriteString(out)
	}
	out := all.String()
	if !strings.Contains(out, `"@level":"debug"`) || echoed == 0 || !regexp.MustCompile(`malformed|bad Content-Length`).MatchString(out) {
		t.Fatalf("no debug log, no echoed error or no broken answer in the output: the test would prove nothing\n%s", clip(out))
	}
	checkNoSecret(t, out, demo.SourceToken, demo.DestinationToken, hostilePassword)
}
