package fake

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
// robots, permissions and mirror configurations, with Quay's semantics
// (see the package documentation). It is safe for concurrent use.
type Registry struct {
	mu          sync.Mutex
	orgs        map[string]*org
	user        string
	caps        quaymirror.Capabilities
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

type org struct {
	name   string
	repos  map[string]*repo
	order  []*repo // creation order (ascending id); repositories are never removed
	robots map[string]quaymirror.Robot
	// orgMirrored is the organisation-level mirror flag as seeded; it takes
	// effect only while the capability OrganizationMirroring is on.
	orgMirrored bool
}

type repo struct {
	id     int
	r      quaymirror.Repository // Tags always nil: the tags are below
	tags   map[string]quaymirror.Tag
	mirror *quaymirror.Mirror // nil: no mirror configuration
	perms  map[string]quaymirror.Role
	logs   []quaymirror.SyncLog // newest first
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

// WithUser sets the user CurrentUser reports (default "quaymirror").
func WithUser(name string) Option {
	return func(r *Registry) { r.user = name }
}

// WithClock sets the clock used for default start dates and for the
// change times of tags seeded or copied without one (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(r *Registry) { r.now = now }
}

// New returns an empty registry.
func New(opts ...Option) *Registry {
	r := &Registry{
		orgs:        make(map[string]*org),
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

// begin counts the call, runs the hook and the configured failures. The
// returned function must be called when the operation ends.
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
	end := func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		end()
		return nil, err
	}
	if hook != nil {
		if err := hook(ctx, op, namespace, name); err != nil {
			end()
			return nil, err
		}
	}
	if injected != nil {
		end()
		return nil, injected
	}
	return end, nil
}

func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, quaymirror.ErrNotFound)...)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, quaymirror.ErrInvalid)...)
}

// repoLocked returns the repository or ErrNotFound. r.mu must be held.
func (r *Registry) repoLocked(namespace, name string) (*org, *repo, error) {
	o := r.orgs[namespace]
	if o == nil {
		return nil, nil, notFound("repository %s/%s", namespace, name)
	}
	rp := o.repos[name]
	if rp == nil {
		return o, nil, notFound("repository %s/%s", namespace, name)
	}
	return o, rp, nil
}

// orgMirroredLocked reports whether o is locked by organisation-level
// mirroring. r.mu must be held.
func (r *Registry) orgMirroredLocked(o *org) bool {
	return o != nil && o.orgMirrored && r.caps.OrganizationMirroring
}

