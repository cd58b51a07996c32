package quaytest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// DefaultPageTokenTTL is how long a page token stays valid, as Quay's
// encrypted tokens do (util/pagination.py).
const DefaultPageTokenTTL = 48 * time.Hour

// Emulator is an http.Handler that answers Quay's /api/v1 like a real
// Quay of the configured version, with its state in a *fake.Registry. It
// is safe for concurrent use; every request costs O(1) or O(page) in the
// size of the registry.
type Emulator struct {
	reg      *fake.Registry
	version  Version
	features Features
	now      func() time.Time
	tokenTTL time.Duration
	started  time.Time
	defs     map[string]*schema // request schemas of the version
	routes   []*route

	// wmu makes each write request's checks and effects atomic with
	// respect to the other write requests.
	wmu sync.Mutex

	mu       sync.Mutex
	users    map[string]*user
	roles    map[string]map[string]OrgRole // organisation or "*" → user → role
	tokens   map[string]*Token
	readOnly bool
	pageKey  []byte
	extras   map[string]*mirrorExtras // "namespace/name" → what fake.Registry does not hold
	// orphanRules are the RepoMirrorRule rows that mirror POSTs failing
	// after create_rule left behind ("namespace/name" → their values,
	// oldest first).
	orphanRules map[string][][]string
	// undecryptable are the mirrors whose stored credentials no longer
	// decrypt ("namespace/name").
	undecryptable map[string]bool
	events        map[string][]event // "namespace/name" → configuration changes, oldest first
	requests      map[string]int     // "METHOD /route/template" → count
	reads         int
	writes        int

	faults *faultState
}

type user struct {
	name      string
	superuser bool
}

// OrgRole is a user's role in an organisation, as Quay's teams give it.
type OrgRole string

// Organisation roles, weakest first.
const (
	// OrgMember sees the organisation but no repository by itself.
	OrgMember OrgRole = "member"
	// OrgCreator may create repositories (and administers those it
	// creates).
	OrgCreator OrgRole = "creator"
	// OrgAdmin administers the organisation and all its repositories.
	OrgAdmin OrgRole = "admin"
)

func (r OrgRole) rank() int {
	switch r {
	case OrgMember:
		return 1
	case OrgCreator:
		return 2
	case OrgAdmin:
		return 3
	}
	return 0
}

// AllOrganizations, as the organisation of SetOrgRole, gives the role in
// every organisation of the registry, present and future.
const AllOrganizations = "*"

// OAuth scopes Quay knows.
const (
	ScopeRepoRead   = "repo:read"
	ScopeRepoWrite  = "repo:write"
	ScopeRepoAdmin  = "repo:admin"
	ScopeRepoCreate = "repo:create"
	ScopeOrgAdmin   = "org:admin"
	ScopeUserRead   = "user:read"
	ScopeUserAdmin  = "user:admin"
	ScopeSuperUser  = "super:user"
)

// AllScopes returns every scope a Quay application can grant, which is
// what a token generated with every box ticked carries.
func AllScopes() []string {
	return []string{ScopeRepoRead, ScopeRepoWrite, ScopeRepoAdmin, ScopeRepoCreate, ScopeOrgAdmin, ScopeUserRead, ScopeUserAdmin, ScopeSuperUser}
}

// Token is an OAuth access token of the emulator.
type Token struct {
	// Token is the bearer value.
	Token string `json:"token"`
	// User is the user the token acts for.
	User string `json:"user"`
	// Scopes cap what the token may do, as in Quay: the effective role
	// is the lower of the user's role and the scopes' ceiling.
	Scopes []string `json:"scopes"`
	// Expired tokens are refused like unknown ones.
	Expired bool `json:"expired,omitempty"`
}

// Option configures an Emulator.
type Option func(*Emulator) error

// WithVersion sets the Quay version to imitate (default V3_17).
func WithVersion(v Version) Option {
	return func(e *Emulator) error {
		if v.Major != 3 {
			return fmt.Errorf("quaytest: version %s: only Quay 3.x is emulated", v)
		}
		e.version = v
		return nil
	}
}

