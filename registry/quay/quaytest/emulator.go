package quaytest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/emulation"
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
	// Front counts the requests by route and injects faults
	// (SetFaults, Inject, Requests, ...).
	*emulation.Front

	reg      *fake.Registry
	version  Version
	features Features
	now      func() time.Time
	tokenTTL time.Duration
	started  time.Time
	defs     map[string]*schema // request schemas of the version
	routes   []*route

	// wmu makes each mirror write's checks and effects, in the registry
	// and in what the emulator keeps of its own, atomic with respect to
	// the other mirror writes.
	wmu sync.Mutex

	mu      sync.Mutex
	pageKey []byte
	extras  map[string]*mirrorExtras // "namespace/name" → what fake.Registry does not hold
	// orphanRules are the RepoMirrorRule rows that mirror POSTs failing
	// after create_rule left behind ("namespace/name" → their values,
	// oldest first).
	orphanRules map[string][][]string
	events      map[string][]event // "namespace/name" → configuration changes, oldest first
}

// The accounts (users, their organisation roles, OAuth tokens and their
// scopes) live in the registry; these are the registry's names for them.
type (
	OrgRole = fake.OrgRole
	Token   = fake.Token
)

// Organisation roles, weakest first.
const (
	OrgMember  = fake.OrgMember
	OrgCreator = fake.OrgCreator
	OrgAdmin   = fake.OrgAdmin
	// AllOrganizations, as the organisation of SetOrgRole, gives the
	// role in every organisation of the registry, present and future.
	AllOrganizations = fake.AllOrganizations
)

// OAuth scopes Quay knows.
const (
	ScopeRepoRead   = fake.ScopeRepoRead
	ScopeRepoWrite  = fake.ScopeRepoWrite
	ScopeRepoAdmin  = fake.ScopeRepoAdmin
	ScopeRepoCreate = fake.ScopeRepoCreate
	ScopeOrgAdmin   = fake.ScopeOrgAdmin
	ScopeUserRead   = fake.ScopeUserRead
	ScopeUserAdmin  = fake.ScopeUserAdmin
	ScopeSuperUser  = fake.ScopeSuperUser
)

// AllScopes returns every scope a Quay application can grant, which is
// what a token generated with every box ticked carries.
func AllScopes() []string { return fake.AllScopes() }

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
	return func(e *Emulator) error { return e.SetFaults(f) }
}

// New returns an emulator serving reg. It sets reg's capabilities to what
// the version and features give (see Capabilities). No user or token
// exists until AddUser/AddToken or LoadSeed: every caller is anonymous.
func New(reg *fake.Registry, opts ...Option) (*Emulator, error) {
	if reg == nil {
		return nil, errors.New("quaytest: nil registry")
	}
	e := &Emulator{
		reg:         reg,
		version:     V3_17,
		features:    DefaultFeatures(),
		now:         time.Now,
		tokenTTL:    DefaultPageTokenTTL,
		extras:      make(map[string]*mirrorExtras),
		orphanRules: make(map[string][][]string),
		Front:       emulation.NewFront(),
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
	reg.SetSourcePolicy(fake.SourcePolicy{AllowedHosts: e.features.SSRFAllowedHosts})
	reg.SetSuperusersFullAccess(e.features.SuperusersFullAccess)
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
	c := quaymirror.Capabilities{
		RepositoryMirroring:   m,
		OrganizationMirroring: e.orgMirrorOn(),
		SkopeoTimeout:         m && e.version.skopeoTimeout(),
		ArchitectureFilter:    m && e.version.architectureFilter(),
		SparseIndex:           m && e.version.architectureFilter() && e.features.SparseIndex,
		ReadOnly:              e.reg.ReadOnly(),
	}
	if e.version.versionNumber() {
		c.Version = e.version.String()
	}
	return c
}

func (e *Emulator) orgMirrorOn() bool { return e.features.OrgMirror && e.version.orgMirroring() }

// AddUser creates a user account in the registry (a superuser if
// superuser is set). An existing user is updated.
func (e *Emulator) AddUser(name string, superuser bool) error { return e.reg.AddUser(name, superuser) }

// SetOrgRole gives user a role in org, or in every organisation when org
// is AllOrganizations (see fake.Registry.SetOrgRole).
func (e *Emulator) SetOrgRole(org, username string, role OrgRole) error {
	return e.reg.SetOrgRole(org, username, role)
}

// AddToken adds (or replaces) a bearer token acting for an existing user
// with the given scopes.
func (e *Emulator) AddToken(t Token) error { return e.reg.AddToken(t) }

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
func (e *Emulator) RevokeToken(token string) { e.reg.RevokeToken(token) }

// SetSSRFAllowedHosts replaces SSRF_ALLOWED_HOSTS, as an administrator
// editing config.yaml and restarting Quay would.
func (e *Emulator) SetSSRFAllowedHosts(hosts []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.features.SSRFAllowedHosts = append([]string(nil), hosts...)
	e.reg.SetSourcePolicy(fake.SourcePolicy{AllowedHosts: e.features.SSRFAllowedHosts})
}

// BreakCredentials makes the stored credentials of a repository's mirror
// undecryptable, as a change of Quay's DATABASE_SECRET_KEY does (see
// fake.Registry.BreakCredentials): GET of the mirror then fails with a 500
// (the handler's error path names an undefined logger) in every version
// but 3.16.4 and 3.16.5, which show the username as "(invalid. please
// re-enter)". A PUT that sets the username repairs it.
func (e *Emulator) BreakCredentials(ns, name string) error { return e.reg.BreakCredentials(ns, name) }

// SetReadOnly puts the registry in read-only mode: every write answers 503
// {"message": "System is currently read-only...", "is_readonly": true}.
func (e *Emulator) SetReadOnly(on bool) { e.reg.SetReadOnly(on) }

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

// ServeHTTP answers one request: faults first, then routing, read-only
// mode, authentication, CSRF and the route's handler, which carries the
// request out with the registry's operations (counted, hooked and failed
// by the registry).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := e.resolve(r.Method, r.URL.Path)
	e.Serve(w, r, m.template, func(w http.ResponseWriter) { e.serve(w, r, m) })
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
	if e.reg.ReadOnly() && !emulation.IsRead(r.Method) {
		c.json(http.StatusServiceUnavailable, obj{
			{"message", "System is currently read-only. Pulls will succeed but all write operations are currently suspended."},
			{"is_readonly", true},
		})
		return
	}
	c.who = e.authenticate(r)
	if c.who.Anonymous() && !e.features.AnonymousAccess {
		c.json(http.StatusUnauthorized, obj{{"error", "Anonymous access is not allowed"}})
		return
	}
	if c.who.Anonymous() && !emulation.IsRead(r.Method) {
		c.json(http.StatusForbidden, obj{{"error", "CSRF token was invalid or missing."}})
		return
	}
	m.route.handle(c)
}

// Faults of the emulation package, under their former names.
type (
	Fault     = emulation.Fault
	Faults    = emulation.Faults
	FaultKind = emulation.FaultKind
)

// Fault kinds (see emulation.FaultKind).
const (
	FaultStatus      = emulation.FaultStatus
	FaultReset       = emulation.FaultReset
	FaultRateLimit   = emulation.FaultRateLimit
	FaultResetAfter  = emulation.FaultResetAfter
	FaultStatusAfter = emulation.FaultStatusAfter
	FaultTruncate    = emulation.FaultTruncate
	FaultInvalidJSON = emulation.FaultInvalidJSON
	FaultOversize    = emulation.FaultOversize
	FaultEmptyBody   = emulation.FaultEmptyBody
	FaultSlow        = emulation.FaultSlow
)
