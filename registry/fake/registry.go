package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Compile-time checks: the fake implements every capability.
var (
	_ quaymirror.Destination        = (*Registry)(nil)
	_ quaymirror.Source             = (*Registry)(nil)
	_ quaymirror.Authenticator      = (*Registry)(nil)
	_ quaymirror.OrganizationReader = (*Registry)(nil)
	_ quaymirror.RobotReader        = (*Registry)(nil)
	_ quaymirror.RobotCreator       = (*Registry)(nil)
	_ quaymirror.PermissionWriter   = (*Registry)(nil)
	_ quaymirror.CapabilityReader   = (*Registry)(nil)
	_ quaymirror.OrgMirrorReader    = (*Registry)(nil)
	_ quaymirror.SyncLogReader      = (*Registry)(nil)
	_ quaymirror.TagLister          = (*Registry)(nil)
)

// DefaultPageSize is Quay's repository page size.
const DefaultPageSize = 100

// DefaultSkopeoTimeout is the skopeo timeout a mirror created without one
// gets when the registry has the SkopeoTimeout capability (Quay's default).
const DefaultSkopeoTimeout = 300 * time.Second

// Registry is an in-memory Quay: organisations, repositories with tags,
// accounts, robots, permissions and mirror configurations, with Quay's
// semantics (see the package documentation). It is safe for concurrent
// use.
type Registry struct {
	mu          sync.Mutex
	orgs        map[string]*org
	accounts    map[string]*Account
	roles       map[string]map[string]OrgRole // organisation or AllOrganizations → user → role
	tokens      map[string]*Token
	superFull   bool
	user        string
	caps        quaymirror.Capabilities
	sources     SourcePolicy
	pageSize    int
	tagPageSize int
	nextID      int
	now         func() time.Time

	hook     Hook
	failures []failure
	calls    map[Op]int
	inFlight int
	maxIn    int
}

// Hook runs before every operation, outside the registry's lock, so it
// may block, count or fail calls. A non-nil error is returned by the
// operation, which then has no effect.
type Hook func(ctx context.Context, op Op, namespace, name string) error

type failure struct {
	op        Op
	namespace string
	name      string
	err       error
}

// Option configures a Registry.
type Option func(*Registry)

// WithCapabilities sets what the registry reports and enforces (default:
// repository mirroring, skopeo timeout, architecture filter and sparse
// index on, organisation mirroring off, as a Quay 3.17+ with
// FEATURE_REPO_MIRROR and FEATURE_SPARSE_INDEX).
func WithCapabilities(c quaymirror.Capabilities) Option {
	return func(r *Registry) { r.caps = c }
}

// WithPageSize sets the repository page size (default DefaultPageSize).
func WithPageSize(n int) Option {
	return func(r *Registry) {
		if n > 0 {
			r.pageSize = n
		}
	}
}

// WithTagPageSize sets the page size of ListTags (default
// DefaultTagPageSize).
func WithTagPageSize(n int) Option {
	return func(r *Registry) {
		if n > 0 {
			r.tagPageSize = n
		}
	}
}

// WithUser sets the registry's own user (default "quaymirror"): the user
// operations act for unless their context names another (AsUser). It
// administers every organisation.
func WithUser(name string) Option {
	return func(r *Registry) { r.user = name }
}

// WithClock sets the clock used for default start dates and for the
// change times of tags seeded or copied without one (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(r *Registry) { r.now = now }
}

// WithSourcePolicy sets where mirrors may pull from (default: anywhere).
func WithSourcePolicy(p SourcePolicy) Option {
	return func(r *Registry) { r.sources = p.clone() }
}

// New returns an empty registry.
func New(opts ...Option) *Registry {
	r := &Registry{
		orgs:        make(map[string]*org),
		accounts:    make(map[string]*Account),
		roles:       make(map[string]map[string]OrgRole),
		tokens:      make(map[string]*Token),
		user:        "quaymirror",
		pageSize:    DefaultPageSize,
		tagPageSize: DefaultTagPageSize,
		now:         time.Now,
		calls:       make(map[Op]int),
		caps: quaymirror.Capabilities{
			RepositoryMirroring: true,
			SkopeoTimeout:       true,
			ArchitectureFilter:  true,
			SparseIndex:         true,
		},
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// SetCapabilities changes what the registry reports and enforces, as
// WithCapabilities does at construction (an administrator changing
// Quay's configuration and restarting it).
func (r *Registry) SetCapabilities(c quaymirror.Capabilities) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caps = c
}

// SetReadOnly puts the registry in read-only mode (Quay's REGISTRY_STATE:
// readonly) or out of it: every write operation then fails with
// ErrReadOnly, and Capabilities reports ReadOnly.
func (r *Registry) SetReadOnly(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caps.ReadOnly = on
}

// ReadOnly reports whether the registry is in read-only mode.
func (r *Registry) ReadOnly() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.caps.ReadOnly
}