// WithFeatures sets the feature flags (default DefaultFeatures()).
// OrgMirror has no effect before 3.17.
func WithFeatures(f Features) Option {
	return func(e *Emulator) error {
		e.features = f
		e.features.SSRFAllowedHosts = append([]string(nil), f.SSRFAllowedHosts...)
		return nil
	}
}

// WithClock sets the clock (default time.Now): default log windows, page
// token expiry, start dates.
func WithClock(now func() time.Time) Option {
	return func(e *Emulator) error {
		if now == nil {
			return errors.New("quaytest: WithClock(nil)")
		}
		e.now = now
		return nil
	}
}

// WithPageTokenTTL sets how long page tokens stay valid (default
// DefaultPageTokenTTL). An expired token silently restarts the listing,
// as in Quay.
func WithPageTokenTTL(d time.Duration) Option {
	return func(e *Emulator) error {
		if d <= 0 {
			return fmt.Errorf("quaytest: page token TTL %s is not positive", d)
		}
		e.tokenTTL = d
		return nil
	}
}

// WithFaults injects random faults from the start (see SetFaults).
func WithFaults(f Faults) Option {
	return func(e *Emulator) error { return e.faults.set(f) }
}

// New returns an emulator serving reg. It sets reg's capabilities to what
// the version and features give (see Capabilities). No user or token
// exists until AddUser/AddToken or LoadSeed: every caller is anonymous.
func New(reg *fake.Registry, opts ...Option) (*Emulator, error) {
	if reg == nil {
		return nil, errors.New("quaytest: nil registry")
	}
	e := &Emulator{
		reg:           reg,
		version:       V3_17,
		features:      DefaultFeatures(),
		now:           time.Now,
		tokenTTL:      DefaultPageTokenTTL,
		users:         make(map[string]*user),
		roles:         make(map[string]map[string]OrgRole),
		tokens:        make(map[string]*Token),
		extras:        make(map[string]*mirrorExtras),
		orphanRules:   make(map[string][][]string),
		undecryptable: make(map[string]bool),
		requests:      make(map[string]int),
		faults:        newFaultState(),
	}
	for _, opt := range opts {
		if err := opt(e); err != nil {
			return nil, err
		}
	}
	e.started = e.now().UTC().Truncate(time.Second)
	e.defs = definitions(e.version)
	e.routes = buildRoutes()
	e.pageKey = make([]byte, 32)
	if _, err := rand.Read(e.pageKey); err != nil {
		return nil, fmt.Errorf("quaytest: page token key: %w", err)
	}
	reg.SetCapabilities(e.Capabilities())
	return e, nil
}

// Registry returns the registry the emulator serves.
func (e *Emulator) Registry() *fake.Registry { return e.reg }

// Version returns the imitated Quay version.
func (e *Emulator) Version() Version { return e.version }

// Features returns the feature flags.
func (e *Emulator) Features() Features {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.features
	f.SSRFAllowedHosts = append([]string(nil), f.SSRFAllowedHosts...)
	return f
}

// Capabilities returns what a client reading /api/v1/discovery and
// /config learns: repository mirroring with FEATURE_REPO_MIRROR,
// organisation mirroring in 3.17+ with FEATURE_ORG_MIRROR, skopeo timeout
// in 3.15+, architecture filter in 3.17+ (the last two only where the
// mirror endpoints exist) and sparse index where the architecture filter
// exists and FEATURE_SPARSE_INDEX is on, read-only mode, and the version
// from 3.16.
func (e *Emulator) Capabilities() quaymirror.Capabilities {
	m := e.features.RepoMirror
	e.mu.Lock()
	readOnly := e.readOnly
	e.mu.Unlock()
	c := quaymirror.Capabilities{
		RepositoryMirroring:   m,
		OrganizationMirroring: e.orgMirrorOn(),
		SkopeoTimeout:         m && e.version.skopeoTimeout(),
		ArchitectureFilter:    m && e.version.architectureFilter(),
		SparseIndex:           m && e.version.architectureFilter() && e.features.SparseIndex,
		ReadOnly:              readOnly,
	}
	if e.version.versionNumber() {
		c.Version = e.version.String()
	}
	return c
}

