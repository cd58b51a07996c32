package oci_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// tokenFront puts the distribution specification's token authentication
// in front of a registry handler (go-containerregistry's in-memory
// registry, which has none): /token hands out tokens for Basic
// credentials (or anonymously), and every /v2/ request needs a token
// granting its scope, else it is answered 401 with a Bearer challenge
// naming the scope, as Docker Hub and the distribution registry answer.
type tokenFront struct {
	next           http.Handler
	user, password string
	// anonymous lets /token hand out tokens without credentials.
	anonymous bool
	// refuseCatalog never grants registry:catalog:* (Docker Hub).
	refuseCatalog bool
	// expiresIn is the tokens' lifetime in seconds (0: none said).
	expiresIn int

	realm         string
	tokenRequests atomic.Int64
	catalogCalls  atomic.Int64
	mu            sync.Mutex
	tokens        map[string]map[string]bool // token → "type:name:action" granted
}

func (f *tokenFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		f.issue(w, r)
		return
	}
	if r.URL.Path == "/v2/_catalog" {
		f.catalogCalls.Add(1)
	}
	need := neededScope(r)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	granted, known := f.tokens[tok]
	f.mu.Unlock()
	if !known || (need != "" && !grants(granted, need)) {
		challenge := fmt.Sprintf(`Bearer realm="%s",service="front"`, f.realm)
		if need != "" {
			challenge += fmt.Sprintf(`,scope="%s"`, need)
		}
		if known {
			challenge += `,error="insufficient_scope"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	f.next.ServeHTTP(w, r)
}

// issue answers /token: a token granting the scopes asked for, but the
// catalog when refused.
func (f *tokenFront) issue(w http.ResponseWriter, r *http.Request) {
	f.tokenRequests.Add(1)
	user, pass, ok := r.BasicAuth()
	switch {
	case ok && (user != f.user || pass != f.password):
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"details":"incorrect username or password"}`)
		return
	case !ok && !f.anonymous:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"details":"authentication required"}`)
		return
	}
	granted := map[string]bool{}
	for _, scope := range r.URL.Query()["scope"] {
		for s := range strings.FieldsSeq(scope) {
			typ, rest, _ := strings.Cut(s, ":")
			i := strings.LastIndexByte(rest, ':')
			if i < 0 {
				continue
			}
			if typ == "registry" && f.refuseCatalog {
				continue
			}
			for a := range strings.SplitSeq(rest[i+1:], ",") {
				granted[typ+":"+rest[:i]+":"+a] = true
			}
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	f.mu.Lock()
	if f.tokens == nil {
		f.tokens = map[string]map[string]bool{}
	}
	f.tokens[tok] = granted
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": f.expiresIn})
}

// neededScope is the scope a registry request needs: none for /v2/,
// the catalog's, or pull (push for writes) on the repository.
func neededScope(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	switch {
	case p == "" || p == r.URL.Path:
		return ""
	case p == "_catalog":
		return "registry:catalog:*"
	}
	for _, sep := range []string{"/tags/", "/manifests/", "/blobs/"} {
		if i := strings.Index(p, sep); i > 0 {
			action := "pull"
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				action = "push"
			}
			return "repository:" + p[:i] + ":" + action
		}
	}
	return "registry:unknown:*"
}

func grants(granted map[string]bool, need string) bool { return granted[need] }
