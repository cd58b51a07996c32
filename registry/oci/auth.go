package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/transport"
)

// The token flow of the distribution specification, written here rather
// than taken from go-containerregistry's transport: that one keeps one
// token whose scopes grow with every repository touched (a token request
// naming hundreds of repositories), refuses a token service on a private
// or loopback address other than the registry's own host:port (where an
// on-premises registry's often is), pings in its constructor, and would
// stack its own retries beside registry/transport's.

// maxTokens bounds the tokens kept, one per scope.
const maxTokens = 1024

// tokenMargin is how long before its end a token is renewed.
const tokenMargin = 10 * time.Second

type token struct {
	value   quaymirror.Secret
	expires time.Time
}

// authState is what the client learnt of the registry's authentication:
// its scheme ("", "basic" or "bearer"), the token service, and the
// tokens it handed out, by scope.
type authState struct {
	now     func() time.Time
	mu      sync.Mutex
	scheme  string
	realm   *url.URL
	service string
	tokens  map[string]token
}

func newAuthState(now func() time.Time) *authState {
	return &authState{now: now, tokens: make(map[string]token)}
}

func (a *authState) learnBasic() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scheme = "basic"
}

// learnBearer records the token service of a Bearer challenge. Its realm
// must be https, or http on loopback or when allowed: the credentials go
// there.
func (a *authState) learnBearer(ch challenge, allowInsecureHTTP bool) error {
	raw := ch.params["realm"]
	if raw == "" {
		return errors.New("the registry's Bearer challenge names no realm (token service)")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return errors.New("the registry's Bearer challenge names a realm that is not a URL")
	case u.User != nil:
		return errors.New("the registry's Bearer challenge names a realm with credentials in it")
	}
	if err := transport.CheckScheme(u, allowInsecureHTTP); err != nil {
		return fmt.Errorf("the registry's token service: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.realm == nil || a.realm.String() != u.String() || a.service != ch.params["service"] {
		a.tokens = make(map[string]token)
	}
	a.scheme, a.realm, a.service = "bearer", u, ch.params["service"]
	return nil
}

func (a *authState) store(scope string, t token) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tokens) >= maxTokens {
		now := a.now()
		for s, old := range a.tokens {
			if !now.Before(old.expires) {
				delete(a.tokens, s)
			}
		}
		if len(a.tokens) >= maxTokens {
			clear(a.tokens)
		}
	}
	a.tokens[scope] = t
}

// state returns the scheme, the token service and a valid token of the
// scope if one is kept.
func (a *authState) state(scope string) (scheme string, realm *url.URL, service string, tok quaymirror.Secret) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[scope]
	if ok && a.now().Add(tokenMargin).Before(t.expires) {
		tok = t.value
	}
	return a.scheme, a.realm, a.service, tok
}

// authorization is the Authorization value of a request needing scope.
func (c *Client) authorization(ctx context.Context, scope string) (string, error) {
	if c.token != "" {
		return "Bearer " + c.token.Reveal(), nil
	}
	scheme, _, _, tok := c.auth.state(scope)
	switch scheme {
	case "basic":
		if c.username == "" {
			return "", nil
		}
		return transport.Basic(c.username, c.password).Reveal(), nil
	case "bearer":
		if tok == "" {
			t, err := c.fetchToken(ctx, scope)
			if err != nil {
				return "", err
			}
			c.auth.store(scope, t)
			tok = t.value
		}
		return "Bearer " + tok.Reveal(), nil
	}
	return "", nil
}

// tokenAnswer is a token service's answer.
type tokenAnswer struct {
	Token       string    `json:"token"`
	AccessToken string    `json:"access_token"`
	ExpiresIn   int       `json:"expires_in"`
	IssuedAt    time.Time `json:"issued_at"`
}

// minTokenLifetime is the lifetime a token service that says none
// implies (the specification's default).
const minTokenLifetime = 60 * time.Second