// ListRepositories implements quaymirror.RepositoryLister. Pages hold
// WithPageSize repositories in creation order. Like Quay, an unknown
// namespace gives an empty page and a page token the registry did not hand
// out restarts the listing at the first page.
func (r *Registry) ListRepositories(ctx context.Context, namespace, pageToken string) (quaymirror.RepositoryPage, error) {
	end, err := r.begin(ctx, OpListRepositories, namespace, "")
	if err != nil {
		return quaymirror.RepositoryPage{}, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[namespace]
	if o == nil {
		return quaymirror.RepositoryPage{}, nil
	}
	after := 0
	if id, ok := parseToken(pageToken); ok {
		after = id
	}
	// o.order is sorted by id: find the first repository after the token.
	start, _ := slices.BinarySearchFunc(o.order, after+1, func(rp *repo, id int) int { return cmp.Compare(rp.id, id) })
	var page quaymirror.RepositoryPage
	for _, rp := range o.order[start:] {
		if len(page.Repositories) == r.pageSize {
			page.Next = pageTokenFor(page.Repositories, o)
			break
		}
		listed := rp.r
		listed.Tags = nil
		page.Repositories = append(page.Repositories, listed)
	}
	return page, nil
}

// Page tokens are opaque to clients; here "p" followed by the id of the
// page's last repository.
func pageTokenFor(page []quaymirror.Repository, o *org) string {
	last := o.repos[page[len(page)-1].Name]
	return "p" + strconv.Itoa(last.id)
}

func parseToken(tok string) (int, bool) {
	if !strings.HasPrefix(tok, "p") {
		return 0, false
	}
	id, err := strconv.Atoi(tok[1:])
	return id, err == nil && id > 0
}

// GetRepository implements quaymirror.RepositoryReader.
func (r *Registry) GetRepository(ctx context.Context, namespace, name string) (*quaymirror.Repository, error) {
	end, err := r.begin(ctx, OpGetRepository, namespace, name)
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	out := rp.view()
	return &out, nil
}

// CreateRepository implements quaymirror.RepositoryCreator. The
// organisation must exist (ErrForbidden otherwise, as Quay denies creating
// in a namespace one cannot administer).
func (r *Registry) CreateRepository(ctx context.Context, repo quaymirror.Repository) error {
	end, err := r.begin(ctx, OpCreateRepository, repo.Namespace, repo.Name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[repo.Namespace]
	switch {
	case o == nil:
		return fmt.Errorf("create repository %s: no organization %q: %w", repo.FullName(), repo.Namespace, quaymirror.ErrForbidden)
	case o.repos[repo.Name] != nil:
		return fmt.Errorf("Repository already exists: %w", quaymirror.ErrAlreadyExists)
	case !quaymirror.ValidRepositoryName(repo.Name):
		return invalid("Invalid repository name")
	case repo.Visibility != quaymirror.Public && repo.Visibility != quaymirror.Private:
		return invalid("visibility %q is not public or private", repo.Visibility)
	case r.orgMirroredLocked(o):
		return fmt.Errorf("Cannot create repository: %w", quaymirror.ErrOrgMirrored)
	}
	r.addLocked(o, quaymirror.Repository{
		Namespace: repo.Namespace, Name: repo.Name, Description: repo.Description,
		Visibility: repo.Visibility, State: quaymirror.StateNormal,
	})
	return nil
}

func (r *Registry) addLocked(o *org, in quaymirror.Repository) *repo {
	r.nextID++
	rp := &repo{id: r.nextID, r: in, tags: tagsOf(in.Tags, r.now()), perms: make(map[string]quaymirror.Role)}
	rp.r.Tags = nil
	o.repos[in.Name] = rp
	o.order = append(o.order, rp)
	return rp
}

// ChangeState implements quaymirror.StateChanger. Like Quay it does not
// check for a mirror configuration.
func (r *Registry) ChangeState(ctx context.Context, namespace, name string, state quaymirror.State) error {
	end, err := r.begin(ctx, OpChangeState, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.caps.RepositoryMirroring {
		return notFound("changestate: repository mirroring is disabled")
	}
	o, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	switch state {
	case quaymirror.StateNormal, quaymirror.StateReadOnly, quaymirror.StateMirror:
	default:
		return invalid("state %q is not one of NORMAL, READ_ONLY, MIRROR", state)
	}
	if r.orgMirroredLocked(o) {
		return fmt.Errorf("Repository state changes are not allowed in an organization managed by organization-level mirroring: %w", quaymirror.ErrOrgMirrored)
	}
	rp.r.State = state
	return nil
}

// GetMirror implements quaymirror.MirrorReader. The password is never
// returned.
func (r *Registry) GetMirror(ctx context.Context, namespace, name string) (*quaymirror.Mirror, error) {
	end, err := r.begin(ctx, OpGetMirror, namespace, name)
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.mirrorLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	out := cloneMirror(*m)
	out.Config.Password = ""
	return &out, nil
}

func (r *Registry) mirrorLocked(namespace, name string) (*quaymirror.Mirror, error) {
	if !r.caps.RepositoryMirroring {
		return nil, notFound("mirror: repository mirroring is disabled")
	}
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	if rp.mirror == nil {
		return nil, notFound("no mirror configuration for %s/%s", namespace, name)
	}
	return rp.mirror, nil
}

// CreateMirror implements quaymirror.MirrorWriter: it validates like
// Quay, grants the robot write when it has less, stores the configuration
// (status NEVER_RUN, 3 retries, next start at the start date or now) and
// sets the repository state to MIRROR.
func (r *Registry) CreateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig) error {
	end, err := r.begin(ctx, OpCreateMirror, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.caps.RepositoryMirroring {
		return notFound("mirror: repository mirroring is disabled")
	}
	o, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	if r.orgMirroredLocked(o) {
		return fmt.Errorf("mirror %s/%s: %w", namespace, name, quaymirror.ErrOrgMirrored)
	}
	if rp.mirror != nil {
		return fmt.Errorf("Mirror configuration already exits for repository %s/%s: %w", namespace, name, quaymirror.ErrAlreadyExists)
	}
	if err := r.validateLocked(o, cfg, allFields); err != nil {
		return err
	}
	start := cfg.SyncStartDate
	if start.IsZero() {
		start = r.now()
	}
	cfg = cloneConfig(cfg)
	cfg.SyncStartDate = start.UTC().Truncate(time.Second)
	if r.caps.SkopeoTimeout && cfg.SkopeoTimeout == 0 {
		// Quay 3.15+ requires a timeout; a client leaving it to the
		// server sends Quay's default.
		cfg.SkopeoTimeout = DefaultSkopeoTimeout
	}
	rp.mirror = &quaymirror.Mirror{
		Config: cfg,
		Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncNeverRun, NextSync: cfg.SyncStartDate, RetriesRemaining: 3},
	}
	r.grantRobotLocked(rp, cfg.Robot)
	rp.r.State = quaymirror.StateMirror
	return nil
}

var allFields = quaymirror.MirrorFields()

// validateLocked checks the fields of cfg listed in fields as Quay does.
func (r *Registry) validateLocked(o *org, cfg quaymirror.MirrorConfig, fields []quaymirror.Field) error {
	for _, f := range fields {
		switch f {
		case quaymirror.FieldExternalReference:
			if err := validReference(cfg.ExternalReference); err != nil {
				return err
			}
		case quaymirror.FieldSyncInterval:
			if cfg.SyncInterval < 0 {
				return invalid("sync_interval must not be negative")
			}
		case quaymirror.FieldTagGlobs:
			if len(cfg.TagGlobs) == 0 {
				return invalid("root_rule: rule_value must be a non-empty list")
			}
		case quaymirror.FieldRobot:
			if err := r.validRobotLocked(o, cfg.Robot); err != nil {
				return err
			}
		case quaymirror.FieldPassword:
			if cfg.Password != "" && cfg.Username == "" {
				return invalid("Unable to set a new password without also specifying a username.")
			}
		case quaymirror.FieldSkopeoTimeout:
			if cfg.SkopeoTimeout != 0 && !r.caps.SkopeoTimeout {
				return fmt.Errorf("skopeo_timeout_interval: %w", quaymirror.ErrUnsupported)
			}
			if cfg.SkopeoTimeout != 0 && cfg.SkopeoTimeout < quaymirror.MinSkopeoTimeout {
				return invalid("Skopeo timeout interval cannot be less than 300 seconds.")
			}
		case quaymirror.FieldArchitectureFilter:
			if len(cfg.ArchitectureFilter) > 0 && !r.caps.ArchitectureFilter {
				return fmt.Errorf("architecture_filter: %w", quaymirror.ErrUnsupported)
			}
			if len(cfg.ArchitectureFilter) > 0 && !r.caps.SparseIndex {
				return fmt.Errorf("Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled.: %w", quaymirror.ErrUnsupported)
			}
		case quaymirror.FieldEnabled, quaymirror.FieldUsername, quaymirror.FieldSyncStartDate,
			quaymirror.FieldVerifyTLS, quaymirror.FieldUnsignedImages, quaymirror.FieldProxy:
		default:
			return invalid("unknown mirror field %q", f)
		}
	}
	return nil
}

// validRobotLocked checks a mirror robot as Quay does: it must be an
// existing robot of the repository's own organisation.
func (r *Registry) validRobotLocked(o *org, robot string) error {
	notFound := fmt.Errorf("Could not find robot with specified username: %w", quaymirror.ErrRobotNotFound)
	robotOrg, short, ok := strings.Cut(robot, "+")
	if !ok {
		return notFound
	}
	owner := r.orgs[robotOrg]
	if owner == nil {
		return notFound
	}
	if _, exists := owner.robots[short]; !exists {
		return notFound
	}
	if owner != o {
		return invalid("Invalid robot")
	}
	return nil
}

// validReference applies Quay's rules for external_reference.
func validReference(ref string) error {
	host, path, ok := strings.Cut(ref, "/")
	switch {
	case strings.Contains(ref, "://"):
		return invalid("external_reference must not have a scheme")
	case strings.ContainsAny(ref, " \t\n?#\\%"):
		return invalid("external_reference has invalid characters")
	case !ok || host == "" || path == "" || strings.Contains(path, "//") || strings.HasSuffix(path, "/"):
		return invalid("external_reference must be host/path")
	case !quaymirror.ValidRegistryHost(host):
		return invalid("external_reference has an invalid host")
	}
	return nil
}

// grantRobotLocked gives the robot write when it has no or read
// permission, as Quay does on mirror creation and robot update.
func (r *Registry) grantRobotLocked(rp *repo, robot string) {
	if role := rp.perms[robot]; role == "" || role == quaymirror.RoleRead {
		rp.perms[robot] = quaymirror.RoleWrite
	}
}

// UpdateMirror implements quaymirror.MirrorWriter. Only the listed
// fields change; FieldPassword sets username and password together,
// FieldUsername alone only the username.
func (r *Registry) UpdateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig, fields []quaymirror.Field) error {
	end, err := r.begin(ctx, OpUpdateMirror, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.mirrorLocked(namespace, name)
	if err != nil {
		return err
	}
	o, rp, _ := r.repoLocked(namespace, name)
	if r.orgMirroredLocked(o) {
		return fmt.Errorf("mirror %s/%s: %w", namespace, name, quaymirror.ErrOrgMirrored)
	}
	// Validate everything before writing anything.
	if err := r.validateLocked(o, cfg, fields); err != nil {
		return err
	}
	c := &m.Config
	for _, f := range fields {
		switch f {
		case quaymirror.FieldEnabled:
			c.Enabled = cfg.Enabled
		case quaymirror.FieldExternalReference:
			c.ExternalReference = cfg.ExternalReference
		case quaymirror.FieldUsername:
			c.Username = cfg.Username
		case quaymirror.FieldPassword:
			c.Username, c.Password = cfg.Username, cfg.Password
		case quaymirror.FieldSyncInterval:
			c.SyncInterval = cfg.SyncInterval
		case quaymirror.FieldSyncStartDate:
			c.SyncStartDate = cfg.SyncStartDate.UTC().Truncate(time.Second)
			m.Status.NextSync = c.SyncStartDate
		case quaymirror.FieldTagGlobs:
			c.TagGlobs = slices.Clone(cfg.TagGlobs)
		case quaymirror.FieldRobot:
			c.Robot = cfg.Robot
			r.grantRobotLocked(rp, cfg.Robot)
		case quaymirror.FieldVerifyTLS:
			c.VerifyTLS = cfg.VerifyTLS
		case quaymirror.FieldUnsignedImages:
			c.UnsignedImages = cfg.UnsignedImages
		case quaymirror.FieldProxy:
			c.Proxy = cfg.Proxy
		case quaymirror.FieldSkopeoTimeout:
			c.SkopeoTimeout = cfg.SkopeoTimeout
		case quaymirror.FieldArchitectureFilter:
			c.ArchitectureFilter = slices.Clone(cfg.ArchitectureFilter)
		default:
			return invalid("unknown mirror field %q", f)
		}
	}
	return nil
}

// SyncNow implements quaymirror.SyncController: status SYNC_NOW, no
// expiration, at least one retry. A SYNCING mirror yields ErrNotFound, as
// Quay answers.
func (r *Registry) SyncNow(ctx context.Context, namespace, name string) error {
	end, err := r.begin(ctx, OpSyncNow, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.mirrorLocked(namespace, name)
	if err != nil {
		return err
	}
	if m.Status.SyncStatus == quaymirror.SyncSyncing {
		return notFound("mirror of %s/%s is syncing", namespace, name)
	}
	m.Status.SyncStatus = quaymirror.SyncNow
	m.Status.Expiration = time.Time{}
	m.Status.RetriesRemaining = max(m.Status.RetriesRemaining, 1)
	return nil
}

// CancelSync implements quaymirror.SyncController: status CANCEL, no
// retries, no expiration; the next start is kept, as Quay's API does.
func (r *Registry) CancelSync(ctx context.Context, namespace, name string) error {
	end, err := r.begin(ctx, OpCancelSync, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.mirrorLocked(namespace, name)
	if err != nil {
		return err
	}
	if s := m.Status.SyncStatus; s != quaymirror.SyncSyncing && s != quaymirror.SyncNow {
		return notFound("mirror of %s/%s is %s, not SYNCING or SYNC_NOW", namespace, name, s)
	}
	// Quay's API leaves the next start alone; its worker clears it when
	// it releases a cancelled SYNCING mirror.
	m.Status.SyncStatus = quaymirror.SyncCancel
	m.Status.RetriesRemaining = 0
	m.Status.Expiration = time.Time{}
	return nil
}

// CurrentUser implements quaymirror.Authenticator.
func (r *Registry) CurrentUser(ctx context.Context) (*quaymirror.User, error) {
	end, err := r.begin(ctx, OpCurrentUser, "", "")
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	return &quaymirror.User{Username: r.user, Organizations: slices.Sorted(maps.Keys(r.orgs))}, nil
}

// GetOrganization implements quaymirror.OrganizationReader. The caller is
// an administrator of every organisation.
func (r *Registry) GetOrganization(ctx context.Context, name string) (*quaymirror.Organization, error) {
	end, err := r.begin(ctx, OpGetOrganization, name, "")
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.orgs[name] == nil {
		return nil, notFound("organization %s", name)
	}
	return &quaymirror.Organization{Name: name, IsAdmin: true, IsMember: true}, nil
}

// GetRobot implements quaymirror.RobotReader.
func (r *Registry) GetRobot(ctx context.Context, orgName, shortname string) (*quaymirror.Robot, error) {
	end, err := r.begin(ctx, OpGetRobot, orgName, shortname)
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	if o == nil {
		return nil, notFound("organization %s", orgName)
	}
	rb, ok := o.robots[shortname]
	if !ok {
		return nil, notFound("Could not find robot with specified username")
	}
	return &rb, nil
}

// CreateRobot implements quaymirror.RobotCreator.
func (r *Registry) CreateRobot(ctx context.Context, orgName, shortname, description string) (*quaymirror.Robot, error) {
	end, err := r.begin(ctx, OpCreateRobot, orgName, shortname)
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[orgName]
	switch {
	case o == nil:
		return nil, notFound("organization %s", orgName)
	case !quaymirror.ValidRobotShortName(shortname):
		return nil, invalid("Invalid robot account name %q", shortname)
	}
	if _, ok := o.robots[shortname]; ok {
		return nil, fmt.Errorf("Existing robot with name: %s+%s: %w", orgName, shortname, quaymirror.ErrAlreadyExists)
	}
	rb := quaymirror.Robot{Name: orgName + "+" + shortname, Description: description}
	o.robots[shortname] = rb
	return &rb, nil
}

// SetPermission implements quaymirror.PermissionWriter. A robot of
// another namespace is refused, as Quay does.
func (r *Registry) SetPermission(ctx context.Context, namespace, name, user string, role quaymirror.Role) error {
	end, err := r.begin(ctx, OpSetPermission, namespace, name)
	if err != nil {
		return err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	o, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	switch role {
	case quaymirror.RoleRead, quaymirror.RoleWrite, quaymirror.RoleAdmin:
	default:
		return invalid("role %q is not read, write or admin", role)
	}
	if robotOrg, short, isRobot := strings.Cut(user, "+"); isRobot {
		if robotOrg != namespace {
			return invalid("Cannot add robot %s under namespace %s", user, namespace)
		}
		if _, ok := o.robots[short]; !ok {
			return invalid("Invalid username: %s", user)
		}
	}
	rp.perms[user] = role
	return nil
}

// Capabilities implements quaymirror.CapabilityReader.
func (r *Registry) Capabilities(ctx context.Context) (quaymirror.Capabilities, error) {
	end, err := r.begin(ctx, OpCapabilities, "", "")
	if err != nil {
		return quaymirror.Capabilities{}, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.caps, nil
}

// OrganizationMirrored implements quaymirror.OrgMirrorReader.
func (r *Registry) OrganizationMirrored(ctx context.Context, orgName string) (bool, error) {
	end, err := r.begin(ctx, OpOrganizationMirrored, orgName, "")
	if err != nil {
		return false, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.caps.OrganizationMirroring {
		return false, nil
	}
	o := r.orgs[orgName]
	return r.orgMirroredLocked(o), nil
}

// SyncLogs implements quaymirror.SyncLogReader.
func (r *Registry) SyncLogs(ctx context.Context, namespace, name string) ([]quaymirror.SyncLog, error) {
	end, err := r.begin(ctx, OpSyncLogs, namespace, name)
	if err != nil {
		return nil, err
	}
	defer end()
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(rp.logs), nil
}

// view returns the repository with its tag names, sorted.
func (rp *repo) view() quaymirror.Repository {
	out := rp.r
	out.Tags = tagNames(rp.tags)
	return out
}

func cloneConfig(c quaymirror.MirrorConfig) quaymirror.MirrorConfig {
	c.TagGlobs = slices.Clone(c.TagGlobs)
	c.ArchitectureFilter = slices.Clone(c.ArchitectureFilter)
	return c
}

func cloneMirror(m quaymirror.Mirror) quaymirror.Mirror {
	m.Config = cloneConfig(m.Config)
	return m
}
