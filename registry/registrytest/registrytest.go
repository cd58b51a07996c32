package registrytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// SourceStore seeds the registry behind a source, bypassing the backend
// under test: what the source then lists. registry/fake implements it; so
// can an emulator's model, or a live registry's admin API.
type SourceStore interface {
	// AddOrganization creates a namespace where the registry has them
	// (an OCI registry, whose namespaces are path prefixes, has nothing
	// to do).
	AddOrganization(name string) error
	// AddRepository adds a repository, its namespace if needed, with its
	// Tags (given by name), and its Visibility and State where the
	// registry keeps them.
	AddRepository(repo quaymirror.Repository) error
	// PushTags adds or moves tags of a repository, with their digests and
	// change times.
	PushTags(namespace, name string, tags ...quaymirror.Tag) error
}

// ImageStore is a SourceStore of a registry that names manifests by
// their content (an OCI registry): it cannot point a tag at a digest of
// the caller's choosing, and keeps no change times. The suite pushes tags
// through PushImages rather than PushTags when the store has it, and
// expects the digests it returns.
type ImageStore interface {
	// PushImages pushes a new image, distinct from every other, under
	// each tag of the repository namespace/name (creating the repository
	// if needed, moving tags that exist), and returns the tags as the
	// registry then holds them, in the order given: with their digests,
	// without change times.
	PushImages(namespace, name string, tags ...string) ([]quaymirror.Tag, error)
}

// Store seeds and reads back the state of a destination registry,
// bypassing the backend under test, so the suite sees what was written,
// not only what the backend reads back. registry/fake implements it.
type Store interface {
	SourceStore
	// AddRobot creates the robot org+short, and the organisation if
	// needed.
	AddRobot(org, short string) error
	// SetRobotDescription sets the description of an existing robot.
	SetRobotDescription(org, short, description string) error
	// PutMirror stores m as the repository's mirror as is, without
	// validation and without touching the repository state.
	PutMirror(namespace, name string, m quaymirror.Mirror) error
	// GrantPermission sets the role of a user or robot on a repository
	// without any check.
	GrantPermission(namespace, name, user string, role quaymirror.Role) error
	// SetOrganizationMirrored gives an organisation a native
	// organisation-level mirror configuration, or takes it away.
	SetOrganizationMirrored(org string, on bool) error
	// AddSyncLog records a mirror event of a repository.
	AddSyncLog(namespace, name string, l quaymirror.SyncLog) error

	// Repository reads a repository back, with its tag names.
	Repository(namespace, name string) (quaymirror.Repository, bool)
	// Repositories reads an organisation's repositories back.
	Repositories(namespace string) []quaymirror.Repository
	// Mirror reads a repository's mirror back, password included.
	Mirror(namespace, name string) (quaymirror.Mirror, bool)
	// Permission reads the role of a user or robot on a repository back
	// ("" for none).
	Permission(namespace, name, user string) quaymirror.Role
	// Robot reads a robot back.
	Robot(org, short string) (quaymirror.Robot, bool)
	// IsOrganizationMirrored reports whether the organisation is locked
	// by organisation-level mirroring.
	IsOrganizationMirrored(org string) bool
	// Capabilities is what the server supports.
	Capabilities(ctx context.Context) (quaymirror.Capabilities, error)
}

// Harness returns, for one subtest, the destination backend to check and
// the store that holds its state. It is called once per subtest, possibly
// from parallel subtests, and should return a fresh pair each time (the
// suite uses distinct organisation names anyway). Use t.Cleanup to release
// what it starts. The backend's credentials must administer every
// organisation of the store, as a destination token does.
type Harness func(t *testing.T) (backend quaymirror.Destination, store Store)

// SourceHarness returns, for one subtest, the source backend to check and
// the store that seeds it. The backend's credentials must see every
// repository of the store.
type SourceHarness func(t *testing.T) (source quaymirror.Source, store SourceStore)

// SourceOptions say what a source's listings carry.
type SourceOptions struct {
	// Stateless sources list repositories without a state or a
	// visibility (an OCI catalog knows names only): both must then be
	// empty rather than made up.
	Stateless bool
}

