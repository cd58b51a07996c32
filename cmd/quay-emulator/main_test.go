package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command until the test ends and returns its URL.
func start(t *testing.T, args ...string) (url string, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	stderr = &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, pw, stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no URL printed: %v; stderr %s; exit %d", err, stderr, <-code)
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != exitOK {
			t.Errorf("exit code after interrupt = %d, want 0; stderr %s", c, stderr)
		}
	})
	return strings.TrimSpace(line), stderr
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServesSeedAndVersion(t *testing.T) {
	url, _ := start(t, "-version", "3.6", "-seed", "../../registry/quay/quaytest/testdata/seed.json")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("URL %q", url)
	}
	code, body := get(t, url+"/api/v1/repository?namespace=acme", "admin-token")
	if code != 200 || !strings.Contains(body, `"team/tool"`) {
		t.Errorf("listing: %d %s", code, body)
	}
	// 3.6 has no skopeo timeout in its schemas.
	if _, body := get(t, url+"/api/v1/discovery", ""); strings.Contains(body, "skopeo_timeout_interval") {
		t.Error("3.6 discovery mentions skopeo_timeout_interval")
	}
}

func TestAdminTokenAndFaults(t *testing.T) {
	url, _ := start(t, "-admin-token", "s3cret", "-error-rate", "1", "-error-status", "502", "-fault-routes", "GET /api/v1/discovery")
	if code, body := get(t, url+"/api/v1/user/", "s3cret"); code != 200 || !strings.Contains(body, `"username":"admin"`) {
		t.Errorf("whoami: %d %s", code, body)
	}
	if code, _ := get(t, url+"/api/v1/discovery", ""); code != 502 {
		t.Errorf("discovery: %d, want the injected 502", code)
	}
}

func TestUsageAndStartErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-no-such-flag"}, exitUsage, "flag provided but not defined"},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
		{[]string{"-version", "2.9"}, exitError, "only Quay 3.x"},
		{[]string{"-seed", "testdata/missing.json"}, exitError, "missing.json"},
		{[]string{"-error-rate", "2"}, exitError, "fault rates"},
		{[]string{"-listen", "256.0.0.1:0"}, exitError, "256.0.0.1"},
		{[]string{"-h"}, exitOK, "usage: quay-emulator"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
