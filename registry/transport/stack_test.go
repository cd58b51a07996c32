package transport

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

const (
	testToken    = "tok-SECRET-1234567890"
	testPassword = "pw-SECRET-0987654321"
)

// Each RoundTripper on its own, over stub transports (parallel).

func TestUserAgent(t *testing.T) {
	t.Parallel()
	var got string
	rt := &UserAgent{Value: "ua/1", Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Get("User-Agent")
		return answer(r, 200, ""), nil
	})}
	req, _ := http.NewRequest("GET", "https://registry.test/", nil)
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got != "ua/1" {
		t.Errorf("User-Agent = %q", got)
	}
	if req.Header.Get("User-Agent") != "Go-http-client/1.1" {
		t.Error("the caller's request was modified")
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	origin, _ := url.Parse("https://registry.test")
	for _, tc := range []struct {
		url, preset, want string
		token             quaymirror.Secret
	}{
		{url: "https://registry.test/api/v1/user/", token: testToken, want: "Bearer " + testToken},
		{url: "https://REGISTRY.test:443/api/v1/user/", token: testToken, want: "Bearer " + testToken},
		{url: "https://other.test/api/v1/user/", token: testToken, want: ""},
		{url: "https://registry.test:8443/api/v1/user/", token: testToken, want: ""},
		{url: "http://registry.test/api/v1/user/", token: testToken, want: ""},
		{url: "https://other.test/", token: testToken, preset: "Bearer leaked", want: ""},
		{url: "https://registry.test/api/v1/user/", token: "", want: ""},
	} {
		var got string
		rt := &Credentials{Origin: origin, Authorization: Bearer(tc.token), Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Get("Authorization")
			return answer(r, 200, ""), nil
		})}
		req, _ := http.NewRequest("GET", tc.url, nil)
		if tc.preset != "" {
			req.Header.Set("Authorization", tc.preset)
		}
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s (token %v): Authorization = %q, want %q", tc.url, tc.token != "", got, tc.want)
		}
		if tc.preset == "" && req.Header.Get("Authorization") != "" {
			t.Errorf("%s: the caller's request was modified", tc.url)
		}
	}
}

func TestLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug})
	rt := &Log{Logger: logger, Name: "registry", Redact: []string{testToken}, Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Path, "fail") {
			return nil, errors.New("boom")
		}
		return answer(r, 204, ""), nil
	})}
	req, _ := http.NewRequestWithContext(withAttempt(context.Background(), 3), "GET", "https://registry.test/api/v1/repository?namespace=acme&next_page=SECRETPAGE", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("POST", "https://registry.test/fail", strings.NewReader(testPassword))
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("want the error passed through")
	}
	out := buf.String()
	for _, want := range []string{
		"method=GET", "url=\"https://registry.test/api/v1/repository?namespace=xxxxx&next_page=xxxxx\"", "status=204", "attempt=3", "duration=",
		"registry request failed", "error=boom", "attempt=1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{testToken, testPassword, "SECRETPAGE"} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks %q:\n%s", secret, out)
		}
	}
}

func TestLogSilentAboveDebug(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	rt := &Log{Logger: hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info}),
		Next: roundTripFunc(func(r *http.Request) (*http.Response, error) { return answer(r, 200, ""), nil })}
	req, _ := http.NewRequest("GET", "https://registry.test/", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("logged at Info: %s", buf.String())
	}
}

func TestCheckRedirect(t *testing.T) {
	t.Parallel()
	mk := func(u string) *http.Request {
		r, _ := http.NewRequest("GET", u, nil)
		return r
	}
	for _, tc := range []struct {
		from, to string
		allow    bool
		ok       bool
	}{
		{"https://registry.test/a", "https://registry.test/b", false, true},
		{"https://registry.test/a", "http://registry.test/b", true, false},
		{"http://127.0.0.1/a", "http://quay.example.com/b", false, false},
		{"http://127.0.0.1/a", "http://quay.example.com/b", true, true},
		{"http://127.0.0.1/a", "https://quay.example.com/b", false, true},
	} {
		req := mk(tc.to)
		req.Header.Set("Authorization", "Bearer x")
		err := CheckRedirect(tc.allow)(req, []*http.Request{mk(tc.from)})
		if (err == nil) != tc.ok {
			t.Errorf("%s -> %s (allow %v): err = %v", tc.from, tc.to, tc.allow, err)
		}
		if err == nil && !SameOrigin(req.URL, mk(tc.from).URL) && req.Header.Get("Authorization") != "" {
			t.Errorf("%s -> %s kept Authorization", tc.from, tc.to)
		}
	}
	via := make([]*http.Request, maxRedirects)
	for i := range via {
		via[i] = mk("https://registry.test/")
	}
	if err := CheckRedirect(false)(mk("https://registry.test/x"), via); err == nil {
		t.Error("followed too many redirects")
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		secrets []string
		want    string
	}{
		{"a SECRET b", []string{"SECRET"}, "a [redacted] b"},
		{`pw "q\"uote"`, []string{`q"uote`}, `pw "[redacted]"`},
		{"nothing\n\tto  hide", []string{"", "zzz"}, "nothing to hide"},
		{strings.Repeat("é", 600), nil, strings.Repeat("é", 500) + "…"},
		// A short secret is redacted where it stands alone, not inside
		// the words it happens to be part of.
		{"The provided registry location is not allowed", []string{"p"}, "The provided registry location is not allowed"},
		{`{"password": "p", "user": "p@q"}`, []string{"p"}, `{"password": "[redacted]", "user": "[redacted]@q"}`},
		{"p", []string{"p"}, "[redacted]"},
		{"pw=ab12 ab123 xab12", []string{"ab12"}, "pw=[redacted] ab123 xab12"},
		{"hello! !x", []string{"!"}, "hello[redacted] [redacted]x"},
		// A long one is redacted wherever it appears.
		{"xxSECRET-VALUEyy", []string{"SECRET-VALUE"}, "xx[redacted]yy"},
	} {
		if got := Scrub(tc.in, tc.secrets...); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:pw@registry.test/api/v1/repository?namespace=acme&next_page=abc#frag": "https://registry.test/api/v1/repository?namespace=xxxxx&next_page=xxxxx",
		"https://registry.test/api/v1/repository/acme/team/app%20one/mirror":                "https://registry.test/api/v1/repository/acme/team/app%20one/mirror",
		"http://127.0.0.1:8080/api/v1/user/":                                                "http://127.0.0.1:8080/api/v1/user/",
		"https://registry.test/x?%zz":                                                       "https://registry.test/x?xxxxx",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := CleanURL(u); got != want {
			t.Errorf("CleanURL(%q) = %q, want %q", in, got, want)
		}
	}
}