func (e *Emulator) orgMirrorOn() bool { return e.features.OrgMirror && e.version.orgMirroring() }

// AddUser creates a user (a superuser if superuser is set). An existing
// user is updated.
func (e *Emulator) AddUser(name string, superuser bool) error {
	if !quaymirror.ValidNamespace(name) {
		return fmt.Errorf("quaytest: invalid user name %q", name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[name] = &user{name: name, superuser: superuser}
	return nil
}

// SetOrgRole gives user a role in org, or in every organisation when org
// is AllOrganizations. An empty role removes it. The user must exist.
func (e *Emulator) SetOrgRole(org, username string, role OrgRole) error {
	if role != "" && role.rank() == 0 {
		return fmt.Errorf("quaytest: unknown organization role %q", role)
	}
	if org != AllOrganizations && !quaymirror.ValidNamespace(org) {
		return fmt.Errorf("quaytest: invalid organization name %q", org)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[username] == nil {
		return fmt.Errorf("quaytest: no user %q", username)
	}
	if role == "" {
		delete(e.roles[org], username)
		return nil
	}
	if e.roles[org] == nil {
		e.roles[org] = make(map[string]OrgRole)
	}
	e.roles[org][username] = role
	return nil
}

// AddToken adds (or replaces) a bearer token acting for an existing user
// with the given scopes.
func (e *Emulator) AddToken(t Token) error {
	if t.Token == "" || strings.ContainsAny(t.Token, " \t\r\n") {
		return errors.New("quaytest: a token must be non-empty, without spaces")
	}
	for _, s := range t.Scopes {
		if !knownScope(s) {
			return fmt.Errorf("quaytest: unknown scope %q", s)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[t.User] == nil {
		return fmt.Errorf("quaytest: no user %q", t.User)
	}
	c := t
	c.Scopes = append([]string(nil), t.Scopes...)
	e.tokens[t.Token] = &c
	return nil
}

// AddAdmin is a shortcut: it creates user name, makes it an administrator
// of every organisation and gives it a token with scopes (every scope but
// super:user when none are given).
func (e *Emulator) AddAdmin(name, token string, scopes ...string) error {
	if len(scopes) == 0 {
		scopes = []string{ScopeRepoRead, ScopeRepoWrite, ScopeRepoAdmin, ScopeRepoCreate, ScopeOrgAdmin, ScopeUserRead}
	}
	if err := e.AddUser(name, false); err != nil {
		return err
	}
	if err := e.SetOrgRole(AllOrganizations, name, OrgAdmin); err != nil {
		return err
	}
	return e.AddToken(Token{Token: token, User: name, Scopes: scopes})
}

// RevokeToken removes a token; requests bearing it become anonymous.
func (e *Emulator) RevokeToken(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.tokens, token)
}

func knownScope(s string) bool {
	for _, k := range AllScopes() {
		if s == k {
			return true
		}
	}
	return false
}

// SetSSRFAllowedHosts replaces SSRF_ALLOWED_HOSTS, as an administrator
// editing config.yaml and restarting Quay would.
func (e *Emulator) SetSSRFAllowedHosts(hosts []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.features.SSRFAllowedHosts = append([]string(nil), hosts...)
}

// BreakCredentials makes the stored credentials of a repository's mirror
// undecryptable, as a change of Quay's DATABASE_SECRET_KEY does: GET of
// the mirror then fails with a 500 (the handler's error path names an
// undefined logger) in every version but 3.16.4 and 3.16.5, which show
// the username as "(invalid. please re-enter)". A PUT that sets the
// username (which does not decrypt the old one) repairs it.
func (e *Emulator) BreakCredentials(ns, name string) error {
	if m, ok := e.reg.Mirror(ns, name); !ok || m.Config.Username == "" {
		return fmt.Errorf("quaytest: %s/%s has no mirror with stored credentials", ns, name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.undecryptable[repoKey(ns, name)] = true
	return nil
}

// SetReadOnly puts the registry in read-only mode: every write answers 503
// {"message": "System is currently read-only...", "is_readonly": true}.
func (e *Emulator) SetReadOnly(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.readOnly = on
}

// ExpirePageTokens makes every page token handed out so far invalid, as
// if it had expired: the next request bearing one gets the first page
// again.
func (e *Emulator) ExpirePageTokens() {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pageKey = key
}

// Requests returns how many requests each route received, keyed by
// method and route template, e.g. "GET /api/v1/repository/{repo}/mirror".
// Requests no route matched count under "METHOD (unmatched)". Requests
// answered by an injected fault are counted too.
func (e *Emulator) Requests() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.requests)
}

// Reads returns how many GET, HEAD and OPTIONS requests arrived.
func (e *Emulator) Reads() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reads
}

// Writes returns how many other requests arrived.
func (e *Emulator) Writes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.writes
}

// ResetCounters zeroes the request counters and the fault counters.
func (e *Emulator) ResetCounters() {
	e.mu.Lock()
	e.requests = make(map[string]int)
	e.reads, e.writes = 0, 0
	e.mu.Unlock()
	e.faults.resetCounts()
}

func (e *Emulator) count(method, template string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests[method+" "+template]++
	if isRead(method) {
		e.reads++
	} else {
		e.writes++
	}
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// ServeHTTP answers one request: faults first, then routing, read-only
// mode, authentication, CSRF, the registry's hooks and failures, and the
// route's handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := e.resolve(r.Method, r.URL.Path)
	e.count(r.Method, m.template)
	if e.faults.serve(w, r, m.template, func(w http.ResponseWriter) { e.serve(w, r, m) }) {
		return
	}
	e.serve(w, r, m)
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, m match) {
	c := &call{e: e, w: w, r: r, match: m}
	switch {
	case m.redirect != "":
		u := *r.URL
		u.Path = m.redirect
		code := http.StatusPermanentRedirect
		if !e.version.flask2() {
			code = http.StatusMovedPermanently
		}
		http.Redirect(w, r, u.String(), code)
		return
	case m.route == nil && len(m.allowed) == 0:
		c.html(http.StatusNotFound)
		return
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", strings.Join(append(m.allowed, "OPTIONS"), ", "))
		w.WriteHeader(http.StatusOK)
		return
	case m.route == nil:
		w.Header().Set("Allow", strings.Join(append(m.allowed, "OPTIONS"), ", "))
		c.html(http.StatusMethodNotAllowed)
		return
	}
	if m.route.web {
		m.route.handle(c)
		return
	}
	e.mu.Lock()
	readOnly := e.readOnly
	e.mu.Unlock()
	if readOnly && !isRead(r.Method) {
		c.json(http.StatusServiceUnavailable, obj{
			{"message", "System is currently read-only. Pulls will succeed but all write operations are currently suspended."},
			{"is_readonly", true},
		})
		return
	}
	c.who = e.authenticate(r)
	if c.who.user == nil && !e.features.AnonymousAccess {
		c.json(http.StatusUnauthorized, obj{{"error", "Anonymous access is not allowed"}})
		return
	}
	if !c.who.valid && !isRead(r.Method) {
		c.json(http.StatusForbidden, obj{{"error", "CSRF token was invalid or missing."}})
		return
	}
	if m.route.op != "" {
		ns, name := m.trackArgs(r)
		done, err := e.reg.Track(r.Context(), m.route.op, ns, name)
		if err != nil {
			c.fail(err)
			return
		}
		defer done()
	}
	m.route.handle(c)
}