// SetSourcePolicy changes where mirrors may pull from, as WithSourcePolicy
// does at construction.
func (r *Registry) SetSourcePolicy(p SourcePolicy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = p.clone()
}

// SetHook installs h (nil removes it).
func (r *Registry) SetHook(h Hook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

// FailOn makes op fail with err for the repository namespace/name from now
// on. An empty namespace or name matches any. ClearFailures undoes it.
func (r *Registry) FailOn(op Op, namespace, name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, failure{op, namespace, name, err})
}

// ClearFailures removes every failure set with FailOn.
func (r *Registry) ClearFailures() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = nil
}

// Calls returns how many times each operation was called (failed calls
// included).
func (r *Registry) Calls() map[Op]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.calls)
}

// Writes returns how many write operations were called.
func (r *Registry) Writes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for op, c := range r.calls {
		if op.IsWrite() {
			n += c
		}
	}
	return n
}

// MaxInFlight returns the largest number of operations that ran at once.
func (r *Registry) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxIn
}

// ResetCalls zeroes the call counters and MaxInFlight.
func (r *Registry) ResetCalls() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = make(map[Op]int)
	r.maxIn = r.inFlight
}

// begin counts the call, runs the hook and the configured failures, then
// takes the registry's lock for the operation. On success the returned
// function releases the lock and ends the call.
func (r *Registry) begin(ctx context.Context, op Op, namespace, name string) (func(), error) {
	r.mu.Lock()
	r.calls[op]++
	r.inFlight++
	r.maxIn = max(r.maxIn, r.inFlight)
	hook := r.hook
	var injected error
	for _, f := range r.failures {
		if f.op == op && (f.namespace == "" || f.namespace == namespace) && (f.name == "" || f.name == name) {
			injected = f.err
			break
		}
	}
	r.mu.Unlock()
	fail := func(err error) (func(), error) {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if hook != nil {
		if err := hook(ctx, op, namespace, name); err != nil {
			return fail(err)
		}
	}
	if injected != nil {
		return fail(injected)
	}
	r.mu.Lock()
	if r.caps.ReadOnly && op.IsWrite() {
		r.inFlight--
		r.mu.Unlock()
		return nil, refuse(quaymirror.ErrReadOnly, "System is currently read-only. Pulls will succeed but all write operations are currently suspended.")
	}
	return func() {
		r.inFlight--
		r.mu.Unlock()
	}, nil
}

// beginRepo is begin for an operation on one repository, which find
// (repoLocked, mirrorLocked, mirroringLocked) then looks up; when it is
// not found the operation ends with find's error.
func (r *Registry) beginRepo(ctx context.Context, op Op, namespace, name string, find func(namespace, name string) (*org, *repo, error)) (_ *org, _ *repo, end func(), _ error) {
	end, err := r.begin(ctx, op, namespace, name)
	if err != nil {
		return nil, nil, nil, err
	}
	o, rp, err := find(namespace, name)
	if err != nil {
		end()
		return nil, nil, nil, err
	}
	return o, rp, end, nil
}

// Error is an operation the registry refused: Quay's message, the mirror
// field it is about (if any) and the quaymirror sentinel it wraps. The
// Quay emulator shows Message to its clients.
type Error struct {
	Message string
	Field   quaymirror.Field
	Err     error
}

func (e *Error) Error() string { return e.Message + ": " + e.Err.Error() }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// refuse returns an *Error wrapping sentinel with a formatted message.
func refuse(sentinel error, format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), Err: sentinel}
}

func notFound(format string, args ...any) error {
	return refuse(quaymirror.ErrNotFound, format, args...)
}

func invalid(format string, args ...any) error {
	return refuse(quaymirror.ErrInvalid, format, args...)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// actorKey carries the user an operation acts for.
type actorKey struct{}

// AsUser returns a copy of ctx under which the registry's operations act
// for the account name rather than for the registry's own user: a
// repository it creates is administered by it, CurrentUser is it, and
// GetOrganization reports its roles.
func AsUser(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, name)
}

// actor returns the user ctx acts for, and whether it is the registry's
// own user (who administers everything).
func (r *Registry) actor(ctx context.Context) (name string, own bool) {
	if n, ok := ctx.Value(actorKey{}).(string); ok && n != r.user {
		return n, false
	}
	return r.user, true
}
