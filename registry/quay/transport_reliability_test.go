package quay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A server can make Go's HTTP client quote what it sent: a broken status
// line or header ends in a transport error that quotes it, and a status
// line's reason phrase is free text. A server echoing the request there
// (its Authorization header, its body with the mirror password) must not
// get the token or the password into the debug log, which logs transport
// errors and the reasons of retries.
func TestDebugLogRedactsWhatTheServerEchoes(t *testing.T) {
	t.Parallel()
	for _, answer := range []string{
		"%s\r\n\r\n", // malformed status line
		"HTTP/1.1 200 OK\r\nBad Header %s\r\n\r\n",           // malformed header
		"HTTP/1.1 201 Created\r\nContent-Length: %s\r\n\r\n", // bad Content-Length
		"HTTP/1.1 503 %s\r\nContent-Length: 0\r\n\r\n",       // retried, reason phrase logged
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			echo := strings.NewReplacer("\r", " ", "\n", " ").Replace(r.Header.Get("Authorization") + " " + string(body))
			_, _ = fmt.Fprintf(buf, answer, echo)
			_ = buf.Flush()
		}))
		var log bytes.Buffer
		logger := hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Debug, JSONFormat: true})
		c, err := New(srv.URL, WithToken(testToken), WithLogger(logger), WithRetry(1, time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		c.disc.doc = fallbackShape()
		cfg := baseConfig()
		cfg.Password = testPassword
		err = c.CreateMirror(context.Background(), "acme", "app", cfg)
		srv.Close()
		if err == nil {
			t.Errorf("%q: CreateMirror succeeded", answer)
		}
		out := log.String() + fmt.Sprint(err)
		if !strings.Contains(out, "redacted") {
			t.Errorf("%q: the echo did not reach the log: the test proves nothing\n%s", answer, out)
		}
		for _, secret := range []string{testToken, testPassword} {
			if strings.Contains(out, secret) {
				t.Errorf("%q: %q in the log or error:\n%s", answer, secret, out)
			}
		}
	}
}