// Run runs the conformance suite against the destination backends h
// returns: everything RunSource checks, and every write.
func Run(t *testing.T, h Harness) {
	t.Helper()
	src := func(t *testing.T) (quaymirror.Source, SourceStore) { return h(t) }
	t.Run("ListRepositories", func(t *testing.T) { t.Parallel(); testList(t, src, SourceOptions{}) })
	t.Run("GetRepository", func(t *testing.T) { t.Parallel(); testGetRepository(t, h) })
	t.Run("CreateRepository", func(t *testing.T) { t.Parallel(); testCreateRepository(t, h) })
	t.Run("ChangeState", func(t *testing.T) { t.Parallel(); testChangeState(t, h) })
	t.Run("Mirror", func(t *testing.T) { t.Parallel(); testMirror(t, h) })
	t.Run("UpdateMirror", func(t *testing.T) { t.Parallel(); testUpdateMirror(t, h) })
	t.Run("Sync", func(t *testing.T) { t.Parallel(); testSync(t, h) })
	t.Run("Optional", func(t *testing.T) { t.Parallel(); testOptional(t, h) })
	t.Run("Tags", func(t *testing.T) { t.Parallel(); testTags(t, src) })
}

// RunSource runs the part of the suite a source must pass against the
// backends h returns: paged listings that are stable, complete and
// duplicate-free, namespaces that are path prefixes of nothing else, and,
// when the source implements quaymirror.TagLister, complete tag listings.
// Sources that list only (Harbor projects, OCI catalogs) pass it; so must
// every destination (Run includes it).
func RunSource(t *testing.T, h SourceHarness, opts SourceOptions) {
	t.Helper()
	t.Run("ListRepositories", func(t *testing.T) { t.Parallel(); testList(t, h, opts) })
	t.Run("Tags", func(t *testing.T) { t.Parallel(); testTags(t, h) })
}

// env is one subtest's backend, store and organisation.
type env struct {
	t       *testing.T
	backend quaymirror.Destination
	store   Store
	org     string
	caps    quaymirror.Capabilities
}

// sourceEnv is one subtest's source, store and organisation.
type sourceEnv struct {
	t      *testing.T
	source quaymirror.Source
	store  SourceStore
	org    string
	opts   SourceOptions
}

// newSourceEnv calls the harness and creates an organisation.
func newSourceEnv(t *testing.T, h SourceHarness, opts SourceOptions) *sourceEnv {
	t.Helper()
	source, store := h(t)
	if source == nil || store == nil {
		t.Fatal("harness returned a nil source or store")
	}
	e := &sourceEnv{t: t, source: source, store: store, org: orgFor(t), opts: opts}
	must(t, store.AddOrganization(e.org))
	return e
}

// newEnv calls the harness and seeds an organisation with the robots
// "mirror" and "other".
func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	backend, store := h(t)
	if backend == nil || store == nil {
		t.Fatal("harness returned a nil backend or store")
	}
	e := &env{t: t, backend: backend, store: store, org: orgFor(t)}
	must(t, store.AddOrganization(e.org))
	must(t, store.AddRobot(e.org, "mirror"))
	must(t, store.AddRobot(e.org, "other"))
	e.caps = capabilities(t, backend, store)
	return e
}

// orgFor names the subtest's organisation after the test, so subtests
// never share one even if the harness shares a store.
func orgFor(t *testing.T) string {
	sum := sha256.Sum256([]byte(t.Name()))
	return "rt" + hex.EncodeToString(sum[:6])
}

// capabilities returns what the backend reports, or the store's when the
// backend cannot tell.
func capabilities(t *testing.T, backend quaymirror.Destination, store Store) quaymirror.Capabilities {
	t.Helper()
	if cr, ok := backend.(quaymirror.CapabilityReader); ok {
		c, err := cr.Capabilities(t.Context())
		if err != nil {
			t.Fatalf("Capabilities: %v", err)
		}
		return c
	}
	c, err := store.Capabilities(t.Context())
	if err != nil {
		t.Fatalf("store Capabilities: %v", err)
	}
	return c
}

func (e *env) robot() string      { return e.org + "+mirror" }
func (e *env) otherRobot() string { return e.org + "+other" }

// repo adds a repository to the store and returns its name.
func (e *env) repo(name string, opts ...func(*quaymirror.Repository)) string {
	e.t.Helper()
	r := quaymirror.Repository{Namespace: e.org, Name: name, Visibility: quaymirror.Private, State: quaymirror.StateNormal}
	for _, o := range opts {
		o(&r)
	}
	must(e.t, e.store.AddRepository(r))
	return name
}

func withTags(tags ...string) func(*quaymirror.Repository) {
	return func(r *quaymirror.Repository) { r.Tags = tags }
}

func withState(s quaymirror.State) func(*quaymirror.Repository) {
	return func(r *quaymirror.Repository) { r.State = s }
}