// fetchToken asks the token service for a token of scope, with the
// credentials (Basic) or anonymously.
func (c *Client) fetchToken(ctx context.Context, scope string) (token, error) {
	_, realm, service, _ := c.auth.state(scope)
	if realm == nil {
		return token{}, &Error{Backend: "oci", Method: http.MethodGet, URL: c.base.String(), Message: "no token service known", Kind: quaymirror.ErrBadResponse}
	}
	u := *realm
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	u.RawQuery = q.Encode()
	authz := ""
	if c.username != "" {
		authz = transport.Basic(c.username, c.password).Reveal()
	}
	rep, err := c.do(ctx, http.MethodGet, &u, authz, nil)
	if err != nil {
		return token{}, err
	}
	if !rep.OK() {
		e := fail(rep)
		if rep.Status == http.StatusUnauthorized || rep.Status == http.StatusForbidden {
			e.Kind = quaymirror.ErrUnauthorized
			why := "the registry's token service rejected the credentials"
			if c.username == "" {
				why = "the registry's token service refuses anonymous access: give credentials"
			}
			e.Message = strings.TrimSpace(why + ". " + e.Message)
		}
		return token{}, e
	}
	var ta tokenAnswer
	if err := json.Unmarshal(rep.Body, &ta); err != nil {
		return token{}, rep.Bad("the token service's answer is not JSON: %v", err)
	}
	value := ta.Token
	if value == "" {
		value = ta.AccessToken
	}
	if value == "" || transport.HasSpaceOrControl(value) {
		return token{}, rep.Bad("the token service's answer holds no usable token")
	}
	life := time.Duration(ta.ExpiresIn) * time.Second
	if life < minTokenLifetime {
		life = minTokenLifetime
	}
	start := c.auth.now()
	if !ta.IssuedAt.IsZero() && ta.IssuedAt.Before(start) {
		start = ta.IssuedAt
	}
	return token{value: quaymirror.Secret(value), expires: start.Add(life)}, nil
}

// challenge is one challenge of a WWW-Authenticate header (RFC 7235):
// its scheme in lower case and its parameters, keys in lower case.
type challenge struct {
	scheme string
	params map[string]string
}

// pickChallenge returns the Bearer challenge of an answer, or its Basic
// one.
func pickChallenge(h http.Header) (challenge, bool) {
	var basic *challenge
	for _, v := range h.Values("WWW-Authenticate") {
		for _, ch := range parseChallenges(v) {
			switch ch.scheme {
			case "bearer":
				return ch, true
			case "basic":
				basic = &ch
			}
		}
	}
	if basic != nil {
		return *basic, true
	}
	return challenge{}, false
}

// parseChallenges parses a WWW-Authenticate value: challenges separated
// by commas, each a scheme and comma-separated key=value parameters,
// values tokens or quoted strings.
func parseChallenges(v string) []challenge {
	var out []challenge
	p := &parser{s: v}
	for {
		p.skip(", \t")
		scheme := p.token()
		if scheme == "" {
			return out
		}
		ch := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
		for {
			p.skip(" \t")
			save := p.i
			key := p.token()
			p.skip(" \t")
			if key == "" || !p.eat('=') {
				p.i = save // the next challenge's scheme
				break
			}
			p.skip(" \t")
			var val string
			if p.peek() == '"' {
				val = p.quoted()
			} else {
				val = p.bare()
			}
			ch.params[strings.ToLower(key)] = val
			p.skip(" \t")
			if !p.eat(',') {
				break
			}
		}
		out = append(out, ch)
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) eat(b byte) bool {
	if p.peek() == b && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// token reads an RFC 7230 token, "/" included (scopes and realms in
// unquoted values hold it).
func (p *parser) token() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),:;<=>?@[\\]{}", c) >= 0 {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// bare reads an unquoted value up to a comma or white space (a realm URL
// sent unquoted, against the RFC, still parses).
func (p *parser) bare() string {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(", \t", p.s[p.i]) < 0 {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) quoted() string {
	p.i++ // the opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