func withVisibility(v quaymirror.Visibility) func(*quaymirror.Repository) {
	return func(r *quaymirror.Repository) { r.Visibility = v }
}

// stored returns a repository as the store has it.
func (e *env) stored(name string) quaymirror.Repository {
	e.t.Helper()
	r, ok := e.store.Repository(e.org, name)
	if !ok {
		e.t.Fatalf("store lost repository %s/%s", e.org, name)
	}
	return r
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr reports unless err wraps want.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want one wrapping %q", what, err, want)
	}
}

// wantOK reports err.
func wantOK(t testing.TB, what string, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	return true
}

// baseConfig is a complete mirror configuration using every field the
// backend's capabilities allow.
func (e *env) baseConfig(name string) quaymirror.MirrorConfig {
	c := quaymirror.MirrorConfig{
		Enabled:           true,
		ExternalReference: "quay-src.example.com/" + e.org + "/" + name,
		Username:          "puller",
		Password:          "pull-secret",
		SyncInterval:      time.Hour,
		SyncStartDate:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		TagGlobs:          []string{"v*", "latest"},
		Robot:             e.robot(),
		VerifyTLS:         true,
		Proxy:             quaymirror.Proxy{HTTPProxy: "http://proxy.example.com:3128", HTTPSProxy: "http://proxy.example.com:3128", NoProxy: ".example.com"},
	}
	if e.caps.SkopeoTimeout {
		c.SkopeoTimeout = 600 * time.Second
	}
	if e.archFilterUsable() {
		c.ArchitectureFilter = []string{"amd64", "arm64"}
	}
	return c
}

// archFilterUsable reports whether the backend takes a non-empty
// architecture filter: the field exists and the server's sparse index is
// on.
func (e *env) archFilterUsable() bool { return e.caps.ArchitectureFilter && e.caps.SparseIndex }

// configDiff lists the fields where got differs from want. Passwords are
// compared only when withPassword is set.
func configDiff(got, want quaymirror.MirrorConfig, withPassword bool) []string {
	var d []string
	add := func(f quaymirror.Field, g, w any) { d = append(d, fmt.Sprintf("%s = %v, want %v", f, g, w)) }
	if got.Enabled != want.Enabled {
		add(quaymirror.FieldEnabled, got.Enabled, want.Enabled)
	}
	if got.ExternalReference != want.ExternalReference {
		add(quaymirror.FieldExternalReference, got.ExternalReference, want.ExternalReference)
	}
	if got.Username != want.Username {
		add(quaymirror.FieldUsername, got.Username, want.Username)
	}
	if withPassword && got.Password.Reveal() != want.Password.Reveal() {
		d = append(d, string(quaymirror.FieldPassword)+" differs from the expected one (values not shown)")
	}
	if got.SyncInterval != want.SyncInterval {
		add(quaymirror.FieldSyncInterval, got.SyncInterval, want.SyncInterval)
	}
	if !got.SyncStartDate.Equal(want.SyncStartDate) {
		add(quaymirror.FieldSyncStartDate, got.SyncStartDate, want.SyncStartDate)
	}
	if !slices.Equal(sorted(got.TagGlobs), sorted(want.TagGlobs)) {
		add(quaymirror.FieldTagGlobs, got.TagGlobs, want.TagGlobs)
	}
	if got.Robot != want.Robot {
		add(quaymirror.FieldRobot, got.Robot, want.Robot)
	}
	if got.VerifyTLS != want.VerifyTLS {
		add(quaymirror.FieldVerifyTLS, got.VerifyTLS, want.VerifyTLS)
	}
	if got.UnsignedImages != want.UnsignedImages {
		add(quaymirror.FieldUnsignedImages, got.UnsignedImages, want.UnsignedImages)
	}
	if got.Proxy != want.Proxy {
		add(quaymirror.FieldProxy, got.Proxy, want.Proxy)
	}
	if got.SkopeoTimeout != want.SkopeoTimeout {
		add(quaymirror.FieldSkopeoTimeout, got.SkopeoTimeout, want.SkopeoTimeout)
	}
	if !slices.Equal(sorted(got.ArchitectureFilter), sorted(want.ArchitectureFilter)) {
		add(quaymirror.FieldArchitectureFilter, got.ArchitectureFilter, want.ArchitectureFilter)
	}
	return d
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// reportDiff reports every difference under one heading.
func reportDiff(t testing.TB, what string, diff []string) {
	t.Helper()
	if len(diff) > 0 {
		t.Errorf("%s:\n\t%s", what, strings.Join(diff, "\n\t"))
	}
}
